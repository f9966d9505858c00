// SPDX-License-Identifier: MIT
// Finding a bank's members without the bank: for `hrctl kill -g` on a bank that hrctl refuses
// to open (cut short, corrupt, removed), whose members may still run unsupervised. A process
// is taken for a member of group G of bank B only if its environment names B and G (as the
// supervisor set it: HR_BANK, HR_GROUP) and it executes one of the bank's images (a memfd
// named "hr:NAME": its executable, or the script an interpreter runs); it is signalled only
// through a pidfd opened after those checks and confirmed by its start time, so a recycled
// pid is never signalled.
#ifndef HRCTL_RESCUE_HPP
#define HRCTL_RESCUE_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hrctl {

struct bank_process {
  int pid = 0;
  std::uint64_t start_time = 0;
  std::uint32_t gid = 0;
  std::string image;  ///< the image's name (the memfd's "hr:NAME")
};

/// Whether process `pid` executes one of a bank's images; `name` receives the image's name.
bool runs_bank_image(int pid, std::string* name = nullptr);

/// A pidfd of process `pid` if it is still the run started at `start_time`, runs as `uid`
/// (null: any user) and executes one of a bank's images; else -1. What the supervisor and
/// hrctl kill check before they adopt or signal a process a bank names.
int open_image_pidfd(int pid, std::uint64_t start_time, const uid_t* uid);

/// The processes of user `uid` that run from images of the bank at `bank_path`.
std::vector<bank_process> find_bank_processes(const std::string& bank_path, uid_t uid);

/// hrctl kill -g GID when the bank is refused (`why`): SIGKILL to the group's members found
/// among the bank user's processes. Returns an exit code.
int rescue_kill_group(const std::string& bank_path, uid_t uid, std::uint32_t gid,
                      const std::string& why);

}  // namespace hrctl

#endif  // HRCTL_RESCUE_HPP
