// SPDX-License-Identifier: MIT
// The Hot Restart Controller with its state in a real bank (mmap file): group termination
// frees the group's blocks and images in the bank, the state survives reopening, and a
// supervisor process killed by SIGKILL at random instants loses nothing.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

using store_t = bank_block_store<mmap_bank>;
using controller_t = basic_controller<chorus_counter, store_t>;
constexpr controller_config limits{8, 32};
constexpr tunables bank_tunables{.bank_size = 4u << 20, .max_blocks = 256};

struct collected {
  std::vector<action> all;
  void operator()(const action& a) { all.push_back(a); }
  bool has(action_kind k, std::uint32_t gid) const {
    for (const action& a : all)
      if (a.kind == k && a.gid == gid) return true;
    return false;
  }
};

// Creates an image block and the group's data blocks, as a runtime would when it starts a
// member, and registers the member.
result<std::uint32_t> start_member(mmap_bank& bank, controller_t& c, std::uint64_t now,
                                   std::uint32_t gid, const std::string& name, std::uint32_t image,
                                   std::uint64_t handle) {
  if (auto img = bank.find_or_create(hotrestart::detail::internal_access, image_block_name(image),
                                     4096, group_key(gid));
      !img)
    return fail(img.error());
  if (auto data =
          bank.find_or_create("data-" + std::to_string(gid) + "-" + name, 100, group_key(gid));
      !data)
    return fail(data.error());
  return c.process_started(now, {gid, name, process_kind::direct, handle, image});
}

std::uint32_t blocks_with_key(mmap_bank& bank, std::string_view key) {
  std::uint32_t n = 0;
  auto r = bank.for_each([&](const block_info& i) { n += i.key == key ? 1u : 0u; });
  REQUIRE(r);
  return n;
}

}  // namespace

TEST_CASE("a group that terminates cleanly frees its blocks and images in the bank") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("ctl.bank");
  {
    auto bank = mmap_bank::create(path.c_str(), bank_tunables);
    REQUIRE(bank);
    store_t store(*bank);
    bool created = false;
    auto c = open_or_create_controller<controller_t>(*bank, limits, chorus_counter{}, store, 0,
                                                     &created);
    REQUIRE_MESSAGE(c, hrtest::text(c.error()));
    CHECK(created);
    auto gid = c->new_group(0);
    REQUIRE(gid);
    auto a = start_member(*bank, *c, 1, *gid, "A", 10, 1001);
    auto b = start_member(*bank, *c, 1, *gid, "B", 11, 1002);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(bank->find_or_create("user-kept", 10, "USER"));
    CHECK(blocks_with_key(*bank, group_key(*gid)) == 4);
    // A crash of B restarts the group: both direct members are run again.
    collected acts;
    REQUIRE(c->process_failed(5, *b, 1002, acts));
    CHECK(acts.has(action_kind::group_restarted, *gid));
    REQUIRE(c->process_started(6, {*gid, "A", process_kind::direct, 2001, 10}));
    REQUIRE(c->process_started(6, {*gid, "B", process_kind::direct, 2002, 11}));
    auto info = c->group_info(*gid);
    REQUIRE(info);
    CHECK(info->restarts == 1);
    CHECK(blocks_with_key(*bank, group_key(*gid)) == 4);  // a restart keeps the blocks
  }
  // The supervisor goes away; a new one reopens the bank and finds the group as it was.
  auto bank = mmap_bank::open(path.c_str());
  REQUIRE(bank);
  store_t store(*bank);
  auto c = open_or_create_controller<controller_t>(*bank, limits, chorus_counter{}, store, 7);
  REQUIRE(c);
  collected acts;
  REQUIRE(c->resume(7, acts));
  auto a = c->find_process(0, "A");
  auto b = c->find_process(0, "B");
  REQUIRE(a);
  REQUIRE(b);
  auto info = c->group_info(0);
  REQUIRE(info);
  CHECK(info->restarts == 1);
  REQUIRE(c->process_exited_cleanly(8, *a, 2001, acts));
  CHECK_FALSE(acts.has(action_kind::group_terminated, 0));
  REQUIRE(c->process_exited_cleanly(9, *b, 2002, acts));
  CHECK(acts.has(action_kind::group_terminated, 0));
  CHECK(blocks_with_key(*bank, group_key(0)) == 0);
  CHECK_FALSE(bank->find(image_block_name(10).view()));
  HR_REQUIRE_OK(bank->find("user-kept"));
  HR_CHECK_ERR(c->group_info(0), errc::unknown_group);
  hrtest::require_consistent(*bank);
  // Other limits than the kept state's are refused, naming them.
  auto other = open_or_create_controller<controller_t>(*bank, {16, 32}, chorus_counter{}, store, 9);
  HR_CHECK_ERR(other, errc::tunables_mismatch);
}

