// SPDX-License-Identifier: MIT
// Who may own a bank (docs/security.md: one trust domain). Whoever can write a bank can make its
// supervisor run code: the process images, the request mailbox and the controller state live
// in it. So a bank is used only when its file (or shared-memory object) belongs to the expected
// user and neither its group nor others may write it, and when the directory that holds it
// does not let another user replace it: owned by that user, by this process's user or by root,
// and not writable by group or others unless it is sticky (as /tmp and /dev/shm are); a
// symbolic link in place of that directory is refused too, as sshd's StrictModes does.
//
// The checks look at what was opened (fstat of the descriptor, the directory opened without
// following a symbolic link, the file opened relative to that directory), never at a path
// looked up a second time. POSIX only.
#ifndef HOTRESTART_BACKENDS_FILE_TRUST_HPP
#define HOTRESTART_BACKENDS_FILE_TRUST_HPP

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <hotrestart/error.hpp>

namespace hotrestart {

/// What a failed trust check looked at, so that a tool can name the culprit, its owner and its
/// permissions, and the fix (hrctl does).
struct trust_problem {
  enum class kind : std::uint8_t {
    none,
    file_owner,   ///< the file belongs to another user than the expected one
    file_mode,    ///< its group or others may write it
    file_links,   ///< it has other names (hard links)
    dir_owner,    ///< the directory belongs to a user who is neither the expected one nor root
    dir_mode,     ///< group or others may write the directory and it is not sticky
    dir_symlink,  ///< the directory is a symbolic link
  };
  kind what = kind::none;
  char path[PATH_MAX] = {};  ///< the file or the directory at fault
  uid_t uid = 0;             ///< its owner
  mode_t mode = 0;           ///< its permission bits (07777)
  uid_t expected = 0;        ///< the user it should belong to
};

/// Closes a descriptor when it goes out of scope, unless released.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    const int f = fd;
    fd = -1;
    return f;
  }
};

/// Opens the file that descriptor `fd` refers to again, as an open file description of its
/// own (through /proc/self/fd: no path is looked up again), close-on-exec. Locks held through
/// it (flock, OFD locks) are then independent of `fd`'s. Returns the new descriptor, or -1
/// (errno set).
inline int reopen_descriptor(int fd, int flags) {
  char proc[32] = "/proc/self/fd/";
  std::size_t n = std::strlen(proc);
  char digits[12];
  std::size_t k = 0;
  for (unsigned v = static_cast<unsigned>(fd); k == 0 || v != 0; v /= 10)
    digits[k++] = static_cast<char>('0' + v % 10);
  while (k > 0) proc[n++] = digits[--k];
  proc[n] = '\0';
  return ::open(proc, flags | O_CLOEXEC);
}

