// SPDX-License-Identifier: MIT
// hrctl's restart policy (hotrestart/policies/runtime_policy.hpp): one type that selects a controller
// model at run time. Each kind decides exactly as the model it selects (wrapped in
// discard_after), on the same state words, and refuses unusable tunables.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include <hotrestart/policies/runtime_policy.hpp>

using namespace hotrestart;

namespace {
template <class Model>
void same_decisions(const runtime_policy& p, const Model& m) {
  std::array<std::uint32_t, policy_words> a{}, b{};
  p.init(a, 0);
  m.init(b, 0);
  CHECK(a == b);
  // Restarts close together, a pause, more restarts: decisions and state words agree.
  const std::uint64_t times[] = {10, 20, 30, 40, 50, 5000, 5010, 5020, 90000, 90010, 90020, 90030};
  for (std::uint64_t t : times) {
    p.on_time(a, t);
    m.on_time(b, t);
    CHECK(a == b);
    CHECK(p.on_restart(a, t + 1) == m.on_restart(b, t + 1));
    CHECK(a == b);
    CHECK(p.check(a));
  }
}
}  // namespace

TEST_CASE("runtime_policy decides as the model it selects") {
  runtime_policy p;
  p.chorus = {1000, 3};
  p.window = {2, 60000};
  p.backoff = {100, 400, 3000};
  p.discard_threshold = 4;
  p.healthy_ms = 2000;
  SUBCASE("chorus") {
    p.kind = policy_kind::chorus;
    same_decisions(p, discard_after<chorus_counter>{p.chorus, 4, 2000});
  }
  SUBCASE("window") {
    p.kind = policy_kind::window;
    same_decisions(p, discard_after<sliding_window>{p.window, 4, 2000});
  }
  SUBCASE("backoff") {
    p.kind = policy_kind::backoff;
    same_decisions(p, discard_after<exponential_backoff>{p.backoff, 4, 2000});
  }
}

TEST_CASE("runtime_policy: the counters it shows are the model's") {
  runtime_policy p;
  p.kind = policy_kind::chorus;
  p.chorus = {1000, 25};
  p.discard_threshold = 5;
  std::array<std::uint32_t, policy_words> s{};
  p.init(s, 0);
  (void)p.on_restart(s, 1);
  (void)p.on_restart(s, 2);
  CHECK(runtime_policy::counter(s) == 2);
  CHECK(runtime_policy::consecutive(s) == 2);
  p.kind = policy_kind::window;
  p.window = {5, 10000};
  p.init(s, 0);
  (void)p.on_restart(s, 1);
  CHECK(runtime_policy::counter(s) == 1);
}

TEST_CASE("runtime_policy: unusable tunables and unknown kinds are refused") {
  runtime_policy p;
  CHECK(p.valid());
  p.kind = static_cast<policy_kind>(3);
  CHECK_FALSE(p.valid());
  p.kind = policy_kind::backoff;
  p.backoff = {500, 100, 1000};  // cap below base
  CHECK_FALSE(p.valid());
  p.kind = policy_kind::window;
  p.window = {9, 1000};  // intensity above 8
  CHECK_FALSE(p.valid());
  p.kind = policy_kind::chorus;
  p.chorus = {0, 3};  // no interval
  CHECK_FALSE(p.valid());
  p.chorus = {3000, 3};
  p.healthy_ms = 0;
  CHECK_FALSE(p.valid());
  policy_kind k{};
  CHECK(parse_policy("window", k));
  CHECK(k == policy_kind::window);
  CHECK_FALSE(parse_policy("Window", k));
  CHECK(std::string_view(policy_name(policy_kind::backoff)) == "backoff");
}
