// The training step of training_step.hpp.
#include "cnnkit/training_step.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace cnnkit {

template <typename T>
T forward_and_loss(Graph<T>& graph, Loss<T>& loss, Tensor<T>&& input, const Tensor<T>& label,
                   std::string_view caller, const std::function<void(const Tensor<T>&)>& inspect) {
  return loss_of_prediction(loss, graph.forward(std::move(input)), label, caller, inspect);
}

template <typename T>
T loss_of_prediction(Loss<T>& loss, Tensor<T>&& prediction, const Tensor<T>& label,
                     std::string_view caller,
                     const std::function<void(const Tensor<T>&)>& inspect) {
  if (inspect) inspect(prediction);
  try {
    return loss.forward(std::move(prediction), label);  // handed over: kept without a copy
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string(caller) + ": loss (" + loss.type() +
                                ") rejected the prediction and label: " + error.what());
  }
}

template <typename T>
Tensor<T> backward_and_update(Graph<T>& graph, Loss<T>& loss, const Tensor<T>& label) {
  Tensor<T> spent_input = graph.backward(loss.backward(label));
  graph.update();
  return spent_input;
}

template float forward_and_loss<float>(Graph<float>&, Loss<float>&, Tensor<float>&&,
                                       const Tensor<float>&, std::string_view,
                                       const std::function<void(const Tensor<float>&)>&);
template double forward_and_loss<double>(Graph<double>&, Loss<double>&, Tensor<double>&&,
                                         const Tensor<double>&, std::string_view,
                                         const std::function<void(const Tensor<double>&)>&);
template float loss_of_prediction<float>(Loss<float>&, Tensor<float>&&, const Tensor<float>&,
                                         std::string_view,
                                         const std::function<void(const Tensor<float>&)>&);
template double loss_of_prediction<double>(Loss<double>&, Tensor<double>&&, const Tensor<double>&,
                                           std::string_view,
                                           const std::function<void(const Tensor<double>&)>&);
template Tensor<float> backward_and_update<float>(Graph<float>&, Loss<float>&,
                                                  const Tensor<float>&);
template Tensor<double> backward_and_update<double>(Graph<double>&, Loss<double>&,
                                                    const Tensor<double>&);

}  // namespace cnnkit
