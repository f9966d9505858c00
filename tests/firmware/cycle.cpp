// SPDX-License-Identifier: MIT
// The section backend on a real core: its lock, a reset while the lock is held, and a chip
// reset at every crash point of a bank operation, each followed by a boot that must keep and
// repair the bank. Built for QEMU's microbit (Cortex-M0, ARMv6-M: irq_section_lock, the
// interrupt mask) and mps2-an385 (Cortex-M3: atomic_section_lock, compare-and-swap).
//
//   boot 1   a fresh bank; the lock seen from PendSV and NMI while thread code holds it; the
//            caller's interrupt mask kept; then a reset with the lock held
//   boot 2   the lock is stale after that reset: owner_died once, then acquired
//   then     for create and free: run the operation with a reset at its k-th crash point
//            (HOTRESTART_CRASH_HOOK), for k = 1, 2, ... until it completes uncut; every boot
//            in between checks that the lock was held at the reset, that boot_bank kept the
//            bank, that check() finds nothing, and whether the operation happened or not
//   last     PASS through semihosting (exit 0); FAIL: 1
//
// Lines "[boot N] ..." are the ones the test compares; "[cut ...]" lines are a log of each cut.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>

#include <hotrestart/backends/section.hpp>

#include "chip.hpp"
#include "console.hpp"
#include "semihosting.hpp"

namespace hr = hotrestart;
using fw::finish;
using fw::must;
using fw::say;

// The crash hook: the bank calls it before each store it makes to the bank (detail/words.hpp).
// While armed, it counts those made under the bank's lock (the operation's own; the lock's
// words are the lock's business) and resets the chip at the chosen one.
namespace {
volatile std::uint32_t cut_at = 0;  // .bss: disarmed at every boot
volatile std::uint32_t points_seen = 0;
bool bank_locked();
}  // namespace
void hr_fw_crash_point() {
  if (cut_at == 0 || !bank_locked()) return;
  points_seen = points_seen + 1;
  if (points_seen == cut_at) chip::reset();
}

namespace {

#ifdef HR_FW_NEG_LOCK_NO_MASK
// NEGATIVE CONTROL: the interrupt-mask lock without the mask (a port that forgot `cpsid i`).
struct unmasked_lock {
  static constexpr std::uint32_t stamp = 0x49434553u;
  static void init(std::byte* a) { hr::detail::section::init_area(a, stamp); }
  static void adopt(std::byte* a) { hr::detail::section::adopt_area(a, stamp); }
  static hr::result<hr::lock_outcome> lock(std::byte* a) {
    const std::uint32_t w = hr::detail::load32(a, hr::detail::section::lock_word);
    if (w == hr::detail::section::lock_held)
      return hr::fail(hr::errc::lock_failed, "the bank is busy");
    hr::detail::store32(a, hr::detail::section::lock_word, hr::detail::section::lock_held);
    return w == hr::detail::section::lock_free ? hr::lock_outcome::acquired
                                               : hr::lock_outcome::owner_died;
  }
  static void repaired(std::byte*) {}
  static void unlock(std::byte* a) {
    hr::detail::store32(a, hr::detail::section::lock_word, hr::detail::section::lock_free);
  }
};
using cycle_lock = unmasked_lock;
#else
using cycle_lock = hr::default_section_lock;
#endif
using cycle_bank = hr::basic_bank<hr::basic_section_backend<cycle_lock, 256>>;
constexpr hr::tunables tunables{.bank_size = 4 * 1024, .max_blocks = 8};

namespace sec = hr::detail::section;

std::byte* region() {
  return hr::linker_section::region().data();
}
std::byte* lock_area() {
  return region() + hr::bank_format::lock_area;
}
std::uint32_t lock_word() {
  return hr::detail::load32(lock_area(), sec::lock_word);
}
bool bank_locked() {
  return lock_word() == sec::lock_held;
}

// ---------------------------------------------------------------------------------------------
// The lock seen from handlers that preempt thread code

struct handler_probe {
  volatile std::uint32_t runs;
  volatile bool saw_held;
  volatile std::uint32_t outcome;  // 0 acquired, 1 owner_died, 2 lock_failed
};
handler_probe pendsv_probe, nmi_probe;

void probe_lock(handler_probe& p) {
  p.saw_held = lock_word() == sec::lock_held;
  auto r = cycle_lock::lock(lock_area());
  p.outcome = !r ? 2u : *r == hr::lock_outcome::acquired ? 0u : 1u;
  if (r) cycle_lock::unlock(lock_area());
  p.runs = p.runs + 1;  // (not ++: C++20 deprecates it on volatile)
}

const char* outcome_name(std::uint32_t o) {
  return o == 0 ? "acquired" : o == 1 ? "owner_died" : "lock_failed";
}

}  // namespace

