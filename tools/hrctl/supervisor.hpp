// SPDX-License-Identifier: MIT
// The supervisor: the one process that drives a bank's controller. It runs members from their
// images in the bank, watches them (pidfds), reports their ends to the controller, performs
// the controller's actions, serves the request mailbox, and adopts what a killed supervisor
// left running. Single-threaded; one poll loop. Its parts: supervisor.cpp (opening, adoption,
// the loop, crash -> decide -> act), runs.cpp (starting and stopping runs), groups.cpp (groups,
// holds, stops), requests.cpp (the mailbox), and the launcher, listener set and output relay.
#ifndef HRCTL_SUPERVISOR_HPP
#define HRCTL_SUPERVISOR_HPP

#include <poll.h>
#include <signal.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "config.hpp"
#include "launcher.hpp"
#include "lease.hpp"
#include "listeners.hpp"
#include "log.hpp"
#include "output.hpp"

namespace hrctl {

/// Before anything starts: every `run` PROGRAM of the configuration can be imaged (else
/// exit_program) and every `socket` name was passed by the service manager (else exit_usage);
/// `err` says which, as "FILE:LINE: ...".
int check_config_groups(const config_file& cf, std::string& err);

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

  /// hrctl serve --config: starts each configured group that does not run (as hrctl run -g
  /// would), resumes held ones, and keeps the configuration for hrctl reload. Returns 0 or an
  /// exit code (a group could not be started).
  int start_config(const config_file& cf);

  /// Stops every group gracefully and holds it (as a stop signal would), then leaves the bank;
  /// after a configured group could not be started.
  void stop_all(int sig, std::uint64_t stop_timeout_ms) {
    shutdown(sig, stop_timeout_ms);
    finish();
  }

  /// Serves until the group `own` ends (run mode: terminated, killed, given up on or stopped;
  /// with `serve_all`, then until no other group has members running) or forever (serve
  /// mode, own = no_group), or a stop signal. Returns hrctl's exit code.
  int serve(std::uint32_t own, std::uint64_t stop_timeout_ms, bool serve_all);

  /// Stops group `gid` gracefully and holds it (as a stop request does); for a delegated
  /// hrctl run that took over while its stop request was unanswered.
  void stop_group(std::uint32_t gid, int sig);

  /// hrctl kill -g without a running supervisor (after open_light).
  int kill_group_now(std::uint32_t gid, const std::string& name);

  /// After a failed start_direct: removes the bank file if this run created it (nothing
  /// runs from it, and a failed run leaves nothing behind).
  void discard_new_bank();

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
  struct group_mem {
    std::uint64_t last_restart_ms = 0;
    std::uint32_t streak = 0;
  };
  /// A group being stopped (SIGTERM sent): SIGKILL at `deadline_ms`.
  struct stop_state {
    std::uint64_t deadline_ms = 0;
    bool killed = false;
  };

  std::uint64_t now() const;

  // The trust boundary (docs/security.md).
  bool bank_trusted();
  // A bank file cut short under the mapping (truncate): found by the tick's fstat, or by the
  // SIGBUS of a read past its end. Either way every member is stopped without touching the
  // bank again, and hrctl exits exit_bank_lost.
  bool bank_whole();
  void abandon_runs(std::uint64_t timeout_ms);
  static void on_bank_fault(int sig, siginfo_t* si, void* ctx);
  void watch_bank_faults();
  int signal_run(const run_state& r, int sig) const;
  /// The user whose processes a bank of another user's (--user) may name; null for our own.
  const uid_t* member_uid() const;

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
  /// --on-give-up-run: starts the hook for group `gid` (give_up_hook.cpp), never waits for it.
  void run_give_up_hook(std::uint32_t gid, const std::string& reason);

  // Holds: groups stopped on request or given up on.
  void hold(std::uint32_t gid, std::uint32_t why, int code);
  bool held(std::uint32_t gid) const;
  void resume_held(std::uint32_t gid, bool restart);
  void begin_stop(std::uint32_t gid, std::uint64_t timeout_ms, int code);
  void check_stops();
  std::uint64_t stop_timeout_of(std::uint32_t gid, std::uint64_t asked) const;