namespace trust {

/// Permission bits as the octal digits `ls -l` users and chmod know, read as a decimal number
/// (0640 -> 640), so that an error's details show them so.
constexpr std::uint64_t octal_digits(mode_t m) {
  std::uint64_t out = 0, scale = 1;
  for (mode_t v = m & 07777; v != 0; v >>= 3, scale *= 10) out += (v & 7u) * scale;
  return out;
}

namespace detail {
inline void note(trust_problem* why, trust_problem::kind k, const char* path, std::size_t len,
                 const struct stat& st, uid_t expected) {
  if (why == nullptr) return;
  why->what = k;
  const std::size_t n = len < sizeof why->path - 1 ? len : sizeof why->path - 1;
  std::memcpy(why->path, path, n);
  why->path[n] = '\0';
  why->uid = st.st_uid;
  why->mode = st.st_mode & 07777;
  why->expected = expected;
}
}  // namespace detail

/// The file rules: owned by `owner`, no write permission for its group or for others. `st` is
/// the opened file's fstat; `path` names it in `why`. Error: untrusted_file.
[[nodiscard]] inline result<void> check_file(const struct stat& st, uid_t owner, const char* path,
                                             trust_problem* why = nullptr) {
  const std::size_t len = path != nullptr ? std::strlen(path) : 0;
  if (st.st_nlink > 1) {
    // Another name for the same file, made by someone who could (fs.protected_hardlinks=0),
    // could point a supervisor at a bank it did not mean.
    detail::note(why, trust_problem::kind::file_links, path, len, st, owner);
    return fail(
        error(errc::untrusted_file, "the bank file has other names (hard links): remove them")
            .with_expected("links", 1, st.st_nlink));
  }
  if (st.st_uid != owner) {
    detail::note(why, trust_problem::kind::file_owner, path, len, st, owner);
    return fail(error(errc::untrusted_file,
                      "the bank belongs to another user (give it to its user with chown, or use "
                      "another path)")
                    .with_expected("owner uid", owner, st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    detail::note(why, trust_problem::kind::file_mode, path, len, st, owner);
    return fail(error(errc::untrusted_file,
                      "the bank may be written by its group or by others (chmod 600 it, or use "
                      "another path)")
                    .with_expected("permissions",
                                   octal_digits(st.st_mode & ~mode_t{S_IWGRP | S_IWOTH}),
                                   octal_digits(st.st_mode)));
  }
  return {};
}

/// The directory rules: owned by `owner`, by this process's effective user or by root, and not
/// writable by its group or others unless sticky. Error: untrusted_file.
[[nodiscard]] inline result<void> check_dir(const struct stat& st, uid_t owner, const char* path,
                                            std::size_t len, trust_problem* why = nullptr) {
  if (st.st_uid != owner && st.st_uid != ::geteuid() && st.st_uid != 0) {
    detail::note(why, trust_problem::kind::dir_owner, path, len, st, owner);
    return fail(error(errc::untrusted_file,
                      "the bank's directory belongs to another user, who could replace the bank "
                      "(use a directory of your own)")
                    .with_expected("directory owner uid", owner, st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    detail::note(why, trust_problem::kind::dir_mode, path, len, st, owner);
    return fail(error(errc::untrusted_file,
                      "the bank's directory may be written by other users and is not sticky: they "
                      "could replace the bank (chmod go-w or +t it, or use another directory)")
                    .with_expected("directory permissions",
                                   octal_digits(st.st_mode & ~mode_t{S_IWGRP | S_IWOTH}),
                                   octal_digits(st.st_mode)));
  }
  return {};
}

/// Where the last component of `path` starts ("a/b/c" -> 4, "c" -> 0).
inline std::size_t base_offset(const char* path) {
  const std::size_t len = std::strlen(path);
  std::size_t cut = len;
  while (cut > 0 && path[cut - 1] != '/') --cut;
  return cut;
}

/// Opens the directory that holds `path` (O_PATH, refusing a symbolic link in its place) and
/// checks it with check_dir. Returns the descriptor (close-on-exec; the caller closes it), to
/// open or create the file relative to it. Errors: untrusted_file, io_error (with errno:
/// ENOENT when the directory does not exist, EISDIR for a path without a file name).
[[nodiscard]] inline result<int> open_dir(const char* path, uid_t owner,
                                          trust_problem* why = nullptr) {
  const std::size_t cut = base_offset(path);
  if (path[cut] == '\0')
    return fail(
        error(errc::io_error, "the bank path names a directory, not a file").with_errno(EISDIR));
  char dir[PATH_MAX];
  // Every slash before the file name goes ("lnk//x" must open "lnk", not "lnk/", which would
  // follow a symbolic link despite O_NOFOLLOW); "/" stays for a file in the root.
  std::size_t n = cut;
  while (n > 1 && path[n - 1] == '/') --n;
  if (n >= sizeof dir)
    return fail(error(errc::io_error, "bank path too long").with_errno(ENAMETOOLONG));
  if (n == 0) {
    dir[0] = '.';
    n = 1;
  } else {
    std::memcpy(dir, path, n);
  }
  dir[n] = '\0';
  const int fd = ::open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) {
    const int e = errno;
    if ((e == ENOTDIR || e == ELOOP) && ::lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
      detail::note(why, trust_problem::kind::dir_symlink, dir, n, st, owner);
      return fail(errc::untrusted_file,
                  "the bank's directory is a symbolic link (name the directory it points to)");
    }
    return fail(error(errc::io_error, e == ENOENT ? "the bank's directory does not exist"
                                                  : "cannot open the bank's directory")
                    .with_errno(e));
  }
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(error(errc::io_error, "cannot stat the bank's directory").with_errno(e));
  }
  if (auto r = check_dir(st, owner, dir, n, why); !r) {
    ::close(fd);
    return fail(r.error());
  }
  return fd;
}

}  // namespace trust
}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_FILE_TRUST_HPP
