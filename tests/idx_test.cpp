#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>

#include "cnnkit/data/idx.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;
using testing::TempDir;
using testing::write_bytes;
using Bytes = std::vector<unsigned char>;

// An unsigned-byte IDX file: 00 00 08 <rank>, big-endian sizes, values.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& values) {
  Bytes bytes{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (const std::uint32_t dim : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((dim >> shift) & 0xff);
  }
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

std::uint32_t crc32(const Bytes& data) {
  std::uint32_t crc = 0xffffffffu;
  for (const unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void append_le32(Bytes& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back((value >> shift) & 0xff);
}

// A gzip member built by hand (RFC 1952 header, one stored deflate block, CRC-32 and size), so
// the test does not depend on the decompressor it tests. data.size() < 65536.
Bytes gzip_stored(const Bytes& data) {
  Bytes out{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  const auto size = static_cast<std::uint16_t>(data.size());
  out.push_back(0x01);  // BFINAL = 1, BTYPE = 00 (stored)
  out.push_back(size & 0xff);
  out.push_back(size >> 8);
  out.push_back(~size & 0xff);
  out.push_back((~size >> 8) & 0xff);
  out.insert(out.end(), data.begin(), data.end());
  append_le32(out, crc32(data));
  append_le32(out, static_cast<std::uint32_t>(data.size()));
  return out;
}

const Bytes kPixels{0, 51, 102, 153, 204, 255, 255, 0, 17, 34, 1, 2};  // two 2x3 images
const Bytes kLabels{3, 7};

TEST(Idx, LoadsPlainImagesScaledAndLabels) {
  const TempDir dir;
  write_bytes(dir / "images", idx_bytes({2, 2, 3}, kPixels));
  write_bytes(dir / "labels", idx_bytes({2}, kLabels));
  const Dataset<float> data = load_idx<float>(dir / "images", dir / "labels");
  EXPECT_EQ(data.inputs.shape(), (Shape{2, 1, 2, 3}));
  EXPECT_EQ(data.inputs(0, 0, 0, 0), 0.0f);
  EXPECT_EQ(data.inputs(0, 0, 0, 1), 0.2f);  // 51 / 255
  EXPECT_EQ(data.inputs(0, 0, 0, 2), 0.4f);  // 102 / 255
  EXPECT_EQ(data.inputs(0, 0, 1, 2), 1.0f);
  EXPECT_EQ(data.inputs(1, 0, 0, 0), 1.0f);
  EXPECT_EQ(data.inputs(1, 0, 1, 2), 2.0f / 255.0f);
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{3, 7}));
  EXPECT_EQ(data.class_names,
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
}

TEST(Idx, GzipAndPlainGiveTheSameDataset) {
  const TempDir dir;
  write_bytes(dir / "images", idx_bytes({2, 2, 3}, kPixels));
  write_bytes(dir / "labels", idx_bytes({2}, kLabels));
  write_bytes(dir / "images.gz", gzip_stored(idx_bytes({2, 2, 3}, kPixels)));
  write_bytes(dir / "labels.gz", gzip_stored(idx_bytes({2}, kLabels)));
  const Dataset<double> plain = load_idx<double>(dir / "images", dir / "labels");
  const Dataset<double> packed = load_idx<double>(dir / "images.gz", dir / "labels.gz");
  EXPECT_EQ(packed.inputs, plain.inputs);
  EXPECT_EQ(packed.labels, plain.labels);
  EXPECT_EQ(packed.inputs(1, 0, 0, 2), 17.0 / 255.0);
}

TEST(Idx, ConcatenatedGzipMembersAreJoined) {
  const Bytes whole = idx_bytes({2, 2, 3}, kPixels);
  Bytes two = gzip_stored(Bytes(whole.begin(), whole.begin() + 5));
  const Bytes rest = gzip_stored(Bytes(whole.begin() + 5, whole.end()));
  two.insert(two.end(), rest.begin(), rest.end());
  const IdxArray array = parse_idx(two, "two.gz");
  EXPECT_EQ(array.dims, (std::vector<std::size_t>{2, 2, 3}));
  EXPECT_EQ(array.bytes, kPixels);
}

TEST(Idx, LabelsAboveNineWidenTheDefaultClasses) {
  const TempDir dir;
  write_bytes(dir / "images", idx_bytes({2, 1, 1}, {5, 6}));
  write_bytes(dir / "labels", idx_bytes({2}, {12, 0}));
  const Dataset<float> data = load_idx<float>(dir / "images", dir / "labels");
  ASSERT_EQ(data.class_names.size(), 13u);
  EXPECT_EQ(data.class_names[12], "12");
}

TEST(Idx, GivenClassNamesAreKeptAndBoundTheLabels) {
  const TempDir dir;
  write_bytes(dir / "images", idx_bytes({2, 1, 1}, {5, 6}));
  write_bytes(dir / "labels", idx_bytes({2}, {1, 2}));
  const Dataset<float> data = load_idx<float>(dir / "images", dir / "labels", {"a", "b", "c"});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"a", "b", "c"}));
  const std::string message = message_of<std::invalid_argument>([&] {
    (void)load_idx<float>(dir / "images", dir / "labels", {"a", "b"});
  });
  // The second label sits at byte 8 + 1 of the labels file.
  EXPECT_NE(message.find(dir / "labels' byte 9"), std::string::npos) << message;
  EXPECT_NE(message.find("a label < 2"), std::string::npos) << message;
  EXPECT_NE(message.find("got 2"), std::string::npos) << message;
}

