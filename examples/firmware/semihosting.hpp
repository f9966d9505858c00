// SPDX-License-Identifier: MIT
// Arm semihosting (BKPT 0xAB on M-profile): console output, the command line, and the exit
// code. QEMU prints the console on its stderr and exits with the code given to SYS_EXIT_EXTENDED.
//
// Without a debugger (a board on its own, or QEMU without -semihosting), BKPT raises HardFault.
// The firmware therefore learns at its first call whether semihosting works: the HardFault
// handler recognises a fault on a semihosting BKPT (`skip_failed_call`), marks semihosting
// absent and resumes after the instruction, and from then on every call returns at once. Code
// that runs inside HardFault (where a BKPT would lock the core up) calls only when an earlier
// call has succeeded (`usable_in_handler`). DHCSR.C_DEBUGEN cannot decide it: QEMU reads it as
// 0 while its semihosting works, and a debugger may be attached without serving semihosting.
#ifndef HR_FIRMWARE_SEMIHOSTING_HPP
#define HR_FIRMWARE_SEMIHOSTING_HPP

#include <cstddef>
#include <cstdint>

extern "C" std::uint16_t hr_text_start[], hr_text_end[];  // the linker script's code bounds

namespace semihosting {

enum op : std::uint32_t { sys_write0 = 0x04, sys_get_cmdline = 0x15, sys_exit_extended = 0x20 };

// What this boot learnt (.bss: unknown again after every reset).
enum link : std::uint32_t { unknown = 0, present = 0x50524553u, absent = 0x41425345u };
inline volatile std::uint32_t state = unknown;

inline constexpr std::uint16_t bkpt_0xab = 0xBEABu;
inline constexpr std::uint32_t failed = 0xFFFFFFFFu;

// Calls are made only once a debugger is known to answer (a build may say otherwise:
// tests/firmware/negative/unguarded makes every call, the HardFault handler's too).
#if __has_include("semihosting_guard.hpp")
#include "semihosting_guard.hpp"
#else
inline constexpr bool guarded = true;
#endif

inline std::uint32_t call(op o, const void* arg) {
  if (guarded && state == absent) return failed;
  register std::uint32_t r0 __asm__("r0") = o;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  if (state == unknown) state = present;  // the handler sets `absent` before resuming
  return r0;
}

/// In the HardFault handler, first: true if the fault is a semihosting call that no debugger
/// served; then semihosting is marked absent and the exception frame is set to resume after
/// the BKPT with `failed` in r0. Only a BKPT inside the firmware's code is considered, so a
/// fault at a wild PC never makes the handler read that address.
inline bool skip_failed_call(std::uint32_t* frame) {
  const std::uint32_t pc = frame[6];
  const auto* insn = reinterpret_cast<const std::uint16_t*>(pc & ~1u);
  if (state == present || insn < hr_text_start || insn >= hr_text_end || *insn != bkpt_0xab)
    return false;
  state = absent;
  frame[0] = failed;
  frame[6] = pc + 2;
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
  *reinterpret_cast<volatile std::uint32_t*>(0xE000ED2Cu) = 1u << 31;  // clear HFSR.DEBUGEVT
#endif
  return true;
}

/// Inside HardFault: only after a call of this boot succeeded (a BKPT there could not be
/// recovered from: the core would lock up).
inline bool usable_in_handler() {
  return !guarded || state == present;
}

/// Prints a NUL-terminated string.
inline void write(const char* s) {
  call(sys_write0, s);
}

/// The command line QEMU passes (-semihosting-config arg=...); false if there is none.
inline bool command_line(char* buf, std::size_t cap) {
  struct {
    char* text;
    std::uint32_t length;
  } block{buf, static_cast<std::uint32_t>(cap)};
  return call(sys_get_cmdline, &block) == 0;
}

/// Ends the emulation with `code` as QEMU's exit status; without semihosting, waits forever.
[[noreturn]] inline void exit(std::uint32_t code) {
  const std::uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, code};
  call(sys_exit_extended, block);
  for (;;) __asm__ volatile("wfi");
}

}  // namespace semihosting

#endif  // HR_FIRMWARE_SEMIHOSTING_HPP
