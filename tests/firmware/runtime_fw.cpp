// SPDX-License-Identifier: MIT
// The bare-metal runtime under QEMU (Cortex-M3 mps2-an385, Cortex-M0 microbit): the escalation
// ladder, the reboot record, watchdog attribution and decay, one scenario per run, chosen by
// the semihosting argument:
//
//   loop     a task that faults at every run: restarted in place, then site restarts, then its
//            group's state discarded (the ladder's three rungs); the first reason kept
//   flip     a bit of the record flipped in RAM before a reset: the next boot finds it lost
//   wipe     the bank's header damaged: the bank is reformatted, the record keeps the history
//   wdog     a task that stops checking in: the watchdog's first-timeout NMI names it, its
//            second timeout resets the chip (mps2-an385 only: the microbit has no watchdog)
//   decay    faults far apart in time: the restart counter decays, never escalates
//   measure  instruction counts of the record's commit and of a boot's bookkeeping (-icount)
//
// With the argument "hold" as well, the end waits for a memory dump instead of exiting.
//
// Each boot prints a line about the record, then what the runtime did (the on_step hook). The
// last boot checks the story and prints PASS (FAIL: ...). The firmware stops itself after 8
// boots, so a control whose loop would never end still ends.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

#include <hotrestart/baremetal.hpp>

#include "chip.hpp"
#include "console.hpp"
#include "semihosting.hpp"

namespace hr = hotrestart;
namespace bm = hotrestart::baremetal;

namespace {

#if defined(__ARM_ARCH_6M__)
constexpr std::uint32_t cpu_hz = 16'000'000;  // microbit (nRF51)
#else
constexpr std::uint32_t cpu_hz = 25'000'000;  // mps2-an385
#endif
#if defined(HR_RT_WATCHDOG)
using watchdog_t = bm::cmsdk_apb_watchdog<>;
#else
using watchdog_t = bm::null_watchdog;
#endif
using rt_t = bm::runtime<hr::section_bank, bm::cortex_m, bm::systick_tick<cpu_hz>, watchdog_t>;

alignas(rt_t) std::byte rt_storage[sizeof(rt_t)];
rt_t* rt = nullptr;

using fw::finish;
using fw::must;
using fw::say;

enum class scenario { loop, flip, wipe, wdog, decay, measure };
scenario chosen = scenario::loop;
bool hold = false;  // "hold": wait for a memory dump at the end instead of exiting

// The first fault of the loop scenario is in crash_a, every later one in crash_b, so that the
// record's first reason is recognisable.
// (Different immediates: identical bodies would be folded into one function.)
[[gnu::noinline]] void crash_a() {
  __asm__ volatile("udf #1" ::: "memory");
  __builtin_unreachable();
}
[[gnu::noinline]] void crash_b() {
  __asm__ volatile("udf #2" ::: "memory");
  __builtin_unreachable();
}
// (Each is one undefined instruction: the stacked PC of its fault is the function's address.)
bool pc_in(std::uint32_t pc, void (*f)()) {
  return pc == (static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(f)) & ~1u);
}

const char* task_name(std::uint32_t t);

void print_record(const bm::boot_report& b) {
  const bm::record_view v = rt->record().load();
  if (b.record == bm::record_status::lost)
    say() << "record: lost: " << b.record_why << " (stored " << say::hex{b.stored_crc}
          << ", computed " << say::hex{b.computed_crc} << ")";
  else
    say() << "record: " << bm::to_string(b.record) << ", cause " << bm::to_string(b.cause);
  say() << "boots " << v[bm::rec::boots] << ", crashes " << v[bm::rec::crashes] << ", loop "
        << v[bm::rec::loop] << ", site restarts in a row " << v[bm::rec::site_in_row]
        << ", discards " << v[bm::rec::discards];
  if (v[bm::rec::loop] != 0)
    say() << "first: " << bm::to_string(v.cause(bm::rec::first_cause)) << " in "
          << task_name(v[bm::rec::first_task]) << " (boot " << v[bm::rec::first_boot]
          << "), first pc in crash_a: " << (pc_in(v[bm::rec::first_pc], crash_a) ? "yes" : "no");
}

