// SPDX-License-Identifier: MIT
// Built by CTest, not by the normal build: with HR_REJECT_ALLOCATOR, HR_REJECT_REGISTRY or
// HR_REJECT_BACKEND it must fail to compile (the concept names what is missing); without, it
// must compile.
#include <cstdint>

#include <hotrestart/bank.hpp>

namespace {
// Looks like an allocator but has no deallocate.
struct not_an_allocator {
  static constexpr std::uint32_t layout_id = 1;
  static constexpr std::uint64_t region_bytes(std::uint32_t) { return 0; }
  not_an_allocator(std::byte*, std::uint64_t, std::uint32_t) {}
  void format() const {}
};
// Looks like a registry but has no lookup.
struct not_a_registry {
  static constexpr std::uint32_t layout_id = 2;
  static constexpr std::uint64_t region_bytes(std::uint32_t) { return 0; }
  not_a_registry(std::byte*, std::uint64_t, std::uint32_t) {}
};
// Has bytes but no lock.
struct not_a_backend {
  using location = int;
  std::byte* data() const { return nullptr; }
};
}  // namespace

#if defined(HR_REJECT_ALLOCATOR)
using bank_type = hotrestart::basic_bank<hotrestart::span_backend, not_an_allocator>;
#elif defined(HR_REJECT_REGISTRY)
using bank_type =
    hotrestart::basic_bank<hotrestart::span_backend, hotrestart::extent_allocator, not_a_registry>;
#elif defined(HR_REJECT_BACKEND)
using bank_type = hotrestart::basic_bank<not_a_backend>;
#else
using bank_type = hotrestart::basic_bank<hotrestart::span_backend>;
#endif

int main() {
  return sizeof(bank_type) > 0 ? 0 : 1;
}
