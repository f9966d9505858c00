// SPDX-License-Identifier: MIT
// The few Cortex-M system registers the firmwares use (ARMv6-M and ARMv7-M): reset, fault
// status, pending PendSV or NMI, the interrupt mask.
#ifndef HR_FIRMWARE_CHIP_HPP
#define HR_FIRMWARE_CHIP_HPP

#include <cstdint>

namespace chip {

inline volatile std::uint32_t& reg(std::uint32_t addr) {
  return *reinterpret_cast<volatile std::uint32_t*>(addr);
}
inline constexpr std::uint32_t icsr = 0xE000ED04u, aircr = 0xE000ED0Cu;
inline constexpr std::uint32_t cfsr = 0xE000ED28u, hfsr = 0xE000ED2Cu;  // ARMv7-M only

/// A system reset (SYSRESETREQ): RAM keeps its contents, the C runtime starts again.
[[noreturn]] inline void reset() {
  __asm__ volatile("dsb" ::: "memory");
  reg(aircr) = 0x05FA0004u;  // VECTKEY | SYSRESETREQ
  __asm__ volatile("dsb" ::: "memory");
  for (;;) __asm__ volatile("wfi");
}

/// Fault status (CFSR, HFSR) where the core has them (ARMv6-M has neither: 0).
inline bool has_fault_status() {
#if defined(__ARM_ARCH_6M__)
  return false;
#else
  return true;
#endif
}
inline std::uint32_t fault_status() {
  return has_fault_status() ? reg(cfsr) : 0;
}
inline std::uint32_t hard_fault_status() {
  return has_fault_status() ? reg(hfsr) : 0;
}

/// Pends PendSV or NMI; the barriers make it taken (or held off by PRIMASK) at once.
inline void pend_pendsv() {
  reg(icsr) = 1u << 28;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}
inline void pend_nmi() {
  reg(icsr) = 1u << 31;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}

inline std::uint32_t primask() {
  std::uint32_t m;
  __asm__ volatile("mrs %0, primask" : "=r"(m)::"memory");
  return m;
}
inline void mask_interrupts() {
  __asm__ volatile("cpsid i" ::: "memory");
}
inline void unmask_interrupts() {
  __asm__ volatile("cpsie i\n\tisb" ::: "memory");
}

}  // namespace chip

#endif  // HR_FIRMWARE_CHIP_HPP
