// libFuzzer target for a model description carried through to a working network: parse (with the
// description limits lowered, so that one input builds at most a few MB of layers), infer the
// shapes, build the model and run one sample forward. Rejections (std::invalid_argument) are
// expected; a crash, a sanitizer report, another exception, an output of another shape than the
// inferred one, or a non-finite output of a zero input is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "cnnkit/limits.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cnnkit::Limits limits;
  limits.parameters = 1 << 18;
  limits.activation_bytes = 1 << 22;
  limits.layers = 64;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cnnkit::ModelDescription description;
  try {
    description = cnnkit::parse_model_description(text, "fuzz.json", limits);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  const std::vector<cnnkit::Shape> shapes = cnnkit::infer_shapes(description, limits);
  cnnkit::Model<float> model = cnnkit::build_model<float>(description, limits);
  cnnkit::Shape batch{1};
  batch.insert(batch.end(), description.input_shape.begin(), description.input_shape.end());
  const cnnkit::Tensor<float> output = model.forward(cnnkit::Tensor<float>(batch));
  cnnkit::Shape expected{1};
  expected.insert(expected.end(), shapes.back().begin(), shapes.back().end());
  if (output.shape() != expected) std::abort();
  for (const float value : output) {
    if (!std::isfinite(value)) std::abort();
  }
  return 0;
}
