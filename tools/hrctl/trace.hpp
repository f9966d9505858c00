// SPDX-License-Identifier: MIT
// An optional trace of the restart path, for measuring it part by part (bench/restart.md):
// when HRCTL_TRACE names a file, the supervisor appends one line per mark to it,
//
//   NS WHAT ID PID
//
// NS the CLOCK_MONOTONIC time in nanoseconds, WHAT the mark (wake: poll returned with the
// run's pidfd readable; reaped: waitpid done; booked: the controller has recorded the failure;
// spawn: the next run's start begins; promoted / spawned: its standby promoted / a new
// process started), ID the member's process id in the bank, PID the run's pid (the ended one
// for wake, reaped and booked; the new one for promoted and spawned; 0 for spawn).
//
// Marks are kept in memory and written when the supervisor is about to wait again (flush()),
// so the restart itself pays a clock read and a store per mark. Unset, a mark costs one branch.
#ifndef HRCTL_TRACE_HPP
#define HRCTL_TRACE_HPP

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace hrctl::trace {

namespace detail {
struct mark_rec {
  std::uint64_t ns;
  const char* what;
  std::uint32_t id;
  std::int32_t pid;
};
inline constexpr std::size_t capacity = 64;
inline mark_rec marks[capacity];
inline std::size_t count = 0;

inline int open_from_env() {
  const char* path = std::getenv("HRCTL_TRACE");
  if (path == nullptr || *path == '\0') return -1;
  return ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
}
// Opened once, before main(): -1 when tracing is off.
inline const int fd = open_from_env();
}  // namespace detail

inline bool on() {
  return detail::fd >= 0;
}

inline std::uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

/// Writes the marks kept so far (one write).
inline void flush() {
  if (detail::count == 0) return;
  char buf[detail::capacity * 64];
  std::size_t len = 0;
  for (std::size_t i = 0; i < detail::count; ++i) {
    const detail::mark_rec& m = detail::marks[i];
    const int n = std::snprintf(buf + len, sizeof buf - len, "%llu %s %u %d\n",
                                static_cast<unsigned long long>(m.ns), m.what, m.id, m.pid);
    if (n <= 0) continue;
    len += std::min(static_cast<std::size_t>(n), sizeof buf - 1 - len);  // (snprintf truncated)
  }
  detail::count = 0;
  (void)!::write(detail::fd, buf, len);
}

/// One mark at time `ns` (already taken); `what` must be a string literal.
inline void mark_at(std::uint64_t ns, const char* what, std::uint32_t id, int pid) {
  if (detail::fd < 0) return;
  if (detail::count == detail::capacity) flush();
  detail::marks[detail::count++] = detail::mark_rec{ns, what, id, static_cast<std::int32_t>(pid)};
}

/// One mark now.
inline void mark(const char* what, std::uint32_t id, int pid) {
  if (detail::fd < 0) return;
  mark_at(now_ns(), what, id, pid);
}

/// Before the supervisor waits: what was marked goes to the file.
inline void idle() {
  if (detail::fd < 0) return;
  flush();
}

}  // namespace hrctl::trace

#endif  // HRCTL_TRACE_HPP
