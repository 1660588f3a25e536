// Restores the thread count a test changed, also when the test fails half-way.
#pragma once

#include <cstddef>

#include "cnnkit/threading.hpp"

namespace cnnkit::testing {

class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  std::size_t saved_;
};

}  // namespace cnnkit::testing
