// Adam's bias corrections 1 - mu^k and 1 - rho^k are computed in double for float too: with rho
// near 1 the float power keeps few correct digits of 1 - rho^k (rho = 0.99999 at k = 25: a
// relative error of 1.2e-4), which moves the step by about half as much relative.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <map>
#include <string>

#include "cnnkit/optimizers.hpp"

namespace cnnkit {
namespace {

TEST(AdamBiasCorrection, StepTwentyFiveWithRhoNearOneByHand) {
  const float mu = 0.9f, rho = 0.99999f, learning_rate = 1e-3f;
  Adam<float> adam(learning_rate, mu, rho, 1e-8f);
  // 24 updates done with zero gradients: zero moments, and the next update is k = 25.
  adam.set_state(
      {{"v", Tensor<float>({4})}, {"r", Tensor<float>({4})}, {"k", Tensor<float>({1}, 24.0f)}});
  const Tensor<float> gradient({4}, {0.5f, -0.25f, 2.0f, -1.0f});
  Tensor<float> weights({4});
  adam.update(weights, gradient);
  // v = (1 - mu) g, r = (1 - rho) g^2; v^ = v / (1 - mu^25), r^ = r / (1 - rho^25);
  // w = -eta v^ / (sqrt(r^) + eps), in double with float's mu and rho.
  const double k = 25, m = mu, p = rho;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double g = gradient[i];
    const double v_hat = (1 - m) * g / (1 - std::pow(m, k));
    const double r_hat = (1 - p) * g * g / (1 - std::pow(p, k));
    const double expected = -double(learning_rate) * v_hat / (std::sqrt(r_hat) + 1e-8);
    EXPECT_NEAR(weights[i], expected, 1e-5 * std::abs(expected)) << "weight " << i;
  }
  EXPECT_EQ(adam.step(), 25u);
}

}  // namespace
}  // namespace cnnkit
