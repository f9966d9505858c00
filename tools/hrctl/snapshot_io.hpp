// SPDX-License-Identifier: MIT
// hrctl snapshot's machinery: copying a bank file by the fastest method the file systems
// offer, and stopping (SIGSTOP) the processes that write a bank while it is copied.
#ifndef HRCTL_SNAPSHOT_IO_HPP
#define HRCTL_SNAPSHOT_IO_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace hrctl {

/// How the bytes were copied: a reflink (ioctl FICLONE: the copy shares the source's extents
/// until either is written), copy_file_range, or read + write.
enum class copy_method { clone, copy_range, read_write };
/// "clone", "copy_file_range" or "read_write" (as --json prints it).
const char* method_name(copy_method m);

/// Copies `bytes` bytes of `src` to the start of `dst` (an empty file) by the fastest method
/// the file systems offer: FICLONE, then copy_file_range, then read/write. Returns 0 with
/// `used` set, or an errno. `allow_clone` false skips FICLONE (tests, measurements).
int copy_file_bytes(int src, int dst, std::uint64_t bytes, copy_method& used,
                    bool allow_clone = true);

/// True on a file system whose FICLONE first writes the source's dirty pages back (XFS,
/// Btrfs): a snapshot does that (fdatasync) before the freeze, keeping it out of the stall.
bool clone_flushes_first(int fd);

/// Writes an unlocked bank mutex of this boot into the lock area of the bank file `fd` (a
/// copy: the lock was held when its bytes were copied). Returns 0 or an errno.
int fresh_lock_area(int fd);

/// Whether the supervisor pid a bank records may be stopped: it runs as the bank's user
/// `owner`, or it is this same hrctl program running as this process's user (a root
/// supervisor of another user's bank).
bool may_stop_supervisor(int pid, uid_t owner);

/// The processes stopped for a snapshot; continued (SIGCONT, last stopped first) by thaw() or
/// when destroyed.
class freezer {
 public:
  freezer() = default;
  freezer(const freezer&) = delete;
  freezer& operator=(const freezer&) = delete;
  ~freezer();

  /// Stops the run that `pid` and `start` name, if it still is that run (and, with `uid`,
  /// runs as that user alone): SIGSTOP through a pidfd. Not this process. Returns an empty
  /// string (also when there is nothing to stop) or the problem.
  std::string stop(int pid, std::uint64_t start, const uid_t* uid);
  /// Waits until every thread of every stopped process is stopped (or gone). Returns 0, or
  /// the pid of one still running after `timeout_ms`.
  int wait_stopped(std::uint32_t timeout_ms) const;
  /// Continues them all.
  void thaw();
  std::size_t count() const { return procs_.size(); }

 private:
  std::vector<std::pair<int, int>> procs_;  // pid, pidfd
};

}  // namespace hrctl

#endif  // HRCTL_SNAPSHOT_IO_HPP
