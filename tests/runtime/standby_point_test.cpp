// SPDX-License-Identifier: MIT
// The program side of a warm standby (hotrestart/posix/standby.hpp) on real processes: a forked
// child parks at the standby point; this process plays the supervisor's end of the channel.
// hrctl's side and the whole path are tested end to end by tests/runtime/standby.sh.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <hotrestart/posix/standby.hpp>

using namespace hotrestart::posix;

namespace {
// The supervisor's message: NUL-ended strings and the descriptors (stdout, stderr, sockets).
bool send_promotion(int chan, const std::string& text, const std::vector<int>& fds) {
  iovec io{const_cast<char*>(text.data()), text.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * standby_max_fds)] = {};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  if (!fds.empty()) {
    m.msg_control = control;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(chan, &m, MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

struct parked_child {
  int pid = -1;
  int chan = -1;  // our end
};

// Forks a child that sets HR_STANDBY_FD, parks, then runs `after` and exits with its result.
template <class F>
parked_child park(F after) {
  int sp[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
  std::fflush(nullptr);  // (the child flushes at its standby point: not our buffered lines)
  const int pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(sp[0]);
    const int at = ::fcntl(sp[1], F_DUPFD, 20);  // not close-on-exec, as hrctl gives it
    ::setenv(env_standby_fd, std::to_string(at).c_str(), 1);
    ::unsetenv("HR_GROUP");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_PID");
    standby_point();
    ::_exit(after(at));
  }
  ::close(sp[1]);
  char b = 0;
  REQUIRE(::recv(sp[0], &b, 1, 0) == 1);  // "parked"
  CHECK(b == standby_parked_byte);
  return {pid, sp[0]};
}

int wait_status(int pid) {
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  return st;
}

std::string read_all(int fd) {
  std::string s;
  char buf[512];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    s.append(buf, static_cast<std::size_t>(n));
  return s;
}
}  // namespace

TEST_CASE("outside a standby, the standby point returns at once and changes nothing") {
  ::unsetenv(env_standby_fd);
  ::unsetenv("HR_GROUP");
  const int fd1 = ::fcntl(1, F_GETFD);
  standby_point();
  CHECK(std::getenv("HR_GROUP") == nullptr);
  CHECK(::fcntl(1, F_GETFD) == fd1);
}

TEST_CASE(
    "a promotion installs the run's environment, output and sockets, and forgets the channel") {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  int lsock = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lsock >= 0);
  REQUIRE(::listen(lsock, 1) == 0);
  auto child = park([](int chan) {
    // What the run sees, written to its (new) stdout, one fact a line.
    std::string r;
    const char* g = std::getenv("HR_GROUP");
    const char* lp = std::getenv("LISTEN_PID");
    r += std::string("group=") + (g ? g : "-") + "\n";
    r += std::string("restarted=") +
         (std::getenv("HR_RESTARTED") ? std::getenv("HR_RESTARTED") : "-") + "\n";
    r +=
        std::string("listen_pid_is_mine=") + (lp && std::atoi(lp) == ::getpid() ? "1" : "0") + "\n";
    r += std::string("standby_fd_unset=") + (std::getenv(env_standby_fd) ? "0" : "1") + "\n";
    r += std::string("chan_closed=") + (::fcntl(chan, F_GETFD) < 0 ? "1" : "0") + "\n";
    int acc = 0;
    socklen_t len = sizeof acc;
    r += std::string("fd3_listens=") +
         (::getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc ? "1" : "0") + "\n";
    (void)!::write(1, r.data(), r.size());
    return 0;
  });
  const std::string env =
      std::string("HR_GROUP=7") + '\0' + "HR_RESTARTED=1" + '\0' + "LISTEN_FDS=1" + '\0';
  REQUIRE(send_promotion(child.chan, env, {out[1], 2, lsock}));
  ::close(out[1]);
  const std::string got = read_all(out[0]);
  const int st = wait_status(child.pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(got ==
        "group=7\nrestarted=1\nlisten_pid_is_mine=1\nstandby_fd_unset=1\nchan_closed=1\n"
        "fd3_listens=1\n");
  ::close(out[0]);
  ::close(lsock);
  ::close(child.chan);
}

TEST_CASE("a standby whose supervisor goes away exits at once, status 0, without running on") {
  auto child = park([](int) { return 42; });  // (42 only if it went on: it must not)
  ::close(child.chan);
  const int st = wait_status(child.pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("a promotion without descriptors is refused: the standby ends with status 70") {
  auto child = park([](int) { return 42; });
  REQUIRE(send_promotion(child.chan, std::string("HR_GROUP=1") + '\0', {}));
  const int st = wait_status(child.pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 70);
  ::close(child.chan);
}

TEST_CASE("a malformed HR_STANDBY_FD is refused: status 70") {
  std::fflush(nullptr);  // (the child flushes at its standby point: not our buffered lines)
  const int pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setenv(env_standby_fd, "3x", 1);
    standby_point();
    ::_exit(42);
  }
  const int st = wait_status(pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 70);
}
