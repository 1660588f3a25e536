// The tool's side of data-parallel training (docs/DISTRIBUTED.md): which rank this process is,
// who speaks, and the start-up check that every rank sees the same data and model.
#pragma once

#include <cstddef>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>

#include "cnnkit/communicator.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit::cli {

// An error every rank meets at the same point with the same message: rank 0 prints it and every
// rank exits normally (an error one rank meets alone ends the job through Communicator::abort).
struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Under mpirun (even -np 1) by default: a fixed number of groups, not the rank count, so that 1,
// 2, 4 and 8 ranks give the same model (and one process does with --gradient-groups 8).
inline constexpr std::size_t kDefaultMpiGradientGroups = 8;

class Ranks {
 public:
  // The world communicator; under mpirun, the standard output of every rank but 0 goes nowhere.
  // Throws CommunicatorError (from world_communicator()).
  Ranks();
  ~Ranks();
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;

  Communicator& communicator() { return *communicator_; }
  std::size_t rank() const { return communicator_->rank(); }
  std::size_t size() const { return communicator_->size(); }
  bool distributed() const { return size() > 1; }
  bool speaks() const { return rank() == 0; }

 private:
  std::unique_ptr<Communicator> communicator_;
  std::streambuf* saved_cout_ = nullptr;
};

// Compares, across ranks, a fingerprint of the training and test data and one of the model
// (description, weights, training state and the run's settings); throws CollectiveError naming
// the ranks that differ from rank 0.
void require_same_everywhere(Communicator& communicator, const Dataset<float>& train,
                             const Dataset<float>& test, const Model<float>& model,
                             const TrainingState& state, const std::string& settings);

}  // namespace cnnkit::cli
