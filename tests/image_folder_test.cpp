#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include "cnnkit/data/image_folder.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;
using testing::TempDir;

// Writes a PNG of width x height pixels with `channels` interleaved bytes each.
void write_png(const std::string& path, int width, int height, int channels,
               const std::vector<unsigned char>& pixels) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_NE(stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels),
            0)
      << path;
}

TEST(Image, GreyPngLoadsScaled) {
  const TempDir dir;
  write_png(dir / "grey.png", 3, 2, 1, {0, 51, 255, 102, 1, 204});
  const Tensor<float> image = load_image<float>(dir / "grey.png", {1, 2, 3});
  EXPECT_EQ(image, Tensor<float>({1, 2, 3},
                                 std::vector<float>{0.0f, 0.2f, 1.0f, 0.4f, 1.0f / 255.0f, 0.8f}));
}

TEST(Image, RgbIsPlanarAndGreyIsLuminance) {
  const TempDir dir;
  // Red, green, blue, white in a 2x2 image.
  write_png(dir / "rgb.png", 2, 2, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255});
  const Tensor<double> rgb = load_image<double>(dir / "rgb.png", {3, 2, 2});
  EXPECT_EQ(rgb, Tensor<double>({3, 2, 2}, std::vector<double>{1, 0, 0, 1,     // red plane
                                                               0, 1, 0, 1,     // green plane
                                                               0, 0, 1, 1}));  // blue plane
  // stb's luminance in 8-bit fixed point: (77 R + 150 G + 29 B) >> 8.
  const Tensor<double> grey = load_image<double>(dir / "rgb.png", {1, 2, 2});
  EXPECT_EQ(grey, Tensor<double>({1, 2, 2},
                                 std::vector<double>{76 / 255.0, 149 / 255.0, 28 / 255.0, 1.0}));
}

TEST(Image, GreyToRgbRepeatsThePlane) {
  const TempDir dir;
  write_png(dir / "grey.png", 2, 1, 1, {51, 102});
  const Tensor<float> rgb = load_image<float>(dir / "grey.png", {3, 1, 2});
  EXPECT_EQ(rgb, Tensor<float>({3, 1, 2}, std::vector<float>{0.2f, 0.4f, 0.2f, 0.4f, 0.2f, 0.4f}));
}

TEST(Image, BilinearEnlargeAndShrink) {
  const TempDir dir;
  write_png(dir / "pair.png", 2, 1, 1, {0, 255});
  // Enlarging 2 -> 4: output centres at 0.25, 0.75, 1.25, 1.75 source pixels; between the
  // source centres 0.5 and 1.5 the value rises linearly, outside it is clamped.
  const Tensor<double> wide = load_image<double>(dir / "pair.png", {1, 1, 4});
  EXPECT_EQ(wide, Tensor<double>({1, 1, 4}, std::vector<double>{0, 0.25, 0.75, 1}));

  // Shrinking 4 -> 2 (factor 2): the tent is 2 source pixels wide on each side. Output pixel 0
  // (centre 1.0) weighs source pixels 0, 1, 2 by 0.75, 0.75, 0.25 (pixel -1 is outside):
  // (0 * 0.75 + 1/3 * 0.75 + 2/3 * 0.25) / 1.75 = 5/21, and by symmetry 16/21.
  write_png(dir / "ramp.png", 4, 1, 1, {0, 85, 170, 255});
  const Tensor<double> narrow = load_image<double>(dir / "ramp.png", {1, 1, 2});
  EXPECT_NEAR(narrow[0], 5.0 / 21.0, 1e-12);
  EXPECT_NEAR(narrow[1], 16.0 / 21.0, 1e-12);

  // Same size: untouched.
  EXPECT_EQ(load_image<double>(dir / "ramp.png", {1, 1, 4}),
            Tensor<double>({1, 1, 4}, std::vector<double>{0, 1 / 3.0, 2 / 3.0, 1}));
}