// Each corrupt file gives std::invalid_argument naming the source, the byte and the problem.
struct CorruptCase {
  const char* what;
  Bytes bytes;
  const char* expected_in_message;
};

TEST(Idx, CorruptFilesAreRejectedWithPositionAndReason) {
  Bytes truncated_gzip = gzip_stored(idx_bytes({1, 1, 2}, {1, 2}));
  truncated_gzip.resize(truncated_gzip.size() - 6);
  Bytes bad_crc = gzip_stored(idx_bytes({1, 1, 2}, {1, 2}));
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  const std::vector<CorruptCase> cases = {
      {"empty", {}, "byte 0: expected a 4-byte IDX magic number, got a file of 0 bytes"},
      {"bad magic", {1, 0, 8, 1, 0, 0, 0, 0}, "byte 0: expected the IDX magic"},
      {"float type", {0, 0, 0x0D, 1, 0, 0, 0, 0}, "byte 2: expected data type 0x08"},
      {"rank 0", {0, 0, 8, 0}, "byte 3: expected at least one dimension, got 0"},
      {"short header", {0, 0, 8, 3, 0, 0, 0, 1, 0}, "byte 9: expected 3 dimension sizes"},
      {"truncated data", idx_bytes({2, 2, 2}, {1, 2, 3}), "expected 8 data bytes"},
      {"trailing data", idx_bytes({2}, {1, 2, 3}), "byte 10: expected the end of the file"},
      {"overflowing sizes", idx_bytes({0xffffffff, 0xffffffff, 0xffffffff}, {}),
       "whose product overflows"},
      {"huge sizes", idx_bytes({60000, 28, 28}, {1, 2}), "expected 47040000 data bytes"},
      {"truncated gzip", truncated_gzip, "truncated"},
      {"gzip checksum", bad_crc, "expected intact gzip data"},
  };
  for (const CorruptCase& test : cases) {
    const std::string message =
        message_of<std::invalid_argument>([&] { (void)parse_idx(test.bytes, "bad.idx"); });
    EXPECT_NE(message.find("bad.idx"), std::string::npos) << test.what << ": " << message;
    EXPECT_NE(message.find(test.expected_in_message), std::string::npos)
        << test.what << ": " << message;
  }
}

TEST(Idx, ImagesAndLabelsMustAgree) {
  const TempDir dir;
  write_bytes(dir / "images", idx_bytes({2, 1, 1}, {5, 6}));
  write_bytes(dir / "labels3", idx_bytes({3}, {0, 1, 2}));
  write_bytes(dir / "flat", idx_bytes({2}, {5, 6}));
  write_bytes(dir / "none", idx_bytes({0, 1, 1}, {}));
  write_bytes(dir / "labels0", idx_bytes({0}, {}));
  std::string message = message_of<std::invalid_argument>(
      [&] { (void)load_idx<float>(dir / "images", dir / "labels3"); });
  EXPECT_NE(message.find("expected 2 labels, one per image"), std::string::npos) << message;
  EXPECT_NE(message.find("got 3"), std::string::npos) << message;
  message = message_of<std::invalid_argument>(
      [&] { (void)load_idx<float>(dir / "flat", dir / "labels3"); });
  EXPECT_NE(message.find(dir / "flat"), std::string::npos) << message;
  EXPECT_NE(message.find("images of rank 3"), std::string::npos) << message;
  message = message_of<std::invalid_argument>(
      [&] { (void)load_idx<float>(dir / "images", dir / "images"); });
  EXPECT_NE(message.find("labels of rank 1"), std::string::npos) << message;
  message = message_of<std::invalid_argument>(
      [&] { (void)load_idx<float>(dir / "none", dir / "labels0"); });
  EXPECT_NE(message.find("at least one image"), std::string::npos) << message;
}