  // Runs.
  int start_direct_member(const run_options& ro, std::uint32_t& gid);
  int run_member(std::uint32_t id, std::string* err);
  int spawn(std::uint32_t id, std::uint32_t gid, std::uint32_t image, std::uint64_t handle,
            bool restarted, std::string* err);
  void stop_run(std::uint32_t id, int sig);
  void reap(std::uint32_t id);
  std::uint64_t check_heartbeats(std::uint64_t cap);
  /// The group's sockets, bound again from the bank's record if no run holds them.
  void ensure_listeners(std::uint32_t gid);
  /// What a member's image runs ("PATH ARGS"), if not `argv` from `path`; else empty.
  std::string other_program(std::uint32_t image, const std::vector<std::string>& argv,
                            const std::string& path);
  /// (pid, pidfd) of the group's runs, for taking their sockets over.
  std::vector<std::pair<int, int>> runs_of(std::uint32_t gid) const;

  // Configured groups (configured.cpp).
  struct reload_tally {
    std::uint32_t groups_started = 0, members_started = 0, groups_upgraded = 0, groups_stopped = 0;
  };
  std::optional<std::uint32_t> configured_gid(const std::string& group) const;
  bool image_differs(std::uint32_t image, const config_member& m, const program_file& f);
  int start_configured_member(const config_group& cg, const config_member& m);
  int start_configured_group(const config_group& cg, bool reload, reload_tally& t);
  void serve_reload(request_slot& s, std::uint32_t slot);
  config_file config_;
  bool configured_ = false;

  // Adoption and the mailbox (requests.cpp: one function per request kind).
  void adopt();
  void serve_requests();
  void serve_kill_group(request_slot& s, const std::string& gname);
  void serve_stop_group(request_slot& s, const std::string& gname);
  void serve_site_restart(request_slot& s);
  void serve_run(request_slot& s, std::uint32_t slot, const std::string& name,
                 const std::string& gname);
  void serve_upgrade(request_slot& s, std::uint32_t slot, const std::string& name,
                     const std::string& gname);
  void answer(request_slot& s, int status, const std::string& msg);
  /// The performed-request ring (runtime_ext_header::performed): the record of request `id`,
  /// or null; a new record (status performed_in_progress) written before the request is acted on.
  performed_record* performed(std::uint64_t id);
  void record_performed(std::uint64_t id, std::uint32_t kind);
  bool answering_again_ = false;  ///< answer(): a "performed already" answer
  int replace_image(std::uint32_t slot, std::uint32_t image, const std::string& name,
                    std::string& err);
  int take_staged_image(std::uint32_t slot, std::uint32_t& image);
  std::string sizing_problem(const std::string& what, std::uint64_t add, std::uint64_t remove);
  result<std::uint32_t> resolve_group(std::uint32_t gid, std::string_view name, bool create);
  void reset_group_slot(std::uint32_t gid);
  int register_and_run(std::uint32_t gid, std::string_view name, process_kind kind,
                       std::uint32_t image, std::uint32_t parent, int* pid, std::string* err,
                       const proc_out* out = nullptr);
  bool others_active() const;
  bool own_busy() const;
  int wait_events(long timeout_ms);
  // Under a service manager (service.cpp): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
  void service_extend_for_bank(const std::string& path);
  void service_begin();
  void service_pass(std::uint64_t t, bool status_now = false);
  long service_wait(std::uint64_t t, long cap) const;
  void service_stopping();
  bool member_ready(std::uint32_t id, std::uint64_t t) const;
  std::string status_line() const;
  std::string group_label(std::uint32_t gid) const;
  void shutdown(int sig, std::uint64_t stop_timeout_ms);
  void finish();

