// SPDX-License-Identifier: MIT
// Configuration files (--config FILE): the bank, its user and tunables before the first
// section, and [group NAME] sections naming groups and their programs, which hrctl serve
// starts and hrctl reload applies again. The format is in docs/hrctl.md, "Configuration files".
#ifndef HRCTL_CONFIG_HPP
#define HRCTL_CONFIG_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

namespace hrctl {

/// One `run` line: a direct member.
struct config_member {
  std::string name;               ///< `name` line before it, else PROGRAM's basename
  std::vector<std::string> argv;  ///< PROGRAM ARGS...
  int line = 0;
};

/// One [group NAME] section.
struct config_group {
  std::string group;  ///< as -g takes it: an id (digits) or a name
  int line = 0;
  std::vector<config_member> members;
  std::vector<std::string> listen;   ///< ADDR:PORT, as --listen
  std::vector<std::string> sockets;  ///< FDNAMEs of sockets passed by the service manager
  std::uint64_t heartbeat_ms = 0;    ///< 0: none
  bool exit0_clean = false;
  std::uint64_t stop_timeout_ms = 0;     ///< 0: the supervisor's
  bool standby = false;                  ///< every member keeps a warm standby
  std::uint32_t standby_timeout_ms = 0;  ///< 0: the default
};

/// The groups of a configuration file (its bank and tunables go to bank_options).
struct config_file {
  std::string path;        ///< as given ("" when no --config)
  std::string bank, user;  ///< the file's own `bank` and `user` ("" if absent; flags may win)
  std::vector<config_group> groups;
};

/// Reads FILE: `bank`, `user` and tunables into `o`, the group sections into `out` (if not
/// null). Returns an empty string or the problem as "FILE:LINE: what".
std::string load_config(const std::string& file, bank_options& o, config_file* out);

/// Splits a `run` value into words (blanks; "..." quoting with \" and \\). Returns an empty
/// string or the problem.
std::string split_words(const std::string& value, std::vector<std::string>& words);

}  // namespace hrctl

#endif  // HRCTL_CONFIG_HPP
