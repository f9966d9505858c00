// SPDX-License-Identifier: MIT
// hrctl: the hot restart supervisor and CLI (ChorusOS arun -g / akill / restart, on Linux).
// See docs/hrctl.md.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"
#include "inspect.hpp"
#include "snapshot.hpp"
#include "supervisor.hpp"

using namespace hrctl;

namespace {

// "bad value 'V' for KEY (WHAT)", for the option parsers.
std::string bad_value(std::string_view v, std::string_view key, std::string_view what) {
  std::string m = "bad value '";
  m.append(v).append("' for ").append(key).append(" (").append(what).append(")");
  return m;
}

constexpr const char* exit_codes_text =
    "Exit codes: 0 ok (run: the group terminated cleanly), 1 internal or I/O error, 2 usage,\n"
    "  3 PROGRAM missing or not executable, 4 unknown group or process, or no bank at that\n"
    "  path, 5 bank refused (not a bank, other version, corrupt, other tunables), 6 bank path\n"
    "  is a symlink or not writable, 7 bank too small or limits reached, 8 run: hrctl gave up\n"
    "  on the group (it kept crashing after site restarts), 9 another supervisor serves the\n"
    "  bank, 10 no supervisor running, 11 check found problems, 12 run: the group was killed\n"
    "  (hrctl kill -g), 13 refused by the controller, 14 no answer from the supervisor in time,\n"
    "  128+N stopped by signal N (SIGINT 130, SIGTERM 143; run: its group is held).\n";

constexpr const char* tunables_text =
    "Tunables (fixed when the bank is created; also as 'key = value' lines in --config FILE):\n"
    "  --bank-size BYTES      bytes for blocks (default 64M; K/M/G suffixes)\n"
    "  --max-blocks N         blocks in the bank (default 128)\n"
    "  --max-groups N         restart groups, ids 0..N-1 (default 32)\n"
    "  --max-processes N      restartable processes (default 32)\n"
    "  --policy P             restart policy: chorus (default: the ChorusOS restart counter),\n"
    "                         window (Erlang-style intensity/period), backoff (exponential "
    "delays)\n"
    "  --interval MS          chorus: restart counter decay period (default 3000)\n"
    "  --max-badness N        chorus: site restart when a group's counter reaches N (25, 0 never)\n"
    "  --intensity N          window: site restart at N restarts within --period (5, 1..8)\n"
    "  --period MS            window: the period (default 10000)\n"
    "  --backoff-base MS      backoff: first delay (100), doubling up to --backoff-cap MS (30000)\n"
    "  --healthy MS           backoff, discard: a period without restart resets them (60000)\n"
    "  --discard-after N      discard a group's state (free its group-keyed blocks) at its N-th\n"
    "                         restart in a row (default 0: never)\n"
    "  --max-site-restarts N  escalations of one group in a row before hrctl gives up on it\n"
    "                         (default 3, 0 never)\n"
    "  --give-up-window MS    escalations further apart start that count again (default 300000)\n"
    "Sizing: bank size >= controller + runtime state (2 pages each at the defaults) + 2 x the\n"
    "  size of the restartable processes (each image is kept in the bank); max blocks >= max\n"
    "  processes + 11. A bank too small is refused before anything is created.\n";

void usage_main() {
  std::printf(
      "usage: hrctl COMMAND [options]\n"
      "  run      start PROGRAM in a restart group and supervise it (ChorusOS arun -g)\n"
      "  serve    supervise every group of a bank (the long-running controller)\n"
      "  kill     kill -g GROUP: end a group; kill PID: restart that process's group\n"
      "  restart  site restart: every group restarts from persistent memory\n"
      "  upgrade  replace a member's image with a new program and restart its group\n"
      "  stop     stop -g GROUP: stop a group gracefully and hold it (hrctl run -g resumes it)\n"
      "  status   groups, members, states, restart counters, blocked groups\n"
      "  blocks   every block of the bank: name, size, key, owner\n"
      "  check    validate a bank and list every problem\n"
      "  snapshot copy the bank, as at one instant, to a file (a bank file itself)\n"
      "  restore  replace a bank with a snapshot\n"
      "  remove   delete a bank file\n"
      "Every command takes --bank PATH, --user NAME and --help. Without --bank, the bank is\n"
      "  $RUNTIME_DIRECTORY/default.bank (under systemd), else $XDG_RUNTIME_DIR/hotrestart/\n"
      "  default.bank, else /dev/shm/hotrestart-UID/default.bank: a directory of this user's.\n"
      "  A bank must belong to its user and be writable by no one else (chmod 600): hrctl\n"
      "  refuses any other (exit 6). --user NAME: the bank belongs to NAME and, under a root\n"
      "  supervisor, every member runs as NAME (default bank NAME.bank). See docs/security.md.\n"
      "%s",
      exit_codes_text);
}

void usage_run() {
  std::printf(
      "usage: hrctl run [-g GROUP] [--name NAME] [--bank PATH] [--listen ADDR:PORT]...\n"
      "                 [--exit0-clean] [--heartbeat MS] [--stop-timeout MS] [--prefix] [--quiet]\n"
      "                 [--serve-all] [--config FILE] [tunables] -- PROGRAM [ARGS...]\n"
      "Starts PROGRAM as a direct member of GROUP (a number 0..max-groups-1, default 0, or a\n"
      "name: a new group gets the lowest free id) and supervises it in the foreground. The\n"
      "program's image (executable, name and arguments) is kept in the bank and every restart\n"
      "runs that image, even if the file on disk changed. A crash (a signal, or an exit without\n"
      "the clean-exit call) restarts the group as the controller decides; on escalation, a\n"
      "site restart restarts every group. Exits when the group ends: 0 when it terminated\n"
      "cleanly, 12 killed, 8 given up on, 128+N stopped by signal N (the group is then held in\n"
      "the bank: the next hrctl run -g GROUP resumes it). A held group is resumed by this run.\n"
      "If a supervisor already serves the bank, the program is handed to it and this command\n"
      "waits for the group to end, with the same exit codes; the program's output still comes\n"
      "here; SIGTERM/SIGINT ask the supervisor to stop the group; if that supervisor ends, this\n"
      "command takes its place.\n"
      "  --name NAME        process name, unique in the group (default: PROGRAM's basename)\n"
      "  --listen A:P       open a listening TCP socket once (P 0: any free port) and pass it to\n"
      "                     every run as fd 3.. (LISTEN_FDS/LISTEN_PID); up to 4\n"
      "  --exit0-clean      an exit with status 0 counts as a clean exit (unmodified programs)\n"
      "  --heartbeat MS     a member that sends no heartbeat for MS ms is killed (a hang)\n"
      "  --stop-timeout MS  on SIGTERM/SIGINT: members get SIGTERM, then SIGKILL after MS\n"
      "                     (default 5000); the group stays in the bank, held\n"
      "  --prefix           prefix each line the members write with [GID NAME PID] \n"
      "  --quiet            no supervisor messages\n"
      "  --serve-all        when this run's group has ended, go on serving the bank's other\n"
      "                     groups until none has members running (default: exit at once)\n%s%s",
      tunables_text, exit_codes_text);
}

struct common_args {
  bank_options bo;
  bool json = false;
  bool help = false;
  std::string group;
  std::vector<std::string> rest;  // positional / after --
  run_options ro;
  image_source image;  // blocks/check --image
  bool image_given = false;
  int timeout_ms = 30000;  // requests: how long to wait for the supervisor's answer
  std::string error;
  int error_code = exit_usage;  // for `error`
};

// Parses the options every command shares plus run's; stops at "--".
common_args parse(int argc, char** argv, int first, bool allow_run_flags, bool makes_bank = false) {
  common_args a;
  std::vector<std::pair<std::string, std::string>> tun;
  std::string config;
  for (int i = first; i < argc; ++i) {
    std::string f = argv[i];
    auto value = [&](std::string& out) {
      const auto eq = f.find('=');
      if (f.starts_with("--") && eq != std::string::npos) {
        out = f.substr(eq + 1);
        f = f.substr(0, eq);
        return true;
      }
      if (i + 1 >= argc) {
        a.error = "option " + f + " needs a value";
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    const std::string key = f.substr(0, f.find('='));
    if (f == "--") {
      for (++i; i < argc; ++i) a.rest.emplace_back(argv[i]);
      break;
    } else if (f == "-h" || f == "--help") {
      a.help = true;
    } else if (f == "--json") {
      a.json = true;
    } else if (key == "--bank") {
      if (!value(v)) break;
      a.bo.path = v;
      a.bo.given.emplace_back("--bank");
    } else if (key == "--user") {
      if (!value(v)) break;
      a.bo.user = v;
      a.bo.given.emplace_back("--user");
    } else if (key == "--image") {
      if (!value(v)) break;
      a.image.path = v;
      a.image_given = true;
    } else if (key == "--offset" || key == "--length") {
      if (!value(v)) break;
      std::uint64_t n = 0;
      if (!parse_size(v, n)) {
        a.error = bad_value(v, key, "bytes; K/M/G suffixes");
        break;
      }
      (key == "--offset" ? a.image.offset : a.image.length) = n;
    } else if (key == "--config") {
      if (!value(v)) break;
      config = v;
    } else if (f == "-g" || key == "--group") {
      if (!value(v)) break;
      a.group = v;
    } else if (allow_run_flags && key == "--name") {
      if (!value(v)) break;
      a.ro.name = v;
    } else if (allow_run_flags && key == "--listen") {
      if (!value(v)) break;
      a.ro.listen.push_back(v);
    } else if (allow_run_flags && f == "--exit0-clean") {
      a.ro.exit0_clean = true;
    } else if (allow_run_flags && f == "--quiet") {
      a.ro.quiet = true;
    } else if (allow_run_flags && f == "--prefix") {
      a.ro.prefix = true;
    } else if (allow_run_flags && f == "--serve-all") {
      a.ro.serve_all = true;
    } else if (key == "--heartbeat" || key == "--stop-timeout" || key == "--timeout") {
      if (!value(v)) break;
      std::uint32_t n = 0;
      if (!parse_u32(v, n) || n == 0 || n > 86400000u) {
        a.error = bad_value(v, key, "milliseconds, 1..86400000");
        break;
      }
      if (key == "--heartbeat")
        a.ro.heartbeat_ms = n;
      else if (key == "--timeout")
        a.timeout_ms = static_cast<int>(n);
      else {
        a.ro.stop_timeout_ms = n;
        a.ro.stop_timeout_given = true;
      }
    } else if (f.starts_with("--")) {
      if (!value(v)) break;
      tun.emplace_back(key, v);
    } else {
      a.rest.push_back(f);
    }
  }
  if (!a.error.empty()) return a;
  // The config file first, then flags (flags win).
  if (!config.empty()) {
    const std::string keep = a.bo.path, keep_user = a.bo.user;
    a.error = load_config(config, a.bo);
    if (a.bo.was_given("--bank")) a.bo.path = keep;
    if (a.bo.was_given("--user")) a.bo.user = keep_user;
    if (!a.error.empty()) return a;
  }
  for (auto& [k, v] : tun) {
    std::string err;
    if (!apply_tunable(k, v, a.bo, err)) {
      a.error = "unknown option " + k;
      return a;
    }
    if (!err.empty()) {
      a.error = err;
      return a;
    }
  }
  a.error = resolve_user(a.bo.user, a.bo.as);
  if (!a.error.empty()) return a;
  a.error = set_default_path(a.bo, makes_bank);
  if (!a.error.empty()) {
    a.error = "the default bank location cannot be used: " + a.error;
    a.error_code = exit_bank_path;
  }
  return a;
}

int usage_error(const std::string& e, const char* cmd, int code = exit_usage) {
  if (code != exit_usage) {
    std::fprintf(stderr, "hrctl %s: %s\n", cmd, e.c_str());
    return code;
  }
  std::fprintf(stderr, "hrctl %s: %s (see hrctl %s --help)\n", cmd, e.c_str(), cmd);
  return exit_usage;
}

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
int run_delegated(const common_args& a, bool& retry) {
  retry = false;
  auto att = attach_bank(a.bo.where());
  if (!att) return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  program_file f;
  const program_problem pp = open_program(a.rest[0], f);
  if (pp != program_problem::none) {
    std::fprintf(stderr, "hrctl: %s: %s\n", a.rest[0].c_str(), describe(pp));
    return exit_program;
  }
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
             (a.ro.prefix ? std::uint32_t{req_prefix_output} : 0u);
  in.heartbeat_ms = a.ro.heartbeat_ms;
  if (a.ro.stop_timeout_given)
    in.stop_timeout_ms = static_cast<std::uint32_t>(a.ro.stop_timeout_ms);
  for (const std::string& spec : a.ro.listen) {
    std::uint32_t addr = 0;
    std::uint16_t port = 0;
    if (std::string e = parse_listen(spec, addr, port); !e.empty()) {
      ::close(f.fd);
      return usage_error(e, "run");
    }
    in.listen_addr.push_back(addr);
    in.listen_port.push_back(port);
  }
  if (in.listen_addr.size() > max_listen) {
    ::close(f.fd);
    return usage_error("at most 4 --listen sockets per group", "run");
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
        std::fprintf(stderr, "hrctl: %s received: asking the supervisor to stop group %u\n",
                     signal_name(sig), gid);
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

int cmd_run(int argc, char** argv, bool serve_mode) {
  common_args a = parse(argc, argv, 2, true, true);
  if (a.help) {
    if (serve_mode)
      std::printf(
          "usage: hrctl serve [--bank PATH] [--stop-timeout MS] [--config FILE] [tunables]\n"
          "Supervises every group of the bank until SIGTERM/SIGINT (the long-running\n"
          "ChorusOS controller): adopts running members, restarts crashed ones, serves\n"
          "hrctl run/kill/stop/restart/upgrade and hrfexec requests. On SIGTERM/SIGINT\n"
          "every group with members running is stopped and held.\n%s%s",
          tunables_text, exit_codes_text);
    else
      usage_run();
    return exit_ok;
  }
  const char* cmd = serve_mode ? "serve" : "run";
  if (!a.error.empty()) return usage_error(a.error, cmd, a.error_code);
  if (!serve_mode && a.rest.empty()) return usage_error("missing -- PROGRAM [ARGS...]", cmd);
  if (serve_mode && !a.rest.empty()) return usage_error("serve takes no program", cmd);
  a.ro.argv = a.rest;
  a.ro.group = a.group;
  if (!serve_mode) {
    program_file f;
    const program_problem pp = open_program(a.rest[0], f);
    if (pp != program_problem::none) {
      std::fprintf(stderr, "hrctl: %s: %s\n", a.rest[0].c_str(), describe(pp));
      return exit_program;
    }
    ::close(f.fd);
    if (!a.ro.name.empty() && a.ro.name.size() > 32)
      return usage_error("--name: at most 32 bytes", cmd);
  }
  // A supervisor that goes away while we hand it the program: try again, as the supervisor.
  for (int attempt = 0;; ++attempt) {
    supervisor s;
    bool busy = false;
    const int rc = s.open(a.bo, a.ro.prefix, a.ro.quiet, &busy);
    if (busy) {
      if (serve_mode) {
        std::fprintf(stderr, "hrctl: another supervisor (pid %d) serves %s\n",
                     s.recorded_supervisor(), a.bo.path.c_str());
        return exit_busy;
      }
      bool retry = false;
      const int drc = run_delegated(a, retry);
      if (!retry || attempt >= 5) {
        if (retry)
          std::fprintf(stderr, "hrctl: the supervisors of %s keep going away\n", a.bo.path.c_str());
        return drc;
      }
      sleep_ms(50);
      continue;
    }
    if (rc != exit_ok) return rc;
    std::uint32_t gid = no_group;
    if (!serve_mode) {
      if (int e = s.start_direct(a.ro, gid); e != exit_ok) return e;
    }
    return s.serve(serve_mode ? no_group : gid, a.ro.stop_timeout_ms, a.ro.serve_all);
  }
}

int need_request(const common_args& a, request_in& in, const char* cmd) {
  auto att = attach_bank(a.bo.where());
  if (!att && att.error().code != errc::not_found)
    return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  if (!att || !supervisor_alive(att->bank)) {
    std::fprintf(stderr,
                 "hrctl %s: no supervisor serves %s (start one with hrctl serve or hrctl run)\n",
                 cmd, a.bo.path.c_str());
    return exit_no_supervisor;
  }
  auto r = submit_request(att->bank, att->rt, in, static_cast<std::uint64_t>(a.timeout_ms));
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

void group_arg(const std::string& g, request_in& in) {
  std::uint32_t n = 0;
  if (parse_u32(g, n))
    in.gid = n;
  else
    in.group_name = g;
}

int cmd_kill(int argc, char** argv) {
  common_args a = parse(argc, argv, 2, false);
  if (a.help) {
    std::printf(
        "usage: hrctl kill -g GROUP [--bank PATH] [--timeout MS]\n"
        "         (akill -g: members killed, not restarted, group-keyed blocks and images\n"
        "         freed; without a supervisor, done by this command alone)\n"
        "       hrctl kill PID [--bank PATH]   (the process's group restarts as after a crash)\n"
        "--timeout MS: how long to wait for the supervisor's answer (default 30000).\n%s",
        exit_codes_text);
    return exit_ok;
  }
  if (!a.error.empty()) return usage_error(a.error, "kill", a.error_code);
  if (!a.group.empty()) {
    request_in in;
    in.kind = req_kill_group;
    group_arg(a.group, in);
    {
      auto att = attach_bank(a.bo.where());
      if (!att) return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
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
  if (a.rest.size() != 1) return usage_error("expected -g GROUP or one PID", "kill");
  std::uint32_t pid = 0;
  if (!parse_u32(a.rest[0], pid) || pid == 0)
    return usage_error("bad PID '" + a.rest[0] + "'", "kill");
  auto att = attach_bank(a.bo.where());
  if (!att) return report_bank_error("cannot open bank", a.bo.path, att.error(), a.bo.as.uid);
  for (std::uint32_t id = 0; id < att->rt.max_processes(); ++id) {
    proc_slot* s = att->rt.proc(id);
    if (load(s->pid) != static_cast<std::int32_t>(pid)) continue;
    // The process the bank names, if it is still that run and runs as the bank's user.
    const fd_guard pfd(open_member_pidfd(static_cast<int>(pid), load(s->start_time),
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

int cmd_restart(int argc, char** argv) {
  common_args a = parse(argc, argv, 2, false);
  if (a.help) {
    std::printf(
        "usage: hrctl restart [--bank PATH] [--timeout MS]\nSite restart on demand: every "
        "group restarts from persistent memory (needs a running supervisor; held groups stay "
        "held). --timeout MS: how long to wait for the answer (default 30000).\n%s",
        exit_codes_text);
    return exit_ok;
  }
  if (!a.error.empty()) return usage_error(a.error, "restart", a.error_code);
  request_in in;
  in.kind = req_site_restart;
  return need_request(a, in, "restart");
}

int cmd_upgrade(int argc, char** argv) {
  common_args a = parse(argc, argv, 2, true);
  if (a.help) {
    std::printf(
        "usage: hrctl upgrade -g GROUP [--name NAME] [--bank PATH] [--timeout MS] -- NEWPROGRAM "
        "[ARGS...]\n"
        "Replaces the image of member NAME (default: NEWPROGRAM's basename) with NEWPROGRAM\n"
        "and restarts the group on it (needs a running supervisor; resumes a held group).\n%s",
        exit_codes_text);
    return exit_ok;
  }
  if (!a.error.empty()) return usage_error(a.error, "upgrade", a.error_code);
  if (a.group.empty() || a.rest.empty())
    return usage_error("expected -g GROUP -- NEWPROGRAM [ARGS...]", "upgrade");
  program_file f;
  const program_problem pp = open_program(a.rest[0], f);
  if (pp != program_problem::none) {
    std::fprintf(stderr, "hrctl: %s: %s\n", a.rest[0].c_str(), describe(pp));
    return exit_program;
  }
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

int cmd_stop(int argc, char** argv) {
  common_args a = parse(argc, argv, 2, false);
  if (a.help) {
    std::printf(
        "usage: hrctl stop -g GROUP [--bank PATH] [--stop-timeout MS] [--timeout MS]\n"
        "Stops a group gracefully: its members get SIGTERM, then SIGKILL after MS (default:\n"
        "the group's --stop-timeout, else 5000); a member that makes the clean-exit call\n"
        "meanwhile counts as clean. The group stays in the bank, held: it is not restarted\n"
        "until hrctl run -g GROUP or hrctl upgrade resumes it (hrctl kill -g ends it); the\n"
        "hrctl run waiting for it exits 143. Waits until no member runs. Needs a running\n"
        "supervisor.\n%s",
        exit_codes_text);
    return exit_ok;
  }
  if (!a.error.empty()) return usage_error(a.error, "stop", a.error_code);
  if (a.group.empty() || !a.rest.empty()) return usage_error("expected -g GROUP", "stop");
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

int cmd_read(int argc, char** argv, const char* cmd, int (*fn)(const bank_options&, bool)) {
  common_args a = parse(argc, argv, 2, false);
  const bool status = std::strcmp(cmd, "status") == 0;
  if (a.help) {
    std::printf("usage: hrctl %s [--bank PATH] [--json]\n%s\n", cmd,
                status
                    ? "Groups, members (kind, state, pid, runs), restart counters, blocked groups."
                : std::strcmp(cmd, "blocks") == 0
                    ? "Every block: name, size, capacity, deletion (group) key, owner."
                    : "Validates the bank (tables, counts, controller state, images); lists every "
                      "problem; exit 11 if any.");
    if (!status)
      std::printf(
          "       hrctl %s --image FILE [--offset N] [--length N] [--json]\n"
          "The same on a raw memory image of a bank (a copy of a bank file, QEMU's pmemsave,\n"
          "a debugger's dump of a device's bank section): the bank's bytes start at --offset\n"
          "(default 0) and span --length bytes (default: to the end of FILE). The image is\n"
          "read into memory; the file is never changed.\n",
          cmd);
    std::printf("%s", exit_codes_text);
    return exit_ok;
  }
  if (!a.error.empty()) return usage_error(a.error, cmd, a.error_code);
  if (a.image_given) {
    if (status) return usage_error("--image: status needs a live bank (use blocks or check)", cmd);
    if (std::find(a.bo.given.begin(), a.bo.given.end(), "--bank") != a.bo.given.end())
      return usage_error("--image and --bank exclude each other", cmd);
    return cmd_image(a.image, std::strcmp(cmd, "check") == 0, a.json);
  }
  if (a.image.offset != 0 || a.image.length != 0)
    return usage_error("--offset/--length need --image", cmd);
  return fn(a.bo, a.json);
}

// snapshot DEST, restore SRC, remove: their own flags are taken out before the shared parse.
int cmd_snap(int argc, char** argv, const std::string& cmd) {
  snapshot_options so;
  std::vector<char*> args(argv, argv + argc);
  for (std::size_t i = 2; i < args.size();) {
    const std::string f = args[i];
    if (cmd == "snapshot" && f == "--force") {
      so.force = true;
    } else if (cmd == "snapshot" &&
               (f == "--freeze-timeout" || f.starts_with("--freeze-timeout="))) {
      std::string v = f.size() > 16 ? f.substr(17) : std::string();
      if (f.size() == 16) {
        if (i + 1 >= args.size())
          return usage_error("option --freeze-timeout needs a value", "snapshot");
        v = args[i + 1];
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if (!parse_u32(v, so.freeze_timeout_ms) || so.freeze_timeout_ms == 0 ||
          so.freeze_timeout_ms > 600000u)
        return usage_error(bad_value(v, "--freeze-timeout", "milliseconds, 1..600000"), "snapshot");
    } else {
      ++i;
      continue;
    }
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
  }
  common_args a = parse(static_cast<int>(args.size()), args.data(), 2, false);
  if (a.help) {
    std::printf("%s%s", snapshot_usage(cmd), exit_codes_text);
    return exit_ok;
  }
  if (!a.error.empty()) return usage_error(a.error, cmd.c_str(), a.error_code);
  so.json = a.json;
  const std::size_t want = cmd == "remove" ? 0 : 1;
  if (a.rest.size() != want || !a.group.empty() || a.image_given)
    return usage_error(cmd == "remove"     ? "remove takes only --bank"
                       : cmd == "snapshot" ? "expected one DEST"
                                           : "expected one SRC",
                       cmd.c_str());
  if (cmd == "snapshot") return cmd_snapshot(a.bo, a.rest[0], so);
  if (cmd == "restore") return cmd_restore(a.bo, a.rest[0], so);
  return cmd_remove(a.bo, so);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage_main();
    return exit_usage;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage_main();
    return exit_ok;
  }
  if (cmd == "run") return cmd_run(argc, argv, false);
  if (cmd == "serve") return cmd_run(argc, argv, true);
  if (cmd == "kill") return cmd_kill(argc, argv);
  if (cmd == "restart") return cmd_restart(argc, argv);
  if (cmd == "stop") return cmd_stop(argc, argv);
  if (cmd == "upgrade") return cmd_upgrade(argc, argv);
  if (cmd == "status") return cmd_read(argc, argv, "status", cmd_status);
  if (cmd == "blocks") return cmd_read(argc, argv, "blocks", cmd_blocks);
  if (cmd == "check") return cmd_read(argc, argv, "check", cmd_check);
  if (cmd == "snapshot" || cmd == "restore" || cmd == "remove") return cmd_snap(argc, argv, cmd);
  std::fprintf(stderr, "hrctl: unknown command '%s'\n", cmd.c_str());
  usage_main();
  return exit_usage;
}
