// SPDX-License-Identifier: MIT
// hrctl snapshot / restore / remove: copy a bank at one instant, put a copy back in place of a
// bank, delete a bank file. See "Snapshots" in docs/hrctl.md.
#ifndef HRCTL_SNAPSHOT_HPP
#define HRCTL_SNAPSHOT_HPP

#include <cstdint>
#include <string>

#include "common.hpp"

namespace hrctl {

/// The options of snapshot, restore and remove beyond the bank's (--bank, --user, --config).
struct snapshot_options {
  bool json = false;   ///< --json: one JSON object on stdout instead of a sentence
  bool force = false;  ///< snapshot --force: replace a file already at DEST
  /// snapshot: longest wait for the frozen processes to stop, in ms (--freeze-timeout)
  std::uint32_t freeze_timeout_ms = 5000;
};

/// hrctl snapshot --bank B DEST: writes a copy of bank B to DEST, taken while B's writer lock
/// is held and its supervisor and members are stopped (SIGSTOP, SIGCONT after). Returns an
/// exit code (docs/hrctl.md).
int cmd_snapshot(const bank_options& bo, const std::string& dest, const snapshot_options& so);

/// hrctl restore --bank B SRC: replaces bank B with a copy of the bank SRC (checked first), in
/// one rename. Refuses while a supervisor serves B or members of B still run (exit 9).
int cmd_restore(const bank_options& bo, const std::string& src, const snapshot_options& so);

/// hrctl remove --bank B: deletes the bank file B (never a symbolic link's target). Refuses
/// while a supervisor serves it or members of it still run (exit 9), and a file that is not a
/// bank unless it is empty (exit 5).
int cmd_remove(const bank_options& bo, const snapshot_options& so);

/// The --help text of "snapshot", "restore" or "remove".
const char* snapshot_usage(const std::string& cmd);

}  // namespace hrctl

#endif  // HRCTL_SNAPSHOT_HPP
