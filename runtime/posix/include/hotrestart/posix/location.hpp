// SPDX-License-Identifier: MIT
// Where a supervisor's bank lives when no path is given: a directory no other user can
// pre-create or write (docs/security.md). In order:
//   $RUNTIME_DIRECTORY/default.bank        (systemd sets it from RuntimeDirectory=; the first
//                                           of its paths)
//   $XDG_RUNTIME_DIR/hotrestart/default.bank (the user's runtime directory; the subdirectory
//                                           is made 0700)
//   /dev/shm/hotrestart-UID/default.bank   (a 0700 directory of the user's own)
// An environment directory that does not belong to this user (a root shell that kept a user's
// XDG_RUNTIME_DIR) is skipped. Linux only.
#ifndef HOTRESTART_POSIX_LOCATION_HPP
#define HOTRESTART_POSIX_LOCATION_HPP

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <hotrestart/backends/file_trust.hpp>

namespace hotrestart::posix {

inline constexpr const char* default_bank_file = "default.bank";

/// The default bank path (with `file` as its name: default.bank, or USER.bank for a root
/// supervisor's --user), and whether its directory is ready. With `make_dir`, a missing
/// hotrestart directory is created 0700 (its parent must exist). `problem` is set when the
/// directory cannot be used: another user's, a symbolic link, writable by others.
struct default_location {
  std::string path;
  std::string problem;
};

namespace detail {
// `dir` is a directory of this user's (not a symlink) that no one else may write.
inline std::string own_private_dir(const std::string& dir, bool make_dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return dir + ": " + std::strerror(errno);
    if (!make_dir) return {};  // made by the first run
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot make " + dir + ": " + std::strerror(errno);
    if (::lstat(dir.c_str(), &st) != 0) return dir + ": " + std::strerror(errno);
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
    return dir + " is not a directory (a symbolic link or a file put there by someone)";
  if (st.st_uid != ::geteuid())
    return dir + " belongs to uid " + std::to_string(st.st_uid) +
           ", not to this user: another user made it first (remove it, or give --bank)";
  if ((st.st_mode & 077) != 0)
    return dir + " may be used by other users (permissions " +
           std::to_string(trust::octal_digits(st.st_mode)) + "): chmod 700 it, or give --bank";
  return {};
}

inline bool owned_dir(const char* dir) {
  struct stat st;
  return dir != nullptr && *dir == '/' && ::stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
         st.st_uid == ::geteuid();
}
}  // namespace detail

inline default_location default_bank_location(bool make_dir,
                                              const std::string& file = default_bank_file) {
  default_location out;
  if (const char* rd = std::getenv("RUNTIME_DIRECTORY"); rd != nullptr && *rd != '\0') {
    std::string first(rd, ::strcspn(rd, ":"));
    if (detail::owned_dir(first.c_str())) {
      out.path = first + "/" + file;
      return out;
    }
  }
  std::string dir;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); detail::owned_dir(x))
    dir = std::string(x) + "/hotrestart";
  else
    dir = "/dev/shm/hotrestart-" + std::to_string(::geteuid());
  out.problem = detail::own_private_dir(dir, make_dir);
  out.path = dir + "/" + file;
  return out;
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_LOCATION_HPP
