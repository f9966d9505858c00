// SPDX-License-Identifier: MIT
// Untrusted banks (nothing read from a bank is trusted unchecked): opens arbitrary bytes as a bank and, when they open, runs every kind
// of operation on them. Nothing may crash, read or write outside the bytes, or trip a
// sanitizer; a corrupt bank must be refused or reported (errc::corrupt), never followed. And a
// bank that check() finds consistent when it opens must stay consistent: no operation on it
// may report corruption, its statistics must agree with its blocks, and check() must still
// find nothing at the end (a violation traps, which libFuzzer and the replay report).
//
// The bank lives in a static arena whose bytes past the input (and a guard page before it)
// are poisoned for AddressSanitizer on every input: a library read or write past the bank's
// last byte is reported at once, not lost in a large buffer.
//
// Built as a libFuzzer target with clang (-DHOTRESTART_FUZZ=ON, .ci/jobs/10-fuzz.sh) and, in
// every build, as a replay program over the seed corpus (ctest fuzz_corpus_replay).
//
// Negative controls: the same real bank code with one faulty policy.
// - HR_FUZZ_PLANT_OOB: a backend whose size() is one 64-byte page larger than the bytes it was
//   given. The bank's "is the region as long as the header says" check is then off by one
//   page: a bank truncated by up to 64 bytes is accepted and its last page lies past the
//   input. The fuzzer must find that (AddressSanitizer: use-after-poison).
// - HR_FUZZ_PLANT_LEAK: an allocator whose deallocate never gives the pages back. A consistent
//   bank becomes inconsistent at its first free; the replay of the seeds must trap.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <hotrestart/bank.hpp>

#include "bank_audit.hpp"
#include "fuzz_outcome.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define HR_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HR_FUZZ_ASAN 1
#endif
#endif
#ifdef HR_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define HR_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define HR_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define HR_POISON(p, n) ((void)(p), (void)(n))
#define HR_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace {

using namespace hotrestart;

#ifdef HR_FUZZ_PLANT_OOB
// The planted fault: a span backend that claims one page more than it has.
class lying_span_backend {
 public:
  using location = std::span<std::byte>;
  static constexpr bool reformats_foreign_memory = true;
  static constexpr std::uint64_t slack = 64;
  static constexpr std::uint32_t native_page_size() { return span_backend::native_page_size(); }
  static result<lying_span_backend> create(location, std::uint64_t, region_init) {
    return fail(errc::io_error, "the planted backend only opens");
  }
  static result<lying_span_backend> open(location where) {
    auto b = span_backend::open(where);
    if (!b) return fail(b.error());
    return lying_span_backend(std::move(*b));
  }
  std::byte* data() const { return inner_.data(); }
  std::uint64_t size() const { return inner_.size() + slack; }  // off by one page
  result<lock_outcome> lock() const noexcept { return inner_.lock(); }
  void repaired() const noexcept { inner_.repaired(); }
  void unlock() const noexcept { inner_.unlock(); }

 private:
  explicit lying_span_backend(span_backend&& b) : inner_(std::move(b)) {}
  span_backend inner_;
};
static_assert(bank_backend<lying_span_backend>);
using fuzz_backend = lying_span_backend;
#else
using fuzz_backend = span_backend;
#endif

#ifdef HR_FUZZ_PLANT_LEAK
// The planted fault: freed pages are never returned to the free lists.
struct leaky_allocator : extent_allocator {
  using extent_allocator::extent_allocator;
  result<void> deallocate(bank_txn&, std::uint32_t, std::uint32_t) const { return {}; }
};
static_assert(block_allocator<leaky_allocator>);
using fuzz_allocator = leaky_allocator;
#else
using fuzz_allocator = extent_allocator;
#endif

using fuzz_bank = basic_bank<fuzz_backend, fuzz_allocator>;

constexpr std::size_t max_input = 1u << 20;
constexpr std::size_t guard = 4096;
alignas(4096) std::byte g_arena[guard + max_input];
std::byte* const g_mem = g_arena + guard;
volatile unsigned g_sink = 0;
hr_fuzz_outcome g_outcome;

struct count_problems {
  std::uint32_t* n;
  void operator()(const error& e) const {
    ++*n;
    (void)describe(e);  // formatting every report must be safe too
  }
};

// A consistent bank broke a promise: stop here, loudly (libFuzzer saves the input).
[[noreturn]] void violated(const char* what, const error* e = nullptr) {
  std::fprintf(stderr, "bank_fuzz: a bank that check() found consistent at open: %s\n", what);
  if (e != nullptr) std::fprintf(stderr, "bank_fuzz: %s\n", describe(*e).text);
  std::fflush(stderr);
  __builtin_trap();
}

