// samples.png: a grid of test images, each framed green (right) or red (wrong), with the
// predicted class, its confidence and the true class written underneath.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
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

constexpr std::string_view component = "write_samples_png";
constexpr Font title_font{22.0, true};
constexpr Font subtitle_font{14.0, false};
constexpr Font caption_font{13.0, false};
constexpr Font caption_bold{13.0, true};
constexpr Color letterbox{0.93, 0.93, 0.94};  // box area an image with another aspect leaves

void validate(const std::vector<SampleTile>& samples, const std::vector<std::string>& class_names) {
  detail::require(!samples.empty(), component, "at least one sample tile", "none");
  const std::string classes = std::to_string(class_names.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const SampleTile& tile = samples[i];
    const std::string where = " in tile " + std::to_string(i);
    detail::require(tile.channels == 1 || tile.channels == 3, component,
                    "1 (grey) or 3 (RGB) channels", std::to_string(tile.channels) + where);
    detail::require(tile.height > 0 && tile.width > 0, component, "a non-empty image",
                    std::to_string(tile.height) + " x " + std::to_string(tile.width) + where);
    const std::size_t expected = tile.channels * tile.height * tile.width;
    detail::require(tile.pixels.size() == expected, component,
                    std::to_string(expected) + " pixel values (" + std::to_string(tile.channels) +
                        " x " + std::to_string(tile.height) + " x " + std::to_string(tile.width) +
                        ")",
                    std::to_string(tile.pixels.size()) + where);
    detail::require(tile.predicted < class_names.size(), component,
                    "a predicted class below the " + classes + " class names",
                    std::to_string(tile.predicted) + where);
    detail::require(tile.truth < class_names.size(), component,
                    "a true class below the " + classes + " class names",
                    std::to_string(tile.truth) + where);
    detail::require(tile.confidence >= 0.0 && tile.confidence <= 1.0, component,
                    "a confidence in [0, 1]", format_general(tile.confidence, 6) + where);
  }
}

std::uint32_t to_byte(float value) {
  const float clamped = std::isnan(value) ? 0.0F : std::clamp(value, 0.0F, 1.0F);
  return static_cast<std::uint32_t>(std::lround(clamped * 255.0F));
}

using Surface = std::unique_ptr<cairo_surface_t, handles::SurfaceDeleter>;

// The tile as a cairo image, one cairo pixel per image pixel (scaling happens when painting).
Surface tile_surface(const SampleTile& tile) {
  const int width = static_cast<int>(tile.width);
  const int height = static_cast<int>(tile.height);
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(component) + ": expected to allocate a " +
                             std::to_string(width) + "x" + std::to_string(height) +
                             " image, got cairo status '" +
                             cairo_status_to_string(cairo_surface_status(surface.get())) + "'");
  }
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const std::size_t stride =
      static_cast<std::size_t>(cairo_image_surface_get_stride(surface.get()));
  const std::size_t plane = tile.height * tile.width;
  for (std::size_t y = 0; y < tile.height; ++y) {
    for (std::size_t x = 0; x < tile.width; ++x) {
      const std::size_t at = y * tile.width + x;
      // (c, h, w) layout: channel c of pixel (y, x) is at c * plane + at; grey repeats channel 0.
      const std::uint32_t red = to_byte(tile.pixels[at]);
      const std::uint32_t green = tile.channels == 3 ? to_byte(tile.pixels[plane + at]) : red;
      const std::uint32_t blue = tile.channels == 3 ? to_byte(tile.pixels[2 * plane + at]) : red;
      // RGB24 is one native-endian 32-bit word per pixel: 0x00RRGGBB.
      const std::uint32_t word = (red << 16U) | (green << 8U) | blue;
      std::memcpy(data + y * stride + x * 4, &word, sizeof word);
    }
  }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

// Paints the tile into box: enlarged by the largest whole factor that fits (nearest neighbour,
// so pixels stay crisp squares), or shrunk smoothly if it is larger than the box.
void draw_image(const Canvas& canvas, const SampleTile& tile, const Rect& box) {
  canvas.fill_rect(box, letterbox);
  const double longest = static_cast<double>(std::max(tile.height, tile.width));
  const double scale = longest <= box.width ? std::floor(box.width / longest) : box.width / longest;
  const double shown_width = scale * static_cast<double>(tile.width);
  const double shown_height = scale * static_cast<double>(tile.height);
  const double x = box.x + std::floor((box.width - shown_width) / 2.0);
  const double y = box.y + std::floor((box.height - shown_height) / 2.0);

  const Surface image = tile_surface(tile);
  cairo_t* context = canvas.context();
  cairo_save(context);
  cairo_rectangle(context, x, y, shown_width, shown_height);
  cairo_clip(context);
  cairo_translate(context, x, y);
  cairo_scale(context, scale, scale);
  cairo_set_source_surface(context, image.get(), 0.0, 0.0);
  cairo_pattern_set_filter(cairo_get_source(context),
                           scale >= 1.0 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
  cairo_paint(context);
  cairo_restore(context);
}

void draw_tile(const Canvas& canvas, const SampleTile& tile, std::size_t tiles, std::size_t index,
               const std::vector<std::string>& class_names) {
  const bool right = tile.predicted == tile.truth;
  const Rect cell = layout::sample_cell(tiles, index);
  const Rect frame = layout::sample_frame(tiles, index);
  canvas.fill_rect(frame, right ? palette::correct : palette::mistake);
  draw_image(canvas, tile, layout::sample_image_box(tiles, index));

  const double room = cell.width - 10.0;
  const Font predicted_font = right ? caption_font : caption_bold;
  const std::string confidence = " (" + std::to_string(std::lround(100.0 * tile.confidence)) + "%)";
  const std::string predicted =
      canvas.ellipsize(class_names[tile.predicted], predicted_font,
                       room - canvas.text_width(confidence, predicted_font)) +
      confidence;
  canvas.text(predicted, cell.center_x(), frame.bottom() + 20.0, predicted_font,
              right ? palette::correct_text : palette::mistake, HAlign::center, VAlign::baseline);
  canvas.text(canvas.ellipsize("true: " + class_names[tile.truth], caption_font, room),
              cell.center_x(), frame.bottom() + 38.0, caption_font, palette::muted, HAlign::center,
              VAlign::baseline);
}

}  // namespace

void write_samples_png(const std::string& path, const std::vector<SampleTile>& samples,
                       const std::vector<std::string>& class_names, const std::string& title) {
  validate(samples, class_names);
  const layout::Size size = layout::samples_size(samples.size());
  const Canvas canvas(size.width, size.height);

  const std::size_t correct = static_cast<std::size_t>(std::count_if(
      samples.begin(), samples.end(), [](const SampleTile& t) { return t.predicted == t.truth; }));
  const double left = layout::sample_cell(samples.size(), 0).x + 8.0;
  const double room = size.width - 2.0 * left;
  canvas.text(canvas.ellipsize(title, title_font, room), left, 36.0, title_font, palette::ink,
              HAlign::left, VAlign::baseline);
  const std::string subtitle =
      std::to_string(correct) + " of " + std::to_string(samples.size()) +
      " correct   \xC2\xB7   green frame: right, red frame: wrong   \xC2\xB7   caption: "
      "predicted (confidence), true class";
  canvas.text(canvas.ellipsize(subtitle, subtitle_font, room), left, 62.0, subtitle_font,
              palette::muted, HAlign::left, VAlign::baseline);

  for (std::size_t i = 0; i < samples.size(); ++i) {
    draw_tile(canvas, samples[i], samples.size(), i, class_names);
  }
  canvas.write_png(path);
}

}  // namespace cnnkit::report
