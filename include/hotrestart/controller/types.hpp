// SPDX-License-Identifier: MIT
// The controller's public value types: limits, what a run reports, what queries return.
#ifndef HOTRESTART_CONTROLLER_TYPES_HPP
#define HOTRESTART_CONTROLLER_TYPES_HPP

#include <array>
#include <cstdint>
#include <string_view>

#include "../policies/group_tracker.hpp"
#include "actions.hpp"
#include "region.hpp"

namespace hotrestart {

/// hrCtrl.maxGroups and hrCtrl.maxprocesses. max_processes above 65,536 is taken as 65,536
/// (as ChorusOS did); 0, or max_groups above 65,536, is `bad_tunables`.
struct controller_config {
  std::uint32_t max_groups = 32;
  std::uint32_t max_processes = 32;
};

constexpr std::uint32_t effective_max_processes(std::uint32_t mp) {
  return mp > process_limit_cap ? process_limit_cap : mp;
}

/// Bytes of the controller's region for these limits (default tracker): what the runtime
/// allocates for the `__HR_controller` block.
constexpr std::uint64_t controller_state_bytes(std::uint32_t max_groups,
                                               std::uint32_t max_processes) {
  return 4 * (detail::ctl::tracker_begin +
              table_tracker::area_words(max_groups, effective_max_processes(max_processes)));
}

/// A run of a process, as the runtime reports it.
struct process_start {
  std::uint32_t gid = 0;
  std::string_view name;  ///< unique in the group, 1..32 bytes, no NUL
  process_kind kind = process_kind::direct;
  std::uint64_t handle = 0;           ///< runtime's id of this run (pid); changes each run
  std::uint32_t image = no_image;     ///< image reference kept for reruns (first run's wins)
  std::uint32_t parent = no_process;  ///< indirect: the running member that spawned it
};

/// Whether an exit report changed anything. `stale`: not the current run of a running member
/// (for example the exit of a member the runtime stopped for a restart); ignored.
enum class event_outcome : std::uint8_t { applied, stale };

struct group_view {
  std::uint32_t gid = 0;
  bool terminating = false;
  bool blocked_reported = false;
  bool discard_pending = false;
  std::uint32_t epoch = 0;  ///< restarts of this group, site restarts included
  std::uint32_t members = 0;
  std::uint32_t running = 0;   ///< members running in the current epoch
  std::uint32_t clean = 0;     ///< members counted clean (detail::ctl::counts_clean)
  std::uint32_t restarts = 0;  ///< group restarts decided by the policy
  std::array<std::uint32_t, policy_words> policy{};
};

struct process_view {
  std::uint32_t id = no_process;
  std::uint32_t gid = no_group;
  process_kind kind = process_kind::direct;
  /// Effective state in the current epoch (an indirect member's clean exit before the last
  /// restart stays exited_clean: see detail::ctl::counts_clean).
  process_state state = process_state::not_rerun;
  process_state last_run =
      process_state::running;  ///< how its last run ended (stopped: by a restart)
  std::uint64_t handle = 0;
  std::uint32_t image = no_image;
  std::uint8_t name_len = 0;
  char name_buf[max_process_name] = {};
  std::string_view name() const { return {name_buf, name_len}; }
};

namespace detail::ctl {
inline group_view make_group_view(std::uint32_t gid, const group_rec& g) {
  group_view v;
  v.gid = gid;
  v.terminating = g[group_rec::status] == group_terminating;
  v.blocked_reported = (g[group_rec::flags] & flag_blocked_reported) != 0;
  v.discard_pending = (g[group_rec::flags] & flag_discard_pending) != 0;
  v.epoch = g[group_rec::epoch];
  v.members = g[group_rec::members];
  v.running = g[group_rec::running];
  v.clean = g[group_rec::clean];
  v.restarts = g[group_rec::restarts];
  for (std::uint32_t i = 0; i < policy_words; ++i) v.policy[i] = g[group_rec::policy_begin + i];
  return v;
}

// The effective state: a run from an older epoch ended with the last group restart.
inline process_view make_process_view(std::uint32_t id, const proc_rec& p, std::uint32_t epoch) {
  process_view v;
  v.id = id;
  v.gid = p[proc_rec::gid];
  v.kind = static_cast<process_kind>(p.kind());
  const auto stored = static_cast<process_state>(p.state());
  const bool current = p[proc_rec::run_epoch] == epoch;
  v.state = current || counts_clean(p, epoch) ? stored : process_state::not_rerun;
  v.last_run = !current && stored == process_state::running ? process_state::stopped : stored;
  v.handle = p.handle();
  v.image = p[proc_rec::image];
  v.name_len = static_cast<std::uint8_t>(p.name_len());
  for (std::size_t k = 0; k < v.name_len && k < max_process_name; ++k)
    v.name_buf[k] = p.name_byte(k);
  return v;
}
}  // namespace detail::ctl

}  // namespace hotrestart

#endif  // HOTRESTART_CONTROLLER_TYPES_HPP
