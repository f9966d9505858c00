// SPDX-License-Identifier: MIT
// The standby point of a warm standby (hrctl run --standby; docs/hrctl.md, "Warm standby").
//
// A member with a standby has a next instance already executed from its image, waiting here
// for its turn: when the member's group restarts, the supervisor promotes the standby instead
// of starting the program again, which saves the exec, the dynamic loading and whatever the
// program does before this point. A standby is told nothing of the run it may become until it
// is promoted, holds no listening socket and may not write to its output before then.
//
//   int main() {
//     load_configuration();                                // what does not depend on the state
//     hotrestart::posix::process::standby_point();         // optional: attach() calls it too
//     auto self = hotrestart::posix::process::attach();
//
// Outside a standby (HR_STANDBY_FD unset) standby_point() does nothing.
//
// The handshake, over a SOCK_SEQPACKET socket at fd HR_STANDBY_FD: the standby sends one byte
// ('P', parked) and blocks; the supervisor answers with one message: the run's environment
// ("NAME=VALUE" strings, each ended by NUL) and, as SCM_RIGHTS, the run's stdout, stderr and
// listening sockets in that order. The standby installs them (the descriptors at 1, 2, 3...,
// the variables, LISTEN_PID its own pid when LISTEN_FDS is given), forgets the channel and goes
// on as the run. End of file instead (the supervisor is gone): it exits at once, status 0,
// having done nothing. Linux only.
#ifndef HOTRESTART_POSIX_STANDBY_HPP
#define HOTRESTART_POSIX_STANDBY_HPP

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <hotrestart/posix/layout.hpp>

namespace hotrestart::posix {

/// The most descriptors a promotion hands over: stdout, stderr and the listening sockets.
inline constexpr std::size_t standby_max_fds = 2 + 8;
/// The largest promotion message (the environment strings).
inline constexpr std::size_t standby_max_message = 2048;
/// What a standby sends when it reaches its standby point.
inline constexpr char standby_parked_byte = 'P';

namespace detail {
[[noreturn]] inline void standby_abort(const char* why) {
  // (fd 2 is the standby's guard or, once the descriptors are installed, the run's stderr.)
  (void)!::write(2, why, std::strlen(why));
  ::_exit(70);
}

// Installs one "NAME=VALUE" of the promotion message.
inline void standby_setenv(const char* item) {
  const char* eq = std::strchr(item, '=');
  char name[64];
  const std::size_t n = eq == nullptr ? 0 : static_cast<std::size_t>(eq - item);
  if (n == 0 || n >= sizeof name) standby_abort("hotrestart: bad standby promotion message\n");
  std::memcpy(name, item, n);
  name[n] = '\0';
  if (::setenv(name, eq + 1, 1) != 0) standby_abort("hotrestart: setenv failed at promotion\n");
}
}  // namespace detail

/// The standby point: returns at once outside a standby; in one, blocks until the supervisor
/// promotes it (then returns, with the run's identity, output and sockets installed) or goes
/// away (then exits, status 0). Output the program buffered before this point is flushed
/// first: the supervisor sees it and refuses the standby, since a standby may not write.
inline void standby_point() {
  const char* v = std::getenv(env_standby_fd);
  if (v == nullptr || *v == '\0') return;
  char* end = nullptr;
  const long fd = std::strtol(v, &end, 10);
  if (end == nullptr || *end != '\0' || fd < 3 || fd > 65535)
    detail::standby_abort("hotrestart: HR_STANDBY_FD is malformed\n");
  const int chan = static_cast<int>(fd);
  std::fflush(nullptr);
  const char parked = standby_parked_byte;
  ssize_t sent = 0;
  do sent = ::send(chan, &parked, 1, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent != 1) ::_exit(0);  // no supervisor any more

  char text[standby_max_message + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * standby_max_fds)];
  iovec io{text, standby_max_message};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t got = 0;
  do got = ::recvmsg(chan, &m, MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  if (got <= 0) ::_exit(0);  // the supervisor is gone (or gave up on us): never run
  if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
    detail::standby_abort("hotrestart: standby promotion message truncated\n");
  int fds[standby_max_fds];
  std::size_t nfds = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n && nfds < standby_max_fds; ++i)
      std::memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (nfds < 2) detail::standby_abort("hotrestart: standby promotion without descriptors\n");
  // Each descriptor to its place (dup2 clears close-on-exec there), the received copies closed;
  // first out of the way of the places, should one have been received at one of them.
  const int places_end = static_cast<int>(nfds);  // places: 1 .. nfds
  for (std::size_t i = 0; i < nfds; ++i)
    if (fds[i] >= 1 && fds[i] <= places_end) {
      const int moved = ::fcntl(fds[i], F_DUPFD_CLOEXEC, places_end + 1);
      if (moved < 0) detail::standby_abort("hotrestart: fcntl failed at promotion\n");
      ::close(fds[i]);
      fds[i] = moved;
    }
  for (std::size_t i = 0; i < nfds; ++i) {
    const int to = i == 0 ? 1 : i == 1 ? 2 : static_cast<int>(i + 1);
    if (::dup2(fds[i], to) < 0) detail::standby_abort("hotrestart: dup2 failed at promotion\n");
  }
  for (std::size_t i = 0; i < nfds; ++i) ::close(fds[i]);
  text[got] = '\0';
  bool listen = false;
  for (std::size_t at = 0; at < static_cast<std::size_t>(got);) {
    const char* item = text + at;
    const std::size_t len = std::strlen(item);
    if (len != 0) detail::standby_setenv(item);
    listen = listen || std::strncmp(item, "LISTEN_FDS=", 11) == 0;
    at += len + 1;
  }
  if (listen) {
    char pid[24];
    std::snprintf(pid, sizeof pid, "%ld", static_cast<long>(::getpid()));
    ::setenv("LISTEN_PID", pid, 1);
  }
  ::unsetenv(env_standby_fd);
  ::close(chan);
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_STANDBY_HPP
