// SPDX-License-Identifier: MIT
// The default backend: a bank in a memory-mapped file (on tmpfs for speed, on a disk to
// survive reboots), with a robust process-shared mutex as the writer lock.
#ifndef HOTRESTART_BACKENDS_MMAP_FILE_HPP
#define HOTRESTART_BACKENDS_MMAP_FILE_HPP

#include <fcntl.h>
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
#include <hotrestart/backends/file_trust.hpp>
#include <hotrestart/backends/posix_lock.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/bank_format.hpp>
#include <hotrestart/error.hpp>

namespace hotrestart {

/// Where an mmap bank lives and whose it must be. Made implicitly from a path, so
/// `mmap_bank::open("/dev/shm/app.bank")` reads as before; the file must then belong to this
/// process's effective user (docs/security.md).
struct mmap_location {
  const char* path = nullptr;  ///< the bank file (with `fd`: only a name for messages)
  int fd = -1;                 ///< open: this open descriptor of the file instead of `path`
  uid_t owner = ::geteuid();   ///< the user the file must belong to

  mmap_location(const char* p)
      : path(p) {}  // NOLINT(google-explicit-constructor): a path is a location
  mmap_location(const char* p, uid_t who) : path(p), owner(who) {}
  /// An already open descriptor of a bank file (a supervisor passes one to the programs it
  /// runs: HR_BANK_FD). It is opened again (reopen_descriptor), not taken: the caller still
  /// closes it.
  static mmap_location descriptor(int open_fd, const char* name, uid_t who = ::geteuid()) {
    mmap_location l(name, who);
    l.fd = open_fd;
    return l;
  }
};

/// A bank in a regular file, mapped shared. Created 0600 as an unnamed file in the target's
/// directory (O_TMPFILE; a named temporary beside the target where the file system has no
/// O_TMPFILE), preallocated (posix_fallocate: a full disk fails now, not with SIGBUS later),
/// formatted, given to its owner, then linked into place, so no process ever opens a half-made
/// bank and a creator that dies leaves nothing behind. Opening refuses symbolic links
/// (O_NOFOLLOW), anything that is not a regular file (`not_regular_file`), and a file or
/// directory another user could write (`untrusted_file`, file_trust.hpp). In durable mode
/// (`tunables::durable`) the bank flushes with msync: see `flush_range`.
class mmap_file_backend {
 public:
  using location = mmap_location;
  static constexpr bool reformats_foreign_memory = false;

  static std::uint32_t native_page_size() {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::uint32_t>(p) : 4096u;
  }

