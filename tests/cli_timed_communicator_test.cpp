// TimedCommunicator (tools/timed_communicator.hpp), which `cnnkit bench --gradient-groups` uses to
// report the time of the sums across ranks: it passes each call on unchanged and, when asked,
// books a barrier before an exchange or all-gather as waiting, the call itself as transfer.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "../tools/timed_communicator.hpp"

namespace cnnkit::cli {
namespace {

// One process whose barrier and collective calls take known times (sleeps), so the booked
// seconds have known lower bounds.
class SlowSingleProcess final : public Communicator {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  std::string name() const override { return "slow single process"; }
  void exchange(const std::byte* send, std::span<const std::size_t> send_counts, std::byte* receive,
                std::span<const std::size_t>) override {
    std::this_thread::sleep_for(kCall);
    std::copy_n(send, send_counts[0], receive);
  }
  void all_gather(const std::byte* send, std::byte* receive,
                  std::span<const std::size_t> receive_counts) override {
    std::this_thread::sleep_for(kCall);
    std::copy_n(send, receive_counts[0], receive);
  }
  void broadcast(std::byte*, std::size_t, std::size_t) override {}
  bool any(bool flag) override { return flag; }
  void barrier() override {
    ++barriers;
    std::this_thread::sleep_for(kBarrier);
  }
  [[noreturn]] void abort(int) override { std::abort(); }

  static constexpr std::chrono::milliseconds kCall{10};
  static constexpr std::chrono::milliseconds kBarrier{30};
  int barriers = 0;
};

TEST(TimedCommunicator, PassesTheDataOnAndBooksTheBarrierAsWaitingAndTheCallAsTransfer) {
  SlowSingleProcess inner;
  TimedCommunicator timed(inner);
  timed.set_barrier_before_sums(true);
  const std::vector<std::byte> send{std::byte{1}, std::byte{2}, std::byte{3}};
  std::vector<std::byte> receive(3);
  const std::vector<std::size_t> counts{3};
  timed.exchange(send.data(), counts, receive.data(), counts);
  EXPECT_EQ(receive, send);
  std::vector<std::byte> gathered(3);
  timed.all_gather(send.data(), gathered.data(), counts);
  EXPECT_EQ(gathered, send);
  EXPECT_TRUE(timed.any(true));
  EXPECT_FALSE(timed.any(false));
  EXPECT_EQ(timed.rank(), 0u);
  EXPECT_EQ(timed.size(), 1u);
  EXPECT_EQ(timed.name(), "slow single process");

  // Two barriers of at least 30 ms each before the two calls of at least 10 ms each.
  EXPECT_EQ(inner.barriers, 2);
  EXPECT_GE(timed.wait_seconds(), 0.060);
  EXPECT_GE(timed.transfer_seconds(), 0.020);
  timed.barrier();
  EXPECT_EQ(inner.barriers, 3);
  EXPECT_GE(timed.wait_seconds(), 0.090);

  // Without the barriers each call counts in full as transfer.
  timed.reset();
  timed.set_barrier_before_sums(false);
  timed.exchange(send.data(), counts, receive.data(), counts);
  EXPECT_EQ(inner.barriers, 3);
  EXPECT_EQ(timed.wait_seconds(), 0.0);
  EXPECT_GE(timed.transfer_seconds(), 0.010);
}

}  // namespace
}  // namespace cnnkit::cli
