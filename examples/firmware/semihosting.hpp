// SPDX-License-Identifier: MIT
// Arm semihosting (BKPT 0xAB on M-profile): console output, the command line, and the exit
// code. QEMU prints the console on its stderr and exits with the code given to SYS_EXIT_EXTENDED.
#ifndef HR_FIRMWARE_SEMIHOSTING_HPP
#define HR_FIRMWARE_SEMIHOSTING_HPP

#include <cstddef>
#include <cstdint>

namespace semihosting {

enum op : std::uint32_t { sys_write0 = 0x04, sys_get_cmdline = 0x15, sys_exit_extended = 0x20 };

inline std::uint32_t call(op o, const void* arg) {
  register std::uint32_t r0 __asm__("r0") = o;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
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

/// Ends the emulation with `code` as QEMU's exit status.
[[noreturn]] inline void exit(std::uint32_t code) {
  const std::uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, code};
  call(sys_exit_extended, block);
  for (;;) __asm__ volatile("wfi");
}

}  // namespace semihosting

#endif  // HR_FIRMWARE_SEMIHOSTING_HPP
