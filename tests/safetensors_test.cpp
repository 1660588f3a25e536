#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "cnnkit/io/safetensors.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;
using testing::TempDir;
using Bytes = std::vector<unsigned char>;

Bytes as_bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

// A safetensors file from a header text and data bytes (length prefix little-endian).
Bytes file_with(std::string_view header, const Bytes& data = {}) {
  Bytes bytes;
  for (int shift = 0; shift < 64; shift += 8) bytes.push_back((header.size() >> shift) & 0xff);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

TEST(Safetensors, BytesFollowTheFormat) {
  const std::vector<NamedTensor<float>> tensors = {
      {"w", Tensor<float>({2}, std::vector<float>{1.0f, -2.0f})}};
  const std::string bytes = serialize_safetensors(tensors, {{"format", "pt"}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 85u);  // padded with spaces to 88, a multiple of 8
  std::string expected("\x58\0\0\0\0\0\0\0", 8);
  expected += header + "   ";
  expected += std::string("\x00\x00\x80\x3f", 4);  // 1.0f little-endian
  expected += std::string("\x00\x00\x00\xc0", 4);  // -2.0f
  EXPECT_EQ(bytes, expected);
}

TEST(Safetensors, FloatRoundTripKeepsOrderValuesAndMetadata) {
  const TempDir dir;
  Tensor<float> kernel({2, 1, 2, 2});
  for (std::size_t i = 0; i < kernel.size(); ++i) kernel[i] = 0.1f * static_cast<float>(i) - 0.35f;
  const Tensor<float> special(
      {5}, std::vector<float>{-0.0f, 1e-40f, 3.4e38f, std::numeric_limits<float>::infinity(), 7});
  const std::vector<NamedTensor<float>> tensors = {{"layers.2.weights", kernel},
                                                   {"layers.0.bias", special},
                                                   {"scalar", Tensor<float>(Shape{}, 4.5f)},
                                                   {"empty", Tensor<float>({0, 3})}};
  const std::map<std::string, std::string> metadata = {{"model", R"({"layers": ["conv"]})"},
                                                       {"epoch", "3"}};
  save_safetensors(dir / "model.safetensors", tensors, metadata);
  const SafetensorsFile<float> file = load_safetensors<float>(dir / "model.safetensors");
  ASSERT_EQ(file.tensors.size(), 4u);
  EXPECT_EQ(file.tensors[0].name, "layers.2.weights");
  EXPECT_EQ(file.tensors[1].name, "layers.0.bias");
  EXPECT_EQ(file.tensors[2].name, "scalar");
  EXPECT_EQ(file.tensors[3].name, "empty");
  EXPECT_EQ(file.at("layers.2.weights"), kernel);
  EXPECT_EQ(file.at("layers.0.bias"), special);
  EXPECT_TRUE(std::signbit(file.at("layers.0.bias")[0]));
  EXPECT_EQ(file.at("scalar").shape(), Shape{});
  EXPECT_EQ(file.at("scalar")[0], 4.5f);
  EXPECT_EQ(file.at("empty").shape(), (Shape{0, 3}));
  EXPECT_EQ(file.metadata, metadata);
  EXPECT_TRUE(file.contains("scalar"));
  EXPECT_FALSE(file.contains("nothing"));
}

TEST(Safetensors, DoubleRoundTripAndConversionBetweenTypes) {
  const TempDir dir;
  const Tensor<double> precise({3}, std::vector<double>{0.1, -1e-300, 1.0 / 3.0});
  save_safetensors<double>(dir / "d.safetensors", {{"x", precise}});
  EXPECT_EQ(load_safetensors<double>(dir / "d.safetensors").at("x"), precise);
  // F64 read as float rounds each value once.
  const Tensor<float> narrowed = load_safetensors<float>(dir / "d.safetensors").at("x");
  EXPECT_EQ(narrowed, Tensor<float>({3}, std::vector<float>{0.1f, -0.0f, 1.0f / 3.0f}));

  save_safetensors<float>(dir / "f.safetensors", {{"y", Tensor<float>({1}, 0.1f)}});
  EXPECT_EQ(load_safetensors<double>(dir / "f.safetensors").at("y")[0], static_cast<double>(0.1f));

  save_safetensors<double>(dir / "big.safetensors", {{"z", Tensor<double>({2}, 1e300)}});
  const std::string message = message_of<std::invalid_argument>(
      [&] { (void)load_safetensors<float>(dir / "big.safetensors"); });
  EXPECT_NE(message.find("tensor 'z' values within float's range, got 1e+300 at element 0"),
            std::string::npos)
      << message;
}

TEST(Safetensors, MissingTensorNamesItAndTheFile) {
  const SafetensorsFile<float> file = parse_safetensors<float>(
      as_bytes(serialize_safetensors<float>({{"a", Tensor<float>({1})}})), "m.safetensors");
  const std::string message = message_of<std::invalid_argument>([&] { (void)file.at("b"); });
  EXPECT_NE(message.find("'m.safetensors': expected a tensor named 'b', got only 'a'"),
            std::string::npos)
      << message;
}

struct BadFile {
  const char* what;
  Bytes bytes;
  const char* expected_in_message;
};

TEST(Safetensors, CorruptFilesAreRejectedWithTheReason) {
  const Bytes four_bytes{0, 0, 0, 0};
  Bytes huge_length = file_with("{}");
  huge_length[7] = 0x01;
  const std::vector<BadFile> cases = {
      {"short", {1, 2, 3}, "expected an 8-byte header length, got a file of 3 bytes"},
      {"length past the end", huge_length, "expected a header length of at most 2 bytes"},
      {"not an object start", file_with("[1]"), "expected a header starting with '{'"},
      {"syntax", file_with("{\"a\":"), "expected a JSON header, got a syntax error"},
      {"number overflow",
       file_with(R"({"a":{"dtype":"F32","shape":[1E400],"data_offsets":[0,4]}})"),
       "expected a JSON header, got number overflow parsing '1E400'"},
      {"duplicate", file_with(R"({"a":{},"a":{}})"),
       "expected distinct tensor names, got 'a' twice"},
      {"entry not object", file_with(R"({"a":1})"), "tensor 'a' as an object"},
      {"unknown key",
       file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", four_bytes),
       "got key 'x'"},
      {"missing key", file_with(R"({"a":{"dtype":"F32","shape":[1]}})", four_bytes),
       "with keys dtype, shape and data_offsets"},
      {"dtype", file_with(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})"),
       "tensor 'a' of dtype F32 or F64 (the ones cnnkit reads), got \"I64\""},
      {"shape not array", file_with(R"({"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})"),
       "tensor 'a' with a shape array, got 4"},
      {"negative size", file_with(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"),
       "shape entry as a non-negative integer, got -1"},
      {"fractional size", file_with(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})"),
       "got 1.5"},
      {"overflowing shape",
       file_with(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,4]}})"),
       "with a shape whose byte count fits in 64 bits"},
      {"offsets length", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})"),
       "tensor 'a' data_offsets [begin, end], got [0]"},
      {"offsets reversed", file_with(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})"),
       "data_offsets with begin <= end"},
      {"size mismatch", file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})"),
       "tensor 'a' data_offsets spanning 8 bytes for F32 shape [2], got [0,4], 4 bytes"},
      {"past the end", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})"),
       "expected tensors covering all 0 data bytes, got 4 bytes covered"},
      {"gap", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", Bytes(8)),
       "expected tensor 'a' to start at data byte 0"},
      {"overlap",
       file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 Bytes(8)),
       "expected tensor 'b' to start at data byte 8"},
      {"trailing data",
       file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", Bytes(6)),
       "expected tensors covering all 6 data bytes, got 4 bytes covered"},
      {"metadata value", file_with(R"({"__metadata__":{"epoch":3}})"),
       "expected __metadata__ value of 'epoch' as a string, got 3"},
      {"metadata type", file_with(R"({"__metadata__":[]})"), "__metadata__ as an object"},
  };
  for (const BadFile& test : cases) {
    const std::string message = message_of<std::invalid_argument>(
        [&] { (void)parse_safetensors<float>(test.bytes, "bad.safetensors"); });
    EXPECT_NE(message.find("safetensors: 'bad.safetensors'"), std::string::npos)
        << test.what << ": " << message;
    EXPECT_NE(message.find(test.expected_in_message), std::string::npos)
        << test.what << ": " << message;
  }
}

