#include "report/layout.hpp"

#include <algorithm>
#include <cmath>

namespace cnnkit::report::layout {

Rect curves_plot(std::size_t panel) {
  // Each panel owns half the width; the left 84 pixels hold tick numbers and the axis title.
  constexpr double panel_width = 600.0;
  constexpr double left = 84.0;
  constexpr double right = 28.0;
  constexpr double top = 112.0;
  constexpr double bottom = 440.0;
  const double panel_x = panel_width * static_cast<double>(panel);
  return {panel_x + left, top, panel_width - left - right, bottom - top};
}

double confusion_cell_side(std::size_t classes) {
  const double side = std::floor(510.0 / static_cast<double>(std::max<std::size_t>(classes, 1)));
  return std::clamp(side, 24.0, 110.0);
}

namespace {
double confusion_width(std::size_t classes) {
  const double grid = confusion_cell_side(classes) * static_cast<double>(classes);
  return std::max(640.0, confusion_left + confusion_right + grid);
}
}  // namespace

Size confusion_size(std::size_t classes, bool turned_names) {
  const double width = confusion_width(classes);
  // The grid is square, so the image has the same air above and below it as left and right.
  const double height = width - (confusion_left + confusion_right) + confusion_top +
                        confusion_bottom - (turned_names ? 0.0 : confusion_upright_saving);
  return {static_cast<int>(width), static_cast<int>(height)};
}

Rect confusion_grid(std::size_t classes) {
  const double grid = confusion_cell_side(classes) * static_cast<double>(classes);
  // A small matrix in the minimum-size image is centred in the space the margins leave.
  const double extra =
      std::floor((confusion_width(classes) - confusion_left - confusion_right - grid) / 2.0);
  return {confusion_left + extra, confusion_top + extra, grid, grid};
}

Rect confusion_cell(std::size_t classes, std::size_t true_class, std::size_t predicted_class) {
  const Rect grid = confusion_grid(classes);
  const double side = confusion_cell_side(classes);
  return {grid.x + side * static_cast<double>(predicted_class),
          grid.y + side * static_cast<double>(true_class), side, side};
}

Size samples_size(std::size_t tiles) {
  const std::size_t columns = std::min(tiles, samples_columns);
  const std::size_t rows = (tiles + samples_columns - 1) / samples_columns;
  const double width = std::max(640.0, 40.0 + sample_cell_width * static_cast<double>(columns));
  const double height =
      samples_title_height + 16.0 + sample_cell_height * static_cast<double>(rows);
  return {static_cast<int>(width), static_cast<int>(height)};
}

Rect sample_cell(std::size_t tiles, std::size_t index) {
  const std::size_t columns = std::min(tiles, samples_columns);
  const double grid_width = sample_cell_width * static_cast<double>(columns);
  const double left = std::floor((samples_size(tiles).width - grid_width) / 2.0);
  const std::size_t row = index / samples_columns;
  const std::size_t column = index % samples_columns;
  return {left + sample_cell_width * static_cast<double>(column),
          samples_title_height + sample_cell_height * static_cast<double>(row), sample_cell_width,
          sample_cell_height};
}

Rect sample_frame(std::size_t tiles, std::size_t index) {
  const Rect cell = sample_cell(tiles, index);
  const double side = sample_image_side + 2.0 * sample_frame_width;
  return {cell.x + (cell.width - side) / 2.0, cell.y + 6.0, side, side};
}

Rect sample_image_box(std::size_t tiles, std::size_t index) {
  const Rect frame = sample_frame(tiles, index);
  return {frame.x + sample_frame_width, frame.y + sample_frame_width, sample_image_side,
          sample_image_side};
}

}  // namespace cnnkit::report::layout
