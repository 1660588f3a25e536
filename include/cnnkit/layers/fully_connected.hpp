// FullyConnected: y = x W + b for a batch x of shape (batch, input_size).
// The lecture writes the bias as the last row of one (input_size + 1, output_size) matrix;
// weights() shows it that way, while the layer keeps the two parts as separate parameters so that
// each gets its own optimizer copy and initializer.
#pragma once

#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class FullyConnected : public Layer<T> {
 public:
  // Weights and bias start uniform in [0, 1) from the library's random engine.
  FullyConnected(std::size_t input_size, std::size_t output_size);

  std::string type() const override { return "FullyConnected"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;
  std::vector<Parameter<T>*> parameters() override { return {&weights_, &bias_}; }
  void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) override;

  std::size_t input_size() const { return input_size_; }
  std::size_t output_size() const { return output_size_; }

  // (input_size + 1, output_size): the weight rows, then the bias as the last row.
  Tensor<T> weights() const;
  void set_weights(const Tensor<T>& weights_with_bias_row);
  Tensor<T> gradient_weights() const;

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;

 private:
  // Throws std::invalid_argument if the parameters were given other shapes through parameters().
  void check_parameter_shapes() const;

  std::size_t input_size_;
  std::size_t output_size_;
  Parameter<T> weights_;                             // (input_size, output_size)
  Parameter<T> bias_;                                // (1, output_size)
  Tensor<T> compute_output(const Tensor<T>& input);  // forward() without keeping the input

  Tensor<T> input_;                    // forward's input, for the weight gradient x^T E
  std::vector<T> forward_workspace_;   // the kernels' scratch memory, kept between calls
  std::vector<T> backward_workspace_;  // (kernels/fully_connected.hpp)
};

extern template class FullyConnected<float>;
extern template class FullyConnected<double>;

}  // namespace cnnkit
