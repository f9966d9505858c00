// SPDX-License-Identifier: MIT
// The output relay of a delegated `hrctl run` (docs/security.md): the requester hands its own
// stdout and stderr to the supervisor as descriptors passed by the kernel (SCM_RIGHTS over a
// Unix stream socket beside the bank, "BANK.sock"), and each side checks who the other is with
// SO_PEERCRED: the requester talks only to the supervisor the bank names, running as the same
// user or root; the supervisor takes an offer only from a user allowed to use the bank and
// only for the mailbox slot that the offering process claimed. Nothing of the relay is read
// from the bank, so whoever can write a bank cannot point a supervisor at another process's
// output; and the member writes through the requester's own open file (its offset and
// O_APPEND), so `>`, `>>` and a pipe all keep every line. Linux only.
#ifndef HOTRESTART_POSIX_RELAY_HPP
#define HOTRESTART_POSIX_RELAY_HPP

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <hotrestart/backends/file_trust.hpp>

namespace hotrestart::posix {

inline constexpr std::uint32_t relay_magic = 0x594C5248u;  // "HRLY"

/// What the requester sends with its two descriptors.
struct relay_hello {
  std::uint32_t magic = relay_magic;
  std::uint32_t slot = 0;  ///< the mailbox slot of its request
};

/// An offer the supervisor received: descriptors for the request in `slot`, from `pid`.
struct relay_offer {
  int pid = 0;
  uid_t uid = 0;
  std::uint32_t slot = 0;
  int out = -1;
  int err = -1;
};

namespace detail {
/// The socket address of the relay of the bank at `bank`: "BANK.sock", or, when that is too
/// long for a socket address, the same name reached through an open descriptor of the bank's
/// directory (/proc/self/fd/N/BASE.sock), which `dir` then holds. False if neither fits.
inline bool relay_address(const std::string& bank, sockaddr_un& sa, fd_guard& dir) {
  sa = sockaddr_un{};
  sa.sun_family = AF_UNIX;
  std::string name = bank + ".sock";
  if (name.size() >= sizeof sa.sun_path) {
    const std::size_t cut = trust::base_offset(bank.c_str());
    const std::string parent = cut == 0 ? "." : bank.substr(0, cut);
    dir.fd = ::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir.fd < 0) return false;
    name = "/proc/self/fd/" + std::to_string(dir.fd) + "/" + bank.substr(cut) + ".sock";
    if (name.size() >= sizeof sa.sun_path) return false;
  }
  std::memcpy(sa.sun_path, name.c_str(), name.size() + 1);
  return true;
}

// The one message of the relay: a relay_hello and room for two descriptors.
struct hello_message {
  iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  explicit hello_message(relay_hello& hello) : iov{&hello, sizeof hello} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  hello_message(const hello_message&) = delete;
  hello_message& operator=(const hello_message&) = delete;
};

inline bool peer_of(int fd, ucred& cred) {
  socklen_t len = sizeof cred;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
}
}  // namespace detail

