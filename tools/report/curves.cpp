// curves.png: loss and accuracy per epoch, side by side, train in blue and test in orange.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "check.hpp"
#include "report/axes.hpp"
#include "report/canvas.hpp"
#include "report/colors.hpp"
#include "report/layout.hpp"
#include "report/plots.hpp"

namespace cnnkit::report {

namespace {

constexpr std::string_view component = "write_curves_png";
constexpr Font title_font{22.0, true};
constexpr Font subtitle_font{14.0, false};
constexpr Font panel_font{15.0, true};
constexpr Font legend_font{13.0, false};
constexpr double line_width = 2.5;
constexpr double marker_radius = 4.0;
constexpr std::size_t max_epochs_with_markers = 40;

struct Series {
  std::string name;
  Color color;
  std::vector<double> values;  // one per epoch, NaN = missing

  bool has_data() const {
    return std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
  }
};

void validate(const std::vector<EpochRecord>& history) {
  detail::require(!history.empty(), component, "at least one epoch in the history", "none");
  for (std::size_t i = 0; i < history.size(); ++i) {
    const EpochRecord& record = history[i];
    if (i > 0 && record.epoch <= history[i - 1].epoch) {
      detail::fail(component, "epochs in increasing order",
                   "epoch " + std::to_string(record.epoch) + " after epoch " +
                       std::to_string(history[i - 1].epoch) + " (record " + std::to_string(i) +
                       ")");
    }
    for (const auto& [name, value] : {std::pair{"test_accuracy", record.test_accuracy},
                                      std::pair{"train_accuracy", record.train_accuracy}}) {
      if (!std::isnan(value) && !(value >= 0.0 && value <= 1.0)) {
        detail::fail(component, std::string(name) + " as a fraction in [0, 1] or NaN",
                     format_general(value, 6) + " at epoch " + std::to_string(record.epoch));
      }
    }
  }
}

// Finite range of the given series; {NaN, NaN} when they hold no finite value.
std::pair<double, double> data_range(const std::vector<Series>& series) {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  for (const Series& s : series) {
    for (const double v : s.values) {
      if (!std::isfinite(v)) continue;
      low = std::min(low, v);
      high = std::max(high, v);
    }
  }
  if (low > high) return {std::nan(""), std::nan("")};
  return {low, high};
}

// A value axis with 6 % air above and below the data, never below floor or above ceiling.
Axis value_axis(const std::vector<Series>& series, double floor, double ceiling, std::string suffix,
                std::string title) {
  auto [low, high] = data_range(series);
  if (std::isnan(low)) {  // nothing to show: a plain 0..1 (or floor..ceiling) frame
    low = std::isfinite(floor) ? floor : 0.0;
    high = std::isfinite(ceiling) ? ceiling : low + 1.0;
  }
  const double span = high > low ? high - low : std::max(std::abs(high) * 0.1, 0.01);
  const double padded_low = std::max(floor, low - 0.06 * span);
  const double padded_high = std::min(ceiling, high + 0.06 * span);
  Axis axis = nice_axis(padded_low, padded_high, 6, 0.0, true);
  // Extending to whole ticks must not leave the meaningful range (e.g. accuracy past 100 %).
  axis.low = std::max(axis.low, floor);
  axis.high = std::min(axis.high, ceiling);
  std::erase_if(axis.ticks, [&](double t) { return t < axis.low - 1e-9 || t > axis.high + 1e-9; });
  axis.suffix = std::move(suffix);
  axis.title = std::move(title);
  return axis;
}

Axis epoch_axis(const std::vector<EpochRecord>& history) {
  const double first = static_cast<double>(history.front().epoch);
  const double last = static_cast<double>(history.back().epoch);
  // Air of 3 % on each side keeps the first and last markers off the frame; a single epoch
  // sits in the middle.
  const double pad = last > first ? 0.03 * (last - first) : 0.5;
  Axis axis = nice_axis(first - pad, last + pad, 7, 1.0, false);
  axis.title = "epoch";
  return axis;
}

void draw_series(const Canvas& canvas, const PlotArea& plot, const std::vector<double>& epochs,
                 const Series& series) {
  cairo_t* context = canvas.context();
  const auto finite = [&](std::size_t i) {
    return i < series.values.size() && std::isfinite(series.values[i]);
  };
  plot.clip(canvas);
  cairo_set_source_rgb(context, series.color.red, series.color.green, series.color.blue);
  cairo_set_line_width(context, line_width);
  cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(context, CAIRO_LINE_CAP_ROUND);
  // A missing value breaks the line instead of bridging it.
  for (std::size_t i = 0; i < series.values.size(); ++i) {
    if (!finite(i)) continue;
    const double px = plot.x(epochs[i]);
    const double py = plot.y(series.values[i]);
    if (i > 0 && finite(i - 1)) {
      cairo_line_to(context, px, py);
    } else {
      cairo_move_to(context, px, py);
    }
  }
  cairo_stroke(context);
  const bool markers = series.values.size() <= max_epochs_with_markers;
  for (std::size_t i = 0; i < series.values.size(); ++i) {
    if (!finite(i)) continue;
    // An isolated point has no line through it, so it always gets a marker.
    const bool isolated = !(i > 0 && finite(i - 1)) && !finite(i + 1);
    if (!markers && !isolated) continue;
    cairo_new_path(context);
    cairo_arc(context, plot.x(epochs[i]), plot.y(series.values[i]), marker_radius, 0.0,
              2.0 * std::numbers::pi);
    cairo_set_source_rgb(context, series.color.red, series.color.green, series.color.blue);
    cairo_fill_preserve(context);
    cairo_set_source_rgb(context, 1.0, 1.0, 1.0);
    cairo_set_line_width(context, 1.2);
    cairo_stroke(context);
  }
  cairo_restore(context);
}

// Panel title on the left and the legend on the right, in the row above the plot area.
void draw_panel_header(const Canvas& canvas, const Rect& area, const std::string& title,
                       const std::vector<Series>& series) {
  const double baseline = area.y - 14.0;
  canvas.text(title, area.x, baseline, panel_font, palette::ink, HAlign::left, VAlign::baseline);
  double right = area.right();
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    if (!it->has_data()) continue;
    const double label_width = canvas.text_width(it->name, legend_font);
    const double label_x = right - label_width;
    canvas.text(it->name, label_x, baseline, legend_font, palette::ink, HAlign::left,
                VAlign::baseline);
    const double key_y = baseline - 4.5;
    const double key_right = label_x - 8.0;
    canvas.line(key_right - 24.0, key_y, key_right, key_y, it->color, line_width);
    cairo_t* context = canvas.context();
    cairo_new_path(context);
    cairo_arc(context, key_right - 12.0, key_y, marker_radius, 0.0, 2.0 * std::numbers::pi);
    cairo_set_source_rgb(context, it->color.red, it->color.green, it->color.blue);
    cairo_fill(context);
    right = key_right - 24.0 - 22.0;
  }
}

void draw_panel(const Canvas& canvas, const Rect& area, const std::string& title,
                const Axis& x_axis, const Axis& y_axis, const std::vector<double>& epochs,
                const std::vector<Series>& series) {
  const PlotArea plot(area, x_axis, y_axis);
  plot.draw_axes(canvas);
  draw_panel_header(canvas, area, title, series);
  bool any = false;
  for (const Series& s : series) {
    if (!s.has_data()) continue;
    draw_series(canvas, plot, epochs, s);
    any = true;
  }
  if (!any) {
    canvas.text("no data", area.center_x(), area.center_y(), subtitle_font, palette::muted,
                HAlign::center, VAlign::middle);
  }
}

std::string format_duration(double seconds) {
  if (seconds < 60.0) return format_number(seconds, 1) + " s";
  if (seconds < 3600.0) return format_number(seconds / 60.0, 1) + " min";
  return format_number(seconds / 3600.0, 2) + " h";
}

// "3 epochs · best test accuracy 91.24 % (epoch 3) · final test loss 0.2541 · 2.1 min"
std::string summary_line(const std::vector<EpochRecord>& history) {
  std::string line = std::to_string(history.size()) + (history.size() == 1 ? " epoch" : " epochs");
  const std::string separator = "   \xC2\xB7   ";  // middle dot
  const EpochRecord* best = nullptr;
  for (const EpochRecord& record : history) {
    if (std::isfinite(record.test_accuracy) &&
        (best == nullptr || record.test_accuracy > best->test_accuracy)) {
      best = &record;
    }
  }
  if (best != nullptr) {
    line += separator + "best test accuracy " + format_number(100.0 * best->test_accuracy, 2) +
            "% (epoch " + std::to_string(best->epoch) + ")";
  }
  if (std::isfinite(history.back().test_loss)) {
    line += separator + "final test loss " + format_general(history.back().test_loss, 4);
  }
  double total = 0.0;
  bool timed = false;
  for (const EpochRecord& record : history) {
    if (!std::isfinite(record.seconds)) continue;
    total += record.seconds;
    timed = true;
  }
  if (timed) line += separator + "training time " + format_duration(total);
  return line;
}

}  // namespace

