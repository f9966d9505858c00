// SPDX-License-Identifier: MIT
// Restart policies: events in (a group restarted, time passed), decisions out (restart,
// restart after a delay, escalate to a site restart, discard the group's state).
//
// A policy is a pure function of its tunables (the object) and its persistent state (words in
// the group record, so that it survives a crash of the supervisor and a reboot of a
// disk-backed bank). Time is the controller's monotonic clock in ms: the controller never
// passes a time earlier than one it passed before (a clock that goes back counts as no time
// passed), so policies may subtract freely.
#ifndef HOTRESTART_POLICIES_RESTART_POLICY_HPP
#define HOTRESTART_POLICIES_RESTART_POLICY_HPP

#include <concepts>
#include <cstdint>
#include <span>

#include "group_tracker.hpp"

namespace hotrestart {

/// What to do after a member of a group failed.
struct restart_decision {
  enum class kind : std::uint8_t {
    restart,   ///< stop every member, rerun the direct ones after `delay_ms`
    escalate,  ///< site restart: every group restarted from persistent memory
    discard,   ///< like restart, but the group-keyed blocks are freed first (fresh state)
  };
  kind what = kind::restart;
  std::uint64_t delay_ms = 0;
  friend constexpr bool operator==(const restart_decision&, const restart_decision&) = default;
};

using policy_span = std::span<std::uint32_t>;
using policy_cspan = std::span<const std::uint32_t>;

namespace detail::ctl {
constexpr std::uint64_t get64(policy_cspan s, std::size_t i) {
  return std::uint64_t{s[i]} | (std::uint64_t{s[i + 1]} << 32);
}
constexpr void set64(policy_span s, std::size_t i, std::uint64_t v) {
  s[i] = static_cast<std::uint32_t>(v);
  s[i + 1] = static_cast<std::uint32_t>(v >> 32);
}
}  // namespace detail::ctl

/// restart_policy
///
// clang-format off
/// | member                          | meaning                                                      |
/// |---------------------------------|--------------------------------------------------------------|
/// | `P::policy_id` (u32)            | recorded in the state; a state made by another policy is refused (`layout_mismatch`) |
/// | `P::state_words` (u32)          | words of state it uses, at most `policy_words`               |
/// | `p.valid()` -> bool             | tunables usable; `create`/`open` give `bad_tunables` if not  |
/// | `p.init(s, now)`                | fresh state for a new group                                  |
/// | `p.on_restart(s, now)` -> `restart_decision` | a member failed: update state, decide            |
/// | `p.on_time(s, now)`             | time passed (decay); never decides anything                  |
/// | `p.check(cs)` -> bool           | a state read back from the region is usable (else `corrupt`) |
// clang-format on
template <class P>
concept restart_policy = requires(const P& p, policy_span s, policy_cspan cs, std::uint64_t now) {
  { P::policy_id } -> std::convertible_to<std::uint32_t>;
  { P::state_words } -> std::convertible_to<std::uint32_t>;
  requires P::state_words <= policy_words;
  { p.valid() } -> std::same_as<bool>;
  { p.init(s, now) } -> std::same_as<void>;
  { p.on_restart(s, now) } -> std::same_as<restart_decision>;
  { p.on_time(s, now) } -> std::same_as<void>;
  { p.check(cs) } -> std::same_as<bool>;
};

/// The ChorusOS restart counter: +1 per group restart, -1 per full `interval_ms` elapsed since
/// the last decay (never below 0), escalate when it reaches `max_badness` (0 = never). The
/// counter starts again from 0 after an escalation. State: counter, last decay time (u64).
struct chorus_counter {
  static constexpr std::uint32_t policy_id = 0x52484331u;  // "1CHR"
  static constexpr std::uint32_t state_words = 3;
  std::uint64_t interval_ms = 3000;
  std::uint32_t max_badness = 25;

  constexpr bool valid() const { return interval_ms != 0; }
  constexpr void init(policy_span s, std::uint64_t now) const {
    s[0] = 0;
    detail::ctl::set64(s, 1, now);
  }
  constexpr void on_time(policy_span s, std::uint64_t now) const {
    const std::uint64_t last = detail::ctl::get64(s, 1);
    if (s[0] == 0 || now < last) {  // at 0 no credit builds up
      if (s[0] == 0) detail::ctl::set64(s, 1, now);
      return;
    }
    const std::uint64_t k = (now - last) / interval_ms;
    if (k >= s[0]) {
      s[0] = 0;
      detail::ctl::set64(s, 1, now);
    } else {
      s[0] -= static_cast<std::uint32_t>(k);
      detail::ctl::set64(s, 1, last + k * interval_ms);
    }
  }
  constexpr restart_decision on_restart(policy_span s, std::uint64_t now) const {
    on_time(s, now);
    if (s[0] != 0xFFFFFFFFu) s[0] += 1;
    if (max_badness != 0 && s[0] >= max_badness) {
      init(s, now);
      return {restart_decision::kind::escalate, 0};
    }
    return {};
  }
  constexpr bool check(policy_cspan) const { return true; }
  /// The counter in a state (for status displays and tests).
  static constexpr std::uint32_t counter(policy_cspan s) { return s[0]; }
};
static_assert(restart_policy<chorus_counter>);

/// Erlang/OTP-style intensity and period: escalate when this restart makes `intensity`
/// restarts within the last `period_ms` (Erlang's "more than MaxR" is intensity = MaxR + 1).
/// State: count, then up to `max_intensity` restart times (u64), oldest first.
struct sliding_window {
  static constexpr std::uint32_t policy_id = 0x57444E31u;  // "1NDW"
  static constexpr std::uint32_t max_intensity = 8;
  static constexpr std::uint32_t state_words = 1 + 2 * max_intensity;
  std::uint32_t intensity = 5;
  std::uint64_t period_ms = 10000;