/// The supervisor's listening socket (non-blocking, close-on-exec, mode 0600): a stale socket
/// of a dead supervisor is replaced; anything else at that path is left alone and refused.
/// Returns the descriptor, or -1 and the reason in `why`.
inline int relay_listen(const std::string& bank, std::string& why) {
  sockaddr_un sa;
  fd_guard dir(-1);
  if (!detail::relay_address(bank, sa, dir)) {
    why = "the relay socket's path is too long";
    return -1;
  }
  struct stat st;
  if (::lstat(sa.sun_path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      why = std::string(sa.sun_path) + " exists and is not a socket";
      return -1;
    }
    ::unlink(sa.sun_path);  // a dead supervisor's (we hold the supervisor lock)
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const mode_t old = ::umask(077);
  const int b = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  const int e = errno;
  ::umask(old);
  if (b != 0 || ::listen(fd, 16) != 0) {
    why = std::string("cannot listen on ") + sa.sun_path + ": " + std::strerror(b != 0 ? e : errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Removes the relay socket of `bank` (the supervisor, when it ends).
inline void relay_unlink(const std::string& bank) {
  sockaddr_un sa;
  fd_guard dir(-1);
  struct stat st;
  if (detail::relay_address(bank, sa, dir) && ::lstat(sa.sun_path, &st) == 0 &&
      S_ISSOCK(st.st_mode))
    ::unlink(sa.sun_path);
}

/// Reads one offer from an accepted connection `c` (non-blocking). Returns 1 with `offer`
/// filled (its descriptors are the caller's), 0 if nothing has arrived yet, -1 if the
/// connection is done with (closed, malformed, or refused: `why` says so).
inline int relay_read(int c, relay_offer& offer, std::string& why) {
  relay_hello hello;
  detail::hello_message m(hello);
  msghdr& msg = m.msg;
  const ssize_t n = ::recvmsg(c, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n < 0) {
    why = std::string("recvmsg: ") + std::strerror(errno);
    return -1;
  }
  int fds[2] = {-1, -1};
  std::size_t nfd = 0;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      const std::size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < k; ++i) {
        int f = -1;
        std::memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
        if (nfd < 2)
          fds[nfd++] = f;
        else
          ::close(f);
      }
    }
  ucred cred{};
  const bool ok = n == static_cast<ssize_t>(sizeof hello) && hello.magic == relay_magic &&
                  nfd == 2 && (msg.msg_flags & MSG_CTRUNC) == 0 && detail::peer_of(c, cred);
  if (!ok) {
    for (int f : fds)
      if (f >= 0) ::close(f);
    why = n == 0 ? "closed without an offer" : "a malformed offer";
    return -1;
  }
  offer = relay_offer{cred.pid, cred.uid, hello.slot, fds[0], fds[1]};
  return 1;
}

namespace detail {
// Connects (never waiting on a full backlog) to the relay of `bank` and checks that the peer is
// `supervisor_pid` running as this user or root. Returns an empty string or the problem.
inline std::string relay_connect(const std::string& bank, int supervisor_pid, fd_guard& c) {
  sockaddr_un sa;
  fd_guard dir(-1);
  if (!relay_address(bank, sa, dir)) return "the relay socket's path is too long";
  c.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c.fd < 0) return std::string("socket: ") + std::strerror(errno);
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return std::string("cannot reach the supervisor's relay socket ") + sa.sun_path + ": " +
           std::strerror(errno);
  ucred cred{};
  if (!peer_of(c.fd, cred)) return std::string("SO_PEERCRED: ") + std::strerror(errno);
  if (cred.pid != supervisor_pid || (cred.uid != ::geteuid() && cred.uid != 0))
    return "the relay socket is not the supervisor's (pid " + std::to_string(cred.pid) + ", uid " +
           std::to_string(cred.uid) + ")";
  return {};
}
}  // namespace detail

/// Wakes the supervisor of `bank` (its poll loop watches the relay socket) without trusting a
/// pid from the bank: the peer is checked as for an offer. True if it was reached.
inline bool relay_poke(const std::string& bank, int supervisor_pid) {
  fd_guard c(-1);
  return detail::relay_connect(bank, supervisor_pid, c).empty();
}

/// The requester's side: connects to the relay of `bank`, checks that the peer is
/// `supervisor_pid` running as this user or root, and hands it `out` and `err` for the request
/// in mailbox slot `slot`. Returns an empty string, or why the output cannot be relayed.
inline std::string relay_offer_fds(const std::string& bank, int supervisor_pid, std::uint32_t slot,
                                   int out, int err) {
  fd_guard c(-1);
  if (std::string why = detail::relay_connect(bank, supervisor_pid, c); !why.empty())
    return why + ": refused to hand it the output";
  relay_hello hello;
  hello.slot = slot;
  detail::hello_message m(hello);
  msghdr& msg = m.msg;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const int fds[2] = {out, err};
  std::memcpy(CMSG_DATA(cm), fds, sizeof fds);
  ssize_t n;
  do {
    n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof hello))
    return std::string("cannot hand the output to the supervisor: ") + std::strerror(errno);
  return {};
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_RELAY_HPP
