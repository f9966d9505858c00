// SPDX-License-Identifier: MIT
// Restart policies on their own: pure functions of tunables, state words and time.
#include <doctest/doctest.h>

#include <array>

#include <hotrestart/policies/restart_policy.hpp>

using namespace hotrestart;
using kind = restart_decision::kind;

namespace {
struct state {
  std::array<std::uint32_t, policy_words> w{};
  policy_span s() { return w; }
};
}  // namespace

TEST_CASE("chorus_counter: +1 per restart, -1 per full interval, never below 0") {
  chorus_counter p{3000, 25};
  state st;
  p.init(st.s(), 0);
  SUBCASE("counter at 0 stays 0 and builds no credit") {
    p.on_time(st.s(), 100000);
    CHECK(chorus_counter::counter(st.s()) == 0);
    CHECK(p.on_restart(st.s(), 100000) == restart_decision{});
    CHECK(chorus_counter::counter(st.s()) == 1);
    p.on_time(st.s(), 100000 + 2999);  // no credit from the idle 100 s
    CHECK(chorus_counter::counter(st.s()) == 1);
    p.on_time(st.s(), 100000 + 3000);
    CHECK(chorus_counter::counter(st.s()) == 0);
  }
  SUBCASE("decay at the interval edges") {
    for (int i = 0; i < 3; ++i) p.on_restart(st.s(), 1000);
    CHECK(chorus_counter::counter(st.s()) == 3);
    p.on_time(st.s(), 1000 + 2999);
    CHECK(chorus_counter::counter(st.s()) == 3);
    p.on_time(st.s(), 1000 + 3000);
    CHECK(chorus_counter::counter(st.s()) == 2);
    p.on_time(st.s(), 1000 + 5999);  // the partial interval is kept, not lost
    CHECK(chorus_counter::counter(st.s()) == 2);
    p.on_time(st.s(), 1000 + 6000);
    CHECK(chorus_counter::counter(st.s()) == 1);
    p.on_time(st.s(), 1000 + 60000);
    CHECK(chorus_counter::counter(st.s()) == 0);
  }
}

TEST_CASE("chorus_counter: max_badness 0 never escalates") {
  chorus_counter p{3000, 0};
  state st;
  p.init(st.s(), 0);
  for (int i = 0; i < 1000; ++i) CHECK(p.on_restart(st.s(), 5).what == kind::restart);
  CHECK(chorus_counter::counter(st.s()) == 1000);
}

TEST_CASE("chorus_counter: max_badness 1 escalates at the first restart") {
  chorus_counter p{3000, 1};
  state st;
  p.init(st.s(), 0);
  CHECK(p.on_restart(st.s(), 0).what == kind::escalate);
  CHECK(chorus_counter::counter(st.s()) == 0);  // fresh after the escalation
  CHECK(p.on_restart(st.s(), 10).what == kind::escalate);
}

TEST_CASE("chorus_counter: max_badness 25 escalates at the 25th restart within decay") {
  chorus_counter p{};  // 3000 ms, 25
  state st;
  p.init(st.s(), 0);
  for (int i = 1; i <= 24; ++i)
    CHECK(p.on_restart(st.s(), 100u * static_cast<unsigned>(i)).what == kind::restart);
  CHECK(chorus_counter::counter(st.s()) == 24);
  CHECK(p.on_restart(st.s(), 2500).what == kind::escalate);
  SUBCASE("restarts one interval apart never escalate") {
    for (std::uint64_t t = 1; t <= 100; ++t)
      CHECK(p.on_restart(st.s(), 10000 + t * 3000).what == kind::restart);
    CHECK(chorus_counter::counter(st.s()) == 1);
  }
  SUBCASE("decay between restarts delays the escalation") {
    for (int i = 0; i < 24; ++i) p.on_restart(st.s(), 10000);
    p.on_time(st.s(), 13000);                                   // 24 -> 23
    CHECK(p.on_restart(st.s(), 13000).what == kind::restart);   // 24
    CHECK(p.on_restart(st.s(), 13000).what == kind::escalate);  // 25
  }
}

