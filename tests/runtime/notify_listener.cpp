// SPDX-License-Identifier: MIT
// A fake service manager for the hrctl end-to-end tests: binds an AF_UNIX datagram socket at
// PATH (what the test puts in NOTIFY_SOCKET) and writes every message it receives to OUT, one
// line per assignment, each prefixed with the CLOCK_MONOTONIC time of its arrival in
// microseconds:
//   12345678 READY=1
//   12345678 STATUS=1 group (web): 1 member running, 0 restarts
// Descriptors passed with a message (SCM_RIGHTS) are reported after its assignments, one line
// each ("12345678 FD=socket tcp 127.0.0.1:8080", "FD=socket unix", "FD=other") and closed.
// Runs until killed. Usage: notify_listener PATH OUT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

unsigned long long monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000ull +
         static_cast<unsigned long long>(ts.tv_nsec) / 1000ull;
}

// What a passed descriptor is: "socket tcp ADDR:PORT", "socket udp ...", "socket unix", "other".
std::string describe_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return "other";
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "socket";
  int type = 0;
  socklen_t tlen = sizeof type;
  (void)::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen);
  const char* kind = type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other";
  char addr[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
    return std::string("socket ") + kind + " " + addr + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
    return std::string("socket ") + kind + " [" + addr + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  if (ss.ss_family == AF_UNIX) return "socket unix";
  return "socket";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: notify_listener PATH OUT\n");
    return 2;
  }
  const std::string path = argv[1];
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "notify_listener: path too long\n");
    return 2;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ::unlink(path.c_str());
  if (s < 0 || ::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("notify_listener: bind");
    return 1;
  }
  std::FILE* out = std::fopen(argv[2], "a");
  if (out == nullptr) {
    std::perror(argv[2]);
    return 1;
  }
  std::vector<char> buf(65536);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
  for (;;) {
    iovec iov{buf.data(), buf.size() - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) continue;
    const unsigned long long t = monotonic_us();
    std::string text(buf.data(), static_cast<std::size_t>(n));
    std::size_t at = 0;
    while (at < text.size()) {
      std::size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      if (nl > at) std::fprintf(out, "%llu %s\n", t, text.substr(at, nl - at).c_str());
      at = nl + 1;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t k = 0; k < count; ++k) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
        std::fprintf(out, "%llu FD=%s\n", t, describe_fd(fd).c_str());
        ::close(fd);
      }
    }
    std::fflush(out);
  }
}
