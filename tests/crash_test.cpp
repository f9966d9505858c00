// SPDX-License-Identifier: MIT
// Real processes, real SIGKILLs: a child runs one bank operation and is killed at its k-th
// metadata store, for every k; the parent then opens the bank (which repairs it) and checks
// that the operation either happened or did not, that nothing leaked, and that every block
// committed before still holds its bytes. Also: reopen in another process, and a writer that
// dies holding the lock while another process has the bank open (robust mutex).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>

#include "support.hpp"

extern char** environ;

using namespace hotrestart;
using hrtest::require_consistent;

namespace {

using child_result = hrtest::child_outcome;

child_result run_child(std::vector<std::string> args, long crash_at = -1,
                       std::uint32_t tear_mask = 0) {
  args.insert(args.begin(), HR_BANK_CHILD);
  auto env = hrtest::environment_without({"HR_CRASH_AT=", "HR_TEAR="});
  if (crash_at >= 0) env.push_back("HR_CRASH_AT=" + std::to_string(crash_at));
  if (tear_mask != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%x", tear_mask);
    env.push_back(std::string("HR_TEAR=") + hex);
  }
  return hrtest::finish(hrtest::spawn_piped(std::move(args), &env));
}

void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

struct blk {
  std::uint64_t size;
  int fill;
  std::string key;
};

// A bank with blocks laid out so that frees coalesce on both sides and creates split extents.
std::map<std::string, blk> make_base(const std::string& path) {
  std::map<std::string, blk> blocks = {
      {"left", {4096 * 2, 11, "K"}}, {"middle", {4096, 22, ""}}, {"right", {3 * 4096, 33, "K"}},
      {"spacer", {100, 44, ""}},     {"tail", {5000, 55, "K"}},
  };
  auto b = mmap_bank::create(path.c_str(), {.bank_size = 64 * 4096, .max_blocks = 16});
  REQUIRE(b);
  for (const char* n : {"left", "middle", "right", "spacer", "tail"}) {
    auto x = b->find_or_create(n, blocks[n].size, blocks[n].key);
    REQUIRE(x);
    std::memset(x->data, blocks[n].fill, x->size);
  }
  // Free "left"'s neighbours pattern: keep all; the ops below free and create around them.
  return blocks;
}

// After a crash and repair: the bank is consistent and every block still present holds its
// bytes; `may_vanish` blocks may be gone (the interrupted operation freed them), all of them
// or none (an operation happens or it does not); `may_appear` may exist (the interrupted
// operation created it), zero-filled or filled.
// Returns true when the operation happened.
bool verify(const std::string& path, const std::map<std::string, blk>& committed,
            const std::vector<std::string>& may_vanish, const std::string& may_appear) {
  auto b = mmap_bank::open(path.c_str());
  REQUIRE_MESSAGE(b, hrtest::text(b.error()));
  require_consistent(*b);
  std::size_t vanished = 0;
  for (const auto& name : may_vanish) vanished += b->find(name) ? 0 : 1;
  CHECK_MESSAGE((vanished == 0 || vanished == may_vanish.size()),
                "an operation half done: ", vanished, " of ", may_vanish.size(), " blocks gone");
  std::uint32_t present = 0;
  for (const auto& entry : committed) {
    // Not a structured binding: clang 14 cannot capture one in doctest's message lambdas.
    const std::string& name = entry.first;
    const blk& x = entry.second;
    auto f = b->find(name);
    const bool vanishable =
        std::find(may_vanish.begin(), may_vanish.end(), name) != may_vanish.end();
    if (!f) {
      CHECK_MESSAGE(vanishable, name);
      continue;
    }
    ++present;
    CHECK(f->size == x.size);
    bool intact = true;
    for (std::uint64_t i = 0; i < x.size; ++i)
      intact = intact && f->data[i] == static_cast<std::byte>(x.fill);
    CHECK_MESSAGE(intact, name);
  }
  auto appeared = may_appear.empty() ? false : b->find(may_appear).has_value();
  if (appeared) {
    // A created block is whole: its size as asked, its bytes zero or the child's fill.
    auto f = b->find(may_appear);
    REQUIRE(f);
    CHECK(f->size == 9000);
    const std::byte first = f->data[0];
    CHECK((first == std::byte{0} || first == std::byte{66}));
  }
  auto st = b->stats();
  REQUIRE(st);
  CHECK(st->blocks == present + (appeared ? 1 : 0));
  return appeared || (!may_vanish.empty() && vanished == may_vanish.size());
}

// Frees "middle"'s neighbours in `base`, so that freeing "middle" coalesces on both sides;
// returns the blocks left.
std::map<std::string, blk> free_neighbours(const std::string& base,
                                           std::map<std::string, blk> blocks) {
  auto b = mmap_bank::open(base.c_str());
  REQUIRE(b);
  REQUIRE(b->free("left"));
  REQUIRE(b->free("right"));
  blocks.erase("left");
  blocks.erase("right");
  return blocks;
}

// Every crash point is enumerated; the sanitizer presets set HR_CRASH_STRIDE (every n-th point)
// to bound their run time: there the point is the memory checking, done on the same paths.
long stride_from_env() {
  const char* s = std::getenv("HR_CRASH_STRIDE");
  const long n = s != nullptr ? std::atol(s) : 1;
  return n > 0 ? n : 1;
}

// Runs `args` once without a crash to count its crash points, then once per point (with the
// store in flight at that point torn by `tear_mask`, if not 0).
long enumerate(const std::string& base, const std::string& work, std::vector<std::string> args,
               const std::map<std::string, blk>& committed,
               const std::vector<std::string>& may_vanish, const std::string& may_appear,
               std::uint32_t tear_mask = 0) {
  copy_file(base, work);
  std::vector<std::string> full = {work};
  full.insert(full.end(), args.begin(), args.end());
  auto clean = run_child(full);
  REQUIRE_MESSAGE(clean.ok(), clean.out);
  const long points = std::stol(clean.out);
  REQUIRE(points > 5);
  long happened = 0, runs = 0;
  const long stride = stride_from_env();
  for (long k = 1; k <= points; k += stride) {
    ++runs;
    CAPTURE(k);
    copy_file(base, work);
    CAPTURE(tear_mask);
    auto r = run_child(full, k, tear_mask);
    REQUIRE_MESSAGE(r.killed(), "the child was meant to die at crash point ", k);
    happened += verify(work, committed, may_vanish, may_appear) ? 1 : 0;
  }
  // Both outcomes occur: early points leave the bank as it was, late ones complete the call.
  CHECK(happened > 0);
  CHECK(happened < runs);
  return runs;
}

// A crash while recovering: for every crash point k of the operation, the repairing opener is
// itself killed at each of its own stores j; the next opener must still repair the bank.
long enumerate_recovery(const std::string& base, const std::string& work,
                        const std::string& crashed, std::vector<std::string> args,
                        const std::map<std::string, blk>& committed,
                        const std::vector<std::string>& may_vanish, const std::string& may_appear,
                        long stride = 1) {
  std::vector<std::string> full = {work};
  full.insert(full.end(), args.begin(), args.end());
  copy_file(base, work);
  const long points = std::stol(run_child(full).out);
  long total = 0;
  stride *= stride_from_env();
  for (long k = 1; k <= points; k += stride) {
    CAPTURE(k);
    copy_file(base, work);
    REQUIRE(run_child(full, k).killed());
    copy_file(work, crashed);
    auto clean = run_child({work, "repair"});
    REQUIRE_MESSAGE(clean.ok(), clean.out);
    const long repair_points = std::stol(clean.out);
    for (long j = 1; j <= repair_points; ++j) {
      CAPTURE(j);
      copy_file(crashed, work);
      REQUIRE(run_child({work, "repair"}, j).killed());
      verify(work, committed, may_vanish, may_appear);
      ++total;
    }
  }
  return total;
}

}  // namespace

