// SPDX-License-Identifier: MIT
// Durable mode under simulated power cuts. A page cache is modelled: the bank's bytes in
// memory (M) and what the disk holds (D). A flush copies the flushed pages from M to D, as
// msync does; besides, the kernel may write back any dirty page, or any part of one, at any
// time. At every crash point of an operation the harness takes (M, D) and builds the images a
// power cut could leave: D alone (every unsynced write lost), M (every write landed, as a
// process crash), and mixtures where each dirty word or each dirty page independently comes
// from M or from D, and, for the header's records, each single dirty word landed alone. Each
// image must open (repairing itself), pass check(), and hold the bank
// as it was before the operation or as it is after it. Once the call has returned, D alone
// must hold the result: a durable call is on disk when it returns.
//
// The same harness run on a bank without durable mode must find failures (negative control),
// and so must a build whose commit skips the flush before its commit point
// (HOTRESTART_TESTONLY_UNORDERED_FLUSH, test_power_cut_unordered).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/backends/posix_lock.hpp>
#include <hotrestart/bank.hpp>

#include "support.hpp"

namespace sim {

constexpr std::uint64_t page = 4096;

// The simulated disk of the one bank under test, and the snapshots taken at crash points.
struct disk {
  std::vector<std::byte> mem, durable;
  bool recording = false;
  std::vector<std::vector<std::byte>> mem_at, durable_at;  // one pair per crash point
  long flushes = 0;
  long fail_flush = -1;  // the flush with this number fails (EIO), writing nothing
  // node_loss: what the test has flushed so far, recorded with each crash point.
  long flushed = 0, done = 0;
  std::vector<std::pair<long, long>> flushed_at;
};
inline disk* current = nullptr;

}  // namespace sim

void sim_crash_point() {  // before every store, and before every flush (sim_backend)
  sim::disk* d = sim::current;
  if (d == nullptr || !d->recording) return;
  d->mem_at.push_back(d->mem);
  d->durable_at.push_back(d->durable);
  d->flushed_at.emplace_back(d->flushed, d->done);
}

namespace {

using namespace hotrestart;

// A backend whose bytes are sim::current's memory; flush_range is msync on the model.
class sim_backend {
 public:
  using location = sim::disk*;
  static constexpr bool reformats_foreign_memory = false;
  static constexpr std::uint32_t native_page_size() { return 4096; }

  static result<sim_backend> create(location d, std::uint64_t bytes, region_init init) {
    d->mem.assign(bytes, std::byte{0});
    if (auto r = init(d->mem.data(), bytes); !r) return fail(r.error());
    d->durable = d->mem;  // a new bank is written out before it is published (as mmap does)
    return sim_backend(d);
  }
  static result<sim_backend> open(location d) {
    if (d->mem.empty()) return fail(errc::not_found, "no simulated bank");
    return sim_backend(d);
  }
  std::byte* data() const { return d_->mem.data(); }
  std::uint64_t size() const { return d_->mem.size(); }
  result<lock_outcome> lock() const noexcept { return lock_outcome::acquired; }
  void repaired() const noexcept {}
  void unlock() const noexcept {}
  result<void> flush_range(std::uint64_t off, std::uint64_t len) const {
    // The instant just before a flush is a power-cut point too: every store made since the
    // last crash point is in memory, not yet on disk.
    sim_crash_point();
    if (d_->flushes++ == d_->fail_flush) return fail(errc::io_error, "simulated EIO from msync");
    const std::uint64_t begin = off / sim::page * sim::page;
    std::uint64_t end = (off + len + sim::page - 1) / sim::page * sim::page;
    if (end > d_->mem.size()) end = d_->mem.size();
    if (begin < end) std::memcpy(d_->durable.data() + begin, d_->mem.data() + begin, end - begin);
    return {};
  }

