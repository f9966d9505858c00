// SPDX-License-Identifier: MIT
// The restartable-process API: what a program run by `hrctl run` calls.
//
//   auto self = hotrestart::posix::process::attach();      // bank and group from the env
//   if (!self) { /* not under hrctl: see self.error() */ }
//   auto counter = self->bank().find_or_create("PM1", sizeof(int), self->key());
//   if (self->restarted()) ...;
//   self->ready();                                          // serving: READY=1 for systemd
//   self->exit_cleanly(0);                                  // HR_EXIT_HDL(); exit(0);
//
// Without a supervisor (HR_BANK unset), attach() fails with `not_permitted` and a message
// saying so; programs that want to run alone open a bank themselves (mmap_bank::open_or_create).
// Linux only.
#ifndef HOTRESTART_POSIX_PROCESS_HPP
#define HOTRESTART_POSIX_PROCESS_HPP

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <hotrestart/posix/mailbox.hpp>
#include <hotrestart/posix/standby.hpp>

namespace hotrestart::posix {

/// What the supervisor told this run. Parsed from the environment without the heap.
struct run_identity {
  const char* bank_path = nullptr;
  int bank_fd = -1;  ///< HR_BANK_FD: the bank file as the supervisor opened it, or -1
  std::uint32_t gid = 0;
  std::uint32_t id = 0;
  std::uint64_t handle = 0;
  bool restarted = false;
};

/// Reads HR_BANK, HR_BANK_FD, HR_GROUP, HR_PROCESS, HR_HANDLE, HR_RESTARTED. Errors: not_permitted (no
/// HR_BANK: not started by hrctl run), corrupt (a variable is malformed).
[[nodiscard]] inline result<run_identity> identity_from_env() {
  run_identity id;
  id.bank_path = std::getenv(env_bank);
  if (id.bank_path == nullptr || *id.bank_path == '\0')
    return fail(errc::not_permitted,
                "HR_BANK is not set: this program was not started by `hrctl run`");
  auto num = [](const char* name, std::uint64_t& out) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return false;
    char* end = nullptr;
    out = std::strtoull(v, &end, 10);
    return end != nullptr && *end == '\0';
  };
  std::uint64_t g = 0, p = 0, h = 0;
  if (!num(env_group, g) || !num(env_process, p) || !num(env_handle, h) || g > 0xFFFFFFFFu ||
      p > 0xFFFFFFFFu)
    return fail(errc::corrupt, "HR_GROUP, HR_PROCESS or HR_HANDLE is missing or malformed");
  if (const char* fd = std::getenv(env_bank_fd); fd != nullptr && *fd != '\0') {
    std::uint64_t n = 0;
    if (!num(env_bank_fd, n) || n > 65535) return fail(errc::corrupt, "HR_BANK_FD is malformed");
    id.bank_fd = static_cast<int>(n);
  }
  id.gid = static_cast<std::uint32_t>(g);
  id.id = static_cast<std::uint32_t>(p);
  id.handle = h;
  const char* r = std::getenv(env_restarted);
  id.restarted = r != nullptr && r[0] == '1';
  return id;
}

/// A restartable process: its bank, its group, its run.
class process {
 public:
  /// Opens the bank the supervisor passed (HR_BANK_FD: the file it checked and opened, so the
  /// path need not be reachable, e.g. for a member run as another user; HR_BANK otherwise) and
  /// finds this run's record. The bank must belong to this process's user and be unwritable
  /// by others, as for every opener (docs/security.md). Errors: not_permitted (not under
  /// hrctl), the bank's open errors (untrusted_file...), unknown_process (the record does not
  /// name this run: a stale environment).
  /// A warm standby (hrctl run --standby) waits here until it is promoted, then attaches as
  /// the run it became (standby.hpp); every other process goes straight on.
  [[nodiscard]] static result<process> attach() {
    hotrestart::posix::standby_point();
    auto id = identity_from_env();
    if (!id) return fail(id.error());
    if (id->bank_fd >= 0) ::fcntl(id->bank_fd, F_SETFD, FD_CLOEXEC);  // not for our children
    auto a = attach_bank(id->bank_fd >= 0 ? mmap_location::descriptor(id->bank_fd, id->bank_path)
                                          : mmap_location(id->bank_path));
    if (!a) return fail(a.error());
    proc_slot* s = a->rt.proc(id->id);
    if (s == nullptr || load(s->handle) != id->handle)
      return fail(errc::unknown_process, "the bank has no record of this run (stale HR_HANDLE?)");
    return process(std::move(a->bank), a->rt, *id);
  }

