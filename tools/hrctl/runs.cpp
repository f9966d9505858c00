// SPDX-License-Identifier: MIT
// Runs of members: a direct member's first run (hrctl run), registering a run with the
// controller and starting it (launcher.hpp), reruns, and stopping a run.
#include "supervisor.hpp"
#include "trace.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hrctl {

namespace {
int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string name_of(const process_view& p) {
  return std::string(p.name());
}
}  // namespace
int supervisor::start_direct(const run_options& ro, std::uint32_t& gid) {
  const int rc = start_direct_member(ro, gid);
  // The member's warm standby, as this run asks (made by the loop once the member runs).
  if (rc == exit_ok && gid != no_group)
    standby_want(gid, ro.name.empty() ? basename_of(ro.argv[0]) : ro.name, ro.standby,
                 ro.standby_timeout_ms);
  return rc;
}

int supervisor::start_direct_member(const run_options& ro, std::uint32_t& gid) {
  own_ = no_group;
  stop_timeout_ms_ = ro.stop_timeout_ms;
  std::uint32_t g0 = no_group;
  std::uint32_t num = 0;
  std::string gname;
  if (ro.group.empty())
    g0 = 0;
  else if (parse_u32(ro.group, num))
    g0 = num;
  else
    gname = ro.group;
  if (g0 != no_group && g0 >= rt_.max_groups()) {
    std::fprintf(stderr,
                 "hrctl: group %u out of range: this bank has groups 0..%u (--max-groups)\n", g0,
                 rt_.max_groups() - 1);
    return exit_unknown;
  }
  auto r = resolve_group(g0, gname, true);
  if (!r) {
    std::fprintf(stderr, "hrctl: cannot use group %s: %s\n", ro.group.c_str(),
                 describe(r.error()).text);
    return r.error().code == errc::group_limit ? exit_too_small : exit_refused;
  }
  gid = *r;
  own_ = gid;
  group_slot* gs = rt_.group(gid);
  if (ro.exit0_clean) gs->flags |= group_exit0_clean;
  if (ro.heartbeat_ms != 0) gs->heartbeat_ms = ro.heartbeat_ms;
  if (ro.stop_timeout_given) gs->stop_timeout_ms = ro.stop_timeout_ms;
  std::string err;
  if (!ro.listen.empty()) {
    std::vector<listen_record> want;
    for (const std::string& spec : ro.listen)
      if (std::string e = parse_listen(spec, want); !e.empty()) {
        std::fprintf(stderr, "hrctl: %s\n", e.c_str());
        return exit_usage;
      }
    for (const listen_record& r : want) listeners_.allow(r);
    if (int e = listeners_.open(*gs, gid, want, &err); e != exit_ok) {
      std::fprintf(stderr, "hrctl: %s\n", err.c_str());
      return e;
    }
  } else {
    ensure_listeners(gid);
  }
  const std::string name = ro.name.empty() ? basename_of(ro.argv[0]) : ro.name;
  // Already a member? It keeps the image it was registered with (as ChorusOS): another
  // program under its name is refused, not silently replaced by the recorded one.
  auto existing = ctl_->find_process(gid, name);
  if (existing) {
    auto pv = ctl_->process_info(*existing);
    program_file f;
    const std::string resolved =
        open_program(ro.argv[0], f) == program_problem::none ? f.path : ro.argv[0];
    if (f.fd >= 0) ::close(f.fd);
    if (pv && pv->image != no_image && runs_[*existing].pid <= 0)  // (not one that runs now)
      if (std::string other = other_program(pv->image, ro.argv, resolved); !other.empty()) {
        std::fprintf(stderr,
                     "hrctl: group %u already has a member %s, whose image in the bank runs %s; "
                     "it keeps that image. `hrctl upgrade -g %u --name %s -- PROGRAM [ARGS]` "
                     "replaces it; --name gives this program a member of its own\n",
                     gid, name.c_str(), other.c_str(), gid, name.c_str());
        return exit_refused;
      }
  }
  resume_held(gid, true);  // a held group: this run resumes it (its direct members rerun)
  if (existing) {
    auto pv = ctl_->process_info(*existing);
    // A clean exit is final (ChorusOS): running `hrctl run` again (to recover a killed
    // supervisor) supervises the group and does not run the member a second time.
    if (pv && pv->state == process_state::exited_clean) {
      log("group %u: %s exited cleanly before: it stays exited; supervising the group", gid,
          name.c_str());
      return exit_ok;
    }
    if (pv && pv->state == process_state::running) {
      log("group %u: %s is already running (pid %d); supervising it", gid, name.c_str(),
          rt_.proc(*existing) ? load(rt_.proc(*existing)->pid) : 0);
      return exit_ok;
    }
    if (pv && pv->image != no_image && bank_->find(image_block_name(pv->image))) {
      int pid = 0;
      const int rc =
          register_and_run(gid, name, process_kind::direct, pv->image, no_process, &pid, &err);
      if (rc != exit_ok) std::fprintf(stderr, "hrctl: %s\n", err.c_str());
      return rc;
    }
  }
  // A new member: its image into the bank, then its first run.
  program_file f;
  if (const int rc = open_program_or_say(ro.argv[0], f); rc != exit_ok) return rc;
  // The sizing rule, checked before the image is made: twice the restartable processes.
  if (std::string e = sizing_problem(ro.argv[0], image_bytes(f.bytes, ro.argv), 0); !e.empty()) {
    ::close(f.fd);
    std::fprintf(stderr, "hrctl: %s\n", e.c_str());
    return exit_too_small;
  }
  std::uint32_t image = 0;
  for (; image < 4u * rt_.max_processes() + 64u; ++image)
    if (!bank_->find(image_block_name(image))) break;
  auto b = bank_->find_or_create(hotrestart::detail::internal_access, image_block_name(image),
                                 image_bytes(f.bytes, ro.argv));
  if (!b) {
    ::close(f.fd);
    std::fprintf(stderr,
                 "hrctl: cannot keep the image of %s (%llu bytes) in the bank: %s\n"
                 "hrctl: sizing rule: the bank must hold at least twice the size of the "
                 "restartable processes (see hrctl run --help)\n",
                 ro.argv[0].c_str(), static_cast<unsigned long long>(f.bytes),
                 describe(b.error()).text);
    return exit_too_small;
  }
  auto w = write_image(*b, f, ro.argv, name);
  ::close(f.fd);
  if (!w) {
    (void)bank_->free(hotrestart::detail::internal_access, image_block_name(image));
    std::fprintf(stderr, "hrctl: cannot image %s: %s\n", ro.argv[0].c_str(),
                 describe(w.error()).text);
    return exit_program;
  }
  int pid = 0;
  const int rc = register_and_run(gid, name, process_kind::direct, image, no_process, &pid, &err);
  if (rc != exit_ok) {
    (void)bank_->free(hotrestart::detail::internal_access,
                      image_block_name(image));  // not registered: not kept
    std::fprintf(stderr, "hrctl: %s\n", err.c_str());
  }
  return rc;
}

