#include "report/colors.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace cnnkit::report {

namespace {

constexpr Color from_hex(unsigned rgb) {
  return {static_cast<double>((rgb >> 16U) & 0xFFU) / 255.0,
          static_cast<double>((rgb >> 8U) & 0xFFU) / 255.0,
          static_cast<double>(rgb & 0xFFU) / 255.0};
}

constexpr std::array<Color, blues_anchor_count> blues_anchors{
    from_hex(0xf7fbff), from_hex(0xdeebf7), from_hex(0xc6dbef),
    from_hex(0x9ecae1), from_hex(0x6baed6), from_hex(0x4292c6),
    from_hex(0x2171b5), from_hex(0x08519c), from_hex(0x08306b)};

// sRGB channel to linear light, then relative luminance (WCAG 2.x definitions).
double linear(double channel) {
  return channel <= 0.04045 ? channel / 12.92 : std::pow((channel + 0.055) / 1.055, 2.4);
}

double luminance(Color color) {
  return 0.2126 * linear(color.red) + 0.7152 * linear(color.green) + 0.0722 * linear(color.blue);
}

double contrast(double luminance_a, double luminance_b) {
  const double light = std::max(luminance_a, luminance_b);
  const double dark = std::min(luminance_a, luminance_b);
  return (light + 0.05) / (dark + 0.05);
}

}  // namespace

Color blues_anchor(int index) {
  return blues_anchors[static_cast<std::size_t>(std::clamp(index, 0, blues_anchor_count - 1))];
}

Color blues(double share) {
  const double t = std::isnan(share) ? 0.0 : std::clamp(share, 0.0, 1.0);
  const double position = t * (blues_anchor_count - 1);
  const int lower = std::min(static_cast<int>(position), blues_anchor_count - 2);
  const double fraction = position - lower;
  const Color a = blues_anchor(lower);
  const Color b = blues_anchor(lower + 1);
  return {a.red + (b.red - a.red) * fraction, a.green + (b.green - a.green) * fraction,
          a.blue + (b.blue - a.blue) * fraction};
}

Color readable_text_on(Color background) {
  const double back = luminance(background);
  const double white_contrast = contrast(back, luminance(palette::white));
  const double ink_contrast = contrast(back, luminance(palette::ink));
  return white_contrast > ink_contrast ? palette::white : palette::ink;
}

}  // namespace cnnkit::report
