// SPDX-License-Identifier: MIT
#include "options.hpp"

#include <algorithm>
#include <cstring>

#include <hotrestart/bank_format.hpp>
#include <hotrestart/controller/region.hpp>
#include <hotrestart/posix/layout.hpp>

#include "json.hpp"
#include "systemd.hpp"

#ifndef HRCTL_VERSION
#define HRCTL_VERSION "unknown"
#endif

namespace hrctl {

namespace {

constexpr command_mask bit_run = cmd_bit(command_id::run);
constexpr command_mask bit_serve = cmd_bit(command_id::serve);
constexpr command_mask bit_kill = cmd_bit(command_id::kill);
constexpr command_mask bit_restart = cmd_bit(command_id::restart);
constexpr command_mask bit_upgrade = cmd_bit(command_id::upgrade);
constexpr command_mask bit_stop = cmd_bit(command_id::stop);
constexpr command_mask bit_status = cmd_bit(command_id::status);
constexpr command_mask bit_blocks = cmd_bit(command_id::blocks);
constexpr command_mask bit_check = cmd_bit(command_id::check);
constexpr command_mask bit_version = cmd_bit(command_id::version);
constexpr command_mask bit_reload = cmd_bit(command_id::reload);
// The commands that work on a bank (all but version).
constexpr command_mask bank_commands = all_commands & ~bit_version;
// The commands that may create a bank: they take the tunables.
constexpr command_mask bank_makers = bit_run | bit_serve;
// The commands that ask a running supervisor and wait for its answer.
constexpr command_mask requesters = bit_kill | bit_restart | bit_upgrade | bit_stop | bit_reload;

constexpr std::uint64_t day_ms = 86400000;
constexpr std::size_t max_name_bytes = 32;     // process and group names (layout.hpp)
constexpr std::uint32_t max_group_id = 65535;  // --max-groups is at most 65536
constexpr int hrctl_json_schema = 1;           // of hrctl's JSON documents (json.hpp's errors too)

// clang-format off
constexpr command_spec commands[] = {
    {command_id::run, "run",
     "[options] [tunables] -- PROGRAM [ARGS...]",
     "start PROGRAM in a restart group and supervise it (ChorusOS arun -g)",
     "Starts PROGRAM as a direct member of GROUP (a number 0..max-groups-1, default 0, or a "
     "name: a new group gets the lowest free id) and supervises it in the foreground. The "
     "program's image (executable, name and arguments) is kept in the bank and every restart "
     "runs that image, even if the file on disk changed. An image holds at most 256 words "
     "(PROGRAM and its arguments) and 64 KiB of them (each word with its terminating NUL): "
     "more is refused before anything is created.\n\n"
     "A crash (a signal, or an exit without the clean-exit call) restarts the group as the "
     "controller decides; on escalation, a site restart restarts every group. Exits when the "
     "group ends: 0 when it terminated cleanly, 12 killed, 8 given up on, 128+N stopped by "
     "signal N (the group is then held in the bank: the next hrctl run -g GROUP resumes it). "
     "A held group is resumed by this run.\n\n"
     "If a supervisor already serves the bank, the program is handed to it and this command "
     "waits for the group to end, with the same exit codes; the program's output still comes "
     "here; SIGTERM/SIGINT ask the supervisor to stop the group; if that supervisor ends, this "
     "command takes its place.",
     operands::program, true},
    {command_id::serve, "serve",
     "[options] [tunables]",
     "supervise every group of a bank (the long-running controller)",
     "Supervises every group of the bank until SIGTERM/SIGINT (the long-running ChorusOS "
     "controller): adopts running members, restarts crashed ones, serves hrctl "
     "run/kill/stop/restart/upgrade and hrfexec requests. On SIGTERM/SIGINT every group with "
     "members running is stopped and held.",
     operands::none, true},
    {command_id::kill, "kill",
     "-g GROUP [options]\nPID [options]",
     "kill -g GROUP: end a group; kill PID: restart that process's group",
     "kill -g GROUP (akill -g): the group's members are killed, not restarted, and its "
     "group-keyed blocks and images are freed; without a supervisor, this command does it "
     "alone.\n\n"
     "kill PID: the process is killed and its group restarts as after a crash.",
     operands::pid, false},
    {command_id::restart, "restart",
     "[options]",
     "site restart: every group restarts from persistent memory",
     "Site restart on demand: every group restarts from persistent memory (needs a running "
     "supervisor; held groups stay held).",
     operands::none, false},
    {command_id::upgrade, "upgrade",
     "-g GROUP [options] -- NEWPROGRAM [ARGS...]",
     "replace a member's image with a new program and restart its group",
     "Replaces the image of member NAME (default: NEWPROGRAM's basename) with NEWPROGRAM and "
     "restarts the group on it (needs a running supervisor; resumes a held group). The image "
     "holds at most 256 words (NEWPROGRAM and its arguments) and 64 KiB of them.",
     operands::program, false},
    {command_id::stop, "stop",
     "-g GROUP [options]",
     "stop -g GROUP: stop a group gracefully and hold it (hrctl run -g resumes it)",
     "Stops a group gracefully: its members get SIGTERM, then SIGKILL after MS (default: the "
     "group's --stop-timeout, else 5000); a member that makes the clean-exit call meanwhile "
     "counts as clean. The group stays in the bank, held: it is not restarted until hrctl run "
     "-g GROUP or hrctl upgrade resumes it (hrctl kill -g ends it); the hrctl run waiting for "
     "it exits 143. Waits until no member runs. Needs a running supervisor.",
     operands::none, false},
    {command_id::status, "status",
     "[options]",
     "groups, members, states, restart counters, blocked groups",
     "Groups, members (kind, state, pid, runs), restart counters, blocked groups.\n\n"
     "With --watch, the view again every --every MS ms until SIGINT/SIGTERM (exit 0) or until "
     "the bank cannot be read (its exit code), with what changed between two views (member "
     "restarts, group and site restarts, groups started and terminated): on a terminal the "
     "screen is redrawn with the last 10 changes; otherwise one full view, then one "
     "timestamped line per change; with --json, one JSON object per view and line.",
     operands::none, false},
    {command_id::blocks, "blocks",
     "[options]\n--image FILE [--offset N] [--length N] [--json]",
     "every block of the bank: name, size, key, owner",
     "Every block: name, size, capacity, deletion (group) key, owner.\n\n"
     "With --image, the same on a raw memory image of a bank (a copy of a bank file, QEMU's "
     "pmemsave, a debugger's dump of a device's bank section): the bank's bytes start at "
     "--offset (default 0) and span --length bytes (default: to the end of FILE). The image is "
     "read into memory; the file is never changed.",
     operands::none, false},
    {command_id::check, "check",
     "[options]\n--image FILE [--offset N] [--length N] [--json]",
     "validate a bank and list every problem",
     "Validates the bank (tables, counts, controller state, images); lists every problem; exit "
     "11 if any.\n\n"
     "With --image, the same on a raw memory image of a bank (see hrctl blocks --help).",
     operands::none, false},
    {command_id::snapshot, "snapshot",
     "[options] DEST",
     "copy the bank as at one instant into the bank file DEST",
     "Writes a copy of the bank to DEST (a bank file: hrctl check --bank DEST accepts it). The "
     "copy is taken holding the bank's lock (no block is being created or freed) with the "
     "supervisor and every member stopped (SIGSTOP, then SIGCONT): it holds what the bank would "
     "after all of them were killed at that instant, and records no pid (a supervisor of the "
     "copy reruns the members). Writers stall for the copy: a reflink where the file system "
     "has one (XFS, Btrfs), else a full copy (docs/hrctl.md, Snapshots). DEST is written as a "
     "temporary file beside it, mode 0600, owned by the bank's user, then renamed into place.",
     operands::file, false},
    {command_id::restore, "restore",
     "[options] SRC",
     "replace the bank with a copy of the snapshot SRC",
     "Replaces the bank at PATH with a copy of the bank SRC (a snapshot), in one rename. SRC "
     "must be a bank of the bank's user (the same rules as any bank) that hrctl check accepts. "
     "Refused while a supervisor serves PATH or a member of it runs (exit 9).",
     operands::file, false},
    {command_id::remove, "remove",
     "[options]",
     "delete a bank file that nothing uses",
     "Deletes the bank file at PATH (a symbolic link there is refused, never followed). Refused "
     "while a supervisor serves it or a member of it runs (exit 9), and for a file that is not a "
     "bank (exit 5) unless it is empty (a creation that was cut short).",
     operands::none, false},
    {command_id::convert, "convert",
     "[options]",
     "convert the bank's runtime state written by the previous hrctl version",
     "Converts the bank's runtime block of the previous version (2) to this hrctl's (3), in "
     "place, all or nothing (a crash leaves version 2 or version 3, never a mix), and says what "
     "it converted; a bank already at this version is left as it is. Groups, members (running "
     "ones keep running), holds, counters, names and listening sockets are kept. A supervisor "
     "(hrctl serve, hrctl run) does the same when it adopts such a bank. Refused while a "
     "supervisor serves the bank (exit 9).",
     operands::none, false},
    {command_id::version, "version",
     "[--json]",
     "the version of hrctl, of the bank formats it reads and of its JSON",
     "Prints hrctl's version (the project's), the versions of the bank formats it reads "
     "(bank, runtime, controller, image) and of its JSON documents. Also hrctl --version.",
     operands::none, false},
    {command_id::reload, "reload",
     "[options]",
     "the serving supervisor reads its configuration file again and applies it",
     "Asks the supervisor serving the bank (hrctl serve --config FILE) to read FILE again and "
     "waits for its answer (systemd's ExecReload=). The whole file is checked first: a problem "
     "(syntax, a missing program, an unknown socket name, another bank or user) refuses the "
     "reload and nothing changes. Then groups of the file that are not in the bank are "
     "started, members whose program file changed (its path, size or checksum, or their "
     "arguments) get a new image and their group restarts on it as after hrctl upgrade (no "
     "failure counted, sockets kept), and groups the previous configuration named and this "
     "one does not are stopped gracefully and held, never killed. --config FILE here only "
     "finds the bank: the supervisor reads the file it was started with.",
     operands::none, false},
};

void set_bank(parsed_args& a, const option_value& v) { a.bo.path = v.text; a.bo.given.emplace_back("--bank"); }
void set_user(parsed_args& a, const option_value& v) { a.bo.user = v.text; a.bo.given.emplace_back("--user"); }
void set_help(parsed_args& a, const option_value&) { a.help = true; }
void set_json(parsed_args& a, const option_value&) { a.json = true; }
void set_config(parsed_args& a, const option_value& v) { a.config = v.text; }
void set_group(parsed_args& a, const option_value& v) { a.group = v.text; }
void set_name(parsed_args& a, const option_value& v) { a.ro.name = v.text; }
void set_listen(parsed_args& a, const option_value& v) { a.ro.listen.push_back(v.text); }
void set_exit0(parsed_args& a, const option_value&) { a.ro.exit0_clean = true; }
void set_prefix(parsed_args& a, const option_value&) { a.ro.prefix = true; }
void set_quiet(parsed_args& a, const option_value&) { a.ro.quiet = true; }
void set_serve_all(parsed_args& a, const option_value&) { a.ro.serve_all = true; }
void set_force(parsed_args& a, const option_value&) { a.bo.force = true; }
void set_freeze_timeout(parsed_args& a, const option_value& v) {
  a.freeze_timeout_ms = static_cast<std::uint32_t>(v.number);
}
void set_watch(parsed_args& a, const option_value&) { a.watch = true; }
void set_every(parsed_args& a, const option_value& v) {
  a.every_ms = static_cast<std::uint32_t>(v.number);
  a.every_given = true;
}
void set_heartbeat(parsed_args& a, const option_value& v) { a.ro.heartbeat_ms = v.number; }
void set_standby(parsed_args& a, const option_value&) { a.ro.standby = true; }
void set_standby_timeout(parsed_args& a, const option_value& v) {
  a.ro.standby_timeout_ms = static_cast<std::uint32_t>(v.number);
}
void set_stop_timeout(parsed_args& a, const option_value& v) { a.ro.stop_timeout_ms = v.number; a.ro.stop_timeout_given = true; }
void set_timeout(parsed_args& a, const option_value& v) { a.timeout_ms = static_cast<int>(v.number); }
void set_image(parsed_args& a, const option_value& v) { a.image.path = v.text; a.image_given = true; }
void set_offset(parsed_args& a, const option_value& v) {
  a.image.offset = v.number;
  a.image.offset_given = true;
}
void set_record_offset(parsed_args& a, const option_value& v) { a.image.record_offset = v.number; }
void set_length(parsed_args& a, const option_value& v) { a.image.length = v.number; }
void set_service(parsed_args& a, const std::string& flag, const option_value& v) {
  std::string err;
  (void)apply_service_option(flag, v.text, a.bo.service, err);  // (checked: service kind)
  a.bo.given.push_back(flag);
}
void set_ready(parsed_args& a, const option_value& v) { set_service(a, "--ready", v); }
void set_ready_after(parsed_args& a, const option_value& v) { set_service(a, "--ready-after", v); }
void set_on_give_up(parsed_args& a, const option_value& v) { set_service(a, "--on-give-up", v); }
void set_on_give_up_run(parsed_args& a, const option_value& v) { set_service(a, "--on-give-up-run", v); }
void set_node(parsed_args& a, const option_value& v) { set_service(a, "--node", v); }
void set_lease_time(parsed_args& a, const option_value& v) { set_service(a, "--lease-time", v); }

constexpr option_spec options[] = {
    {"help", 'h', nullptr, value_kind::flag, all_commands, "this help", 0, 0, set_help},
    {"bank", 0, "PATH", value_kind::path, bank_commands,
     "the bank file (default: see hrctl --help)", 0, 0, set_bank},
    {"user", 0, "NAME", value_kind::user, bank_commands,
     "the bank belongs to user NAME (a name or uid) and, under a root supervisor, every member "
     "runs as NAME (default bank NAME.bank)", 0, 0, set_user},
    {"config", 0, "FILE", value_kind::path, bank_commands,
     "'key = value' lines: bank, user, the tunables, ready, ready-after, on-give-up (flags "
     "win), then [group NAME] sections (run, name, listen, socket, heartbeat, exit0-clean, "
     "stop-timeout, standby, standby-timeout) that serve starts and reload applies; see docs/hrctl.md", 0, 0, set_config},
    {"json", 0, nullptr, value_kind::flag, all_commands,
     "output as JSON, and a usage error as a JSON error object on stdout", 0, 0, set_json},
    {"group", 'g', "GROUP", value_kind::group, bit_run | bit_kill | bit_upgrade | bit_stop,
     "a group id (0..max-groups-1) or a group name (at most 32 bytes)", 0, 0, set_group},
    {"name", 0, "NAME", value_kind::name, bit_run | bit_upgrade,
     "process name, unique in the group, at most 32 bytes (default: PROGRAM's basename)", 0, 0,
     set_name},
    {"listen", 0, "A:P", value_kind::listen, bit_run,
     "open a listening TCP socket once (P 0: any free port) and pass it to every run as fd 3.. "
     "(LISTEN_FDS/LISTEN_PID); A is an IPv4 address, [an IPv6 address], a host name (every "
     "address it resolves to, each a socket) or empty (0.0.0.0); up to 4 sockets", 0, 0,
     set_listen},
    {"exit0-clean", 0, nullptr, value_kind::flag, bit_run,
     "an exit with status 0 counts as a clean exit (unmodified programs)", 0, 0, set_exit0},
    {"heartbeat", 0, "MS", value_kind::ms, bit_run,
     "a member that sends no heartbeat for MS ms is killed (a hang); 1..86400000", 1, day_ms,
     set_heartbeat},
    {"standby", 0, nullptr, value_kind::flag, bit_run,
     "keep a warm standby of the member: a next instance executed from its image and parked "
     "at its standby point (process::attach), promoted when the group restarts instead of a "
     "new start; see docs/hrctl.md", 0, 0, set_standby},
    {"standby-timeout", 0, "MS", value_kind::ms, bit_run,
     "--standby: how long a standby may take to reach its standby point before it is killed "
     "and standby is disabled for the member (default 5000); 1..86400000", 1, day_ms,
     set_standby_timeout},
    {"stop-timeout", 0, "MS", value_kind::ms, bit_run | bit_serve | bit_stop,
     "on SIGTERM/SIGINT (stop: at once): members get SIGTERM, then SIGKILL after MS (default "
     "5000); the group stays in the bank, held", 1, day_ms, set_stop_timeout},
    {"timeout", 0, "MS", value_kind::ms, requesters,
     "how long to wait for the supervisor's answer (default 30000)", 1, day_ms, set_timeout},
    {"prefix", 0, nullptr, value_kind::flag, bit_run | bit_serve,
     "prefix each line the members write with [GID NAME PID]", 0, 0, set_prefix},
    {"quiet", 0, nullptr, value_kind::flag, bit_run | bit_serve, "no supervisor messages", 0, 0,
     set_quiet},
    {"serve-all", 0, nullptr, value_kind::flag, bit_run,
     "when this run's group has ended, go on serving the bank's other groups until none has "
     "members running (default: exit at once)", 0, 0, set_serve_all},
    {"force", 0, nullptr, value_kind::flag, bit_run | bit_serve | cmd_bit(command_id::snapshot),
     "run, serve: adopt a bank that hrctl check finds corrupt (default: refuse it, listing the "
     "problems); snapshot: replace a file already at DEST", 0, 0, set_force},
    {"freeze-timeout", 0, "MS", value_kind::ms, cmd_bit(command_id::snapshot),
     "how long the supervisor and members may take to stop before the copy (default 5000)", 1,
     600000, set_freeze_timeout},
    {"watch", 0, nullptr, value_kind::flag, bit_status,
     "a live view, redrawn every --every ms until SIGINT/SIGTERM; not on a terminal: one view, "
     "then a timestamped line per change; with --json: one object per view and line", 0, 0,
     set_watch},
    {"every", 0, "MS", value_kind::ms, bit_status,
     "--watch: the interval between two views (default 1000); 100..60000", 100, 60000,
     set_every},
    {"image", 0, "FILE", value_kind::path, bit_blocks | bit_check,
     "read a raw memory image of a bank instead of a live bank", 0, 0, set_image},
    {"offset", 0, "N", value_kind::size, bit_blocks | bit_check,
     "--image: the bank starts at byte N (K/M/G suffixes; default 0)", 0, 0, set_offset},
    {"length", 0, "N", value_kind::size, bit_blocks | bit_check,
     "--image: the bank spans N bytes (default: to the end of FILE)", 0, 0, set_length},
    {"record-offset", 0, "N", value_kind::size, bit_blocks | bit_check,
     "--image: a bare-metal reboot record is at byte N (default: found at byte 0 by its magic "
     "when --offset is not given; the bank is then at byte 128)", 0, 0, set_record_offset},
    {"ready", 0, "WHEN", value_kind::service, bit_run | bit_serve,
     "under a service manager (NOTIFY_SOCKET): when READY=1 is sent, once every direct member "
     "of the groups started (serve: running at start) is ready. call (default): it called "
     "process::ready() in its current run, or has run --ready-after ms; started: once started",
     0, 0, set_ready},
    {"ready-after", 0, "MS", value_kind::service, bit_run | bit_serve,
     "--ready call: a member that has run MS ms without calling ready() counts as ready "
     "(default 1000; 0: only the call counts); 0..86400000", 0, 0, set_ready_after},
    {"on-give-up", 0, "WHAT", value_kind::service, bit_run | bit_serve,
     "when hrctl gives up on a group: hold (default: the group is held, the other groups go on) "
     "or exit (every other group is stopped gracefully, then hrctl exits 8, for the service "
     "manager's Restart=/OnFailure=)", 0, 0, set_on_give_up},
    {"on-give-up-run", 0, "CMD", value_kind::service, bit_run | bit_serve,
     "when hrctl gives up on a group: run CMD with sh -c (not waited for; its output to hrctl's "
     "log), with HR_GROUP, HR_GROUP_ID, HR_GIVE_UP_REASON, HR_RESTART_COUNTER, HR_RESTARTS, "
     "HR_SITE_RESTARTS, HR_BANK in its environment; then --on-give-up acts", 0, 0, set_on_give_up_run},
    {"node", 0, "NAME", value_kind::service, bit_run | bit_serve | bit_kill | bit_status,
     "this node's name in the bank's lease (default: uname's nodename); a bank leased by "
     "another node, live, is refused (exit 16)", 0, 0, set_node},
    {"lease-time", 0, "MS", value_kind::service, bit_run | bit_serve,
     "how long the bank's lease stays live without a renewal (default 10000; renewed every "
     "quarter of it while serving); 1000..86400000", 0, 0, set_lease_time},
    // Tunables: fixed when the bank is created (checked by apply_tunable, as in a config file).
    {"bank-size", 0, "BYTES", value_kind::tunable, bank_makers,
     "bytes for blocks (K/M/G suffixes; default: for run, 16M + 4 x the program's image + the "
     "controller's and runtime's state, rounded up to a MiB; for serve, 64M)"},
    {"max-blocks", 0, "N", value_kind::tunable, bank_makers, "blocks in the bank (default 128)"},
    {"max-groups", 0, "N", value_kind::tunable, bank_makers,
     "restart groups, ids 0..N-1 (default 32, at most 65536)"},
    {"max-processes", 0, "N", value_kind::tunable, bank_makers,
     "restartable processes (default 32)"},
    {"policy", 0, "P", value_kind::tunable, bank_makers,
     "restart policy: chorus (default: the ChorusOS restart counter), window (Erlang-style "
     "intensity/period), backoff (exponential delays)"},
    {"interval", 0, "MS", value_kind::tunable, bank_makers,
     "chorus: restart counter decay period (default 3000)"},
    {"max-badness", 0, "N", value_kind::tunable, bank_makers,
     "chorus: site restart when a group's counter reaches N (25, 0 never)"},
    {"intensity", 0, "N", value_kind::tunable, bank_makers,
     "window: site restart at N restarts within --period (5, 1..8)"},
    {"period", 0, "MS", value_kind::tunable, bank_makers, "window: the period (default 10000)"},
    {"backoff-base", 0, "MS", value_kind::tunable, bank_makers,
     "backoff: first delay (100), doubling up to --backoff-cap"},
    {"backoff-cap", 0, "MS", value_kind::tunable, bank_makers,
     "backoff: the longest delay (30000)"},
    {"healthy", 0, "MS", value_kind::tunable, bank_makers,
     "backoff, discard: a period without restart resets them (60000)"},
    {"discard-after", 0, "N", value_kind::tunable, bank_makers,
     "discard a group's state (free its group-keyed blocks) at its N-th restart in a row "
     "(default 0: never)"},
    {"max-site-restarts", 0, "N", value_kind::tunable, bank_makers,
     "escalations of one group in a row before hrctl gives up on it (default 3, 0 never)"},
    {"give-up-window", 0, "MS", value_kind::tunable, bank_makers,
     "escalations further apart start that count again (default 300000)"},
};
// clang-format on

constexpr const char* bank_location_text =
    "Without --bank, the bank is $RUNTIME_DIRECTORY/default.bank (under systemd), else "
    "$XDG_RUNTIME_DIR/hotrestart/default.bank, else /dev/shm/hotrestart-UID/default.bank: a "
    "directory of this user's. A bank must belong to its user and be writable by no one else "
    "(chmod 600): hrctl refuses any other (exit 6). --user NAME: the bank belongs to NAME and, "
    "under a root supervisor, every member runs as NAME (default bank NAME.bank). See "
    "docs/security.md.";

constexpr const char* sizing_text =
    "Sizing: bank size >= controller + runtime state (2 pages each at the defaults) + 2 x the "
    "size of the restartable processes (each image is kept in the bank); max blocks >= max "
    "processes + 12. A bank too small is refused before anything is created.";

bool is_tunable(const option_spec& o) {
  return o.kind == value_kind::tunable;
}

std::string dashed(const option_spec& o) {
  return std::string("--") + o.long_name;
}

// "-g, --group GROUP" / "    --bank PATH".
std::string option_label(const option_spec& o) {
  std::string s;
  if (o.short_name != 0) s.append("-").push_back(o.short_name);
  if (!s.empty()) s.append(", ");
  s.append(dashed(o));
  if (o.value_name != nullptr) s.append(" ").append(o.value_name);
  return s;
}

// Word-wraps `text` to `width` columns, every line after the first indented by `indent`
// spaces (the first by `first` spaces).
std::string wrap(std::string_view text, std::size_t width, std::size_t first, std::size_t indent) {
  std::string out(first, ' ');
  std::size_t col = first;
  bool line_empty = true;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    const std::string_view word = text.substr(i, j - i);
    if (!line_empty && col + 1 + word.size() > width) {
      out.append("\n").append(indent, ' ');
      col = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out.push_back(' ');
      ++col;
    }
    out.append(word);
    col += word.size();
    line_empty = false;
    i = j;
  }
  return out;
}

// Paragraphs ("\n\n"-separated) wrapped to 79 columns.
void print_paragraphs(std::FILE* out, std::string_view text) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::fprintf(out, "%s\n", wrap(text.substr(start, end - start), 79, 0, 0).c_str());
    if (end == text.size()) break;
    std::fprintf(out, "\n");
    start = end + 2;
  }
}

