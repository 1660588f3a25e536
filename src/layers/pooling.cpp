// Pooling<T>: the lecture's max pooling ("Pooling layer"), 2-D and without padding:
//   forward:  out[i, j] = max over the window starting at (i*sy, j*sx) of size py x px; the
//             location of each maximum is stored ("we need to store the locations of the maxima")
//   backward: "winner takes it all": each error goes to its window's maximum, zero elsewhere,
//             "summed if the stride is smaller than the kernel size".
#include "cnnkit/layers/pooling.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "check.hpp"
#include "kernels/elementwise.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "Pooling";

// Below this many input elements the loop runs on one thread: starting the team costs more.
constexpr std::size_t kParallelThreshold = std::size_t{1} << 15;

// {s} means {s, s}; every value must be at least 1.
Shape two_axes(Shape shape, const char* what) {
  bool valid = shape.size() == 1 || shape.size() == 2;
  for (const std::size_t extent : shape) valid = valid && extent > 0;
  if (!valid) {
    detail::fail(kName, std::string(what) + " of 1 or 2 values, each above 0", to_string(shape));
  }
  if (shape.size() == 1) shape.push_back(shape[0]);
  return shape;
}

}  // namespace

template <typename T>
Pooling<T>::Pooling(Shape stride_shape, Shape pooling_shape)
    : stride_shape_(two_axes(std::move(stride_shape), "stride_shape")),
      pooling_shape_(two_axes(std::move(pooling_shape), "pooling_shape")) {}

template <typename T>
Shape Pooling<T>::output_shape(const Shape& input_shape) const {
  detail::require(input_shape.size() == 4, kName, "input of rank 4 (batch, channels, y, x)",
                  input_shape);
  const std::size_t in_y = input_shape[2];
  const std::size_t in_x = input_shape[3];
  if (in_y < pooling_shape_[0] || in_x < pooling_shape_[1]) {
    detail::fail(kName,
                 "input planes at least as large as the pooling shape " + to_string(pooling_shape_),
                 to_string(input_shape));
  }
  // argmax_ stores positions inside one input plane as 32-bit indices.
  detail::require(in_y * in_x <= std::numeric_limits<std::uint32_t>::max(), kName,
                  "input planes of at most 2^32 - 1 elements", input_shape);
  return {input_shape[0], input_shape[1], (in_y - pooling_shape_[0]) / stride_shape_[0] + 1,
          (in_x - pooling_shape_[1]) / stride_shape_[1] + 1};
}

template <typename T>
Tensor<T> Pooling<T>::forward(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  const std::size_t in_y = input.dim(2);
  const std::size_t in_x = input.dim(3);
  const std::size_t out_y = shape[2];
  const std::size_t out_x = shape[3];
  const std::size_t in_plane = in_y * in_x;
  const std::size_t out_plane = out_y * out_x;
  const std::size_t planes = shape[0] * shape[1];
  const std::size_t sy = stride_shape_[0];
  const std::size_t sx = stride_shape_[1];
  const std::size_t py = pooling_shape_[0];
  const std::size_t px = pooling_shape_[1];

  Tensor<T> output = this->new_output(shape);  // every output is a window's maximum
  argmax_.resize(output.size());
  // Planes are independent and each writes only its own outputs: same result on any thread count.
  runtime::parallel_for(planes, input.size() >= kParallelThreshold, [&](std::size_t plane) {
    const T* in = input.data() + plane * in_plane;
    T* out = output.data() + plane * out_plane;
    std::uint32_t* arg = argmax_.data() + plane * out_plane;
    // Row-major scan with a strict '>': on ties the first maximum wins.
    kernels::max_pool_plane(in, in_x, py, px, sy, sx, out_y, out_x, out, arg);
  });
  // The argmax indices are written either way; the testing phase only withholds the shape that
  // lets backward() use them.
  input_shape_ = this->testing_phase() ? Shape{} : input.shape();
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> Pooling<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() set input_shape_
  const Shape shape = output_shape(input_shape_);
  detail::require_shape(error_tensor.shape(), shape, kName, "error_tensor");
  const std::size_t in_plane = input_shape_[2] * input_shape_[3];
  const std::size_t out_plane = shape[2] * shape[3];
  const std::size_t planes = shape[0] * shape[1];

  // Lecture: "winner takes it all". Each error goes to the position of its window's maximum;
  // where windows overlap one input may win several times and receives the sum.
  // Zeroed plane by plane inside the parallel loop rather than as a whole up front (serially).
  Tensor<T> input_error = this->new_input_error(input_shape_);
  runtime::parallel_for(planes, input_error.size() >= kParallelThreshold, [&](std::size_t p) {
    T* in_error = input_error.data() + p * in_plane;
    std::fill(in_error, in_error + in_plane, T(0));
    const T* error = error_tensor.data() + p * out_plane;
    const std::uint32_t* arg = argmax_.data() + p * out_plane;
    for (std::size_t o = 0; o < out_plane; ++o) in_error[arg[o]] += error[o];
  });
  this->note_backward();
  return input_error;
}

template class Pooling<float>;
template class Pooling<double>;

}  // namespace cnnkit
