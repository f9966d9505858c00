// SPDX-License-Identifier: MIT
// Compile-only check for Cortex-M (M0+, M3, M4, M7, M33): the core, the controller kept in a
// bank, both section backends and the bare-metal runtime (with the CMSDK watchdog and, on
// ARMv7E-M, the data cache clean), with -Os -fno-exceptions -fno-rtti. compile_matrix.cmake then
// refuses any call into libatomic left in the object.
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <hotrestart/backends/section.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/baremetal.hpp>
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

// The bare-metal runtime over the linker section, SysTick and the CMSDK watchdog.
namespace bm = hotrestart::baremetal;
using matrix_runtime =
    bm::runtime<hr::section_bank, bm::cortex_m, bm::systick_tick<>, bm::cmsdk_apb_watchdog<>>;
namespace {
bool matrix_task() {
  return true;
}
const bm::task_spec matrix_tasks[] = {{0, "task", &matrix_task}};
}  // namespace

int matrix_runtime_boot() {
  static matrix_runtime rt(bm::linker_record());
  auto b =
      rt.boot(matrix_tasks, hr::linker_section{}, {.bank_size = 8192, .max_blocks = 8}, {}, {});
  if (!b) return 1;
  rt.start_watchdog(25000, 1);
  matrix_runtime::check_in(0);
  rt.tick();
  return static_cast<int>(rt.run_once());
}
bool matrix_fault(std::uint32_t* frame) {
  return bm::handle_fault<bm::cortex_m>(frame);
}
void matrix_clean(const void* p, std::size_t n) {
  bm::cortex_m::clean_dcache(p, n);
}
