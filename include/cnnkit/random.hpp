// The library's one piece of global mutable state: the seeded random engine that every
// initializer and every shuffling data layer draws from, so one seed makes a run repeatable.
#pragma once

#include <cstdint>
#include <random>

namespace cnnkit {

using RandomEngine = std::mt19937_64;

// Re-seeds the default engine: the same seed gives the same weights and the same batches.
void set_seed(std::uint64_t seed);

// The default engine (seeded with 0 until set_seed is called).
RandomEngine& random_engine();

}  // namespace cnnkit
