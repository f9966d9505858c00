// SPDX-License-Identifier: MIT
// What the controller asks of its runtime. The controller does no I/O: each event's state
// change is committed first, then the actions that follow from it go to a sink the runtime
// passes in (any callable taking `const action&`; no heap, no std::function).
#ifndef HOTRESTART_CONTROLLER_ACTIONS_HPP
#define HOTRESTART_CONTROLLER_ACTIONS_HPP

#include <concepts>
#include <cstdint>

namespace hotrestart {

// clang-format off
/// | kind               | fields used                 | the runtime should                                   |
/// |--------------------|-----------------------------|------------------------------------------------------|
/// | `stop`             | gid, process, handle        | stop that run of the member (its exit is then stale) |
/// | `run`              | gid, process, image, delay  | after `delay_ms`, rerun the direct member from `image`, then report `process_started` |
/// | `group_restarted`  | gid, delay                  | informational: a restart began                       |
/// | `discard_state`    | gid, count                  | informational: group-keyed blocks were freed (count) |
/// | `group_terminated` | gid, count                  | informational: blocks freed (count), gid reusable    |
/// | `group_blocked`    | gid                         | print `blocked_message(gid)`; once per episode       |
/// | `site_restart`     | gid (the escalating group, or `no_group`) | perform a site restart (POSIX: every group; MCU: reset), then call `site_restarted` |
// clang-format on
enum class action_kind : std::uint8_t {
  stop = 1,
  run,
  group_restarted,
  discard_state,
  group_terminated,
  group_blocked,
  site_restart,
};

inline constexpr std::uint32_t no_group = 0xFFFFFFFFu;

struct action {
  action_kind kind = action_kind::stop;
  std::uint32_t gid = no_group;
  std::uint32_t process = 0xFFFFFFFFu;
  std::uint32_t image = 0xFFFFFFFFu;
  std::uint64_t handle = 0;
  std::uint64_t delay_ms = 0;
  std::uint32_t count = 0;
};

/// action_sink: `out(a)` for `const action& a`; its result is ignored. It may call the
/// controller's const queries (the state is committed when it runs), not its events.
template <class S>
concept action_sink = std::invocable<S&, const action&>;

/// A sink that drops every action.
struct ignore_actions {
  void operator()(const action&) const {}
};
static_assert(action_sink<ignore_actions>);

}  // namespace hotrestart

#endif  // HOTRESTART_CONTROLLER_ACTIONS_HPP