 private:
  explicit sim_backend(location d) : d_(d) {}
  sim::disk* d_;
};
static_assert(bank_backend<sim_backend>);
using sim_bank = basic_bank<sim_backend>;

// An image opened on its own (what the next boot sees), in 64-byte aligned memory.
struct image {
  std::byte* mem;
  std::size_t bytes;
  explicit image(const std::vector<std::byte>& from)
      : mem(static_cast<std::byte*>(std::aligned_alloc(64, (from.size() + 63) / 64 * 64))),
        bytes(from.size()) {
    REQUIRE(mem != nullptr);
    std::memcpy(mem, from.data(), bytes);
  }
  image(const image&) = delete;
  image& operator=(const image&) = delete;
  ~image() { std::free(mem); }
  std::span<std::byte> span() { return {mem, bytes}; }
};

// What a bank holds, for comparison: name -> (size, a hash of the bytes).
using listing = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>;

template <class Bank>
listing list(Bank& b) {
  listing out;
  auto r = b.for_each([&](const block_info& i) {
    std::uint64_t h = 1469598103934665603ull;
    const std::byte* p = b.backend().data() + i.offset;
    for (std::uint64_t k = 0; k < i.size; ++k)
      h = (h ^ std::to_integer<std::uint64_t>(p[k])) * 1099511628211ull;
    out[std::string(i.name)] = {i.size, h};
  });
  REQUIRE(r);
  return out;
}

enum class verdict { before, after, broken };

// Opens `bytes` as the next boot would and classifies what it holds.
verdict judge(const std::vector<std::byte>& bytes, const listing& before, const listing& after,
              std::string& why) {
  image img(bytes);
  auto b = basic_bank<span_backend>::open(img.span());
  if (!b) {
    why = "open: " + hrtest::text(b.error());
    return verdict::broken;
  }
  std::string problems;
  auto n = b->check([&](const error& e) { problems += hrtest::text(e) + "; "; });
  if (!n || *n != 0) {
    why = "check: " + (n ? problems : hrtest::text(n.error()));
    return verdict::broken;
  }
  const listing now = list(*b);
  if (now == before) return verdict::before;
  if (now == after) return verdict::after;
  why = "the blocks are neither as before nor as after the operation";
  return verdict::broken;
}

struct tally {
  long points = 0, images = 0, before = 0, after = 0, broken = 0;
  std::string first_problem;
  bool durable_on_return = true;
};

// Mixture of M and D: each dirty unit (a word, or a page) from one or the other.
std::vector<std::byte> mix(const std::vector<std::byte>& m, const std::vector<std::byte>& d,
                           std::uint64_t unit, std::mt19937_64& rng) {
  std::vector<std::byte> out = d;
  for (std::uint64_t off = 0; off < m.size(); off += unit) {
    const std::uint64_t n = off + unit <= m.size() ? unit : m.size() - off;
    if (std::memcmp(m.data() + off, d.data() + off, n) == 0) continue;
    if ((rng() & 1u) != 0) std::memcpy(out.data() + off, m.data() + off, n);
  }
  return out;
}

// Mixtures judged per instant: 12, or HR_POWER_CUT_MIXES (the sanitizer presets use fewer).
int mixes_from_env() {
  const char* s = std::getenv("HR_POWER_CUT_MIXES");
  const int n = s != nullptr ? std::atoi(s) : 12;
  return n > 0 ? n : 12;
}

// Builds the base bank in `base`, runs `op` on a copy while recording every crash point,
// then judges every image a power cut could leave.
template <class Prepare, class Op>
tally power_cut(bool durable, Prepare&& prepare, Op&& op, int mixes = mixes_from_env()) {
  sim::disk base;
  {
    auto b =
        sim_bank::create(&base, {.bank_size = 48 * 4096, .max_blocks = 16, .durable = durable});
    REQUIRE_MESSAGE(b, hrtest::text(b.error()));
    prepare(*b);
    REQUIRE(b->backend().flush_range(0, base.mem.size()));  // the base is on disk
  }
  listing before, after;
  {
    image img(base.mem);
    auto b = basic_bank<span_backend>::open(img.span());
    REQUIRE(b);
    before = list(*b);
  }
  sim::disk run = base;
  sim::current = &run;
  {
    auto b = sim_bank::open(&run);
    REQUIRE(b);
    run.recording = true;
    op(*b);
    run.recording = false;
    after = list(*b);
  }
  sim::current = nullptr;
  REQUIRE(before != after);
  tally t;
  t.points = static_cast<long>(run.mem_at.size());
  std::mt19937_64 rng(0x5EED);
  auto judge_one = [&](const std::vector<std::byte>& bytes) {
    std::string why;
    ++t.images;
    switch (judge(bytes, before, after, why)) {
      case verdict::before: ++t.before; break;
      case verdict::after: ++t.after; break;
      case verdict::broken:
        if (t.broken++ == 0) t.first_problem = why;
        break;
    }
  };
  for (std::size_t k = 0; k < run.mem_at.size(); ++k) {
    const auto& m = run.mem_at[k];
    const auto& d = run.durable_at[k];
    judge_one(d);
    judge_one(m);
    for (int i = 0; i < mixes; ++i) judge_one(mix(m, d, i % 2 == 0 ? 4 : sim::page, rng));
    // The header's records, word by word: the disk with exactly one of its dirty words landed
    // (a record's state word written back before the words it describes, say).
    for (std::uint64_t off = 0; off < bank_format::header_size; off += 4) {
      if (std::memcmp(m.data() + off, d.data() + off, 4) == 0) continue;
      std::vector<std::byte> one = d;
      std::memcpy(one.data() + off, m.data() + off, 4);
      judge_one(one);
    }
  }
  // After the call returned: the disk alone holds its result.
  std::string why;
  t.durable_on_return = judge(run.durable, before, after, why) == verdict::after;
  if (!t.durable_on_return && t.first_problem.empty()) t.first_problem = "not on disk: " + why;
  return t;
}

// The operations, each on a base of five blocks laid out so that frees coalesce and creates
// split free extents.
void base_blocks(sim_bank& b) {
  const std::pair<const char*, std::uint64_t> blocks[] = {
      {"left", 2 * 4096}, {"middle", 4096}, {"right", 3 * 4096}, {"spacer", 100}, {"tail", 5000}};
  for (const auto& [name, size] : blocks) {
    auto x = b.find_or_create(name, size, name[0] == 'm' || name[0] == 's' ? "" : "K");
    REQUIRE(x);
    std::memset(x->data, name[0], x->size);
  }
}

struct scenario {
  const char* what;
  void (*prepare)(sim_bank&);
  void (*op)(sim_bank&);
};

const scenario scenarios[] = {
    {"create (splits a free extent)", base_blocks,
     [](sim_bank& b) { REQUIRE(b.find_or_create("fresh", 9000, "K")); }},
    {"free (neighbours used)", base_blocks, [](sim_bank& b) { REQUIRE(b.free("middle")); }},
    {"free (coalesces on both sides)",
     [](sim_bank& b) {
       base_blocks(b);
       REQUIRE(b.free("left"));
       REQUIRE(b.free("right"));
     },
     [](sim_bank& b) { REQUIRE(b.free("middle")); }},
    {"replace", base_blocks, [](sim_bank& b) { REQUIRE(b.replace("middle", "tail")); }},
    {"free_all", base_blocks, [](sim_bank& b) { REQUIRE(b.free_all("K")); }},
};

}  // namespace

