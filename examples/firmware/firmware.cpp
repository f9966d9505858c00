// SPDX-License-Identifier: MIT
// A firmware that hot-restarts: named blocks in a bank that survives warm resets, a Hot
// Restart Controller whose state and restart counters live in the bank, a HardFault handler
// that records the fault and resets the chip, and a site restart (every group restarted from
// the bank, after a chip reset) when the restart counter reaches its maximum.
//
// Two restart groups run as cooperative members, once per boot: group 0 "app" (crashes with an
// undefined instruction in its first three runs, then completes) and group 1 "logger" (counts
// its runs). Every line of output goes through semihosting; the last boot prints PASS and ends
// QEMU with exit code 0 (FAIL: 1). With the semihosting argument "hold" the firmware waits
// after its last line instead, for a debugger or QEMU's pmemsave to dump the bank. A reset
// that nothing asked for (watchdog, reset pin, debugger) is reported to the controller as a site
// restart. Without a debugger the firmware runs the same, silently (semihosting.hpp): its HardFault
// handler prints only when semihosting is known to work.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include <hotrestart/backends/section.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>

#include "chip.hpp"
#include "console.hpp"
#include "semihosting.hpp"

namespace hr = hotrestart;

namespace {

#if __has_include("firmware_bank.hpp")
// A build that places the bank elsewhere (tests/firmware/negative/bank_in_bss: in .bss, which
// the startup code zeroes at every boot) provides fw_backend and bank_location() itself.
#include "firmware_bank.hpp"
#else
// The bank: the linker section hotrestart_bank.ld places in no-init RAM.
using fw_backend = hr::section_backend;
hr::linker_section bank_location() {
  return {};
}
#endif
using fw_bank = hr::basic_bank<fw_backend>;
using fw_store = hr::bank_block_store<fw_bank>;
using fw_controller = hr::basic_controller<hr::chorus_counter, fw_store>;

// The restart policy's tunables; in .data (which also makes the negative-control layouts have
// a load segment with file bytes, as any real firmware does).
std::uint32_t max_badness = 3;
std::uint64_t interval_ms = 60000;
constexpr std::uint64_t ms_per_boot = 100;  // the bank keeps the clock: no RTC survives a reset
constexpr hr::tunables bank_tunables{.bank_size = 16 * 1024, .max_blocks = 16};
constexpr hr::controller_config controller_limits{2, 4};
constexpr std::uint32_t app_crashing_runs = 3;

// ---------------------------------------------------------------------------------------------
// Blocks (trivially copyable records, all words)

struct boot_record {
  std::uint32_t boots;
  std::uint32_t clock_lo, clock_hi;
};

inline constexpr std::uint32_t fault_pending = 0x544C4146u;  // "FALT"
struct fault_record {
  std::uint32_t pending;  // written last by the HardFault handler
  std::uint32_t process;  // controller id of the member that was running
  std::uint32_t handle;   // its run (the boot it started in)
  std::uint32_t boot;
  std::uint32_t pc, cfsr, hfsr;
  std::uint32_t handled;  // faults handled so far
};

struct app_state {
  std::uint32_t runs;
  std::uint32_t value;
};

struct logger_state {
  std::uint32_t runs;
};

template <class T>
T* record(const hr::block& b) {
  static_assert(std::is_trivially_copyable_v<T>);
  return std::launder(reinterpret_cast<T*>(b.data));
}

using fw::finish;
using fw::must;
using fw::say;

// ---------------------------------------------------------------------------------------------
// Reset and fault handling

// What the fault handler needs, set at each boot (.bss, zero until then).
fault_record* fault_block = nullptr;
std::uint32_t running_process = hr::no_process;
std::uint32_t running_handle = 0;

}  // namespace

// Records the fault of the running member in its block and resets the chip. It prints only if
// semihosting already worked in this boot: without a debugger a BKPT here would lock the core
// up (semihosting.hpp), and the next boot reports the fault anyway.
extern "C" [[noreturn]] void hr_hardfault_record(const std::uint32_t* frame) {
  if (fault_record* f = fault_block; f != nullptr && running_process != hr::no_process) {
    volatile fault_record* v = f;
    v->process = running_process;
    v->handle = running_handle;
    v->boot = fw::boot_number;
    v->pc = frame[6];
    v->cfsr = chip::fault_status();
    v->hfsr = chip::hard_fault_status();
    __asm__ volatile("dmb" ::: "memory");
    v->pending = fault_pending;  // the record counts only once complete
    if (semihosting::usable_in_handler()) say() << "HardFault: recorded, resetting";
  }
  chip::reset();
}

