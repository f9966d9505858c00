// SPDX-License-Identifier: MIT
// The node lease: see lease.hpp and docs/hrctl.md, "One node at a time".
#include "lease.hpp"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <hotrestart/backends/posix_lock.hpp>

namespace hrctl {

std::string this_node(const service_options& o) {
  if (!o.node.empty()) return o.node;
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return std::string(u.nodename, ::strnlen(u.nodename, sizeof u.nodename));
}

std::string this_boot_id() {
  const char* b = hotrestart::detail::this_boot();
  return std::string(b, ::strnlen(b, hotrestart::detail::boot_id_bytes));
}

std::uint64_t realtime_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

namespace {
std::string node_of(const lease_record& l) {
  return std::string(l.node, std::min<std::size_t>(l.node_len, sizeof l.node));
}
std::string boot_of(const lease_record& l) {
  return std::string(l.boot_id, ::strnlen(l.boot_id, sizeof l.boot_id));
}
std::string seconds(std::int64_t ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f s", static_cast<double>(ms) / 1000.0);
  return b;
}
}  // namespace

bool lease_live(const lease_record& l, std::uint64_t now_ms) {
  if (load(l.state) != lease_held) return false;
  return now_ms < load(l.renewed_ms) + load(l.lease_ms);
}

std::string describe_lease(const lease_record& l, std::uint64_t now_ms) {
  const std::uint64_t renewed = load(l.renewed_ms);
  const auto ago = static_cast<std::int64_t>(now_ms) - static_cast<std::int64_t>(renewed);
  return "node " + node_of(l) + " (boot id " + boot_of(l) + ", supervisor pid " +
         std::to_string(load(l.pid)) + "), renewed " +
         (ago >= 0 ? seconds(ago) + " ago" : seconds(-ago) + " in the future (clocks differ?)") +
         ", lease " + seconds(static_cast<std::int64_t>(load(l.lease_ms)));
}

int take_lease(lease_record& l, const std::string& node, std::uint64_t lease_ms,
               const std::string& bank, const logger& log, std::uint64_t& seq) {
  const std::uint64_t t = realtime_ms();
  const bool held = load(l.state) == lease_held;
  const bool ours = node_of(l) == node;
  if (held && !ours && lease_live(l, t)) {
    const std::uint64_t until = load(l.renewed_ms) + load(l.lease_ms);
    std::fprintf(stderr,
                 "hrctl: bank %s is leased by another node: %s. Its supervisor may be serving "
                 "the bank: refusing it (exit %d). The lease expires in %s unless renewed; if "
                 "that node is down (fenced), try again after that\n",
                 bank.c_str(), describe_lease(l, t).c_str(), exit_lease,
                 seconds(static_cast<std::int64_t>(until - t)).c_str());
    return exit_lease;
  }
  if (held && !ours)
    log.warn("bank %s: taking the lease over from %s: expired", bank.c_str(),
             describe_lease(l, t).c_str());
  else if (held && boot_of(l) != this_boot_id())
    log("bank %s: taking over this node's lease from its previous boot (boot id %s)", bank.c_str(),
        boot_of(l).c_str());
  // The holder's fields first, then the state and the new sequence number.
  seq = load(l.seq) + 1;
  std::memset(l.node, 0, sizeof l.node);
  const std::size_t n = std::min(node.size(), sizeof l.node);
  std::memcpy(l.node, node.data(), n);
  l.node_len = static_cast<std::uint32_t>(n);
  std::memset(l.boot_id, 0, sizeof l.boot_id);
  const std::string boot = this_boot_id();
  std::memcpy(l.boot_id, boot.data(), std::min(boot.size(), sizeof l.boot_id - 1));
  store(l.pid, static_cast<std::int32_t>(::getpid()));
  store(l.lease_ms, static_cast<std::uint32_t>(lease_ms));
  store(l.acquired_ms, t);
  store(l.renewed_ms, t);
  store(l.seq, seq);
  store(l.state, static_cast<std::uint32_t>(lease_held));
  return exit_ok;
}

bool renew_lease(lease_record& l, std::uint64_t seq, std::uint64_t now_ms) {
  if (load(l.seq) != seq || load(l.state) != lease_held) return false;
  store(l.renewed_ms, now_ms);
  return true;
}

void release_lease(lease_record& l, std::uint64_t seq) {
  if (load(l.seq) != seq || load(l.state) != lease_held) return;
  store(l.state, static_cast<std::uint32_t>(lease_free));
}

}  // namespace hrctl