#ifndef HR_EXPECT_UNORDERED
TEST_CASE("durable mode: a power cut at any instant leaves the bank as before or after") {
  long points = 0, images = 0;
  for (const scenario& s : scenarios) {
    CAPTURE(s.what);
    const tally t = power_cut(true, s.prepare, s.op);
    CHECK_MESSAGE(t.broken == 0, t.broken, " broken images; first: ", t.first_problem);
    CHECK_MESSAGE(t.durable_on_return, t.first_problem);
    // Both outcomes occur: early cuts lose the call, late ones keep it.
    CHECK(t.before > 0);
    CHECK(t.after > 0);
    points += t.points;
    images += t.images;
  }
  MESSAGE("power-cut instants: ", points, ", images judged: ", images);
}

TEST_CASE("negative control: without durable mode the same power cuts break the bank") {
  long broken = 0, lost = 0;
  for (const scenario& s : scenarios) {
    const tally t = power_cut(false, s.prepare, s.op);
    broken += t.broken;
    lost += t.durable_on_return ? 0 : 1;
  }
  MESSAGE("without durable mode: ", broken, " broken images, ", lost, " calls not on disk");
  CHECK(lost == static_cast<long>(std::size(scenarios)));  // nothing was ever flushed
  CHECK(broken > 0);                                       // unordered writes tear metadata
}

