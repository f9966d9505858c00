// SPDX-License-Identifier: MIT
// Startup for the Cortex-M3 of QEMU's mps2-an385: the vector table, the reset handler (copy
// .data, zero .bss, run constructors, call main) and the HardFault entry. The bank's section
// is deliberately absent from both loops: the C runtime neither loads nor zeroes it.
#include <cstddef>
#include <cstdint>

extern "C" {
extern std::uint32_t hr_data_load[], hr_data_start[], hr_data_end[];
extern std::uint32_t hr_bss_start[], hr_bss_end[];
extern std::uint32_t hr_stack_top[];
extern void (*hr_init_array_start[])();
extern void (*hr_init_array_end[])();

[[noreturn]] void hr_firmware_main();                  // firmware.cpp
void hr_hardfault_record(const std::uint32_t* frame);  // firmware.cpp

[[noreturn]] void hr_reset_handler() {
  for (std::uint32_t *src = hr_data_load, *dst = hr_data_start; dst < hr_data_end;) *dst++ = *src++;
  for (std::uint32_t* p = hr_bss_start; p < hr_bss_end;) *p++ = 0;
  for (auto f = hr_init_array_start; f < hr_init_array_end; ++f) (*f)();
  hr_firmware_main();
}

[[noreturn]] void hr_default_handler() {
  for (;;) __asm__ volatile("wfi");
}

// Finds the exception frame (MSP or PSP, from EXC_RETURN bit 2) and records the fault.
[[gnu::naked]] void hr_hardfault_handler() {
  __asm__ volatile(
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "b hr_hardfault_record\n\t");
}
}

using handler = void (*)();

// Initial stack pointer, then the 15 system exceptions of ARMv7-M.
[[gnu::section(".vectors"), gnu::used]] const handler hr_vectors[16] = {
    reinterpret_cast<handler>(hr_stack_top),
    hr_reset_handler,
    hr_default_handler,    // NMI
    hr_hardfault_handler,  // HardFault (UsageFault and the others escalate here)
    hr_default_handler,    // MemManage
    hr_default_handler,    // BusFault
    hr_default_handler,    // UsageFault
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    hr_default_handler,  // SVCall
    hr_default_handler,  // DebugMonitor
    nullptr,
    hr_default_handler,  // PendSV
    hr_default_handler,  // SysTick
};
