// SPDX-License-Identifier: MIT
// Untrusted banks (P3): opens arbitrary bytes as a bank and, when they open, runs every kind
// of operation on them. Nothing may crash, read or write outside the bytes, or trip a
// sanitizer; a corrupt bank must be refused or reported (errc::corrupt), never followed.
//
// Built as a libFuzzer target with clang (-DHOTRESTART_FUZZ=ON, .ci/jobs/10-fuzz.sh) and, in
// every build, as a replay program over the seed corpus (ctest fuzz_corpus_replay).
// HR_FUZZ_PLANT_BUG plants an out-of-bounds read (negative control: the fuzzer must find it).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <hotrestart/bank.hpp>

using fuzz_bank = hotrestart::basic_bank<hotrestart::span_backend>;

namespace {

constexpr std::size_t max_input = 1u << 20;
alignas(64) std::byte g_mem[max_input];
volatile unsigned g_sink = 0;

struct count_problems {
  std::uint32_t* n;
  void operator()(const hotrestart::error& e) const {
    ++*n;
    (void)hotrestart::describe(e);  // formatting every report must be safe too
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > max_input) return -1;
  std::memcpy(g_mem, data, size);
  auto b = fuzz_bank::open(std::span<std::byte>(g_mem, size));
  if (!b) {
    (void)hotrestart::describe(b.error());
    return 0;
  }
  std::uint32_t problems = 0;
  (void)b->check(count_problems{&problems});
  (void)b->stats();
  // Every name the bank lists: find it, and read the whole block it names.
  char names[8][33] = {};
  std::size_t lens[8] = {};
  std::uint32_t listed = 0;
  unsigned sum = 0;
  (void)b->for_each([&](const hotrestart::block_info& i) {
#ifdef HR_FUZZ_PLANT_BUG
    // Negative control: a planted out-of-bounds read the fuzzer must find.
    // (a block whose name has a capital second letter: no seed has one, one byte makes one)
    if (i.name.size() > 1 && i.name[1] >= 'A' && i.name[1] <= 'Z')
      sum += static_cast<unsigned>(static_cast<const volatile std::uint8_t*>(data)[size + 16]);
#endif
    if (listed < 8) {
      lens[listed] = i.name.size() < 32 ? i.name.size() : 32;
      std::memcpy(names[listed], i.name.data(), lens[listed]);
      ++listed;
    }
  });
  for (std::uint32_t i = 0; i < listed; ++i) {
    auto f = b->find(std::string_view(names[i], lens[i]));
    if (f)
      for (std::uint64_t k = 0; k < f->capacity; k += 61) sum += static_cast<unsigned>(f->data[k]);
  }
  // Writes, on whatever opened: each must succeed or fail cleanly.
  (void)b->find_or_create("fz.new", 1 + size % 700, "K");
  if (listed > 0) {
    (void)b->replace(std::string_view(names[0], lens[0]), "fz.new");
    (void)b->free(std::string_view(names[listed - 1], lens[listed - 1]));
  }
  (void)b->find_or_create("fz.two", 100);
  (void)b->free_all("K");
  (void)b->free("fz.two");
  problems = 0;
  (void)b->check(count_problems{&problems});
  // A bank that was consistent when it opened stays consistent through all of the above.
  g_sink = g_sink + sum;  // the reads of the blocks' bytes must happen
  return 0;
}
