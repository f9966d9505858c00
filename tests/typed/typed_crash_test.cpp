// SPDX-License-Identifier: MIT
// Typed blocks against real processes and real SIGKILLs: a child constructs, migrates or
// updates and is killed at every crash point (and inside the user's update function, and at
// random instants); the parent then opens the bank in its own mapping and checks that the
// value is the old one or the new one, whole, never a mix, and that the bank is consistent.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/typed.hpp>

#include "../support.hpp"
#include "typed_types.hpp"

extern char** environ;

using namespace hotrestart;
using hrtest::require_consistent;
using hrtyped::rec_v1;
using hrtyped::rec_v2;

namespace {

using child = hrtest::piped_child;
using outcome = hrtest::child_outcome;
using hrtest::finish;

child spawn(std::vector<std::string> args, long crash_at = -1) {
  args.insert(args.begin(), HR_TYPED_CHILD);
  auto env = hrtest::environment_without({"HR_CRASH_AT="});
  if (crash_at >= 0) env.push_back("HR_CRASH_AT=" + std::to_string(crash_at));
  return hrtest::spawn_piped(std::move(args), &env);
}

outcome run(std::vector<std::string> args, long crash_at = -1) {
  return finish(spawn(std::move(args), crash_at));
}

std::uint32_t count_shadows(mmap_bank& b) {
  std::uint32_t n = 0;
  auto r = b.for_each([&](const block_info& i) { n += i.name.starts_with("__HR~") ? 1u : 0u; });
  REQUIRE(r);
  return n;
}

void copy(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

// A bank holding rec_v1 "rec" = 41 (after one atomic update, so both slots were used).
void make_base(const std::string& path) {
  auto b = mmap_bank::create(path.c_str(), {.bank_size = 64 * 4096, .max_blocks = 16});
  REQUIRE(b);
  auto p = persistent<rec_v1>::find_or_construct(*b, "rec", [](rec_v1& r) { r.set(40); });
  REQUIRE(p);
  p->update([](rec_v1& r) { r.set(41); });
  auto other = b->find_or_create("other", 5000);
  REQUIRE(other);
  std::memset(other->data, 0x33, other->size);
}

void other_intact(mmap_bank& b) {
  auto o = b.find("other");
  REQUIRE(o);
  bool same = true;
  for (std::uint64_t i = 0; i < o->size; ++i) same = same && o->data[i] == std::byte{0x33};
  CHECK(same);
}

// Runs the operation once to count its crash points, then once per point.
template <class Check>
long enumerate(const std::string& base, const std::string& work, std::vector<std::string> args,
               Check&& check, long min_points = 6) {
  copy(base, work);
  std::vector<std::string> full = {work};
  full.insert(full.end(), args.begin(), args.end());
  auto clean = run(full);
  REQUIRE_MESSAGE(clean.ok(), clean.out);
  const long points = std::stol(clean.out);
  REQUIRE(points >= min_points);
  for (long k = 1; k <= points; ++k) {
    CAPTURE(k);
    copy(base, work);
    auto r = run(full, k);
    REQUIRE_MESSAGE(r.killed(), "the child was meant to die at crash point ", k);
    check(work);
  }
  return points;
}

}  // namespace

TEST_CASE("construction killed at every crash point: no block or the whole value") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank");
  make_base(base);
  long absent = 0, present = 0;
  const long points =
      enumerate(base, work, {"construct", "fresh", "77"}, [&](const std::string& w) {
        auto b = mmap_bank::open(w.c_str());
        REQUIRE_MESSAGE(b, hrtest::text(b.error()));
        require_consistent(*b);
        other_intact(*b);
        auto p = persistent<rec_v1>::open(*b, "fresh");
        if (p) {
          ++present;
          CHECK(p->load().seq == 77);
          CHECK(p->load().whole());
        } else {
          ++absent;
          CHECK_MESSAGE(p.error().code == errc::not_found, hrtest::text(p.error()));
        }
        // The restarted program constructs again: it works and reclaims any leftover.
        auto again =
            persistent<rec_v1>::find_or_construct(*b, "fresh", [](rec_v1& r) { r.set(77); });
        REQUIRE_MESSAGE(again, hrtest::text(again.error()));
        CHECK(again->load().seq == 77);
        CHECK(count_shadows(*b) == 0);
        require_consistent(*b);
      });
  MESSAGE("construction crash points: ", points, " (absent after ", absent, ", present after ",
          present, ")");
  CHECK(absent > 0);
  CHECK(present > 0);
}

TEST_CASE("migration killed at every crash point: the old value or the new, never neither") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank");
  make_base(base);
  long old_seen = 0, new_seen = 0;
  const long points = enumerate(base, work, {"migrate", "rec"}, [&](const std::string& w) {
    auto b = mmap_bank::open(w.c_str());
    REQUIRE_MESSAGE(b, hrtest::text(b.error()));
    require_consistent(*b);
    other_intact(*b);
    auto v1 = persistent<rec_v1>::open(*b, "rec");
    auto v2 = persistent<rec_v2>::open(*b, "rec");
    CHECK(v1.has_value() != v2.has_value());  // exactly one of them
    if (v1) {
      ++old_seen;
      CHECK(v1->load().seq == 41);
      CHECK(v1->load().whole());
    }
    if (v2) {
      ++new_seen;
      CHECK(v2->load().seq == 41);
      CHECK(v2->load().whole());
      CHECK(v2->load().extra == hrtyped::migrated_mark);
    }
    // Running the restarted program's migration finishes the job, whichever state it found.
    auto m = persistent<rec_v2>::find_or_construct(*b, "rec", value_init,
                                                   migrate_from<rec_v1>(hrtyped::migrate_v1_v2));
    REQUIRE_MESSAGE(m, hrtest::text(m.error()));
    CHECK(m->load().seq == 41);
    CHECK(m->load().extra == hrtyped::migrated_mark);
    CHECK(count_shadows(*b) == 0);
    auto st = b->stats();
    REQUIRE(st);
    CHECK(st->blocks == 2);  // "rec" and "other": nothing leaked
    require_consistent(*b);
  });
  MESSAGE("migration crash points: ", points, " (old after ", old_seen, ", new after ", new_seen,
          ")");
  CHECK(old_seen > 0);
  CHECK(new_seen > 0);
}

