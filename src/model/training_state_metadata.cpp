// The training state of a checkpoint in its metadata (training_state_metadata.hpp). Numbers are
// JSON where a value has structure (the history, the validation record); NaN, which JSON lacks,
// is written as null.
#include "model/training_state_metadata.hpp"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "cnnkit/random.hpp"
#include "io/json_structure.hpp"

namespace cnnkit::detail {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw std::invalid_argument(path + ": " + message);
}

std::size_t parse_count(const std::string& text, const std::string& key, const std::string& path) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    fail(path, "metadata " + key + ": expected a whole number, got '" + text + "'");
  }
  return value;
}

json number_or_null(double value) {
  return std::isfinite(value) ? json(value) : json(nullptr);
}

std::string history_to_json(const std::vector<EpochMetrics>& history) {
  json array = json::array();
  for (const EpochMetrics& m : history) {
    array.push_back({{"epoch", m.epoch},
                     {"train_loss", number_or_null(m.train_loss)},
                     {"train_accuracy", number_or_null(m.train_accuracy)},
                     {"test_loss", number_or_null(m.test_loss)},
                     {"test_accuracy", number_or_null(m.test_accuracy)},
                     {"seconds", number_or_null(m.seconds)}});
    // Only in runs with validation: other checkpoints keep their history as it was.
    if (!std::isnan(m.validation_loss) || !std::isnan(m.validation_accuracy)) {
      array.back()["validation_loss"] = number_or_null(m.validation_loss);
      array.back()["validation_accuracy"] = number_or_null(m.validation_accuracy);
    }
  }
  return array.dump();
}

// The metadata "validation" of a run with a validation split: its fraction, metric and best
// epoch so far (TrainingState).
std::string validation_to_json(const TrainingState& state) {
  return json{{"fraction", state.validation_fraction},
              {"monitor", state.monitor},
              {"best_epoch", state.best_epoch},
              {"best_metric", number_or_null(state.best_metric)}}
      .dump();
}

void validation_from_json(const std::string& text, const std::string& path, const Limits& limits,
                          TrainingState& state) {
  const auto bad = [&](const std::string& why) { fail(path, "metadata validation: " + why); };
  detail::check_json_structure(text, path + ": metadata validation", {.depth = limits.json_depth});
  json object;
  try {
    object = json::parse(text);
  } catch (const json::exception&) {
    bad("expected a JSON object, got invalid JSON");
  }
  if (!object.is_object() || !object.contains("fraction") || !object["fraction"].is_number() ||
      !object.contains("monitor") || !object["monitor"].is_string() ||
      !object.contains("best_epoch") || !object["best_epoch"].is_number_unsigned() ||
      !object.contains("best_metric") ||
      !(object["best_metric"].is_number() || object["best_metric"].is_null())) {
    bad("expected {\"fraction\": number, \"monitor\": string, \"best_epoch\": whole number, "
        "\"best_metric\": number or null}, got " +
        object.dump().substr(0, 120));
  }
  state.validation_fraction = object["fraction"].get<double>();
  state.monitor = object["monitor"].get<std::string>();
  state.best_epoch = object["best_epoch"].get<std::size_t>();
  if (object["best_metric"].is_number()) state.best_metric = object["best_metric"].get<double>();
  if (!(state.validation_fraction > 0 && state.validation_fraction < 1) ||
      (state.monitor != "loss" && state.monitor != "accuracy") || state.best_epoch > state.epoch) {
    bad("expected a fraction in (0, 1), a monitor \"loss\" or \"accuracy\" and a best epoch up "
        "to the checkpoint's epoch " +
        std::to_string(state.epoch) + ", got " + object.dump().substr(0, 120));
  }
}

