// SPDX-License-Identifier: MIT
#include "listeners.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace hrctl {

namespace {
int pidfd_getfd(int pidfd, int fd) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

// No SO_REUSEPORT: one socket per port, so nobody else can bind it and take connections, and
// a supervisor that adopts a group takes the running members' sockets (take_listeners) rather
// than opening a second one that the kernel would hand half of the connections.
int listen_on(std::uint32_t addr, std::uint16_t port, std::uint16_t* bound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = addr;
  sa.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 128) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (bound) *bound = ntohs(sa.sin_port);
  return fd;
}

// fd is a listening TCP socket bound to addr:port.
bool is_listener_on(int fd, std::uint32_t addr, std::uint16_t port) {
  int listening = 0;
  socklen_t ol = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || listening == 0)
    return false;
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || sa.sin_family != AF_INET)
    return false;
  return sa.sin_addr.s_addr == addr && ntohs(sa.sin_port) == port;
}

std::string addr_text(std::uint32_t addr) {
  in_addr a{};
  a.s_addr = addr;
  char text[64];
  ::inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}
}  // namespace

// A socket a group asks for through the bank (a request, or adoption) on a port below the
// unprivileged range is bound only if the bank is this supervisor's own, or if it is one that
// this supervisor's own command line asked for: a bank's writer who is another user (--user)
// must not get a privileged port from a root supervisor.
bool listener_set::may_bind(std::uint32_t addr, std::uint16_t port) const {
  if (as_ == nullptr || !as_->other || port == 0 || port >= 1024) return true;
  return std::find(own_.begin(), own_.end(), std::pair{addr, port}) != own_.end();
}

// Accepts the waiting relay connections and reads the offers that have arrived (never blocks).
int listener_set::open(group_slot& slot, std::uint32_t gid, const std::vector<std::uint32_t>& addrs,
                       const std::vector<std::uint16_t>& ports, std::string* err) {
  group_slot* g = &slot;
  if (addrs.size() > max_listen) {
    *err = "at most 4 --listen sockets per group";
    return exit_usage;
  }
  // A group has one set of sockets for its whole life: the one recorded when it got them.
  if (g->listen_count != 0) {
    bool same = addrs.size() == g->listen_count;
    for (std::size_t i = 0; same && i < addrs.size(); ++i)
      same = addrs[i] == g->listen_addr[i] && (ports[i] == 0 || ports[i] == g->listen_port[i]);
    if (!same)
      log_(
          "group %u: note: --listen ignored: the group keeps the sockets it was given first "
          "(%u, first %s:%u)",
          gid, g->listen_count, addr_text(g->listen_addr[0]).c_str(), g->listen_port[0]);
    if (fds_[gid].empty()) reopen(*g, gid);
    return exit_ok;
  }
  for (std::size_t i = 0; i < addrs.size(); ++i)
    if (!may_bind(addrs[i], ports[i])) {
      *err = "refused to listen on " + addr_text(addrs[i]) + ":" + std::to_string(ports[i]) +
             " for the bank of " + as_->name +
             ": a privileged port only from this supervisor's own --listen";
      return exit_refused;
    }
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    std::uint16_t bound = 0;
    const int fd = listen_on(addrs[i], ports[i], &bound);
    if (fd < 0) {
      *err = "cannot listen on " + addr_text(addrs[i]) + ":" + std::to_string(ports[i]) + ": " +
             std::strerror(errno);
      return exit_failure;
    }
    fds_[gid].push_back(fd);
    const std::uint32_t k = g->listen_count++;
    g->listen_addr[k] = addrs[i];
    g->listen_port[k] = bound;
    log_("group %u: listening on %s:%u (kept across restarts)", gid, addr_text(addrs[i]).c_str(),
         bound);
  }
  return exit_ok;
}

void listener_set::reopen(const group_slot& slot, std::uint32_t gid) {
  const group_slot* g = &slot;
  if (!fds_[gid].empty()) return;
  std::vector<int> fds;
  for (std::uint32_t i = 0; i < g->listen_count && i < max_listen; ++i) {
    if (!may_bind(g->listen_addr[i], g->listen_port[i])) {
      log_(
          "group %u: refused to listen again on %s:%u, as the bank asks: a privileged port for "
          "the bank of %s comes only from this supervisor's own --listen",
          gid, addr_text(g->listen_addr[i]).c_str(), g->listen_port[i], as_->name.c_str());
      for (int f : fds) ::close(f);
      return;
    }
    const int fd = listen_on(g->listen_addr[i], g->listen_port[i], nullptr);
    if (fd < 0) {
      log_("group %u: cannot listen again on %s:%u: %s", gid, addr_text(g->listen_addr[i]).c_str(),
           g->listen_port[i], std::strerror(errno));
      for (int f : fds) ::close(f);
      return;
    }
    fds.push_back(fd);
  }
  fds_[gid] = fds;
}

// Adoption: the group's listening sockets are those its running members hold (fds 3.. as
// they were given); a copy is taken from the first member that still has them all
// (pidfd_getfd: same user or root), so no connection goes to a second socket.
bool listener_set::take(const group_slot& slot, std::uint32_t gid,
                        const std::vector<std::pair<int, int>>& members) {
  const group_slot* g = &slot;
  if (g->listen_count == 0 || !fds_[gid].empty()) return false;
  const std::uint32_t n = std::min<std::uint32_t>(g->listen_count, max_listen);
  for (const auto& [pid, pidfd] : members) {
    if (pidfd < 0) continue;
    std::vector<int> fds;
    for (std::uint32_t i = 0; i < n; ++i) {
      const int fd = pidfd_getfd(pidfd, static_cast<int>(3 + i));
      if (fd < 0) break;
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      if (!is_listener_on(fd, g->listen_addr[i], g->listen_port[i])) {
        ::close(fd);
        break;
      }
      fds.push_back(fd);
    }
    if (fds.size() == n) {
      fds_[gid] = fds;
      log_("group %u: took over the listening socket(s) of pid %d (%s:%u...)", gid, pid,
           addr_text(g->listen_addr[0]).c_str(), g->listen_port[0]);
      return true;
    }
    for (int fd : fds) ::close(fd);
  }
  return false;
}

void listener_set::close(std::uint32_t gid) {
  auto it = fds_.find(gid);
  if (it == fds_.end()) return;
  for (int fd : it->second) ::close(fd);
  fds_.erase(it);
}

std::span<const int> listener_set::fds(std::uint32_t gid) const {
  auto it = fds_.find(gid);
  if (it == fds_.end()) return {};
  return it->second;
}

}  // namespace hrctl