namespace {

// ---------------------------------------------------------------------------------------------
// The runtime: actions of the controller, collected during an event, acted on after it

struct action_list {
  hr::action items[16] = {};
  std::uint32_t count = 0;
  void operator()(const hr::action& a) {
    if (count < 16) items[count++] = a;
  }
  bool has(hr::action_kind k) const {
    for (std::uint32_t i = 0; i < count; ++i)
      if (items[i].kind == k) return true;
    return false;
  }
};

struct runtime {
  fw_bank& bank;
  fw_controller& ctl;
  std::uint64_t now;

  void start(std::uint32_t gid, std::string_view name) {
    must(ctl.process_started(now, {gid, name, hr::process_kind::direct, fw::boot_number}),
         "process_started");
  }

  // Prints the informational actions and reruns the members the controller asks for.
  void act(const action_list& l) {
    for (std::uint32_t i = 0; i < l.count; ++i) {
      const hr::action& a = l.items[i];
      switch (a.kind) {
        case hr::action_kind::group_restarted: {
          const auto g = must(ctl.group_info(a.gid), "group_info");
          say() << "group " << a.gid << " restarted (restarts " << g.restarts << ", epoch "
                << g.epoch << ")";
          break;
        }
        case hr::action_kind::run: {
          const auto p = must(ctl.process_info(a.process), "process_info");
          start(a.gid, p.name());
          break;
        }
        case hr::action_kind::group_terminated:
          say() << "group " << a.gid << " terminated (" << a.count << " group block freed)";
          break;
        case hr::action_kind::group_blocked: say() << "group " << a.gid << " blocked"; break;
        case hr::action_kind::site_restart:
          say() << "restart counter at max: site restart (chip reset)";
          chip::reset();  // the next boot completes it with site_restarted
        case hr::action_kind::discard_state:
        case hr::action_kind::stop: break;  // a reset already stopped everything
      }
    }
  }

  // The member `name` of `gid`, if it runs in this epoch.
  bool runs(std::uint32_t gid, std::string_view name, std::uint32_t& id, std::uint32_t& handle) {
    auto i = ctl.find_process(gid, name);
    if (!i) return false;
    const auto p = must(ctl.process_info(*i), "process_info");
    if (p.state != hr::process_state::running) return false;
    id = *i;
    handle = static_cast<std::uint32_t>(p.handle);
    return true;
  }
};

// ---------------------------------------------------------------------------------------------
// The members

void logger_main(fw_bank& bank) {
  auto* s =
      record<logger_state>(must(bank.find_or_create("logger", sizeof(logger_state)), "logger"));
  s->runs += 1;
  say() << "logger run " << s->runs;
}

// Returns normally only when its work is complete.
void app_main(fw_bank& bank) {
  auto* s = record<app_state>(must(bank.find_or_create("app", sizeof(app_state)), "app"));
  // A group-keyed block: freed by the controller when group 0 terminates.
  auto scratch = must(bank.find_or_create("app.scratch", 64, hr::group_key(0)), "app.scratch");
  s->runs += 1;
  s->value = s->value * 10 + s->runs;
  scratch.data[0] = static_cast<std::byte>(s->runs);
  say() << "app run " << s->runs << ": value " << s->value;
  if (s->runs <= app_crashing_runs) {
    say() << "app: crashing (undefined instruction)";
    __builtin_trap();
  }
  say() << "app: done, clean exit";
}

// Checks the whole story at the end of the app's work.
void verify(fw_bank& bank, fw_controller& ctl) {
  auto* boot = record<boot_record>(must(bank.find("boot"), "find boot"));
  auto* app = record<app_state>(must(bank.find("app"), "find app"));
  auto* log = record<logger_state>(must(bank.find("logger"), "find logger"));
  auto* fault = record<fault_record>(must(bank.find("fault"), "find fault"));
  const bool scratch_freed =
      !bank.find("app.scratch") && bank.find("app.scratch").error().code == hr::errc::not_found;
  std::uint32_t problems_seen = 0;
  const std::uint32_t problems = must(bank.check([&](const hr::error& e) {
    ++problems_seen;
    say() << "check: " << hr::describe(e).text;
  }),
                                      "check");
  const auto st = must(bank.stats(), "stats");
  say() << "check: " << problems << " problems, " << st.blocks << " blocks";
  say() << "state: boots " << boot->boots << ", faults " << fault->handled << ", site restarts "
        << ctl.site_restarts() << ", app runs " << app->runs << " value " << app->value
        << ", logger runs " << log->runs;
  const bool ok = boot->boots == 5 && fault->handled == 3 && ctl.site_restarts() == 1 &&
                  app->runs == 4 && app->value == 1234 && log->runs == 4 && scratch_freed &&
                  problems == 0 && problems_seen == 0;
  if (!ok) finish(false, "state did not survive the resets as expected");
}

bool hold_requested() {
  char cmd[96] = {};
  if (!semihosting::command_line(cmd, sizeof cmd)) return false;
  return std::string_view(cmd).find("hold") != std::string_view::npos;
}

}  // namespace

