// SPDX-License-Identifier: MIT
// hrctl's use of the runtime validation (hotrestart/posix/validate.hpp): the problems `hrctl
// check` lists, and the refusal of `hrctl run`/`hrctl serve` to adopt a corrupt bank.
#ifndef HRCTL_VALIDATE_HPP
#define HRCTL_VALIDATE_HPP

#include <string>
#include <vector>

#include <hotrestart/posix/validate.hpp>

#include "common.hpp"

namespace hrctl {

/// The problems of the runtime block `rt` against the controller `ctl` (nullptr: not
/// readable) and the image blocks of `bank`, one sentence each. Any bank type with find().
template <class Controller, class Bank>
std::vector<std::string> runtime_problems(const runtime_view& rt, const Controller* ctl,
                                          Bank& bank) {
  std::vector<std::string> out;
  (void)validate_runtime(rt, ctl, bank, [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

/// For the supervisor's open path (hrctl run, hrctl serve): true if the runtime and
/// controller blocks of the bank have problems and `force` is false; the problems are listed on
/// stderr, with "--force to adopt it anyway" (the caller exits with exit_bank). With `force`,
/// the problems are listed as a warning and false is returned.
bool bank_refused_as_corrupt(mmap_bank& bank, const runtime_view& rt, const controller_t& ctl,
                             const std::string& path, bool force);

}  // namespace hrctl

#endif  // HRCTL_VALIDATE_HPP
