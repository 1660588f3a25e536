// When a team that may shrink runs on its caller alone: once the caller has waited twice within
// kConfirm for a worker that was not running (another process had its core), the pool's teams run
// on the caller alone for a while, and for twice as long each time the next try fails again, up
// to kMaxBackoff. A worker whose core is taken runs in scheduler slices of milliseconds: every
// meeting of a team (a barrier, the end of a loop) that falls into a gap waits for the slice to
// end, so on such a machine one thread is faster than two; once the other core is free again, the
// next try finds its worker on time and the team stays. A single late worker is not enough: on a
// virtual machine the host stops a virtual CPU now and then on an idle machine too, and one
// such stop says nothing about the next step. Only the caller holding the pool calls it (no
// atomics).
#pragma once

#include <algorithm>
#include <chrono>

namespace cnnkit::runtime {

class TeamBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  // The first time alone: a few training steps, long against the cost of a failed try (one
  // scheduler slice), short against a run.
  static constexpr Clock::duration kFirstBackoff = std::chrono::milliseconds(20);
  static constexpr Clock::duration kMaxBackoff = std::chrono::seconds(1);
  // A late worker this long after the last one continues the same busy spell: the backoff
  // grows; later, the core was free in between and the backoff starts again from the first.
  static constexpr Clock::duration kForget = std::chrono::seconds(2);
  // A second late worker this soon after a first one starts a busy spell: a taken core makes the
  // team late at nearly every meeting, many times within it.
  static constexpr Clock::duration kConfirm = std::chrono::milliseconds(100);

  // Whether a team may run at `now`.
  bool may_team(Clock::time_point now) const { return now >= alone_until_; }

  // Whether `now` falls into a busy spell (the backoff's time alone and kForget after the last
  // late worker): the team's threads then spin only briefly before they sleep.
  bool in_busy_spell(Clock::time_point now) const {
    return in_spell_ && now - last_late_ <= kForget + backoff_;
  }

  // The caller waited at `now` for a worker that was not running.
  void worker_late(Clock::time_point now) {
    const bool spell_goes_on = in_busy_spell(now);
    const bool spell_starts = !spell_goes_on && seen_late_ && now - last_late_ <= kConfirm;
    if (spell_starts) backoff_ = kFirstBackoff;
    in_spell_ = spell_goes_on || spell_starts;
    if (in_spell_) {
      alone_until_ = now + backoff_;
      backoff_ = std::min<Clock::duration>(2 * backoff_, kMaxBackoff);
    }
    last_late_ = now;
    seen_late_ = true;
  }

 private:
  Clock::time_point alone_until_{};
  Clock::time_point last_late_{};
  Clock::duration backoff_ = kFirstBackoff;
  bool seen_late_ = false;
  bool in_spell_ = false;
};

}  // namespace cnnkit::runtime
