// SPDX-License-Identifier: MIT
// Process images in the bank (ChorusOS kept each restartable process's image in a persistent
// memory block): copy an executable and its arguments into a block, and make a sealed memfd
// from a block to run it with fexecve, whatever happened to the file on disk meanwhile.
// Linux only.
#ifndef HOTRESTART_POSIX_IMAGE_HPP
#define HOTRESTART_POSIX_IMAGE_HPP

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <hotrestart/posix/layout.hpp>

namespace hotrestart::posix {

inline std::uint64_t monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

/// starttime (field 22 of /proc/PID/stat, clock ticks since boot): with the pid, it names one
/// process for good (pids are reused, the pair is not). 0 if the process does not exist.
inline std::uint64_t process_start_time(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and ')'
  if (p == nullptr) return 0;
  // After ") " come fields 3.. ; starttime is field 22, i.e. the 20th after the ')'.
  int field = 2;
  for (const char* q = p + 1; *q != '\0'; ++q) {
    if (*q == ' ') {
      ++field;
      if (field == 22) return std::strtoull(q + 1, nullptr, 10);
    }
  }
  return 0;
}

/// True if `pid` is alive (not a zombie) and is the run that started at `start_time`.
inline bool same_process_alive(int pid, std::uint64_t start_time) {
  if (pid <= 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X') return false;
  return process_start_time(pid) == start_time;
}

/// The uid of process `pid` if its real, effective, saved and file-system uids (the "Uid:"
/// line of /proc/PID/status) are all that one, else -1 (also if it cannot be read).
inline long process_uid(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* u = std::strstr(buf, "\nUid:");
  if (u == nullptr) return -1;
  const char* at = u + 5;
  long uid = -1;
  for (int k = 0; k < 4; ++k) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(at, &end, 10);
    if (end == at || (uid >= 0 && static_cast<long>(v) != uid)) return -1;
    uid = static_cast<long>(v);
    at = end;
  }
  return uid;
}

/// A pid a bank may name as a member's run: a process (not 0, not a group), and never the
/// process reading the bank (a forged bank naming the supervisor's own pid is not adopted,
/// so never signalled).
inline bool adoptable_pid(int pid) {
  return pid > 0 && pid != ::getpid();
}

/// A pidfd for the run a bank records (pid and start time), only if that process still is
/// that run and, when `uid` is given (a bank of another user's: --user), runs as that user
/// alone (real, effective, saved and file-system uids): another user's bank cannot make a
/// supervisor signal, or take descriptors from, anyone else's process. A bank of the
/// supervisor's own user names processes of its own (members may drop privileges: no uid
/// check). The checks come after pidfd_open, so the pidfd names the process checked even if the
/// pid is reused later. Returns the pidfd (close-on-exec) or -1.
inline int open_member_pidfd(int pid, std::uint64_t start_time, const uid_t* uid) {
  if (!adoptable_pid(pid)) return -1;
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return -1;
  if (!same_process_alive(pid, start_time) ||
      (uid != nullptr && process_uid(pid) != static_cast<long>(*uid))) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends `sig` to the process of `pidfd` (never to a reused pid). Returns 0 or -1 (errno).
inline int signal_pidfd(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

/// What a program to be imaged looks like, checked before anything is written.
struct program_file {
  int fd = -1;
  std::uint64_t bytes = 0;
  std::string path;
};

enum class program_problem { none, missing, not_regular, not_executable, unreadable };

/// Opens `path` (searched in PATH when it has no '/') for imaging. `problem` says why not.
inline program_problem open_program(const std::string& given, program_file& out) {
  std::string path = given;
  if (given.find('/') == std::string::npos) {
    const char* env = std::getenv("PATH");
    std::string_view dirs = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
    path.clear();
    while (!dirs.empty()) {
      const auto colon = dirs.find(':');
      std::string dir(dirs.substr(0, colon));
      dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
      std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + given;
      if (::access(cand.c_str(), X_OK) == 0) {
        path = cand;
        break;
      }
    }
    if (path.empty()) return program_problem::missing;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return program_problem::missing;
  if (!S_ISREG(st.st_mode)) return program_problem::not_regular;
  if (::access(path.c_str(), X_OK) != 0) return program_problem::not_executable;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return program_problem::unreadable;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return program_problem::unreadable;
  }
  out.fd = fd;
  out.bytes = static_cast<std::uint64_t>(st.st_size);
  out.path = path;
  return program_problem::none;
}

inline const char* describe(program_problem p) {
  switch (p) {
    case program_problem::none: return "ok";
    case program_problem::missing: return "no such program (not found, or not in PATH)";
    case program_problem::not_regular: return "not a regular file";
    case program_problem::not_executable: return "not executable (no x permission)";
    case program_problem::unreadable: return "cannot be read";
  }
  return "?";
}

/// Bytes of the block that holds this program with these arguments.
inline std::uint64_t image_bytes(std::uint64_t exe_bytes, const std::vector<std::string>& argv) {
  std::uint64_t a = 0;
  for (const auto& s : argv) a += s.size() + 1;
  return image_exe_offset(a) + exe_bytes;
}

/// Reads the whole of `prog` (already opened: its `bytes`, from offset 0) into `into`.
/// Errors: io_error (a failed or short read).
[[nodiscard]] inline result<void> read_program(const program_file& prog, std::byte* into) {
  std::uint64_t done = 0;
  while (done < prog.bytes) {
    const ssize_t n = ::pread(prog.fd, into + done, static_cast<std::size_t>(prog.bytes - done),
                              static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return fail(
          error(errc::io_error, "cannot read the program file").with_errno(n < 0 ? errno : EIO));
    done += static_cast<std::uint64_t>(n);
  }
  return {};
}

/// Writes the image of `prog` (already opened) with `argv` and process `name` into block
/// `b` (at least image_bytes() large). Errors: io_error (short read), bad_size.
[[nodiscard]] inline result<void> write_image(const block& b, const program_file& prog,
                                              const std::vector<std::string>& argv,
                                              std::string_view name) {
  std::uint64_t argv_bytes = 0;
  for (const auto& s : argv) argv_bytes += s.size() + 1;
  if (argv.empty() || argv.size() > max_image_args || argv_bytes > max_image_argv_bytes)
    return fail(error(errc::bad_size, "too many or too long arguments")
                    .with_limit("argument bytes", argv_bytes, max_image_argv_bytes));
  if (name.empty() || name.size() > 32)
    return fail(error(errc::name_too_long, "process name must be 1..32 bytes")
                    .with_range("process name length", name.size(), 1, 32));
  const std::uint64_t off = image_exe_offset(argv_bytes);
  if (b.capacity < off + prog.bytes)
    return fail(error(errc::bad_size, "image block too small")
                    .with_requested("bytes", off + prog.bytes, b.capacity, "in the block"));
  // Payload first, header (magic) last: a block cut short has no magic.
  auto* h = reinterpret_cast<image_header*>(b.data);
  h->magic = 0;
  char* a = reinterpret_cast<char*>(b.data + sizeof(image_header));
  for (const auto& s : argv) {
    std::memcpy(a, s.c_str(), s.size() + 1);
    a += s.size() + 1;
  }
  if (auto r = read_program(prog, b.data + off); !r) return r;
  h->version = image_version;
  h->exe_bytes = prog.bytes;
  h->exe_offset = off;
  h->argc = static_cast<std::uint32_t>(argv.size());
  h->argv_bytes = static_cast<std::uint32_t>(argv_bytes);
  h->name_len = static_cast<std::uint32_t>(name.size());
  std::memset(h->name, 0, sizeof h->name);
  std::memcpy(h->name, name.data(), name.size());
  const std::size_t pl = prog.path.size() < sizeof h->path ? prog.path.size() : sizeof h->path;
  h->path_len = static_cast<std::uint32_t>(pl);
  std::memset(h->path, 0, sizeof h->path);
  std::memcpy(h->path, prog.path.data(), pl);
  h->exe_checksum = fnv1a(b.data + off, prog.bytes);
  std::atomic_thread_fence(std::memory_order_release);
  store(h->magic, image_magic);
  return {};
}

/// The arguments kept in an image (validated by check_image first).
inline std::vector<std::string> image_argv(const block& b) {
  const auto* h = reinterpret_cast<const image_header*>(b.data);
  std::vector<std::string> out;
  const char* a = reinterpret_cast<const char*>(b.data + sizeof(image_header));
  for (std::uint32_t i = 0; i < h->argc; ++i) {
    out.emplace_back(a);
    a += out.back().size() + 1;
  }
  return out;
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/// Whether this kernel lets a memfd be executed (vm.memfd_noexec, Linux 6.3+): 0 = yes, and
/// `*flag` is what memfd_create needs for it (MFD_EXEC, or 0 on kernels without the sysctl);
/// EACCES = vm.memfd_noexec is 2 here (no executable memfd at all), which hrctl refuses at
/// start with that explanation rather than failing every run. Probed once per process.
inline int memfd_exec_support(unsigned* flag) {
  static const int probed = [] {
    int fd = ::memfd_create("hr-probe", MFD_CLOEXEC | MFD_EXEC);
    if (fd >= 0) {
      ::close(fd);
      return 1;  // MFD_EXEC known and allowed
    }
    if (errno == EACCES) return -EACCES;
    return 0;  // an older kernel: every memfd is executable, and MFD_EXEC unknown (EINVAL)
  }();
  if (flag != nullptr) *flag = probed == 1 ? MFD_EXEC : 0u;
  return probed < 0 ? -probed : 0;
}

/// A sealed memfd holding the image's executable, ready for fexecve. Returns the fd (close on
/// exec), or -1 with errno set. The checksum is verified: a damaged image is not run.
inline int image_memfd(const block& b) {
  auto h = check_image(b);
  if (!h) {
    errno = ENOEXEC;
    return -1;
  }
  const image_header& ih = **h;
  if (fnv1a(b.data + ih.exe_offset, ih.exe_bytes) != ih.exe_checksum) {
    errno = ENOEXEC;
    return -1;
  }
  char label[40] = "hr:";
  std::memcpy(label + 3, ih.name, ih.name_len);
  unsigned exec_flag = 0;
  if (const int e = memfd_exec_support(&exec_flag); e != 0) {
    errno = e;
    return -1;
  }
  const int fd = ::memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING | exec_flag);
  if (fd < 0) return -1;
  std::uint64_t done = 0;
  while (done < ih.exe_bytes) {
    const ssize_t n =
        ::write(fd, b.data + ih.exe_offset + done, static_cast<std::size_t>(ih.exe_bytes - done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
    done += static_cast<std::uint64_t>(n);
  }
  ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_IMAGE_HPP
