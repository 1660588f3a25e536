#include "cnnkit/layers/add.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "kernels/chunks.hpp"
#include "kernels/elementwise.hpp"

namespace cnnkit {

namespace {

// Below this many elements the loops run on one thread: starting the team costs more.
constexpr std::size_t kParallelElements = std::size_t{1} << 16;

// Elements per block of the loops below: a block of each tensor stays in the L1 cache (16 KB of
// float) between the passes over it.
constexpr std::size_t kBlock = 4096;

// The fused ReLU's loops (as ReLU's, kernels/elementwise.cpp): `passes` is restrict, else a
// byte store may alias y and the loop stays scalar; both values are read before the choice, a
// select rather than a branch.
template <typename T>
void add_and_rectify(const T* x0, const T* x1, T* y, std::uint8_t* __restrict passes,
                     std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const T value = x0[i] + x1[i];
    const bool positive = value > T(0);
    y[i] = positive ? value : T(0);
    passes[i] = static_cast<std::uint8_t>(positive);
  }
}

template <typename T>
void pass_errors(const std::uint8_t* __restrict passes, const T* error, T* to, std::size_t begin,
                 std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const T e = error[i];
    to[i] = passes[i] != 0 ? e : T(0);
  }
}

}  // namespace

template <typename T>
Shape Add<T>::output_shape(std::span<const Shape> input_shapes) const {
  detail::require(!input_shapes.empty(), "Add", "at least one input", "none");
  for (std::size_t k = 1; k < input_shapes.size(); ++k) {
    if (input_shapes[k] != input_shapes[0]) {
      detail::fail("Add", "inputs of one shape (input 0 is " + to_string(input_shapes[0]) + ")",
                   to_string(input_shapes[k]) + " for input " + std::to_string(k));
    }
  }
  return input_shapes[0];
}

template <typename T>
void Add<T>::merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) {
  // Summed in input order, left to right, each element by one thread: the same bits on every run
  // and thread count. One pass over the output: the first two inputs, then each further one.
  T* const y = output.data();
  const T* const x0 = inputs[0]->data();
  const T* const x1 = inputs.size() > 1 ? inputs[1]->data() : nullptr;
  const std::size_t n = output.size();
  // The fused ReLU's mask is kept for backward in the training phase only.
  masked_ = fused_relu_ && !this->testing_phase();
  if (masked_) passes_.resize(n);  // grows once; a steady batch shape reuses it
  std::uint8_t* const passes = masked_ ? passes_.data() : nullptr;
  // Each chunk in blocks that stay in the L1 cache from the sums to the fused ReLU.
  const auto sum_block = [&](std::size_t begin, std::size_t end) {
    if (passes != nullptr && inputs.size() == 2) {
      add_and_rectify(x0, x1, y, passes, begin, end);  // one loop: the residual block's case
      return;
    }
    if (x1 == nullptr) {
      std::copy(x0 + begin, x0 + end, y + begin);
    } else {
      for (std::size_t i = begin; i < end; ++i) y[i] = x0[i] + x1[i];
    }
    for (std::size_t k = 2; k < inputs.size(); ++k) {
      const T* const x = inputs[k]->data();
      for (std::size_t i = begin; i < end; ++i) y[i] += x[i];
    }
    if (passes != nullptr) {
      kernels::relu_forward_range(y, y, passes, begin, end);
    } else if (fused_relu_) {
      for (std::size_t i = begin; i < end; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
    }
  };
  kernels::for_chunks(n, n >= kParallelElements, [&](std::size_t begin, std::size_t end) {
    for (std::size_t block = begin; block < end; block += kBlock) {
      sum_block(block, std::min(block + kBlock, end));
    }
  });
}

template <typename T>
void Add<T>::split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) {
  const T* const error = error_tensor.data();
  const std::size_t n = error_tensor.size();
  const std::uint8_t* const passes = masked_ ? passes_.data() : nullptr;
  // With the fused ReLU's mask: the first input's error, then copies of it while the block is in
  // the L1 cache.
  const auto split_block = [&](std::size_t begin, std::size_t end) {
    for (std::size_t k = 0; k < input_errors.size(); ++k) {
      T* const to = input_errors[k].data();
      if (passes == nullptr) {
        std::copy(error + begin, error + end, to + begin);
      } else if (k == 0) {
        pass_errors(passes, error, to, begin, end);
      } else {
        std::copy(input_errors[0].data() + begin, input_errors[0].data() + end, to + begin);
      }
    }
  };
  kernels::for_chunks(n, n >= kParallelElements, [&](std::size_t begin, std::size_t end) {
    for (std::size_t block = begin; block < end; block += kBlock) {
      split_block(block, std::min(block + kBlock, end));
    }
  });
}

template class Add<float>;
template class Add<double>;

}  // namespace cnnkit
