// Axes of a line chart: "nice" tick values (1, 2 or 5 times a power of ten), number formatting,
// and a PlotArea that maps data to pixels and draws grid, frame, tick numbers and axis titles.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "report/canvas.hpp"

namespace cnnkit::report {

struct Axis {
  double low = 0.0;  // data value at the left / bottom edge
  double high = 1.0;
  std::vector<double> ticks;
  int decimals = 0;    // digits after the point in tick numbers
  std::string suffix;  // appended to tick numbers, e.g. "%"
  std::string title;
};

// About target_count ticks spanning [low, high] with a step of 1, 2 or 5 x 10^k, at least
// min_step. extend = true widens low / high outwards to the neighbouring ticks (value axes);
// extend = false keeps them and lists only the ticks inside (epoch axis). An empty or inverted
// range is first widened around its value, so the result always has high > low.
Axis nice_axis(double low, double high, std::size_t target_count, double min_step, bool extend);

// value with exactly decimals digits after the point ("0.25", "12"), never "-0".
std::string format_number(double value, int decimals);
// value with at most digits significant digits ("0.2541", "91.5", "1e-05"), as printf's %g.
std::string format_general(double value, int digits);

class PlotArea {
 public:
  PlotArea(Rect area, Axis x_axis, Axis y_axis);

  const Rect& area() const noexcept { return area_; }
  double x(double value) const noexcept;  // data -> pixel
  double y(double value) const noexcept;

  // Background, grid lines at the ticks, frame, tick numbers and both axis titles.
  void draw_axes(const Canvas& canvas) const;
  // Restricts drawing to the plot area until cairo_restore (lines never cross the frame).
  void clip(const Canvas& canvas) const;

 private:
  Rect area_;
  Axis x_axis_;
  Axis y_axis_;
};

}  // namespace cnnkit::report
