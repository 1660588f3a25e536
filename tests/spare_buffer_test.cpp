// SpareBuffer and Tensor::uninitialized(shape, recycled): how a layer's next result reuses a
// buffer it no longer needs.
#include "cnnkit/spare_buffer.hpp"

#include <gtest/gtest.h>

#include <utility>

#include "cnnkit/tensor.hpp"

namespace {

using cnnkit::Shape;
using cnnkit::Tensor;

TEST(SpareBuffer, TheNextTensorTakesTheGivenBufferWhenItIsLargeEnough) {
  cnnkit::SpareBuffer<float> spare;
  EXPECT_EQ(spare.size(), 0u);
  Tensor<float> spent(Shape{4, 6}, 1.5f);
  const float* buffer = spent.data();
  spare.give(std::move(spent));
  EXPECT_EQ(spare.size(), 24u);

  // Smaller and of another rank: the same buffer.
  Tensor<float> next = spare.take({2, 3, 3});
  EXPECT_EQ(next.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(next.size(), 18u);
  EXPECT_EQ(next.data(), buffer);
  EXPECT_EQ(spare.size(), 0u);  // taken

  // Nothing spare: a buffer of its own.
  Tensor<float> fresh = spare.take({3});
  EXPECT_EQ(fresh.shape(), (Shape{3}));
  EXPECT_NE(fresh.data(), buffer);
}

TEST(SpareBuffer, GrowsATooSmallBufferAndLeavesTheRecycledTensorEmpty) {
  Tensor<double> small(Shape{2}, 3.0);
  Tensor<double> grown = Tensor<double>::uninitialized({5, 5}, std::move(small));
  EXPECT_EQ(grown.shape(), (Shape{5, 5}));
  EXPECT_EQ(grown.size(), 25u);
  for (double& value : grown) value = 7.0;  // every element is writable
  EXPECT_EQ(grown(4, 4), 7.0);
  EXPECT_TRUE(small.empty());  // NOLINT(bugprone-use-after-move): the contract says so
  EXPECT_EQ(small.shape(), (Shape{0}));
}

}  // namespace
