// A network's first layer skips the error for its input (nothing reads it): the kernels take a
// null input_error, Conv and FullyConnected honour Layer::set_input_error_needed(false), and the
// weight and bias gradients, so the whole training, stay the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "cnnkit/cnnkit.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using kernels::ConvGeometry;
using testing::expect_bitwise_equal;

template <typename T>
std::vector<T> random_values(std::size_t n, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<T> values(n);
  for (T& v : values) v = static_cast<T>(uniform(engine));
  return values;
}

// Weight and bias gradients with and without the input error, through the dispatching entry
// point (SIMD kernels for float where the CPU has them, im2col + BLAS for double) and through the
// reference.
template <typename T>
void expect_same_gradients_without_input_error(const ConvGeometry& g) {
  const auto input = random_values<T>(g.input_size(), 1);
  const auto weights = random_values<T>(g.weights_size(), 2);
  const auto error = random_values<T>(g.output_size(), 3);
  std::vector<T> dx(g.input_size()), dw(g.weights_size()), db(g.kernels);
  std::vector<T> dw_skip(g.weights_size(), T(-7)), db_skip(g.kernels, T(-7));
  std::vector<T> workspace;
  kernels::conv2d_backward(g, input.data(), weights.data(), error.data(), dx.data(), dw.data(),
                           db.data(), workspace);
  kernels::conv2d_backward<T>(g, input.data(), weights.data(), error.data(), nullptr,
                              dw_skip.data(), db_skip.data(), workspace);
  EXPECT_EQ(dw_skip, dw);
  EXPECT_EQ(db_skip, db);
  kernels::conv2d_backward_reference(g, input.data(), weights.data(), error.data(), dx.data(),
                                     dw.data(), db.data());
  kernels::conv2d_backward_reference<T>(g, input.data(), weights.data(), error.data(), nullptr,
                                        dw_skip.data(), db_skip.data());
  EXPECT_EQ(dw_skip, dw);
  EXPECT_EQ(db_skip, db);
}

TEST(InputErrorSkip, KernelsGiveTheSameGradientsWithoutTheInputError) {
  // {N, C, Y, X, K, m, n, sy, sx}: W1's first layer, a strided one, a 1-D one.
  for (const ConvGeometry& g :
       {ConvGeometry{4, 1, 28, 28, 6, 5, 5, 1, 1}, ConvGeometry{3, 8, 9, 10, 16, 3, 3, 2, 2},
        ConvGeometry{2, 3, 11, 1, 4, 3, 1, 1, 1}}) {
    SCOPED_TRACE(g.channels);
    expect_same_gradients_without_input_error<float>(g);
    expect_same_gradients_without_input_error<double>(g);
  }
}

// The layer computes the same gradients and updates, and returns a tensor of the input's shape.
TEST(InputErrorSkip, ConvAndFullyConnectedSkipOnlyTheInputError) {
  const std::vector<std::pair<std::function<std::unique_ptr<Layer<float>>()>, Shape>> cases{
      {[] {
         return std::make_unique<Conv<float>>(Shape{1, 1}, Shape{1, 5, 5}, 6);
       },
       Shape{4, 1, 12, 12}},
      {[] { return std::make_unique<FullyConnected<float>>(20, 7); }, Shape{5, 20}},
  };
  for (const auto& [make, input_shape] : cases) {
    set_seed(3);
    const std::unique_ptr<Layer<float>> full = make();
    set_seed(3);
    const std::unique_ptr<Layer<float>> skipping = make();
    SCOPED_TRACE(full->type());
    EXPECT_TRUE(skipping->input_error_needed());  // the default
    skipping->set_input_error_needed(false);
    full->set_optimizer(Adam<float>(0.01f, 0.9f, 0.999f, 1e-8f));
    skipping->set_optimizer(Adam<float>(0.01f, 0.9f, 0.999f, 1e-8f));
    for (unsigned step = 0; step < 3; ++step) {
      Tensor<float> input = Tensor<float>::from_storage(input_shape, [&] {
        const auto v = random_values<float>(element_count(input_shape), 10 + step);
        return Tensor<float>::Storage(v.begin(), v.end());
      }());
      const Shape out_shape = full->output_shape(input_shape);
      const auto e = random_values<float>(element_count(out_shape), 20 + step);
      const Tensor<float> error = Tensor<float>(out_shape, std::vector<float>(e.begin(), e.end()));
      expect_bitwise_equal(skipping->forward(input), full->forward(input));
      (void)full->backward(error);
      const Tensor<float> returned = skipping->backward(error);
      EXPECT_EQ(returned.shape(), input_shape);
      const auto full_parameters = full->parameters();
      const auto skipping_parameters = skipping->parameters();
      for (std::size_t p = 0; p < full_parameters.size(); ++p) {
        expect_bitwise_equal(skipping_parameters[p]->gradient, full_parameters[p]->gradient);
        expect_bitwise_equal(skipping_parameters[p]->value, full_parameters[p]->value);
      }
    }
  }
}

TEST(InputErrorSkip, NetworksAndModelsSkipItForTheFirstLayerOnly) {
  NeuralNetwork<float> net(Sgd<float>(0.1f), He<float>(), Constant<float>(0.0f));
  net.append_layer(std::make_unique<Conv<float>>(Shape{1, 1}, Shape{1, 3, 3}, 2));
  net.append_layer(std::make_unique<Flatten<float>>());
  net.append_layer(std::make_unique<FullyConnected<float>>(2 * 4 * 4, 3));
  EXPECT_FALSE(net.layers()[0]->input_error_needed());
  EXPECT_TRUE(net.layers()[1]->input_error_needed());
  EXPECT_TRUE(net.layers()[2]->input_error_needed());

  const Model<float> model = build_model<float>(preset("fashion-lenet"));
  EXPECT_FALSE(model.graph.layers().front()->input_error_needed());
  for (std::size_t i = 1; i < model.graph.layers().size(); ++i) {
    EXPECT_TRUE(model.graph.layers()[i]->input_error_needed()) << "layer " << i;
  }
}

// gradient_check checks the input's gradient too: it makes the first layer compute it for its
// pass and then leaves the setting as it was.
TEST(InputErrorSkip, GradientCheckStillChecksTheInputGradient) {
  set_seed(5);
  Conv<double> conv(Shape{1, 1}, Shape{2, 3, 3}, 3);
  conv.set_input_error_needed(false);
  Flatten<double> flatten;
  L2Loss<double> loss;
  Tensor<double> input({2, 2, 5, 5});
  std::mt19937 engine(9);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (double& v : input) v = uniform(engine);
  Tensor<double> label({2, 3 * 5 * 5});
  for (double& v : label) v = uniform(engine);
  const GradientCheckResult result = gradient_check<double>({&conv, &flatten}, loss, input, label);
  ASSERT_FALSE(result.entries.empty());
  EXPECT_EQ(result.entries.front().what, "input");
  EXPECT_LT(result.worst(), 1e-6);
  EXPECT_FALSE(conv.input_error_needed());
}

}  // namespace
}  // namespace cnnkit
