// Ranks as threads of one process, for tests of collective code without mpirun: each rank runs
// the body on its own thread with a Communicator whose collective calls meet at a barrier and copy
// from the other ranks' buffers. A rank that throws leaves the others waiting: the test's timeout
// ends that.
#pragma once

#include <barrier>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cnnkit/communicator.hpp"

namespace cnnkit::testing {

class ThreadRanks {
 public:
  explicit ThreadRanks(std::size_t size)
      : size_(size),
        barrier_(static_cast<std::ptrdiff_t>(size)),
        sends_(size),
        send_counts_(size),
        flags_(size) {}

  // body(communicator of rank r) for every rank r at once; rethrows a rank's exception.
  void run(const std::function<void(Communicator&)>& body) {
    std::vector<std::exception_ptr> errors(size_);
    {
      std::vector<std::jthread> threads;
      for (std::size_t r = 0; r < size_; ++r) {
        threads.emplace_back([&, r] {
          Rank rank(*this, r);
          try {
            body(rank);
          } catch (...) {
            errors[r] = std::current_exception();
          }
        });
      }
    }
    for (const std::exception_ptr& error : errors) {
      if (error) std::rethrow_exception(error);
    }
  }

 private:
  class Rank final : public Communicator {
   public:
    Rank(ThreadRanks& ranks, std::size_t rank) : ranks_(ranks), rank_(rank) {}
    std::size_t rank() const override { return rank_; }
    std::size_t size() const override { return ranks_.size_; }
    std::string name() const override { return "threads"; }
    void exchange(const std::byte* send, std::span<const std::size_t> send_counts,
                  std::byte* receive, std::span<const std::size_t> receive_counts) override {
      ranks_.sends_[rank_] = send;
      ranks_.send_counts_[rank_] = send_counts;
      ranks_.barrier_.arrive_and_wait();
      std::size_t at = 0;
      for (std::size_t q = 0; q < ranks_.size_; ++q) {
        std::size_t from = 0;  // rank q's block for this rank: after its blocks for ranks < r
        for (std::size_t t = 0; t < rank_; ++t) from += ranks_.send_counts_[q][t];
        if (ranks_.send_counts_[q][rank_] != receive_counts[q]) {
          throw std::logic_error("ThreadRanks::exchange: the counts of two ranks differ");
        }
        std::memcpy(receive + at, ranks_.sends_[q] + from, receive_counts[q]);
        at += receive_counts[q];
      }
      ranks_.barrier_.arrive_and_wait();
    }
    void all_gather(const std::byte* send, std::byte* receive,
                    std::span<const std::size_t> receive_counts) override {
      ranks_.sends_[rank_] = send;
      ranks_.barrier_.arrive_and_wait();
      std::size_t at = 0;
      for (std::size_t q = 0; q < ranks_.size_; ++q) {
        std::memcpy(receive + at, ranks_.sends_[q], receive_counts[q]);
        at += receive_counts[q];
      }
      ranks_.barrier_.arrive_and_wait();
    }
    void broadcast(std::byte* data, std::size_t bytes, std::size_t root) override {
      ranks_.sends_[rank_] = data;
      ranks_.barrier_.arrive_and_wait();
      if (rank_ != root) std::memcpy(data, ranks_.sends_[root], bytes);
      ranks_.barrier_.arrive_and_wait();
    }
    bool any(bool flag) override {
      ranks_.flags_[rank_] = flag ? 1 : 0;
      ranks_.barrier_.arrive_and_wait();
      bool result = false;
      for (const char f : ranks_.flags_) result = result || f != 0;
      ranks_.barrier_.arrive_and_wait();
      return result;
    }
    void barrier() override { ranks_.barrier_.arrive_and_wait(); }
    [[noreturn]] void abort(int exit_code) override {
      throw std::runtime_error("ThreadRanks: abort(" + std::to_string(exit_code) + ")");
    }

   private:
    ThreadRanks& ranks_;
    std::size_t rank_;
  };

  std::size_t size_;
  std::barrier<> barrier_;
  std::vector<const std::byte*> sends_;
  std::vector<std::span<const std::size_t>> send_counts_;
  std::vector<char> flags_;
};

}  // namespace cnnkit::testing
