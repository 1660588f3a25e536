// The checks of a description's update-phase settings (weight decay, schedule, clip_norm), run by
// validate_description with the other checks.
#pragma once

#include <string_view>

#include "cnnkit/model/model_description.hpp"

namespace cnnkit::detail {

// Throws std::invalid_argument "<source>: <key>: expected ..., got ..." for a negative or
// non-finite weight_decay, a schedule that makes no sense (validate_schedule), or a clip_norm that
// is negative or not finite (0 turns clipping off).
void validate_update_settings(const ModelDescription& description, std::string_view source);

}  // namespace cnnkit::detail
