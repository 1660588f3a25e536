// TimedCommunicator: a Communicator that passes every call on to another and adds up the wall
// time spent in them, so that `cnnkit bench --gradient-groups` can say how much of a data-parallel
// step goes to the sums across ranks. A collective call's time includes waiting for the last rank
// to arrive; to tell the two apart, set_barrier_before_sums(true) precedes every exchange and
// all-gather with a barrier whose time counts as waiting (a barrier over shared memory takes
// microseconds, but it is one more meeting per call), and the call itself as transfer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <string>

#include "cnnkit/communicator.hpp"

namespace cnnkit::cli {

class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(Communicator& inner) : inner_(inner) {}

  std::size_t rank() const override { return inner_.rank(); }
  std::size_t size() const override { return inner_.size(); }
  std::string name() const override { return inner_.name(); }

  void exchange(const std::byte* send, std::span<const std::size_t> send_counts, std::byte* receive,
                std::span<const std::size_t> receive_counts) override {
    if (barrier_before_sums_) timed(wait_seconds_, [&] { inner_.barrier(); });
    timed(transfer_seconds_, [&] { inner_.exchange(send, send_counts, receive, receive_counts); });
  }
  void all_gather(const std::byte* send, std::byte* receive,
                  std::span<const std::size_t> receive_counts) override {
    if (barrier_before_sums_) timed(wait_seconds_, [&] { inner_.barrier(); });
    timed(transfer_seconds_, [&] { inner_.all_gather(send, receive, receive_counts); });
  }
  void broadcast(std::byte* data, std::size_t bytes, std::size_t root) override {
    timed(transfer_seconds_, [&] { inner_.broadcast(data, bytes, root); });
  }
  bool any(bool flag) override {
    bool result = false;
    timed(transfer_seconds_, [&] { result = inner_.any(flag); });
    return result;
  }
  void barrier() override {
    timed(wait_seconds_, [&] { inner_.barrier(); });
  }
  [[noreturn]] void abort(int exit_code) override {
    inner_.abort(exit_code);
    std::abort();  // not reached: the compiler does not carry [[noreturn]] through the virtual call
  }

  void set_barrier_before_sums(bool on) { barrier_before_sums_ = on; }
  // Seconds spent in barriers (waiting for the other ranks) and in the other collective calls,
  // since construction or reset().
  double wait_seconds() const { return wait_seconds_; }
  double transfer_seconds() const { return transfer_seconds_; }
  void reset() { wait_seconds_ = transfer_seconds_ = 0.0; }

 private:
  template <typename Call>
  static void timed(double& seconds, Call&& call) {
    const auto start = std::chrono::steady_clock::now();
    call();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  Communicator& inner_;
  bool barrier_before_sums_ = false;
  double wait_seconds_ = 0.0;
  double transfer_seconds_ = 0.0;
};

}  // namespace cnnkit::cli