void print_option_lines(std::FILE* out, const command_spec& c, bool tunables) {
  for (const option_spec& o : options) {
    if (!accepts(c, o) || is_tunable(o) != tunables) continue;
    std::string label = "  " + option_label(o);
    if (o.short_name == 0) label.insert(2, "    ");
    constexpr std::size_t col = 26;
    if (label.size() + 2 > col) {
      std::fprintf(out, "%s\n%s\n", label.c_str(), wrap(o.help, 79, col, col).c_str());
    } else {
      std::string text = wrap(o.help, 79, col, col);
      text.replace(0, label.size(), label);
      std::fprintf(out, "%s\n", text.c_str());
    }
  }
}

void print_exit_codes(std::FILE* out) {
  std::fprintf(out, "Exit codes:\n");
  for (const exit_code_info& e : exit_code_table) {
    const std::string num = e.code == 128 ? "128+N" : std::to_string(e.code);
    std::string text = wrap(e.meaning, 79, 8, 8);
    text.replace(0, 2 + num.size(), "  " + num);
    std::fprintf(out, "%s\n", text.c_str());
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string bad_value(std::string_view v, std::string_view key, std::string_view what) {
  std::string m = "bad value '";
  m.append(v).append("' for ").append(key).append(" (").append(what).append(")");
  return m;
}

// Checks `text` for option `o`; fills `out`. Returns an empty string or the problem.
std::string check_value(const option_spec& o, const std::string& text, option_value& out) {
  const std::string key = dashed(o);
  out.text = text;
  switch (o.kind) {
    case value_kind::flag: return {};
    case value_kind::text:
    case value_kind::path:
    case value_kind::user:
      if (text.empty()) return "option " + key + " needs a non-empty value";
      return {};
    case value_kind::name:
      if (text.empty() || text.size() > max_name_bytes)
        return bad_value(text, key,
                         "a name of 1..32 bytes; this one has " + std::to_string(text.size()));
      return {};
    case value_kind::group: {
      const std::string_view digits = !text.empty() && (text[0] == '-' || text[0] == '+')
                                          ? std::string_view(text).substr(1)
                                          : std::string_view(text);
      if (all_digits(digits)) {  // numeric: a valid id or nothing (never a name)
        std::uint32_t n = 0;
        if (digits.size() != text.size() || !parse_u32(text, n) || n > max_group_id)
          return bad_value(text, key, "a group id is 0..65535, below the bank's max-groups");
        return {};
      }
      if (text.empty() || text.size() > max_name_bytes)
        return bad_value(
            text, key, "a group name has 1..32 bytes; this one has " + std::to_string(text.size()));
      return {};
    }
    case value_kind::number:
    case value_kind::ms: {
      std::uint32_t n = 0;
      if (!parse_u32(text, n) || n < o.min || n > o.max)
        return bad_value(text, key,
                         (o.kind == value_kind::ms ? "milliseconds, " : "a number, ") +
                             std::to_string(o.min) + ".." + std::to_string(o.max));
      out.number = n;
      return {};
    }
    case value_kind::size: {
      std::uint64_t n = 0;
      if (!parse_size(text, n) || n < o.min)
        return bad_value(text, key, "bytes, digits with an optional K/M/G suffix");
      out.number = n;
      return {};
    }
    case value_kind::listen: {
      std::vector<listen_record> sockets;
      return parse_listen(text, sockets);
    }
    case value_kind::tunable: {
      bank_options scratch;
      std::string err;
      apply_tunable(key, text, scratch, err);
      return err;
    }
    case value_kind::service: {
      service_options scratch;
      std::string err;
      apply_service_option(key, text, scratch, err);
      return err;
    }
  }
  return {};
}

const option_spec* find_long(std::string_view name) {
  for (const option_spec& o : options)
    if (name == o.long_name) return &o;
  return nullptr;
}

const option_spec* find_short(char c) {
  for (const option_spec& o : options)
    if (o.short_name == c) return &o;
  return nullptr;
}

std::string command_list(command_mask m) {
  std::string s;
  for (const command_spec& c : commands)
    if ((m & cmd_bit(c.id)) != 0) s.append(s.empty() ? "" : ", ").append(c.name);
  return s;
}

// Options `c` accepts, with dashes ("--json", "-g").
std::vector<std::string> accepted_names(const command_spec& c) {
  std::vector<std::string> v;
  for (const option_spec& o : options) {
    if (!accepts(c, o)) continue;
    if (o.short_name != 0) v.push_back(std::string("-") + o.short_name);
    v.push_back(dashed(o));
  }
  return v;
}

// The problems of an image's words, before anything is created (layout.hpp's limits).
std::string check_image_words(const std::vector<std::string>& words) {
  if (words.size() > max_image_args)
    return "too many arguments: " + std::to_string(words.size()) + " words (PROGRAM and its " +
           "arguments); an image holds at most " + std::to_string(max_image_args);
  std::uint64_t bytes = 0;
  for (const std::string& w : words) bytes += w.size() + 1;
  if (bytes > max_image_argv_bytes)
    return "arguments too long: " + std::to_string(bytes) +
           " bytes (each word with its NUL); an image holds at most " +
           std::to_string(max_image_argv_bytes) + " bytes (64 KiB) of arguments";
  return {};
}

// roff: a line of text (escapes, no leading dot or quote).
std::string roff(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '\\')
      out.append("\\e");
    else if (ch == '-')
      out.append("\\-");
    else
      out.push_back(ch);
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

void man_paragraphs(std::FILE* out, std::string_view text) {
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::fprintf(out, ".PP\n%s\n", roff(text.substr(start, end - start)).c_str());
    if (end == text.size()) break;
    start = end + 2;
  }
}

void man_option(std::FILE* out, const option_spec& o) {
  std::fprintf(out, ".TP\n");
  std::string label;
  if (o.short_name != 0) label.append(R"(\fB\-)").append(1, o.short_name).append(R"(\fR, )");
  label.append(R"(\fB\-\-)").append(roff(o.long_name)).append(R"(\fR)");
  if (o.value_name != nullptr) label.append(R"( \fI)").append(o.value_name).append(R"(\fR)");
  std::fprintf(out, "%s\n%s\n", label.c_str(), roff(o.help).c_str());
}

}  // namespace

