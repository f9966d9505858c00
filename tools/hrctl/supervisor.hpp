// SPDX-License-Identifier: MIT
// The supervisor: the one process that drives a bank's controller. It runs members from their
// images in the bank, watches them (pidfds), reports their ends to the controller, performs
// the controller's actions, serves the request mailbox, and adopts what a killed supervisor
// left running. Single-threaded; one poll loop.
#ifndef HRCTL_SUPERVISOR_HPP
#define HRCTL_SUPERVISOR_HPP

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"

namespace hrctl {

class supervisor {
 public:
  /// Opens or creates the bank, takes the supervisor lock, opens the controller and adopts
  /// the groups found. Returns 0 or an exit code (exit_busy when another supervisor holds
  /// the lock: `busy` is then set and nothing was changed).
  int open(const bank_options& bo, bool prefix, bool quiet, bool* busy);

  /// Starts PROGRAM as a direct member of the group named in `ro` (hrctl run). Returns 0 or
  /// an exit code; `gid` receives the group.
  int start_direct(const run_options& ro, std::uint32_t& gid);

  /// Serves until the group `own` terminates (run mode) or forever (serve mode, own =
  /// no_group) or a stop signal. Returns hrctl's exit code.
  int serve(std::uint32_t own, std::uint64_t stop_timeout_ms);

  /// hrctl kill -g without a running supervisor: this process takes its place for one event.
  int kill_group_now(std::uint32_t gid, const std::string& name);

 private:
  struct run_state {
    int pid = 0;
    int pidfd = -1;
    bool child = false;
    std::uint64_t handle = 0;
    std::uint32_t gid = no_group;
    std::uint64_t started_ms = 0;
  };
  struct pending_run {
    std::uint64_t due_ms;
    std::uint32_t id;
  };
  /// Where a member's output goes when it is not the supervisor's own stdout/stderr (a
  /// delegated hrctl run: the requester's), and whether its lines are prefixed.
  struct proc_out {
    int out = -1;  ///< -1: the supervisor's stdout
    int err = -1;  ///< -1: the supervisor's stderr
    bool prefix = false;
    std::uint32_t gid = no_group;
  };
  /// A pipe from a run's stdout or stderr, read until EOF, its lines written prefixed.
  struct out_stream {
    int fd = -1;
    int dest = 1;
    std::string prefix;
    std::string partial;
  };
  struct group_mem {
    std::uint64_t last_restart_ms = 0;
    std::uint32_t streak = 0;
    std::vector<int> listen_fds;
  };

  std::uint64_t now() const;
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

  // Controller calls with their actions applied.
  template <class F>
  void drive(F&& call);
  void apply(const action& a);
  void perform_site_restart(bool escalation);

  // Runs.
  int run_member(std::uint32_t id, bool restarted, std::string* err);
  int spawn(std::uint32_t id, std::uint32_t gid, std::uint32_t image, std::uint64_t handle,
            bool restarted, std::string* err);
  void stop_run(std::uint32_t id, int sig);
  void reap(std::uint32_t id);
  void check_heartbeats();
  int memfd_for(std::uint32_t image, std::uint32_t gid);
  void drop_memfds(std::uint32_t gid);
  int open_listeners(std::uint32_t gid, const std::vector<std::string>& specs, std::string* err);
  void reopen_listeners(std::uint32_t gid);
  void close_listeners(std::uint32_t gid);

  // Adoption and the mailbox.
  void adopt();
  void serve_requests();
  void answer(request_slot& s, int status, const std::string& msg);
  int take_staged_image(std::uint32_t slot, std::uint32_t& image);
  result<std::uint32_t> resolve_group(std::uint32_t gid, std::string_view name, bool create);
  int register_and_run(std::uint32_t gid, std::string_view name, process_kind kind,
                       std::uint32_t image, std::uint32_t parent, int* pid, std::string* err,
                       const proc_out* out = nullptr);
  void pump(out_stream& s, bool to_eof);
  void drain_streams();
  void drop_outputs(std::uint32_t gid);
  bool any_group_running() const;
  void shutdown(std::uint64_t stop_timeout_ms);

  bank_options bo_;
  std::optional<mmap_bank> bank_;
  std::optional<store_t> store_;
  std::optional<controller_t> ctl_;
  runtime_view rt_;
  int lock_fd_ = -1;
  int sig_fd_ = -1;
  bool prefix_ = false;
  bool quiet_ = false;
  std::vector<run_state> runs_;
  std::vector<pending_run> pending_;
  std::map<std::uint32_t, group_mem> groups_;
  std::map<std::uint32_t, std::pair<int, std::uint32_t>> memfds_;  // image -> {fd, gid}
  std::vector<action> queue_;
  std::map<std::uint32_t, proc_out> outs_;  // process id -> its output, if not ours
  std::vector<out_stream> streams_;
  std::uint32_t own_ = no_group;
  int own_outcome_ = -1;  // exit code once the own group ended
  std::uint32_t escalations_ = 0;
  bool stopping_ = false;
  bool gave_up_ = false;
};

}  // namespace hrctl

#endif  // HRCTL_SUPERVISOR_HPP
