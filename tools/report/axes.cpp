#include "report/axes.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <utility>

#include "report/colors.hpp"

namespace cnnkit::report {

namespace {

constexpr Font tick_font{13.0, false};
constexpr Font title_font{14.0, false};

// The smallest step of the form {1, 2, 5} x 10^k that is at least raw.
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double residual = raw / magnitude;
  if (residual <= 1.0) return magnitude;
  if (residual <= 2.0) return 2.0 * magnitude;
  if (residual <= 5.0) return 5.0 * magnitude;
  return 10.0 * magnitude;
}

}  // namespace

Axis nice_axis(double low, double high, std::size_t target_count, double min_step, bool extend) {
  if (!(high > low)) {
    const double center = std::isfinite(low) ? low : 0.0;
    const double half = center != 0.0 ? std::abs(center) * 0.05 : 0.5;
    low = center - half;
    high = center + half;
  }
  const double raw = (high - low) / static_cast<double>(std::max<std::size_t>(target_count, 2));
  const double step = std::max(nice_step(raw), min_step);
  // Index the ticks by integers so no rounding error piles up along the axis.
  constexpr double slack = 1e-9;
  const double first = extend ? std::floor(low / step + slack) : std::ceil(low / step - slack);
  const double last = extend ? std::ceil(high / step - slack) : std::floor(high / step + slack);
  Axis axis;
  axis.low = extend ? first * step : low;
  axis.high = extend ? last * step : high;
  for (double index = first; index <= last; index += 1.0) axis.ticks.push_back(index * step);
  axis.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + slack)));
  return axis;
}

std::string format_number(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  if (std::abs(value) * scale < 0.5) value = 0.0;  // no "-0.00"
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

std::string format_general(double value, int digits) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*g", digits, value);
  return buffer.data();
}

PlotArea::PlotArea(Rect area, Axis x_axis, Axis y_axis)
    : area_(area), x_axis_(std::move(x_axis)), y_axis_(std::move(y_axis)) {}

double PlotArea::x(double value) const noexcept {
  return area_.x + (value - x_axis_.low) / (x_axis_.high - x_axis_.low) * area_.width;
}

double PlotArea::y(double value) const noexcept {
  return area_.bottom() - (value - y_axis_.low) / (y_axis_.high - y_axis_.low) * area_.height;
}

void PlotArea::clip(const Canvas& canvas) const {
  cairo_t* context = canvas.context();
  cairo_save(context);
  cairo_rectangle(context, area_.x, area_.y, area_.width, area_.height);
  cairo_clip(context);
}

void PlotArea::draw_axes(const Canvas& canvas) const {
  canvas.fill_rect(area_, palette::plot_background);
  // Grid lines sit on half pixels so a 1-pixel line covers exactly one pixel row.
  const auto crisp = [](double pixel) { return std::floor(pixel) + 0.5; };
  double widest_y_label = 0.0;
  for (const double tick : y_axis_.ticks) {
    const double py = crisp(y(tick));
    canvas.line(area_.x, py, area_.right(), py, palette::grid, 1.0);
    canvas.line(area_.x - 5.0, py, area_.x, py, palette::frame, 1.0);
    const std::string label = format_number(tick, y_axis_.decimals) + y_axis_.suffix;
    widest_y_label = std::max(widest_y_label, canvas.text_width(label, tick_font));
    canvas.text(label, area_.x - 9.0, py, tick_font, palette::ink, HAlign::right, VAlign::middle);
  }
  for (const double tick : x_axis_.ticks) {
    const double px = crisp(x(tick));
    canvas.line(px, area_.y, px, area_.bottom(), palette::grid, 1.0);
    canvas.line(px, area_.bottom(), px, area_.bottom() + 5.0, palette::frame, 1.0);
    canvas.text(format_number(tick, x_axis_.decimals) + x_axis_.suffix, px, area_.bottom() + 10.0,
                tick_font, palette::ink, HAlign::center, VAlign::top);
  }
  canvas.stroke_rect(area_, palette::frame, 1.0);
  canvas.text(x_axis_.title, area_.center_x(), area_.bottom() + 44.0, title_font, palette::muted,
              HAlign::center, VAlign::middle);
  // The y title keeps clear of the widest tick number.
  canvas.text(y_axis_.title, area_.x - 9.0 - widest_y_label - 18.0, area_.center_y(), title_font,
              palette::muted, HAlign::center, VAlign::middle, -90.0);
}

}  // namespace cnnkit::report