TEST_CASE("durable mode is refused by a backend that cannot flush, and recorded in the bank") {
  alignas(64) static std::byte mem[64 * 4096];
  HR_CHECK_ERR(basic_bank<span_backend>::create(std::span<std::byte>(mem), {.durable = true}),
               errc::bad_tunables);
  sim::disk d;
  REQUIRE(sim_bank::create(&d, {.bank_size = 16 * 4096, .max_blocks = 8, .durable = true}));
  // Not told: adopted. Told otherwise: refused.
  HR_REQUIRE_OK(sim_bank::open_or_create(&d, {.bank_size = 16 * 4096, .max_blocks = 8}));
  auto again = sim_bank::open_or_create(&d, {.bank_size = 16 * 4096, .durable = false});
  HR_CHECK_ERR(again, errc::tunables_mismatch);
  auto b = sim_bank::open(&d);
  REQUIRE(b);
  CHECK(b->layout().durable);
  const long before = d.flushes;
  REQUIRE(b->find_or_create("x", 10));
  CHECK(d.flushes - before >= 4);  // the ordered steps of one commit
}

TEST_CASE("durable mode: a failed flush leaves the operation undone or done, never half") {
  // Every flush of a create fails in turn: before the commit point the call is undone, after
  // it the call has happened in memory (applied, the record idle); both answer io_error.
  const tunables t{.bank_size = 64 * 4096, .max_blocks = 16, .durable = true};
  long flushes = 0;
  {
    sim::disk d;
    auto b = sim_bank::create(&d, t);
    REQUIRE(b);
    const long before = d.flushes;
    REQUIRE(b->find_or_create("fresh", 9000, "K"));
    flushes = d.flushes - before;
  }
  REQUIRE(flushes >= 4);
  int undone = 0, done = 0;
  for (long k = 0; k < flushes; ++k) {
    CAPTURE(k);
    sim::disk d;
    auto b = sim_bank::create(&d, t);
    REQUIRE(b);
    d.fail_flush = d.flushes + k;
    HR_CHECK_ERR(b->find_or_create("fresh", 9000, "K"), errc::io_error);
    CHECK_FALSE(detail::journal::pending(d.mem.data()));  // nothing left for a repair to do
    hrtest::require_consistent(*b);
    auto f = b->find("fresh");
    (f ? done : undone) += 1;
    if (f) CHECK(f->size == 9000);
    // The bank goes on: the next operations flush again and succeed.
    HR_REQUIRE_OK(b->find_or_create("next", 100));
  }
  CHECK(undone > 0);
  CHECK(done > 0);
}

// Node loss (issue 18): node A serves a durable bank on shared storage and is lost at an
// instant: what it had not flushed is dropped (the disk alone, D), or partly written back (a
// mixture of pages). Node B, another kernel (another boot id), opens the disk's bank as a real
// file: the lock A's boot made is made again, check() is clean, the counter is the value A last
// flushed (D; a mixture may hold the next one), and every block A created is there.
struct node_loss_result {
  long instants = 0, images = 0, bad = 0, newer = 0;
  std::string first;
};