// Records the run in the controller and the runtime block, then starts it. Once the
// controller has registered the run, a failure to start it is that run's failure (the
// controller restarts the group as after a crash): exit_ok is returned, *pid is 0 and `err`
// says why, and the member keeps its image.
int supervisor::register_and_run(std::uint32_t gid, std::string_view name, process_kind kind,
                                 std::uint32_t image, std::uint32_t parent, int* pid,
                                 std::string* err, const proc_out* out) {
  if (pid) *pid = 0;
  runtime_header& h = rt_.header();
  const std::uint64_t handle = load(h.run_seq) + 1;
  store(h.run_seq, handle);
  // A first run (not yet registered in its group): its record starts from nothing, even if
  // the process id was another process's before (ids are recycled).
  const bool first_run = !ctl_->find_process(gid, name);
  auto id = ctl_->process_started(now(), {gid, name, kind, handle, image, parent});
  if (!id) {
    if (err) {
      *err = describe(id.error()).text;
      if (id.error().code == errc::duplicate_process)
        *err = "a member named " + std::string(name) +
               " is running in the group: --name gives this one another name";
    }
    switch (id.error().code) {
      case errc::unknown_group:
      case errc::bad_group_id: return exit_unknown;
      case errc::process_limit: return exit_too_small;
      default: return exit_refused;
    }
  }
  auto pv = ctl_->process_info(*id);
  // Output: a delegated run's goes to its requester; an indirect member's where its parent's
  // goes. Kept for the reruns of this member.
  const proc_out* from = out;
  if (from == nullptr && kind == process_kind::indirect) from = outputs_.of(parent);
  outputs_.assign(*id, gid, from);
  proc_slot* s = rt_.proc(*id);
  if (s != nullptr && first_run) {
    store(s->runs, std::uint32_t{0});
    store(s->standby_flags, std::uint32_t{0});  // (another member's id before: not its standby)
    store(s->standby_timeout_ms, std::uint32_t{0});
    store(s->standby_pid, std::int32_t{0});
    store(s->standby_promotions, std::uint32_t{0});
  }
  const bool restarted = s != nullptr && load(s->runs) > 0;
  if (s != nullptr) {
    store(s->clean, std::uint64_t{0});
    store(s->heartbeat_ms, std::uint64_t{0});
    store(s->ready_run, std::uint32_t{0});  // (before runs: a previous run's ready never counts)
    store(s->pid, std::int32_t{0});
    s->gid = gid;
    store(s->handle, handle);
    store(s->runs, load(s->runs) + 1);
  }
  std::string why;
  const int p = spawn(*id, gid, pv ? pv->image : image, handle, restarted, &why);
  if (p < 0) {
    log.warn("group %u: cannot start %.*s: %s; counted as a failure of that run", gid,
             static_cast<int>(name.size()), name.data(), why.c_str());
    if (err) *err = "registered, but its start failed: " + why;
    drive([&](auto& sink) { return ctl_->process_failed(now(), *id, handle, sink); });
    return exit_ok;
  }
  if (pid) *pid = p;
  log("group %u: %s %.*s %s(pid %d)%s", gid, restarted ? "restarted" : "started",
      static_cast<int>(name.size()), name.data(), promoted_ ? "from its standby " : "", p,
      kind == process_kind::indirect ? " [indirect]" : "");
  return exit_ok;
}

