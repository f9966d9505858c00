// SPDX-License-Identifier: MIT
// Shared helpers of the test suites: scratch directories, error checks, the invariant oracle.
#ifndef HOTRESTART_TESTS_SUPPORT_HPP
#define HOTRESTART_TESTS_SUPPORT_HPP

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

extern char** environ;

#include <hotrestart/error.hpp>

namespace hrtest {

/// A scratch directory on tmpfs (falls back to /tmp), removed at the end of the test.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    const char* root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(root) + "/hrtest-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path = p;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline std::string text(const hotrestart::error& e) {
  return hotrestart::describe(e).text;
}

/// A child process whose stdout is the read end `out` of a pipe.
struct piped_child {
  pid_t pid = 0;
  int out = -1;
};

/// How a child ended, and what it printed.
struct child_outcome {
  int status = 0;
  std::string out;
  bool killed() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

/// This process's environment without the variables whose "NAME=" is in `drop`.
inline std::vector<std::string> environment_without(std::initializer_list<const char*> drop) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool keep = true;
    for (const char* d : drop) keep = keep && std::strncmp(*e, d, std::strlen(d)) != 0;
    if (keep) env.emplace_back(*e);
  }
  return env;
}

/// Starts `args` (args[0] is the program's path) with its stdout into a pipe, in `env` (this
/// process's environment when null).
inline piped_child spawn_piped(std::vector<std::string> args,
                               std::vector<std::string>* env = nullptr) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (env != nullptr) {
    for (auto& e : *env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  piped_child c;
  const int rc = posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(),
                             env != nullptr ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) ::close(fds[0]);
  REQUIRE_MESSAGE(rc == 0, "posix_spawn ", args[0], ": ", std::strerror(rc));
  c.out = fds[0];
  return c;
}

/// Reads the child's output to its end, then reaps it.
inline child_outcome finish(piped_child c) {
  child_outcome r;
  char buf[512];
  for (ssize_t n; (n = ::read(c.out, buf, sizeof buf)) > 0;)
    r.out.append(buf, static_cast<std::size_t>(n));
  ::close(c.out);
  REQUIRE(::waitpid(c.pid, &r.status, 0) == c.pid);
  return r;
}

/// The result failed with code `c`.
#define HR_CHECK_ERR(expr, c)                                              \
  do {                                                                     \
    auto&& hr_r_ = (expr);                                                 \
    REQUIRE_FALSE(hr_r_.has_value());                                      \
    CHECK_MESSAGE(hr_r_.error().code == (c), hrtest::text(hr_r_.error())); \
  } while (0)

/// The result succeeded (prints the error if not).
#define HR_REQUIRE_OK(expr)                                          \
  do {                                                               \
    auto&& hr_r_ = (expr);                                           \
    REQUIRE_MESSAGE(hr_r_.has_value(), hrtest::text(hr_r_.error())); \
  } while (0)

/// Runs the bank's full check and requires it to find no problem.
template <class Bank>
void require_consistent(Bank& b) {
  std::string problems;
  auto n = b.check([&](const hotrestart::error& e) { problems += text(e) + "\n"; });
  REQUIRE_MESSAGE(n.has_value(), text(n.error()));
  CHECK_MESSAGE(*n == 0u, problems);
}

}  // namespace hrtest

#endif  // HOTRESTART_TESTS_SUPPORT_HPP
