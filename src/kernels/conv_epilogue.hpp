// What the forward convolution kernels do to their outputs as they store them: nothing, or the
// ReLU of a Conv with a fused ReLU (Conv::set_fused_relu), y = max(0, y), which in the training
// phase also records where y passes (1 where y > 0) for backward. Applied to a sample's (or a
// split item's) outputs right after its blocks stored them, while they are still in the cache,
// instead of a pass of its own over the whole activation. The loops are ReLU's
// (kernels/elementwise.cpp), so the values are the pair Conv -> ReLU's to the bit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cnnkit::kernels {

struct ConvEpilogue {
  bool relu = false;
  // Laid out as the output (N, K, Y', X'): where the ReLU passes, or null (nothing recorded).
  std::uint8_t* passes = nullptr;
};

// The epilogue over the outputs [begin, end) (flat indices into the whole output).
// `passes` is restrict: a byte store may alias anything, and the loop would stay scalar.
// `Isa`: a type of the calling instruction set's own namespace (its Simd) for the SIMD kernels'
// calls, so that each set's compilation is an instantiation of its own: the linker keeps one of
// the copies of an inline function, which may be one compiled for instructions this CPU lacks.
template <typename T, typename Isa = void>
inline void rectify_outputs(T* output, std::uint8_t* __restrict passes, std::size_t begin,
                            std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const T value = output[i];
    const bool positive = value > T(0);
    output[i] = positive ? value : T(0);
    passes[i] = static_cast<std::uint8_t>(positive);
  }
}

template <typename T, typename Isa = void>
inline void apply_epilogue(const ConvEpilogue& epilogue, T* output, std::size_t begin,
                           std::size_t end) {
  if (!epilogue.relu) return;
  if (epilogue.passes != nullptr) {
    return rectify_outputs<T, Isa>(output, epilogue.passes, begin, end);
  }
  for (std::size_t i = begin; i < end; ++i) output[i] = output[i] > T(0) ? output[i] : T(0);
}

}  // namespace cnnkit::kernels
