// SPDX-License-Identifier: MIT
// A restartable member that writes blocks, for the snapshot tests (snapshot.sh). Its blocks
// have no deletion key: they stay when its group ends.
//   fill N SIZE GEN   blocks data-0..N-1 of SIZE bytes, each 8-byte word a function of
//                     (block, word, GEN); exits cleanly
//   digest N          prints "data-I HASH" for each block (FNV-1a 64 of its bytes); exits cleanly
//   churn STOPFILE    until STOPFILE exists: rewrites block "churn" (1 MiB) word by word with a
//                     rising generation, creates and frees blocks tmp-0..7 of varying sizes;
//                     prints "churning" once, then "churned N" at the end; exits cleanly
// Outside hrctl, on a bank file (a snapshot), opened without changing a block:
//   create BANK BYTES a new bank file with one plain block "app" (a bank hrctl never saw)
//   check-churn BANK  exit 0 if block "churn" is as a writer stopped at one instant leaves it:
//                     every word is generation G, or words [0, k) are G and the rest G - 1
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/posix/process.hpp>

using namespace hotrestart;

namespace {
std::uint64_t word(std::uint64_t block, std::uint64_t i, std::uint64_t gen) {
  std::uint64_t x = (block + 1) * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xC2B2AE3D27D4EB4Full ^ gen;
  x ^= x >> 29;
  return x * 0xBF58476D1CE4E5B9ull;
}
}  // namespace

int check_churn(const char* path) {
  auto bank = mmap_bank::open(path);
  if (!bank) {
    std::fprintf(stderr, "check-churn: %s\n", describe(bank.error()).text);
    return 2;
  }
  auto blk = bank->find("churn");
  if (!blk) return 2;
  std::vector<std::uint64_t> runs;  // the generations, one per run of equal words
  for (std::uint64_t i = 0; i < blk->size / 8; ++i) {
    std::uint64_t w = 0;
    std::memcpy(&w, blk->data + i * 8, 8);
    if (runs.empty() || runs.back() != w) runs.push_back(w);
  }
  std::printf("churn generations:");
  for (const auto g : runs) std::printf(" %llu", static_cast<unsigned long long>(g));
  std::printf("\n");
  const bool instant = runs.size() == 1 || (runs.size() == 2 && runs[0] == runs[1] + 1);
  return instant ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "check-churn") == 0) return check_churn(argv[2]);
  if (argc == 4 && std::strcmp(argv[1], "create") == 0) {
    tunables t;
    t.bank_size = std::strtoull(argv[3], nullptr, 10);
    auto bank = mmap_bank::create(argv[2], t);
    if (!bank || !bank->find_or_create("app", 4096)) {
      std::fprintf(stderr, "create: cannot make %s\n", argv[2]);
      return 1;
    }
    return 0;
  }
  auto self = posix::process::attach();
  if (!self) {
    std::fprintf(stderr, "writer: %s\n", describe(self.error()).text);
    return 99;
  }
  const std::string mode = argc > 1 ? argv[1] : "";
  auto& bank = self->bank();
  if (mode == "fill" && argc == 5) {
    const auto n = std::strtoull(argv[2], nullptr, 10), size = std::strtoull(argv[3], nullptr, 10),
               gen = std::strtoull(argv[4], nullptr, 10);
    for (std::uint64_t b = 0; b < n; ++b) {
      auto blk = bank.find_or_create("data-" + std::to_string(b), size);
      if (!blk) {
        std::fprintf(stderr, "writer: %s\n", describe(blk.error()).text);
        return 98;
      }
      for (std::uint64_t i = 0; i < size / 8; ++i) {
        const std::uint64_t w = word(b, i, gen);
        std::memcpy(blk->data + i * 8, &w, 8);
      }
    }
    std::printf("filled %llu\n", static_cast<unsigned long long>(n));
  } else if (mode == "digest" && argc == 3) {
    const auto n = std::strtoull(argv[2], nullptr, 10);
    for (std::uint64_t b = 0; b < n; ++b) {
      auto blk = bank.find("data-" + std::to_string(b));
      if (!blk) {
        std::printf("data-%llu missing\n", static_cast<unsigned long long>(b));
        continue;
      }
      std::uint64_t h = 0xcbf29ce484222325ull;
      for (std::uint64_t i = 0; i < blk->size; ++i)
        h = (h ^ static_cast<std::uint8_t>(blk->data[i])) * 0x100000001b3ull;
      std::printf("data-%llu %016llx\n", static_cast<unsigned long long>(b),
                  static_cast<unsigned long long>(h));
    }
  } else if (mode == "churn" && argc == 3) {
    auto blk = bank.find_or_create("churn", 1u << 20);
    if (!blk) return 98;
    for (int k = 0; k < 8; ++k) (void)bank.free("tmp-" + std::to_string(k));  // a rerun
    std::uint64_t gen = 0;
    while (::access(argv[2], F_OK) != 0) {
      ++gen;
      for (std::uint64_t i = 0; i < blk->size / 8; ++i) std::memcpy(blk->data + i * 8, &gen, 8);
      // Each tmp block lives four rounds: created with a size of its round, then freed.
      auto t = bank.find_or_create("tmp-" + std::to_string(gen % 8), (gen % 13 + 1) * 4096);
      if (!t) return 97;
      (void)bank.free("tmp-" + std::to_string((gen + 4) % 8));
      if (gen == 1) {
        std::printf("churning\n");
        std::fflush(stdout);
      }
    }
    std::printf("churned %llu\n", static_cast<unsigned long long>(gen));
  } else {
    std::fprintf(stderr, "usage: writer fill N SIZE GEN | digest N | churn STOPFILE\n");
    return 2;
  }
  std::fflush(stdout);
  self->exit_cleanly(0);
}
