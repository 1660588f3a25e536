// The networks of docs/WORKLOADS.md as cnnkit_bench builds them: W1's LeNet-5 and W2's
// digits CNN, with the initialisers and optimisers the workloads fix.
#pragma once

#include <memory>

#include "cnnkit/cnnkit.hpp"

namespace cnnkit::bench {

inline std::unique_ptr<cnnkit::NeuralNetwork<float>> lenet() {
  auto net = std::make_unique<cnnkit::NeuralNetwork<float>>(
      cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f), cnnkit::He<float>(),
      cnnkit::Constant<float>(0.1f));
  net->append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{1, 5, 5}, 6));
  net->append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net->append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2, 2}, Shape{2, 2}));
  net->append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{6, 5, 5}, 16));
  net->append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net->append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2, 2}, Shape{2, 2}));
  net->append_layer(std::make_unique<cnnkit::Flatten<float>>());
  net->append_layer(std::make_unique<cnnkit::FullyConnected<float>>(784, 120));
  net->append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net->append_layer(std::make_unique<cnnkit::FullyConnected<float>>(120, 84));
  net->append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net->append_layer(std::make_unique<cnnkit::FullyConnected<float>>(84, 10));
  net->append_layer(std::make_unique<cnnkit::SoftMax<float>>());
  net->set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
  return net;
}

inline std::unique_ptr<cnnkit::NeuralNetwork<float>> digits_cnn() {
  auto net = std::make_unique<cnnkit::NeuralNetwork<float>>(
      cnnkit::Adam<float>(5e-3f, 0.98f, 0.999f, 1e-8f), cnnkit::He<float>(),
      cnnkit::Constant<float>(0.1f));
  net->append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{1, 3, 3}, 4));
  net->append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net->append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2, 2}, Shape{2, 2}));
  net->append_layer(std::make_unique<cnnkit::Flatten<float>>());
  net->append_layer(std::make_unique<cnnkit::FullyConnected<float>>(64, 32));
  net->append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net->append_layer(std::make_unique<cnnkit::FullyConnected<float>>(32, 10));
  net->append_layer(std::make_unique<cnnkit::SoftMax<float>>());
  net->set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
  return net;
}

}  // namespace cnnkit::bench