TEST_CASE("another process finds the same bytes, and this one finds what it wrote") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("shared.bank");
  REQUIRE(mmap_bank::create(path.c_str()));
  auto w = run_child({path, "create", "from_child", "777", "9"});
  REQUIRE(w.ok());
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  auto f = b->find("from_child");
  REQUIRE(f);
  CHECK(f->size == 777);
  CHECK(f->data[776] == std::byte{9});
  auto mine = b->find_or_create("from_parent", 3000);
  REQUIRE(mine);
  std::memset(mine->data, 5, 3000);
  CHECK(run_child({path, "expect", "from_parent", "3000", "5"}).ok());
  CHECK_FALSE(run_child({path, "expect", "from_parent", "3000", "6"}).ok());  // control
}

// free_all is atomic for a process that already has the bank open, too: once a SIGKILL has cut
// a sweep after its start, that process's lock-free find must not return a block of the key
// (it would be freed under it by the next locker), and before the start it must find all.
TEST_CASE("a process with the bank open sees a free_all cut by SIGKILL as all or nothing") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank");
  make_base(base);
  const std::vector<std::string> keyed = {"left", "right", "tail"};
  copy_file(base, work);
  const long points = std::stol(run_child({work, "free_all", "K"}).out);
  long all = 0, none = 0;
  for (long k = 1; k <= points; k += stride_from_env()) {
    CAPTURE(k);
    copy_file(base, work);
    auto open_before = mmap_bank::open(work.c_str());
    REQUIRE(open_before);
    REQUIRE(run_child({work, "free_all", "K"}, k).killed());
    std::size_t found = 0;
    for (const auto& name : keyed) found += open_before->find(name.c_str()) ? 1u : 0u;
    CHECK_MESSAGE((found == 0 || found == keyed.size()), found, " of the key's blocks found");
    all += found == keyed.size() ? 1 : 0;
    none += found == 0 ? 1 : 0;
    // A fresh opener (which repairs) agrees with what the open process saw.
    auto after = mmap_bank::open(work.c_str());
    REQUIRE(after);
    for (const auto& name : keyed)
      CHECK(static_cast<bool>(after->find(name.c_str())) == (found != 0));
    // Nothing is left that would send every later find to the lock: the hint (set before the
    // record, so also by a sweeper killed before it wrote its record) is cleared by the repair.
    CHECK(detail::load32(after->backend().data(), bank_format::sweep_hint) == 0);
    require_consistent(*after);
  }
  CHECK(all > 0);
  CHECK(none > 0);
}

