// How a thread of cnnkit waits for another: spin a while, then sleep in the kernel.
// A thread that only spins keeps its core busy while the thread it waits for may be waiting for
// that very core (another process took the other one): each wait then lasts a scheduler time
// slice, milliseconds, instead of microseconds. A sleeping waiter frees its core, and the kernel
// moves the late thread there. The short spin first keeps the quick hand-overs of a quiet machine
// (a team's barrier, the next loop's start) free of a sleep and a wake-up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace cnnkit::runtime {

// How long a waiter spins before it sleeps. On a machine whose cores are free to the team: about
// as long as libgomp's threads spin, so that the gaps between the parallel loops of a step, and
// between the short calls of a program that calls a layer many times, do not put the team's
// threads to sleep (a sleeping thread takes tens of microseconds to wake, much longer where the
// host has parked the virtual CPU). In a busy spell (TeamBackoff: a worker was late twice
// within kConfirm, its core taken by another process), only as long as the gaps between a step's
// loops on a quiet machine: sleeping gives the core to the other process at once and makes the
// kernel favour the sleeper when its work is there. A time, not a count of pauses: a pause
// takes from a few to some 140 cycles depending on the CPU.
inline constexpr std::chrono::microseconds kQuietSpinTime{1000};
inline constexpr std::chrono::microseconds kSpinTime{50};
inline constexpr int kPausesPerClockCheck = 32;

// Sleeps in the kernel until `word` no longer holds `old` (acquire). The caller of a team
// also measures there whether its workers ran meanwhile (ThreadPool::caller_sleep).
void sleep_until_change(const std::atomic<std::uint32_t>& word, std::uint32_t old);

// How long the calling thread spins before it sleeps: kQuietSpinTime or kSpinTime as above, and
// zero for a thread of the pool whose partner last ran on the same CPU (the scheduler put both
// there), which can only go on once the waiter gives the CPU up.
std::chrono::microseconds spin_time();

inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Returns once word holds a value other than `old` (acquire).
inline void wait_for_change(const std::atomic<std::uint32_t>& word, std::uint32_t old) {
  if (word.load(std::memory_order_acquire) != old) return;
  const std::chrono::microseconds spin = spin_time();
  if (spin.count() == 0) {
    sleep_until_change(word, old);
    return;
  }
  const auto spin_until = std::chrono::steady_clock::now() + spin;
  do {
    for (int i = 0; i < kPausesPerClockCheck; ++i) {
      if (word.load(std::memory_order_acquire) != old) return;
      pause();
    }
  } while (std::chrono::steady_clock::now() < spin_until);
  sleep_until_change(word, old);
}

// Returns once `word` has reached `target` (acquire); it only ever counts up to it.
inline void wait_until(const std::atomic<std::uint32_t>& word, std::uint32_t target) {
  for (std::uint32_t seen = word.load(std::memory_order_acquire); seen != target;
       seen = word.load(std::memory_order_acquire)) {
    wait_for_change(word, seen);
  }
}

}  // namespace cnnkit::runtime
