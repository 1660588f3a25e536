// What the readers accept at most from a file, so that a small hostile or careless file cannot
// crash the process (deep JSON), make it allocate gigabytes (a description of huge layers, a gzip
// bomb, /dev/zero, a 20000x20000 PNG) or keep it busy for minutes. Every limit is checked before
// the allocation or the decoding it guards, and a refusal names the limit and how to raise it:
//   "net.json: expected at most 134217728 parameters (limit CNNKIT_MAX_PARAMETERS: raise it with
//    the environment variable CNNKIT_MAX_PARAMETERS=<n>), got 805404672"
// The defaults fit real data with a wide margin; the environment variables CNNKIT_MAX_* raise (or
// lower) them for one run. Readers take a Limits argument that defaults to from_environment(), so
// the environment is read where a reader is called, and code and tests can pass their own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cnnkit {

struct Limits {
  // Nesting of JSON arrays and objects (model descriptions, safetensors headers). Real files nest
  // 4 levels; deep nesting is what overflows the stack of recursive code.
  std::uint64_t json_depth = 64;  // CNNKIT_MAX_JSON_DEPTH
  // Layers of one model description.
  std::uint64_t layers = 1024;  // CNNKIT_MAX_LAYERS
  // Inputs of one node of a model description (an Add or a Concat).
  std::uint64_t fan_in = 64;  // CNNKIT_MAX_FAN_IN
  // Trainable values (weights and biases) a model description implies, summed over its layers.
  std::uint64_t parameters = std::uint64_t{1} << 27;  // CNNKIT_MAX_PARAMETERS (512 MiB as float)
  // Bytes of the outputs of every layer for one sample, summed over the layers.
  std::uint64_t activation_bytes = std::uint64_t{1} << 30;  // CNNKIT_MAX_ACTIVATION_BYTES
  // Tensors of one safetensors file (a checkpoint holds 6 per trainable layer).
  std::uint64_t tensors = std::uint64_t{1} << 16;  // CNNKIT_MAX_TENSORS
  // Bytes of one file read whole (model files, descriptions, CSV, IDX, images), and bytes a
  // compressed file may inflate to.
  std::uint64_t file_bytes = std::uint64_t{1} << 31;  // CNNKIT_MAX_FILE_BYTES
  // Pixels (width x height) of one image, read from its header before decoding.
  std::uint64_t image_pixels = std::uint64_t{1} << 26;  // CNNKIT_MAX_IMAGE_PIXELS

  // The defaults, each replaced by its CNNKIT_MAX_* variable when that is set. A value that is
  // not a whole number from 1 to 2^63 throws std::invalid_argument naming the variable.
  static Limits from_environment();
};

// " (limit CNNKIT_MAX_X: raise it with the environment variable CNNKIT_MAX_X=<n>)": the tail of
// every refusal, so that each says how to raise the limit it hit.
std::string limit_hint(std::string_view variable);

}  // namespace cnnkit