std::span<const command_spec> command_table() {
  return commands;
}
std::span<const option_spec> option_table() {
  return options;
}

const command_spec* find_command(std::string_view name) {
  for (const command_spec& c : commands)
    if (name == c.name) return &c;
  return nullptr;
}

bool accepts(const command_spec& c, const option_spec& o) {
  return (o.commands & cmd_bit(c.id)) != 0;
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = 3;  // at most 2 edits
  for (const std::string& c : candidates) {
    if (c.size() <= 2 || word.size() <= 2) continue;  // "-g": no near miss is meaningful
    const std::size_t d = edit_distance(word, c);
    if (d < best_d && 2 * d < word.size() - (word.starts_with("--") ? 2 : 0)) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

int usage_error(const std::string& e, const char* cmd, int code, bool json) {
  const char* pre = priority_prefix(priority::err).data();  // (when stderr is the journal)
  if (code != exit_usage)
    std::fprintf(stderr, "%shrctl %s: %s\n", pre, cmd, e.c_str());
  else
    std::fprintf(stderr, "%shrctl %s: %s (see hrctl %s --help)\n", pre, cmd, e.c_str(), cmd);
  if (json) print_json_error(code, json_error_kind(code), e);
  return code;
}

parsed_args parse_command_line(const command_spec& c, int argc, char** argv, int first) {
  parsed_args a;
  a.cmd = &c;
  // --json anywhere before "--": even a usage error found before it is reported as JSON.
  for (int i = first; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
    if (std::strcmp(argv[i], "--json") == 0) a.json = true;
  std::vector<std::string> stray;
  auto fail = [&](std::string e) {
    a.error = std::move(e);
    return a;
  };
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      if (c.takes != operands::program)
        return fail("hrctl " + std::string(c.name) + " takes no program (unexpected --)");
      for (++i; i < argc; ++i) a.rest.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (c.takes == operands::none)
        stray.push_back(arg);
      else
        a.rest.push_back(arg);
      continue;
    }
    const option_spec* o = nullptr;
    std::string shown, inline_value;
    bool has_inline = false;
    if (arg[1] == '-') {
      const auto eq = arg.find('=');
      shown = arg.substr(0, eq);
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        has_inline = true;
      }
      o = find_long(std::string_view(shown).substr(2));
    } else {
      shown = arg.substr(0, 2);
      o = find_short(arg[1]);
      if (arg.size() > 2) {  // -g5
        inline_value = arg.substr(2);
        has_inline = true;
      }
    }
    if (o == nullptr) {
      std::string m = "unknown option " + shown;
      if (const std::string n = nearest(shown, accepted_names(c)); !n.empty())
        m += "; did you mean " + n + "?";
      return fail(m);
    }
    if (!accepts(c, *o))
      return fail("option " + shown + " is not for " + c.name + " (only " +
                  command_list(o->commands) + " take it)");
    std::string text;
    if (o->value_name == nullptr) {
      if (has_inline) return fail("option " + shown + " takes no value");
    } else if (has_inline) {
      text = inline_value;
    } else {
      if (i + 1 >= argc) return fail("option " + shown + " needs a value (" + o->value_name + ")");
      text = argv[++i];
    }
    option_value v;
    if (std::string e = check_value(*o, text, v); !e.empty()) return fail(e);
    if (o->store != nullptr)
      o->store(a, v);
    else
      a.tunables.emplace_back(dashed(*o), text);
  }
  if (!stray.empty()) {
    std::string m = "stray argument";
    if (stray.size() > 1) m += "s";
    for (const std::string& s : stray) m += " '" + s + "'";
    return fail(m + " (hrctl " + c.name + " takes none)");
  }
  if (c.takes == operands::pid && a.rest.size() > 1) {
    std::string m = "stray arguments:";
    for (std::size_t k = 1; k < a.rest.size(); ++k) m += " '" + a.rest[k] + "'";
    return fail(m + " (hrctl kill takes one PID)");
  }
  if (c.takes == operands::program)
    if (std::string e = check_image_words(a.rest); !e.empty()) return fail(e);
  if (c.takes == operands::file && a.rest.size() != 1 && !a.help) {
    if (a.rest.empty()) return fail(std::string("hrctl ") + c.name + " needs one FILE");
    std::string m = "stray arguments:";
    for (std::size_t k = 1; k < a.rest.size(); ++k) m += " '" + a.rest[k] + "'";
    return fail(m + " (hrctl " + c.name + " takes one FILE)");
  }
  if (a.help || c.id == command_id::version) return a;
  // The config file first, then flags (flags win).
  if (!a.config.empty()) {
    const std::string keep = a.bo.path, keep_user = a.bo.user;
    const service_options keep_service = a.bo.service;
    a.error = load_config(a.config, a.bo, &a.conf);
    if (a.bo.was_given("--bank")) a.bo.path = keep;
    if (a.bo.was_given("--user")) a.bo.user = keep_user;
    if (a.bo.was_given("--ready")) a.bo.service.ready = keep_service.ready;
    if (a.bo.was_given("--ready-after")) a.bo.service.ready_after_ms = keep_service.ready_after_ms;
    if (a.bo.was_given("--on-give-up")) a.bo.service.on_give_up = keep_service.on_give_up;
    if (a.bo.was_given("--node")) a.bo.service.node = keep_service.node;
    if (a.bo.was_given("--lease-time")) a.bo.service.lease_ms = keep_service.lease_ms;
    if (a.bo.was_given("--on-give-up-run"))
      a.bo.service.on_give_up_run = keep_service.on_give_up_run;
    if (!a.error.empty()) return a;
  }
  for (auto& [k, v] : a.tunables) {
    std::string err;
    apply_tunable(k, v, a.bo, err);
    if (!err.empty()) return fail(err);
  }
  a.error = resolve_user(a.bo.user, a.bo.as);
  if (!a.error.empty()) return a;
  a.error = set_default_path(a.bo, c.makes_bank);
  if (!a.error.empty()) {
    a.error = "the default bank location cannot be used: " + a.error;
    a.error_code = exit_bank_path;
  }
  return a;
}

