// SPDX-License-Identifier: MIT
// hrctl's client side: the commands that ask the supervisor serving a bank (through the
// request mailbox, mailbox.hpp) and a delegated hrctl run.
#ifndef HRCTL_CLIENT_HPP
#define HRCTL_CLIENT_HPP

#include "options.hpp"

namespace hrctl {

/// hrctl run when another supervisor serves the bank: hands the program to it and waits for
/// the group to end. `retry` is set when that supervisor went away before answering (the
/// caller then tries to serve the bank itself).
int run_delegated(const parsed_args& a, bool& retry);

/// Posts `in` to the bank's supervisor and prints its answer. Returns hrctl's exit code.
int need_request(const parsed_args& a, request_in& in, const char* cmd);

int cmd_kill(const parsed_args& a);
int cmd_restart(const parsed_args& a);
int cmd_upgrade(const parsed_args& a);
int cmd_stop(const parsed_args& a);
int cmd_reload(const parsed_args& a);

}  // namespace hrctl

#endif  // HRCTL_CLIENT_HPP
