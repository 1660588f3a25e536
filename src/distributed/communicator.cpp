// The single-process communicator, and world_communicator(): the MPI plugin loaded lazily, only
// when mpirun started the process (docs/DISTRIBUTED.md, "MPI at run time").
#include "cnnkit/communicator.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace cnnkit {

namespace {

std::size_t sum(std::span<const std::size_t> counts) {
  std::size_t total = 0;
  for (const std::size_t count : counts) total += count;
  return total;
}

const char* environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// Where the plugin may be, in the order tried.
std::vector<std::string> plugin_candidates() {
  std::vector<std::string> candidates;
  if (const char* path = environment("CNNKIT_MPI_PLUGIN")) {
    candidates.emplace_back(path);  // set: the only place looked at
    return candidates;
  }
#ifdef CNNKIT_MPI_PLUGIN_BUILD_PATH
  candidates.emplace_back(CNNKIT_MPI_PLUGIN_BUILD_PATH);
#endif
#ifdef CNNKIT_MPI_PLUGIN_INSTALL_PATH
  candidates.emplace_back(CNNKIT_MPI_PLUGIN_INSTALL_PATH);
#endif
  return candidates;
}

}  // namespace

void SingleProcess::exchange(const std::byte* send, std::span<const std::size_t> send_counts,
                             std::byte* receive, std::span<const std::size_t> receive_counts) {
  if (send_counts.size() != 1 || receive_counts.size() != 1 ||
      send_counts[0] != receive_counts[0]) {
    throw std::invalid_argument(
        "SingleProcess::exchange: expected one count for rank 0, equal "
        "for sending and receiving");
  }
  if (send_counts[0] > 0) std::memcpy(receive, send, send_counts[0]);
}

void SingleProcess::all_gather(const std::byte* send, std::byte* receive,
                               std::span<const std::size_t> receive_counts) {
  if (receive_counts.size() != 1) {
    throw std::invalid_argument("SingleProcess::all_gather: expected one count, got " +
                                std::to_string(receive_counts.size()));
  }
  if (sum(receive_counts) > 0) std::memcpy(receive, send, receive_counts[0]);
}

void SingleProcess::abort(int exit_code) {
  std::_Exit(exit_code);
}

bool started_by_mpirun() {
  return environment("OMPI_COMM_WORLD_SIZE") != nullptr || environment("PMI_SIZE") != nullptr;
}

std::size_t launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK"}) {
    if (const char* value = environment(name)) return std::strtoull(value, nullptr, 10);
  }
  return 0;
}

std::unique_ptr<Communicator> world_communicator() {
  if (!started_by_mpirun()) return std::make_unique<SingleProcess>();
  // The handle stays open for the life of the process: the communicator's code lives in it.
  std::string errors;
  for (const std::string& path : plugin_candidates()) {
    void* plugin = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (plugin == nullptr) {
      errors += std::string(errors.empty() ? "" : "; ") + dlerror();
      continue;
    }
    using Create = Communicator* (*)(char* error, std::size_t error_size);
    const auto create = reinterpret_cast<Create>(dlsym(plugin, "cnnkit_mpi_communicator"));
    if (create == nullptr) {
      errors += std::string(errors.empty() ? "" : "; ") + path +
                ": expected the symbol cnnkit_mpi_communicator, found none";
      continue;
    }
    char error[512] = {};
    std::unique_ptr<Communicator> communicator(create(error, sizeof error));
    if (!communicator) throw CommunicatorError(std::string("MPI failed to start: ") + error);
    return communicator;
  }
  throw CommunicatorError(
      "started by mpirun, but cannot load cnnkit's MPI support (" +
      (errors.empty() ? std::string("this build has no MPI: configure with libopenmpi-dev "
                                    "installed, CNNKIT_WITH_MPI=ON")
                      : errors) +
      "); install openmpi-bin/libopenmpi3 on every machine, or run without mpirun");
}

}  // namespace cnnkit