void print_main_help(std::FILE* out) {
  std::fprintf(out, "usage: hrctl COMMAND [options]\n");
  for (const command_spec& c : commands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(out, "  %-8s %s\n", "help", "this help (hrctl COMMAND --help: a command's)");
  print_paragraphs(out,
                   "Every command takes --help and --json; those on a bank take --bank PATH, "
                   "--user NAME and --config FILE. hrctl --version: the versions.");
  print_paragraphs(out, bank_location_text);
  print_exit_codes(out);
}

void print_command_help(const command_spec& c, std::FILE* out) {
  std::string syn = c.synopsis;
  std::size_t start = 0;
  bool first = true;
  for (;;) {
    const std::size_t nl = syn.find('\n', start);
    const std::string line = syn.substr(start, nl == std::string::npos ? nl : nl - start);
    std::fprintf(out, "%s hrctl %s %s\n", first ? "usage:" : "      ", c.name, line.c_str());
    first = false;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  print_paragraphs(out, c.description);
  std::fprintf(out, "Options:\n");
  print_option_lines(out, c, false);
  if (c.makes_bank) {
    std::fprintf(out,
                 "Tunables (fixed when the bank is created; also as 'key = value' lines in "
                 "--config FILE):\n");
    print_option_lines(out, c, true);
    print_paragraphs(out, sizing_text);
  }
  print_exit_codes(out);
}

int print_version(bool json) {
  if (json) {
    std::printf(
        "{\"schema_version\":%d,\"version\":\"%s\",\"formats\":{\"bank\":%u,\"runtime\":%u,"
        "\"controller\":%u,\"image\":%u}}\n",
        hrctl_json_schema, HRCTL_VERSION, bank_format::version, runtime_version,
        hotrestart::detail::ctl::version, image_version);
    return exit_ok;
  }
  std::printf("hrctl (hotrestart) %s\n", HRCTL_VERSION);
  std::printf("bank formats: bank %u, runtime %u, controller %u, image %u\n", bank_format::version,
              runtime_version, hotrestart::detail::ctl::version, image_version);
  std::printf("JSON schema: %d\n", hrctl_json_schema);
  return exit_ok;
}

int list_options(std::string_view cmd) {
  std::vector<std::string> names;
  for (const command_spec& c : commands)
    if (cmd == "all" || cmd == c.name)
      for (std::string& n : accepted_names(c))
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  if (names.empty()) {
    std::fprintf(stderr, "hrctl: unknown command '%.*s'\n", static_cast<int>(cmd.size()),
                 cmd.data());
    return exit_usage;
  }
  for (const std::string& n : names) std::printf("%s\n", n.c_str());
  return exit_ok;
}

void write_man_page(std::FILE* out) {
  std::fprintf(out,
               ".\\\" Generated by hrctl __man from its option table: do not edit.\n"
               ".TH HRCTL 1 \"\" \"hotrestart %s\" \"User Commands\"\n"
               ".SH NAME\n"
               "hrctl \\- the hot restart supervisor and its commands\n"
               ".SH SYNOPSIS\n"
               ".B hrctl\n"
               ".I COMMAND\n"
               "[\\fIoptions\\fR]\n"
               ".br\n"
               ".B hrctl \\-\\-version\n"
               ".SH DESCRIPTION\n"
               "hrctl supervises programs in restart groups whose state lives in a persistent "
               "memory bank, as the ChorusOS hot restart controller did (arun \\-g, akill, "
               "restart), on Linux.\n",
               HRCTL_VERSION);
  man_paragraphs(out, bank_location_text);
  std::fprintf(out, ".SH COMMANDS\n");
  for (const command_spec& c : commands) {
    std::fprintf(out, ".SS %s\n", c.name);
    std::string syn = c.synopsis;
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = syn.find('\n', start);
      const std::string line = syn.substr(start, nl == std::string::npos ? nl : nl - start);
      std::fprintf(out, "%s\\fBhrctl %s\\fR %s\n", start == 0 ? "" : ".br\n", c.name,
                   roff(line).c_str());
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    man_paragraphs(out, c.description);
    std::fprintf(out, ".PP\nOptions:\n");
    for (const option_spec& o : options)
      if (accepts(c, o) && !is_tunable(o))
        std::fprintf(out, ".RS\n"), man_option(out, o), std::fprintf(out, ".RE\n");
    if (c.makes_bank) std::fprintf(out, ".PP\nand the tunables (see \\fBTUNABLES\\fR).\n");
  }
  std::fprintf(out, ".SH OPTIONS\n");
  for (const option_spec& o : options) {
    if (is_tunable(o)) continue;
    man_option(out, o);
    std::fprintf(out, "Commands: %s.\n", command_list(o.commands).c_str());
  }
  std::fprintf(out, ".SH TUNABLES\n.PP\n%s\n",
               roff("Fixed when the bank is created (hrctl run and hrctl serve); also as "
                    "'key = value' lines in --config FILE, the key without the dashes.")
                   .c_str());
  for (const option_spec& o : options)
    if (is_tunable(o)) man_option(out, o);
  man_paragraphs(out, sizing_text);
  std::fprintf(
      out, ".SH LIMITS\n.PP\n%s\n",
      roff("A program's image holds at most " + std::to_string(max_image_args) +
           " words (PROGRAM and its arguments) and " + std::to_string(max_image_argv_bytes) +
           " bytes of them, each word with its terminating NUL. Process and group "
           "names have at most 32 bytes; a group given as a number is an id, "
           "0..65535.")
          .c_str());
  std::fprintf(out, ".SH EXIT STATUS\n");
  for (const exit_code_info& e : exit_code_table) {
    const std::string num = e.code == 128 ? "128+N" : std::to_string(e.code);
    std::fprintf(out, ".TP\n.B %s\n%s (%s)\n", num.c_str(), roff(e.meaning).c_str(),
                 roff(e.name).c_str());
  }
  std::fprintf(out,
               ".SH FILES\n"
               ".TP\n"
               ".I share/bash\\-completion/completions/hrctl\n"
               "the bash completion, generated as this page is\n"
               ".SH SEE ALSO\n"
               "docs/hrctl.md and docs/security.md in the hotrestart sources\n");
}

void write_bash_completion(std::FILE* out) {
  std::fprintf(out,
               "# bash completion for hrctl. Generated by hrctl __bash-completion from its "
               "option table: do not edit.\n"
               "_hrctl() {\n"
               "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i\n"
               "  if ((COMP_CWORD == 1)); then\n"
               "    COMPREPLY=($(compgen -W \"");
  for (const command_spec& c : commands) std::fprintf(out, "%s ", c.name);
  std::fprintf(out,
               "help --help --version\" -- \"$cur\"))\n"
               "    return\n"
               "  fi\n"
               "  for ((i = 2; i < COMP_CWORD; i++)); do\n"
               "    if [[ ${COMP_WORDS[i]} == -- ]]; then\n"
               "      COMPREPLY=($(compgen -f -- \"$cur\"))\n"
               "      return\n"
               "    fi\n"
               "  done\n"
               "  case $prev in\n");
  std::string files, users, values;
  for (const option_spec& o : options) {
    if (o.value_name == nullptr) continue;
    std::string names = dashed(o);
    if (o.short_name != 0) names += std::string("|-") + o.short_name;
    std::string& into = o.kind == value_kind::path   ? files
                        : o.kind == value_kind::user ? users
                                                     : values;
    into.append(into.empty() ? "" : "|").append(names);
  }
  std::fprintf(out,
               "  %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
               "  %s) COMPREPLY=($(compgen -u -- \"$cur\")); return ;;\n"
               "  --policy) COMPREPLY=($(compgen -W \"chorus window backoff\" -- \"$cur\")); "
               "return ;;\n"
               "  %s) return ;;\n"
               "  esac\n"
               "  local opts\n"
               "  case ${COMP_WORDS[1]} in\n",
               files.c_str(), users.c_str(), values.c_str());
  for (const command_spec& c : commands) {
    std::string names;
    for (const std::string& n : accepted_names(c)) names.append(names.empty() ? "" : " ").append(n);
    if (c.takes == operands::program) names.append(" --");
    std::fprintf(out, "  %s) opts=\"%s\" ;;\n", c.name, names.c_str());
  }
  std::fprintf(out,
               "  *) return ;;\n"
               "  esac\n"
               "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
               "}\n"
               "complete -F _hrctl hrctl\n");
}

}  // namespace hrctl