TEST_CASE("SIGKILL at every store of create, free and free_all leaves a consistent bank") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank");
  auto blocks = make_base(base);
  static long total = 0;  // across subcases (doctest reruns the case once per subcase)
  SUBCASE("create a block that splits a free extent") {
    total += enumerate(base, work, {"create", "fresh", "9000", "66", "K"}, blocks, {}, "fresh");
  }
  SUBCASE("free a block whose neighbours are used") {
    total += enumerate(base, work, {"free", "middle"}, blocks, {"middle"}, "");
  }
  SUBCASE("free a block that coalesces on both sides") {
    total +=
        enumerate(base, work, {"free", "middle"}, free_neighbours(base, blocks), {"middle"}, "");
  }
  SUBCASE("replace a block by another (free the old, rename the new, in one step)") {
    // Either "middle" still holds its bytes and "tail" exists, or "middle" is tail's block.
    copy_file(base, work);
    auto clean = run_child({work, "replace", "middle", "tail"});
    REQUIRE(clean.ok());
    const long points = std::stol(clean.out);
    for (long k = 1; k <= points; ++k) {
      CAPTURE(k);
      copy_file(base, work);
      REQUIRE(run_child({work, "replace", "middle", "tail"}, k).killed());
      auto b = mmap_bank::open(work.c_str());
      REQUIRE(b);
      require_consistent(*b);
      auto m = b->find("middle");
      REQUIRE(m);
      const bool done = !b->find("tail");
      CHECK(m->size == (done ? blocks["tail"].size : blocks["middle"].size));
      CHECK(m->data[0] == static_cast<std::byte>(done ? 55 : 22));
    }
    total += points;
  }
  SUBCASE("free every block of a key") {
    total += enumerate(base, work, {"free_all", "K"}, blocks, {"left", "right", "tail"}, "");
  }
  MESSAGE("crash points enumerated: ", total);
  CHECK(total > 0);
}

