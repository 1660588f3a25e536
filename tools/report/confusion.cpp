// confusion.png: the confusion matrix as a heat map. Colour is the cell's share of its row, so
// every true class reads the same however many samples it has; the count is written in the cell.
#include <algorithm>
#include <cstdio>
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

constexpr std::string_view component = "write_confusion_png";
constexpr Font title_font{22.0, true};
constexpr Font subtitle_font{14.0, false};
constexpr Font axis_title_font{15.0, true};
constexpr Font bar_font{12.0, false};
constexpr double sin_45 = 0.70710678118654752;

void validate(const std::vector<std::vector<std::size_t>>& confusion,
              const std::vector<std::string>& class_names) {
  const std::size_t n = confusion.size();
  detail::require(n > 0, component, "a square matrix with at least one class", "no rows");
  for (std::size_t row = 0; row < n; ++row) {
    if (confusion[row].size() != n) {
      detail::fail(component,
                   "a square " + std::to_string(n) + " x " + std::to_string(n) + " matrix",
                   "row " + std::to_string(row) + " with " + std::to_string(confusion[row].size()) +
                       " entries");
    }
  }
  detail::require(class_names.size() == n, component,
                  std::to_string(n) + " class names (one per row)",
                  std::to_string(class_names.size()));
}

std::string percent(double fraction) {
  return format_number(100.0 * fraction, 2) + "%";
}

void draw_cells(const Canvas& canvas, const std::vector<std::vector<std::size_t>>& confusion) {
  const std::size_t n = confusion.size();
  const double side = layout::confusion_cell_side(n);
  std::size_t largest = 0;
  for (const auto& row : confusion)
    largest = std::max(largest, *std::max_element(row.begin(), row.end()));
  // One font size for every count, chosen so the widest count fits its cell.
  Font count_font{std::clamp(side * 0.32, 8.0, 16.0), false};
  count_font = canvas.fit(std::to_string(largest), Font{count_font.size, true}, side - 6.0, 8.0);
  const bool show_counts =
      canvas.text_width(std::to_string(largest), Font{count_font.size, true}) <= side - 4.0;
  // In small cells a sea of zeros is noise; only the counts that matter are written.
  const bool show_zeros = side >= 36.0;

  for (std::size_t truth = 0; truth < n; ++truth) {
    std::size_t row_total = 0;
    for (const std::size_t count : confusion[truth]) row_total += count;
    for (std::size_t predicted = 0; predicted < n; ++predicted) {
      const std::size_t count = confusion[truth][predicted];
      const double share =
          row_total > 0 ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      const Rect cell = layout::confusion_cell(n, truth, predicted);
      const Color fill = blues(share);
      canvas.fill_rect(cell, fill);
      if (!show_counts || (count == 0 && !show_zeros)) continue;
      // Zeros are quiet so the eye goes to the counts that matter; the diagonal is bold.
      const Color ink = count == 0 ? palette::faint : readable_text_on(fill);
      canvas.text(std::to_string(count), cell.center_x(), cell.center_y(),
                  Font{count_font.size, truth == predicted}, ink, HAlign::center, VAlign::middle);
    }
  }
  // White hairlines between the cells, a grey frame around the grid.
  const Rect grid = layout::confusion_grid(n);
  for (std::size_t k = 1; k < n; ++k) {
    const double offset = side * static_cast<double>(k);
    canvas.line(grid.x + offset, grid.y, grid.x + offset, grid.bottom(), palette::white, 1.0);
    canvas.line(grid.x, grid.y + offset, grid.right(), grid.y + offset, palette::white, 1.0);
  }
  canvas.stroke_rect({grid.x - 1.0, grid.y - 1.0, grid.width + 2.0, grid.height + 2.0},
                     palette::frame, 1.0);
}

Font label_font_for(std::size_t classes) {
  return {std::clamp(layout::confusion_cell_side(classes) * 0.55, 9.0, 14.0), false};
}

// Column names stand upright when every one fits its column, else they are turned 45 degrees
// so long names like "T-shirt/top" never run into each other.
bool turned_names(const Canvas& canvas, const std::vector<std::string>& class_names) {
  const std::size_t n = class_names.size();
  const Font font = label_font_for(n);
  const double room = layout::confusion_cell_side(n) - 6.0;
  return std::any_of(class_names.begin(), class_names.end(),
                     [&](const auto& name) { return canvas.text_width(name, font) > room; });
}

