// SPDX-License-Identifier: MIT
// The supervisor under a service manager (systemd.hpp): READY=1 once the members it waits for
// are ready, a STATUS= line, WATCHDOG=1 from the supervision loop, STOPPING=1, and
// EXTEND_TIMEOUT_USEC while a bank is checked at start. Outside a service every function here
// returns at once, so hrctl behaves as it always did.
//
// The watchdog is pinged only from serve()'s loop (and its shutdown loop): a stopped or hung
// supervisor misses its pings and the service manager acts; a hung member is never the
// manager's business (its heartbeat deadline restarts its group, and nothing in the loop
// waits for a member).
#include "supervisor.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace hrctl {

namespace {
// A STATUS= line is sent when it changed, at most this often.
constexpr std::uint64_t status_every_ms = 250;
// A STATUS= line lists at most this many group names, then "+N".
constexpr std::size_t status_names = 4;
}  // namespace

// Before the bank is mapped and checked (open): a large bank may take a while (reading every
// table, hrctl check's validation), longer than a unit's start timeout allows. The budget is
// generous: 10 s plus 1 s per 64 MiB of bank file.
void supervisor::service_extend_for_bank(const std::string& path) {
  if (!service().under_service()) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  const std::uint64_t mib64 = static_cast<std::uint64_t>(st.st_size) >> 26;
  const std::uint64_t usec = (10 + mib64) * 1000000ull;
  (void)sd_notify_state("EXTEND_TIMEOUT_USEC=" + std::to_string(usec));
}

// At serve()'s start: the members READY=1 waits for. hrctl run: the direct members of its
// group; hrctl serve: those of every group not held (running now, adopted or rerun).
void supervisor::service_begin() {
  if (!service().under_service()) return;
  const std::uint64_t wd = service().watchdog_usec / 1000;
  ping_every_ms_ = wd == 0 ? 0 : std::max<std::uint64_t>(1, wd / 4);
  for (std::uint32_t gid = 0; gid < ctl_->max_groups(); ++gid) {
    if (own_ != no_group && gid != own_) continue;
    auto g = ctl_->group_info(gid);
    if (!g || g->terminating || held(gid)) continue;
    (void)ctl_->for_each_member(gid, [&](const process_view& p) {
      if (p.kind == process_kind::direct && p.state != process_state::exited_clean)
        ready_wait_.push_back(p.id);
    });
  }
  service_pass(now());
}

// Ready: gone (its group ended or is held, it exited cleanly) or, running, ready as --ready
// says.
bool supervisor::member_ready(std::uint32_t id, std::uint64_t t) const {
  auto p = ctl_->process_info(id);
  if (!p || !ctl_->group_info(p->gid) || held(p->gid)) return true;
  if (p->state == process_state::exited_clean) return true;
  const run_state& r = runs_[id];
  if (r.pid <= 0) return false;
  const service_options& o = bo_.service;
  if (o.ready == ready_when::started) return true;
  if (const proc_slot* s = rt_.proc(id)) {
    const std::uint32_t ready = load(s->ready_run);
    if (ready != 0 && ready == load(s->runs)) return true;
  }
  return o.ready_after_ms != 0 && t >= r.started_ms && t - r.started_ms >= o.ready_after_ms;
}

// Every loop pass: the watchdog's ping when due, READY=1 once, STATUS= when it changed (at
// most every status_every_ms, unless `status_now`).
void supervisor::service_pass(std::uint64_t t, bool status_now) {
  if (!service().under_service()) return;
  if (ping_every_ms_ != 0 && t >= next_ping_ms_) {
    (void)sd_notify_state("WATCHDOG=1");
    next_ping_ms_ = t + ping_every_ms_;
  }
  std::string state;
  if (!ready_sent_ && !stopping_ &&
      std::all_of(ready_wait_.begin(), ready_wait_.end(),
                  [&](std::uint32_t id) { return member_ready(id, t); })) {
    ready_sent_ = true;
    state = "READY=1\n";
    log("ready: READY=1 sent to the service manager");
  }
  if (state.empty() && !status_now && status_ms_ != 0 && t - status_ms_ < status_every_ms) return;
  status_ms_ = std::max<std::uint64_t>(t, 1);
  std::string line = status_line();
  if (line == status_sent_ && state.empty()) return;
  state += "STATUS=" + line;
  if (sd_notify_state(state)) status_sent_ = std::move(line);
}

// How long the loop may wait before the next ping (at most `cap`).
long supervisor::service_wait(std::uint64_t t, long cap) const {
  if (ping_every_ms_ == 0) return cap;
  return std::min<long>(cap, next_ping_ms_ > t ? static_cast<long>(next_ping_ms_ - t) : 0);
}

void supervisor::service_stopping() {
  if (!service().under_service() || stopping_sent_) return;
  stopping_sent_ = true;
  status_sent_ = status_line();  // ("stopping: ..." from now on)
  (void)sd_notify_state("STOPPING=1\nSTATUS=" + status_sent_);
}

// "2 groups (web, 1): 3 members running, 1 restart; last crash: web/worker killed by SIGSEGV",
// after "stopping: " once a stop began.
std::string supervisor::status_line() const {
  std::uint32_t groups = 0, restarts = 0, held_groups = 0, running = 0;
  std::string names;
  for (std::uint32_t gid = 0; gid < ctl_->max_groups(); ++gid) {
    auto g = ctl_->group_info(gid);
    if (!g) continue;
    ++groups;
    restarts += g->restarts;
    if (held(gid)) ++held_groups;
    if (groups <= status_names) names += (names.empty() ? "" : ", ") + group_label(gid);
  }
  if (groups > status_names) names += ", +" + std::to_string(groups - status_names);
  for (const run_state& r : runs_)
    if (r.pid > 0) ++running;
  std::string s = stopping_sent_ ? "stopping: " : "";
  s += std::to_string(groups) + (groups == 1 ? " group" : " groups");
  if (groups != 0) s += " (" + names + ")";
  s += ": " + std::to_string(running) + (running == 1 ? " member" : " members") + " running, " +
       std::to_string(restarts) + (restarts == 1 ? " restart" : " restarts");
  if (held_groups != 0) s += ", " + std::to_string(held_groups) + " held";
  if (!last_crash_.empty()) s += "; last crash: " + last_crash_;
  return s;
}

// A group's name, or its id when it has none.
std::string supervisor::group_label(std::uint32_t gid) const {
  const group_slot* gs = rt_.group(gid);
  if (gs == nullptr || gs->name_len == 0 || gs->name_len > sizeof gs->name)
    return std::to_string(gid);
  return std::string(gs->name, gs->name_len);
}

}  // namespace hrctl