// Torn writes: at every crash point the store in flight is left half-written (each mask says
// which bytes of the new value landed), then the process dies. Byte and half-word tears cover
// what a warm reset of a microcontroller can leave; a dropped store is the plain crash above.
TEST_CASE("SIGKILL with a torn store at every point of every operation leaves a consistent bank") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank");
  auto blocks = make_base(base);
  static long total = 0;
  const std::uint32_t masks[] = {0x0000FFFFu, 0xFFFF0000u, 0x00FF00FFu, 0xFF000000u};
  SUBCASE("create") {
    for (const std::uint32_t mask : masks)
      total +=
          enumerate(base, work, {"create", "fresh", "9000", "66", "K"}, blocks, {}, "fresh", mask);
  }
  SUBCASE("free") {
    for (const std::uint32_t mask : masks)
      total += enumerate(base, work, {"free", "middle"}, blocks, {"middle"}, "", mask);
  }
  SUBCASE("free that coalesces on both sides") {
    const auto kept = free_neighbours(base, blocks);
    for (const std::uint32_t mask : masks)
      total += enumerate(base, work, {"free", "middle"}, kept, {"middle"}, "", mask);
  }
  SUBCASE("free_all") {
    for (const std::uint32_t mask : masks)
      total +=
          enumerate(base, work, {"free_all", "K"}, blocks, {"left", "right", "tail"}, "", mask);
  }
  SUBCASE("replace") {
    for (const std::uint32_t mask : masks) {
      CAPTURE(mask);
      copy_file(base, work);
      auto clean = run_child({work, "replace", "middle", "tail"});
      REQUIRE(clean.ok());
      const long points = std::stol(clean.out);
      for (long k = 1; k <= points; ++k) {
        CAPTURE(k);
        copy_file(base, work);
        REQUIRE(run_child({work, "replace", "middle", "tail"}, k, mask).killed());
        auto b = mmap_bank::open(work.c_str());
        REQUIRE_MESSAGE(b, hrtest::text(b.error()));
        require_consistent(*b);
        auto m = b->find("middle");
        REQUIRE(m);
        const bool done = !b->find("tail");
        CHECK(m->size == (done ? blocks["tail"].size : blocks["middle"].size));
        CHECK(m->data[0] == static_cast<std::byte>(done ? 55 : 22));
      }
      total += points;
    }
  }
  MESSAGE("torn-write crash points enumerated: ", total);
  CHECK(total > 0);
}

TEST_CASE("SIGKILL at every store of the recovery of every crash point leaves a consistent bank") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank"),
                    crashed = dir.file("crashed.bank");
  auto blocks = make_base(base);
  static long total = 0;
  SUBCASE("create") {
    total += enumerate_recovery(base, work, crashed, {"create", "fresh", "9000", "66", "K"}, blocks,
                                {}, "fresh");
  }
  SUBCASE("free") {
    total += enumerate_recovery(base, work, crashed, {"free", "middle"}, blocks, {"middle"}, "");
  }
  SUBCASE("free_all (rolled forward by the recovery; every 8th point of the operation)") {
    total += enumerate_recovery(base, work, crashed, {"free_all", "K"}, blocks,
                                {"left", "right", "tail"}, "", 8);
  }
  MESSAGE("recovery crash points enumerated: ", total);
  CHECK(total > 0);
}

TEST_CASE("a writer killed holding the lock does not wedge a process that has the bank open") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("lock.bank");
  auto b = mmap_bank::create(path.c_str());
  REQUIRE(b);
  REQUIRE(b->find_or_create("before", 10));
  // The child dies at a store in the middle of a create, with the lock held.
  auto r = run_child({path, "create", "victim", "5000", "1"}, 12);
  REQUIRE(r.killed());
  // This process had the bank open all along: its next write takes the lock from the dead
  // owner (EOWNERDEAD), repairs from the intent record and carries on.
  auto after = b->find_or_create("after", 10);
  REQUIRE_MESSAGE(after, hrtest::text(after.error()));
  CHECK(after->created);
  HR_REQUIRE_OK(b->find("before"));
  require_consistent(*b);
  // A child that dies while merely holding the lock: the same.
  auto hold = run_child({path, "hold", "0"});
  CHECK(hold.ok());  // exits with the lock held: the robust mutex reports owner death
  HR_REQUIRE_OK(b->free("after"));
  require_consistent(*b);
}

// A writer that finds the lock held first watches it for a bounded number of pauses, then
// sleeps on the futex (posix_lock.hpp). Either way it must get the lock when the holder dies
// (EOWNERDEAD, and the bank repairs) or lets go. The holder here is a forked process that
// takes the bank's lock and waits: killed at once (the waiter is still watching, most likely),
// killed after 100 ms (the waiter sleeps by then), or unlocking by itself after 100 ms.
TEST_CASE("a writer waiting for the lock gets it when its holder dies or lets go, early or late") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("wait.bank");
  auto b = mmap_bank::create(path.c_str());
  REQUIRE(b);
  REQUIRE(b->find_or_create("before", 10));
  enum class ends { killed_at_once, killed_late, unlocks_late };
  for (ends how : {ends::killed_at_once, ends::killed_late, ends::unlocks_late}) {
    CAPTURE(static_cast<int>(how));
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
      auto mine = mmap_bank::open(path.c_str());
      if (!mine || !mine->backend().lock()) ::_exit(3);
      const char one = '1';
      if (::write(ready[1], &one, 1) != 1) ::_exit(4);
      if (how == ends::unlocks_late) {
        ::usleep(100000);
        mine->backend().unlock();
        ::_exit(0);
      }
      ::pause();
      ::_exit(5);
    }
    ::close(ready[1]);
    char got = 0;
    REQUIRE(::read(ready[0], &got, 1) == 1);
    ::close(ready[0]);
    const std::string name = "waiter" + std::to_string(static_cast<int>(how));
    result<block> made = fail(errc::io_error, "not run");
    std::thread waiter([&] { made = b->find_or_create(name, 10); });
    if (how == ends::killed_at_once) ::kill(holder, SIGKILL);
    if (how == ends::killed_late) {
      ::usleep(100000);
      ::kill(holder, SIGKILL);
    }
    waiter.join();
    int status = 0;
    REQUIRE(::waitpid(holder, &status, 0) == holder);
    if (how == ends::unlocks_late)
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    else
      CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    REQUIRE_MESSAGE(made, hrtest::text(made.error()));
    CHECK(made->created);
    HR_REQUIRE_OK(b->find("before"));
    require_consistent(*b);
  }
}

