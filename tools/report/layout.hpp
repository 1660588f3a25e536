// Where everything sits in the three pictures, as pure functions of the item counts. The
// drawing code and the tests both use these, so a test can look at "the cell for true class 3,
// predicted 5" without reverse-engineering pixels.
#pragma once

#include <cstddef>

#include "report/primitives.hpp"

namespace cnnkit::report::layout {

struct Size {
  int width = 0;
  int height = 0;
};

// ---- curves.png
inline constexpr Size curves_size{1200, 500};
// panel 0 = loss, panel 1 = accuracy: the framed plot area (tick numbers and titles outside).
Rect curves_plot(std::size_t panel);

// ---- confusion.png: margins for names (left, bottom), title (top), colour bar (right). The
// bottom margin holds column names turned by 45 degrees; names that fit their column stand
// upright and need 60 pixels less.
inline constexpr double confusion_left = 170.0;
inline constexpr double confusion_right = 120.0;
inline constexpr double confusion_top = 90.0;
inline constexpr double confusion_bottom = 160.0;
double confusion_cell_side(std::size_t classes);  // clamp(floor(510 / n), 24, 110)
Size confusion_size(std::size_t classes, bool turned_names);
inline constexpr double confusion_upright_saving = 60.0;
Rect confusion_grid(std::size_t classes);
Rect confusion_cell(std::size_t classes, std::size_t true_class, std::size_t predicted_class);

// ---- samples.png: tiles in rows of samples_columns, each cell holds a framed image + captions
inline constexpr std::size_t samples_columns = 8;
inline constexpr double sample_cell_width = 150.0;
inline constexpr double sample_cell_height = 180.0;
inline constexpr double sample_image_side = 112.0;  // the box an image is scaled into
inline constexpr double sample_frame_width = 4.0;
inline constexpr double samples_title_height = 76.0;
Size samples_size(std::size_t tiles);
Rect sample_cell(std::size_t tiles, std::size_t index);
Rect sample_frame(std::size_t tiles, std::size_t index);      // outer edge of the frame
Rect sample_image_box(std::size_t tiles, std::size_t index);  // inside the frame

}  // namespace cnnkit::report::layout