TEST(Safetensors, EveryTruncationOfAValidFileIsRejected) {
  const std::string whole = serialize_safetensors<float>(
      {{"a", Tensor<float>({2, 2}, 1.5f)}, {"b", Tensor<float>({3}, -1.0f)}}, {{"k", "v"}});
  for (std::size_t size = 0; size < whole.size(); ++size) {
    const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_THROW((void)parse_safetensors<float>(cut, "cut"), std::invalid_argument) << size;
  }
}

TEST(Safetensors, BadNamesAreRefusedAndTheOldFileStays) {
  const TempDir dir;
  const std::string path = dir / "keep.safetensors";
  save_safetensors<float>(path, {{"a", Tensor<float>({1}, 2.0f)}});
  const Bytes before = testing::read_bytes(path);
  const Tensor<float> one({1});
  const std::vector<std::vector<NamedTensor<float>>> bad = {
      {{"", one}}, {{"__metadata__", one}}, {{"x", one}, {"x", one}}};
  for (const auto& tensors : bad) {
    EXPECT_THROW(save_safetensors(path, tensors), std::invalid_argument);
  }
  EXPECT_THROW(save_safetensors<float>(path, {{"x", one}}, {{"bad", "\xff\xfe"}}),
               std::invalid_argument);
  EXPECT_EQ(testing::read_bytes(path), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);  // no temporary file left behind
}

