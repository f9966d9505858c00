// SPDX-License-Identifier: MIT
// The robust mutex users put in their own blocks: contention between threads, and a process
// that dies holding it (owner death reported, repair, consistent, carry on).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/backends/robust_mutex.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {
struct account {
  robust_mutex m;
  long balance;
  long pending;  // set while an update is half done
};
}  // namespace

TEST_CASE("a robust mutex in a block serialises threads") {
  hrtest::scratch_dir dir;
  auto b = mmap_bank::create(dir.file("rm.bank").c_str());
  REQUIRE(b);
  auto blk = b->find_or_create("account", sizeof(account));
  REQUIRE(blk);
  auto* a = reinterpret_cast<account*>(blk->data);
  HR_CHECK_ERR(a->m.lock(), errc::lock_failed);  // zero bytes: not initialised
  REQUIRE(a->m.init());
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([a] {
      for (int i = 0; i < 2000; ++i) {
        auto g = a->m.lock();
        if (g) ++a->balance;
      }
    });
  for (auto& t : pool) t.join();
  auto g = a->m.lock();
  REQUIRE(g);
  CHECK(a->balance == 8000);
  CHECK_FALSE(g->owner_died());
}

TEST_CASE("a process that dies holding a block's robust mutex does not wedge the others") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("rm2.bank");
  auto b = mmap_bank::create(path.c_str());
  REQUIRE(b);
  auto blk = b->find_or_create("account", sizeof(account));
  REQUIRE(blk);
  auto* a = reinterpret_cast<account*>(blk->data);
  REQUIRE(a->m.init());
  a->balance = 100;
  auto die_holding = [&] {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto c = mmap_bank::open(path.c_str());
      if (!c) ::_exit(2);
      auto* ca = reinterpret_cast<account*>(c->find("account")->data);
      auto g = ca->m.lock();
      if (!g) ::_exit(3);
      ca->pending = 1;  // dies mid-update
      ::_exit(0);       // the lock is still held: the kernel marks the owner dead
    }
    int st = 0;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
  };
  SUBCASE("the next locker is told, repairs, marks consistent and carries on") {
    die_holding();
    auto g = a->m.lock();
    REQUIRE(g);
    CHECK(g->owner_died());
    CHECK(a->pending == 1);
    a->pending = 0;  // repair
    g->mark_consistent();
    g->unlock();
    auto again = a->m.lock();
    REQUIRE(again);
    CHECK_FALSE(again->owner_died());
  }
  SUBCASE("if nobody repairs, the mutex stays fenced off") {
    die_holding();
    {
      auto g = a->m.lock();
      REQUIRE(g);
      CHECK(g->owner_died());
    }  // unlocked without mark_consistent()
    auto r = a->m.lock();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::lock_failed);
    CHECK(r.error().sys_errno == ENOTRECOVERABLE);
    REQUIRE(a->m.init());  // the owner of the data decides to start over
    CHECK(a->m.lock());
  }
}
