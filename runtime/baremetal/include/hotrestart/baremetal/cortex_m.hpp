// SPDX-License-Identifier: MIT
// The Cortex-M registers the bare-metal runtime uses: reset, fault status, the interrupt mask,
// SysTick, the data cache clean (ARMv7E-M). `cortex_m` is the runtime's `Chip` on a device;
// host tests give their own.
#ifndef HOTRESTART_BAREMETAL_CORTEX_M_HPP
#define HOTRESTART_BAREMETAL_CORTEX_M_HPP

#include <cstddef>
#include <cstdint>

#include <hotrestart/baremetal/record_format.hpp>
#include <hotrestart/baremetal/tick.hpp>

namespace hotrestart::baremetal {

/// Fault registers as the HardFault handler read them (0 where the core has none).
struct fault_regs {
  std::uint32_t cfsr = 0, hfsr = 0, mmfar = 0, bfar = 0, flags = 0;
};

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
struct cortex_m {
  static volatile std::uint32_t& reg(std::uint32_t addr) {
    return *reinterpret_cast<volatile std::uint32_t*>(addr);
  }
  static constexpr std::uint32_t aircr = 0xE000ED0Cu, ccr = 0xE000ED14u, cfsr = 0xE000ED28u,
                                 hfsr = 0xE000ED2Cu, mmfar = 0xE000ED34u, bfar = 0xE000ED38u,
                                 ctr = 0xE000ED7Cu, dccmvac = 0xE000EF68u;

  /// SYSRESETREQ: RAM keeps its contents, the program starts again from its reset vector.
  [[noreturn]] static void reset() {
    __asm__ volatile("dsb" ::: "memory");
    reg(aircr) = 0x05FA0004u;  // VECTKEY | SYSRESETREQ
    __asm__ volatile("dsb" ::: "memory");
    for (;;) __asm__ volatile("wfi");
  }

  /// Writes the lines of [p, p + n) back to RAM on a core whose data cache is on (Cortex-M7:
  /// CCR.DC). A software reset does not write a write-back cache back: without this the
  /// record and the bank could reach RAM torn. Other cores: nothing to do.
  static void clean_dcache([[maybe_unused]] const void* p, [[maybe_unused]] std::size_t n) {
#if defined(__ARM_ARCH_7EM__)
    if ((reg(ccr) & (1u << 16)) == 0) return;  // no data cache, or it is off (Cortex-M4: none)
    const std::uint32_t line = 4u << ((reg(ctr) >> 16) & 15u);
    __asm__ volatile("dsb" ::: "memory");
    const auto start = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{line - 1};
    const auto end = reinterpret_cast<std::uintptr_t>(p) + n;
    for (std::uintptr_t a = start; a < end; a += line) reg(dccmvac) = static_cast<std::uint32_t>(a);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  }

  /// Fault status where the core has it (ARMv7-M, ARMv8-M main; ARMv6-M has none). The fault
  /// address registers are kept only if their valid bit is set in two reads of CFSR around
  /// them (a nested fault may rewrite them between the reads).
  static fault_regs read_fault_regs() {
    fault_regs f;
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    f.flags |= rec::flag_fault_regs;
    f.cfsr = reg(cfsr);
    f.hfsr = reg(hfsr);
    const std::uint32_t mm = reg(mmfar), bf = reg(bfar), again = reg(cfsr);
    if ((f.cfsr & again & (1u << 7)) != 0) {
      f.mmfar = mm;
      f.flags |= rec::flag_mmfar;
    }
    if ((f.cfsr & again & (1u << 15)) != 0) {
      f.bfar = bf;
      f.flags |= rec::flag_bfar;
    }
#endif
    return f;
  }
  /// After a fault handled in place: the sticky fault status is cleared (write-1-to-clear).
  static void clear_fault_regs() {
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    reg(cfsr) = reg(cfsr);
    reg(hfsr) = reg(hfsr);
#endif
  }

  static std::uint32_t mask_interrupts() {
    std::uint32_t m;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(m)::"memory");
    return m;
  }
  static void restore_interrupts(std::uint32_t m) {
    __asm__ volatile("msr primask, %0\n\tisb" ::"r"(m) : "memory");
  }
};

/// The tick source by default: SysTick on the core clock, 1 ms per interrupt. Its handler
/// (`hr_bm_systick`) only counts; every decision is taken in thread mode.
template <std::uint32_t CpuHz = 25'000'000>
struct systick_tick {
  void start() {
    cortex_m::reg(0xE000E014u) = CpuHz / 1000 - 1;  // RVR
    cortex_m::reg(0xE000E018u) = 0;                 // CVR
    cortex_m::reg(0xE000E010u) = 7;                 // CSR: ENABLE | TICKINT | CLKSOURCE core
  }
  std::uint64_t uptime_ms() const { return system_ms.read(); }
};
static_assert(tick_source<systick_tick<>>);
#endif

}  // namespace hotrestart::baremetal

#endif  // HOTRESTART_BAREMETAL_CORTEX_M_HPP