TEST(Image, JpegDecodes) {
  const TempDir dir;
  const std::vector<unsigned char> grey(8 * 8 * 3, 128);
  ASSERT_NE(stbi_write_jpg((dir / "flat.jpg").c_str(), 8, 8, 3, grey.data(), 95), 0);
  const Tensor<float> image = load_image<float>(dir / "flat.jpg", {1, 4, 4});
  for (const float value : image) EXPECT_NEAR(value, 128.0f / 255.0f, 2.0f / 255.0f);
}

TEST(Image, BadImagesNameTheFileAndStbsReason) {
  const TempDir dir;
  testing::write_text(dir / "junk.png", "this is not a picture");
  std::string message = message_of<std::invalid_argument>([&] {
    (void)load_image<float>(dir / "junk.png", {1, 8, 8});
  });
  EXPECT_NE(message.find(dir / "junk.png"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown image type"), std::string::npos) << message;

  write_png(dir / "whole.png", 4, 4, 1, std::vector<unsigned char>(16, 7));
  std::vector<unsigned char> bytes = testing::read_bytes(dir / "whole.png");
  bytes.resize(bytes.size() / 2);
  testing::write_bytes(dir / "half.png", bytes);
  message = message_of<std::invalid_argument>([&] {
    (void)load_image<float>(dir / "half.png", {1, 8, 8});
  });
  EXPECT_NE(message.find(dir / "half.png"), std::string::npos) << message;

  message = message_of<std::runtime_error>([&] {
    (void)load_image<float>(dir / "absent.png", {1, 8, 8});
  });
  EXPECT_NE(message.find(dir / "absent.png"), std::string::npos) << message;

  message = message_of<std::invalid_argument>([&] {
    (void)load_image<float>(dir / "whole.png", {2, 8, 8});
  });
  EXPECT_NE(message.find("with 1 or 3 channels, got [2, 8, 8]"), std::string::npos) << message;
}

TEST(ImageFolder, OneSubFolderPerClassInSortedOrder) {
  const TempDir dir;
  write_png(dir / "dog/c.png", 2, 2, 1, {255, 255, 255, 255});
  write_png(dir / "cat/b.png", 2, 2, 1, {51, 51, 51, 51});
  write_png(dir / "cat/a.PNG", 2, 2, 1, {0, 0, 0, 0});
  write_png(dir / ".hidden/x.png", 2, 2, 1, {9, 9, 9, 9});
  testing::write_text(dir / "cat/notes.txt", "ignored");
  testing::write_text(dir / "README", "ignored");
  const Dataset<float> data = load_image_folder<float>(dir.path().string(), {1, 2, 2});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{0, 0, 1}));
  EXPECT_EQ(data.inputs.shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(data.inputs(0, 0, 1, 1), 0.0f);  // a.PNG
  EXPECT_EQ(data.inputs(1, 0, 0, 0), 0.2f);  // b.png
  EXPECT_EQ(data.inputs(2, 0, 1, 0), 1.0f);  // c.png
}

TEST(ImageFolder, MissingOrEmptyFoldersAreErrors) {
  const TempDir dir;
  std::string message = message_of<std::runtime_error>([&] {
    (void)load_image_folder<float>(dir / "absent", {1, 2, 2});
  });
  EXPECT_NE(message.find(dir / "absent"), std::string::npos) << message;

  message = message_of<std::runtime_error>([&] {
    (void)load_image_folder<float>(dir.path().string(), {1, 2, 2});
  });
  EXPECT_NE(message.find("expected one sub-folder per class, got none"), std::string::npos)
      << message;

  write_png(dir / "a/x.png", 2, 2, 1, {0, 0, 0, 0});
  testing::write_text(dir / "b/notes.txt", "no pictures here");
  message = message_of<std::runtime_error>([&] {
    (void)load_image_folder<float>(dir.path().string(), {1, 2, 2});
  });
  EXPECT_NE(message.find(dir / "b"), std::string::npos) << message;

  testing::write_text(dir / "b/broken.jpg", "not a jpeg");
  message = message_of<std::invalid_argument>([&] {
    (void)load_image_folder<float>(dir.path().string(), {1, 2, 2});
  });
  EXPECT_NE(message.find(dir / "b/broken.jpg"), std::string::npos) << message;
}

}  // namespace
}  // namespace cnnkit
