// SPDX-License-Identifier: MIT
// hrctl's exit codes: the one table of their numbers, names and meanings. The "Exit codes"
// text of every --help and the EXIT STATUS section of the man page are made from it. A
// supervisor's answer to a request carries one of them as its status (mailbox.hpp).
#ifndef HRCTL_EXIT_CODES_HPP
#define HRCTL_EXIT_CODES_HPP

#include <hotrestart/posix/mailbox.hpp>

namespace hrctl {

enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,         ///< internal or I/O error
  exit_usage = 2,           ///< bad command line or config file
  exit_program = 3,         ///< PROGRAM missing, not a regular file, not executable
  exit_unknown = 4,         ///< unknown group or process, or no bank at that path
  exit_bank = 5,            ///< not a bank, another version/layout, corrupt, other tunables
  exit_bank_path = 6,       ///< bank path is a symlink, not a regular file, or not writable
  exit_too_small = 7,       ///< bank too small / limits too low for what is asked
  exit_gave_up = 8,         ///< the group kept crashing: escalations exhausted, hrctl gave up on it
  exit_busy = 9,            ///< another supervisor serves this bank
  exit_no_supervisor = 10,  ///< the command needs a running supervisor and there is none
  exit_check = 11,          ///< hrctl check found problems
  exit_killed = 12,         ///< hrctl run: the group was killed (hrctl kill -g)
  exit_refused = 13,        ///< the controller refused (limits, duplicate name, not permitted)
  exit_timeout = 14,        ///< the supervisor did not answer in time
  exit_bank_lost = 15,      ///< the bank file was cut short under the supervisor: members killed
  exit_lease = 16,          ///< another node holds the bank's lease (live), or took it over
};

/// One row of the table: the number, a short name (the `kind` of a JSON error object) and what
/// it means.
struct exit_code_info {
  int code;
  const char* name;
  const char* meaning;
};

inline constexpr exit_code_info exit_code_table[] = {
    {exit_ok, "ok", "success (run: the group terminated cleanly)"},
    {exit_failure, "failure", "internal or I/O error"},
    {exit_usage, "usage", "bad command line or config file"},
    {exit_program, "program", "PROGRAM missing or not executable"},
    {exit_unknown, "unknown", "unknown group or process, or no bank at that path"},
    {exit_bank, "bank", "bank refused (not a bank, other version, corrupt, other tunables)"},
    {exit_bank_path, "bank_path", "bank path is a symlink or not writable"},
    {exit_too_small, "too_small", "bank too small or limits reached"},
    {exit_gave_up, "gave_up",
     "run: hrctl gave up on the group (it kept crashing after site restarts)"},
    {exit_busy, "busy", "another supervisor serves the bank"},
    {exit_no_supervisor, "no_supervisor", "no supervisor running"},
    {exit_check, "check", "check found problems"},
    {exit_killed, "killed", "run: the group was killed (hrctl kill -g)"},
    {exit_refused, "refused", "refused by the controller"},
    {exit_timeout, "timeout", "no answer from the supervisor in time"},
    {exit_bank_lost, "bank_lost",
     "the bank file was cut short under the supervisor: every member was killed"},
    {exit_lease, "lease",
     "another node's supervisor holds the bank's lease (live), or took it over while serving"},
    {128, "signal", "stopped by signal N (SIGINT 130, SIGTERM 143; run: its group is held)"},
};

// The statuses the runtime's requesters tell apart are these exit codes.
static_assert(hotrestart::posix::request_ok == exit_ok);
static_assert(hotrestart::posix::request_failed == exit_failure);
static_assert(hotrestart::posix::request_bad_program == exit_program);
static_assert(hotrestart::posix::request_unknown == exit_unknown);
static_assert(hotrestart::posix::request_refused == exit_refused);

}  // namespace hrctl

#endif  // HRCTL_EXIT_CODES_HPP