void on_step(const bm::step& s) {
  switch (s.kind) {
    case bm::step_kind::record_checked: print_record(rt->report()); break;
    case bm::step_kind::task_started: break;  // every run: too chatty
    case bm::step_kind::restarted_in_place: break;
    case bm::step_kind::group_restarted:
      say() << "group " << s.gid << " restarted (restarts " << s.a << ", counter " << s.b << ")";
      break;
    case bm::step_kind::site_restart:
      say() << "site restart " << s.a << " in a row (chip reset)";
      break;
    case bm::step_kind::site_restarted:
      say() << "site restart: every group restarted from the bank";
      break;
    case bm::step_kind::gave_up:
      say() << "gave up on group " << s.gid << ": "
            << (s.a == static_cast<std::uint32_t>(bm::give_up_action::discard_state)
                    ? "discard_state"
                    : "safe_mode")
            << " (" << s.b << " group block freed)";
      break;
    case bm::step_kind::group_terminated:
      say() << "group " << s.gid << " terminated (" << s.a << " group block freed)";
      break;
    case bm::step_kind::loop_ended: say() << "crash loop ended (" << s.a << " events)"; break;
  }
}

// ---- the tasks ------------------------------------------------------------------------------

// app (loop, wipe, decay): faults while its group-keyed block app.poison exists (loop), or at
// chosen runs (decay, wipe); completes otherwise.
std::uint32_t* app_runs = nullptr;
std::uint32_t* logger_runs = nullptr;

bool app() {
  *app_runs += 1;
  switch (chosen) {
    case scenario::loop:
      if (rt->bank().find("app.poison")) {
        say() << "app run " << *app_runs << ": crashing";
        if (*app_runs == 1) crash_a();
        crash_b();
      }
      say() << "app run " << *app_runs << ": done";
      return true;
    case scenario::wipe:
      if (*app_runs == 1) {
        say() << "app run 1: crashing";
        crash_a();
      }
      return true;
    case scenario::decay: {
      // Busy for 5 ms of SysTick time (the counter's interval is 2 ms), then fault at runs 1, 3
      // and 5, complete at run 6.
      const std::uint64_t until = rt->ticker().uptime_ms() + 5;
      while (rt->ticker().uptime_ms() < until) {
      }
      if (*app_runs % 2 == 1 && *app_runs <= 5) {
        say() << "app run " << *app_runs << ": crashing";
        crash_a();
      }
      if (*app_runs < 6) return false;
      say() << "app run " << *app_runs << ": done";
      return true;
    }
    default: return true;
  }
}
bool logger() {
  *logger_runs += 1;
  return false;  // a service: runs every round
}

// wdog: comms checks in and works; sensor checks in, except at its third round of boot 1,
// where it spins without checking in.
bool comms() {
  rt_t::check_in(0);
  return false;
}
bool sensor() {
  *app_runs += 1;
  if (rt->record().get(bm::rec::boots) == 1 && *app_runs == 3) {
    say() << "sensor: spinning without checking in";
    for (;;) {
    }
  }
  rt_t::check_in(1);
  return *app_runs >= 6;
}

const bm::task_spec app_tasks[] = {{0, "app", &app}, {1, "logger", &logger}};
const bm::task_spec wdog_tasks[] = {{1, "comms", &comms}, {0, "sensor", &sensor}};

const char* task_name(std::uint32_t t) {
  const auto& tasks = chosen == scenario::wdog ? wdog_tasks : app_tasks;
  return t < 2 ? tasks[t].name.data() : "none";
}

// Rung 1 for the cooperative loop: the exception returns into the scheduler.
bool restart_in_place(bm::fault_context& c) {
  return bm::resume_cooperative<rt_t, bm::cortex_m>(c);
}

void flip_a_bit(bm::reset_cause) {
  if (chosen == scenario::flip) {
    volatile std::uint32_t* w = bm::linker_record();
    w[bm::rec::crashes] = w[bm::rec::crashes] ^ (1u << 3);  // after the CRC was written
  }
}

scenario parse_scenario() {
  char cmd[96] = {};
  if (!semihosting::command_line(cmd, sizeof cmd)) return scenario::loop;
  const std::string_view c(cmd);
  hold = c.find(" hold") != std::string_view::npos;
  if (c.find(" flip") != std::string_view::npos) return scenario::flip;
  if (c.find(" wipe") != std::string_view::npos) return scenario::wipe;
  if (c.find(" wdog") != std::string_view::npos) return scenario::wdog;
  if (c.find(" decay") != std::string_view::npos) return scenario::decay;
  if (c.find(" measure") != std::string_view::npos) return scenario::measure;
  return scenario::loop;
}