#ifdef HR_FIXTURE_V2
namespace {
// Every block of the bank at `path` (opened, so converted): name, key and bytes.
std::map<std::string, std::string> contents(const std::string& path, std::uint32_t* converted) {
  auto b = mmap_bank::open(path.c_str());
  REQUIRE_MESSAGE(b, hrtest::text(b.error()));
  if (converted != nullptr) *converted = b->converted_from();
  require_consistent(*b);
  std::map<std::string, std::string> out;
  const auto* base = reinterpret_cast<const char*>(b->backend().data());
  auto n = b->for_each([&](const block_info& i) {
    out[std::string(i.name)] = std::string(i.key) + "|" + std::string(base + i.offset, i.size);
  });
  REQUIRE(n);
  CHECK(detail::load32(b->backend().data(), bank_format::layout_version) == bank_format::version);
  CHECK(detail::load32(b->backend().data(), bank_format::convert_state) == 0);
  return out;
}
}  // namespace

// The conversion at open of a bank of format version 2 (the committed fixture) is killed at
// each of its stores, plain and torn; the next open finishes it, and every block keeps its
// name, key and bytes. Its negative control (tests/torture) converts without the bracketing
// state word and must fail.
TEST_CASE("conversion from format 2: SIGKILL at every store, plain or torn, loses nothing") {
  hrtest::scratch_dir dir;
  const std::string ref = dir.file("ref.bank"), work = dir.file("work.bank");
  copy_file(HR_FIXTURE_V2, ref);
  std::uint32_t from = 0;
  const auto want = contents(ref, &from);
  CHECK(from == bank_format::previous_version);
  REQUIRE(want.size() >= 5);  // the runtime's blocks and the fixture's three
  copy_file(HR_FIXTURE_V2, work);
  auto clean = run_child({work, "repair"});
  REQUIRE(clean.ok());
  const long points = std::stol(clean.out);
  CHECK(points > 16);  // the header words, the index, the state word
  long runs = 0;
  for (const std::uint32_t mask : {0u, 0x0000FFFFu, 0xFFFF0000u, 0x00FF00FFu, 0xFF000000u}) {
    for (long k = 1; k <= points; ++k) {
      CAPTURE(mask);
      CAPTURE(k);
      copy_file(HR_FIXTURE_V2, work);
      REQUIRE(run_child({work, "repair"}, k, mask).killed());
      std::uint32_t again = 0;
      CHECK(contents(work, &again) == want);
      ++runs;
    }
  }
  MESSAGE("conversion crash points: ", points, ", runs (plain and 4 tears): ", runs);
}
#endif

#ifdef HR_FIXTURE_V2
TEST_CASE("a bank of format 2 opened without conversion is refused and left as it was") {
  hrtest::scratch_dir dir;
  const std::string work = dir.file("keep.bank");
  copy_file(HR_FIXTURE_V2, work);
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string before = bytes(work);
  auto b = mmap_bank::open(work.c_str(), false);
  HR_CHECK_ERR(b, errc::version_mismatch);
  REQUIRE(!b);
  CHECK(hrtest::text(b.error()).find("previous format version") != std::string::npos);
  CHECK(bytes(work) == before);            // not one byte written
  auto c = mmap_bank::open(work.c_str());  // the default converts
  REQUIRE(c);
  CHECK(c->converted_from() == bank_format::previous_version);
  auto again = mmap_bank::open(work.c_str(), false);  // format 3 now: opens either way
  REQUIRE(again);
  CHECK(again->converted_from() == 0);
}
#endif
