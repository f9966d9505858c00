// SPDX-License-Identifier: MIT
// Startup for the firmwares (Cortex-M0 of QEMU's microbit, Cortex-M3 of its mps2-an385): the
// vector table, the reset handler (copy .data, zero .bss, run constructors, call main) and the
// HardFault entry. The bank's section is deliberately absent from both loops: the C runtime
// neither loads nor zeroes it. Thumb-1 instructions only, so one file serves ARMv6-M and v7-M.
#include <cstddef>
#include <cstdint>

#include "semihosting.hpp"

extern "C" {
extern std::uint32_t hr_data_load[], hr_data_start[], hr_data_end[];
extern std::uint32_t hr_bss_start[], hr_bss_end[];
extern std::uint32_t hr_stack_top[];
extern void (*hr_init_array_start[])();
extern void (*hr_init_array_end[])();

[[noreturn]] void hr_firmware_main();                               // each firmware's
[[noreturn]] void hr_hardfault_record(const std::uint32_t* frame);  // each firmware's

[[noreturn]] void hr_reset_handler() {
  for (std::uint32_t *src = hr_data_load, *dst = hr_data_start; dst < hr_data_end;) *dst++ = *src++;
  for (std::uint32_t* p = hr_bss_start; p < hr_bss_end;) *p++ = 0;
  for (auto f = hr_init_array_start; f < hr_init_array_end; ++f) (*f)();
  hr_firmware_main();
}

[[noreturn]] void hr_default_handler() {
  for (;;) __asm__ volatile("wfi");
}
// A firmware that wants NMI or PendSV defines these.
void hr_unhandled() {
  for (;;) __asm__ volatile("wfi");
}
void hr_nmi_handler() __attribute__((weak, alias("hr_unhandled")));
// One that wants the NMI's exception frame (the interrupted PC) defines this instead.
__attribute__((weak)) void hr_nmi_entry(const std::uint32_t*) {
  hr_nmi_handler();
}
void hr_pendsv_handler() __attribute__((weak, alias("hr_unhandled")));
void hr_systick_handler() __attribute__((weak, alias("hr_unhandled")));

// A firmware that can restart the faulting code without a reset (the bare-metal runtime's
// first rung) defines this and returns true; the handler then returns from the exception.
__attribute__((weak)) bool hr_hardfault_resume(std::uint32_t*) {
  return false;
}

// A semihosting call that no debugger served resumes after its BKPT; any other fault is the
// firmware's to record (it resets the chip).
void hr_hardfault_entry(std::uint32_t* frame) {
  if (semihosting::skip_failed_call(frame)) return;
  if (hr_hardfault_resume(frame)) return;
  hr_hardfault_record(frame);
}

// Finds the exception frame (MSP or PSP, from EXC_RETURN bit 2), calls ENTRY(frame), and
// returns from the exception when ENTRY returns.
#define HR_FRAME_ENTRY(entry) \
  __asm__ volatile(           \
      "movs r0, #4\n\t"       \
      "mov r1, lr\n\t"        \
      "tst r0, r1\n\t"        \
      "bne 1f\n\t"            \
      "mrs r0, msp\n\t"       \
      "b 2f\n"                \
      "1:\n\t"                \
      "mrs r0, psp\n"         \
      "2:\n\t"                \
      "push {r4, lr}\n\t"     \
      "bl " #entry            \
      "\n\t"                  \
      "pop {r4, pc}\n\t")
[[gnu::naked]] void hr_hardfault_handler() {
  HR_FRAME_ENTRY(hr_hardfault_entry);
}
[[gnu::naked]] void hr_nmi_frame_handler() {
  HR_FRAME_ENTRY(hr_nmi_entry);
}
}

using handler = void (*)();

// Initial stack pointer, then the 15 system exceptions (ARMv6-M reserves the ones it lacks).
[[gnu::section(".vectors"), gnu::used]] const handler hr_vectors[16] = {
    reinterpret_cast<handler>(hr_stack_top),
    hr_reset_handler,
    hr_nmi_frame_handler,
    hr_hardfault_handler,  // HardFault (on ARMv7-M, UsageFault and the others escalate here)
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
    hr_pendsv_handler,
    hr_systick_handler,
};
