// SPDX-License-Identifier: MIT
// hrctl snapshot's machinery: copying a bank file, stopping the processes that write it.
#include "snapshot_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <hotrestart/backends/posix_lock.hpp>

namespace hrctl {

namespace {
double clock_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// A process is stopped when each of its threads is (state T or t), or gone.
bool all_threads_stopped(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR* d = ::opendir(path);
  if (d == nullptr) return true;  // it ended
  bool stopped = true;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char stat_path[320];
    std::snprintf(stat_path, sizeof stat_path, "/proc/%d/task/%s/stat", pid, e->d_name);
    const fd_guard f(::open(stat_path, O_RDONLY | O_CLOEXEC));
    if (f.fd < 0) continue;
    char buf[512];
    const ssize_t n = ::read(f.fd, buf, sizeof buf - 1);
    if (n <= 0) continue;
    buf[n] = '\0';
    const char* q = std::strrchr(buf, ')');
    if (q == nullptr || q[1] == '\0') continue;
    const char s = q[2];
    if (s != 'T' && s != 't' && s != 'Z' && s != 'X') {
      stopped = false;
      break;
    }
  }
  ::closedir(d);
  return stopped;
}

// The executable of process `pid` ("" if unknown).
std::string exe_of(const char* proc) {
  char buf[4096];
  const ssize_t n = ::readlink(proc, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

// True on a file system whose FICLONE writes the file's dirty pages back first (XFS, Btrfs):
// doing that before the freeze keeps it out of the writers' stall.
bool clone_flushes_first(int fd) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0) return false;
  const auto t = static_cast<unsigned long>(fs.f_type);
  return t == 0x58465342ul /* XFS */ || t == 0x9123683Eul /* Btrfs */;
}

// Writes an unlocked mutex of this boot into the copy's lock area: the lock was held (by us,
// or by a writer of the source) when the bytes were copied.
int fresh_lock_area(int fd) {
  alignas(64) std::byte area[bank_format::lock_area_bytes];
  if (const int rc = hotrestart::detail::init_robust_mutex(area); rc != 0) return rc;
  const ssize_t n = ::pwrite(fd, area, sizeof area, static_cast<off_t>(bank_format::lock_area));
  return n == static_cast<ssize_t>(sizeof area) ? 0 : (n < 0 ? errno : EIO);
}

// Whether to trust the recorded supervisor pid enough to stop it: it runs as the bank's user,
// or it is this same hrctl program running as this user (a root supervisor with --user).
bool may_stop_supervisor(int pid, uid_t owner) {
  const long uid = process_uid(pid);
  if (uid == static_cast<long>(owner)) return true;
  if (uid != static_cast<long>(::geteuid())) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/exe", pid);
  const std::string theirs = exe_of(path), ours = exe_of("/proc/self/exe");
  return !ours.empty() && theirs == ours;
}

freezer::~freezer() {
  thaw();
}

std::string freezer::stop(int pid, std::uint64_t start, const uid_t* uid) {
  if (pid <= 0 || pid == ::getpid()) return {};
  for (const auto& pr : procs_)
    if (pr.first == pid) return {};
  const int pfd = open_member_pidfd(pid, start, uid);
  if (pfd < 0) return {};  // not running (any more): nothing to stop
  if (signal_pidfd(pfd, SIGSTOP) != 0) {
    const int e = errno;
    ::close(pfd);
    return "cannot stop pid " + std::to_string(pid) + ": " + std::strerror(e);
  }
  procs_.emplace_back(pid, pfd);
  return {};
}

int freezer::wait_stopped(std::uint32_t timeout_ms) const {
  const double end = clock_ms() + timeout_ms;
  for (const auto& pr : procs_) {
    while (!all_threads_stopped(pr.first)) {
      if (clock_ms() > end) return pr.first;
      sleep_ms(1);
    }
  }
  return 0;
}

void freezer::thaw() {
  // The last stopped first (the members, then the supervisor).
  for (std::size_t k = procs_.size(); k-- > 0;) {
    signal_pidfd(procs_[k].second, SIGCONT);
    ::close(procs_[k].second);
  }
  procs_.clear();
}

const char* method_name(copy_method m) {
  switch (m) {
    case copy_method::clone: return "clone";
    case copy_method::copy_range: return "copy_file_range";
    default: return "read_write";
  }
}

int copy_file_bytes(int src, int dst, std::uint64_t bytes, copy_method& used, bool allow_clone) {
  if (allow_clone && ::ioctl(dst, FICLONE, src) == 0) {
    used = copy_method::clone;
    return 0;
  }
  // copy_file_range, unless the file systems refuse it at once (then read + write).
  std::uint64_t done = 0;
  bool ranged = true;
  while (ranged && done < bytes) {
    loff_t in = static_cast<loff_t>(done), out = static_cast<loff_t>(done);
    const std::uint64_t want = std::min<std::uint64_t>(bytes - done, 1ull << 30);
    const ssize_t n = ::copy_file_range(src, &in, dst, &out, want, 0);
    if (n > 0) {
      done += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) return EIO;  // the source is shorter than it said
    if (errno == EINTR) continue;
    if (done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EBADF))
      ranged = false;
    else
      return errno;
  }
  if (ranged) {
    used = copy_method::copy_range;
    return 0;
  }
  std::vector<char> buf(1u << 20);
  while (done < bytes) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes - done, buf.size()));
    const ssize_t r = ::pread(src, buf.data(), want, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 ? EIO : errno;
    std::size_t put = 0;
    while (put < static_cast<std::size_t>(r)) {
      const ssize_t w = ::pwrite(dst, buf.data() + put, static_cast<std::size_t>(r) - put,
                                 static_cast<off_t>(done + put));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return w == 0 ? EIO : errno;
      put += static_cast<std::size_t>(w);
    }
    done += static_cast<std::uint64_t>(r);
  }
  used = copy_method::read_write;
  return 0;
}

}  // namespace hrctl