// The file must read back in Python with nothing but json, struct and numpy, following the
// format's rules as the `safetensors` package checks them; and with torch when it is there.
TEST(Safetensors, PythonReadsOurFiles) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed";
  }
  const TempDir dir;
  Tensor<float> weights({2, 3});
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i) * 0.5f - 1;
  save_safetensors<float>(dir / "m.safetensors",
                          {{"weights", weights}, {"bias", Tensor<float>({2}, 0.25f)}},
                          {{"note", "häh"}});
  save_safetensors<double>(dir / "d.safetensors", {{"x", Tensor<double>({1}, 1.0 / 3.0)}});
  const std::string script = dir / "check.py";
  testing::write_text(script, R"(import json, struct, sys
import numpy as np
def read(path):
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    assert (8 + n) % 8 == 0, 'data not 8-byte aligned'
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    data = raw[8 + n:]
    end = 0
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        b, e = info['data_offsets']
        assert b == end, name
        end = e
        dtype = {'F32': '<f4', 'F64': '<f8'}[info['dtype']]
        out[name] = np.frombuffer(data[b:e], dtype=dtype).reshape(info['shape'])
    assert end == len(data)
    return out, meta
m, meta = read(sys.argv[1])
assert meta == {'note': 'häh'}, meta
assert m['weights'].shape == (2, 3) and m['weights'][1, 2] == 1.5 and m['weights'][0, 0] == -1
assert (m['bias'] == 0.25).all()
d, _ = read(sys.argv[2])
assert d['x'][0] == 1.0 / 3.0
try:
    import torch
except ImportError:
    sys.exit(0)
t = torch.from_numpy(m['weights'].copy())
assert t.dtype == torch.float32 and t[1, 2].item() == 1.5
)");
  const std::string command =
      "/usr/bin/python3 " + script + " " + (dir / "m.safetensors") + " " + (dir / "d.safetensors");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace cnnkit
