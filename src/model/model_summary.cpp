// The summary asks the built layers themselves (parameter_count, forward_flops), so its numbers
// are the ones training will see.
#include "cnnkit/model/model_summary.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "check.hpp"
#include "model/description_checks.hpp"

namespace cnnkit {

namespace {

// "3x3" for {3, 3}, "3" for {3}.
std::string axes(const Shape& shape) {
  std::string text;
  for (const std::size_t extent : shape) {
    if (!text.empty()) text += 'x';
    text += std::to_string(extent);
  }
  return text;
}

// What a reader needs to recognise the layer; `input` is the shape reaching it (per sample).
std::string describe(const LayerSpec& spec, const Shape& input) {
  if (spec.type == "Conv") {
    Shape kernel = spec.kernel;
    if (kernel.size() == 1 && input.size() == 3) kernel.push_back(kernel[0]);
    std::string text = "Conv " + std::to_string(spec.kernels) + " kernels " + axes(kernel) +
                       ", stride " + axes(spec.stride);
    // The options only where they differ from today's convolution.
    if (spec.padding != ConvPadding::same()) text += ", padding " + to_string(spec.padding);
    if (spec.dilation != Shape{1}) text += ", dilation " + axes(spec.dilation);
    if (spec.groups != 1) text += ", groups " + std::to_string(spec.groups);
    return text;
  }
  if (spec.type == "Pooling" || spec.type == "AveragePooling")
    return spec.type + " " + axes(spec.window) + ", stride " + axes(spec.stride);
  if (spec.type == "LeakyReLU") return "LeakyReLU slope " + detail::format_number(spec.slope);
  if (spec.type == "Dropout") return "Dropout p " + detail::format_number(spec.p);
  if (spec.type == "Normalize") {
    return "Normalize mean " + detail::format_numbers(spec.mean, ":") + ", std " +
           detail::format_numbers(spec.standard_deviation, ":");
  }
  if (spec.type == "BatchNorm") {
    return "BatchNorm momentum " + detail::format_number(spec.momentum) + ", epsilon " +
           detail::format_number(spec.epsilon);
  }
  if (spec.type == "FullyConnected") {
    return "FullyConnected " + std::to_string(element_count(input)) + " -> " +
           std::to_string(spec.outputs);
  }
  // A registered user layer shows its own values ("Scale factor 0.5").
  std::string text = spec.type;
  for (const auto& [key, value] : spec.attributes) {
    text +=
        (text.size() == spec.type.size() ? " " : ", ") + key + " " + detail::format_number(value);
  }
  return text;
}

// 1234567 -> "1,234,567".
std::string grouped(std::size_t number) {
  const std::string digits = std::to_string(number);
  std::string text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

std::string pad_right(const std::string& text, std::size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

std::string pad_left(const std::string& text, std::size_t width) {
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

}  // namespace

ModelSummary summarize(const ModelDescription& description, const Limits& limits) {
  const std::string source = "model '" + description.name + "'";
  detail::validate_description(description, source, limits);
  const detail::RandomStateGuard keep_random_state;
  const detail::LayerChain<float> chain = detail::make_layers<float>(description, source, limits);

  ModelSummary summary{description.name, description.input_shape, {}, 0, 0, !chain.is_chain()};
  for (std::size_t i = 0; i < chain.layers.size(); ++i) {
    // The shape reaching the node through its first input (what its description reads).
    const std::string& first = chain.inputs[i][0];
    const auto source = std::ranges::find(chain.names, first);
    const Shape input = source == chain.names.end()
                            ? description.input_shape
                            : chain.output_shapes[static_cast<std::size_t>(
                                  std::distance(chain.names.begin(), source))];
    Shape batched{1};
    batched.insert(batched.end(), input.begin(), input.end());
    const Layer<float>& layer = *chain.layers[i];
    SummaryRow row{
        describe(description.layers[i], input), chain.output_shapes[i], layer.parameter_count(),
        layer.forward_flops(batched),           chain.names[i],         chain.inputs[i]};
    summary.total_parameters += row.parameters;
    summary.total_flops += row.flops;
    summary.rows.push_back(std::move(row));
  }
  return summary;
}

std::string format_summary(const ModelSummary& summary) {
  // A graph's table adds each node's name and inputs after the row number.
  std::vector<std::string> header{"#", "Layer", "Output shape", "Parameters", "FLOPs"};
  std::vector<char> right_aligned{1, 0, 0, 1, 1};
  if (summary.graph) {
    header.insert(header.begin() + 1, {"Name", "Inputs"});
    right_aligned.insert(right_aligned.begin() + 1, {0, 0});
  }
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < summary.rows.size(); ++i) {
    const SummaryRow& row = summary.rows[i];
    std::vector<std::string> line{std::to_string(i), row.layer, to_string(row.output_shape),
                                  grouped(row.parameters), grouped(row.flops)};
    if (summary.graph) {
      std::string inputs;
      for (const std::string& input : row.inputs) inputs += (inputs.empty() ? "" : ", ") + input;
      line.insert(line.begin() + 1, {row.node, inputs});
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& line : cells) width[c] = std::max(width[c], line[c].size());
  }
  // Numbers right-aligned, text left-aligned.
  const auto format_line = [&](const std::vector<std::string>& line) {
    std::string text;
    for (std::size_t c = 0; c < line.size(); ++c) {
      if (c > 0) text += "  ";
      text += right_aligned[c] ? pad_left(line[c], width[c]) : pad_right(line[c], width[c]);
    }
    text.erase(text.find_last_not_of(' ') + 1);
    return text + "\n";
  };
  std::size_t total_width = 2 * (header.size() - 1);
  for (const std::size_t w : width) total_width += w;
  const std::string rule(total_width, '-');

  std::string text = "Model \"" + summary.name + "\", input " + to_string(summary.input_shape) +
                     " (shapes per sample, FLOPs per forward pass of one sample)\n";
  text += rule + "\n" + format_line(header) + rule + "\n";
  for (const auto& line : cells) text += format_line(line);
  text += rule + "\n";
  const double kib = static_cast<double>(summary.total_parameters) * sizeof(float) / 1024.0;
  char size[32];
  std::snprintf(size, sizeof size, "%.1f KiB", kib);
  text += "Total parameters: " + grouped(summary.total_parameters) + " (" + size + " as float32)\n";
  text += "Forward FLOPs per sample: " + grouped(summary.total_flops) + "\n";
  return text;
}

}  // namespace cnnkit
