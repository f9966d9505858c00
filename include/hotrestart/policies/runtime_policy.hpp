// SPDX-License-Identifier: MIT
// The restart policy of an hrctl bank, chosen when the bank is created (hrctl --policy):
// the controller's models (restart_policy.hpp) behind one type, so that one supervisor build
// drives any of them. Every choice is wrapped in discard_after (threshold 0 = never discard),
// so the state layout in the group record is the same for all: words 0..2 the consecutive
// restarts and the time of the last one, words 3.. the chosen model's own state.
// Pure (no OS call, no heap), like the models it selects.
#ifndef HOTRESTART_POLICIES_RUNTIME_POLICY_HPP
#define HOTRESTART_POLICIES_RUNTIME_POLICY_HPP

#include <cstdint>
#include <string_view>

#include "restart_policy.hpp"

namespace hotrestart {

/// Stored in runtime_header::policy.
enum class policy_kind : std::uint32_t { chorus = 0, window = 1, backoff = 2 };

constexpr const char* policy_name(policy_kind k) {
  switch (k) {
    case policy_kind::chorus: return "chorus";
    case policy_kind::window: return "window";
    case policy_kind::backoff: return "backoff";
  }
  return "?";
}

/// "chorus", "window", "backoff" -> the kind; false for anything else.
constexpr bool parse_policy(std::string_view s, policy_kind& out) {
  if (s == "chorus")
    out = policy_kind::chorus;
  else if (s == "window")
    out = policy_kind::window;
  else if (s == "backoff")
    out = policy_kind::backoff;
  else
    return false;
  return true;
}

struct runtime_policy {
  static constexpr std::uint32_t policy_id = 0x50525431u;  // "1TRP"
  static constexpr std::uint32_t state_words = policy_words;
  static_assert(discard_after<chorus_counter>::state_words <= state_words);
  static_assert(discard_after<sliding_window>::state_words <= state_words);
  static_assert(discard_after<exponential_backoff>::state_words <= state_words);

  policy_kind kind = policy_kind::chorus;
  chorus_counter chorus{};
  sliding_window window{};
  exponential_backoff backoff{};
  std::uint32_t discard_threshold = 0;  ///< 0: never discard
  std::uint64_t healthy_ms = 60000;     ///< resets the discard count (and backoff's)

  /// Calls f with the selected model (wrapped in discard_after) and returns what it returns.
  template <class F>
  constexpr decltype(auto) with(F&& f) const {
    switch (kind) {
      case policy_kind::window:
        return f(discard_after<sliding_window>{window, discard_threshold, healthy_ms});
      case policy_kind::backoff:
        return f(discard_after<exponential_backoff>{backoff, discard_threshold, healthy_ms});
      case policy_kind::chorus: break;
    }
    return f(discard_after<chorus_counter>{chorus, discard_threshold, healthy_ms});
  }

  constexpr bool valid() const {
    return static_cast<std::uint32_t>(kind) <= 2 && with([](const auto& p) { return p.valid(); });
  }
  constexpr void init(policy_span s, std::uint64_t now) const {
    with([&](const auto& p) { p.init(s, now); });
  }
  constexpr restart_decision on_restart(policy_span s, std::uint64_t now) const {
    return with([&](const auto& p) { return p.on_restart(s, now); });
  }
  constexpr void on_time(policy_span s, std::uint64_t now) const {
    with([&](const auto& p) { p.on_time(s, now); });
  }
  constexpr bool check(policy_cspan s) const {
    return with([&](const auto& p) { return p.check(s); });
  }

  // For displays: what a group's state words say.
  /// Consecutive restarts counted toward a discard.
  static constexpr std::uint32_t consecutive(policy_cspan s) { return s[0]; }
  /// chorus: the restart counter; window: restarts within the period; backoff: restarts in a
  /// row (the next delay is base * 2^(n) capped).
  static constexpr std::uint32_t counter(policy_cspan s) { return s[3]; }
};
static_assert(restart_policy<runtime_policy>);

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_RUNTIME_POLICY_HPP
