// SPDX-License-Identifier: MIT
// The node lease (runtime block version 4, the block "__HR_lease"): which node's supervisor
// uses a bank that several nodes can see (a SAN, DRBD, a shared file system). A supervisor takes
// it when it opens the bank, renews it while it serves and releases it when it ends with no
// member running; another node's hrctl refuses the bank while the lease is live. It guards
// against a second supervisor started by mistake; the cluster manager's fencing is what
// guarantees one node at a time (docs/hrctl.md, "One node at a time").
#ifndef HRCTL_LEASE_HPP
#define HRCTL_LEASE_HPP

#include <cstdint>
#include <string>

#include "common.hpp"
#include "log.hpp"

namespace hrctl {

inline constexpr std::uint64_t default_lease_ms = 10000;

/// This node's name: --node (config key `node`), else uname's nodename.
std::string this_node(const service_options& o);
/// This kernel's boot id (36 characters; HR_TEST_BOOT_ID overrides it, for tests only).
std::string this_boot_id();
/// CLOCK_REALTIME in ms: the lease's clock, compared across nodes.
std::uint64_t realtime_ms();

/// Who holds a lease, in a sentence: "node b (boot id ..., supervisor pid 42), renewed 1.2 s
/// ago, lease 10 s".
std::string describe_lease(const lease_record& l, std::uint64_t now_ms);
/// True while the lease is held and fresh: now < renewed + lease time.
bool lease_live(const lease_record& l, std::uint64_t now_ms);

/// Takes the lease for `node` (this boot, this pid), unless another node holds it live: then
/// says so (naming the holder and when it expires) and returns exit_lease. `seq` receives the
/// acquisition's number (renew_lease checks it).
int take_lease(lease_record& l, const std::string& node, std::uint64_t lease_ms,
               const std::string& bank, const logger& log, std::uint64_t& seq);
/// Renews it; false if it is no longer ours (another node took it over).
bool renew_lease(lease_record& l, std::uint64_t seq, std::uint64_t now_ms);
/// Releases it if it is still ours (state free; the record of the last holder stays).
void release_lease(lease_record& l, std::uint64_t seq);

}  // namespace hrctl

#endif  // HRCTL_LEASE_HPP
