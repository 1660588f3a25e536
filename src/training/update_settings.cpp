// The update-phase settings of a description, checked (update_settings.hpp).
#include "training/update_settings.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "check.hpp"

namespace cnnkit::detail {

void validate_update_settings(const ModelDescription& description, std::string_view source) {
  const std::string prefix = std::string(source) + ": ";
  try {
    // The comparisons are false for NaN, so NaN is rejected too.
    const double weight_decay = description.optimizer.weight_decay;
    require(weight_decay >= 0 && std::isfinite(weight_decay), "optimizer weight_decay",
            "a finite value >= 0", format_number(weight_decay));
    validate_schedule(description.schedule);
    const double clip_norm = description.clip_norm;
    require(clip_norm >= 0 && std::isfinite(clip_norm), "clip_norm",
            "a finite value > 0 (or 0: no clipping)", format_number(clip_norm));
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(prefix + error.what());
  }
}

}  // namespace cnnkit::detail
