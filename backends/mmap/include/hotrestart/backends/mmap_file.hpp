// SPDX-License-Identifier: MIT
// The default backend: a bank in a memory-mapped file (on tmpfs for speed, on a disk to
// survive reboots), with a robust process-shared mutex as the writer lock.
#ifndef HOTRESTART_BACKENDS_MMAP_FILE_HPP
#define HOTRESTART_BACKENDS_MMAP_FILE_HPP

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include <hotrestart/backend.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/error.hpp>
#include <hotrestart/format.hpp>

namespace hotrestart {

namespace detail {
// Layout of the lock area for this backend (opaque to the format).
inline constexpr std::size_t pmutex_bytes = 64;
inline constexpr std::uint32_t pmutex_stamp = 0x584D5450u;  // "PTMX"
static_assert(sizeof(pthread_mutex_t) <= pmutex_bytes);
static_assert(fmt::lock_area % alignof(pthread_mutex_t) == 0);
inline constexpr std::size_t boot_id_offset = 72, boot_id_bytes = 36;
static_assert(boot_id_offset + boot_id_bytes <= fmt::lock_area_bytes);

// The kernel's id of this boot: a mutex left locked by a previous boot is garbage. Read once
// per process (a process never outlives its boot), so that opening a bank costs no extra file.
struct boot_id {
  char text[boot_id_bytes] = {};
  boot_id() {
    const int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const ssize_t n = ::read(fd, text, sizeof text);
    (void)n;
    ::close(fd);
  }
};
inline const char* this_boot() {
  static const boot_id id;
  return id.text;
}

inline int init_robust_mutex(std::byte* area) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  std::memset(area, 0, fmt::lock_area_bytes);
  const int rc = pthread_mutex_init(reinterpret_cast<pthread_mutex_t*>(area), &attr);
  pthread_mutexattr_destroy(&attr);
  const std::uint32_t stamp[2] = {pmutex_stamp,
                                  static_cast<std::uint32_t>(sizeof(pthread_mutex_t))};
  std::memcpy(area + pmutex_bytes, stamp, sizeof stamp);
  std::memcpy(area + boot_id_offset, this_boot(), boot_id_bytes);
  return rc;
}

inline bool robust_mutex_current(const std::byte* area) {
  std::uint32_t stamp[2];
  std::memcpy(stamp, area + pmutex_bytes, sizeof stamp);
  return stamp[0] == pmutex_stamp && stamp[1] == sizeof(pthread_mutex_t) &&
         std::memcmp(area + boot_id_offset, this_boot(), boot_id_bytes) == 0;
}

inline tl::unexpected<error> sys_fail(errc c, const char* msg, int e) {
  return tl::unexpected(error(c, msg).with_errno(e));
}

/// Makes the mutex in `area` again if it is from another boot or another C library, under
/// flock on `fd` so that two openers do not both do it (the mmap file's and the shm object's
/// open, once the header is known to be a bank's).
inline result<void> adopt_robust_mutex(int fd, std::byte* area) {
  if (robust_mutex_current(area)) return {};
  ::flock(fd, LOCK_EX);
  int rc = 0;
  if (!robust_mutex_current(area)) rc = init_robust_mutex(area);
  ::flock(fd, LOCK_UN);
  if (rc != 0) return sys_fail(errc::lock_failed, "cannot initialise the bank's mutex", rc);
  return {};
}
}  // namespace detail

/// A bank in a regular file, mapped shared. Created 0600 as an unnamed file in the target's
/// directory (O_TMPFILE; a named temporary beside the target where the file system has no
/// O_TMPFILE), preallocated (posix_fallocate: a full disk fails now, not with SIGBUS later),
/// formatted, then linked into place, so no process ever opens a half-made bank and a creator
/// that dies leaves nothing behind. Opening refuses symbolic links (O_NOFOLLOW) and anything
/// that is not a regular file (`not_regular_file`). In durable mode (`tunables::durable`) the
/// bank flushes with msync: see `flush_range`.
class mmap_file_backend {
 public:
  using location = const char*;
  static constexpr bool reformats_foreign_memory = false;

  static std::uint32_t native_page_size() {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::uint32_t>(p) : 4096u;
  }