  /// The standby point, for a program that wants to park later or earlier than attach()
  /// (after initialisation that does not depend on its state): see standby.hpp.
  static void standby_point() { hotrestart::posix::standby_point(); }

  mmap_bank& bank() { return bank_; }
  const runtime_view& runtime() const { return rt_; }
  std::uint32_t group() const { return id_.gid; }
  std::uint32_t id() const { return id_.id; }
  std::uint64_t handle() const { return id_.handle; }
  /// True when this run is a restart (the group restarted, or a site restart).
  bool restarted() const { return id_.restarted; }
  /// The group's deletion key: blocks created with it are freed when the group terminates.
  group_key key() const { return group_key(id_.gid); }

  /// Tells the supervisor this process is alive (needed when its group has a heartbeat
  /// deadline: hrctl run --heartbeat MS). Cheap: one store into the bank.
  void heartbeat() {
    if (proc_slot* s = rt_.proc(id_.id)) store(s->heartbeat_ms, monotonic_ms());
  }

  /// Tells the supervisor this run is ready (it serves): under a service manager, hrctl
  /// sends READY=1 once every direct member of its groups is ready (docs/hrctl.md, "Under a
  /// service manager"). Records this run's number (the slot's `runs`) in `ready_run`; a
  /// restarted run is not ready until it calls this again. Does nothing if the bank no longer
  /// names this run. Then wakes the supervisor (SIGUSR1, as a request does), so READY=1
  /// follows at once rather than at its next tick; only the supervisor the bank records, alive
  /// (pid and start time), is signalled, never a process that reused its pid.
  void ready() {
    proc_slot* s = rt_.proc(id_.id);
    if (s == nullptr || load(s->handle) != id_.handle) return;
    store(s->ready_run, load(s->runs));
    if (recorded_supervisor_alive(rt_)) ::kill(load(rt_.header().supervisor_pid), SIGUSR1);
  }

  /// The clean-exit call (HR_EXIT_HDL): records in the bank that this run ends cleanly. An
  /// exit without it is a failure, like a crash. The record is read by the supervisor when
  /// the process is gone, so it survives anything that happens after this call.
  void mark_clean_exit() {
    if (proc_slot* s = rt_.proc(id_.id)) store(s->clean, id_.handle);
  }
  /// mark_clean_exit(), flush stdio, exit(status).
  [[noreturn]] void exit_cleanly(int status = 0) {
    mark_clean_exit();
    std::exit(status);
  }

  /// hrfexec: starts `program` (path, searched in PATH without '/') with `argv` as an indirect
  /// member `name` of this group. The supervisor runs it from an image in the bank. Returns
  /// the answer: status 0 and the pid, or an hrctl exit code and a message.
  request_out spawn_indirect(std::string_view name, const std::string& program,
                             const std::vector<std::string>& argv) {
    request_out out;
    program_file f;
    const program_problem pp = open_program(program, f);
    if (pp != program_problem::none) {
      out.status = request_bad_program;
      out.message = program + ": " + describe(pp);
      return out;
    }
    request_in in;
    in.kind = req_spawn_indirect;
    in.gid = id_.gid;
    in.parent = id_.id;
    in.name = std::string(name);
    in.program = &f;
    in.argv = argv.empty() ? std::vector<std::string>{program} : argv;
    auto r = submit_request(bank_, rt_, in, 30000);
    ::close(f.fd);
    if (!r) {
      out.status = request_failed;
      out.message = describe(r.error()).text;
      return out;
    }
    return *r;
  }

 private:
  process(mmap_bank&& b, const runtime_view& rt, const run_identity& id)
      : bank_(std::move(b)), rt_(rt), id_(id) {}

  mmap_bank bank_;
  runtime_view rt_;
  run_identity id_;
};

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_PROCESS_HPP