// On a consistent bank an operation may fail for its arguments or for space, never for
// corruption (nor lock trouble: the span backend's lock cannot fail).
template <class R>
void expect_no_damage(bool clean, const R& r, const char* op) {
  if (!clean || r.has_value()) return;
  const errc c = r.error().code;
  if (c == errc::corrupt || c == errc::lock_failed || c == errc::io_error) violated(op, &r.error());
}

void audit(fuzz_bank& b) {
  auto a = hrtest::audit_bank(b);
  if (!a) violated("for_each failed", &a.error());
  auto s = b.stats();
  if (!s) violated("stats failed", &s.error());
  if (const char* why = hrtest::compare_stats(*s, *a, b.layout())) violated(why);
}

std::uint32_t problems(fuzz_bank& b) {
  std::uint32_t n = 0;
  auto c = b.check(count_problems{&n});
  return c ? n : 1u;
}

}  // namespace

extern "C" const hr_fuzz_outcome* hr_fuzz_last_outcome() {
  return &g_outcome;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > max_input) return -1;
  static bool poisoned = false;
  if (!poisoned) {
    HR_POISON(g_arena, sizeof g_arena);
    poisoned = true;
  }
  g_outcome = {};
  HR_UNPOISON(g_mem, size);
  if (size != 0) std::memcpy(g_mem, data, size);
  struct repoison {
    std::size_t n;
    ~repoison() { HR_POISON(g_mem, n); }
  } repoison_at_exit{size};

  auto b = fuzz_bank::open(std::span<std::byte>(g_mem, size));
  if (!b) {
    g_outcome.refused = b.error().code;
    (void)describe(b.error());
    return 0;
  }
  g_outcome.opened = true;
  const std::uint32_t at_open = problems(*b);
  g_outcome.problems_at_open = at_open;
  const bool clean = at_open == 0;
  auto st = b->stats();
  expect_no_damage(clean, st, "stats");
  if (clean) audit(*b);

  // Every name the bank lists: find it, and read the whole block it names.
  char names[8][33] = {};
  std::size_t lens[8] = {};
  std::uint32_t listed = 0;
  unsigned sum = 0;
  auto each = b->for_each([&](const block_info& i) {
    if (listed < 8) {
      lens[listed] = i.name.size() < 32 ? i.name.size() : 32;
      std::memcpy(names[listed], i.name.data(), lens[listed]);
      ++listed;
    }
  });
  expect_no_damage(clean, each, "for_each");
  for (std::uint32_t i = 0; i < listed; ++i) {
    auto f = b->find(std::string_view(names[i], lens[i]));
    expect_no_damage(clean, f, "find of a listed name");
    if (!f) continue;
    const volatile std::byte* bytes = f->data;
    for (std::uint64_t k = 0; k < f->capacity; k += 61) sum += static_cast<unsigned>(bytes[k]);
    if (f->capacity > 0) sum += static_cast<unsigned>(bytes[f->capacity - 1]);
  }
  // Writes, on whatever opened: each must succeed or fail cleanly.
  expect_no_damage(clean, b->find_or_create("fz.new", 1 + size % 700, "K"), "find_or_create");
  if (listed > 0) {
    expect_no_damage(clean, b->replace(std::string_view(names[0], lens[0]), "fz.new"), "replace");
    expect_no_damage(clean, b->free(std::string_view(names[listed - 1], lens[listed - 1])), "free");
  }
  expect_no_damage(clean, b->find_or_create("fz.two", 100), "find_or_create");
  // Fill the largest free extent (the bank's last pages, when they are free).
  if (auto s = b->stats(); s && s->largest_free > 0) {
    auto big = b->find_or_create("fz.big", s->largest_free, "K");
    expect_no_damage(clean, big, "find_or_create of the largest free extent");
    if (clean && !big && big.error().code != errc::block_table_full &&
        big.error().code != errc::size_exceeds_block)
      violated("a block of largest_free bytes could not be created", &big.error());
  }
  if (clean) audit(*b);
  expect_no_damage(clean, b->free_all("K"), "free_all");
  expect_no_damage(clean, b->free("fz.two"), "free");
  if (clean) {
    audit(*b);
    if (problems(*b) != 0) violated("check() finds problems after the operations");
  }
  g_sink = g_sink + sum;  // the reads of the blocks' bytes must happen
  return 0;
}
