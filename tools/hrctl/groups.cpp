// SPDX-License-Identifier: MIT
// Groups: finding or making one by id or name, holding one (stopped on request, given up on),
// stopping one gracefully, and killing one without a supervisor (hrctl kill -g).
#include "supervisor.hpp"

#include "rescue.hpp"

#include <signal.h>

#include <algorithm>
#include <cstring>

namespace hrctl {

namespace {
std::string name_of(const process_view& p) {
  return std::string(p.name());
}
}  // namespace
// A group id that starts a new group: nothing of the previous group of that id stays (name,
// flags, sockets, hold, outcome), except the termination count a waiting hrctl run watches.
void supervisor::reset_group_slot(std::uint32_t gid) {
  group_slot* g = rt_.group(gid);
  if (g == nullptr) return;
  g->name_len = 0;
  std::memset(g->name, 0, sizeof g->name);
  g->flags = 0;
  g->heartbeat_ms = 0;
  g->listen_count = 0;
  for (std::uint32_t k = 0; k < max_listen; ++k) {
    g->listen_addr[k] = 0;
    g->listen_port[k] = 0;
    if (listen_record* r = rt_.group_listen(gid, k)) *r = listen_record{};
  }
  store(g->pending_outcome, static_cast<std::uint32_t>(outcome_none));
  store(g->held, static_cast<std::uint32_t>(hold_none));
  g->hold_code = 0;
  g->escalations = 0;
  g->last_escalation_ms = 0;
  g->stop_timeout_ms = 0;
}

result<std::uint32_t> supervisor::resolve_group(std::uint32_t gid, std::string_view name,
                                                bool create) {
  if (gid == no_group && !name.empty()) {
    for (std::uint32_t i = 0; i < rt_.max_groups(); ++i) {
      const group_slot* g = rt_.group(i);
      if (ctl_->group_info(i) && std::string_view(g->name, g->name_len) == name) return i;
    }
    if (!create) return fail(errc::unknown_group, "no group of that name");
    auto n = ctl_->new_group(now());
    if (!n) return n;
    reset_group_slot(*n);
    group_slot* g = rt_.group(*n);
    g->name_len = static_cast<std::uint32_t>(std::min<std::size_t>(name.size(), 32));
    std::memcpy(g->name, name.data(), g->name_len);
    return n;
  }
  if (gid == no_group) gid = 0;
  if (!create) {
    auto gi = ctl_->group_info(gid);
    if (!gi) return fail(gi.error());
    return gid;
  }
  auto was = ctl_->group_info(gid);
  auto r = ctl_->open_group(now(), gid);
  if (r && !was) reset_group_slot(gid);
  return r;
}

void supervisor::hold(std::uint32_t gid, std::uint32_t why, int code) {
  if (group_slot* gs = rt_.group(gid)) {
    gs->hold_code = static_cast<std::uint32_t>(code);
    store(gs->held, why);
  }
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const pending_run& p) { return p.gid == gid; }),
                 pending_.end());
  standby_drop_group(gid);  // a held group's members stay stopped: no next instance waits
}

bool supervisor::held(std::uint32_t gid) const {
  const group_slot* gs = rt_.group(gid);
  return gs != nullptr && load(gs->held) != hold_none;
}

// An operator runs a held group again (hrctl run -g, upgrade): the hold ends and, if
// `restart`, the group restarts (its direct members run again; no failure counted).
void supervisor::resume_held(std::uint32_t gid, bool restart) {
  group_slot* gs = rt_.group(gid);
  if (gs == nullptr || load(gs->held) == hold_none) return;
  log("group %u: resumed (it was held: %s)", gid,
      load(gs->held) == hold_gave_up ? "given up on" : "stopped on request");
  store(gs->held, static_cast<std::uint32_t>(hold_none));
  gs->hold_code = 0;
  gs->escalations = 0;
  stops_.erase(gid);
  if (restart) drive([&](auto& sink) { return ctl_->restart_group(now(), gid, sink); });
}

std::uint64_t supervisor::stop_timeout_of(std::uint32_t gid, std::uint64_t asked) const {
  if (asked != 0) return asked;
  const group_slot* gs = rt_.group(gid);
  return gs != nullptr && gs->stop_timeout_ms != 0 ? gs->stop_timeout_ms : stop_timeout_ms_;
}