// SysTick as a free-running 24-bit counter (measure: no interrupt), in core clock counts.
void systick_free_run() {
  chip::reg(0xE000E010u) = 0;
  chip::reg(0xE000E014u) = 0x00FFFFFFu;
  chip::reg(0xE000E018u) = 0;
  chip::reg(0xE000E010u) = 5;  // ENABLE | CLKSOURCE core, no interrupt
}
std::uint32_t systick_now() {
  return chip::reg(0xE000E018u);
}
// Counts of a down-counter between two readings, as instructions: under -icount shift=0 QEMU
// runs one instruction per nanosecond of virtual time.
std::uint32_t insns(std::uint32_t from, std::uint32_t to) {
  const std::uint32_t counts = (from - to) & 0x00FFFFFFu;
  return static_cast<std::uint32_t>(std::uint64_t{counts} * 1'000'000'000u / cpu_hz);
}

struct measurement {
  std::uint32_t commit_insns, boot_insns, pending;
};

}  // namespace

// HardFault: the runtime restarts the task in place (returns true) or records and resets.
extern "C" bool hr_hardfault_resume(std::uint32_t* frame) {
  return bm::handle_fault<bm::cortex_m>(frame);
}
extern "C" [[noreturn]] void hr_hardfault_record(const std::uint32_t*) {
  bm::cortex_m::reset();  // not reached: hr_hardfault_resume resets when it does not resume
}
extern "C" void hr_systick_handler() {
  bm::system_ms.isr();
}
// The watchdog's first timeout arrives as the NMI on mps2-an385 (QEMU wires it so); startup.cpp
// finds the interrupted context's frame.
extern "C" void hr_nmi_entry(const std::uint32_t* frame) {
  bm::handle_first_timeout(frame);
}

