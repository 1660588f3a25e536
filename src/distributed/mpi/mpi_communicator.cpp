// The MPI engine of the Communicator interface, built as a plugin of its own (libcnnkit_mpi.so,
// CNNKIT_WITH_MPI) that alone links libmpi: world_communicator() loads it when mpirun started the
// process, so a plain start never loads MPI, and a machine without MPI's library gets an error
// that says so instead of a loader failure before main().
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/communicator.hpp"

namespace {

class MpiCommunicator final : public cnnkit::Communicator {
 public:
  MpiCommunicator() {
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rank_ = static_cast<std::size_t>(rank);
    size_ = static_cast<std::size_t>(size);
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string text(version, static_cast<std::size_t>(length));
    text = text.substr(0, text.find_first_of(",\n"));  // "Open MPI v4.1.4"
    name_ = "MPI (" + text + ")";
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }
  std::string name() const override { return name_; }

  void exchange(const std::byte* send, std::span<const std::size_t> send_counts, std::byte* receive,
                std::span<const std::size_t> receive_counts) override {
    counts_and_places(send_counts, send_counts_, send_places_);
    counts_and_places(receive_counts, receive_counts_, receive_places_);
    MPI_Alltoallv(send, send_counts_.data(), send_places_.data(), MPI_BYTE, receive,
                  receive_counts_.data(), receive_places_.data(), MPI_BYTE, MPI_COMM_WORLD);
  }

  void all_gather(const std::byte* send, std::byte* receive,
                  std::span<const std::size_t> receive_counts) override {
    counts_and_places(receive_counts, receive_counts_, receive_places_);
    MPI_Allgatherv(send, receive_counts_[rank_], MPI_BYTE, receive, receive_counts_.data(),
                   receive_places_.data(), MPI_BYTE, MPI_COMM_WORLD);
  }

  void broadcast(std::byte* data, std::size_t bytes, std::size_t root) override {
    // In pieces MPI's int counts can hold.
    for (std::size_t done = 0; done < bytes; done += INT_MAX) {
      const std::size_t piece = std::min<std::size_t>(bytes - done, INT_MAX);
      MPI_Bcast(data + done, static_cast<int>(piece), MPI_BYTE, static_cast<int>(root),
                MPI_COMM_WORLD);
    }
  }

  bool any(bool flag) override {
    int mine = flag ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return all != 0;
  }

  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this is for the compiler
  }

 private:
  // MPI takes int counts and displacements; a gradient slice past 2 GB is far beyond any model
  // cnnkit trains, and is refused rather than truncated.
  static void counts_and_places(std::span<const std::size_t> counts, std::vector<int>& as_int,
                                std::vector<int>& places) {
    as_int.resize(counts.size());
    places.resize(counts.size());
    std::size_t place = 0;
    for (std::size_t q = 0; q < counts.size(); ++q) {
      if (counts[q] > INT_MAX || place > INT_MAX) {
        throw std::length_error("MpiCommunicator: expected messages below 2 GB, got " +
                                std::to_string(place + counts[q]) + " bytes");
      }
      as_int[q] = static_cast<int>(counts[q]);
      places[q] = static_cast<int>(place);
      place += counts[q];
    }
  }

  std::size_t rank_ = 0, size_ = 1;
  std::string name_;
  std::vector<int> send_counts_, send_places_, receive_counts_, receive_places_;
};

}  // namespace

// Starts MPI and returns the communicator of MPI_COMM_WORLD (the caller owns it), or null with a
// message in `error` when MPI does not start.
extern "C" __attribute__((visibility("default"))) cnnkit::Communicator* cnnkit_mpi_communicator(
    char* error, std::size_t error_size) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    if (MPI_Init(nullptr, nullptr) != MPI_SUCCESS) {
      std::snprintf(error, error_size, "MPI_Init failed");
      return nullptr;
    }
  }
  try {
    return new MpiCommunicator();  // handed to a std::unique_ptr by world_communicator()
  } catch (const std::exception& failure) {
    std::snprintf(error, error_size, "%s", failure.what());
    return nullptr;
  }
}