extern "C" void hr_pendsv_handler() {
  probe_lock(pendsv_probe);
}
extern "C" void hr_nmi_handler() {
  probe_lock(nmi_probe);
}

extern "C" [[noreturn]] void hr_hardfault_record(const std::uint32_t* frame) {
  if (semihosting::usable_in_handler()) say() << "HardFault at pc " << say::hex{frame[6]};
  finish(false, "unexpected HardFault");
}

namespace {

void lock_from_handlers() {
  const std::uint32_t before = chip::primask();
  auto r = cycle_lock::lock(lock_area());
  if (!r || *r != hr::lock_outcome::acquired) finish(false, "the lock of a fresh bank is not free");
  const bool masked = chip::primask() != 0;
  chip::pend_pendsv();
  const bool pendsv_inside = pendsv_probe.runs != 0;
  chip::pend_nmi();
  const bool nmi_inside = nmi_probe.runs != 0;
  cycle_lock::unlock(lock_area());
  __asm__ volatile("isb" ::: "memory");  // a PendSV held off by the mask is taken here
  const bool restored = chip::primask() == before;

  say() << "lock: interrupts masked while it is held: " << (masked ? "yes" : "no");
  if (pendsv_inside)
    say() << "lock: PendSV preempted the holder, saw the lock held and got "
          << outcome_name(pendsv_probe.outcome);
  else if (pendsv_probe.runs == 1)
    say() << "lock: PendSV waited for the unlock, then got " << outcome_name(pendsv_probe.outcome);
  else
    say() << "lock: PendSV never ran";
  if (nmi_inside)
    say() << "lock: NMI preempted the holder, " << (nmi_probe.saw_held ? "saw" : "did not see")
          << " the lock held and got " << outcome_name(nmi_probe.outcome);
  else
    say() << "lock: NMI did not run while the lock was held";

  // The caller's own mask survives a lock/unlock pair.
  chip::mask_interrupts();
  auto again = cycle_lock::lock(lock_area());
  if (!again) finish(false, "the lock is not free after unlock");
  cycle_lock::unlock(lock_area());
  const bool kept = chip::primask() != 0;
  chip::unmask_interrupts();
  say() << "lock: the caller's interrupt mask is as it was after unlock: "
        << (restored && kept ? "yes" : "no");
}

// ---------------------------------------------------------------------------------------------
// Resets inside operations

struct cycle_state {
  std::uint32_t boots;
  std::uint32_t phase;  // one of the phases below
  std::uint32_t op;     // crash phase: the operation under test
  std::uint32_t cut;    // its crash point the last run was cut at (0: none yet)
  std::uint32_t rolled_back, completed;
};
enum phase : std::uint32_t { fresh = 0, lock_reset = 1, cutting = 2 };

constexpr std::uint32_t keep_bytes = 300, victim_bytes = 700;
struct operation {
  const char* name;
  bool victim_before;  // the base state has the victim block
};
constexpr operation operations[] = {{"create", false}, {"free", true}};
constexpr std::uint32_t n_operations = sizeof operations / sizeof operations[0];

void fill(const hr::block& b, std::uint32_t bytes, int value) {
  std::memset(b.data, value, bytes);
}

void make_victim(cycle_bank& bank) {
  fill(must(bank.find_or_create("victim", victim_bytes), "victim"), victim_bytes, 0x3C);
}

// The operation with a reset at crash point `k`; returns only if it completed before that.
void run_cut(cycle_bank& bank, const operation& op, std::uint32_t k) {
  points_seen = 0;
  cut_at = k;
  if (op.victim_before)
    must(bank.free("victim"), "free");
  else
    (void)must(bank.find_or_create("victim", victim_bytes), "create");
  cut_at = 0;
}

bool holds(const hr::block& b, std::uint32_t bytes, int value) {
  for (std::uint32_t i = 0; i < bytes; ++i)
    if (b.data[i] != static_cast<std::byte>(value)) return false;
  return true;
}

// After a cut: the bank must be consistent and the operation done or not. Returns whether it
// happened; FAILs otherwise.
bool recovered(cycle_bank& bank, const operation& op, std::uint32_t k) {
  const char* why = nullptr;
  std::uint32_t problems = must(
      bank.check([](const hr::error& e) { say("[cut] ") << "check: " << hr::describe(e).text; }),
      "check");
  auto keep = bank.find("keep");
  auto victim = bank.find("victim");
  const auto st = must(bank.stats(), "stats");
  if (problems != 0)
    why = "check() found problems";
  else if (!keep || !holds(*keep, keep_bytes, 0x5A))
    why = "a committed block lost its bytes";
  else if (st.blocks != (victim ? 3u : 2u))
    why = "the block count disagrees with the blocks";
  else if (victim && op.victim_before && !holds(*victim, victim_bytes, 0x3C))
    why = "the block being freed lost its bytes";
  if (why != nullptr) {
    say() << op.name << " cut at point " << k << ": not recovered: " << why;
    finish(false, "a reset inside an operation was not recovered");
  }
  return victim.has_value() != op.victim_before;
}

}  // namespace