extern "C" [[noreturn]] void hr_firmware_main() {
  chosen = parse_scenario();
#if defined(HR_BM_TESTONLY_RECORD_IN_BANK)
  // Negative control: the record inside the bank's section, which a reformat zeroes.
  auto* words = reinterpret_cast<volatile std::uint32_t*>(hotrestart_bank_start + 256);
#else
  volatile std::uint32_t* words = bm::linker_record();
#endif
  rt = new (rt_storage) rt_t(words);
  fw::boot_number = words[bm::rec::magic] == bm::rec::magic_value ? words[bm::rec::boots] + 1 : 1;
  if (fw::boot_number > 8) finish(false, "boot cap: the loop did not end");

  bm::config cfg;
  cfg.limits = {2, 4};
  cfg.policy = {60000, 2};
  cfg.site_restarts_before_give_up = 2;
  cfg.healthy_ms = 60000;
  bm::hooks h;
  h.on_step = &on_step;
  h.before_reset = &flip_a_bit;
  if (chosen == scenario::loop || chosen == scenario::decay) h.restart_in_place = &restart_in_place;
  if (chosen == scenario::decay) {
    cfg.policy = {2, 2};
    cfg.healthy_ms = 12;
  }
  const std::span<const bm::task_spec> tasks = chosen == scenario::wdog
                                                   ? std::span<const bm::task_spec>(wdog_tasks)
                                                   : std::span<const bm::task_spec>(app_tasks);
  constexpr hr::tunables tun{.bank_size = 4096, .max_blocks = 8};

  std::uint32_t t0 = 0, t1 = 0;
  if (chosen == scenario::measure) {
    cfg.start_tick = false;  // SysTick counts instructions here
    h.on_step = nullptr;     // no printing inside the measured boot
    systick_free_run();
    t0 = systick_now();
  }
  auto booted = rt->boot(tasks, hr::linker_section{}, tun, cfg, h);
  if (chosen == scenario::measure) t1 = systick_now();
  if (!booted) fw::die("boot", booted.error());
  if (chosen == scenario::measure) print_record(*booted);
  if (booted->bank == hr::boot_kind::reformatted)
    say() << "bank reformatted: " << hr::describe(booted->bank_reason).text;
  hr::section_bank& bank = rt->bank();
  app_runs = static_cast<std::uint32_t*>(
      static_cast<void*>(must(bank.find_or_create("app.runs", 4), "app.runs").data));
  logger_runs = static_cast<std::uint32_t*>(
      static_cast<void*>(must(bank.find_or_create("logger.runs", 4), "logger.runs").data));
  if (booted->controller_created && chosen == scenario::loop)
    must(bank.find_or_create("app.poison", 16, hr::group_key(0)), "app.poison");

  switch (chosen) {
    case scenario::flip:
      if (fw::boot_number == 1) {
        say() << "requesting a reset (a bit of the record flips after its CRC is written)";
        rt->request_reset();
      }
      finish(booted->record == bm::record_status::lost && rt->record().get(bm::rec::boots) == 1,
             "the flipped record was trusted");
    case scenario::wipe:
      if (fw::boot_number == 2) {
        say() << "damaging the bank's header checksum, then a reset";
        hotrestart_bank_start[hr::bank_format::immutable_checksum] ^= std::byte{1};
        rt->request_reset();
      }
      if (fw::boot_number == 3) {
        const bm::record_view v = rt->record().load();
        finish(booted->bank == hr::boot_kind::reformatted && v[bm::rec::crashes] == 1 &&
                   v[bm::rec::first_boot] == 1,
               "the record did not survive the bank");
      }
      break;
    case scenario::measure: {
      measurement* m = static_cast<measurement*>(static_cast<void*>(
          must(bank.find_or_create("test.timing", sizeof(measurement)), "timing").data));
      if (fw::boot_number == 1) {
        const std::uint32_t a = systick_now();
        for (int i = 0; i < 100; ++i) rt->record().commit();
        const std::uint32_t b = systick_now();
        m->commit_insns = insns(a, b) / 100;
        say() << "measuring a fault's reset";
        m->pending = 1;
        crash_a();  // no in-place hook: recorded, reset
      }
      m->boot_insns = insns(t0, t1);
      say() << "record: 128 bytes; commit " << m->commit_insns << " instructions";
      say() << "boot after a fault (record, bank, controller, restart): " << m->boot_insns
            << " instructions";
      finish(m->commit_insns > 0 && m->boot_insns > 0, "no measurement");
    }
    default: break;
  }

  if (chosen == scenario::wdog) {
#if defined(HR_BM_TESTONLY_WDOG_NO_INTEN)
    const bool first_timeout_interrupt = false;  // negative control: no attribution
#else
    const bool first_timeout_interrupt = true;
#endif
    rt->start_watchdog(cpu_hz / 1000 * 5, 0b11, first_timeout_interrupt);  // 5 ms
    const bm::record_view v = rt->record().load();
    if (booted->cause == bm::reset_cause::watchdog)
      say() << "watchdog: task " << task_name(v[bm::rec::task])
            << " was running; missing check-ins " << say::hex{v[bm::rec::wd_missing]}
            << "; last fed by " << task_name(v[bm::rec::wd_last_fed]);
  }

  // The cooperative loop: rounds until the app (or sensor) completed.
  for (int round = 0; round < 400; ++round) {
    rt->tick();
    if (rt->run_once() == 0) break;
    const bool app_running = rt->runs(chosen == scenario::wdog ? 1 : 0);
    if (!app_running) {
      if (chosen == scenario::decay) {
        // Healthy time: the loop ends after healthy_ms without an event.
        const std::uint64_t until = rt->ticker().uptime_ms() + 20;
        while (rt->ticker().uptime_ms() < until) rt->tick();
      }
      break;
    }
  }
  const bm::record_view v = rt->record().load();
  say() << "end: boots " << v[bm::rec::boots] << ", crashes " << v[bm::rec::crashes] << ", loop "
        << v[bm::rec::loop] << ", discards " << v[bm::rec::discards] << ", site restarts "
        << rt->controller().site_restarts();
  std::uint32_t problems = must(
      bank.check([](const hr::error& e) { say() << "check: " << hr::describe(e).text; }), "check");
  if (hold && problems == 0) {
    say() << "holding for a memory dump";
    for (;;) __asm__ volatile("wfi");
  }
  finish(problems == 0, "the bank has problems");
}
