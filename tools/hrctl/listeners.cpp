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

#include "systemd.hpp"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace hrctl {

namespace {
int pidfd_getfd(int pidfd, int fd) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

// The socket address of a listen record.
socklen_t to_sockaddr(const listen_record& r, sockaddr_storage& ss) {
  ss = sockaddr_storage{};
  if (r.family == AF_INET6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    std::memcpy(&sa->sin6_addr, r.addr, 16);
    sa->sin6_port = htons(r.port);
    return sizeof(sockaddr_in6);
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
  sa->sin_family = AF_INET;
  std::memcpy(&sa->sin_addr, r.addr, 4);
  sa->sin_port = htons(r.port);
  return sizeof(sockaddr_in);
}

// No SO_REUSEPORT: one socket per port, so nobody else can bind it and take connections, and
// a supervisor that adopts a group takes the running members' sockets (take_listeners) rather
// than opening a second one that the kernel would hand half of the connections. An IPv6
// socket is IPV6_V6ONLY: [::]:P is IPv6 only, so 0.0.0.0:P can be a socket of its own.
int listen_on(const listen_record& r, std::uint16_t* bound) {
  if (r.family != AF_INET && r.family != AF_INET6) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  const int fd = ::socket(r.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (r.family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(r, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 128) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (bound)
    *bound = ntohs(r.family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

// fd is a listening TCP socket bound to the record's family, address and port.
bool is_listener_on(int fd, const listen_record& r) {
  int listening = 0;
  socklen_t ol = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || listening == 0)
    return false;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || ss.ss_family != r.family)
    return false;
  if (r.family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(&ss);
    return std::memcmp(&sa->sin_addr, r.addr, 4) == 0 && ntohs(sa->sin_port) == r.port;
  }
  if (r.family == AF_INET6) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(&ss);
    return std::memcmp(&sa->sin6_addr, r.addr, 16) == 0 && ntohs(sa->sin6_port) == r.port;
  }
  return false;
}

bool same_socket(const listen_record& a, const listen_record& b) {
  return a.family == b.family && a.port == b.port && std::memcmp(a.addr, b.addr, 16) == 0;
}
}  // namespace

// A socket a group asks for through the bank (a request, or adoption) on a port below the
// unprivileged range is bound only if the bank is this supervisor's own, or if it is one that
// this supervisor's own command line asked for: a bank's writer who is another user (--user)
// must not get a privileged port from a root supervisor.
bool listener_set::may_bind(const listen_record& r) const {
  if (as_ == nullptr || !as_->other || r.port == 0 || r.port >= 1024) return true;
  return std::any_of(own_.begin(), own_.end(),
                     [&](const listen_record& o) { return same_socket(o, r); });
}

std::vector<listen_record> listener_set::recorded(std::uint32_t gid) const {
  std::vector<listen_record> out;
  const group_slot* g = rt_ != nullptr ? rt_->group(gid) : nullptr;
  if (g == nullptr) return out;
  for (std::uint32_t k = 0; k < g->listen_count && k < max_listen; ++k)
    if (const listen_record* r = rt_->group_listen(gid, k)) out.push_back(*r);
  return out;
}

int listener_set::open(group_slot& slot, std::uint32_t gid, const std::vector<listen_record>& want,
                       std::string* err) {
  group_slot* g = &slot;
  if (want.size() > max_listen) {
    *err = "at most 4 --listen sockets per group";
    return exit_usage;
  }
  // A group has one set of sockets for its whole life: the one recorded when it got them.
  if (g->listen_count != 0) {
    const std::vector<listen_record> have = recorded(gid);
    bool same = want.size() == have.size();
    for (std::size_t i = 0; same && i < want.size(); ++i)
      same = want[i].family == have[i].family && std::memcmp(want[i].addr, have[i].addr, 16) == 0 &&
             (want[i].port == 0 || want[i].port == have[i].port);
    if (!same)
      log_(
          "group %u: note: --listen ignored: the group keeps the sockets it was given first "
          "(%u, first %s)",
          gid, g->listen_count, have.empty() ? "?" : listen_text(have[0]).c_str());
    if (fds_[gid].empty()) reopen(*g, gid);
    return exit_ok;
  }
  for (const listen_record& r : want)
    if (!may_bind(r)) {
      *err = "refused to listen on " + listen_text(r) + " for the bank of " + as_->name +
             ": a privileged port only from this supervisor's own --listen";
      return exit_refused;
    }
  for (const listen_record& r : want) {
    std::uint16_t bound = 0;
    const int fd = listen_on(r, &bound);
    if (fd < 0) {
      *err = "cannot listen on " + listen_text(r) + ": " + std::strerror(errno);
      return exit_failure;
    }
    fds_[gid].push_back(fd);
    const std::uint32_t k = g->listen_count;
    store(gid, k, fd);
    listen_record* rec = rt_->group_listen(gid, k);
    if (rec == nullptr) {
      ::close(fd);
      fds_[gid].pop_back();
      *err = "no room to record the listening socket";
      return exit_failure;
    }
    *rec = r;
    rec->port = bound;
    // The v2 words too: an IPv4 address, and the bound port.
    g->listen_addr[k] = 0;
    if (r.family == AF_INET) std::memcpy(&g->listen_addr[k], r.addr, 4);
    g->listen_port[k] = bound;
    g->listen_count = k + 1;
    log_("group %u: listening on %s (kept across restarts)", gid, listen_text(*rec).c_str());
  }
  return exit_ok;
}

void listener_set::reopen(const group_slot& slot, std::uint32_t gid) {
  (void)slot;
  if (!fds_[gid].empty()) return;
  std::vector<int> fds;
  std::uint32_t k = 0;
  for (const listen_record& r : recorded(gid)) {
    if (const int fd = take_stored(gid, k, r); fd >= 0) {
      fds.push_back(fd);
      ++k;
      continue;
    }
    if (!may_bind(r)) {
      log_(
          "group %u: refused to listen again on %s, as the bank asks: a privileged port for "
          "the bank of %s comes only from this supervisor's own --listen",
          gid, listen_text(r).c_str(), as_->name.c_str());
      for (int f : fds) ::close(f);
      return;
    }
    const int fd = listen_on(r, nullptr);
    if (fd < 0) {
      log_("group %u: cannot listen again on %s: %s", gid, listen_text(r).c_str(),
           std::strerror(errno));
      for (int f : fds) ::close(f);
      return;
    }
    store(gid, k, fd);
    fds.push_back(fd);
    ++k;
  }
  fds_[gid] = fds;
}

// Adoption: the group's listening sockets are those its running members hold (fds 3.. as
// they were given); a copy is taken from the first member that still has them all
// (pidfd_getfd: same user or root), so no connection goes to a second socket.
bool listener_set::take(const group_slot& slot, std::uint32_t gid,
                        const std::vector<std::pair<int, int>>& members) {
  (void)slot;
  const std::vector<listen_record> want = recorded(gid);
  if (want.empty() || !fds_[gid].empty()) return false;
  // The fd store first (hrctl restarted by the service manager): no member needed.
  {
    std::vector<int> fds;
    for (std::uint32_t k = 0; k < want.size(); ++k) {
      const int fd = take_stored(gid, k, want[k]);
      if (fd < 0) break;
      fds.push_back(fd);
    }
    if (fds.size() == want.size()) {
      fds_[gid] = fds;
      log_(
          "group %u: took back its listening socket(s) from the service manager's fd store "
          "(%s...)",
          gid, listen_text(want[0]).c_str());
      return true;
    }
    for (int fd : fds) ::close(fd);
  }
  for (const auto& [pid, pidfd] : members) {
    if (pidfd < 0) continue;
    std::vector<int> fds;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const int fd = pidfd_getfd(pidfd, static_cast<int>(3 + i));
      if (fd < 0) break;
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      if (!is_listener_on(fd, want[i])) {
        ::close(fd);
        break;
      }
      fds.push_back(fd);
    }
    if (fds.size() == want.size()) {
      fds_[gid] = fds;
      log_("group %u: took over the listening socket(s) of pid %d (%s...)", gid, pid,
           listen_text(want[0]).c_str());
      return true;
    }
    for (int fd : fds) ::close(fd);
  }
  return false;
}
void listener_set::close(std::uint32_t gid) {
  passed_.erase(gid);
  auto it = fds_.find(gid);
  if (it == fds_.end()) return;
  // The group ended: its sockets leave the fd store too.
  if (service().under_service())
    for (std::uint32_t k = 0; k < it->second.size(); ++k)
      (void)sd_notify_state("FDSTOREREMOVE=1\nFDNAME=" + store_name(gid, k));
  for (int fd : it->second) ::close(fd);
  fds_.erase(it);
}

std::string listener_set::store_name(std::uint32_t gid, std::uint32_t k) {
  return "hrctl-g" + std::to_string(gid) + "-" + std::to_string(k);
}

void listener_set::store(std::uint32_t gid, std::uint32_t k, int fd) const {
  if (!service().under_service()) return;
  const int one[1] = {fd};
  if (!sd_notify_fds("FDSTORE=1\nFDNAME=" + store_name(gid, k), one))
    log_("group %u: cannot put its listening socket in the service manager's fd store: %s", gid,
         std::strerror(errno));
}

int listener_set::take_stored(std::uint32_t gid, std::uint32_t k, const listen_record& r) {
  const std::string name = store_name(gid, k);
  for (const passed_fd& p : service().fds) {
    if (p.name != name || std::find(claimed_.begin(), claimed_.end(), p.fd) != claimed_.end())
      continue;
    if (!is_listener_on(p.fd, r)) continue;  // another socket under this name: left as stale
    claimed_.push_back(p.fd);
    return p.fd;
  }
  return -1;
}

void listener_set::drop_unclaimed_stored() {
  for (const passed_fd& p : service().fds) {
    if (!p.name.starts_with("hrctl-g") ||
        std::find(claimed_.begin(), claimed_.end(), p.fd) != claimed_.end())
      continue;
    log_(
        "the fd store's socket %s belongs to no group the bank records: closed and removed from "
        "the store",
        p.name.c_str());
    (void)sd_notify_state("FDSTOREREMOVE=1\nFDNAME=" + p.name);
    ::close(p.fd);
    claimed_.push_back(p.fd);
  }
}

std::string listener_set::set_passed(std::uint32_t gid, const std::vector<std::string>& names) {
  std::vector<std::pair<int, std::string>> got;
  for (const std::string& n : names) {
    bool found = false;
    for (const passed_fd& p : service().fds)
      if (p.name == n) {
        got.emplace_back(p.fd, n);
        found = true;
      }
    if (!found) {
      std::string have;
      for (const passed_fd& p : service().fds)
        if (!p.name.starts_with("hrctl-g")) have += (have.empty() ? "" : ", ") + p.name;
      return "no socket named " + n + " was passed by the service manager (passed: " +
             (have.empty() ? std::string("none") : have) +
             "; FileDescriptorName= in the .socket unit names them)";
    }
  }
  if (got.size() + max_listen > max_member_sockets)
    return "more than " + std::to_string(max_member_sockets - max_listen) +
           " sockets passed under the names given";
  if (got.empty())
    passed_.erase(gid);
  else
    passed_[gid] = std::move(got);
  return {};
}

std::vector<int> listener_set::member_fds(std::uint32_t gid) const {
  const std::span<const int> own = fds(gid);
  std::vector<int> v(own.begin(), own.end());
  if (auto it = passed_.find(gid); it != passed_.end())
    for (const auto& [fd, name] : it->second) v.push_back(fd);
  return v;
}

std::vector<std::string> listener_set::member_fd_names(std::uint32_t gid) const {
  std::vector<std::string> v(fds(gid).size(), "listen");
  if (auto it = passed_.find(gid); it != passed_.end())
    for (const auto& [fd, name] : it->second) v.push_back(name);
  return v;
}

std::span<const int> listener_set::fds(std::uint32_t gid) const {
  auto it = fds_.find(gid);
  if (it == fds_.end()) return {};
  return it->second;
}

}  // namespace hrctl