extern "C" [[noreturn]] void hr_firmware_main() {
  char cmd[32];
  (void)semihosting::command_line(cmd, sizeof cmd);  // learns whether semihosting works
  // What the reset left, read before the bank is opened (open marks a held lock stale).
  const bool had_bank = sec::has_magic(region());
  const std::uint32_t lock_at_reset = had_bank ? lock_word() : 0;
  const std::uint32_t journal_at_reset =
      hr::detail::load32(region(), hr::bank_format::journal_state);

  auto booted = must(hr::boot_bank<cycle_bank>(hr::linker_section{}, tunables), "boot_bank");
  cycle_bank& bank = booted.bank;
  auto* st = std::launder(reinterpret_cast<cycle_state*>(
      must(bank.find_or_create("cycle", sizeof(cycle_state)), "cycle").data));
  st->boots += 1;
  fw::boot_number = st->boots;

  if (st->phase == fresh) {
    say() << "bank " << hr::to_string(booted.kind);
    fill(must(bank.find_or_create("keep", keep_bytes), "keep"), keep_bytes, 0x5A);
    lock_from_handlers();
    say() << "lock: taken, then the chip resets";
    st->phase = lock_reset;
    (void)cycle_lock::lock(lock_area());
    chip::reset();
  }

  if (st->phase == lock_reset) {
    say() << "bank " << hr::to_string(booted.kind);
    const bool was_held = lock_at_reset == sec::lock_held;
    const bool stale = lock_word() == sec::lock_stale;
    auto first = bank.backend().lock();
    const bool died = first && *first == hr::lock_outcome::owner_died;
    if (first) {
      bank.backend().repaired();
      bank.backend().unlock();
    }
    auto second = bank.backend().lock();
    const bool acquired = second && *second == hr::lock_outcome::acquired;
    if (second) bank.backend().unlock();
    say() << "lock: held at the reset " << (was_held ? "yes" : "no") << ", stale at boot "
          << (stale ? "yes" : "no") << ", then owner_died " << (died ? "yes" : "no")
          << ", then acquired " << (acquired ? "yes" : "no");
    st->phase = cutting;
    st->op = 0;
    st->cut = 0;
    say() << operations[0].name << ": a chip reset at each crash point";
    run_cut(bank, operations[0], st->cut = 1);
    finish(false, "the first crash point was never reached");
  }

  // A boot after a cut at crash point st->cut of operations[st->op].
  for (;;) {
    const operation& op = operations[st->op];
    if (st->cut != 0) {
      using hr::detail::journal_state;
      const char* journal =
          journal_at_reset == static_cast<std::uint32_t>(journal_state::idle)        ? "idle"
          : journal_at_reset == static_cast<std::uint32_t>(journal_state::committed) ? "committed"
                                                                                     : "torn";
      if (booted.kind != hr::boot_kind::kept || lock_at_reset != sec::lock_held) {
        say() << op.name << " cut at point " << st->cut << ": bank " << hr::to_string(booted.kind)
              << ", lock at the reset " << say::hex{lock_at_reset};
        finish(false, "the reset did not come inside the operation, or the bank was not kept");
      }
      const bool happened = recovered(bank, op, st->cut);
      (happened ? st->completed : st->rolled_back) += 1;
      say("[cut] ") << op.name << " at point " << st->cut << " (boot " << st->boots
                    << "): lock held, intent record " << journal << ": "
                    << (happened ? "completed" : "rolled back") << ", check: 0 problems";
      // Back to the operation's base state, for the next cut.
      if (happened && op.victim_before) make_victim(bank);
      if (happened && !op.victim_before) must(bank.free("victim"), "free victim");
    }
    run_cut(bank, op, st->cut += 1);
    // The operation completed uncut: every crash point has been cut once.
    const std::uint32_t points = st->cut - 1;
    (void)recovered(bank, op, st->cut);
    say() << op.name << ": cut by a chip reset at each of its " << points
          << " crash points; every boot kept the bank and recovered it (" << st->rolled_back
          << " rolled back, " << st->completed << " completed)";
    if (points == 0 || st->rolled_back == 0 || st->completed == 0)
      finish(false, "the cuts did not fall on both sides of the commit");
    if (++st->op == n_operations) finish(true);
    // The next operation's base state.
    const operation& next = operations[st->op];
    if (next.victim_before) make_victim(bank);  // (re)filled: its bytes are checked after cuts
    if (!next.victim_before && bank.find("victim")) must(bank.free("victim"), "free victim");
    st->cut = 0;
    st->rolled_back = st->completed = 0;
    say() << next.name << ": a chip reset at each crash point";
  }
}
