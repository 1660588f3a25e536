// Dataset::reshape_samples: flat rows (a CSV) become the model's input shape, e.g. [channels,
// length] for a 1-D convolution, with the values in the same order.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "cnnkit/data/dataset.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

Dataset<float> three_rows_of_six() {
  Dataset<float> data;
  data.inputs = Tensor<float>({3, 6});
  for (std::size_t i = 0; i < data.inputs.size(); ++i) data.inputs[i] = float(i);
  data.labels = {0, 1, 0};
  data.class_names = {"a", "b"};
  return data;
}

TEST(ReshapeSamples, KeepsTheValuesInOrder) {
  Dataset<float> data = three_rows_of_six();
  data.reshape_samples({2, 3}, "csv:x.csv");
  EXPECT_EQ(data.sample_shape(), (Shape{2, 3}));
  ASSERT_EQ(data.inputs.shape(), (Shape{3, 2, 3}));
  // Sample 1, channel 1, position 2 is the row's value 1 * 6 + 1 * 3 + 2.
  EXPECT_EQ(data.inputs(1, 1, 2), 11.0f);
  EXPECT_EQ(data.inputs(2, 0, 0), 12.0f);
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{0, 1, 0}));
}

TEST(ReshapeSamples, OtherElementCountNamesBothShapes) {
  Dataset<float> data = three_rows_of_six();
  testing::expect_throw_with<std::invalid_argument>(
      [&] {
        data.reshape_samples({4, 2}, "csv:x.csv");
      },
      {"csv:x.csv", "6 values", "[6]", "[4, 2]", "8 values"});
  EXPECT_EQ(data.sample_shape(), (Shape{6})) << "unchanged after the error";
}

}  // namespace
}  // namespace cnnkit
