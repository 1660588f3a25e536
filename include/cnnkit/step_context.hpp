// Which training step a forward pass belongs to: what a layer that draws random numbers (Dropout)
// keys them by (keyed_random.hpp), so that a sample's draws depend on the run's seed, the step and
// the sample's place in the global batch, never on the thread or process that computes it.
#pragma once

#include <cstdint>

namespace cnnkit {

struct StepContext {
  std::uint64_t seed = 0;  // the run's seed (cnnkit train --seed)
  std::uint64_t step = 0;  // training steps done before this one, counted over the whole run
  // The index in the global batch of the batch's first sample: 0 on one process; a process that
  // computes a slice of the global batch gives the slice's first index.
  std::uint64_t first_sample = 0;
  // Set by the engine for each layer (its node index): two layers never draw the same numbers.
  std::uint32_t stream = 0;
};

}  // namespace cnnkit
