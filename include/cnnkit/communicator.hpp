// Communicator: how the processes of a data-parallel run talk to each other (docs/DISTRIBUTED.md).
// Ranks 0 .. size() - 1 run the same program; every call below is collective (every rank makes
// it, in the same order). The library needs only these few primitives: the fixed-order sum of
// the gradients (fixed_tree_sum.hpp) is built on exchange() and all_gather(), so another engine
// (Gloo, NCCL) is one more class, and no layer knows about any of them.
//
// The interface is header-only (inline virtual functions, no key function): the MPI engine lives
// in a plugin (libcnnkit_mpi.so) that the library loads only when the process was started by
// mpirun, and the plugin links nothing of cnnkit.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

namespace cnnkit {

class Communicator {
 public:
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  virtual ~Communicator() = default;

  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  // "single process", "MPI (Open MPI 4.1.4)": for messages and the run's first line.
  virtual std::string name() const = 0;

  // All-to-all of bytes: rank r sends send_counts[q] bytes (from `send`, packed in rank order) to
  // each rank q and receives receive_counts[q] bytes from each q (into `receive`, packed in rank
  // order). A rank's own part is copied.
  virtual void exchange(const std::byte* send, std::span<const std::size_t> send_counts,
                        std::byte* receive, std::span<const std::size_t> receive_counts) = 0;
  // Every rank's `send` (receive_counts[q] bytes from rank q) into `receive`, packed in rank order.
  virtual void all_gather(const std::byte* send, std::byte* receive,
                          std::span<const std::size_t> receive_counts) = 0;
  // `bytes` bytes of rank `root` into every rank's `data`.
  virtual void broadcast(std::byte* data, std::size_t bytes, std::size_t root) = 0;
  // True on every rank when `flag` is true on any rank (a stop request, an error).
  virtual bool any(bool flag) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job at once with this exit code (for an error one rank alone met: the
  // others would wait for it in the next collective call).
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// The default: one process, rank 0 of 1; every collective call is a copy or nothing.
class SingleProcess final : public Communicator {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  std::string name() const override { return "single process"; }
  void exchange(const std::byte* send, std::span<const std::size_t> send_counts, std::byte* receive,
                std::span<const std::size_t> receive_counts) override;
  void all_gather(const std::byte* send, std::byte* receive,
                  std::span<const std::size_t> receive_counts) override;
  void broadcast(std::byte*, std::size_t, std::size_t) override {}
  bool any(bool flag) override { return flag; }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override;
};

// MPI was asked for (the process was started by mpirun) but cannot be used: the plugin or the MPI
// library is missing, or MPI failed to start. The message says which and what to do.
struct CommunicatorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whether this process was started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE; MPICH and
// others set PMI_SIZE): only then is MPI started at all, so a plain start never spawns MPI's
// singleton daemon.
bool started_by_mpirun();
// The rank mpirun gave this process, read from the environment before MPI starts (0 without
// mpirun): lets the caller print an error on rank 0 alone even when MPI could not start.
std::size_t launcher_rank();

// The communicator of this process: SingleProcess without mpirun, else the MPI plugin (calls
// MPI_Init; MPI_Finalize when the communicator is destroyed). Throws CommunicatorError when
// mpirun started the process but MPI cannot be loaded or started. The plugin is looked for at
// $CNNKIT_MPI_PLUGIN, then where the build put it, then in the installed library folder.
std::unique_ptr<Communicator> world_communicator();

}  // namespace cnnkit
