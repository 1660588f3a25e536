#include "distributed.hpp"

#include <cstdint>
#include <iostream>
#include <string_view>
#include <vector>

#include "cnnkit/model/model_description.hpp"

namespace cnnkit::cli {

namespace {

// FNV-1a, 64 bits: a fingerprint, not a defence against someone forging data.
class Fingerprint {
 public:
  void add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) hash_ = (hash_ ^ p[i]) * 0x100000001b3ULL;
  }
  void add(std::string_view text) { add(text.data(), text.size()); }
  template <typename V>
  void add(const std::vector<V>& values) {
    add(values.data(), values.size() * sizeof(V));
  }
  void add(const Dataset<float>& data) {
    add(data.inputs.data(), data.inputs.size() * sizeof(float));
    add(data.labels);
    for (const std::string& name : data.class_names) add(name);
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// Ranks whose value differs from rank 0's, as "1, 3".
std::string differing(const std::vector<std::uint64_t>& values) {
  std::string ranks;
  for (std::size_t q = 1; q < values.size(); ++q) {
    if (values[q] != values[0]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(q);
  }
  return ranks;
}

}  // namespace

Ranks::Ranks() : communicator_(world_communicator()) {
  if (communicator_->rank() != 0) saved_cout_ = std::cout.rdbuf(nullptr);  // output dropped
}

Ranks::~Ranks() {
  if (saved_cout_ != nullptr) std::cout.rdbuf(saved_cout_);
}

void require_same_everywhere(Communicator& communicator, const Dataset<float>& train,
                             const Dataset<float>& test, const Model<float>& model,
                             const TrainingState& state, const std::string& settings) {
  Fingerprint data, run;
  data.add(train);
  data.add(test);
  run.add(to_json(model.description));
  for (const Layer<float>* layer : model.graph.layers()) {
    for (const Parameter<float>* parameter : layer->parameters()) {
      run.add(parameter->value.data(), parameter->value.size() * sizeof(float));
    }
  }
  run.add(std::to_string(state.epoch) + " " + state.random_state + " " + settings);
  const std::uint64_t mine[2] = {data.value(), run.value()};
  std::vector<std::uint64_t> all(2 * communicator.size());
  communicator.all_gather(reinterpret_cast<const std::byte*>(mine),
                          reinterpret_cast<std::byte*>(all.data()),
                          std::vector<std::size_t>(communicator.size(), sizeof mine));
  std::vector<std::uint64_t> data_values, run_values;
  for (std::size_t q = 0; q < communicator.size(); ++q) {
    data_values.push_back(all[2 * q]);
    run_values.push_back(all[2 * q + 1]);
  }
  if (const std::string ranks = differing(data_values); !ranks.empty()) {
    throw CollectiveError(
        "expected the same data on every rank, got other training or test "
        "data than rank 0's on rank(s) " +
        ranks + " (the same files on every machine, or a shared folder)");
  }
  if (const std::string ranks = differing(run_values); !ranks.empty()) {
    throw CollectiveError(
        "expected the same model, checkpoint and options on every rank, got "
        "others than rank 0's on rank(s) " +
        ranks);
  }
}

}  // namespace cnnkit::cli