int supervisor::spawn(std::uint32_t id, std::uint32_t gid, std::uint32_t image,
                      std::uint64_t handle, bool restarted, std::string* err) {
  if (!bank_trusted()) {
    if (err) *err = "the bank may be written by another user: its images are not run";
    return -1;
  }
  // Sockets that could not be taken from an adopted member are opened again for its restart.
  ensure_listeners(gid);
  // Output: ours, or the requester's (a delegated run); through prefixing pipes with
  // --prefix. Another user's member (--user) never gets this supervisor's descriptors of its
  // output (a terminal it could read or type into, a file it could truncate): it writes into
  // pipes that hrctl reads and writes on, as for --prefix (with an empty prefix unless asked).
  run_output o;
  if (!outputs_.prepare(id, prefix_, as_.other, o, err)) return -1;
  launch_plan plan;
  plan.id = id;
  plan.gid = gid;
  plan.image = image;
  plan.handle = handle;
  plan.restarted = restarted;
  const std::vector<int> sockets = listeners_.member_fds(gid);
  const std::vector<std::string> socket_names = listeners_.member_fd_names(gid);
  plan.listen_fds = sockets;
  plan.listen_names = socket_names;
  plan.out = o.child_out;
  plan.err = o.child_err;
  // A parked warm standby of the member becomes this run (standby.cpp); else a new process.
  trace::mark("spawn", id, 0);
  int pidfd = -1;
  int pid = standby_promote(plan, pidfd);
  promoted_ = pid > 0;
  if (!promoted_) pid = launch_.start(plan, err);
  if (pid > 0) trace::mark(promoted_ ? "promoted" : "spawned", id, pid);
  std::string tag;
  if (pid > 0 && o.prefixed) {
    auto pv = ctl_->process_info(id);
    tag = "[" + std::to_string(gid) + " " + (pv ? name_of(*pv) : std::string("?")) + " " +
          std::to_string(pid) + "] ";
  }
  outputs_.started(o, pid, tag);
  if (pid < 0) return -1;
  run_state& r = runs_[id];
  r = run_state{pid, promoted_ ? pidfd : pidfd_open(pid), true, handle, gid, now()};
  if (proc_slot* s = rt_.proc(id)) {
    store(s->pid, static_cast<std::int32_t>(pid));
    store(s->start_time, process_start_time(pid));
  }
  return pid;
}

