// SPDX-License-Identifier: MIT
// What the two fake service managers of the end-to-end tests share (notify_listener.cpp,
// fdstore_listener.cpp): the datagram socket NOTIFY_SOCKET names, and one message read from it
// with the descriptors passed along (SCM_RIGHTS, received close-on-exec).
#ifndef HR_TESTS_FAKE_MANAGER_HPP
#define HR_TESTS_FAKE_MANAGER_HPP

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace hrtest {

/// Binds a datagram socket at `path` (removed first). -1 with a message on failure.
inline int bind_notify_socket(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    std::fprintf(stderr, "fake manager: socket path too long: %s\n", path.c_str());
    return -1;
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ::unlink(path.c_str());
  if (s < 0 || ::bind(s, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    std::perror(path.c_str());
    if (s >= 0) ::close(s);
    return -1;
  }
  return s;
}

struct notify_message {
  std::string text;      ///< the assignments, newline-separated, as sent
  std::vector<int> fds;  ///< descriptors passed with it (the caller closes them)
};

/// Reads one message from `s` (blocking). false if the read failed.
inline bool receive_notify(int s, notify_message& m) {
  std::vector<char> buf(65536);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return false;
  m.text.assign(buf.data(), static_cast<std::size_t>(n));
  m.fds.clear();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t k = 0; k < count; ++k) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
      m.fds.push_back(fd);
    }
  }
  return true;
}

}  // namespace hrtest

#endif  // HR_TESTS_FAKE_MANAGER_HPP
