// SPDX-License-Identifier: MIT
// Shared helpers of the test suites: scratch directories, error checks, the invariant oracle.
#ifndef HOTRESTART_TESTS_SUPPORT_HPP
#define HOTRESTART_TESTS_SUPPORT_HPP

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

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
void require_consistent(const Bank& b) {
  std::string problems;
  auto n = b.check([&](const hotrestart::error& e) { problems += text(e) + "\n"; });
  REQUIRE_MESSAGE(n.has_value(), text(n.error()));
  CHECK_MESSAGE(*n == 0u, problems);
}

}  // namespace hrtest

#endif  // HOTRESTART_TESTS_SUPPORT_HPP
