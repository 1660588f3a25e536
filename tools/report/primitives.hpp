// Plain values the pictures are built from: a colour and a pixel rectangle. Kept free of cairo
// so the layout and palette can be used (and tested) without the drawing library's headers.
#pragma once

namespace cnnkit::report {

// Channels in [0, 1], as cairo takes them.
struct Color {
  double red = 0.0;
  double green = 0.0;
  double blue = 0.0;
};

// Pixel rectangle; x grows to the right, y grows downwards.
struct Rect {
  double x = 0.0;
  double y = 0.0;
  double width = 0.0;
  double height = 0.0;

  double right() const noexcept { return x + width; }
  double bottom() const noexcept { return y + height; }
  double center_x() const noexcept { return x + width / 2.0; }
  double center_y() const noexcept { return y + height / 2.0; }
};

}  // namespace cnnkit::report