  static result<mmap_file_backend> create(location path, std::uint64_t bytes, region_init init) {
    if (path == nullptr || *path == '\0') return fail(errc::io_error, "empty bank path");
    const std::size_t len = std::strlen(path);
    constexpr char suffix[] = ".creating-XXXXXX";
    if (len + sizeof suffix > PATH_MAX)
      return fail(errc::io_error, "bank path too long", "bytes (max)", PATH_MAX - sizeof suffix,
                  len);
    struct stat st;
    if (::lstat(path, &st) == 0) {
      if (S_ISLNK(st.st_mode)) return fail(errc::not_regular_file, "bank path is a symbolic link");
      if (!S_ISREG(st.st_mode))
        return fail(errc::not_regular_file, "bank path is taken by something that is not a file");
      return fail(errc::already_exists, "a file is already at the bank path");
    }
    char dir[PATH_MAX];
    dir_of(path, len, dir);
    char tmp[PATH_MAX] = {};  // the named temporary's path, when O_TMPFILE is not available
    int fd = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::memcpy(tmp, path, len);
      std::memcpy(tmp + len, suffix, sizeof suffix);
      fd = ::mkostemp(tmp, O_CLOEXEC);  // mode 0600
      if (fd < 0) return detail::sys_fail(errc::io_error, "cannot create the bank file", errno);
    }
    auto cleanup = [&](tl::unexpected<error> e, void* map) -> result<mmap_file_backend> {
      if (map != nullptr) ::munmap(map, bytes);
      ::close(fd);
      if (tmp[0] != '\0') ::unlink(tmp);
      return e;
    };
    if (const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0)
      return cleanup(detail::sys_fail(errc::io_error,
                                      "cannot reserve the bank's bytes (file system full?)", rc),
                     nullptr);
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
      return cleanup(detail::sys_fail(errc::io_error, "cannot map the bank file", errno), nullptr);
    auto* base = static_cast<std::byte*>(map);
    if (const int rc = detail::init_robust_mutex(base + fmt::lock_area); rc != 0)
      return cleanup(detail::sys_fail(errc::lock_failed, "cannot initialise the bank's mutex", rc),
                     map);
    if (auto r = init(base, bytes); !r) return cleanup(tl::unexpected(r.error()), map);
    // Durable banks are written to disk (data, then the name) before anyone can open them.
    const bool durable = (detail::load32(base, fmt::flags) & fmt::flag_durable) != 0;
    if (durable && ::msync(base, bytes, MS_SYNC) != 0)
      return cleanup(detail::sys_fail(errc::io_error, "cannot write the new bank to disk", errno),
                     map);
    if (const int e = publish(fd, tmp, path); e != 0)
      return cleanup(e == EEXIST
                         ? fail(errc::already_exists, "a file is already at the bank path")
                         : detail::sys_fail(errc::io_error, "cannot publish the bank file", e),
                     map);
    if (tmp[0] != '\0') ::unlink(tmp);
    if (durable) {
      const int dfd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      const bool synced = dfd >= 0 && ::fsync(dfd) == 0;
      const int e = errno;
      if (dfd >= 0) ::close(dfd);
      if (!synced) {
        ::munmap(map, bytes);
        ::close(fd);
        return detail::sys_fail(errc::io_error, "cannot write the bank's name to disk", e);
      }
    }
    return mmap_file_backend(base, bytes, fd);
  }

  static result<mmap_file_backend> open(location path) {
    if (path == nullptr || *path == '\0') return fail(errc::io_error, "empty bank path");
    // O_NONBLOCK: a FIFO at the path must not block the open (it is refused below).
    const int fd = ::open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      const int e = errno;
      if (e == ENOENT) return fail(errc::not_found, "no bank file at that path");
      if (e == ELOOP) return fail(errc::not_regular_file, "bank path is a symbolic link");
      if (e == EISDIR) return fail(errc::not_regular_file, "bank path is a directory");
      struct stat ls;  // a socket (ENXIO), or anything else that is not a regular file
      if (::lstat(path, &ls) == 0 && !S_ISREG(ls.st_mode))
        return fail(errc::not_regular_file, "bank path is not a regular file");
      return detail::sys_fail(errc::io_error, "cannot open the bank file", e);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      return detail::sys_fail(errc::io_error, "cannot stat the bank file", e);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return fail(errc::not_regular_file, "bank path is not a regular file");
    }
    const auto bytes = static_cast<std::uint64_t>(st.st_size);
    if (bytes < fmt::header_size) {
      ::close(fd);
      return fail(errc::truncated, "file too small to hold a bank header", "bytes",
                  fmt::header_size, bytes);
    }
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      return detail::sys_fail(errc::io_error, "cannot map the bank file", e);
    }
    return mmap_file_backend(static_cast<std::byte*>(map), bytes, fd);
  }

  /// Called by the bank once the header is validated (nothing is written to a file before):
  /// a mutex from another boot (a disk bank after a reboot) or another C library is
  /// reinitialised, under flock so that two openers do not both do it.
  result<void> adopt_lock() {
    if (fd_ >= 0) {
      if (auto r = detail::adopt_robust_mutex(fd_, base_ + fmt::lock_area); !r) return r;
    }
    close_fd();
    return {};
  }

  mmap_file_backend(mmap_file_backend&& o) noexcept
      : base_(std::exchange(o.base_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        fd_(std::exchange(o.fd_, -1)) {}
  mmap_file_backend& operator=(mmap_file_backend&& o) noexcept {
    if (this != &o) {
      release();
      base_ = std::exchange(o.base_, nullptr);
      size_ = std::exchange(o.size_, 0);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~mmap_file_backend() { release(); }

  std::byte* data() const { return base_; }
  std::uint64_t size() const { return size_; }

  result<lock_outcome> lock() {
    const int rc = pthread_mutex_lock(mutex());
    if (rc == 0) return lock_outcome::acquired;
    if (rc == EOWNERDEAD) return lock_outcome::owner_died;
    return detail::sys_fail(errc::lock_failed, "cannot take the bank's lock", rc);
  }
  void repaired() { pthread_mutex_consistent(mutex()); }
  void unlock() { pthread_mutex_unlock(mutex()); }

  /// Writes the mapping back to the file (msync). Returns io_error with errno on failure.
  result<void> flush() const { return flush_range(0, size_); }

  /// Writes bytes [off, off + len) of the bank to the file and waits (msync MS_SYNC on the
  /// host pages that hold them): the durable mode's ordering step. io_error with errno.
  result<void> flush_range(std::uint64_t off, std::uint64_t len) const {
    if (off >= size_ || len == 0) return {};
    const std::uint64_t page = native_page_size();
    const std::uint64_t begin = off / page * page;
    const std::uint64_t end = off + len < size_ ? off + len : size_;
    if (::msync(base_ + begin, static_cast<std::size_t>(end - begin), MS_SYNC) != 0)
      return detail::sys_fail(errc::io_error, "msync failed", errno);
    return {};
  }

 private:
  mmap_file_backend(std::byte* b, std::uint64_t n, int fd) : base_(b), size_(n), fd_(fd) {}

  // The directory part of `path` ("." when it has none), into `out`.
  static void dir_of(const char* path, std::size_t len, char (&out)[PATH_MAX]) {
    std::size_t cut = len;
    while (cut > 0 && path[cut - 1] != '/') --cut;
    if (cut == 0) {
      out[0] = '.';
      out[1] = '\0';
      return;
    }
    const std::size_t n = cut > 1 ? cut - 1 : 1;  // keep "/" for a file in the root
    std::memcpy(out, path, n);
    out[n] = '\0';
  }

  // Gives the new file its name: the unnamed file through /proc/self/fd (no privilege
  // needed, unlike AT_EMPTY_PATH), the named temporary with link(). Returns 0 or an errno.
  static int publish(int fd, const char* tmp, const char* path) {
    if (tmp[0] != '\0') return ::link(tmp, path) == 0 ? 0 : errno;
    char proc[64];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return ::linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
  }

  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  pthread_mutex_t* mutex() const {
    return reinterpret_cast<pthread_mutex_t*>(base_ + fmt::lock_area);
  }
  void release() {
    if (base_ != nullptr) ::munmap(base_, size_);
    base_ = nullptr;
    close_fd();
  }

  std::byte* base_ = nullptr;
  std::uint64_t size_ = 0;
  int fd_ = -1;  // kept from open until the lock is adopted
};

static_assert(bank_backend<mmap_file_backend>);

/// The default bank: an mmap'd file with the default policies.
using mmap_bank = basic_bank<mmap_file_backend>;

}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_MMAP_FILE_HPP
