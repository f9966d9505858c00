// SPDX-License-Identifier: MIT
// Durable mode on a real file on a disk: the flags word is recorded and adopted, every call
// works through the ordered msyncs, another process sees the result, and a bank reopened
// asking for the other mode is refused with the difference named.
#include <doctest/doctest.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {
// A scratch directory on a disk (not tmpfs): under the build tree.
struct disk_dir {
  std::string path;
  disk_dir() {
    std::string tmpl = std::filesystem::current_path().string() + "/hr-durable-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~disk_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
constexpr long tmpfs_magic = 0x01021994;
}  // namespace

TEST_CASE("a durable bank on a disk: create, free, replace, free_all, reopen in another process") {
  disk_dir dir;
  struct statfs fs {};
  REQUIRE(::statfs(dir.path.c_str(), &fs) == 0);
  if (fs.f_type == tmpfs_magic) MESSAGE("the build tree is on tmpfs: msync is cheap here");
  const std::string path = dir.path + "/durable.bank";
  const tunables t{.bank_size = 64 * 4096, .max_blocks = 16, .durable = true};
  {
    auto b = mmap_bank::create(path.c_str(), t);
    REQUIRE_MESSAGE(b, hrtest::text(b.error()));
    CHECK(b->layout().durable);
    auto x = b->find_or_create("state", 5000, "K");
    REQUIRE(x);
    std::memset(x->data, 7, x->size);
    REQUIRE(b->backend().flush_range(0, b->backend().size()));
    REQUIRE(b->find_or_create("next", 100, "K"));
    REQUIRE(b->find_or_create("other", 100));
    REQUIRE(b->replace("other", "next"));
    hrtest::require_consistent(*b);
  }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto b = mmap_bank::open(path.c_str());
    if (!b || !b->layout().durable) ::_exit(1);
    auto x = b->find("state");
    if (!x || x->size != 5000 || x->data[4999] != std::byte{7}) ::_exit(2);
    auto n = b->free_all("K");
    ::_exit(n && *n == 2 ? 0 : 3);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  HR_CHECK_ERR(b->find("state"), errc::not_found);
  HR_CHECK_ERR(b->find("other"), errc::not_found);
  hrtest::require_consistent(*b);
  // open_or_create adopts what it is not told (durable mode included: a caller that does not
  // say gets the bank as it is) and refuses what it is told otherwise.
  {
    auto same = mmap_bank::open_or_create(path.c_str(), {.bank_size = 64 * 4096, .max_blocks = 16});
    HR_REQUIRE_OK(same);
    CHECK(same->layout().durable);
  }
  auto plain = mmap_bank::open_or_create(path.c_str(), {.bank_size = 64 * 4096, .durable = false});
  HR_CHECK_ERR(plain, errc::tunables_mismatch);
  CHECK(std::string(hrtest::text(plain.error())).find("durable: 0 given, the bank has 1") !=
        std::string::npos);
}
