// SPDX-License-Identifier: MIT
// NEGATIVE CONTROL (examples/firmware/firmware.cpp includes this when it is on the include
// path): the bank in .bss, which the startup code zeroes at every boot. The boot sequence test
// must see the bank formatted anew at the second boot.
#ifndef HR_FW_NEG_BANK_IN_BSS_HPP
#define HR_FW_NEG_BANK_IN_BSS_HPP

alignas(64) std::byte bss_bank[32 * 1024];
using fw_backend = hr::section_backend_ext;
std::span<std::byte> bank_location() {
  return bss_bank;
}

#endif  // HR_FW_NEG_BANK_IN_BSS_HPP