TEST_CASE("sliding_window: intensity restarts within the period escalate") {
  sliding_window p{3, 1000};
  REQUIRE(p.valid());
  state st;
  p.init(st.s(), 0);
  CHECK(p.on_restart(st.s(), 0).what == kind::restart);
  CHECK(p.on_restart(st.s(), 500).what == kind::restart);
  SUBCASE("third inside the window") {
    CHECK(p.on_restart(st.s(), 999).what == kind::escalate);
  }
  SUBCASE("the first one slid out at exactly the period") {
    CHECK(p.on_restart(st.s(), 1000).what == kind::restart);
    CHECK(sliding_window::restarts_in_window(st.s()) == 2);
    CHECK(p.on_restart(st.s(), 1499).what == kind::escalate);
  }
  CHECK_FALSE(sliding_window{0, 1000}.valid());
  CHECK_FALSE(sliding_window{sliding_window::max_intensity + 1, 1000}.valid());
  CHECK_FALSE(sliding_window{2, 0}.valid());
}

TEST_CASE("sliding_window: max intensity keeps exactly that many times") {
  sliding_window p{sliding_window::max_intensity, 100};
  state st;
  p.init(st.s(), 0);
  for (std::uint32_t i = 1; i < sliding_window::max_intensity; ++i)
    CHECK(p.on_restart(st.s(), i).what == kind::restart);
  CHECK(p.on_restart(st.s(), 50).what == kind::escalate);
  CHECK(sliding_window::restarts_in_window(st.s()) == 0);
}

TEST_CASE("exponential_backoff: doubles up to the cap, resets after a healthy period") {
  exponential_backoff p{100, 1000, 5000};
  state st;
  p.init(st.s(), 0);
  std::uint64_t t = 0;
  const std::uint64_t expect[] = {100, 200, 400, 800, 1000, 1000};
  for (std::uint64_t e : expect) {
    const auto d = p.on_restart(st.s(), t += 10);
    CHECK(d.what == kind::restart);
    CHECK(d.delay_ms == e);
  }
  CHECK(p.on_restart(st.s(), t + 4999).delay_ms == 1000);        // not yet healthy
  CHECK(p.on_restart(st.s(), t + 4999 + 5000).delay_ms == 100);  // healthy: back to base
  CHECK_FALSE(exponential_backoff{0, 10, 10}.valid());
  CHECK_FALSE(exponential_backoff{20, 10, 10}.valid());
}

TEST_CASE("discard_after: K consecutive restarts decide discard; a healthy period resets") {
  discard_after<chorus_counter> p{{3000, 0}, 3, 10000};
  state st;
  p.init(st.s(), 0);
  CHECK(p.on_restart(st.s(), 100).what == kind::restart);
  CHECK(p.on_restart(st.s(), 200).what == kind::restart);
  CHECK(p.on_restart(st.s(), 300).what == kind::discard);
  CHECK(discard_after<chorus_counter>::consecutive(st.s()) == 0);
  CHECK(p.on_restart(st.s(), 400).what == kind::restart);
  CHECK(p.on_restart(st.s(), 400 + 10000).what == kind::restart);  // healthy: count 1
  CHECK(p.on_restart(st.s(), 400 + 10001).what == kind::restart);  // 2
  CHECK(p.on_restart(st.s(), 400 + 10002).what == kind::discard);  // 3
  SUBCASE("escalation wins over discard") {
    discard_after<chorus_counter> q{{3000, 2}, 2, 10000};
    state s2;
    q.init(s2.s(), 0);
    CHECK(q.on_restart(s2.s(), 1).what == kind::restart);
    CHECK(q.on_restart(s2.s(), 2).what == kind::escalate);
  }
  SUBCASE("threshold 0 never discards") {
    discard_after<chorus_counter> q{{3000, 0}, 0, 10000};
    state s2;
    q.init(s2.s(), 0);
    for (int i = 0; i < 100; ++i) CHECK(q.on_restart(s2.s(), 1).what == kind::restart);
  }
}
