// Canvas: an RGB image drawn with cairo, with the few primitives the report pictures need
// (rectangles, lines, aligned and rotated text in DejaVu Sans) and an atomic PNG writer.
#pragma once

#include <cairo.h>

#include <memory>
#include <string>
#include <string_view>

#include "report/primitives.hpp"

namespace cnnkit::report {

struct Font {
  double size = 14.0;  // pixels
  bool bold = false;
};

enum class HAlign { left, center, right };
// middle centres digits and capitals on y; baseline puts the text's baseline on y.
enum class VAlign { top, middle, baseline, bottom };

namespace handles {
struct SurfaceDeleter {
  void operator()(cairo_surface_t* surface) const noexcept { cairo_surface_destroy(surface); }
};
struct ContextDeleter {
  void operator()(cairo_t* context) const noexcept { cairo_destroy(context); }
};
}  // namespace handles

class Canvas {
 public:
  // A white width x height image; throws std::runtime_error if cairo cannot allocate it.
  Canvas(int width, int height);

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  // For paths the helpers below do not cover (curves, gradients, image patterns).
  cairo_t* context() const noexcept { return context_.get(); }

  void fill_rect(const Rect& rect, Color color) const;
  // The stroke lies inside rect, so a frame never spills into its neighbours.
  void stroke_rect(const Rect& rect, Color color, double line_width) const;
  void line(double x0, double y0, double x1, double y1, Color color, double line_width) const;

  // Draws text anchored at (x, y); angle_degrees turns it around the anchor (negative = upwards).
  void text(std::string_view text, double x, double y, Font font, Color color, HAlign h_align,
            VAlign v_align, double angle_degrees = 0.0) const;
  double text_width(std::string_view text, Font font) const;
  // text, or its longest prefix followed by "…" that is at most max_width wide.
  std::string ellipsize(std::string_view text, Font font, double max_width) const;
  // font, made smaller (down to min_size) until text fits max_width.
  Font fit(std::string_view text, Font font, double max_width, double min_size) const;

  // Writes the image as PNG atomically (cnnkit/io/atomic_file.hpp): readers of path see the old
  // picture or the new one, never half of one.
  void write_png(const std::string& path) const;

 private:
  void select_font(Font font) const;

  int width_;
  int height_;
  std::unique_ptr<cairo_surface_t, handles::SurfaceDeleter> surface_;
  std::unique_ptr<cairo_t, handles::ContextDeleter> context_;
};

}  // namespace cnnkit::report
