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
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

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
};
inline disk* current = nullptr;

}  // namespace sim

void sim_crash_point() {  // before every store, and before every flush (sim_backend)
  sim::disk* d = sim::current;
  if (d == nullptr || !d->recording) return;
  d->mem_at.push_back(d->mem);
  d->durable_at.push_back(d->durable);
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
#else
TEST_CASE("negative control: a commit without its first flush is caught by the power cuts") {
  long broken = 0;
  for (const scenario& s : scenarios) broken += power_cut(true, s.prepare, s.op).broken;
  MESSAGE("unordered commit: ", broken, " broken images");
  CHECK(broken > 0);
}
#endif