// A graceful stop: SIGTERM to every member now, SIGKILL to those left at the deadline
// (check_stops). The group is held from now on: ends are not reported as failures, clean exits
// still count (the group may terminate meanwhile).
void supervisor::begin_stop(std::uint32_t gid, std::uint64_t timeout_ms, int code) {
  hold(gid, hold_stopped, code);
  bool any = false;
  for (const run_state& r : runs_)
    if (r.pid > 0 && r.gid == gid) {
      signal_run(r, SIGTERM);
      any = true;
    }
  if (!any) {
    log("group %u stopped: held in the bank (hrctl run -g %u resumes it)", gid, gid);
    if (gid == own_) own_outcome_ = code;
    return;
  }
  stops_[gid] = stop_state{now() + timeout_ms, false};
  log("group %u: stopping: SIGTERM sent to its members; SIGKILL in %llu ms", gid,
      static_cast<unsigned long long>(timeout_ms));
}

void supervisor::stop_group(std::uint32_t gid, int sig) {
  if (ctl_->group_info(gid)) begin_stop(gid, stop_timeout_of(gid, 0), 128 + sig);
}

void supervisor::check_stops() {
  const std::uint64_t t = now();
  for (auto it = stops_.begin(); it != stops_.end();) {
    const std::uint32_t gid = it->first;
    bool left = false;
    for (std::uint32_t id = 0; id < runs_.size(); ++id) {
      const run_state& r = runs_[id];
      if (r.pid <= 0 || r.gid != gid) continue;
      left = true;
      if (t >= it->second.deadline_ms && !it->second.killed) {
        auto pv = ctl_->process_info(id);
        log.warn("group %u: %s (pid %d) still running after SIGTERM: SIGKILL", gid,
                 pv ? name_of(*pv).c_str() : "?", r.pid);
        signal_run(r, SIGKILL);
      }
    }
    if (t >= it->second.deadline_ms) it->second.killed = true;
    if (left) {
      ++it;
      continue;
    }
    const group_slot* gs = rt_.group(gid);
    if (ctl_->group_info(gid) && gs != nullptr && load(gs->held) == hold_stopped) {
      log("group %u stopped: held in the bank (hrctl run -g %u resumes it)", gid, gid);
      if (gid == own_) own_outcome_ = static_cast<int>(gs->hold_code);
    }
    it = stops_.erase(it);
  }
}

// Another group than the own one has members running, reruns due or a stop going on.
bool supervisor::others_active() const {
  for (const run_state& r : runs_)
    if (r.pid > 0 && r.gid != own_) return true;
  for (const pending_run& p : pending_)
    if (p.gid != own_) return true;
  for (const auto& [gid, st] : stops_)
    if (gid != own_) return true;
  return false;
}

// The own group still has something under way that decides how it ends.
bool supervisor::own_busy() const {
  for (const pending_run& p : pending_)
    if (p.gid == own_) return true;
  return stops_.count(own_) != 0;
}

int supervisor::kill_group_now(std::uint32_t gid, const std::string& name) {
  auto g = resolve_group(gid, name, false);
  if (!g) {
    std::fprintf(stderr, "hrctl kill: %s\n", describe(g.error()).text);
    return exit_unknown;
  }
  // This group's members that still run (no supervisor watches them): killed by the stops.
  (void)ctl_->for_each_member(*g, [&](const process_view& p) {
    const proc_slot* s = rt_.proc(p.id);
    if (s == nullptr || p.state != process_state::running) return;
    const int pid = load(s->pid);
    if (load(s->handle) != p.handle) return;
    const int pfd = open_image_pidfd(pid, load(s->start_time), member_uid());
    if (pfd >= 0) runs_[p.id] = run_state{pid, pfd, false, p.handle, *g, now()};
  });
  if (group_slot* gs = rt_.group(*g))
    store(gs->pending_outcome, static_cast<std::uint32_t>(outcome_killed));
  drive([&](auto& sink) { return ctl_->kill_group(now(), *g, sink); });
  std::printf("group killed\n");
  release_node_lease();  // (no run was started: the lease is free again at once)
  return exit_ok;
}

}  // namespace hrctl
