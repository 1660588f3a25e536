// Pooling<T>: the lecture's max pooling ("Pooling layer"), without padding, 2-D or 1-D (a 1-D
// input is pooled as planes of length x 1):
//   forward:  out[i, j] = max over the window starting at (i*sy, j*sx) of size py x px; the
//             location of each maximum is stored ("we need to store the locations of the maxima")
//   backward: "winner takes it all": each error goes to its window's maximum, zero elsewhere,
//             "summed if the stride is smaller than the kernel size".
#include "cnnkit/layers/pooling.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "check.hpp"
#include "kernels/elementwise.hpp"
#include "layers/pooling_window.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "Pooling";

}  // namespace

template <typename T>
Pooling<T>::Pooling(Shape stride_shape, Shape pooling_shape)
    : stride_shape_(detail::checked_pooling_axes(std::move(stride_shape), kName, "stride_shape")),
      pooling_shape_(
          detail::checked_pooling_axes(std::move(pooling_shape), kName, "pooling_shape")) {}

template <typename T>
Shape Pooling<T>::output_shape(const Shape& input_shape) const {
  return detail::pooling_geometry(input_shape, stride_shape_, pooling_shape_, kName).output_shape;
}

template <typename T>
Tensor<T> Pooling<T>::forward(const Tensor<T>& input) {
  const detail::PoolingGeometry g =
      detail::pooling_geometry(input.shape(), stride_shape_, pooling_shape_, kName);
  const std::size_t in_plane = g.in_plane();
  const std::size_t out_plane = g.out_plane();

  Tensor<T> output = this->new_output(g.output_shape);  // every output is a window's maximum
  // The testing phase keeps no argmax: nothing reads it (backward() refuses), and the kernel
  // computes the maxima alone.
  const bool keep_argmax = !this->testing_phase();
  if (keep_argmax) argmax_.resize(output.size());
  // Planes are independent and each writes only its own outputs: same result on any thread count.
  runtime::parallel_for(
      g.planes, input.size() >= detail::kPoolingParallelThreshold, [&](std::size_t plane) {
        const T* in = input.data() + plane * in_plane;
        T* out = output.data() + plane * out_plane;
        std::uint32_t* arg = keep_argmax ? argmax_.data() + plane * out_plane : nullptr;
        // Row-major scan with a strict '>': on ties the first maximum wins.
        kernels::max_pool_plane(in, g.in_x, g.py, g.px, g.sy, g.sx, g.out_y, g.out_x, out, arg);
      });
  input_shape_ = keep_argmax ? input.shape() : Shape{};
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> Pooling<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() set input_shape_
  const detail::PoolingGeometry g =
      detail::pooling_geometry(input_shape_, stride_shape_, pooling_shape_, kName);
  detail::require_shape(error_tensor.shape(), g.output_shape, kName, "error_tensor");
  const std::size_t in_plane = g.in_plane();
  const std::size_t out_plane = g.out_plane();
  const std::size_t planes = g.planes;

  // Lecture: "winner takes it all". Each error goes to the position of its window's maximum;
  // where windows overlap one input may win several times and receives the sum.
  // Zeroed plane by plane inside the parallel loop rather than as a whole up front (serially).
  // A fill and a scatter also where windows do not overlap: writing each input error once, row
  // by row, reads every line for ownership first and measured slower (docs/PERFORMANCE.md, "Max
  // pooling").
  Tensor<T> input_error = this->new_input_error(input_shape_);
  runtime::parallel_for(planes, input_error.size() >= detail::kPoolingParallelThreshold,
                        [&](std::size_t p) {
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
