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

  /// For one event without a supervisor (hrctl kill -g): opens an existing bank, takes the
  /// lock, resumes the controller, performs no run and adopts nothing. `busy` as for open.
  int open_light(const bank_options& bo, bool* busy);

  /// Starts PROGRAM as a direct member of the group named in `ro` (hrctl run). Returns 0 or
  /// an exit code; `gid` receives the group.
  int start_direct(const run_options& ro, std::uint32_t& gid);

  /// Serves until the group `own` ends (run mode: terminated, killed, given up on or stopped;
  /// with `serve_all`, then until no other group has members running) or forever (serve
  /// mode, own = no_group), or a stop signal. Returns hrctl's exit code.
  int serve(std::uint32_t own, std::uint64_t stop_timeout_ms, bool serve_all);

  /// Stops group `gid` gracefully and holds it (as a stop request does); for a delegated
  /// hrctl run that took over while its stop request was unanswered.
  void stop_group(std::uint32_t gid, int sig);

  /// hrctl kill -g without a running supervisor (after open_light).
  int kill_group_now(std::uint32_t gid, const std::string& name);

  /// The supervisor pid the bank records (for "another supervisor serves it"), 0 if none.
  int recorded_supervisor();

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
    std::uint32_t gid;
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
  /// A group being stopped (SIGTERM sent): SIGKILL at `deadline_ms`.
  struct stop_state {
    std::uint64_t deadline_ms = 0;
    bool killed = false;
  };

  std::uint64_t now() const;
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

  // The trust boundary (docs/security.md).
  bool bank_trusted();
  int signal_run(const run_state& r, int sig) const;
  /// The user whose processes a bank of another user's (--user) may name; null for our own.
  const uid_t* member_uid() const;
  bool may_bind(std::uint32_t addr, std::uint16_t port) const;
  void accept_relays();
  bool take_relay(std::uint32_t slot, int requester, proc_out& into);

  // Opening.
  int open_bank(const bank_options& bo, bool create, bool* busy);
  int open_runtime(bool create);
  int open_controller(bool* created);

  // Controller calls with their actions applied.
  template <class F>
  void drive(F&& call);
  void apply(const action& a);
  void handle_site_restarts();
  bool note_escalation(std::uint32_t gid);
  void give_up(std::uint32_t gid);

  // Holds: groups stopped on request or given up on.
  void hold(std::uint32_t gid, std::uint32_t why, int code);
  bool held(std::uint32_t gid) const;
  void resume_held(std::uint32_t gid, bool restart);
  void begin_stop(std::uint32_t gid, std::uint64_t timeout_ms, int code);
  void check_stops();
  std::uint64_t stop_timeout_of(std::uint32_t gid, std::uint64_t asked) const;

  // Runs.
  int run_member(std::uint32_t id, std::string* err);
  int spawn(std::uint32_t id, std::uint32_t gid, std::uint32_t image, std::uint64_t handle,
            bool restarted, std::string* err);
  void stop_run(std::uint32_t id, int sig);
  void reap(std::uint32_t id);
  void check_heartbeats();
  int memfd_for(std::uint32_t image, std::uint32_t gid);
  void drop_memfds(std::uint32_t gid);
  int open_listeners(std::uint32_t gid, const std::vector<std::uint32_t>& addrs,
                     const std::vector<std::uint16_t>& ports, std::string* err);
  void reopen_listeners(std::uint32_t gid);
  bool take_listeners(std::uint32_t gid);
  void close_listeners(std::uint32_t gid);

  // Adoption and the mailbox.
  void adopt();
  void serve_requests();
  void answer(request_slot& s, int status, const std::string& msg);
  int take_staged_image(std::uint32_t slot, std::uint32_t& image);
  std::string sizing_problem(const std::string& what, std::uint64_t add, std::uint64_t remove);
  result<std::uint32_t> resolve_group(std::uint32_t gid, std::string_view name, bool create);
  void reset_group_slot(std::uint32_t gid);
  int register_and_run(std::uint32_t gid, std::string_view name, process_kind kind,
                       std::uint32_t image, std::uint32_t parent, int* pid, std::string* err,
                       const proc_out* out = nullptr);
  void pump(out_stream& s, bool to_eof);
  void drain_streams();
  void drop_outputs(std::uint32_t gid);
  bool others_active() const;
  bool own_busy() const;
  int wait_events(long timeout_ms);
  void shutdown(int sig, std::uint64_t stop_timeout_ms);
  void finish();

  bank_options bo_;
  run_as as_;  ///< who the bank belongs to and who runs its members
  std::optional<mmap_bank> bank_;
  std::optional<store_t> store_;
  std::optional<controller_t> ctl_;
  runtime_view rt_;
  int lock_fd_ = -1;
  int member_fd_ = -1;  ///< the bank file for the members (HR_BANK_FD), its own description
  int sig_fd_ = -1;
  int relay_fd_ = -1;                ///< the output relay's listening socket (relay.hpp)
  std::vector<int> relay_conns_;     ///< accepted relay connections whose offer is not read yet
  std::vector<relay_offer> offers_;  ///< offers not yet matched to their request
  bool untrusted_ = false;           ///< the bank became writable by another user
  std::vector<std::pair<std::uint32_t, std::uint16_t>> own_listens_;  ///< --listen of our run
  bool prefix_ = false;
  bool quiet_ = false;
  bool light_ = false;
  std::uint64_t stop_timeout_ms_ = 5000;
  std::vector<run_state> runs_;
  std::vector<pending_run> pending_;
  std::map<std::uint32_t, group_mem> groups_;
  std::map<std::uint32_t, std::pair<int, std::uint32_t>> memfds_;  // image -> {fd, gid}
  std::vector<action> queue_;
  std::map<std::uint32_t, proc_out> outs_;  // process id -> its output, if not ours
  std::vector<out_stream> streams_;
  std::map<std::uint32_t, stop_state> stops_;  // groups being stopped
  std::uint32_t own_ = no_group;
  int own_outcome_ = -1;  // exit code once the own group ended
  bool stopping_ = false;
};

}  // namespace hrctl

#endif  // HRCTL_SUPERVISOR_HPP