TEST_CASE("update killed at every crash point and at every word of the user's function") {
  hrtest::scratch_dir dir;
  const std::string base = dir.file("base.bank"), work = dir.file("work.bank");
  make_base(base);
  long olds = 0, news = 0;
  auto check = [&](const std::string& w) {
    auto b = mmap_bank::open(w.c_str());
    REQUIRE_MESSAGE(b, hrtest::text(b.error()));
    auto p = persistent<rec_v1>::open(*b, "rec");
    REQUIRE_MESSAGE(p, hrtest::text(p.error()));
    const rec_v1 v = p->load();
    CHECK(v.whole());
    CHECK((v.seq == 41 || v.seq == 42));
    (v.seq == 41 ? olds : news) += 1;
    // In-place access sees the same committed value.
    CHECK(p->get()->seq == v.seq);
    CHECK(p->get()->whole());
  };
  // Three points: after the copy, before the switch, after it.
  CHECK(enumerate(base, work, {"update", "rec", "42"}, check, 3) == 3);
  CHECK(olds > 0);
  CHECK(news > 0);
  for (int tear = 0; tear < hrtyped::fields; ++tear) {
    CAPTURE(tear);
    copy(base, work);
    auto r = run({work, "update", "rec", "42", std::to_string(tear)});
    REQUIRE(r.killed());
    auto b = mmap_bank::open(work.c_str());
    REQUIRE(b);
    auto p = persistent<rec_v1>::open(*b, "rec");
    REQUIRE(p);
    CHECK(p->load().seq == 41);  // killed before the switch: the old value, whole
    CHECK(p->load().whole());
  }
}

TEST_CASE("an updater SIGKILLed at random instants never leaves a mixed value") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("spin.bank");
  make_base(path);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 3000);
  std::uint64_t last = 41;
  int advanced = 0;
  for (int round = 0; round < 120; ++round) {
    CAPTURE(round);
    child c = spawn({path, "spin", "rec"});
    char buf[8] = {};
    REQUIRE(::read(c.out, buf, 6) == 6);  // "ready\n": it has updated at least once
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    REQUIRE(::kill(c.pid, SIGKILL) == 0);
    auto r = finish(c);
    REQUIRE(r.killed());
    auto b = mmap_bank::open(path.c_str());
    REQUIRE(b);
    auto p = persistent<rec_v1>::open(*b, "rec");
    REQUIRE(p);
    const rec_v1 v = p->load();
    REQUIRE(v.whole());
    CHECK(v.seq > last);  // every round committed at least its first update
    advanced += v.seq > last + 1 ? 1 : 0;
    last = v.seq;
  }
  MESSAGE("random kills: value reached ", last, "; ", advanced, " rounds ran more than one update");
  CHECK(advanced > 0);
}

TEST_CASE("a schema change across processes: refused, then migrated, then read elsewhere") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("schema.bank");
  REQUIRE(mmap_bank::create(path.c_str(), {.bank_size = 64 * 4096, .max_blocks = 16}));
  auto c = run({path, "construct", "rec", "5"});
  REQUIRE_MESSAGE(c.ok(), c.out);
  {
    auto b = mmap_bank::open(path.c_str());
    REQUIRE(b);
    HR_CHECK_ERR(persistent<rec_v2>::open(*b, "rec"), errc::schema_mismatch);
    HR_CHECK_ERR(persistent<rec_v2>::find_or_construct(*b, "rec"), errc::schema_mismatch);
    auto v1 = persistent<rec_v1>::open(*b, "rec");
    REQUIRE(v1);
    CHECK(v1->load().seq == 5);
  }
  auto m = run({path, "migrate", "rec"});
  REQUIRE_MESSAGE(m.ok(), m.out);
  auto e = run({path, "expect_v2", "rec", "5"});
  CHECK(e.ok());
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  HR_CHECK_ERR(persistent<rec_v1>::open(*b, "rec"), errc::schema_mismatch);
  auto v2 = persistent<rec_v2>::open(*b, "rec");
  REQUIRE(v2);
  CHECK(v2->load().extra == hrtyped::migrated_mark);
  // A second migration run finds version 2 and does nothing.
  auto again = run({path, "migrate", "rec"});
  CHECK(WEXITSTATUS(again.status) == 3);
}

TEST_CASE("a list linked by offset_ptr in another process is walked in this one") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("list.bank");
  REQUIRE(mmap_bank::create(path.c_str(), {.bank_size = 64 * 4096, .max_blocks = 16}));
  auto c = run({path, "list", "head", "500"});
  REQUIRE_MESSAGE(c.ok(), c.out);
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  MESSAGE("child mapped the bank at ", c.out.substr(0, c.out.size() - 1), ", this process at ",
          static_cast<void*>(b->backend().data()));
  auto h = persistent<hrtyped::list_head>::open(*b, "head");
  REQUIRE(h);
  CHECK(h->load().count == 500);
  std::uint64_t i = 0;
  for (auto p = h->load().first; p; ++i) {
    hrtyped::node* n = p.get(*b);
    REQUIRE(n != nullptr);
    CHECK(n->value == i * 7);
    p = n->next;
  }
  CHECK(i == 500);
}