  // Warm standbys (standby.cpp).
  struct standby_run {
    int pid = 0;
    int pidfd = -1;
    int chan = -1;   ///< our end of its channel
    int guard = -1;  ///< the read end of its stdout/stderr
    std::uint32_t gid = no_group;
    std::uint32_t image = no_image;
    std::size_t sockets = 0;  ///< the sockets its fds were numbered for
    bool parked = false;
    std::uint64_t started_ms = 0;
  };
  struct standby_memo {
    std::uint64_t due_ms = 0;    ///< the next standby not before
    std::uint32_t failures = 0;  ///< ends in a row without a promotion
  };
  std::string member_name(std::uint32_t id) const;
  void standby_record(std::uint32_t id, int pid, std::uint32_t state);
  void standby_want(std::uint32_t gid, const std::string& name, bool want,
                    std::uint32_t timeout_ms);
  void standby_make(std::uint32_t id, std::uint32_t gid, std::uint64_t t);
  long standby_pass(std::uint64_t t, long cap);
  void standby_add_pollfds(std::vector<pollfd>& fds, std::vector<std::uint32_t>& ids);
  void standby_on_poll(const pollfd* fds, const std::vector<std::uint32_t>& ids);
  bool standby_guard_tripped(std::uint32_t id);
  void standby_reap(std::uint32_t id);
  void standby_disable(std::uint32_t id, const std::string& why);
  bool standby_failed(std::uint32_t id, std::uint64_t t);
  int standby_promote(const launch_plan& plan, int& pidfd);
  void standby_drop(std::uint32_t id);
  void standby_drop_group(std::uint32_t gid);
  void standby_drop_all();
  void standby_image_replaced(std::uint32_t image);
  void standby_forget_recorded();
  std::map<std::uint32_t, standby_run> standbys_;
  std::map<std::uint32_t, standby_memo> standby_memo_;
  bool promoted_ = false;  ///< the last spawn() promoted a standby

  bank_options bo_;
  run_as as_;  ///< who the bank belongs to and who runs its members
  std::optional<mmap_bank> bank_;
  std::optional<store_t> store_;
  std::optional<controller_t> ctl_;
  runtime_view rt_;
  int lock_fd_ = -1;
  int member_fd_ = -1;  ///< the bank file for the members (HR_BANK_FD), its own description
  int sig_fd_ = -1;
  bool untrusted_ = false;     ///< the bank became writable by another user
  bool file_created_ = false;  ///< this supervisor created the bank file
  std::string fault_msg_;      ///< what on_bank_fault writes
  bool prefix_ = false;
  logger log;  ///< log("...") as printf: "hrctl: ..." on stderr unless --quiet
  launcher launch_;
  listener_set listeners_{log};
  output_relay outputs_{log};
  bool light_ = false;
  std::uint64_t stop_timeout_ms_ = 5000;
  std::vector<run_state> runs_;
  std::vector<pending_run> pending_;
  std::map<std::uint32_t, group_mem> groups_;
  std::vector<action> queue_;
  std::map<std::uint32_t, stop_state> stops_;  // groups being stopped
  std::uint32_t own_ = no_group;
  int own_outcome_ = -1;  // exit code once the own group ended
  bool stopping_ = false;
  // Under a service manager.
  std::vector<std::uint32_t> ready_wait_;  ///< the members READY=1 waits for
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  std::uint64_t ping_every_ms_ = 0;  ///< 0: no watchdog
  std::uint64_t next_ping_ms_ = 0;
  std::uint64_t status_ms_ = 0;  ///< when the STATUS= line was last made
  std::string status_sent_;
  std::string last_crash_;     ///< "GROUP/MEMBER killed by SIGSEGV", for STATUS=
  bool give_up_exit_ = false;  ///< --on-give-up exit, and a group was given up on
  std::string node_name_;      ///< this node's name (--node, else uname's nodename)
  // The node lease (lease.hpp): taken at open, renewed while serving, released at the end.
  int take_node_lease();
  bool renew_node_lease(std::uint64_t t);
  void release_node_lease();
  void flush_lease();
  bool lease_taken_ = false;
  /// The lease's last holder was another node or another boot: the pids the bank records are
  /// another kernel's, never adopted or signalled (adopt()).
  bool pids_foreign_ = false;
  std::string last_holder_;  ///< "node A (boot id ...)", for the log
  std::uint64_t lease_seq_ = 0;
  std::uint64_t lease_renewed_at_ = 0;  ///< monotonic ms of the last renewal
};

// A controller call, then the actions it decided, performed in order.
template <class F>
inline void supervisor::drive(F&& call) {
  std::vector<action> got;
  auto sink = [&](const action& a) { got.push_back(a); };
  auto r = call(sink);
  if (!r) log.error("controller: %s", describe(r.error()).text);
  for (const action& a : got) apply(a);
}

}  // namespace hrctl

#endif  // HRCTL_SUPERVISOR_HPP
