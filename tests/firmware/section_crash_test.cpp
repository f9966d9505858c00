// SPDX-License-Identifier: MIT
// A warm reset in the middle of a bank operation on the section backend (host simulation over
// section_backend_ext memory). The store hook keeps an image of the region before every 32-bit
// store an operation makes (its metadata, its intent record, its lock word); each image is what
// RAM holds when the chip resets right there. For every store k of every operation, plain and
// torn (some bytes of the k-th store landed, the others not), the image is "booted": the
// backend adopts the lock (held at the reset: stale, so the bank repairs from its intent
// record), boot_bank must keep the bank (never reformat it), check() must find nothing, and the
// operation must have happened or not, every block committed before holding its bytes. A reset
// during that repair is enumerated too. Built with HOTRESTART_STORE_HOOK=hr_section_store_hook;
// the negative control builds it again without recovery (HOTRESTART_TESTONLY_NO_RECOVERY).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <hotrestart/backends/section.hpp>
#include <hotrestart/bank.hpp>

#include "support.hpp"

namespace {

// What the store hook records: the region before the store, and the store itself.
struct cut_point {
  std::vector<std::byte> image;
  std::uint64_t offset;
  std::uint32_t value;
};

struct recorder {
  std::byte* begin = nullptr;
  std::size_t bytes = 0;
  bool on = false;
  std::vector<cut_point> points;
};
recorder rec;

}  // namespace

bool hr_section_store_hook(std::uint32_t* word, std::uint32_t value) {
  auto* p = reinterpret_cast<std::byte*>(word);
  if (rec.on && p >= rec.begin && p < rec.begin + rec.bytes)
    rec.points.push_back({std::vector<std::byte>(rec.begin, rec.begin + rec.bytes),
                          static_cast<std::uint64_t>(p - rec.begin), value});
  return false;  // the store happens: the run goes on to the next point
}

