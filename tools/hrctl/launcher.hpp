// SPDX-License-Identifier: MIT
// The launcher: starts a run of a member from its image in the bank. The image is executed
// from a sealed memfd copy (one per image, kept while its group lives), with the member's
// environment (HR_*, LISTEN_*), its listening sockets at fds 3.., the bank at the fd after
// them, its output where the supervisor says, and, for a bank of another user (--user), that
// user's identity. vfork + execve of a link named after the program that resolves to the
// memfd (fexecve if there is none): nothing else runs between the two.
#ifndef HRCTL_LAUNCHER_HPP
#define HRCTL_LAUNCHER_HPP

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "common.hpp"

namespace hrctl {

/// The fd of a run's image when it is executed: where the name links point.
inline constexpr int image_fd_at = 99;

/// One run to start.
struct launch_plan {
  std::uint32_t id = 0;   ///< controller process id
  std::uint32_t gid = 0;  ///< its group
  std::uint32_t image = 0;
  std::uint64_t handle = 0;                   ///< the run handle
  bool restarted = false;                     ///< HR_RESTARTED=1
  std::span<const int> listen_fds;            ///< at most max_member_sockets
  std::span<const std::string> listen_names;  ///< LISTEN_FDNAMES, one per socket (or none)
  int out = -1;                               ///< made the run's stdout; -1: the supervisor's
  int err = -1;                               ///< made the run's stderr; -1: the supervisor's
  /// >= 0: start a warm standby instead of a run (docs/hrctl.md, "Warm standby"): this end of
  /// its channel goes to the fd after the bank's (HR_STANDBY_FD); the run's identity, LISTEN_*
  /// and sockets are not given (/dev/null holds the sockets' fds); `out`/`err` are its guard.
  int standby_chan = -1;
};

class launcher {
 public:
  /// The bank the images come from, who the members run as, the path they see (HR_BANK) and
  /// the bank descriptor they inherit (HR_BANK_FD).
  void bind(mmap_bank& bank, const run_as& as, const std::string& bank_path, int member_fd) {
    bank_ = &bank;
    as_ = &as;
    path_ = bank_path;
    member_fd_ = member_fd;
  }

  /// Starts the run. Returns its pid, or -1 with `err` saying why (a missing or damaged
  /// image, no memfd, vfork failed); a failure to execute shows in the child's exit (127)
  /// and its message on its stderr.
  int start(const launch_plan& p, std::string* err);

  /// Promotes the standby at the other end of `chan` to the run `p` describes (identity,
  /// LISTEN_*, `out`/`err` or the supervisor's, the sockets): one message. False, with `err`
  /// saying why, if it could not be sent (the standby is gone).
  static bool promote(int chan, const launch_plan& p, std::string* err);

  /// The image changed (an upgrade): its memfd is made again at the next start.
  void forget_image(std::uint32_t image);
  /// The group ended: the memfds of its images are closed.
  void drop_group(std::uint32_t gid);

 private:
  int memfd_for(std::uint32_t image, std::uint32_t gid);
  /// The link to execute an image whose argv[0] is `program` through, so that the process is
  /// named (comm: ps, top, pgrep) after the program's file name, not after the memfd: a
  /// symbolic link of that name to /proc/self/fd/<image_fd_at>, in a directory that only this
  /// user can change. Empty if there is none (no such directory, an unusable name): fexecve.
  std::string name_link(const std::string& program);

  mmap_bank* bank_ = nullptr;
  const run_as* as_ = nullptr;
  std::string path_;
  int member_fd_ = -1;
  std::map<std::uint32_t, std::pair<int, std::uint32_t>> memfds_;  // image -> {fd, gid}
  bool names_checked_ = false;
  std::string names_;  ///< the directory of name links; empty: none
  int null_fd_ = -1;   ///< /dev/null, for a standby's socket placeholders
};

}  // namespace hrctl

#endif  // HRCTL_LAUNCHER_HPP
