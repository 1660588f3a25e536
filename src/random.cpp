#include "cnnkit/random.hpp"

namespace cnnkit {

namespace {
RandomEngine& engine_instance() {
  static RandomEngine engine{0};
  return engine;
}
}  // namespace

void set_seed(std::uint64_t seed) {
  engine_instance().seed(seed);
}

RandomEngine& random_engine() {
  return engine_instance();
}

}  // namespace cnnkit
