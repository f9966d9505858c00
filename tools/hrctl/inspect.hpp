// SPDX-License-Identifier: MIT
// hrctl's read-only commands.
#ifndef HRCTL_INSPECT_HPP
#define HRCTL_INSPECT_HPP

#include <optional>
#include <string>

#include "common.hpp"

namespace hrctl {

/// True if a supervisor holds the bank's lock; `pid` gets the pid it recorded.
bool supervisor_alive(const std::string& path, int* pid);
int cmd_status(const std::string& path, bool json);
int cmd_blocks(const std::string& path, bool json);
int cmd_check(const std::string& path, bool json);

}  // namespace hrctl

#endif  // HRCTL_INSPECT_HPP
