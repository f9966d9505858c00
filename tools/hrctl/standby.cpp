// SPDX-License-Identifier: MIT
// Warm standbys (hrctl run --standby; docs/hrctl.md, "Warm standby"): for a member that asks,
// the supervisor keeps a next instance executed from the member's image and parked at its
// standby point (runtime/posix/include/hotrestart/posix/standby.hpp), and promotes it when the
// member's group restarts instead of starting the program again.
//
// A standby is never a second live instance: it knows nothing of the run it may become, holds
// no listening socket, and writes nowhere (its stdout and stderr are a pipe watched here: one
// byte before its promotion and it is killed). It has `standby_timeout_ms` to reach its standby
// point, else it is killed. Either way standby is disabled for the member and the log says why.
// A standby that ends while parked is made again, never counted as the group's crash; three
// such ends in a row without a promotion disable it too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "supervisor.hpp"

namespace hrctl {

namespace {
// A promoted standby's successor is made this long after the promotion, so that the run just
// promoted has the CPU for its restart first.
constexpr std::uint64_t remake_delay_ms = 20;
// Ends of a standby in a row (no promotion between them) after which standby is disabled.
constexpr std::uint32_t max_standby_failures = 3;

std::string ended_how(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by ") + signal_name(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}
}  // namespace

std::string supervisor::member_name(std::uint32_t id) const {
  auto pv = ctl_->process_info(id);
  return pv ? std::string(pv->name()) : std::string("?");
}

void supervisor::standby_record(std::uint32_t id, int pid, std::uint32_t state) {
  proc_slot* s = rt_.proc(id);
  if (s == nullptr) return;
  store(s->standby_pid, static_cast<std::int32_t>(pid));
  const std::uint32_t f = load(s->standby_flags) & ~std::uint32_t{standby_state_mask};
  store(s->standby_flags, f | state << standby_state_shift);
}

void supervisor::standby_want(std::uint32_t gid, const std::string& name, bool want,
                              std::uint32_t timeout_ms) {
  auto id = ctl_->find_process(gid, name);
  if (!id) return;
  proc_slot* s = rt_.proc(*id);
  if (s == nullptr) return;
  std::uint32_t f = load(s->standby_flags);
  // Asking again for a standby gives it another chance after it was disabled.
  f = want ? (f | standby_wanted) & ~std::uint32_t{standby_disabled}
           : f & ~std::uint32_t{standby_wanted | standby_disabled};
  store(s->standby_flags, f);
  store(s->standby_timeout_ms, want ? timeout_ms : 0u);
  standby_memo_.erase(*id);
  if (auto it = standbys_.find(*id); !want && it != standbys_.end()) {
    log("group %u: standby of %s (pid %d) killed: standby is no longer asked for", gid,
        name.c_str(), it->second.pid);
    standby_drop(*id);
  }
}

// A standby that could not be made or ended without a promotion: the next one waits a little
// longer each time; after max_standby_failures in a row standby is disabled (true).
bool supervisor::standby_failed(std::uint32_t id, std::uint64_t t) {
  standby_memo& memo = standby_memo_[id];
  ++memo.failures;
  memo.due_ms = t + 100ull * memo.failures;
  if (memo.failures < max_standby_failures) return false;
  if (proc_slot* s = rt_.proc(id))
    store(s->standby_flags, load(s->standby_flags) | standby_disabled);
  return true;
}

void supervisor::standby_disable(std::uint32_t id, const std::string& why) {
  const standby_run& sb = standbys_[id];
  const std::string name = member_name(id);
  log.warn("group %u: standby of %s (pid %d) %s: killed; standby disabled for %s", sb.gid,
           name.c_str(), sb.pid, why.c_str(), name.c_str());
  standby_drop(id);
  if (proc_slot* s = rt_.proc(id))
    store(s->standby_flags, load(s->standby_flags) | standby_disabled);
}

// Kills the standby (if it is still there), waits for it, and forgets it.
void supervisor::standby_drop(std::uint32_t id) {
  auto it = standbys_.find(id);
  if (it == standbys_.end()) return;
  standby_run& sb = it->second;
  if (sb.pid > 0) {
    (void)::kill(sb.pid, SIGKILL);
    int st = 0;
    while (::waitpid(sb.pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  for (int fd : {sb.pidfd, sb.chan, sb.guard})
    if (fd >= 0) ::close(fd);
  standbys_.erase(it);
  standby_record(id, 0, standby_none);
}

void supervisor::standby_drop_group(std::uint32_t gid) {
  std::vector<std::uint32_t> ids;
  for (const auto& [id, sb] : standbys_)
    if (sb.gid == gid) ids.push_back(id);
  for (std::uint32_t id : ids) standby_drop(id);
}

void supervisor::standby_drop_all() {
  while (!standbys_.empty()) standby_drop(standbys_.begin()->first);
}

void supervisor::standby_image_replaced(std::uint32_t image) {
  std::vector<std::uint32_t> ids;
  for (const auto& [id, sb] : standbys_)
    if (sb.image == image) ids.push_back(id);
  for (std::uint32_t id : ids) {
    log("group %u: standby of %s replaced (new image)", standbys_[id].gid, member_name(id).c_str());
    standby_drop(id);
    standby_memo_[id] = {};  // the new one is made at once
  }
}

// A new supervisor: no standby the bank records is this one's (they end on their own when
// their supervisor's end of the channel closes), and none is ever promoted.
void supervisor::standby_forget_recorded() {
  for (std::uint32_t id = 0; id < rt_.max_processes(); ++id)
    if (proc_slot* s = rt_.proc(id); s != nullptr && load(s->standby_pid) != 0)
      standby_record(id, 0, standby_none);
}

void supervisor::standby_make(std::uint32_t id, std::uint32_t gid, std::uint64_t t) {
  auto pv = ctl_->process_info(id);
  if (!pv || pv->image == no_image || !bank_trusted()) return;
  int sp[2] = {-1, -1};
  int gp[2] = {-1, -1};
  std::string err;
  int pid = -1;
  const std::vector<int> sockets = listeners_.member_fds(gid);
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0 ||
      ::pipe2(gp, O_CLOEXEC) != 0) {
    err = std::string("socketpair/pipe: ") + std::strerror(errno);
  } else {
    launch_plan plan;
    plan.id = id;
    plan.gid = gid;
    plan.image = pv->image;
    plan.listen_fds = sockets;  // (for their number: the standby gets placeholders)
    plan.out = gp[1];
    plan.err = gp[1];
    plan.standby_chan = sp[1];
    pid = launch_.start(plan, &err);
  }
  for (int fd : {sp[1], gp[1]})
    if (fd >= 0) ::close(fd);
  const std::string name(pv->name());
  if (pid <= 0) {
    for (int fd : {sp[0], gp[0]})
      if (fd >= 0) ::close(fd);
    const bool disabled = standby_failed(id, t);
    log.warn("group %u: cannot start a standby of %s: %s%s%s", gid, name.c_str(), err.c_str(),
             disabled ? "; standby disabled for " : "", disabled ? name.c_str() : "");
    return;
  }
  (void)::fcntl(gp[0], F_SETFL, O_NONBLOCK);
  standby_run sb;
  sb.pid = pid;
  sb.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (sb.pidfd < 0) {  // (descriptors exhausted?) unwatched, it could not be reaped: not kept
    const int e = errno;
    (void)::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    for (int fd : {sp[0], gp[0]}) ::close(fd);
    (void)standby_failed(id, t);
    log.warn("group %u: cannot watch the standby of %s: pidfd_open: %s", gid, name.c_str(),
             std::strerror(e));
    return;
  }
  sb.chan = sp[0];
  sb.guard = gp[0];
  sb.gid = gid;
  sb.image = pv->image;
  sb.sockets = sockets.size();
  sb.started_ms = t;
  standbys_[id] = sb;
  standby_record(id, pid, standby_starting);
}

// Makes the standbys that are due (members running, standby wanted, none yet, the group
// neither held nor being stopped) and kills those late to their standby point. Returns how
// long the loop may wait before the next of these is due (at most `cap`).
long supervisor::standby_pass(std::uint64_t t, long cap) {
  if (stopping_ || light_) return cap;
  long wait = cap;
  for (std::uint32_t id = 0; id < runs_.size(); ++id) {
    const proc_slot* s = rt_.proc(id);
    if (s == nullptr) continue;
    const std::uint32_t f = load(s->standby_flags);
    const bool want = (f & standby_wanted) != 0 && (f & standby_disabled) == 0;
    auto it = standbys_.find(id);
    if (it != standbys_.end()) {
      if (!want) {
        standby_drop(id);
        continue;
      }
      standby_run& sb = it->second;
      const std::uint32_t limit = load(s->standby_timeout_ms) != 0 ? load(s->standby_timeout_ms)
                                                                   : standby_default_timeout_ms;
      if (!sb.parked && t - sb.started_ms >= limit) {
        standby_disable(id,
                        "did not reach its standby point within " + std::to_string(limit) + " ms");
        continue;
      }
      if (!sb.parked) wait = std::min<long>(wait, static_cast<long>(sb.started_ms + limit - t));
      continue;
    }
    const run_state& r = runs_[id];
    if (!want || r.pid <= 0 || held(r.gid) || stops_.count(r.gid) != 0) continue;
    const standby_memo& memo = standby_memo_[id];
    if (memo.due_ms > t) {
      wait = std::min<long>(wait, static_cast<long>(memo.due_ms - t));
      continue;
    }
    standby_make(id, r.gid, t);
  }
  return std::max<long>(wait, 0);
}

void supervisor::standby_add_pollfds(std::vector<pollfd>& fds, std::vector<std::uint32_t>& ids) {
  for (const auto& [id, sb] : standbys_) {
    fds.push_back({sb.pidfd, POLLIN, 0});
    fds.push_back({sb.parked ? -1 : sb.chan, POLLIN, 0});  // (negative: ignored by poll)
    fds.push_back({sb.guard, POLLIN, 0});
    ids.push_back(id);
  }
}

// What the poll saw for each standby (three entries each, as standby_add_pollfds made them).
void supervisor::standby_on_poll(const pollfd* fds, const std::vector<std::uint32_t>& ids) {
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const std::uint32_t id = ids[k];
    auto it = standbys_.find(id);
    if (it == standbys_.end()) continue;
    standby_run& sb = it->second;
    const pollfd& pf = fds[3 * k];
    const pollfd& cf = fds[3 * k + 1];
    const pollfd& gf = fds[3 * k + 2];
    if (gf.fd >= 0 && (gf.revents & (POLLIN | POLLHUP)) != 0 && standby_guard_tripped(id)) continue;
    if (cf.fd >= 0 && (cf.revents & POLLIN) != 0 && !sb.parked) {
      char b = 0;
      const ssize_t n = ::recv(sb.chan, &b, 1, MSG_DONTWAIT);
      // (What it wrote before it said "parked" is in the guard by now: looked at first.)
      if (n == 1 && b == standby_parked_byte && !standby_guard_tripped(id)) {
        sb.parked = true;
        standby_record(id, sb.pid, standby_parked);
        log("group %u: standby of %s parked (pid %d)", sb.gid, member_name(id).c_str(), sb.pid);
      }
      if (standbys_.count(id) == 0) continue;
    }
    if ((pf.revents & (POLLIN | POLLHUP)) != 0) standby_reap(id);
  }
}

// The standby's output, read: anything there is a violation (the standby is killed and
// standby disabled: true). End of file: the standby closed its stdout and stderr (or ended).
bool supervisor::standby_guard_tripped(std::uint32_t id) {
  standby_run& sb = standbys_[id];
  if (sb.guard < 0) return false;
  char buf[256];
  const ssize_t n = ::read(sb.guard, buf, sizeof buf);
  if (n > 0) {  // (the start of what it wrote, for the operator: which line it was)
    std::string said;
    for (ssize_t i = 0; i < n && said.size() < 60; ++i) {
      const unsigned char c = static_cast<unsigned char>(buf[i]);
      if (c == '\n') break;
      said += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
    }
    standby_disable(id, "wrote to its output before its standby point (\"" + said + "\")");
    return true;
  }
  if (n == 0) {
    ::close(sb.guard);
    sb.guard = -1;
  }
  return false;
}

void supervisor::standby_reap(std::uint32_t id) {
  standby_run& sb = standbys_[id];
  int status = 0;
  const int w = ::waitpid(sb.pid, &status, WNOHANG);
  if (w == 0) return;  // not yet
  const std::string name = member_name(id);
  const std::string how = w == sb.pid ? ended_how(status) : std::string("ended");
  const bool parked = sb.parked;
  const std::uint32_t gid = sb.gid;
  sb.pid = 0;  // (reaped: standby_drop only closes and forgets)
  standby_drop(id);
  const bool disable = standby_failed(id, now());
  log.warn("group %u: standby of %s (pid %d) ended %s (%s): %s%s", gid, name.c_str(), w,
           parked ? "while parked" : "before its standby point", how.c_str(),
           disable ? "standby disabled for " : "made again", disable ? name.c_str() : "");
}

// The run `plan` describes, from the member's parked standby if it has one of the same image
// and sockets: its pid (and `pidfd`), or 0 (none: the run is started as usual). A standby not
// parked yet is kept for the next restart.
int supervisor::standby_promote(const launch_plan& plan, int& pidfd) {
  auto it = standbys_.find(plan.id);
  if (it == standbys_.end() || !it->second.parked) return 0;
  standby_run& sb = it->second;
  const std::string name = member_name(plan.id);
  if (sb.image != plan.image || sb.sockets != plan.listen_fds.size()) {
    log("group %u: standby of %s no longer matches the member (image or sockets changed): "
        "replaced",
        sb.gid, name.c_str());
    standby_drop(plan.id);
    return 0;
  }
  // What it wrote since it parked (nothing, unless another thread of it writes) disqualifies it.
  if (standby_guard_tripped(plan.id)) return 0;
  // The bank stops naming it as a standby first: from the message on, it is the run.
  standby_record(plan.id, 0, standby_none);
  std::string err;
  if (!launcher::promote(sb.chan, plan, &err)) {
    log.warn("group %u: cannot promote the standby of %s (pid %d): %s; started afresh", sb.gid,
             name.c_str(), sb.pid, err.c_str());
    standby_drop(plan.id);
    return 0;
  }
  const int pid = sb.pid;
  pidfd = sb.pidfd;
  for (int fd : {sb.chan, sb.guard})
    if (fd >= 0) ::close(fd);
  standbys_.erase(it);
  if (proc_slot* s = rt_.proc(plan.id))
    store(s->standby_promotions, load(s->standby_promotions) + 1);
  standby_memo_[plan.id] = standby_memo{now() + remake_delay_ms, 0};
  return pid;
}

}  // namespace hrctl
