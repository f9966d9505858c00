// SPDX-License-Identifier: MIT
// hrctl: shared options, bank opening with clear errors, and output helpers.
#ifndef HRCTL_COMMON_HPP
#define HRCTL_COMMON_HPP

#include <cstdint>
#include <string>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>
#include <hotrestart/posix/mailbox.hpp>
#include <hotrestart/posix/policy.hpp>

namespace hrctl {

using namespace hotrestart;
using namespace hotrestart::posix;
using store_t = bank_block_store<mmap_bank>;
using controller_t = basic_controller<runtime_policy, store_t>;

inline constexpr const char* default_bank = "/dev/shm/hotrestart.bank";

/// Blocks a bank needs beyond one image per process: the controller and runtime blocks, a
/// staged image per mailbox slot, and at least one block for the programs themselves.
inline constexpr std::uint32_t min_extra_blocks = 2 + request_slots + 1;

/// Tunables fixed when the bank is created (flags or config file).
struct bank_options {
  std::string path = default_bank;
  std::uint64_t bank_size = 64ull << 20;
  std::uint32_t max_blocks = 128;
  std::uint32_t max_groups = 32;
  std::uint32_t max_processes = 32;
  std::uint64_t interval_ms = 3000;
  std::uint32_t max_badness = 25;
  std::uint32_t max_site_restarts = 3;
  std::uint64_t give_up_window_ms = 300000;
  policy_kind policy = policy_kind::chorus;
  std::uint32_t intensity = 5;      ///< window
  std::uint64_t period_ms = 10000;  ///< window
  std::uint64_t backoff_base_ms = 100;
  std::uint64_t backoff_cap_ms = 30000;
  std::uint64_t healthy_ms = 60000;  ///< backoff and discard
  std::uint32_t discard_after = 0;   ///< 0: never
  std::vector<std::string> given;    ///< tunables the user set explicitly (for mismatch notes)
  bool was_given(const char* flag) const;
};

/// Writes the policy tunables of `o` into a new runtime header.
void record_policy(const bank_options& o, runtime_header& h);
/// The policy a bank was created with, from its runtime header.
runtime_policy policy_of(const runtime_header& h);
/// "chorus (interval 3000 ms, max badness 25)" and the like, for status and notes.
std::string describe_policy(const runtime_header& h);
/// A group's policy state: "restart counter 2/25", "restarts in the period 1/5", ...
std::string describe_counter(const runtime_header& h, policy_cspan state);

/// One `hrctl run` (or a delegated one).
struct run_options {
  std::string group;                ///< GID or name; empty: 0
  std::string name;                 ///< process name; empty: basename of PROGRAM
  std::vector<std::string> argv;    ///< PROGRAM ARGS...
  std::vector<std::string> listen;  ///< ADDR:PORT
  bool exit0_clean = false;
  std::uint64_t heartbeat_ms = 0;
  bool prefix = false;
  bool quiet = false;
  std::uint64_t stop_timeout_ms = 5000;
  bool stop_timeout_given = false;
  bool serve_all = false;  ///< keep serving the bank's other groups after this one ended
};

/// Parses IPV4ADDR:PORT (PORT 0: any free port). Returns an empty string or the problem.
std::string parse_listen(const std::string& spec, std::uint32_t& addr, std::uint16_t& port);

/// Maps a bank error to hrctl's exit code and prints it with the path.
int report_bank_error(const char* what, const std::string& path, const error& e);

/// The sizing rule (docs/hrctl.md): bytes the bank needs for these limits before any image.
std::uint64_t fixed_overhead(const bank_options& o, std::uint32_t page);

/// Parses "64M", "4096", "1G". false on garbage.
bool parse_size(const std::string& s, std::uint64_t& out);
bool parse_u32(const std::string& s, std::uint32_t& out);

/// Loads key = value lines into `o` (keys as the long flags). Returns an empty string or the
/// problem.
std::string load_config(const std::string& file, bank_options& o);

/// Applies a tunable flag (--bank-size ...) if `flag` is one; true if consumed. `err` set on a
/// bad value.
bool apply_tunable(const std::string& flag, const std::string& value, bank_options& o,
                   std::string& err);

/// Exclusive supervisor lock on the bank file (an OFD lock on byte 0, independent of the
/// backend's flock). Returns the fd holding it, -1 if another process holds it, -2 on error.
int take_supervisor_lock(const std::string& path);

std::string basename_of(const std::string& p);
const char* signal_name(int sig);

}  // namespace hrctl

#endif  // HRCTL_COMMON_HPP