  [[nodiscard]] static result<mmap_file_backend> create(const location& where, std::uint64_t bytes,
                                                        region_init init) {
    const char* path = where.path;
    if (path == nullptr || *path == '\0') return fail(errc::io_error, "empty bank path");
    const std::size_t len = std::strlen(path);
    constexpr char suffix[] = ".creating-XXXXXX";
    if (len + sizeof suffix > PATH_MAX)
      return fail(error(errc::io_error, "bank path too long")
                      .with_limit("path bytes", len, PATH_MAX - sizeof suffix));
    auto dir = trust::open_dir(path, where.owner);
    if (!dir) return fail(dir.error());
    const fd_guard dfd(*dir);
    const char* base = path + trust::base_offset(path);
    struct stat st;
    if (::fstatat(dfd.fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) return fail(errc::not_regular_file, "bank path is a symbolic link");
      if (!S_ISREG(st.st_mode))
        return fail(errc::not_regular_file, "bank path is taken by something that is not a file");
      return fail(errc::already_exists, "a file is already at the bank path");
    }
    char tmp[PATH_MAX] = {};  // the named temporary's path, when O_TMPFILE is not available
    int fd = ::openat(dfd.fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
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
    if (where.owner != ::geteuid() && ::fchown(fd, where.owner, static_cast<gid_t>(-1)) != 0)
      return cleanup(
          detail::sys_fail(errc::io_error, "cannot give the new bank file to its owner", errno),
          nullptr);
    if (const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0)
      return cleanup(detail::sys_fail(errc::io_error,
                                      "cannot reserve the bank's bytes (file system full?)", rc),
                     nullptr);
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
      return cleanup(detail::sys_fail(errc::io_error, "cannot map the bank file", errno), nullptr);
    auto* mem = static_cast<std::byte*>(map);
    if (const int rc = detail::init_robust_mutex(mem + bank_format::lock_area); rc != 0)
      return cleanup(detail::sys_fail(errc::lock_failed, "cannot initialise the bank's mutex", rc),
                     map);
    if (auto r = init(mem, bytes); !r) return cleanup(tl::unexpected(r.error()), map);
    // Durable banks are written to disk (data, then the name) before anyone can open them.
    const bool durable = (detail::load32(mem, bank_format::flags) & bank_format::flag_durable) != 0;
    if (durable && ::msync(mem, bytes, MS_SYNC) != 0)
      return cleanup(detail::sys_fail(errc::io_error, "cannot write the new bank to disk", errno),
                     map);
    if (const int e = publish(fd, tmp, dfd.fd, base); e != 0)
      return cleanup(e == EEXIST
                         ? fail(errc::already_exists, "a file is already at the bank path")
                         : detail::sys_fail(errc::io_error, "cannot publish the bank file", e),
                     map);
    if (tmp[0] != '\0') ::unlink(tmp);
    if (durable) {
      const int sfd = ::openat(dfd.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      const bool synced = sfd >= 0 && ::fsync(sfd) == 0;
      const int e = errno;
      if (sfd >= 0) ::close(sfd);
      if (!synced) {
        ::munmap(map, bytes);
        ::close(fd);
        return detail::sys_fail(errc::io_error, "cannot write the bank's name to disk", e);
      }
    }
    return mmap_file_backend(mem, bytes, fd, where.owner);
  }

  [[nodiscard]] static result<mmap_file_backend> open(const location& where) {
    const char* path = where.path;
    int fd = -1;
    if (where.fd >= 0) {
      // An open file description of our own (the flock that adopts a stale mutex must
      // exclude the others who were handed the same descriptor).
      fd = reopen_descriptor(where.fd, O_RDWR);
      if (fd < 0) return detail::sys_fail(errc::io_error, "cannot use the bank descriptor", errno);
    } else {
      if (path == nullptr || *path == '\0') return fail(errc::io_error, "empty bank path");
      auto dir = trust::open_dir(path, where.owner);
      if (!dir && dir.error().sys_errno == ENOENT)
        return fail(errc::not_found, "no bank file at that path (its directory does not exist)");
      if (!dir) return fail(dir.error());
      const fd_guard dfd(*dir);
      const char* base = path + trust::base_offset(path);
      // O_NONBLOCK: a FIFO at the path must not block the open (it is refused below).
      fd = ::openat(dfd.fd, base, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) {
        const int e = errno;
        if (e == ENOENT) return fail(errc::not_found, "no bank file at that path");
        if (e == ELOOP) return fail(errc::not_regular_file, "bank path is a symbolic link");
        if (e == EISDIR) return fail(errc::not_regular_file, "bank path is a directory");
        struct stat ls;  // a socket (ENXIO), or anything else that is not a regular file
        if (::fstatat(dfd.fd, base, &ls, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(ls.st_mode))
          return fail(errc::not_regular_file, "bank path is not a regular file");
        return detail::sys_fail(errc::io_error, "cannot open the bank file", e);
      }
    }
    fd_guard file(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0)
      return detail::sys_fail(errc::io_error, "cannot stat the bank file", errno);
    if (!S_ISREG(st.st_mode))
      return fail(errc::not_regular_file, "bank path is not a regular file");
    if (auto t = trust::check_file(st, where.owner, path); !t) return fail(t.error());
    const auto bytes = static_cast<std::uint64_t>(st.st_size);
    if (bytes < bank_format::header_size)
      return fail(error(errc::truncated, "file too small to hold a bank header")
                      .with_minimum("file bytes", bytes, bank_format::header_size));
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
      return detail::sys_fail(errc::io_error, "cannot map the bank file", errno);
    return mmap_file_backend(static_cast<std::byte*>(map), bytes, file.release(), where.owner);
  }

  /// The file's descriptor (close-on-exec), open for the backend's life: a supervisor checks
  /// the file's owner and permissions through it (check_trust) and reopens it to pass it on.
  int descriptor() const { return fd_; }

  /// Checks again that the file belongs to its owner and that no other user may write it (one
  /// fstat): a supervisor calls it before obeying the bank. Errors: untrusted_file, io_error.
  [[nodiscard]] result<void> check_trust(trust_problem* why = nullptr) const {
    struct stat st;
    if (::fstat(fd_, &st) != 0)
      return detail::sys_fail(errc::io_error, "cannot stat the bank file", errno);
    return trust::check_file(st, owner_, "(the open bank file)", why);
  }

  /// Called by the bank once the header is validated (nothing is written to a file before):
  /// a mutex from another boot (a disk bank after a reboot) or another C library is
  /// reinitialised, under flock so that two openers do not both do it.
  [[nodiscard]] result<void> adopt_lock() {
    return detail::adopt_robust_mutex(fd_, base_ + bank_format::lock_area);
  }

  mmap_file_backend(mmap_file_backend&& o) noexcept
      : base_(std::exchange(o.base_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        fd_(std::exchange(o.fd_, -1)),
        owner_(o.owner_) {}
  mmap_file_backend& operator=(mmap_file_backend&& o) noexcept {
    if (this != &o) {
      release();
      base_ = std::exchange(o.base_, nullptr);
      size_ = std::exchange(o.size_, 0);
      fd_ = std::exchange(o.fd_, -1);
      owner_ = o.owner_;
    }
    return *this;
  }
  ~mmap_file_backend() { release(); }

  std::byte* data() const { return base_; }
  std::uint64_t size() const { return size_; }

  [[nodiscard]] result<lock_outcome> lock() const noexcept {
    const int rc = detail::lock_robust_mutex(mutex());
    if (rc == 0) return lock_outcome::acquired;
    if (rc == EOWNERDEAD) return lock_outcome::owner_died;
    return detail::sys_fail(errc::lock_failed, "cannot take the bank's lock", rc);
  }
  void repaired() const noexcept { pthread_mutex_consistent(mutex()); }
  void unlock() const noexcept { pthread_mutex_unlock(mutex()); }

  /// Writes the mapping back to the file (msync). Returns io_error with errno on failure.
  [[nodiscard]] result<void> flush() const { return flush_range(0, size_); }

  /// Writes bytes [off, off + len) of the bank to the file and waits (msync MS_SYNC on the
  /// host pages that hold them): the durable mode's ordering step. io_error with errno.
  [[nodiscard]] result<void> flush_range(std::uint64_t off, std::uint64_t len) const {
    if (off >= size_ || len == 0) return {};
    const std::uint64_t page = native_page_size();
    const std::uint64_t begin = off / page * page;
    const std::uint64_t end = off + len < size_ ? off + len : size_;
#ifdef HOTRESTART_FLUSH_HOOK
    HOTRESTART_FLUSH_HOOK();
#endif
    if (::msync(base_ + begin, static_cast<std::size_t>(end - begin), MS_SYNC) != 0)
      return detail::sys_fail(errc::io_error, "msync failed", errno);
    return {};
  }

 private:
  mmap_file_backend(std::byte* b, std::uint64_t n, int fd, uid_t owner)
      : base_(b), size_(n), fd_(fd), owner_(owner) {}

  // Gives the new file its name in the checked directory: the unnamed file through
  // /proc/self/fd (no privilege needed, unlike AT_EMPTY_PATH), the named temporary with
  // link(). Returns 0 or an errno.
  static int publish(int fd, const char* tmp, int dirfd, const char* base) {
    if (tmp[0] != '\0') return ::linkat(AT_FDCWD, tmp, dirfd, base, 0) == 0 ? 0 : errno;
    char proc[64];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return ::linkat(AT_FDCWD, proc, dirfd, base, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
  }

  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  pthread_mutex_t* mutex() const {
    return reinterpret_cast<pthread_mutex_t*>(base_ + bank_format::lock_area);
  }
  void release() {
    if (base_ != nullptr) ::munmap(base_, size_);
    base_ = nullptr;
    close_fd();
  }

  std::byte* base_ = nullptr;
  std::uint64_t size_ = 0;
  int fd_ = -1;  // the bank file, open for the backend's life
  uid_t owner_ = 0;
};

static_assert(bank_backend<mmap_file_backend>);

/// The default bank: an mmap'd file with the default policies.
using mmap_bank = basic_bank<mmap_file_backend>;

}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_MMAP_FILE_HPP
