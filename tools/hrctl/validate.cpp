// SPDX-License-Identifier: MIT
#include "validate.hpp"

#include <cstdio>

#include "systemd.hpp"

namespace hrctl {

bool bank_refused_as_corrupt(mmap_bank& bank, const runtime_view& rt, const controller_t& ctl,
                             const std::string& path, bool force) {
  const std::vector<std::string> problems = runtime_problems(rt, &ctl, bank);
  if (problems.empty()) return false;
  const std::size_t n = problems.size();
  // (The first line carries the priority when stderr is the journal.)
  if (force)
    std::fprintf(stderr, "%shrctl: warning: adopting bank %s with %zu problem%s (--force):\n",
                 priority_prefix(priority::warning).data(), path.c_str(), n, n == 1 ? "" : "s");
  else
    std::fprintf(stderr, "%shrctl: refusing to adopt bank %s: hrctl check finds %zu problem%s:\n",
                 priority_prefix(priority::err).data(), path.c_str(), n, n == 1 ? "" : "s");
  for (const std::string& p : problems) std::fprintf(stderr, "hrctl:   %s\n", p.c_str());
  if (!force)
    std::fprintf(stderr,
                 "hrctl: its members could be signalled or run from what these fields say; "
                 "--force to adopt it anyway\n");
  return !force;
}

}  // namespace hrctl