void draw_class_names(const Canvas& canvas, const std::vector<std::string>& class_names,
                      bool turned) {
  const std::size_t n = class_names.size();
  const double side = layout::confusion_cell_side(n);
  const Rect grid = layout::confusion_grid(n);
  const Font label_font = label_font_for(n);

  // Rows (true class): right-aligned left of the grid.
  const double row_label_room = layout::confusion_left - 12.0 - 44.0;
  double widest_row_label = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string label = canvas.ellipsize(class_names[i], label_font, row_label_room);
    widest_row_label = std::max(widest_row_label, canvas.text_width(label, label_font));
    canvas.text(label, grid.x - 10.0, grid.y + side * (static_cast<double>(i) + 0.5), label_font,
                palette::ink, HAlign::right, VAlign::middle);
  }
  canvas.text("true", grid.x - 10.0 - widest_row_label - 22.0, grid.center_y(), axis_title_font,
              palette::muted, HAlign::center, VAlign::middle, -90.0);

  // Columns (predicted class).
  const double top = grid.bottom() + 10.0;
  double extent = label_font.size * 1.2;
  for (std::size_t i = 0; i < n; ++i) {
    const double center_x = grid.x + side * (static_cast<double>(i) + 0.5);
    if (!turned) {
      canvas.text(class_names[i], center_x, top, label_font, palette::ink, HAlign::center,
                  VAlign::top);
      continue;
    }
    const std::string label = canvas.ellipsize(class_names[i], label_font, 150.0);
    extent = std::max(extent, canvas.text_width(label, label_font) * sin_45 + label_font.size);
    canvas.text(label, center_x + label_font.size * 0.25, top, label_font, palette::ink,
                HAlign::right, VAlign::middle, -45.0);
  }
  canvas.text("predicted", grid.center_x(), top + extent + 14.0, axis_title_font, palette::muted,
              HAlign::center, VAlign::middle);
}

// Vertical colour bar right of the grid: 0 % at the bottom, 100 % at the top.
void draw_color_bar(const Canvas& canvas, std::size_t classes) {
  const Rect grid = layout::confusion_grid(classes);
  const Rect bar{grid.right() + 24.0, grid.y, 16.0, grid.height};
  cairo_t* context = canvas.context();
  cairo_pattern_t* gradient = cairo_pattern_create_linear(0.0, bar.bottom(), 0.0, bar.y);
  for (int k = 0; k < blues_anchor_count; ++k) {
    const Color c = blues_anchor(k);
    cairo_pattern_add_color_stop_rgb(gradient, static_cast<double>(k) / (blues_anchor_count - 1),
                                     c.red, c.green, c.blue);
  }
  cairo_rectangle(context, bar.x, bar.y, bar.width, bar.height);
  cairo_set_source(context, gradient);
  cairo_fill(context);
  cairo_pattern_destroy(gradient);
  canvas.stroke_rect(bar, palette::frame, 1.0);
  for (int quarter = 0; quarter <= 4; ++quarter) {
    const double y = bar.bottom() - bar.height * quarter / 4.0;
    canvas.line(bar.right(), y, bar.right() + 4.0, y, palette::frame, 1.0);
    canvas.text(std::to_string(quarter * 25) + "%", bar.right() + 7.0, y, bar_font, palette::ink,
                HAlign::left, VAlign::middle);
  }
  canvas.text("share of the true class", bar.right() + 56.0, bar.center_y(), bar_font,
              palette::muted, HAlign::center, VAlign::middle, -90.0);
}

}  // namespace

void write_confusion_png(const std::string& path,
                         const std::vector<std::vector<std::size_t>>& confusion,
                         const std::vector<std::string>& class_names, const std::string& title) {
  validate(confusion, class_names);
  const std::size_t n = confusion.size();
  std::size_t total = 0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) total += confusion[i][j];
    correct += confusion[i][i];
  }

  const bool turned = turned_names(Canvas(1, 1), class_names);
  const layout::Size size = layout::confusion_size(n, turned);
  const Canvas canvas(size.width, size.height);
  const double text_room = size.width - 80.0;
  const std::string heading =
      title + (total > 0 ? "   \xC2\xB7   accuracy " +
                               percent(static_cast<double>(correct) / static_cast<double>(total))
                         : std::string("   \xC2\xB7   no samples"));
  const Font heading_font = canvas.fit(heading, title_font, text_room, 15.0);
  canvas.text(canvas.ellipsize(heading, heading_font, text_room), 40.0, 40.0, heading_font,
              palette::ink, HAlign::left, VAlign::baseline);
  const std::string subtitle = std::to_string(correct) + " of " + std::to_string(total) +
                               " samples correct   \xC2\xB7   cell colour: share of its row "
                               "(the true class)";
  canvas.text(canvas.ellipsize(subtitle, subtitle_font, text_room), 40.0, 66.0, subtitle_font,
              palette::muted, HAlign::left, VAlign::baseline);

  draw_cells(canvas, confusion);
  draw_class_names(canvas, class_names, turned);
  draw_color_bar(canvas, n);
  canvas.write_png(path);
}

}  // namespace cnnkit::report