// What the image of member `image` runs, if it is not `argv` from `path`: "PATH ARG..." for a
// message; empty if it is the same program with the same arguments.
std::string supervisor::other_program(std::uint32_t image, const std::vector<std::string>& argv,
                                      const std::string& path) {
  auto b = bank_->find(image_block_name(image));
  if (!b || !check_image(*b)) return {};  // (missing or damaged: the start says so)
  const auto* h = reinterpret_cast<const image_header*>(b->data);
  const std::string recorded(h->path, std::min<std::size_t>(h->path_len, sizeof h->path));
  const std::vector<std::string> args = image_argv(*b);
  if (args == argv && (recorded.empty() || recorded == path.substr(0, sizeof h->path))) return {};
  std::string text = recorded.empty() ? args[0] : recorded;
  for (std::size_t i = 1; i < args.size() && text.size() < 200; ++i) text += " " + args[i];
  return text;
}

void supervisor::ensure_listeners(std::uint32_t gid) {
  const group_slot* gs = rt_.group(gid);
  if (gs != nullptr && gs->listen_count != 0 && !listeners_.open_for(gid))
    listeners_.reopen(*gs, gid);
}

int supervisor::run_member(std::uint32_t id, std::string* err) {
  auto pv = ctl_->process_info(id);
  if (!pv) return exit_unknown;
  if (pv->state == process_state::running) return exit_ok;  // already rerun
  if (held(pv->gid)) return exit_ok;                        // stays stopped
  // A rerun keeps the parent link only through the controller's record; direct reruns only.
  return register_and_run(pv->gid, pv->name(), process_kind::direct, pv->image, no_process, nullptr,
                          err);
}

void supervisor::stop_run(std::uint32_t id, int sig) {
  run_state& r = runs_[id];
  if (r.pid <= 0) return;
  signal_run(r, sig);
  if (sig != SIGKILL) return;
  // Wait until it is gone, so that two runs of a member never overlap on the bank.
  if (r.child) {
    int st = 0;
    while (::waitpid(r.pid, &st, 0) < 0 && errno == EINTR) {
    }
  } else if (r.pidfd >= 0) {
    pollfd pf{r.pidfd, POLLIN, 0};  // readable once the process has ended
    (void)::poll(&pf, 1, 2000);
    // Then until whoever reaps it (init, a subreaper) has: `kill -0` and ps see no zombie.
    for (int i = 0; i < 2000 && ::kill(r.pid, 0) == 0; ++i) sleep_ms(1);
  }
  if (r.pidfd >= 0) ::close(r.pidfd);
  if (proc_slot* s = rt_.proc(id)) store(s->pid, std::int32_t{0});
  r = run_state{};
}

}  // namespace hrctl
