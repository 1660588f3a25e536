// cnnkit train --augment and --normalize: the text of the options to the library's structs
// (augmentation.hpp, normalization.hpp). A malformed value is a UsageError naming the option.
#pragma once

#include <string>

#include "cnnkit/data/augmentation.hpp"
#include "cnnkit/data/normalization.hpp"

namespace cnnkit::cli {

// "crop=P" (pad P zeros on every side, crop back to the sample's size), "crop=P:HxW" (the same
// with the window's size spelled out), "flip" (probability 1/2) or "flip=Q", comma-separated:
// e.g. "crop=2,flip". The values' ranges are checked against the data (validate).
Augmentation parse_augmentation(const std::string& text);

// "MEAN,STD", each one number for every channel or one per channel separated by ':':
// e.g. "0.286,0.353" or "0.49:0.48:0.45,0.25:0.24:0.26".
Normalization parse_normalization(const std::string& text);

}  // namespace cnnkit::cli
