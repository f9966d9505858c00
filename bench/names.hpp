// SPDX-License-Identifier: MIT
// The benchmarks' block names (shared/FACTS.md): twelve characters, a letter and 11 digits.
#ifndef HOTRESTART_BENCH_NAMES_HPP
#define HOTRESTART_BENCH_NAMES_HPP

#include <cstdint>
#include <cstdio>
#include <string>

namespace hrbench {

/// `lead` + 11 digits, a bijection of i on [0, 10^11) (the multiplier is coprime to 10): all
/// distinct. Needs i < 2^26, which keeps the product within 64 bits.
inline std::string bench_name(std::uint64_t i, char lead) {
  constexpr std::uint64_t mod = 100000000000ull, mul = 61803398877ull;
  const std::uint64_t v = (i * mul + 12345u) % mod;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%011llu", lead, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace hrbench

#endif  // HOTRESTART_BENCH_NAMES_HPP
