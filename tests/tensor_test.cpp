#include <gtest/gtest.h>

#include "cnnkit/tensor.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

TEST(Tensor, ShapeConstructorZeroFills) {
  const Tensor<float> t({2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.size(), 6u);
  for (const float v : t) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, FillConstructor) {
  const Tensor<double> t({4}, 2.5);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t[3], 2.5);
}

TEST(Tensor, MultiIndexIsRowMajor) {
  Tensor<float> t({2, 3, 4});
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(i);
  EXPECT_EQ(t(0, 0, 0), 0.0f);
  EXPECT_EQ(t(0, 1, 0), 4.0f);
  EXPECT_EQ(t(1, 0, 0), 12.0f);
  EXPECT_EQ(t(1, 2, 3), 23.0f);
  t(1, 1, 1) = -1.0f;
  EXPECT_EQ(t[12 + 4 + 1], -1.0f);
}

TEST(Tensor, MultiIndexChecksRankAndBounds) {
  Tensor<float> t({2, 3});
  EXPECT_THROW(t(0), std::out_of_range);
  EXPECT_THROW(t(2, 0), std::out_of_range);
  EXPECT_THROW(t(0, 3), std::out_of_range);
}

TEST(Tensor, ValuesOfWrongLengthThrow) {
  EXPECT_THROW(Tensor<float>({2, 2}, std::vector<float>{1, 2, 3}), std::invalid_argument);
  testing::expect_throw_with<std::invalid_argument>(
      [] {
        Tensor<float>({2, 2}, std::vector<float>{1, 2, 3});
      },
      {"Tensor: expected 4 values for shape [2, 2], got 3"});
  EXPECT_EQ(Tensor<double>({2, 2}, std::vector<double>{1, 2, 3, 4})(1, 0), 3.0);
}

TEST(Tensor, FromStorageTakesOverTheBufferAndChecksItsLength) {
  Tensor<float>::Storage values{1, 2, 3, 4, 5, 6};
  const float* buffer = values.data();
  const Tensor<float> t = Tensor<float>::from_storage({2, 3}, std::move(values));
  EXPECT_EQ(t.data(), buffer);  // no copy
  EXPECT_EQ(t(1, 0), 4.0F);
  testing::expect_throw_with<std::invalid_argument>(
      [] {
        (void)Tensor<float>::from_storage({2, 2}, Tensor<float>::Storage(3));
      },
      {"Tensor: expected 4 values for shape [2, 2], got 3"});
}

TEST(Tensor, UninitializedHasTheShape) {
  const Tensor<double> t = Tensor<double>::uninitialized({3, 4});
  EXPECT_EQ(t.shape(), (Shape{3, 4}));
  EXPECT_EQ(t.size(), 12u);
}

TEST(Tensor, ReshapeKeepsValuesAndRejectsNewCount) {
  const Tensor<float> t({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  const Tensor<float> r = t.reshaped({3, 2});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(r(2, 1), 6.0f);
  EXPECT_EQ(r(1, 0), 3.0f);
  EXPECT_THROW(t.reshaped({4, 2}), std::invalid_argument);
  testing::expect_throw_with<std::invalid_argument>(
      [&] {
        t.reshaped({4, 2});
      },
      {"Tensor::reshaped", "6 elements", "[2, 3]", "got [4, 2]"});
  // The rvalue overload moves the values and checks the same way.
  Tensor<float> moved = t;
  EXPECT_EQ(std::move(moved).reshaped({6}).values(), t.values());
  EXPECT_THROW(Tensor<float>({2, 3}).reshaped({5}), std::invalid_argument);
}

// 2^32 x 2^32 elements wrap to 0 in std::size_t: such a tensor would hold no values while its
// shape claims 2^64, and the first layer to index it (SoftMax) would read past its buffer.
TEST(Tensor, AShapeWhoseElementCountOverflowsIsRefusedWithTheShape) {
  const Shape wrapping{std::size_t{1} << 32, std::size_t{1} << 32};
  const std::initializer_list<std::string> parts{"Shape: expected extents whose product fits",
                                                 "got [4294967296, 4294967296]"};
  testing::expect_throw_with<std::overflow_error>([&] { Tensor<float>{wrapping}; }, parts);
  testing::expect_throw_with<std::overflow_error>([&] { Tensor<float>(wrapping, 1.0f); }, parts);
  testing::expect_throw_with<std::overflow_error>(
      [&] { (void)Tensor<double>::uninitialized(wrapping); }, parts);
  testing::expect_throw_with<std::overflow_error>(
      [&] { (void)Tensor<float>::uninitialized(wrapping, Tensor<float>({4})); }, parts);
  testing::expect_throw_with<std::overflow_error>(
      [&] { (void)Tensor<float>({0}).reshaped(wrapping); }, parts);
  // 2^62 floats fit in std::size_t as a count but not as bytes.
  testing::expect_throw_with<std::overflow_error>(
      [&] { Tensor<float>{Shape{std::size_t{1} << 62}}; },
      {"Tensor: expected at most ", "elements of 4 bytes, got shape [4611686018427387904]"});
}

TEST(Tensor, DefaultIsEmpty) {
  const Tensor<float> t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.empty());
}

TEST(Shape, PrintsAsList) {
  EXPECT_EQ(to_string(Shape{2, 3, 5}), "[2, 3, 5]");
}

TEST(Tensor, AMovedFromTensorIsTheDefaultTensor) {
  Tensor<float> source(Shape{3, 4}, 2.0f);
  Tensor<float> moved(std::move(source));
  EXPECT_EQ(moved.shape(), (Shape{3, 4}));
  EXPECT_EQ(moved.size(), 12u);
  // NOLINTBEGIN(bugprone-use-after-move): the state after a move is the contract under test
  EXPECT_EQ(source, Tensor<float>());
  EXPECT_EQ(source.shape(), (Shape{0}));
  Tensor<float> target(Shape{2}, 1.0f);
  target = std::move(moved);
  EXPECT_EQ(target.shape(), (Shape{3, 4}));
  EXPECT_EQ(target[11], 2.0f);
  EXPECT_EQ(moved, Tensor<float>());
  // NOLINTEND(bugprone-use-after-move)
}

}  // namespace
}  // namespace cnnkit
