// SPDX-License-Identifier: MIT
// Hang detection's scheduling with an injected clock: the supervisor's loop, reduced to what
// decides when it wakes (heartbeat.hpp), driven by a simulated clock that advances by exactly
// the wait the loop chose. A hang is acted on at deadline + 1 ms of that clock, whatever the
// other timeouts of the loop; a run that beats in time is never taken for hung.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "../../tools/hrctl/heartbeat.hpp"

using hrctl::hang_watch;

namespace {
struct sim_run {
  hang_watch w;
  std::vector<std::uint64_t> beats;  ///< clock times at which it sends a heartbeat
  std::optional<std::uint64_t> killed_at;
};

// Runs the loop until `until`; `other_wait` is the loop's other timeout (reruns, stops, ...).
void simulate(std::vector<sim_run>& runs, std::uint64_t until, std::uint64_t other_wait) {
  std::uint64_t now = 0;
  while (now < until) {
    std::vector<hang_watch> watched;
    for (sim_run& r : runs) {
      if (r.killed_at) continue;
      for (std::uint64_t b : r.beats)
        if (b <= now && b > r.w.last_ms) r.w.last_ms = b;
      if (hrctl::hung(r.w, now)) {
        r.killed_at = now;
        continue;
      }
      watched.push_back(r.w);
    }
    std::uint64_t wait = hrctl::wait_before_hang(watched, now, other_wait);
    // A heartbeat wakes nobody: the loop learns of it at its next pass, as the supervisor does.
    now += wait == 0 ? 1 : wait;
  }
}
}  // namespace

TEST_CASE("a silent run is killed at its deadline + 1 ms, whatever the loop's other waits") {
  for (std::uint64_t other : {1ull, 7ull, 100ull, 250ull, 1000ull}) {
    std::vector<sim_run> runs{{{0, 500}, {}, {}}, {{30, 200}, {}, {}}};
    simulate(runs, 5000, other);
    REQUIRE(runs[0].killed_at.has_value());
    REQUIRE(runs[1].killed_at.has_value());
    CHECK(*runs[0].killed_at == 501);
    CHECK(*runs[1].killed_at == 231);
  }
}

TEST_CASE("a run that beats within its deadline is never killed; when it stops, it is") {
  std::vector<sim_run> runs{{{0, 500}, {}, {}}};
  for (std::uint64_t b = 400; b <= 4000; b += 400) runs[0].beats.push_back(b);
  simulate(runs, 10000, 250);
  REQUIRE(runs[0].killed_at.has_value());
  // Its last beat at 4000: found hung at the first pass after 4500, within 1 ms plus the time
  // it takes the loop to see that beat (it wakes for the old deadline, then waits again).
  CHECK(*runs[0].killed_at >= 4501);
  CHECK(*runs[0].killed_at <= 4501 + 1);
}

TEST_CASE("the wait: capped, 0 once hung, the earliest deadline first") {
  const hang_watch ws[] = {{100, 500}, {0, 300}};
  CHECK(hrctl::wait_before_hang({}, 0, 100) == 100);
  CHECK(hrctl::wait_before_hang(ws, 0, 1000) == 301);
  CHECK(hrctl::wait_before_hang(ws, 250, 1000) == 51);
  CHECK(hrctl::wait_before_hang(ws, 301, 1000) == 0);
  CHECK_FALSE(hrctl::hung(ws[1], 300));
  CHECK(hrctl::hung(ws[1], 301));
}
