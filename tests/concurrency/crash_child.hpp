// SPDX-License-Identifier: MIT
// Runs tests/concurrency/crash_child.cpp (HR_CRASH_CHILD is its path) and returns its wait
// status: a process that dies by SIGKILL inside a bank operation.
#ifndef HOTRESTART_TESTS_CRASH_CHILD_HPP
#define HOTRESTART_TESTS_CRASH_CHILD_HPP

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace hrtest {

/// Runs `hr_crash_child args...` to its end; returns the wait status (-1 if it did not start).
template <class... Args>
int run_crash_child(const char* bank, const char* when, Args... args) {
  const char* argv[] = {HR_CRASH_CHILD, bank, when, args..., nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, HR_CRASH_CHILD, nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

/// The status of a process killed by SIGKILL.
inline bool killed(int status) {
  return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace hrtest

#endif  // HOTRESTART_TESTS_CRASH_CHILD_HPP
