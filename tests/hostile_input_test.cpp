// Hostile and careless input: every reader refuses it with a message naming the limit or the
// problem, before allocating or decoding, instead of crashing, allocating gigabytes or taking
// minutes. Each test lowers the limit it tests (a Limits argument) and uses small inputs, so the
// suite stays cheap, also under the sanitizers.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cnnkit/data/csv.hpp"
#include "cnnkit/data/idx.hpp"
#include "cnnkit/data/image_folder.hpp"
#include "cnnkit/io/safetensors.hpp"
#include "cnnkit/limits.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::expect_throw_with;
using testing::TempDir;
using testing::write_bytes;
using testing::write_text;
using Bytes = std::vector<unsigned char>;

// `depth` nested arrays: "[[[...]]]".
std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// A safetensors file: the 8-byte little-endian header length, the header, the data.
Bytes safetensors_bytes(const std::string& header, const Bytes& data = {}) {
  Bytes bytes;
  for (std::size_t i = 0; i < 8; ++i) bytes.push_back((header.size() >> (8 * i)) & 0xff);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// The bytes compressed as one gzip member by zlib at its best compression.
Bytes gzip(const Bytes& data) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY),
            Z_OK);
  Bytes out(deflateBound(&stream, data.size()));
  stream.next_in = const_cast<Bytef*>(data.data());
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// An unsigned-byte IDX header 00 00 08 <rank> with big-endian sizes.
Bytes idx_header(const std::vector<std::uint32_t>& dims) {
  Bytes bytes{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (const std::uint32_t dim : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((dim >> shift) & 0xff);
  }
  return bytes;
}

// The start of a PNG: signature and IHDR chunk (8-bit grey) with this size. stb reads the size from
// here; the image data that would follow is missing, which a decoder only notices later.
Bytes png_header(std::uint32_t width, std::uint32_t height) {
  Bytes bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (const std::uint32_t value : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((value >> shift) & 0xff);
  }
  bytes.insert(bytes.end(), {8, 0, 0, 0, 0});  // bit depth, colour type, methods, interlace
  bytes.insert(bytes.end(), {0, 0, 0, 0});     // CRC (stb does not check it)
  return bytes;
}

// A description of a Flatten and `count` FullyConnected layers of `outputs` each on an 8x8 input.
std::string wide_description(std::size_t count, std::size_t outputs) {
  std::string layers = R"({"type": "Flatten"})";
  for (std::size_t i = 0; i < count; ++i) {
    layers += R"(, {"type": "FullyConnected", "outputs": )" + std::to_string(outputs) + "}";
  }
  return R"({"name": "wide", "input_shape": [1, 8, 8], "loss": "L2Loss", "layers": [)" + layers +
         "]}";
}

// ---- 1. JSON nested 100,000 deep (200 KB): refused before the recursive code sees it

TEST(HostileInput, DeepJsonInADescriptionIsRefusedWithTheDepthLimit) {
  const std::string deep = R"({"input_shape": )" + nested_arrays(100'000) + R"(, "layers": []})";
  expect_throw_with<std::invalid_argument>(
      [&] { parse_model_description(deep, "deep.json", Limits{}); },
      {"deep.json: expected arrays and objects nested at most 64 deep", "CNNKIT_MAX_JSON_DEPTH"});
  // The limit is the one passed: 3 levels are too many for a limit of 2.
  Limits shallow;
  shallow.json_depth = 2;
  expect_throw_with<std::invalid_argument>(
      [&] {
        parse_model_description(R"({"input_shape": [[1]], "layers": []})", "s.json", shallow);
      },
      {"nested at most 2 deep"});
}

TEST(HostileInput, DeepJsonInASafetensorsHeaderIsRefused) {
  const Bytes bytes = safetensors_bytes(R"({"a": )" + nested_arrays(100'000) + "}");
  expect_throw_with<std::invalid_argument>(
      [&] { parse_safetensors<float>(bytes, "deep.safetensors", Limits{}); },
      {"safetensors: 'deep.safetensors'", "nested at most 64 deep", "CNNKIT_MAX_JSON_DEPTH"});
}

TEST(HostileInput, DeepJsonInTheModelMetadataIsRefused) {
  const TempDir dir;
  const std::string deep = R"({"input_shape": )" + nested_arrays(100'000) + R"(, "layers": []})";
  const std::string file = serialize_safetensors<float>(
      {}, {{"format", "cnnkit-model"}, {"format_version", "1"}, {"cnnkit_model", deep}});
  write_bytes(dir / "deep.safetensors", Bytes(file.begin(), file.end()));
  expect_throw_with<std::invalid_argument>(
      [&] { load_model<float>(dir / "deep.safetensors"); },
      {"(metadata cnnkit_model)", "nested at most 64 deep", "CNNKIT_MAX_JSON_DEPTH"});
}

TEST(HostileInput, LimitsComeFromTheEnvironment) {
  ASSERT_EQ(::setenv("CNNKIT_MAX_JSON_DEPTH", "3", 1), 0);
  ASSERT_EQ(::setenv("CNNKIT_MAX_PARAMETERS", "12345", 1), 0);
  const Limits limits = Limits::from_environment();
  EXPECT_EQ(limits.json_depth, 3u);
  EXPECT_EQ(limits.parameters, 12345u);
  EXPECT_EQ(limits.tensors, Limits{}.tensors);  // unset: the default
  // Readers called without limits read them there.
  expect_throw_with<std::invalid_argument>(
      [] { parse_model_description(R"({"input_shape": [[[[1]]]], "layers": []})"); },
      {"nested at most 3 deep"});
  ASSERT_EQ(::setenv("CNNKIT_MAX_JSON_DEPTH", "deep", 1), 0);
  expect_throw_with<std::invalid_argument>([] { Limits::from_environment(); },
                                           {"CNNKIT_MAX_JSON_DEPTH", "a whole number", "'deep'"});
  ::unsetenv("CNNKIT_MAX_JSON_DEPTH");
  ::unsetenv("CNNKIT_MAX_PARAMETERS");
}

// ---- 2. What a description implies, checked from the inferred shapes before building

TEST(HostileInput, ParametersOfADescriptionAreLimitedBeforeTheyAreAllocated) {
  Limits limits;
  limits.parameters = 500'000;
  // Layer 1 holds (64 + 1) * 1024 = 66,560 parameters; layer 2 would add 1025 * 1024.
  const std::string wide = wide_description(3, 1024);
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { parse_model_description(wide, "wide.json", limits); },
           [&] { summarize(parse_model_description(wide, "wide.json", Limits{}), limits); },
           [&] {
             build_model<float>(parse_model_description(wide, "wide.json", Limits{}), limits);
           },
       }) {
    expect_throw_with<std::invalid_argument>(
        call, {"layer 2 (FullyConnected): expected at most 500000 parameters in the whole model",
               "CNNKIT_MAX_PARAMETERS", "got 66560 before this layer and 1049600 in it"});
  }
  limits.parameters = 66'560;  // exactly the first layer: it fits
  const std::string one = wide_description(1, 1024);
  EXPECT_EQ(infer_shapes(parse_model_description(one, "one.json", limits), limits).back(),
            Shape{1024});
}

TEST(HostileInput, ActivationBytesAndLayersOfADescriptionAreLimited) {
  const std::string conv =
      R"({"input_shape": [1, 32, 32], "loss": "L2Loss", "layers": [
          {"type": "Conv", "kernels": 8, "kernel": 3}, {"type": "Flatten"}]})";
  Limits limits;
  limits.activation_bytes = 20'000;  // the input is 4096 bytes, the Conv's output 32768
  expect_throw_with<std::invalid_argument>(
      [&] { parse_model_description(conv, "conv.json", limits); },
      {"layer 0 (Conv): expected at most 20000 activation bytes per sample",
       "CNNKIT_MAX_ACTIVATION_BYTES", "got 4096 before this layer and 32768 in it"});
  limits.activation_bytes = 4096 + 2 * 32768;
  EXPECT_NO_THROW(parse_model_description(conv, "conv.json", limits));

  Limits few;
  few.layers = 4;
  expect_throw_with<std::invalid_argument>(
      [&] { parse_model_description(wide_description(4, 3), "long.json", few); },
      {"long.json: layers: expected at most 4 layers", "CNNKIT_MAX_LAYERS", "got 5"});
  // A description built in C++ meets the same limit.
  const ModelDescription built = parse_model_description(wide_description(4, 3), "long.json");
  expect_throw_with<std::invalid_argument>([&] { validate(built, few); },
                                           {"expected at most 4 layers", "got 5"});
}