extern "C" [[noreturn]] void hr_firmware_main() {
  const bool hold = hold_requested();
  auto booted = must(hr::boot_bank<fw_bank>(bank_location(), bank_tunables), "boot_bank");
  fw_bank& bank = booted.bank;

  auto* boot = record<boot_record>(must(bank.find_or_create("boot", sizeof(boot_record)), "boot"));
  boot->boots += 1;
  fw::boot_number = boot->boots;
  std::uint64_t now = (std::uint64_t{boot->clock_hi} << 32 | boot->clock_lo) + ms_per_boot;
  boot->clock_lo = static_cast<std::uint32_t>(now);
  boot->clock_hi = static_cast<std::uint32_t>(now >> 32);
  if (booted.kind == hr::boot_kind::reformatted)
    say() << "bank reformatted: " << hr::describe(booted.reason).text;
  else
    say() << "bank " << hr::to_string(booted.kind);

  auto* fault =
      record<fault_record>(must(bank.find_or_create("fault", sizeof(fault_record)), "fault"));
  fault_block = fault;

  fw_store store(bank);
  bool created = false;
  const hr::chorus_counter policy{interval_ms, max_badness};
  auto ctl = must(hr::open_or_create_controller<fw_controller>(bank, controller_limits, policy,
                                                               store, now, &created),
                  "controller");
  runtime rt{bank, ctl, now};
  action_list resumed;
  if (created) {
    say() << "controller created";
  } else {
    must(ctl.resume(now, resumed), "resume");
    rt.act(resumed);
  }

  action_list acts;
  if (created) {
    for (std::uint32_t gid : {0u, 1u}) {
      must(ctl.open_group(now, gid), "open_group");
      const std::string_view name = gid == 0 ? "app" : "logger";
      rt.start(gid, name);
      say() << "group " << gid << " started: " << name;
    }
  } else if (ctl.site_restart_pending()) {
    say() << "site restart: every group restarted from the bank";
    must(ctl.site_restarted(now, acts), "site_restarted");
  } else if (fault->pending == fault_pending) {
    const auto p = must(ctl.process_info(fault->process), "process_info");
    say() << "fault in " << p.name() << " (boot " << fault->boot << "): cfsr "
          << say::hex{fault->cfsr} << " hfsr " << say::hex{fault->hfsr};
    say("") << "  pc " << say::hex{fault->pc};
    must(ctl.process_failed(now, fault->process, fault->handle, acts), "process_failed");
    fault->handled += 1;
    fault->pending = 0;  // a reset before this line: the repeated report is stale (same handle)
  } else {
    // A reset that no fault handler and no site restart asked for (a watchdog, the reset pin,
    // a debugger, a brown-out): every member stopped with the chip, as in a site restart, so
    // the controller is told one happened and reruns the groups from the bank.
    say() << "reset without a fault: site restart, every group restarted from the bank";
    must(ctl.site_restarted(now, acts), "site_restarted");
  }
  rt.act(acts);

  // Run every member that runs in its group's current epoch: logger first, then app.
  std::uint32_t id = 0, handle = 0;
  if (rt.runs(1, "logger", id, handle)) {
    running_process = id;
    running_handle = handle;
    logger_main(bank);
  }
  bool app_completed = false;
  if (rt.runs(0, "app", id, handle)) {
    running_process = id;
    running_handle = handle;
    app_main(bank);
    running_process = hr::no_process;
    action_list done;
    must(ctl.process_exited_cleanly(now, id, handle, done), "process_exited_cleanly");
    rt.act(done);
    app_completed = true;
  }
  running_process = hr::no_process;

  if (app_completed) verify(bank, ctl);
  if (hold) {
    say() << "holding for a memory dump";
    for (;;) __asm__ volatile("wfi");
  }
  finish(app_completed, "nothing left to run at this boot");
}
