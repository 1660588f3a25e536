// When the pool's teams run on their caller alone after late workers (runtime/team_backoff.hpp):
// not after a single one; for the first backoff once a second follows within kConfirm, twice as
// long after each further one up to the maximum, and only after two again after a quiet spell;
// the busy spell those late workers make, in which the threads spin only briefly.
#include "runtime/team_backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace cnnkit::runtime {
namespace {

using std::chrono::milliseconds;
using Clock = TeamBackoff::Clock;

TEST(TeamBackoff, TeamsRunUntilAWorkerIsLate) {
  const TeamBackoff backoff;
  EXPECT_TRUE(backoff.may_team(Clock::time_point{}));
  EXPECT_TRUE(backoff.may_team(Clock::time_point{} + milliseconds(12345)));
}

TEST(TeamBackoff, ALateWorkerAloneChangesNothing) {
  TeamBackoff backoff;
  Clock::time_point now = Clock::time_point{} + milliseconds(1000);
  for (int i = 0; i < 5; ++i) {
    backoff.worker_late(now);
    EXPECT_TRUE(backoff.may_team(now)) << i;
    now += TeamBackoff::kConfirm + milliseconds(1);  // a stop of the host now and then
  }
}

TEST(TeamBackoff, ASecondLateWorkerSoonAfterMeansAloneForTheFirstBackoff) {
  TeamBackoff backoff;
  const Clock::time_point first = Clock::time_point{} + milliseconds(1000);
  backoff.worker_late(first);
  const Clock::time_point start = first + TeamBackoff::kConfirm;
  backoff.worker_late(start);
  EXPECT_FALSE(backoff.may_team(start));
  EXPECT_FALSE(backoff.may_team(start + milliseconds(19)));
  EXPECT_TRUE(backoff.may_team(start + milliseconds(20)));
}

// Each try after a backoff finds the worker late again: 20, 40, 80, ... ms, at most 1 s.
TEST(TeamBackoff, EachFailedTryDoublesTheTimeAloneUpToTheMaximum) {
  TeamBackoff backoff;
  Clock::time_point now = Clock::time_point{} + milliseconds(1000);
  backoff.worker_late(now - milliseconds(3));
  const long expected[] = {20, 40, 80, 160, 320, 640, 1000, 1000, 1000};
  for (const long alone : expected) {
    backoff.worker_late(now);
    EXPECT_FALSE(backoff.may_team(now + milliseconds(alone - 1))) << alone;
    EXPECT_TRUE(backoff.may_team(now + milliseconds(alone))) << alone;
    now += milliseconds(alone + 3);  // the try after the backoff, a few ms of team, late again
  }
}

TEST(TeamBackoff, AQuietSpellStartsAgainFromTheFirstBackoff) {
  TeamBackoff backoff;
  Clock::time_point now = Clock::time_point{} + milliseconds(1000);
  backoff.worker_late(now - milliseconds(3));
  backoff.worker_late(now);  // alone 20 ms
  now += milliseconds(25);
  backoff.worker_late(now);  // alone 40 ms, next 80
  // Longer than kForget plus the backoff after the end of the last time alone: the spell is
  // over, and a late worker is again only a first one.
  now += milliseconds(40) + TeamBackoff::kForget + milliseconds(81);
  backoff.worker_late(now);
  EXPECT_TRUE(backoff.may_team(now));
  now += milliseconds(5);
  backoff.worker_late(now);
  EXPECT_FALSE(backoff.may_team(now + milliseconds(19)));
  EXPECT_TRUE(backoff.may_team(now + milliseconds(20)));
}

// The threads spin long (runtime/wait.hpp) outside a busy spell: before any late worker, after
// single ones, and once kForget and the last backoff have passed since the last.
TEST(TeamBackoff, ABusySpellLastsFromTheConfirmingLateWorkerToKForgetAfterTheLast) {
  TeamBackoff backoff;
  Clock::time_point now = Clock::time_point{} + milliseconds(1000);
  EXPECT_FALSE(backoff.in_busy_spell(now));
  backoff.worker_late(now);
  EXPECT_FALSE(backoff.in_busy_spell(now));
  EXPECT_FALSE(backoff.in_busy_spell(now + milliseconds(50)));
  now += milliseconds(50);
  backoff.worker_late(now);  // alone 20 ms, the next backoff 40
  EXPECT_TRUE(backoff.in_busy_spell(now));
  EXPECT_TRUE(backoff.in_busy_spell(now + TeamBackoff::kForget + milliseconds(40)));
  EXPECT_FALSE(backoff.in_busy_spell(now + TeamBackoff::kForget + milliseconds(41)));
}

}  // namespace
}  // namespace cnnkit::runtime