  constexpr bool valid() const {
    return intensity >= 1 && intensity <= max_intensity && period_ms != 0;
  }
  constexpr void init(policy_span s, std::uint64_t) const {
    for (std::uint32_t i = 0; i < state_words; ++i) s[i] = 0;
  }
  constexpr void on_time(policy_span s, std::uint64_t now) const {
    std::uint32_t keep = 0;
    for (std::uint32_t i = 0; i < s[0] && i < max_intensity; ++i) {
      const std::uint64_t t = detail::ctl::get64(s, 1 + 2 * i);
      if (now - t < period_ms) detail::ctl::set64(s, 1 + 2 * keep++, t);
    }
    for (std::uint32_t i = keep; i < max_intensity; ++i) detail::ctl::set64(s, 1 + 2 * i, 0);
    s[0] = keep;
  }
  constexpr restart_decision on_restart(policy_span s, std::uint64_t now) const {
    on_time(s, now);
    if (s[0] == max_intensity) {  // full: forget the oldest
      for (std::uint32_t i = 0; i + 1 < max_intensity; ++i)
        detail::ctl::set64(s, 1 + 2 * i, detail::ctl::get64(s, 3 + 2 * i));
      s[0] -= 1;
    }
    detail::ctl::set64(s, 1 + 2 * s[0], now);
    s[0] += 1;
    if (s[0] >= intensity) {
      init(s, now);
      return {restart_decision::kind::escalate, 0};
    }
    return {};
  }
  constexpr bool check(policy_cspan s) const { return s[0] <= max_intensity; }
  static constexpr std::uint32_t restarts_in_window(policy_cspan s) { return s[0]; }
};
static_assert(restart_policy<sliding_window>);

/// Exponential backoff: restart after base, 2 base, 4 base ... up to `cap_ms`; after a healthy
/// period (no restart for `healthy_ms`) the next delay is `base_ms` again. Never escalates.
/// State: consecutive restarts, time of the last restart (u64).
struct exponential_backoff {
  static constexpr std::uint32_t policy_id = 0x464B4231u;  // "1BKF"
  static constexpr std::uint32_t state_words = 3;
  std::uint64_t base_ms = 100;
  std::uint64_t cap_ms = 30000;
  std::uint64_t healthy_ms = 60000;

  constexpr bool valid() const { return base_ms != 0 && cap_ms >= base_ms && healthy_ms != 0; }
  constexpr void init(policy_span s, std::uint64_t now) const {
    s[0] = 0;
    detail::ctl::set64(s, 1, now);
  }
  constexpr void on_time(policy_span s, std::uint64_t now) const {
    if (s[0] != 0 && now - detail::ctl::get64(s, 1) >= healthy_ms) s[0] = 0;
  }
  constexpr restart_decision on_restart(policy_span s, std::uint64_t now) const {
    on_time(s, now);
    if (s[0] != 0xFFFFFFFFu) s[0] += 1;
    detail::ctl::set64(s, 1, now);
    std::uint64_t d = base_ms;
    for (std::uint32_t i = 1; i < s[0] && d < cap_ms; ++i) d = d > cap_ms / 2 ? cap_ms : d * 2;
    return {restart_decision::kind::restart, d < cap_ms ? d : cap_ms};
  }
  constexpr bool check(policy_cspan) const { return true; }
};
static_assert(restart_policy<exponential_backoff>);

/// Adds the discard-state decision to any policy: after `threshold` consecutive restarts
/// (restarts not separated by `healthy_ms` without one), decide `discard` so that the group's
/// blocks are freed and it starts fresh; 0 = never. An escalation of the inner policy wins.
/// State: consecutive count, last restart time (u64), then the inner policy's state.
template <restart_policy Inner>
struct discard_after {
  static constexpr std::uint32_t policy_id = Inner::policy_id ^ 0x44530000u;
  static constexpr std::uint32_t state_words = 3 + Inner::state_words;
  static_assert(state_words <= policy_words, "inner policy state too large for discard_after");
  Inner inner{};
  std::uint32_t threshold = 5;
  std::uint64_t healthy_ms = 60000;

  constexpr bool valid() const { return inner.valid() && healthy_ms != 0; }
  constexpr void init(policy_span s, std::uint64_t now) const {
    s[0] = 0;
    detail::ctl::set64(s, 1, now);
    inner.init(s.subspan(3), now);
  }
  constexpr void on_time(policy_span s, std::uint64_t now) const {
    if (s[0] != 0 && now - detail::ctl::get64(s, 1) >= healthy_ms) s[0] = 0;
    inner.on_time(s.subspan(3), now);
  }
  constexpr restart_decision on_restart(policy_span s, std::uint64_t now) const {
    if (s[0] != 0 && now - detail::ctl::get64(s, 1) >= healthy_ms) s[0] = 0;
    if (s[0] != 0xFFFFFFFFu) s[0] += 1;
    detail::ctl::set64(s, 1, now);
    restart_decision d = inner.on_restart(s.subspan(3), now);
    if (d.what == restart_decision::kind::escalate) {
      s[0] = 0;
    } else if (threshold != 0 && s[0] >= threshold) {
      s[0] = 0;
      d.what = restart_decision::kind::discard;
    }
    return d;
  }
  constexpr bool check(policy_cspan s) const { return inner.check(s.subspan(3)); }
  static constexpr std::uint32_t consecutive(policy_cspan s) { return s[0]; }
};
static_assert(restart_policy<discard_after<chorus_counter>>);
static_assert(restart_policy<discard_after<sliding_window>>);

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_RESTART_POLICY_HPP
