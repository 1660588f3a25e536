#include "report/canvas.hpp"

#include <algorithm>
#include <numbers>
#include <stdexcept>
#include <string>

#include "cnnkit/io/atomic_file.hpp"

namespace cnnkit::report {

namespace {

constexpr const char* font_family = "DejaVu Sans";
constexpr std::string_view ellipsis = "\xE2\x80\xA6";  // "…" in UTF-8

void set_color(cairo_t* context, Color color) {
  cairo_set_source_rgb(context, color.red, color.green, color.blue);
}

// Length of the longest prefix of text no longer than length that does not split a UTF-8
// character (continuation bytes are 10xxxxxx).
std::size_t utf8_prefix(std::string_view text, std::size_t length) {
  while (length > 0 && length < text.size() &&
         (static_cast<unsigned char>(text[length]) & 0xC0U) == 0x80U) {
    --length;
  }
  return length;
}

}  // namespace

Canvas::Canvas(int width, int height)
    : width_(width),
      height_(height),
      surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)),
      context_(cairo_create(surface_.get())) {
  const cairo_status_t status = cairo_status(context_.get());
  if (width <= 0 || height <= 0 || status != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error("Canvas: expected a drawable " + std::to_string(width) + "x" +
                             std::to_string(height) + " image, got cairo status '" +
                             cairo_status_to_string(status) + "'");
  }
  cairo_t* context = context_.get();
  set_color(context, {1.0, 1.0, 1.0});
  cairo_paint(context);
  // Grey antialiasing without hinting keeps measured and drawn widths equal at every size.
  cairo_font_options_t* options = cairo_font_options_create();
  cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_SLIGHT);
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options(context, options);
  cairo_font_options_destroy(options);
}

void Canvas::fill_rect(const Rect& rect, Color color) const {
  cairo_t* context = context_.get();
  set_color(context, color);
  cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height);
  cairo_fill(context);
}

void Canvas::stroke_rect(const Rect& rect, Color color, double line_width) const {
  cairo_t* context = context_.get();
  set_color(context, color);
  cairo_set_line_width(context, line_width);
  const double half = line_width / 2.0;
  cairo_rectangle(context, rect.x + half, rect.y + half, rect.width - line_width,
                  rect.height - line_width);
  cairo_stroke(context);
}

void Canvas::line(double x0, double y0, double x1, double y1, Color color,
                  double line_width) const {
  cairo_t* context = context_.get();
  set_color(context, color);
  cairo_set_line_width(context, line_width);
  cairo_move_to(context, x0, y0);
  cairo_line_to(context, x1, y1);
  cairo_stroke(context);
}

void Canvas::select_font(Font font) const {
  cairo_t* context = context_.get();
  cairo_select_font_face(context, font_family, CAIRO_FONT_SLANT_NORMAL,
                         font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(context, font.size);
}

double Canvas::text_width(std::string_view text, Font font) const {
  select_font(font);
  const std::string owned(text);
  cairo_text_extents_t extents;
  cairo_text_extents(context_.get(), owned.c_str(), &extents);
  return extents.x_advance;
}

std::string Canvas::ellipsize(std::string_view text, Font font, double max_width) const {
  if (text_width(text, font) <= max_width) return std::string(text);
  // Binary search on the prefix length: width grows with the prefix.
  std::size_t fits = 0;
  std::size_t too_long = text.size();
  while (too_long - fits > 1) {
    const std::size_t middle = (fits + too_long) / 2;
    const std::string candidate =
        std::string(text.substr(0, utf8_prefix(text, middle))) + std::string(ellipsis);
    if (text_width(candidate, font) <= max_width) {
      fits = middle;
    } else {
      too_long = middle;
    }
  }
  return std::string(text.substr(0, utf8_prefix(text, fits))) + std::string(ellipsis);
}

Font Canvas::fit(std::string_view text, Font font, double max_width, double min_size) const {
  const double width = text_width(text, font);
  if (width > max_width && width > 0.0)
    font.size = std::max(min_size, font.size * max_width / width);
  return font;
}

void Canvas::text(std::string_view text, double x, double y, Font font, Color color, HAlign h_align,
                  VAlign v_align, double angle_degrees) const {
  cairo_t* context = context_.get();
  cairo_save(context);
  select_font(font);
  const std::string owned(text);
  cairo_text_extents_t extents;
  cairo_text_extents(context, owned.c_str(), &extents);
  cairo_font_extents_t font_extents;
  cairo_font_extents(context, &font_extents);

  double dx = 0.0;
  if (h_align == HAlign::center) dx = -extents.x_advance / 2.0;
  if (h_align == HAlign::right) dx = -extents.x_advance;
  double dy = 0.0;
  switch (v_align) {
    case VAlign::top:
      dy = font_extents.ascent;
      break;
    // Half the cap height of DejaVu Sans (0.73 em): digits and capitals sit centred on y.
    case VAlign::middle:
      dy = 0.365 * font.size;
      break;
    case VAlign::baseline:
      dy = 0.0;
      break;
    case VAlign::bottom:
      dy = -font_extents.descent;
      break;
  }
  cairo_translate(context, x, y);
  cairo_rotate(context, angle_degrees * std::numbers::pi / 180.0);
  cairo_move_to(context, dx, dy);
  set_color(context, color);
  cairo_show_text(context, owned.c_str());
  cairo_restore(context);
}

void Canvas::write_png(const std::string& path) const {
  cairo_surface_flush(surface_.get());
  // Encoded in memory, then written by the one atomic writer: a temporary name of its own per
  // write (two runs into one folder never rename each other's file), flushed before the rename.
  std::string bytes;
  const cairo_write_func_t append = [](void* closure, const unsigned char* data,
                                       unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  };
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface_.get(), append, &bytes);
  if (status != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error("write_png: expected to encode '" + path + "', got cairo status '" +
                             cairo_status_to_string(status) + "'");
  }
  write_file_atomically(path, bytes);
}

}  // namespace cnnkit::report
