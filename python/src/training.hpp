// What Model.fit takes from training.cpp's bindings besides the plain values.
#pragma once

#include <cnnkit/communicator.hpp>
#include <memory>

namespace cnnkit::python {

// The world communicator as Python holds it: one per process (cnnkit.distributed.world() keeps
// it), reset by close() (MPI_Finalize), after which get() throws.
struct PyCommunicator {
  std::unique_ptr<Communicator> communicator;

  Communicator& get();
};

}  // namespace cnnkit::python
