// The report's colours: a fixed palette for lines and marks, a sequential blue map for the
// confusion matrix, and the choice of a text colour that stays readable on any fill.
#pragma once

#include "report/primitives.hpp"

namespace cnnkit::report {

namespace palette {
inline constexpr Color ink{0.13, 0.13, 0.15};    // titles, numbers
inline constexpr Color muted{0.40, 0.40, 0.44};  // subtitles, axis labels
inline constexpr Color faint{0.72, 0.72, 0.75};  // zero counts
inline constexpr Color frame{0.55, 0.55, 0.58};  // plot frame, tick marks
inline constexpr Color grid{0.90, 0.90, 0.92};   // grid lines
inline constexpr Color plot_background{0.985, 0.985, 0.99};
inline constexpr Color train{0.12, 0.47, 0.71};         // blue
inline constexpr Color test{0.90, 0.42, 0.05};          // orange
inline constexpr Color correct{0.17, 0.60, 0.23};       // green frame
inline constexpr Color correct_text{0.11, 0.45, 0.16};  // darker green, readable on white
inline constexpr Color mistake{0.84, 0.12, 0.12};       // red frame and caption
inline constexpr Color white{1.0, 1.0, 1.0};
}  // namespace palette

// Sequential white-to-dark-blue map (the ColorBrewer "Blues" anchors, linearly interpolated);
// share is clamped to [0, 1], NaN counts as 0.
Color blues(double share);
inline constexpr int blues_anchor_count = 9;
// Anchor k sits at share k / (blues_anchor_count - 1); a gradient through them equals blues().
Color blues_anchor(int index);

// White or ink, whichever contrasts more with background (WCAG contrast ratio).
Color readable_text_on(Color background);

}  // namespace cnnkit::report
