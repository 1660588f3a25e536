// Dropout<T> (inverted dropout):
//   forward:  y = m * x, m = 1 / (1 - p) where the element's word of the keyed generator is below
//             (1 - p) * 2^32 (probability 1 - p), else 0; the testing phase copies x
//   backward: E_{n-1} = m * E_n
// Each sample's mask is a pure function of its key, so the samples split among threads in any way
// give the same masks.
#include "cnnkit/layers/dropout.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "check.hpp"
#include "cnnkit/keyed_random.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "Dropout";

// Below this many elements a team costs more than it saves.
constexpr std::size_t kParallelElements = std::size_t{1} << 16;

}  // namespace

template <typename T>
Dropout<T>::Dropout(double p) : p_(p) {
  detail::require(std::isfinite(p) && p >= 0.0 && p < 1.0, kName, "a drop probability p in [0, 1)",
                  "p " + detail::format_number(p));
}

template <typename T>
std::size_t Dropout<T>::forward_flops(const Shape& input_shape) const {
  return element_count(input_shape);  // one multiply per element
}

template <typename T>
void Dropout<T>::run_forward(const Tensor<T>& input, T* output) {
  detail::require(input.rank() >= 2, kName, "input of rank 2 or more (batch first)", input.shape());
  const T* x = input.data();
  if (this->testing_phase()) {
    input_shape_.reset();
    if (output != x) std::copy_n(x, input.size(), output);
    return;
  }
  mask_.resize(input.size());
  const std::size_t batch = input.dim(0);
  const std::size_t sample_size = batch == 0 ? 0 : input.size() / batch;
  const std::uint64_t threshold = KeyedRandom::bernoulli_threshold(1.0 - p_);
  const T scale = static_cast<T>(1.0 / (1.0 - p_));
  const StepContext context = context_;
  T* mask = mask_.data();
  runtime::parallel_for_static(batch, input.size() >= kParallelElements, [&](std::size_t n) {
    KeyedRandom random({context.seed, context.step, context.first_sample + n, context.stream});
    const std::size_t begin = n * sample_size;
    for (std::size_t i = begin; i < begin + sample_size; ++i) {
      const T m = random.next_u32() < threshold ? scale : T(0);
      mask[i] = m;
      output[i] = m * x[i];
    }
  });
  input_shape_ = input.shape();
}

template <typename T>
Tensor<T> Dropout<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = this->new_output(input.shape());  // written in full
  run_forward(input, output.data());
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> Dropout<T>::forward_handed_over(Tensor<T>&& input) {
  run_forward(input, input.data());  // handed over: computed in place
  return std::move(input);
}

template <typename T>
void Dropout<T>::run_backward(const Tensor<T>& error_tensor, T* input_error) const {
  // The callers checked the calls' order: a training-phase forward() set input_shape_.
  detail::require_shape(error_tensor.shape(), *input_shape_, kName, "error_tensor");
  const T* error = error_tensor.data();
  const T* mask = mask_.data();
  for (std::size_t i = 0; i < error_tensor.size(); ++i) input_error[i] = mask[i] * error[i];
}

template <typename T>
Tensor<T> Dropout<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  Tensor<T> input_error = this->new_input_error(error_tensor.shape());  // written in full
  run_backward(error_tensor, input_error.data());
  this->note_backward();
  return input_error;
}

template <typename T>
Tensor<T> Dropout<T>::backward_handed_over(Tensor<T>&& error_tensor) {
  run_backward(error_tensor, error_tensor.data());  // handed over: computed in place
  return std::move(error_tensor);
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace cnnkit
