// AveragePooling<T> and GlobalAveragePooling<T>:
//   forward:  out[i, j] = 1/(py px) * sum over the window starting at (i*sy, j*sx) of size py x px
//             (global: the window is the whole plane)
//   backward: E_{n-1}[y, x] = 1/(py px) * sum of E_n over the windows that hold (y, x)
// Each plane is summed in row-major order by one thread: the same bits on any thread count.
#include "cnnkit/layers/average_pooling.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "check.hpp"
#include "layers/pooling_window.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "AveragePooling";
constexpr const char* kGlobalName = "GlobalAveragePooling";

}  // namespace

template <typename T>
AveragePooling<T>::AveragePooling(Shape stride_shape, Shape pooling_shape)
    : stride_shape_(detail::checked_pooling_axes(std::move(stride_shape), kName, "stride_shape")),
      pooling_shape_(
          detail::checked_pooling_axes(std::move(pooling_shape), kName, "pooling_shape")) {}

template <typename T>
Shape AveragePooling<T>::output_shape(const Shape& input_shape) const {
  return detail::pooling_geometry(input_shape, stride_shape_, pooling_shape_, kName).output_shape;
}

template <typename T>
std::size_t AveragePooling<T>::forward_flops(const Shape& input_shape) const {
  const detail::PoolingGeometry g =
      detail::pooling_geometry(input_shape, stride_shape_, pooling_shape_, kName);
  // An add per window element and a multiply per output.
  return g.planes * g.out_plane() * (g.py * g.px + 1);
}

template <typename T>
Tensor<T> AveragePooling<T>::forward(const Tensor<T>& input) {
  const detail::PoolingGeometry g =
      detail::pooling_geometry(input.shape(), stride_shape_, pooling_shape_, kName);
  const T scale = T(1) / static_cast<T>(g.py * g.px);
  Tensor<T> output = this->new_output(g.output_shape);  // every output is a window's mean
  runtime::parallel_for(g.planes, input.size() >= detail::kPoolingParallelThreshold,
                        [&](std::size_t plane) {
                          const T* in = input.data() + plane * g.in_plane();
                          T* out = output.data() + plane * g.out_plane();
                          for (std::size_t oy = 0; oy < g.out_y; ++oy) {
                            for (std::size_t ox = 0; ox < g.out_x; ++ox) {
                              T sum = 0;
                              for (std::size_t wy = 0; wy < g.py; ++wy) {
                                const T* row = in + (oy * g.sy + wy) * g.in_x + ox * g.sx;
                                for (std::size_t wx = 0; wx < g.px; ++wx) sum += row[wx];
                              }
                              out[oy * g.out_x + ox] = sum * scale;
                            }
                          }
                        });
  input_shape_ = this->testing_phase() ? Shape{} : input.shape();
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> AveragePooling<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() set input_shape_
  const detail::PoolingGeometry g =
      detail::pooling_geometry(input_shape_, stride_shape_, pooling_shape_, kName);
  detail::require_shape(error_tensor.shape(), g.output_shape, kName, "error_tensor");
  const T scale = T(1) / static_cast<T>(g.py * g.px);
  Tensor<T> input_error = this->new_input_error(input_shape_);
  runtime::parallel_for(
      g.planes, input_error.size() >= detail::kPoolingParallelThreshold, [&](std::size_t p) {
        T* in_error = input_error.data() + p * g.in_plane();
        std::fill(in_error, in_error + g.in_plane(), T(0));  // positions no window covers stay 0
        const T* error = error_tensor.data() + p * g.out_plane();
        for (std::size_t oy = 0; oy < g.out_y; ++oy) {
          for (std::size_t ox = 0; ox < g.out_x; ++ox) {
            const T share = error[oy * g.out_x + ox] * scale;
            for (std::size_t wy = 0; wy < g.py; ++wy) {
              T* row = in_error + (oy * g.sy + wy) * g.in_x + ox * g.sx;
              for (std::size_t wx = 0; wx < g.px; ++wx) row[wx] += share;
            }
          }
        }
      });
  this->note_backward();
  return input_error;
}

template <typename T>
Shape GlobalAveragePooling<T>::output_shape(const Shape& input_shape) const {
  detail::require(input_shape.size() >= 3, kGlobalName,
                  "input of rank 3 or more (batch, channels, spatial axes...)", input_shape);
  detail::require(element_count(input_shape) > 0, kGlobalName, "input with nonzero sizes",
                  input_shape);
  return {input_shape[0], input_shape[1]};
}

template <typename T>
std::size_t GlobalAveragePooling<T>::forward_flops(const Shape& input_shape) const {
  const Shape out = output_shape(input_shape);
  return element_count(input_shape) +
         element_count(out);  // an add per input, a multiply per output
}

template <typename T>
Tensor<T> GlobalAveragePooling<T>::forward(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  const std::size_t planes = shape[0] * shape[1];
  const std::size_t plane_size = input.size() / planes;
  const T scale = T(1) / static_cast<T>(plane_size);
  Tensor<T> output = this->new_output(shape);  // one mean per plane
  // kPlanesAtOnce planes side by side, each summed in its own order as it would be alone (the
  // same bits): independent chains rather than one add latency per element.
  constexpr std::size_t kPlanesAtOnce = 8;
  const std::size_t groups = (planes + kPlanesAtOnce - 1) / kPlanesAtOnce;
  runtime::parallel_for(groups, input.size() >= detail::kPoolingParallelThreshold,
                        [&](std::size_t group) {
                          const std::size_t first = group * kPlanesAtOnce;
                          const std::size_t count = std::min(kPlanesAtOnce, planes - first);
                          const T* in = input.data() + first * plane_size;
                          T sum[kPlanesAtOnce] = {};
                          if (count == kPlanesAtOnce) {
                            for (std::size_t i = 0; i < plane_size; ++i) {
                              for (std::size_t j = 0; j < kPlanesAtOnce; ++j) {
                                sum[j] += in[j * plane_size + i];
                              }
                            }
                          } else {
                            for (std::size_t j = 0; j < count; ++j) {
                              for (std::size_t i = 0; i < plane_size; ++i) {
                                sum[j] += in[j * plane_size + i];
                              }
                            }
                          }
                          for (std::size_t j = 0; j < count; ++j) {
                            output[first + j] = sum[j] * scale;
                          }
                        });
  input_shape_ = this->testing_phase() ? Shape{} : input.shape();
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> GlobalAveragePooling<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() set input_shape_
  const Shape shape = output_shape(input_shape_);
  detail::require_shape(error_tensor.shape(), shape, kGlobalName, "error_tensor");
  const std::size_t planes = shape[0] * shape[1];
  const std::size_t plane_size = element_count(input_shape_) / planes;
  const T scale = T(1) / static_cast<T>(plane_size);
  Tensor<T> input_error = this->new_input_error(input_shape_);
  runtime::parallel_for(planes, input_error.size() >= detail::kPoolingParallelThreshold,
                        [&](std::size_t p) {
                          T* in_error = input_error.data() + p * plane_size;
                          std::fill(in_error, in_error + plane_size, error_tensor[p] * scale);
                        });
  this->note_backward();
  return input_error;
}

template class AveragePooling<float>;
template class AveragePooling<double>;
template class GlobalAveragePooling<float>;
template class GlobalAveragePooling<double>;

}  // namespace cnnkit
