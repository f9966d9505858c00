// SPDX-License-Identifier: MIT
// The shared memory backend (Boost.Interprocess): the bank conformance suite, then what is
// its own: the object's name and mode, another process's view, a process that dies holding
// the lock, a half-made object, removal.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <chrono>
#include <cstring>
#include <string>

#include <hotrestart/backends/shm.hpp>

#include "support.hpp"

namespace {

// A fresh shm name per fixture, removed at the end.
struct shm_name {
  std::string name;
  shm_name() {
    static std::atomic<int> counter{0};
    name = "/hrtest-shm-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  }
  ~shm_name() { boost::interprocess::shared_memory_object::remove(name.c_str()); }
  shm_name(const shm_name&) = delete;
  shm_name& operator=(const shm_name&) = delete;
};

struct shm_fixture {
  using bank = hotrestart::shm_bank;
  static constexpr bool has_files = true;
  shm_name n;
  const char* where() const { return n.name.c_str(); }
};

}  // namespace

#define HR_CONFORMANCE_FIXTURES shm_fixture
#include "conformance.hpp"

namespace {
using namespace hotrestart;
constexpr tunables small{.bank_size = 64 * 1024, .max_blocks = 16};
}  // namespace

TEST_CASE("shm: created 0600 under its name; a second create is refused; remove") {
  shm_name n;
  auto b = shm_bank::create(n.name.c_str(), small);
  HR_REQUIRE_OK(b);
  struct stat st {};
  REQUIRE(::stat(("/dev/shm" + n.name).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(static_cast<std::uint64_t>(st.st_size) == b->layout().file_bytes);
  HR_CHECK_ERR(shm_bank::create(n.name.c_str(), small), errc::already_exists);
  HR_REQUIRE_OK(shm_backend::remove(n.name.c_str()));
  HR_CHECK_ERR(shm_bank::open(n.name.c_str()), errc::not_found);
  HR_CHECK_ERR(shm_backend::remove(n.name.c_str()), errc::not_found);
  // The mapping outlives the name.
  HR_REQUIRE_OK(b->find_or_create("still", 10));
}

TEST_CASE("shm: an object that another user may write is refused (docs/security.md)") {
  shm_name n;
  {
    auto b = shm_bank::create(n.name.c_str(), small);
    HR_REQUIRE_OK(b);
    HR_REQUIRE_OK(b->find_or_create("kept", 10));
  }
  const std::string file = "/dev/shm" + n.name;
  REQUIRE(::chmod(file.c_str(), 0666) == 0);
  auto r = shm_bank::open(n.name.c_str());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::untrusted_file);
  REQUIRE(r.error().detail_count == 1);
  CHECK(r.error().kinds[0] == detail_kind::expected_found);
  CHECK(r.error().details[0].b == 666);
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  auto again = shm_bank::open(n.name.c_str());
  HR_REQUIRE_OK(again);
  HR_REQUIRE_OK(again->find("kept"));
}

TEST_CASE("shm: another process sees the blocks and bytes") {
  shm_name n;
  auto b = shm_bank::create(n.name.c_str(), small);
  HR_REQUIRE_OK(b);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto c = shm_bank::open(n.name.c_str());
    if (!c) ::_exit(1);
    auto blk = c->find_or_create("from-child", 16);
    if (!blk || !blk->created) ::_exit(2);
    std::memcpy(blk->data, "written by child", 16);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto blk = b->find("from-child");
  HR_REQUIRE_OK(blk);
  CHECK(std::memcmp(blk->data, "written by child", 16) == 0);
  hrtest::require_consistent(*b);
}

TEST_CASE("shm: a process that dies holding the lock does not wedge the others") {
  shm_name n;
  auto b = shm_bank::create(n.name.c_str(), small);
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(b->find_or_create("before", 10));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto c = shm_bank::open(n.name.c_str());
    if (!c || !c->backend().lock()) ::_exit(1);
    ::_exit(0);  // dies holding the bank's lock
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WEXITSTATUS(status) == 0);
  auto r = b->backend().lock();
  HR_REQUIRE_OK(r);
  CHECK(*r == lock_outcome::owner_died);
  b->backend().repaired();
  b->backend().unlock();
  HR_REQUIRE_OK(b->find_or_create("after", 10));  // the lock works again
  hrtest::require_consistent(*b);
}

TEST_CASE("shm: a half-made object is waited for, then refused as creation_interrupted") {
  shm_name n;
  {
    // A creator that died before its last store (the state word "ready").
    auto b = shm_bank::create(n.name.c_str(), small);
    HR_REQUIRE_OK(b);
    detail::store32(b->backend().data(), bank_format::state,
                    static_cast<std::uint32_t>(bank_state::initialising));
  }
  const auto t0 = std::chrono::steady_clock::now();
  HR_CHECK_ERR(shm_bank::open(n.name.c_str()), errc::creation_interrupted);
  CHECK(std::chrono::steady_clock::now() - t0 >=
        std::chrono::milliseconds(shm_backend::open_wait_ms));
  // open_or_create does not format an object it did not make.
  HR_CHECK_ERR(shm_bank::open_or_create(n.name.c_str(), small), errc::creation_interrupted);
}