namespace {
using namespace hotrestart;

constexpr tunables small{.bank_size = 16 * 1024, .max_blocks = 16};
constexpr std::size_t region_bytes = 32 * 1024;

// 64-byte aligned RAM standing for the bank section.
struct ram {
  struct release {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, release> mem{std::aligned_alloc(64, region_bytes)};
  std::span<std::byte> span() const { return {static_cast<std::byte*>(mem.get()), region_bytes}; }
  void load(const std::vector<std::byte>& image) {
    std::memcpy(mem.get(), image.data(), region_bytes);
  }
  std::vector<std::byte> save() const { return {span().begin(), span().end()}; }
};

struct blk {
  std::uint64_t size;
  int fill;
  std::string key;
};
using block_map = std::map<std::string, blk>;

// Blocks laid out so that frees coalesce on both sides and creates split a free extent.
block_map make_base(ram& r) {
  block_map blocks = {{"left", {2 * 256, 11, "K"}},
                      {"middle", {256, 22, ""}},
                      {"right", {3 * 256, 33, "K"}},
                      {"spacer", {100, 44, ""}},
                      {"tail", {1200, 55, "K"}}};
  std::memset(r.span().data(), 0xA5, region_bytes);  // power-on garbage
  auto b = boot_bank<section_bank_ext>(r.span(), small);
  REQUIRE(b);
  REQUIRE(b->kind == boot_kind::formatted_blank);
  for (const char* n : {"left", "middle", "right", "spacer", "tail"}) {
    auto x = b->bank.find_or_create(n, blocks[n].size, blocks[n].key);
    REQUIRE(x);
    std::memset(x->data, blocks[n].fill, x->size);
  }
  return blocks;
}

enum class outcome { rolled_back, completed };

// The expectations of one operation after a reset anywhere inside it.
struct operation {
  const char* what;
  void (*run)(section_bank_ext&);
  std::vector<std::string> may_vanish;  // committed blocks the operation frees
  std::string may_appear;               // the block it creates, if any
  bool replace = false;                 // "middle" replaced by "tail"
};

// After a reset and a boot: the bank was kept and is consistent, and the operation happened
// or not. Returns which, or fails the test case.
outcome verify(section_bank_ext& b, const block_map& committed, const operation& op,
               const std::string& where) {
  std::string problems;
  auto n = b.check([&](const error& e) { problems += hrtest::text(e) + "; "; });
  REQUIRE_MESSAGE(n, where, ": ", hrtest::text(n.error()));
  CHECK_MESSAGE(*n == 0u, "problems after a cut at ", where, ": ", problems);
  if (op.replace) {
    auto m = b.find("middle");
    REQUIRE_MESSAGE(m, "middle lost after a cut at ", where);
    const bool done = !b.find("tail");
    const blk& want = committed.at(done ? "tail" : "middle");
    CHECK_MESSAGE(m->size == want.size, "middle's size after a cut at ", where);
    bool intact = true;
    for (std::uint64_t i = 0; i < want.size; ++i)
      intact = intact && m->data[i] == static_cast<std::byte>(want.fill);
    CHECK_MESSAGE(intact, "middle's bytes after a cut at ", where);
    return done ? outcome::completed : outcome::rolled_back;
  }
  std::uint32_t present = 0;
  bool vanished = false;
  for (const auto& entry : committed) {
    // Not a structured binding: clang 14 cannot capture one in doctest's message lambdas.
    const auto& name = entry.first;
    const auto& x = entry.second;
    auto f = b.find(name);
    if (!f) {
      const bool allowed =
          std::find(op.may_vanish.begin(), op.may_vanish.end(), name) != op.may_vanish.end();
      CHECK_MESSAGE(allowed, name, " lost after a cut at ", where);
      vanished = true;
      continue;
    }
    ++present;
    bool intact = f->size == x.size;
    for (std::uint64_t i = 0; intact && i < x.size; ++i)
      intact = f->data[i] == static_cast<std::byte>(x.fill);
    CHECK_MESSAGE(intact, name, "'s bytes after a cut at ", where);
  }
  const bool appeared = !op.may_appear.empty() && b.find(op.may_appear).has_value();
  auto st = b.stats();
  REQUIRE(st);
  CHECK_MESSAGE(st->blocks == present + (appeared ? 1u : 0u), "block count after a cut at ", where);
  // free_all frees one block per transaction: a reset between two of them keeps the first
  // freed; a partly applied single transaction is what must never be seen.
  return appeared || vanished ? outcome::completed : outcome::rolled_back;
}

// Boots the RAM as the next boot would and checks it; the bank stays usable afterwards.
outcome boot_and_verify(ram& r, const block_map& committed, const operation& op,
                        const std::string& where) {
  // A reset came while the operation held the lock: the word says so until the next open.
  auto b = boot_bank<section_bank_ext>(r.span(), small);
  REQUIRE_MESSAGE(b, where, ": ", hrtest::text(b.error()));
  CHECK_MESSAGE(b->kind == boot_kind::kept, "the bank was reformatted after a cut at ", where, ": ",
                hrtest::text(b->reason));
  const outcome o = verify(b->bank, committed, op, where);
  auto after = b->bank.find_or_create("after.reset", 10);
  CHECK_MESSAGE(after, "the bank refuses work after a cut at ", where);
  return o;
}

// Records every store of `op` on the base bank; the RAM holds the base again afterwards.
std::vector<cut_point> record(ram& r, const std::vector<std::byte>& base, const operation& op) {
  r.load(base);
  auto b = section_bank_ext::open(r.span());
  REQUIRE(b);
  rec = {r.span().data(), region_bytes, true, {}};
  op.run(*b);
  rec.on = false;
  r.load(base);
  return std::move(rec.points);
}

void free_middle(section_bank_ext& b) {
  REQUIRE(b.free("middle"));
}

const operation operations[] = {
    {"create (splits a free extent)",
     [](section_bank_ext& b) { REQUIRE(b.find_or_create("fresh", 700, "K")); },
     {},
     "fresh"},
    {"free (neighbours used)", free_middle, {"middle"}, ""},
    {"free_all K (three transactions)",
     [](section_bank_ext& b) { REQUIRE(b.free_all("K")); },
     {"left", "right", "tail"},
     ""},
    {"replace middle by tail",
     [](section_bank_ext& b) { REQUIRE(b.replace("middle", "tail")); },
     {},
     "",
     true},
};

struct tally {
  long cuts = 0, rolled_back = 0, completed = 0;
  void add(outcome o) {
    ++cuts;
    (o == outcome::completed ? completed : rolled_back) += 1;
  }
};

// Runs `f(ram, committed blocks, operation, its cut points)` for every operation, each time on
// the base bank; `f` returns how many cuts it booted. Returns the total.
template <class F>
long for_each_operation(F&& f) {
  ram r;
  const block_map blocks = make_base(r);
  const std::vector<std::byte> base = r.save();
  long total = 0;
  for (const operation& op : operations) {
    const std::string what = op.what;
    CAPTURE(what);
    total += f(r, blocks, op, record(r, base, op));
  }
  return total;
}

std::string at(const operation& op, std::size_t k) {
  return std::string(op.what) + " store " + std::to_string(k + 1);
}

}  // namespace

TEST_CASE("section backend: a reset at every store of every operation leaves a bank that boots") {
  const long total = for_each_operation([](ram& r, const block_map& blocks, const operation& op,
                                           const std::vector<cut_point>& points) {
    REQUIRE(points.size() > 10);
    tally t;
    for (std::size_t k = 0; k < points.size(); ++k) {
      // Every store of an operation is made with the lock held (the last one releases it).
      CHECK(detail::load32(points[k].image.data() + bank_format::lock_area,
                           detail::section::lock_word) == detail::section::lock_held);
      r.load(points[k].image);
      t.add(boot_and_verify(r, blocks, op, at(op, k)));
    }
    // The cuts fell on both sides of the commit.
    CHECK(t.rolled_back > 0);
    CHECK(t.completed > 0);
    MESSAGE(std::string(op.what), ": ", t.cuts, " cuts, ", t.rolled_back, " rolled back, ",
            t.completed, " completed");
    return t.cuts;
  });
  MESSAGE("section cuts enumerated: ", total);
}

TEST_CASE(
    "section backend: a torn store at every point of every operation leaves a bank that boots") {
  // Which bytes of the new value landed: half-words and single bytes (a narrow bus, a write
  // buffer cut by the reset). A store that did not land at all is the plain cut above.
  static constexpr std::uint32_t masks[] = {0x0000FFFFu, 0xFFFF0000u, 0x00FF00FFu, 0xFF000000u,
                                            0x000000FFu};
  const long total = for_each_operation([](ram& r, const block_map& blocks, const operation& op,
                                           const std::vector<cut_point>& points) {
    long n = 0;
    for (const std::uint32_t mask : masks) {
      char tag[32];
      std::snprintf(tag, sizeof tag, " torn %08x", mask);
      for (std::size_t k = 0; k < points.size(); ++k) {
        const cut_point& p = points[k];
        r.load(p.image);
        auto* w = reinterpret_cast<std::uint32_t*>(r.span().data() + p.offset);
        *w = (p.value & mask) | (*w & ~mask);
        (void)boot_and_verify(r, blocks, op, at(op, k) + tag);
        ++n;
      }
    }
    return n;
  });
  MESSAGE("torn section cuts enumerated: ", total);
}

TEST_CASE("section backend: a reset during the repair at boot is repaired at the next boot") {
  const long total = for_each_operation([](ram& r, const block_map& blocks, const operation& op,
                                           const std::vector<cut_point>& points) {
    long n = 0;
    for (std::size_t k = 0; k < points.size(); ++k) {
      r.load(points[k].image);
      // The boot that repairs, recorded store by store, then cut at each of its stores.
      rec = {r.span().data(), region_bytes, true, {}};
      {
        auto b = boot_bank<section_bank_ext>(r.span(), small);
        REQUIRE(b);
      }
      rec.on = false;
      const std::vector<cut_point> repair = std::move(rec.points);
      for (std::size_t j = 0; j < repair.size(); ++j) {
        r.load(repair[j].image);
        (void)boot_and_verify(r, blocks, op,
                              at(op, k) + ", then its repair at store " + std::to_string(j + 1));
        ++n;
      }
    }
    return n;
  });
  CHECK(total > 0);
  MESSAGE("cuts during repair enumerated: ", total);
}
