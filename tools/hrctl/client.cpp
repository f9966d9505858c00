// SPDX-License-Identifier: MIT
// hrctl's client side: the commands that ask a running supervisor (mailbox requests).
#include "client.hpp"

#include "rescue.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "supervisor.hpp"

namespace hrctl {

namespace {

// The signals a waiting hrctl run turns into a stop request.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// A stop signal received within `ms`, or 0.
int wait_stop_signal(const sigset_t& set, long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  const int sig = ::sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// hrctl run when another supervisor serves the bank: hand the program to it, wait for the end.
// `retry` is set when that supervisor went away before answering (the caller then tries to
// serve the bank itself).
}  // namespace

int run_delegated(const parsed_args& a, bool& retry) {
  retry = false;
  auto att = attach_bank(a.bo.where());
  if (!att) return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  program_file f;
  if (const int rc = open_program_or_say(a.rest[0], f); rc != exit_ok) return rc;
  request_in in;
  in.kind = req_run_direct;
  std::uint32_t g = 0;
  if (a.group.empty())
    in.gid = 0;
  else if (parse_u32(a.group, g))
    in.gid = g;
  else
    in.group_name = a.group;
  in.name = a.ro.name.empty() ? basename_of(a.rest[0]) : a.ro.name;
  in.flags = (a.ro.exit0_clean ? std::uint32_t{group_exit0_clean} : 0u) | req_relay_output |
             (a.ro.prefix ? std::uint32_t{req_prefix_output} : 0u) |
             (a.ro.standby ? std::uint32_t{req_standby} : 0u);
  in.heartbeat_ms = a.ro.heartbeat_ms;
  in.standby_timeout_ms = a.ro.standby_timeout_ms;
  if (a.ro.stop_timeout_given)
    in.stop_timeout_ms = static_cast<std::uint32_t>(a.ro.stop_timeout_ms);
  for (const std::string& spec : a.ro.listen)
    if (std::string e = parse_listen(spec, in.listen); !e.empty()) {
      ::close(f.fd);
      return usage_error(e, "run", exit_usage, a.json);
    }
  if (in.listen.size() > max_listen) {
    ::close(f.fd);
    return usage_error("at most 4 --listen sockets per group", "run", exit_usage, a.json);
  }
  in.program = &f;
  in.argv = a.rest;
  in.relay_out = STDOUT_FILENO;  // handed to the supervisor through its relay socket
  in.relay_err = STDERR_FILENO;
  in.bank_path = a.bo.path;
  // From here on a stop signal is a request to the supervisor (blocked, then waited for).
  const sigset_t stops = stop_signals();
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
  auto r = submit_request(att->bank, att->rt, in, 30000);
  ::close(f.fd);
  if (!r && r.error().code == errc::not_found) {
    retry = true;
    return exit_no_supervisor;
  }
  if (!r) {
    std::fprintf(stderr, "hrctl: %s\n", describe(r.error()).text);
    return r.error().code == errc::io_error ? exit_timeout : exit_too_small;
  }
  if (!r->relay_problem.empty())
    std::fprintf(stderr, "hrctl: note: %s; the program's output goes to the supervisor's\n",
                 r->relay_problem.c_str());
  if (r->status != exit_ok) {
    std::fprintf(stderr, "hrctl: the supervisor refused: %s\n", r->message.c_str());
    return r->status;
  }
  const std::uint32_t gid = r->gid;
  if (!a.ro.quiet)
    std::fprintf(stderr,
                 "hrctl: handed to the supervisor of %s: group %u, pid %d (its output comes here); "
                 "waiting for the group to end\n",
                 a.bo.path.c_str(), gid, r->pid);
  group_slot* gs = att->rt.group(gid);
  if (gs == nullptr) return exit_failure;
  int stop_sig = 0;  // the signal we asked the stop with
  std::uint32_t misses = 0;
  for (;;) {
    if (load(gs->terminations) != r->terminations)
      return load(gs->last_outcome) == outcome_killed ? exit_killed : exit_ok;
    if (load(gs->held) != hold_none && !group_has_live_members(att->rt, gid))
      return static_cast<int>(load(gs->hold_code));
    if (const int sig = wait_stop_signal(stops, 50); sig != 0) {
      if (stop_sig != 0) return 128 + sig;  // a second one: do not wait any longer
      stop_sig = sig;
      if (!a.ro.quiet)
        std::fprintf(stderr,
                     "hrctl: %s received: asking the supervisor to stop group %u, the whole "
                     "group: each of its members, those that other hrctl runs started too; it is "
                     "then held (hrctl run -g %u resumes it)\n",
                     signal_name(sig), gid, gid);
      request_in stop;
      stop.kind = req_stop_group;
      stop.gid = gid;
      stop.stop_signal = static_cast<std::uint32_t>(sig);
      if (a.ro.stop_timeout_given)
        stop.stop_timeout_ms = static_cast<std::uint32_t>(a.ro.stop_timeout_ms);
      auto sr = submit_request(att->bank, att->rt, stop, 5000);
      if (sr && sr->status != exit_ok) {
        std::fprintf(stderr, "hrctl: the supervisor refused the stop: %s\n", sr->message.c_str());
        return 128 + sig;
      }
      if (sr) continue;  // not answered: the supervisor is gone (see below) or stuck
    }
    // The serving supervisor ended (its own group ended, it was killed): serve the bank here.
    misses = recorded_supervisor_alive(att->rt) ? 0 : misses + 1;
    if (misses < 2) continue;
    misses = 0;
    supervisor s;
    bool busy = false;
    const int rc = s.open(a.bo, a.ro.prefix, a.ro.quiet, &busy);
    if (busy) continue;  // another one took over first
    if (rc != exit_ok) return rc;
    if (!a.ro.quiet)
      std::fprintf(stderr, "hrctl: the supervisor of %s ended: this hrctl run took its place\n",
                   a.bo.path.c_str());
    if (stop_sig != 0) s.stop_group(gid, stop_sig);
    return s.serve(gid, a.ro.stop_timeout_ms, a.ro.serve_all);
  }
}

int need_request(const parsed_args& a, request_in& in, const char* cmd) {
  auto att = attach_bank(a.bo.where());
  if (!att && att.error().code != errc::not_found)
    return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  if (!att || !supervisor_alive(att->bank)) {
    std::fprintf(stderr,
                 "hrctl %s: no supervisor serves %s (start one with hrctl serve or hrctl run)\n",
                 cmd, a.bo.path.c_str());
    return exit_no_supervisor;
  }
  // One id for every try: a supervisor that ended before answering may have performed it, and
  // the next one answers a retry with the same id from its record instead of performing it again.
  if (in.id == 0) in.id = new_request_id();
  // Test hook (tests/runtime/e2e.sh, request_id_*): a given id, as a retry by another process
  // would carry. Only for a bank of the end-to-end tests.
  if (const char* t = std::getenv("HR_TEST_REQUEST_ID");
      t != nullptr && a.bo.path.starts_with("/dev/shm/hr-e2e-"))
    in.id = std::strtoull(t, nullptr, 16);
  const std::uint64_t deadline = monotonic_ms() + static_cast<std::uint64_t>(a.timeout_ms);
  auto r = submit_request(att->bank, att->rt, in, static_cast<std::uint64_t>(a.timeout_ms));
  while (!r && r.error().code == errc::not_found && monotonic_ms() < deadline) {
    // Retry once a supervisor serves the bank again (within --timeout).
    std::fprintf(stderr,
                 "hrctl %s: %s: retrying request %016llx when a supervisor serves the bank "
                 "again\n",
                 cmd, describe(r.error()).text, static_cast<unsigned long long>(in.id));
    while (!supervisor_alive(att->bank) && monotonic_ms() < deadline) sleep_ms(50);
    if (!supervisor_alive(att->bank)) break;
    r = submit_request(att->bank, att->rt, in, deadline - std::min(deadline, monotonic_ms()));
  }
  if (!r) {
    std::fprintf(stderr, "hrctl %s: %s\n", cmd, describe(r.error()).text);
    return r.error().code == errc::not_found  ? exit_no_supervisor
           : r.error().code == errc::io_error ? exit_timeout
                                              : exit_too_small;
  }
  if (r->status != exit_ok) {
    std::fprintf(stderr, "hrctl %s: %s\n", cmd, r->message.c_str());
    return r->status;
  }
  std::printf("%s\n", r->message.c_str());
  return exit_ok;
}

namespace {
void group_arg(const std::string& g, request_in& in) {
  std::uint32_t n = 0;
  if (parse_u32(g, n))
    in.gid = n;
  else
    in.group_name = g;
}
}  // namespace

int cmd_kill(const parsed_args& a) {
  if (!a.group.empty() && !a.rest.empty())
    return usage_error("stray argument '" + a.rest[0] + "' (kill -g GROUP takes no PID)", "kill",
                       exit_usage, a.json);
  if (!a.group.empty()) {
    request_in in;
    in.kind = req_kill_group;
    group_arg(a.group, in);
    {
      auto att = attach_bank(a.bo.where());
      if (!att) {
        // A bank hrctl refuses (cut short, corrupt, removed) may still have members running
        // unsupervised: they are found without it (rescue.hpp).
        const errc c = att.error().code;
        if (c != errc::untrusted_file && c != errc::io_error && c != errc::not_regular_file &&
            in.gid != no_group)
          if (rescue_kill_group(a.bo.path, a.bo.as.uid, in.gid, describe(att.error()).text) ==
              exit_ok)
            return exit_ok;
        return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
      }
      if (supervisor_alive(att->bank)) return need_request(a, in, "kill");
    }
    // No supervisor: take its place for this one event, touching no other group.
    supervisor s;
    bool busy = false;
    const int rc = s.open_light(a.bo, &busy);
    if (busy) return need_request(a, in, "kill");  // one started meanwhile
    if (rc != exit_ok) return rc;
    return s.kill_group_now(in.gid, in.group_name);
  }
  if (a.rest.size() != 1)
    return usage_error("expected -g GROUP or one PID", "kill", exit_usage, a.json);
  std::uint32_t pid = 0;
  if (!parse_u32(a.rest[0], pid) || pid == 0)
    return usage_error("bad PID '" + a.rest[0] + "'", "kill", exit_usage, a.json);
  auto att = attach_bank(a.bo.where());
  if (!att) return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  for (std::uint32_t id = 0; id < att->rt.max_processes(); ++id) {
    proc_slot* s = att->rt.proc(id);
    if (load(s->pid) != static_cast<std::int32_t>(pid)) continue;
    // The process the bank names, if it is still that run and runs as the bank's user.
    const fd_guard pfd(open_image_pidfd(static_cast<int>(pid), load(s->start_time),
                                        a.bo.as.other ? &a.bo.as.uid : nullptr));
    if (pfd.fd < 0) continue;
    if (signal_pidfd(pfd.fd, SIGKILL) != 0) {
      std::fprintf(stderr, "hrctl kill: cannot kill %u: %s\n", pid, std::strerror(errno));
      return exit_failure;
    }
    std::printf("killed pid %u (group %u): its group restarts%s\n", pid, s->gid,
                supervisor_alive(att->bank) ? "" : " when a supervisor adopts the bank");
    return exit_ok;
  }
  std::fprintf(stderr, "hrctl kill: pid %u is not a running restartable process of %s\n", pid,
               a.bo.path.c_str());
  return exit_unknown;
}

int cmd_restart(const parsed_args& a) {
  request_in in;
  in.kind = req_site_restart;
  return need_request(a, in, "restart");
}

int cmd_upgrade(const parsed_args& a) {
  if (a.group.empty() || a.rest.empty())
    return usage_error("expected -g GROUP -- NEWPROGRAM [ARGS...]", "upgrade", exit_usage, a.json);
  program_file f;
  if (const int rc = open_program_or_say(a.rest[0], f); rc != exit_ok) return rc;
  request_in in;
  in.kind = req_upgrade;
  group_arg(a.group, in);
  in.name = a.ro.name.empty() ? basename_of(a.rest[0]) : a.ro.name;
  in.program = &f;
  in.argv = a.rest;
  const int rc = need_request(a, in, "upgrade");
  ::close(f.fd);
  return rc;
}

int cmd_reload(const parsed_args& a) {
  request_in in;
  in.kind = req_reload;
  return need_request(a, in, "reload");
}

int cmd_stop(const parsed_args& a) {
  if (a.group.empty() || !a.rest.empty())
    return usage_error("expected -g GROUP", "stop", exit_usage, a.json);
  request_in in;
  in.kind = req_stop_group;
  group_arg(a.group, in);
  in.stop_signal = SIGTERM;
  if (a.ro.stop_timeout_given)
    in.stop_timeout_ms = static_cast<std::uint32_t>(a.ro.stop_timeout_ms);
  const int rc = need_request(a, in, "stop");
  if (rc != exit_ok) return rc;
  auto att = attach_bank(a.bo.where());
  if (!att) return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  // Until its members are gone (or it terminated meanwhile).
  std::uint32_t gid = in.gid;
  if (gid == no_group)
    for (std::uint32_t i = 0; i < att->rt.max_groups(); ++i) {
      const group_slot* gs = att->rt.group(i);
      if (std::string_view(gs->name, std::min<std::uint32_t>(gs->name_len, 32)) == in.group_name)
        gid = i;
    }
  const std::uint64_t deadline = monotonic_ms() + static_cast<std::uint64_t>(a.timeout_ms);
  while (gid != no_group && group_has_live_members(att->rt, gid)) {
    if (monotonic_ms() > deadline) {
      std::fprintf(stderr, "hrctl stop: group %u still has members running\n", gid);
      return exit_timeout;
    }
    sleep_ms(20);
  }
  return exit_ok;
}

}  // namespace hrctl
