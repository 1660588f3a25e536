// Model::predict: one sample without a batch axis, the same values as a batch of one through
// Model::forward, in the testing phase.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "cnnkit/model/model.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {
namespace {

Tensor<float> digit_like_sample() {
  Tensor<float> sample({1, 8, 8});
  for (std::size_t i = 0; i < sample.size(); ++i)
    sample[i] = 0.5f + 0.5f * std::sin(0.9f * float(i));
  return sample;
}

TEST(ModelPredict, OneSampleGivesTheRowOfABatchOfOne) {
  set_seed(4);
  Model<float> model = build_model<float>(preset("digits-cnn"));
  const Tensor<float> sample = digit_like_sample();
  const Tensor<float> probabilities = model.predict(sample);
  ASSERT_EQ(probabilities.shape(), (Shape{10}));
  const Tensor<float> batch = model.forward(sample.reshaped({1, 1, 8, 8}));
  ASSERT_EQ(batch.shape(), (Shape{1, 10}));
  float sum = 0.0f;
  for (std::size_t c = 0; c < 10; ++c) {
    EXPECT_EQ(probabilities[c], batch[c]) << "class " << c;
    sum += probabilities[c];
  }
  EXPECT_NEAR(sum, 1.0f, 1e-6f);
}

TEST(ModelPredict, RefusesASampleOfAnotherShapeNamingBoth) {
  set_seed(4);
  Model<float> model = build_model<float>(preset("digits-cnn"));
  try {
    model.predict(Tensor<float>({1, 1, 8, 8}));  // a batch, not a sample
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("expected one sample of shape [1, 8, 8]"), std::string::npos) << message;
    EXPECT_NE(message.find("got [1, 1, 8, 8]"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace cnnkit
