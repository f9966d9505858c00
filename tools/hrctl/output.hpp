// SPDX-License-Identifier: MIT
// Where members' output goes. By default a member writes to the supervisor's own stdout and
// stderr. A delegated `hrctl run` hands its stdout/stderr over through the bank's relay socket
// (relay.hpp: SCM_RIGHTS, the kernel vouches for the sender) and its group's members write
// there. With --prefix, and always for another user's members (--user), a member writes into
// pipes that the supervisor reads and writes on, line by line, prefixed with [GID NAME PID]
// when asked; another user's program never gets the supervisor's own descriptors.
#ifndef HRCTL_OUTPUT_HPP
#define HRCTL_OUTPUT_HPP

#include <poll.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"
#include "log.hpp"

namespace hrctl {

/// Where a member's output goes when it is not the supervisor's own stdout/stderr (a
/// delegated hrctl run: the requester's), and whether its lines are prefixed.
struct proc_out {
  int out = -1;  ///< -1: the supervisor's stdout
  int err = -1;  ///< -1: the supervisor's stderr
  bool prefix = false;
  std::uint32_t gid = no_group;
};

/// The descriptors one run writes to, made before it starts (run_fds) and handed to the
/// relay once it has (started).
struct run_output {
  int child_out = -1;  ///< the run's stdout, -1: the supervisor's
  int child_err = -1;
  int read_out = -1;  ///< pipes' read ends (prefixing), -1 if none
  int read_err = -1;
  int dest_out = 1;
  int dest_err = 2;
  bool prefixed = false;
};

class output_relay {
 public:
  explicit output_relay(const logger& log) : log_(log) {}

  /// Listens on the bank's relay socket (BANK.sock). Says why not on failure: the delegated
  /// runs' output then comes to the supervisor.
  void listen(const std::string& bank_path, bool light);
  /// Removes the relay socket; writes what the ended runs wrote and nobody read yet.
  void finish(const std::string& bank_path);

  /// Accepts waiting relay connections and reads the offers that arrived (never blocks). An
  /// offer from a user who may not use this bank is refused and logged.
  void accept();
  /// The output offered for mailbox slot `slot` by the process that posted its request.
  bool take(std::uint32_t slot, int requester, proc_out& into);

  /// Member `id` writes where `from` says (a copy of its descriptors is kept for its reruns),
  /// or, with `from` null, where it wrote before.
  void assign(std::uint32_t id, std::uint32_t gid, const proc_out* from);
  /// Where member `id` writes, if not to the supervisor's own output.
  const proc_out* of(std::uint32_t id) const;
  /// The group ended: the descriptors kept for its members are closed.
  void drop_group(std::uint32_t gid);

  /// Makes the descriptors of a new run of member `id`: pipes when its lines are prefixed
  /// (`prefix_default`, or the delegated run's choice) or when `pipes_always` (--user).
  bool prepare(std::uint32_t id, bool prefix_default, bool pipes_always, run_output& o,
               std::string* err);
  /// After the start (pid > 0) or its failure (pid < 0): closes the child's ends; the read
  /// ends are relayed from now on, lines prefixed with `tag` when asked.
  void started(run_output& o, int pid, const std::string& tag);

  /// A supervisor message about group `gid`: written ("hrctl: LINE") to the stderr of that
  /// group's delegated runs (once per open file), not to the supervisor's own.
  void tee(std::uint32_t gid, std::string_view line);

  /// For the poll loop: the relay socket and the pipes being read.
  void add_pollfds(std::vector<pollfd>& fds) const;
  /// After poll: `fds` points at the entries add_pollfds added. Returns true if the relay
  /// socket had a connection (a requester may be waiting: serve the mailbox).
  bool on_poll(const pollfd* fds);

 private:
  /// A pipe from a run's stdout or stderr, read until EOF, its lines written prefixed.
  struct out_stream {
    int fd = -1;
    int dest = 1;
    std::string prefix;
    std::string partial;
  };
  void pump(out_stream& s, bool to_eof);

  const logger& log_;
  int relay_fd_ = -1;
  bool light_ = false;
  std::vector<int> conns_;                  ///< accepted connections whose offer is not read yet
  std::vector<relay_offer> offers_;         ///< offers not yet matched to their request
  std::map<std::uint32_t, proc_out> outs_;  ///< process id -> its output, if not ours
  std::vector<out_stream> streams_;
};

}  // namespace hrctl

#endif  // HRCTL_OUTPUT_HPP
