// SPDX-License-Identifier: MIT
#include "systemd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common.hpp"

namespace hrctl {

namespace {

service_env g_env;
bool g_taken = false;

const char* env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// A variable meant for this process: its *_PID variable is unset or names this process.
bool meant_for_us(const char* pid_var, bool required) {
  const char* v = env_or_null(pid_var);
  if (v == nullptr) return !required;
  std::uint32_t pid = 0;
  return parse_u32(v, pid) && static_cast<pid_t>(pid) == ::getpid();
}

void read_listen_fds(service_env& e) {
  const char* n = env_or_null("LISTEN_FDS");
  std::uint32_t count = 0;
  if (n == nullptr || !meant_for_us("LISTEN_PID", true) || !parse_u32(n, count)) return;
  if (count > 1024) return;
  std::vector<std::string> names;
  if (const char* fn = env_or_null("LISTEN_FDNAMES")) {
    std::string_view rest(fn);
    while (true) {
      const std::size_t colon = rest.find(':');
      names.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  for (std::uint32_t k = 0; k < count; ++k) {
    const int fd = 3 + static_cast<int>(k);
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) continue;  // not open: systemd lied, skip it
    e.fds.push_back({fd, k < names.size() ? names[k] : std::string("unknown")});
  }
}

void read_journal_stream(service_env& e) {
  const char* js = env_or_null("JOURNAL_STREAM");
  struct stat st {};
  if (js == nullptr || ::fstat(2, &st) != 0) return;
  char* end = nullptr;
  const unsigned long long dev = std::strtoull(js, &end, 10);
  if (end == js || *end != ':') return;
  const char* ino_at = end + 1;
  const unsigned long long ino = std::strtoull(ino_at, &end, 10);
  if (end == ino_at || *end != '\0') return;
  e.journal_stderr = static_cast<unsigned long long>(st.st_dev) == dev &&
                     static_cast<unsigned long long>(st.st_ino) == ino;
}

bool send_state(std::string_view state, std::span<const int> fds) {
  const std::string& path = g_env.notify_socket;
  if (path.empty()) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return false;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // the abstract namespace
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  iovec iov{const_cast<char*>(state.data()), state.size()};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  const ssize_t n = ::sendmsg(s, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  const int saved = errno;
  ::close(s);
  errno = saved;
  return n == static_cast<ssize_t>(state.size());
}

}  // namespace

const service_env& take_service_env() {
  if (g_taken) return g_env;
  g_taken = true;
  if (const char* ns = env_or_null("NOTIFY_SOCKET");
      ns != nullptr && (ns[0] == '/' || ns[0] == '@'))
    g_env.notify_socket = ns;
  std::uint64_t usec = 0;
  if (const char* w = env_or_null("WATCHDOG_USEC");
      w != nullptr && meant_for_us("WATCHDOG_PID", false) && parse_u64(w, usec))
    g_env.watchdog_usec = usec;
  read_listen_fds(g_env);
  read_journal_stream(g_env);
  for (const char* v : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID",
                        "LISTEN_FDS", "LISTEN_FDNAMES"})
    ::unsetenv(v);
  return g_env;
}

const service_env& service() {
  return g_env;
}

bool sd_notify_state(std::string_view state) {
  return send_state(state, {});
}

bool sd_notify_fds(std::string_view state, std::span<const int> fds) {
  return send_state(state, fds);
}

std::string_view priority_prefix(priority p) {
  // (Always a literal: data() is a NUL-terminated string, "" when not the journal.)
  if (!g_env.journal_stderr) return "";
  switch (p) {
    case priority::err: return "<3>";
    case priority::warning: return "<4>";
    case priority::notice: return "<5>";
    case priority::info: return "<6>";
  }
  return "";
}

}  // namespace hrctl
