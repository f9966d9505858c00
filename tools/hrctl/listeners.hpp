// SPDX-License-Identifier: MIT
// The listening sockets of the groups (hrctl run --listen). A group gets its sockets once and
// keeps them for its whole life: every run of its members receives them as fds 3.. (the
// LISTEN_FDS convention), the bank records their addresses and bound ports, and a supervisor
// that adopts a running group takes the members' sockets rather than binding a second one.
#ifndef HRCTL_LISTENERS_HPP
#define HRCTL_LISTENERS_HPP

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "log.hpp"

namespace hrctl {

class listener_set {
 public:
  explicit listener_set(const logger& log) : log_(log) {}

  /// Whose bank it is: a bank of another user (--user) gets a privileged port only from
  /// this supervisor's own command line (allow).
  void bind(const run_as& as) { as_ = &as; }
  void allow(const listen_record& r) { own_.push_back(r); }
  /// The runtime block whose groups' sockets this records (group_listen).
  void attach(const runtime_view& rt) { rt_ = &rt; }

  /// Opens the sockets of group `gid` and records them in its slot; a group that has its
  /// sockets keeps them (a different --listen is noted and ignored). Returns an exit code.
  int open(group_slot& g, std::uint32_t gid, const std::vector<listen_record>& want,
           std::string* err);
  /// The sockets the bank records for group `gid` (addresses and bound ports).
  std::vector<listen_record> recorded(std::uint32_t gid) const;
  /// Binds again the sockets the slot records (a restart after they could not be taken).
  void reopen(const group_slot& g, std::uint32_t gid);
  /// Adoption: takes copies of the sockets from the first running member (pid, pidfd) that
  /// still holds them all at fds 3.. (pidfd_getfd).
  bool take(const group_slot& g, std::uint32_t gid,
            const std::vector<std::pair<int, int>>& members);
  void close(std::uint32_t gid);

  std::span<const int> fds(std::uint32_t gid) const;
  bool open_for(std::uint32_t gid) const { return !fds(gid).empty(); }

  /// Sockets passed by the service manager ($LISTEN_FDS) that group `gid` gets after its own
  /// (`socket = FDNAME` in a configuration file): every passed socket of each name, in order.
  /// Returns an empty string, or the problem (a name that was not passed).
  std::string set_passed(std::uint32_t gid, const std::vector<std::string>& names);
  /// Every socket a run of group `gid` gets at fds 3..: its own, then the passed ones; and the
  /// names for LISTEN_FDNAMES ("listen" for its own).
  std::vector<int> member_fds(std::uint32_t gid) const;
  std::vector<std::string> member_fd_names(std::uint32_t gid) const;

  /// The fd store: the stored sockets ($LISTEN_FDS named hrctl-gGID-K) that no group took
  /// back are closed and removed from the store (FDSTOREREMOVE). After adoption.
  void drop_unclaimed_stored();
  /// The name a group's socket K is stored under.
  static std::string store_name(std::uint32_t gid, std::uint32_t k);

 private:
  bool may_bind(const listen_record& r) const;
  /// Socket K of group `gid` from the fd store (a passed fd of its store_name, listening on
  /// `r`), or -1.
  int take_stored(std::uint32_t gid, std::uint32_t k, const listen_record& r);
  /// Sends a socket hrctl bound to the fd store (under a service; once, when bound).
  void store(std::uint32_t gid, std::uint32_t k, int fd) const;

  const logger& log_;
  const run_as* as_ = nullptr;
  const runtime_view* rt_ = nullptr;
  std::vector<listen_record> own_;  ///< --listen of our own run
  std::map<std::uint32_t, std::vector<int>> fds_;
  std::map<std::uint32_t, std::vector<std::pair<int, std::string>>> passed_;
  std::vector<int> claimed_;  ///< passed fds taken back from the fd store
};

}  // namespace hrctl

#endif  // HRCTL_LISTENERS_HPP
