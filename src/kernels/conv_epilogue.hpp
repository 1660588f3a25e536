// What the forward convolution kernels do to their outputs as they store them: nothing, or the
// ReLU of a Conv with a fused ReLU (Conv::set_fused_relu), y = max(0, y), which in the training
// phase also records where y passes (1 where y > 0) for backward. Applied to a sample's (or a
// split item's) outputs right after its blocks stored them, while they are still in the cache,
// instead of a pass of its own over the whole activation. The loops are ReLU's
// (kernels/relu_loops.hpp), so the values are the pair Conv -> ReLU's to the bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/relu_loops.hpp"

namespace cnnkit::kernels {

struct ConvEpilogue {
  bool relu = false;
  // Laid out as the output (N, K, Y', X'): where the ReLU passes, or null (nothing recorded).
  std::uint8_t* passes = nullptr;
};

// The epilogue over the outputs [begin, end) (flat indices into the whole output), in place.
// `Isa` as in relu_loops.hpp.
template <typename T, typename Isa = void>
inline void apply_epilogue(const ConvEpilogue& epilogue, T* output, std::size_t begin,
                           std::size_t end) {
  if (!epilogue.relu) return;
  if (epilogue.passes != nullptr) {
    return rectify_chunk<T, Isa>(output, output, epilogue.passes, begin, end);
  }
  rectify_chunk<T, Isa>(output, output, begin, end);
}

}  // namespace cnnkit::kernels
