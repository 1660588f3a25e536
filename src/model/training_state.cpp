// The random engine as text: std::mt19937_64 defines operator<< and operator>> for exactly this,
// so a checkpoint can carry the engine and a resumed run draw the same numbers.
#include "cnnkit/model/training_state.hpp"

#include <sstream>
#include <stdexcept>

#include "cnnkit/random.hpp"

namespace cnnkit {

std::string save_random_state() {
  std::ostringstream text;
  text << random_engine();
  return text.str();
}

void restore_random_state(const std::string& state) {
  RandomEngine engine;
  std::istringstream text(state);
  text >> engine;
  if (!text) {
    throw std::invalid_argument(
        "restore_random_state: expected a std::mt19937_64 state (312 numbers), got '" +
        state.substr(0, 40) + (state.size() > 40 ? "...'" : "'"));
  }
  random_engine() = engine;
}

}  // namespace cnnkit
