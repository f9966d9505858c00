// SPDX-License-Identifier: MIT
// Compile-only check for Cortex-M (M0+, M3, M4, M33): the core, the controller kept in a bank,
// and both section backends, with -Os -fno-exceptions -fno-rtti. compile_matrix.cmake then
// refuses any call into libatomic left in the object.
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <hotrestart/backends/section.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>

#if defined(__cpp_exceptions) || defined(__GXX_RTTI)
#error "the matrix must be built with -fno-exceptions -fno-rtti"
#endif

namespace hr = hotrestart;

// Cores without 32-bit exclusives mask interrupts; the others use compare-and-swap.
#if defined(__ARM_ARCH_6M__)
static_assert(std::is_same_v<hr::default_section_lock, hr::irq_section_lock>);
#else
static_assert(std::is_same_v<hr::default_section_lock, hr::atomic_section_lock>);
#endif

namespace {
template <class Bank, class Location>
int exercise(Location where) {
  auto booted = hr::boot_bank<Bank>(where, {.bank_size = 8192, .max_blocks = 8});
  if (!booted) return 1;
  Bank& bank = booted->bank;
  hr::bank_block_store<Bank> store(bank);
  using ctl_t = hr::basic_controller<hr::chorus_counter, hr::bank_block_store<Bank>>;
  auto ctl = hr::open_or_create_controller<ctl_t>(bank, {2, 4}, hr::chorus_counter{}, store, 0);
  if (!ctl) return 2;
  if (auto r = ctl->resume(0, hr::ignore_actions{}); !r) return 3;
  auto gid = ctl->open_group(1, 0);
  if (!gid) return 4;
  auto id = ctl->process_started(1, {*gid, "app", hr::process_kind::direct, 1});
  if (!id) return 5;
  if (auto r = ctl->process_failed(2, *id, 1, hr::ignore_actions{}); !r) return 6;
  auto blk = bank.find_or_create("state", 16, hr::group_key(0));
  if (!blk) return 7;
  if (auto r = bank.replace("state", "state"); !r) return 8;
  auto n = bank.check([](const hr::error&) {});
  return n && *n == 0 ? 0 : 9;
}
}  // namespace

alignas(64) std::byte matrix_ram[16384];

int matrix_linker_section() {
  return exercise<hr::section_bank>(hr::linker_section{});
}
int matrix_ext() {
  return exercise<hr::section_bank_ext>(std::span<std::byte>(matrix_ram));
}
