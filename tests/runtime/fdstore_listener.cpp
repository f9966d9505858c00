// SPDX-License-Identifier: MIT
// A fake service manager for the fd store tests (e2e.sh runtime_sd_socket_*): it binds a
// datagram socket at SOCKET, runs PROGRAM with NOTIFY_SOCKET=SOCKET, and keeps what PROGRAM
// stores there (FDSTORE=1 + FDNAME=, descriptors as SCM_RIGHTS; FDSTOREREMOVE=1 + FDNAME=
// drops them). When PROGRAM is killed by SIGKILL it is started again with the stored sockets
// at fds 3.. and LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, as systemd restarts a service with its
// fd store. Otherwise it exits with PROGRAM's status. Every message is logged to LOG, one line:
//   msg FDSTORE=1 FDNAME=hrctl-g0-0 fds=1 / stored NAME / removed NAME (N) / start N fds /
//   exit STATUS / killed SIG
// With FDSTORE_STALE=NAME, the store starts with a listening socket (127.0.0.1, any port)
// under NAME, as one left by a group that ended while its supervisor was away.
// Usage: fdstore_listener SOCKET LOG -- PROGRAM [ARGS...]
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct stored {
  int fd;
  std::string name;
};

std::FILE* g_log = nullptr;
volatile sig_atomic_t g_term = 0;

void note(const std::string& line) {
  std::fprintf(g_log, "%s\n", line.c_str());
  std::fflush(g_log);
}

std::string field(const std::string& msg, const std::string& key) {
  std::size_t at = 0;
  while (at < msg.size()) {
    std::size_t end = msg.find('\n', at);
    if (end == std::string::npos) end = msg.size();
    if (msg.compare(at, key.size(), key) == 0)
      return msg.substr(at + key.size(), end - at - key.size());
    at = end + 1;
  }
  return {};
}

pid_t start(char** argv, const std::vector<stored>& fds) {
  note("start " + std::to_string(fds.size()) + " fds");
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  std::vector<int> high;
  for (const stored& s : fds) high.push_back(::fcntl(s.fd, F_DUPFD, 200));
  std::string names;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    ::dup2(high[i], static_cast<int>(3 + i));
    names += (i == 0 ? "" : ":") + fds[i].name;
  }
  if (!fds.empty()) {
    ::setenv("LISTEN_FDS", std::to_string(fds.size()).c_str(), 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::setenv("LISTEN_FDNAMES", names.c_str(), 1);
  }
  ::execvp(argv[0], argv);
  std::perror(argv[0]);
  ::_exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: fdstore_listener SOCKET LOG -- PROGRAM [ARGS...]\n");
    return 2;
  }
  g_log = std::fopen(argv[2], "a");
  if (g_log == nullptr) return 1;
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
  ::unlink(argv[1]);
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  ::setenv("NOTIFY_SOCKET", argv[1], 1);
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_term = 1; };
  ::sigaction(SIGTERM, &sa, nullptr);
  std::vector<stored> fds;
  if (const char* stale = std::getenv("FDSTORE_STALE")) {
    const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0 || ::listen(l, 8) != 0)
      return 1;
    fds.push_back({l, stale});
    ::unsetenv("FDSTORE_STALE");
  }
  pid_t child = start(argv + 4, fds);
  bool forwarded = false;
  for (;;) {
    if (g_term && !forwarded) {
      ::kill(child, SIGTERM);
      forwarded = true;
    }
    pollfd pf{s, POLLIN, 0};
    if (::poll(&pf, 1, 50) > 0) {
      char buf[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
      iovec iov{buf, sizeof buf - 1};
      msghdr m{};
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = control;
      m.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(s, &m, MSG_CMSG_CLOEXEC);
      if (n >= 0) {
        const std::string msg(buf, static_cast<std::size_t>(n));
        std::vector<int> got;
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c))
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            for (std::size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++k) {
              int fd;
              std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
              got.push_back(fd);
            }
        std::string flat = msg;
        for (char& ch : flat)
          if (ch == '\n') ch = ' ';
        note("msg " + flat + " fds=" + std::to_string(got.size()));
        const std::string name = field(msg, "FDNAME=");
        if (field(msg, "FDSTORE=") == "1") {
          for (int fd : got) {
            fds.push_back({fd, name});
            note("stored " + name);
          }
        } else {
          for (int fd : got) ::close(fd);
        }
        if (field(msg, "FDSTOREREMOVE=") == "1") {
          std::size_t removed = 0;
          for (std::size_t i = 0; i < fds.size();)
            if (fds[i].name == name) {
              ::close(fds[i].fd);
              fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
              ++removed;
            } else {
              ++i;
            }
          note("removed " + name + " (" + std::to_string(removed) + ")");
        }
      }
    }
    int st = 0;
    if (::waitpid(child, &st, WNOHANG) == child) {
      if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !g_term) {
        note("killed 9");
        child = start(argv + 4, fds);
        continue;
      }
      if (WIFSIGNALED(st)) {
        note("killed " + std::to_string(WTERMSIG(st)));
        return 128 + WTERMSIG(st);
      }
      note("exit " + std::to_string(WEXITSTATUS(st)));
      return WEXITSTATUS(st);
    }
  }
}