std::vector<EpochMetrics> history_from_json(const std::string& text, const std::string& path,
                                            const Limits& limits) {
  const auto bad = [&](const std::string& why) { fail(path, "metadata history: " + why); };
  detail::check_json_structure(text, path + ": metadata history", {.depth = limits.json_depth});
  json array;
  try {
    array = json::parse(text);
  } catch (const json::parse_error& error) {
    bad(std::string("invalid JSON at byte ") + std::to_string(error.byte));
  } catch (const json::exception&) {
    bad("invalid JSON (a number out of range)");
  }
  if (!array.is_array()) bad("expected an array, got " + std::string(array.type_name()));
  std::vector<EpochMetrics> history;
  for (const json& entry : array) {
    if (!entry.is_object() || !entry.contains("epoch") || !entry["epoch"].is_number_unsigned()) {
      bad("expected objects with a whole-number epoch, got " + entry.dump());
    }
    EpochMetrics metrics;
    metrics.epoch = entry["epoch"].get<std::size_t>();
    const auto number = [&](const char* key, double& field) {
      if (!entry.contains(key) || entry[key].is_null()) return;
      if (!entry[key].is_number()) bad(std::string("expected a number for ") + key);
      field = entry[key].get<double>();
    };
    number("train_loss", metrics.train_loss);
    number("train_accuracy", metrics.train_accuracy);
    number("test_loss", metrics.test_loss);
    number("test_accuracy", metrics.test_accuracy);
    number("seconds", metrics.seconds);
    number("validation_loss", metrics.validation_loss);
    number("validation_accuracy", metrics.validation_accuracy);
    history.push_back(metrics);
  }
  return history;
}

}  // namespace

const std::string& metadata_at(const Metadata& metadata, const std::string& key,
                               const std::string& path) {
  const auto found = metadata.find(key);
  if (found == metadata.end()) fail(path, "expected the metadata key '" + key + "', got none");
  return found->second;
}

Metadata training_state_metadata(const TrainingState& state) {
  Metadata metadata;
  metadata["epoch"] = std::to_string(state.epoch);
  metadata["batch_size"] = std::to_string(state.batch_size);
  metadata["step"] = std::to_string(state.step);
  metadata["random_engine"] = state.random_state;
  metadata["seed"] = std::to_string(state.seed);
  metadata["history"] = history_to_json(state.history);
  if (state.validation_fraction > 0) metadata["validation"] = validation_to_json(state);
  return metadata;
}

TrainingState training_state_from_metadata(const Metadata& metadata, const std::string& path,
                                           const Limits& limits, bool has_schedule) {
  TrainingState state;
  state.epoch = parse_count(metadata_at(metadata, "epoch", path), "epoch", path);
  state.batch_size = parse_count(metadata_at(metadata, "batch_size", path), "batch_size", path);
  // The schedule's position. Checkpoints written before schedules have none; their descriptions
  // can only hold the constant schedule, for which it does not matter.
  if (const auto step = metadata.find("step"); step != metadata.end()) {
    state.step = parse_count(step->second, "step", path);
  } else if (has_schedule) {
    fail(path, "metadata: expected \"step\" (the learning-rate schedule's position), got none");
  }
  state.random_state = metadata_at(metadata, "random_engine", path);
  // A checkpoint written before the keyed random numbers has no seed: its runs drew none.
  if (const auto seed = metadata.find("seed"); seed != metadata.end()) {
    state.seed = parse_count(seed->second, "seed", path);
  }
  RandomEngine check;
  std::istringstream text(state.random_state);
  if (!(text >> check)) fail(path, "metadata random_engine: expected a std::mt19937_64 state");
  state.history = history_from_json(metadata_at(metadata, "history", path), path, limits);
  if (state.history.size() != state.epoch) {
    fail(path, "metadata history: expected " + std::to_string(state.epoch) +
                   " entries (one per completed epoch), got " +
                   std::to_string(state.history.size()));
  }
  if (const auto validation = metadata.find("validation"); validation != metadata.end()) {
    validation_from_json(validation->second, path, limits, state);
  }
  return state;
}

}  // namespace cnnkit::detail
