// Grouped, depthwise and dilated convolutions: one training step (forward + backward with the
// input error) and one inference forward of a Conv<float> layer per shape, median milliseconds
// over the repeats, one JSON line per shape. bench/conv_options_compare.py runs the same shapes
// in PyTorch and prints the ratios.
//   cnnkit_conv_options_bench [--threads N] [--repeats R] [--quick]
// The shapes are in conv_options_shapes.json (shared with the script); --quick runs each once
// with one repeat, to check that the benchmark works.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnnkit/cnnkit.hpp"

namespace {

using cnnkit::Shape;
using cnnkit::Tensor;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

Shape shape_of(const json& value) {
  Shape shape;
  for (const json& extent : value) shape.push_back(extent.get<std::size_t>());
  return shape;
}

// "same", "valid" or a symmetric size per axis (what the shapes file uses).
cnnkit::ConvPadding padding_of(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>() == "valid" ? cnnkit::ConvPadding::valid()
                                               : cnnkit::ConvPadding::same();
  }
  return cnnkit::ConvPadding::symmetric(value.get<std::size_t>());
}

template <typename Work>
double median_ms(std::size_t repeats, Work&& work) {
  work();  // warm-up: workspaces, pages
  std::vector<double> times;
  for (std::size_t r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    work();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t threads = 1, repeats = 20;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--repeats" && i + 1 < argc) {
      repeats = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--repeats R] [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (quick) repeats = 1;
  cnnkit::set_num_threads(threads);
  std::ifstream in(CNNKIT_CONV_SHAPES_FILE);
  const json shapes = json::parse(in);
  for (const json& s : shapes) {
    Shape input_shape = shape_of(s.at("input"));
    if (quick) input_shape[0] = 2;
    const Shape kernel = shape_of(s.at("kernel"));
    Shape convolution_shape{input_shape[1]};
    convolution_shape.insert(convolution_shape.end(), kernel.begin(), kernel.end());
    const cnnkit::ConvOptions options{padding_of(s.at("padding")), shape_of(s.at("dilation")),
                                      s.at("groups").get<std::size_t>()};
    cnnkit::Conv<float> layer(shape_of(s.at("stride")), convolution_shape,
                              s.at("kernels").get<std::size_t>(), options);
    const cnnkit::Sgd<float> sgd(1e-6f);
    layer.set_optimizer(sgd);
    Tensor<float> input(input_shape);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = float(i % 13) * 0.1f - 0.6f;
    Tensor<float> error(layer.output_shape(input_shape), 0.01f);
    const double train = median_ms(repeats, [&] {
      layer.forward(input);
      layer.backward(error);
    });
    layer.set_testing_phase(true);
    const double infer = median_ms(repeats, [&] { layer.forward(input); });
    std::printf(
        "{\"framework\": \"cnnkit\", \"name\": \"%s\", \"threads\": %zu, \"batch\": %zu, "
        "\"train_ms\": %.4f, \"inference_ms\": %.4f}\n",
        s.at("name").get<std::string>().c_str(), threads, input_shape[0], train, infer);
  }
  return 0;
}
