// SPDX-License-Identifier: MIT
// examples/hello does what it says, as real processes on a real bank file: the first run
// prints "Hello world!", keeps the counter and dies by SIGSEGV; the bank then holds the block
// with the counter; the second run says it was restarted, frees the block and exits 0, and
// the bank is left consistent without the block.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>

#include "support.hpp"

namespace {

using run_result = hrtest::child_outcome;

// Runs hello_pmm on `bank`, its stdout into a pipe.
run_result run_hello(const std::string& bank) {
  return hrtest::finish(hrtest::spawn_piped({HR_HELLO_PMM, bank}));
}

}  // namespace

TEST_CASE("hello_pmm: hello and a real SIGSEGV, then restarted, the block freed, exit 0") {
  hrtest::scratch_dir dir;
  const std::string bank = dir.file("hello.bank");

  const run_result first = run_hello(bank);
  INFO("first run printed: ", first.out);
  CHECK(first.out == "Hello world!\n");
  REQUIRE_MESSAGE(WIFSIGNALED(first.status), "status ", first.status);
  CHECK(WTERMSIG(first.status) == SIGSEGV);
  {
    // The crash kept the block and the counter the first run incremented.
    auto b = hotrestart::mmap_bank::open(bank.c_str());
    HR_REQUIRE_OK(b);
    auto pm1 = b->find("PM1");
    HR_REQUIRE_OK(pm1);
    int count = 0;
    std::memcpy(&count, pm1->data, sizeof count);
    CHECK(count == 1);
    hrtest::require_consistent(*b);
  }

  const run_result second = run_hello(bank);
  INFO("second run printed: ", second.out);
  CHECK(second.out == "Hello again! I have been restarted.\nExample finished. Exit.\n");
  REQUIRE_MESSAGE(WIFEXITED(second.status), "status ", second.status);
  CHECK(WEXITSTATUS(second.status) == 0);
  auto b = hotrestart::mmap_bank::open(bank.c_str());
  HR_REQUIRE_OK(b);
  HR_CHECK_ERR(b->find("PM1"), hotrestart::errc::not_found);
  auto st = b->stats();
  HR_REQUIRE_OK(st);
  CHECK(st->blocks == 0);
  hrtest::require_consistent(*b);
}