// A header of `count` empty tensors named "0", "1", ...
std::string empty_tensors_header(std::size_t count) {
  std::string header = "{";
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) header += ',';
    header += '"' + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  }
  return header + "}";
}

TEST(HostileInput, SafetensorsTensorCountIsLimited) {
  Limits limits;
  limits.tensors = 10;
  expect_throw_with<std::invalid_argument>(
      [&] { parse_safetensors<float>(safetensors_bytes(empty_tensors_header(11)), "x", limits); },
      {"safetensors: 'x': expected at most 10 tensors", "CNNKIT_MAX_TENSORS", "got 11"});
  // A header of many more stops being read at the limit (plus one key for __metadata__).
  expect_throw_with<std::invalid_argument>(
      [&] { parse_safetensors<float>(safetensors_bytes(empty_tensors_header(1000)), "x", limits); },
      {"expected at most 11 keys (tensors and __metadata__)", "CNNKIT_MAX_TENSORS", "got more"});
  limits.tensors = 11;
  EXPECT_EQ(parse_safetensors<float>(safetensors_bytes(empty_tensors_header(11)), "x", limits)
                .tensors.size(),
            11u);
}

TEST(HostileInput, GzipIdxInflatesNoFurtherThanItsHeaderDeclares) {
  const TempDir dir;
  // Two 2x3 images, then 10 MB of zeros the header does not declare (10 KB compressed).
  Bytes images = idx_header({2, 2, 3});
  images.resize(images.size() + 12 + 10'000'000, 0);
  write_bytes(dir / "bomb.gz", gzip(images));
  expect_throw_with<std::invalid_argument>(
      [&] { read_idx_file(dir / "bomb.gz", Limits{}); },
      {"IDX: '" + dir / "bomb.gz" + "': expected at most 28 decompressed bytes",
       "12 data bytes its sizes [2, 2, 3] declare", "got more"});
  // A header that declares more than the limit is refused before anything else is inflated.
  Limits limits;
  limits.file_bytes = 1 << 20;
  write_bytes(dir / "big.gz", gzip(idx_header({60'000, 28, 28})));
  expect_throw_with<std::invalid_argument>(
      [&] { read_idx_file(dir / "big.gz", limits); },
      {"(decompressed)' byte 4: expected sizes of at most 1048576 bytes in all",
       "CNNKIT_MAX_FILE_BYTES", "got [60000, 28, 28]"});
}

TEST(HostileInput, FileSizeIsCheckedBeforeReading) {
  const TempDir dir;
  Limits limits;
  limits.file_bytes = 1000;
  // Sparse files: their size is what is checked, nothing is read.
  for (const char* name : {"big.png", "big.csv", "big.safetensors", "big.json", "big-idx"}) {
    std::filesystem::path path = dir / name;
    write_text(path.string(), "");
    std::filesystem::resize_file(path, 3'000'000'000);
  }
  const std::vector<std::pair<std::string, std::function<void()>>> loads{
      {"image",
       [&] {
         load_image<float>(dir / "big.png", {1, 8, 8}, limits);
       }},
      {"CSV", [&] { load_csv<float>(dir / "big.csv", {}, limits); }},
      {"safetensors",
       [&] {
         load_model<float>(dir / "big.safetensors", {false, limits});
       }},
      {"model description", [&] { load_model_description(dir / "big.json", limits); }},
      {"IDX", [&] { read_idx_file(dir / "big-idx", limits); }},
  };
  for (const auto& [component, load] : loads) {
    SCOPED_TRACE(component);
    expect_throw_with<std::invalid_argument>(
        load, {component + ": '", "expected at most 1000 bytes", "CNNKIT_MAX_FILE_BYTES",
               "got a file of 3000000000 bytes"});
  }
  // Gzip-compressed CSV text is held to the same limit once inflated.
  write_bytes(dir / "bomb.csv", gzip(Bytes(5000, '1')));
  expect_throw_with<std::invalid_argument>(
      [&] { load_csv<float>(dir / "bomb.csv", {}, limits); },
      {"expected at most 1000 decompressed bytes", "CNNKIT_MAX_FILE_BYTES"});
}

TEST(HostileInput, DevicesAreRefusedAsModelImageOrCsv) {
  const std::vector<std::pair<std::string, std::function<void()>>> loads{
      {"safetensors", [] { load_model<float>("/dev/zero"); }},
      {"image",
       [] {
         load_image<float>("/dev/zero", {1, 8, 8});
       }},
      {"CSV", [] { load_csv<float>("/dev/zero"); }},
      {"model description", [] { load_model_description("/dev/zero"); }},
  };
  for (const auto& [component, load] : loads) {
    SCOPED_TRACE(component);
    expect_throw_with<std::runtime_error>(
        load, {component + ": expected a readable file at '/dev/zero', got a device"});
  }
}

TEST(HostileInput, ImagePixelsAreCheckedBeforeDecoding) {
  // 430 KB of PNG may decode to 20000 x 20000 pixels; the header alone says so.
  Limits limits;
  limits.image_pixels = 1'000'000;
  expect_throw_with<std::invalid_argument>(
      [&] {
        decode_image<float>(png_header(20'000, 20'000), "huge.png", {1, 8, 8}, limits);
      },
      {"image 'huge.png': expected at most 1000000 pixels", "CNNKIT_MAX_IMAGE_PIXELS",
       "got 20000x20000"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        decode_image<float>(png_header(1001, 1000), "wide.png", {1, 8, 8}, limits);
      },
      {"got 1001x1000"});
  // Found by image_fuzz: stb reads a PNM of width 0 and any height, whose resize then allocated
  // a row buffer per source row (6553510 rows: about 1 GB).
  const std::string empty = "P5\n0 6553510\n255\n";
  expect_throw_with<std::invalid_argument>(
      [&] {
        decode_image<float>(Bytes(empty.begin(), empty.end()), "empty.pgm", {1, 8, 8});
      },
      {"image 'empty.pgm': expected an image of at least 1x1 pixels, got 0x6553510"});
}

// ---- 3. A header of many tensors parses in O(n log n) (ctest bounds it with a TIMEOUT)

TEST(HostileInput, SafetensorsHeaderOfManyTensorsParsesQuickly) {
  // 20,000 empty tensors (1 MB of header): nlohmann's parser callback took seconds for this.
  constexpr std::size_t kCount = 20'000;
  Limits limits;
  limits.tensors = kCount;
  const Bytes bytes = safetensors_bytes(empty_tensors_header(kCount));
  EXPECT_EQ(parse_safetensors<float>(bytes, "many", limits).tensors.size(), kCount);
}

// ---- 4. Repeated keys, in every object of every JSON document

TEST(HostileInput, DuplicateKeysAreRefusedEverywhere) {
  expect_throw_with<std::invalid_argument>(
      [] {
        parse_model_description(R"({"name": "a", "input_shape": [4], "name": "b", "layers": []})",
                                "dup.json", Limits{});
      },
      {"dup.json: expected distinct keys in each object, got the key 'name' twice"});
  expect_throw_with<std::invalid_argument>(
      [] {
        parse_model_description(R"({"input_shape": [4], "layers": [
            {"type": "FullyConnected", "outputs": 3, "outputs": 300}]})",
                                "dup.json", Limits{});
      },
      {"got the key 'outputs' twice in 'layers'"});
  expect_throw_with<std::invalid_argument>(
      [] {
        parse_safetensors<float>(
            safetensors_bytes(R"({"__metadata__": {"format": "a", "format": "b"}})"), "dup",
            Limits{});
      },
      {"got the key 'format' twice in '__metadata__'"});
}

// ---- 5. NaN and infinity in a model file

TEST(HostileInput, NonFiniteWeightsAreRefusedUnlessAllowed) {
  const TempDir dir;
  const ModelDescription description = preset("iris-mlp");
  Model<float> model = build_model<float>(description);
  model.graph.layers()[2]->parameters()[1]->value[2] = std::numeric_limits<float>::infinity();
  save_model(dir / "inf.safetensors", description, model.graph.layers());
  expect_throw_with<std::invalid_argument>(
      [&] { load_model<float>(dir / "inf.safetensors"); },
      {"tensor 'layer2.bias': expected finite values, got inf at element 2", "allow_non_finite"});
  model.graph.layers()[2]->parameters()[1]->value[2] = 0.5f;
  model.graph.layers()[0]->parameters()[0]->value[5] = std::nanf("");
  save_model(dir / "nan.safetensors", description, model.graph.layers());
  expect_throw_with<std::invalid_argument>([&] { load_model<float>(dir / "nan.safetensors"); },
                                           {"tensor 'layer0.weights'", "got nan at element 5"});
  ModelLoadOptions allow;
  allow.allow_non_finite = true;
  const Model<float> loaded = load_model<float>(dir / "nan.safetensors", allow);
  EXPECT_TRUE(std::isnan(loaded.graph.layers()[0]->parameters()[0]->value[5]));
  EXPECT_EQ(loaded.graph.layers()[2]->parameters()[1]->value[2], 0.5f);
}

}  // namespace
}  // namespace cnnkit