TEST(Idx, MissingFilesNameThePathAndThePackage) {
  const TempDir dir;
  std::string message =
      message_of<std::runtime_error>([&] { (void)read_idx_file(dir / "nothing-here"); });
  EXPECT_NE(message.find(dir / "nothing-here"), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;

  const std::string fashion = std::string(kFashionMnistDir) + "/no-such-file-idx3-ubyte";
  message = message_of<std::runtime_error>([&] { (void)read_idx_file(fashion); });
  EXPECT_NE(message.find(fashion), std::string::npos) << message;
  EXPECT_NE(message.find("dataset-fashion-mnist"), std::string::npos) << message;

  message = message_of<std::runtime_error>(
      [&] { (void)load_idx_directory<float>((dir.path() / "absent").string()); });
  EXPECT_NE(message.find(dir / "absent"), std::string::npos) << message;
}

TEST(Idx, DirectoryLoadsTrainAndTestPreferringGzip) {
  const TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte.gz",
              gzip_stored(idx_bytes({3, 1, 2}, {1, 2, 3, 4, 5, 6})));
  write_bytes(dir / "train-images-idx3-ubyte", idx_bytes({1, 1, 2}, {9, 9}));  // ignored
  write_bytes(dir / "train-labels-idx1-ubyte.gz", gzip_stored(idx_bytes({3}, {0, 1, 2})));
  write_bytes(dir / "t10k-images-idx3-ubyte", idx_bytes({1, 1, 2}, {255, 0}));
  const std::string missing_message =
      message_of<std::runtime_error>([&] { (void)load_idx_directory<float>(dir.path().string()); });
  EXPECT_NE(missing_message.find(dir / "t10k-labels-idx1-ubyte.gz"), std::string::npos)
      << missing_message;
  EXPECT_NE(missing_message.find(dir / "t10k-labels-idx1-ubyte'"), std::string::npos)
      << missing_message;

  write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({1}, {4}));
  const auto [train, test] =
      load_idx_directory<float>(dir.path().string(), fashion_mnist_class_names());
  EXPECT_EQ(train.inputs.shape(), (Shape{3, 1, 1, 2}));
  EXPECT_EQ(train.inputs(2, 0, 0, 1), 6.0f / 255.0f);
  EXPECT_EQ(train.labels, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(test.inputs.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(test.inputs(0, 0, 0, 0), 1.0f);
  EXPECT_EQ(test.labels, (std::vector<std::size_t>{4}));
  EXPECT_EQ(test.class_names[4], "Coat");
  EXPECT_EQ(train.class_names, test.class_names);
}

TEST(Idx, FashionMnistFromTheDebianPackage) {
  if (!std::filesystem::exists(kFashionMnistDir)) {
    GTEST_SKIP() << kFashionMnistDir << " is missing (apt-get install dataset-fashion-mnist)";
  }
  const auto [train, test] =
      load_idx_directory<float>(kFashionMnistDir, fashion_mnist_class_names());
  EXPECT_EQ(train.inputs.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(test.inputs.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(train.size(), 60000u);
  EXPECT_EQ(test.size(), 10000u);
  EXPECT_EQ(train.class_names[9], "Ankle boot");
  // The published files: the first training image is an ankle boot, the first test image too.
  EXPECT_EQ(train.labels[0], 9u);
  EXPECT_EQ(test.labels[0], 9u);
  // 6000 training and 1000 test images per class.
  std::vector<std::size_t> per_class(10);
  for (const std::size_t label : train.labels) ++per_class[label];
  EXPECT_EQ(per_class, std::vector<std::size_t>(10, 6000));
  const auto [low, high] = std::minmax_element(train.inputs.begin(), train.inputs.end());
  EXPECT_EQ(*low, 0.0f);
  EXPECT_EQ(*high, 1.0f);
}

}  // namespace
}  // namespace cnnkit
