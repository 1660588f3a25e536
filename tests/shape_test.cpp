// Shape: the fixed-capacity sequence of axis extents every tensor carries.
#include "cnnkit/shape.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

using cnnkit::Shape;

TEST(Shape, BracesListTheExtentsAsAVectorWould) {
  const Shape scalar{};
  EXPECT_TRUE(scalar.empty());
  EXPECT_EQ(cnnkit::element_count(scalar), 1u);

  const Shape one{0};  // one axis of extent 0 (what a default tensor has), not zero axes
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], 0u);

  const Shape image{64, 1, 28, 28};
  ASSERT_EQ(image.size(), 4u);
  EXPECT_EQ(image.front(), 64u);
  EXPECT_EQ(image.back(), 28u);
  EXPECT_EQ(cnnkit::element_count(image), 64u * 28u * 28u);
  EXPECT_EQ(cnnkit::to_string(image), "[64, 1, 28, 28]");
}

TEST(Shape, ComparesAxesAndExtents) {
  EXPECT_EQ((Shape{2, 3}), (Shape{2, 3}));
  EXPECT_NE((Shape{2, 3}), (Shape{3, 2}));
  EXPECT_NE((Shape{2, 3}), (Shape{2, 3, 1}));  // same elements, another rank
  EXPECT_NE((Shape{}), (Shape{0}));
  // Extents past the rank are not compared (a popped axis leaves its old value behind).
  Shape popped{2, 3, 7};
  popped.pop_back();
  EXPECT_EQ(popped, (Shape{2, 3}));
}

TEST(Shape, InsertsAndAppendsLikeAVector) {
  Shape shape{5};
  const Shape sample{1, 28, 28};
  shape.insert(shape.end(), sample.begin(), sample.end());
  EXPECT_EQ(shape, (Shape{5, 1, 28, 28}));
  shape.insert(shape.begin() + 1, std::size_t{9});
  EXPECT_EQ(shape, (Shape{5, 9, 1, 28, 28}));
  shape.push_back(2);
  EXPECT_EQ(shape, (Shape{5, 9, 1, 28, 28, 2}));
  EXPECT_EQ(Shape(shape.begin() + 1, shape.end()), (Shape{9, 1, 28, 28, 2}));
  EXPECT_EQ(Shape(std::vector<std::size_t>{4, 4}), (Shape{4, 4}));
  shape.clear();
  EXPECT_TRUE(shape.empty());
}

TEST(Shape, RejectsMoreAxesThanItHoldsWithTheCount) {
  Shape full{1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(full.size(), Shape::kMaxRank);
  try {
    full.push_back(9);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()), "Shape: expected at most 8 axes, got 9");
  }
  EXPECT_EQ(full.size(), 8u);  // unchanged
  const std::vector<std::size_t> ten(10, 1);
  EXPECT_THROW(Shape{ten}, std::invalid_argument);
  const Shape two{1, 2};
  Shape seven{1, 2, 3, 4, 5, 6, 7};
  EXPECT_THROW(seven.insert(seven.end(), two.begin(), two.end()), std::invalid_argument);
  EXPECT_EQ(seven.size(), 7u);
}

TEST(Shape, ElementCountRefusesAProductPastSizeT) {
  constexpr std::size_t kBig = std::size_t{1} << 32;
  EXPECT_EQ(cnnkit::element_count(Shape{kBig, kBig / 2}), std::size_t{1} << 63);
  // A zero extent makes the product 0, however large the others.
  EXPECT_EQ(cnnkit::element_count(Shape{kBig, kBig, 0}), 0u);
  EXPECT_EQ(cnnkit::element_count(Shape{}), 1u);
  try {
    (void)cnnkit::element_count(Shape{3, kBig, kBig});
    FAIL() << "expected std::overflow_error";
  } catch (const std::overflow_error& error) {
    EXPECT_EQ(std::string(error.what()),
              "Shape: expected extents whose product fits in std::size_t (at most "
              "18446744073709551615), got [3, 4294967296, 4294967296]");
  }
}

}  // namespace