void write_curves_png(const std::string& path, const std::vector<EpochRecord>& history,
                      const std::string& title) {
  validate(history);
  std::vector<double> epochs;
  Series train_loss{"train", palette::train, {}};
  Series test_loss{"test", palette::test, {}};
  Series train_accuracy{"train", palette::train, {}};
  Series test_accuracy{"test", palette::test, {}};
  for (const EpochRecord& record : history) {
    epochs.push_back(static_cast<double>(record.epoch));
    train_loss.values.push_back(record.train_loss);
    test_loss.values.push_back(record.test_loss);
    train_accuracy.values.push_back(100.0 * record.train_accuracy);
    test_accuracy.values.push_back(100.0 * record.test_accuracy);
  }
  const std::vector<Series> losses{train_loss, test_loss};
  const std::vector<Series> accuracies{train_accuracy, test_accuracy};

  const Canvas canvas(layout::curves_size.width, layout::curves_size.height);
  const double width = canvas.width();
  canvas.text(canvas.ellipsize(title, title_font, width - 80.0), 40.0, 36.0, title_font,
              palette::ink, HAlign::left, VAlign::baseline);
  canvas.text(canvas.ellipsize(summary_line(history), subtitle_font, width - 80.0), 40.0, 62.0,
              subtitle_font, palette::muted, HAlign::left, VAlign::baseline);

  const Axis x_axis = epoch_axis(history);
  // Losses may be negative for exotic losses; then the axis follows the data below zero.
  const double loss_low = data_range(losses).first;
  const double loss_floor =
      std::isfinite(loss_low) && loss_low < 0.0 ? -std::numeric_limits<double>::infinity() : 0.0;
  draw_panel(canvas, layout::curves_plot(0), "Loss", x_axis,
             value_axis(losses, loss_floor, std::numeric_limits<double>::infinity(), "", "loss"),
             epochs, losses);
  draw_panel(canvas, layout::curves_plot(1), "Accuracy", x_axis,
             value_axis(accuracies, 0.0, 100.0, "%", "accuracy"), epochs, accuracies);
  canvas.write_png(path);
}

}  // namespace cnnkit::report