node_loss_result node_loss(bool durable) {
  node_loss_result r;
  sim::disk a;
  std::uint64_t counter_off = 0;
  {
    auto b = sim_bank::create(&a, {.bank_size = 48 * 4096, .max_blocks = 16, .durable = durable});
    REQUIRE(b);
    auto c = b->find_or_create("counter", sizeof(std::uint64_t));
    REQUIRE(c);
    counter_off = static_cast<std::uint64_t>(c->data - b->backend().data());
    // Node A's lock: the mutex stamp of its boot, as its mmap backend left it.
    std::byte* area = a.mem.data() + bank_format::lock_area;
    const std::uint32_t stamp[2] = {detail::pmutex_stamp,
                                    static_cast<std::uint32_t>(sizeof(pthread_mutex_t))};
    std::memcpy(area + detail::pmutex_bytes, stamp, sizeof stamp);
    std::memcpy(area + detail::boot_id_offset, "node-a-boot-0000000000000000000000000", 36);
    a.durable = a.mem;  // the base is on disk (as a flush of everything)
  }
  sim::current = &a;
  constexpr long steps = 4;
  {
    auto b = sim_bank::open(&a);
    REQUIRE(b);
    a.recording = true;
    for (long i = 1; i <= steps; ++i) {
      const auto v = static_cast<std::uint64_t>(i);
      std::memcpy(a.mem.data() + counter_off, &v, sizeof v);
      sim_crash_point();  // the new value in memory only
      // The member's commit of its counter: a flush (durable mode), or none.
      if (durable) REQUIRE(b->backend().flush_range(counter_off, sizeof v));
      a.flushed = i;
      REQUIRE(b->find_or_create("session-" + std::to_string(i), 3000, "K"));
      a.done = i;
    }
    a.recording = false;
  }
  sim::current = nullptr;
  r.instants = static_cast<long>(a.mem_at.size());
  const std::string path = "/dev/shm/hr-node-loss-" + std::to_string(::getpid()) + ".bank";
  std::mt19937_64 rng(0x10057);
  auto bad = [&](const std::string& why) {
    if (r.bad++ == 0) r.first = why;
  };
  auto node_b_opens = [&](const std::vector<std::byte>& disk, long flushed, long done, bool exact) {
    ++r.images;
    ::unlink(path.c_str());
    {
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(disk.data()),
                static_cast<std::streamsize>(disk.size()));
    }
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    auto b = mmap_bank::open(path.c_str());
    if (!b) return bad("open: " + hrtest::text(b.error()));
    const std::byte* area = b->backend().data() + bank_format::lock_area;
    if (std::memcmp(area + detail::boot_id_offset, "node-b-boot", 11) != 0)
      return bad("the lock of node A's boot was not made again");
    std::string problems;
    auto n = b->check([&](const error& e) { problems += hrtest::text(e) + "; "; });
    if (!n || *n != 0) return bad("check: " + problems);
    auto c = b->find("counter");
    if (!c) return bad("no counter");
    std::uint64_t v = 0;
    std::memcpy(&v, c->data, sizeof v);
    const auto f = static_cast<std::uint64_t>(flushed);
    if (v != f && (exact || v != f + 1))
      return bad("counter " + std::to_string(v) + ", last flushed " + std::to_string(f));
    r.newer += v != f ? 1 : 0;
    for (long j = 1; j <= steps; ++j) {
      const bool there = b->find("session-" + std::to_string(j)).has_value();
      if (j <= done && !there) return bad("session-" + std::to_string(j) + " lost");
      if (j > done + 1 && there) return bad("session-" + std::to_string(j) + " too early");
    }
    // B goes on with the bank: a block of its own.
    if (!b->find_or_create("node-b", 100)) return bad("node B cannot create a block");
  };
  for (std::size_t k = 0; k < a.mem_at.size(); ++k) {
    const auto [flushed, done] = a.flushed_at[k];
    node_b_opens(a.durable_at[k], flushed, done, true);
    node_b_opens(mix(a.mem_at[k], a.durable_at[k], sim::page, rng), flushed, done, false);
  }
  ::unlink(path.c_str());
  return r;
}

TEST_CASE("node loss: the other node opens the durable bank as the lost node last flushed it") {
  ::setenv("HR_TEST_BOOT_ID", "node-b-boot", 1);  // this process plays node B (read once)
  REQUIRE(std::strncmp(detail::this_boot(), "node-b-boot", 11) == 0);
  const node_loss_result r = node_loss(true);
  CHECK(r.instants > 8);
  CHECK_MESSAGE(r.bad == 0, r.bad, " images wrong; first: ", r.first);
  MESSAGE("node loss: ", r.instants, " instants, ", r.images, " images opened by node B, ", r.newer,
          " with the unflushed counter written back");
  // Negative control: the same life without durable mode (no flush) loses what node A did.
  const node_loss_result c = node_loss(false);
  MESSAGE("without durable mode: ", c.bad, " of ", c.images, " images wrong; first: ", c.first);
  CHECK(c.bad > 0);
}

#else
TEST_CASE("negative control: a commit without its first flush is caught by the power cuts") {
  long broken = 0;
  for (const scenario& s : scenarios) broken += power_cut(true, s.prepare, s.op).broken;
  MESSAGE("unordered commit: ", broken, " broken images");
  CHECK(broken > 0);
}
#endif
