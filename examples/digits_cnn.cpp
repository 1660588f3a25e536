// Workload W2: a small CNN learns the 8x8 UCI hand-written digits.
//
//   digits_cnn [path/to/digits.csv.gz]
//
// Conv 4 kernels 1x3x3 (same) -> ReLU -> MaxPool 2x2/2 -> Flatten (64) -> FullyConnected 64->32
// -> ReLU -> FullyConnected 32->10 -> SoftMax, cross-entropy loss; He weights, Constant(0.1)
// biases; Adam(5e-3, mu 0.98, rho 0.999); 200 iterations of batches of 200 training images.
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "cnnkit/cnnkit.hpp"
#include "cnnkit/data/builtin.hpp"

using namespace cnnkit;

namespace {

// Share of images whose most probable class is their label.
double accuracy(const Tensor<float>& prediction, const std::vector<std::size_t>& labels) {
  std::size_t correct = 0;
  for (std::size_t image = 0; image < labels.size(); ++image) {
    std::size_t best = 0;
    for (std::size_t digit = 1; digit < prediction.dim(1); ++digit) {
      if (prediction(image, digit) > prediction(image, best)) best = digit;
    }
    correct += best == labels[image] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

int run(const std::string& digits_file) {
  set_seed(1);  // same seed, same weights and batches: a repeatable run

  // 1797 images (1, 8, 8), pixels in [0, 1]; two thirds for training, the rest for testing.
  const Dataset<float> digits = load_digits<float>(digits_file);
  const auto [train, test] =
      shuffled_split(digits, kDigitsSplit.train_fraction, kDigitsSplit.split_seed);
  std::printf("digits: %zu training and %zu test images from %s\n", train.size(), test.size(),
              digits_file.c_str());

  // The network: every trainable layer is initialized and gets its own Adam copies here.
  NeuralNetwork<float> net(Adam<float>(5e-3f, 0.98f, 0.999f), He<float>(), Constant<float>(0.1f));
  net.append_layer(std::make_unique<Conv<float>>(Shape{1, 1}, Shape{1, 3, 3}, 4));  // 4x8x8
  net.append_layer(std::make_unique<ReLU<float>>());
  net.append_layer(std::make_unique<Pooling<float>>(Shape{2, 2}, Shape{2, 2}));  // 4x4x4
  net.append_layer(std::make_unique<Flatten<float>>());                          // 64
  net.append_layer(std::make_unique<FullyConnected<float>>(64, 32));
  net.append_layer(std::make_unique<ReLU<float>>());
  net.append_layer(std::make_unique<FullyConnected<float>>(32, 10));
  net.append_layer(std::make_unique<SoftMax<float>>());
  net.set_data_layer(std::make_unique<BatchIterator<float>>(train, 200));
  net.set_loss_layer(std::make_unique<CrossEntropyLoss<float>>());

  // Train: 10 rounds of 20 iterations, printing the loss of the round's last batch.
  const auto start = std::chrono::steady_clock::now();
  for (int round = 1; round <= 10; ++round) {
    net.train(20);
    std::printf("iteration %3d  loss %8.3f (summed over the batch of 200)\n", round * 20,
                static_cast<double>(net.loss().back()));
  }
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;

  // Test: the layers alone on the held-out images.
  const double test_accuracy = accuracy(net.test(test.inputs), test.labels);
  std::printf("test accuracy %.1f%% (%zu images)\n", 100.0 * test_accuracy, test.size());
  std::printf("wall time of 200 iterations: %.2f s on %zu threads\n", seconds.count(),
              num_threads());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string digits_file = argc > 1 ? argv[1] : CNNKIT_DIGITS_FILE;
  try {
    return run(digits_file);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "digits_cnn: %s\n", error.what());
    return 1;
  }
}
