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

namespace hrctl {

using namespace hotrestart;
using namespace hotrestart::posix;
using store_t = bank_block_store<mmap_bank>;
using controller_t = basic_controller<chorus_counter, store_t>;

inline constexpr const char* default_bank = "/dev/shm/hotrestart.bank";

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
  std::string policy = "chorus";
  std::vector<std::string> given;  ///< tunables the user set explicitly (for mismatch notes)
};

/// One `hrctl run` (or a delegated one).
struct run_options {
  std::string group;  ///< GID or name; empty: 0
  std::string name;   ///< process name; empty: basename of PROGRAM
  std::vector<std::string> argv;  ///< PROGRAM ARGS...
  std::vector<std::string> listen;  ///< ADDR:PORT
  bool exit0_clean = false;
  std::uint64_t heartbeat_ms = 0;
  bool prefix = false;
  bool quiet = false;
  std::uint64_t stop_timeout_ms = 5000;
};

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