TEST_CASE("a supervisor SIGKILLed at random instants loses no group, block or count") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("torture.bank");
  {
    auto bank = mmap_bank::create(path.c_str(), bank_tunables);
    REQUIRE(bank);
    // The workload's progress counter: how many full cycles the supervisors completed.
    REQUIRE(bank->find_or_create("progress", 8));
  }
  std::mt19937 rng(7);
  int kills = 0;
  // The parent watches the progress counter through its own mapping.
  auto watch = mmap_bank::open(path.c_str());
  REQUIRE(watch);
  auto watched = watch->find("progress");
  REQUIRE(watched);
  const auto cycles_done = [&] {
    return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(watched->data)).load();
  };
  for (int round = 0; round < 60; ++round) {
    const std::uint64_t cycles_before = cycles_done();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The supervisor: reopen, resume, then cycle groups forever (start 3 members, crash
      // one, restart, exit all cleanly so the group terminates), counting cycles.
      auto bank = mmap_bank::open(path.c_str());
      if (!bank) ::_exit(10);
      store_t store(*bank);
      std::uint64_t now = 0;
      auto c = open_or_create_controller<controller_t>(*bank, limits, chorus_counter{}, store, now);
      if (!c) ::_exit(11);
      if (!c->resume(now, ignore_actions{})) ::_exit(12);
      auto progress = bank->find("progress");
      if (!progress) ::_exit(13);
      auto* cycles = reinterpret_cast<std::uint64_t*>(progress->data);
      for (std::uint64_t handle = 1;; handle += 10) {
        ++now;
        // Finish what an earlier supervisor left: members still running exit cleanly.
        for (std::uint32_t g = 0; g < limits.max_groups; ++g) {
          if (!c->group_info(g)) continue;
          std::vector<std::pair<std::uint32_t, std::uint64_t>> run;
          (void)c->for_each_member(g, [&](const process_view& p) {
            if (p.state == process_state::running) run.emplace_back(p.id, p.handle);
          });
          for (auto [id, h] : run) (void)c->process_exited_cleanly(now, id, h, ignore_actions{});
          if (auto i = c->group_info(g);
              i && i->running == 0 && (i->members == 0 || i->clean < i->members))
            (void)c->kill_group(now, g, ignore_actions{});
        }
        auto gid = c->new_group(now);
        if (!gid) {
          std::fprintf(stderr, "new_group after %llu cycles: %s\n", (unsigned long long)*cycles,
                       hrtest::text(gid.error()).c_str());
          ::_exit(14);
        }
        std::uint32_t ids[3];
        for (std::uint32_t m = 0; m < 3; ++m) {
          auto id =
              start_member(*bank, *c, now, *gid, "m" + std::to_string(m), *gid * 8 + m, handle + m);
          if (!id) ::_exit(15);
          ids[m] = *id;
        }
        if (!c->process_failed(now, ids[1], handle + 1, ignore_actions{})) ::_exit(16);
        for (std::uint32_t m = 0; m < 3; ++m)
          if (!c->process_started(now, {*gid, "m" + std::to_string(m), process_kind::direct,
                                        handle + 5 + m, *gid * 8 + m}))
            ::_exit(17);
        for (std::uint32_t m = 0; m < 3; ++m)
          if (!c->process_exited_cleanly(now, ids[m], handle + 5 + m, ignore_actions{}))
            ::_exit(18);
        if (auto left = c->group_info(*gid)) {
          std::fprintf(stderr, "group %u left: members %u running %u clean %u terminating %d\n",
                       *gid, left->members, left->running, left->clean, left->terminating);
          ::_exit(19);
        }
        std::atomic_ref<std::uint64_t>(*cycles).fetch_add(1);
      }
    }
    // Every tenth round, the kill comes only after the supervisor completed a cycle: the
    // workload makes progress however slow the machine (or a sanitizer) makes the child.
    int status = 0;
    bool reaped = false;
    if (round % 10 == 0)
      while (!reaped && cycles_done() == cycles_before) {
        ::usleep(1000);
        reaped = ::waitpid(pid, &status, WNOHANG) == pid;  // it stopped by itself: reported below
      }
    if (!reaped) {
      ::usleep(static_cast<useconds_t>(500 + rng() % 4000));
      ::kill(pid, SIGKILL);
      REQUIRE(::waitpid(pid, &status, 0) == pid);
    }
    REQUIRE_MESSAGE(WIFSIGNALED(status), "the supervisor stopped by itself: exit ",
                    WEXITSTATUS(status));
    ++kills;
    // What the next supervisor sees: a consistent bank, a controller that opens and resumes,
    // and no block of a group that no longer exists.
    auto bank = mmap_bank::open(path.c_str());
    REQUIRE(bank);
    hrtest::require_consistent(*bank);
    store_t store(*bank);
    auto c = open_or_create_controller<controller_t>(*bank, limits, chorus_counter{}, store, 0);
    REQUIRE_MESSAGE(c, hrtest::text(c.error()));
    REQUIRE(c->resume(0, ignore_actions{}));
    for (std::uint32_t g = 0; g < limits.max_groups; ++g) {
      if (c->group_info(g)) continue;
      CHECK_MESSAGE(blocks_with_key(*bank, group_key(g)) == 0, "blocks left by free group ", g);
    }
  }
  auto bank = mmap_bank::open(path.c_str());
  REQUIRE(bank);
  auto progress = bank->find("progress");
  REQUIRE(progress);
  MESSAGE("supervisor kills: ", kills,
          ", group cycles completed: ", *reinterpret_cast<std::uint64_t*>(progress->data));
  CHECK(*reinterpret_cast<std::uint64_t*>(progress->data) > 0);
}
