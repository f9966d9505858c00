// SPDX-License-Identifier: MIT
// The reboot record and the escalation ladder of the bare-metal runtime, on the host.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <doctest/doctest.h>
#include <hotrestart/baremetal.hpp>

namespace bm = hotrestart::baremetal;
namespace hr = hotrestart;
using bm::rec::words;

TEST_CASE("the record's CRC is CRC-32/IEEE and its layout is the documented one") {
  const char* s = "123456789";
  CHECK(bm::crc32(std::span(reinterpret_cast<const std::uint8_t*>(s), 9)) == 0xCBF43926u);
  CHECK(bm::rec::crc * 4 == 0x64);
  CHECK(bm::rec::note_magic * 4 == 0x68);
  CHECK(bm::rec::note_crc * 4 == 0x7C);
  CHECK(bm::rec::words * 4 == 128);
  CHECK(bm::rec::main_bytes == (bm::rec::crc + 1) * 4);
}

TEST_CASE("a record is absent, lost or valid; every flipped bit of the main record makes it lost") {
  std::array<std::uint32_t, words> mem{};
  bm::reboot_record r(mem.data());
  CHECK(r.load().status == bm::record_status::absent);
  r.fresh();
  r.set(bm::rec::boots, 7);
  r.set(bm::rec::crashes, 3);
  r.commit();
  const auto v = r.load();
  REQUIRE(v.status == bm::record_status::valid);
  CHECK(v[bm::rec::boots] == 7);
  CHECK(v[bm::rec::first_task] == bm::rec::no_task);
  CHECK_FALSE(v.note_valid);

  // The same bytes through the dump decoder (little-endian).
  std::array<std::byte, 128> dump{};
  for (std::size_t i = 0; i < words; ++i)
    for (std::size_t k = 0; k < 4; ++k) dump[4 * i + k] = std::byte(mem[i] >> (8 * k));
  CHECK(bm::decode(dump).status == bm::record_status::valid);
  CHECK(bm::decode(dump)[bm::rec::crashes] == 3);

  std::uint32_t lost = 0, absent = 0, checked = 0;
  for (std::uint32_t w = 0; w <= bm::rec::crc; ++w)
    for (std::uint32_t bit = 0; bit < 32; ++bit) {
      auto copy = mem;
      copy[w] ^= 1u << bit;
      const auto d = bm::decode_words(copy);
      ++checked;
      if (w == bm::rec::magic)
        absent += d.status == bm::record_status::absent;
      else
        lost += d.status == bm::record_status::lost;
    }
  CHECK(checked == 26 * 32);
  CHECK(absent == 32);
  CHECK(lost == 25 * 32);

  // A torn commit: fields new, CRC old.
  auto torn = mem;
  torn[bm::rec::crashes] = 4;
  torn[bm::rec::loop] = 1;
  const auto t = bm::decode_words(torn);
  CHECK(t.status == bm::record_status::lost);
  CHECK(std::string(t.why) == "CRC mismatch");
  CHECK(t.stored_crc == mem[bm::rec::crc]);
  CHECK(t.computed_crc != t.stored_crc);

  // Another layout version: lost, never misread.
  auto v2 = mem;
  v2[bm::rec::version_bytes] = 2 | bm::rec::main_bytes << 16;
  CHECK(std::string(bm::decode_words(v2).why) == "another record version");
}

TEST_CASE("the watchdog note has its own CRC and is cleared once folded in") {
  std::array<std::uint32_t, words> mem{};
  bm::reboot_record r(mem.data());
  r.fresh();
  r.commit();
  r.write_note(2, 0b0100, 3, 0x1234);
  auto v = r.load();
  CHECK(v.status == bm::record_status::valid);  // the note is outside the main CRC
  CHECK(v.note_valid);
  CHECK(v[bm::rec::note_running] == 2);
  mem[bm::rec::note_missing] ^= 1;
  CHECK_FALSE(r.load().note_valid);
  r.write_note(2, 0b0100, 3, 0x1234);
  r.clear_note();
  CHECK_FALSE(r.load().note_valid);
}

// ---- the ladder on the host ----------------------------------------------------------------

namespace {
struct host_reset {};
struct host_chip {
  [[noreturn]] static void reset() { throw host_reset{}; }
  static void clean_dcache(const void*, std::size_t) {}
  static bm::fault_regs read_fault_regs() { return {}; }
  static void clear_fault_regs() {}
  static std::uint32_t mask_interrupts() { return 0; }
  static void restore_interrupts(std::uint32_t) {}
};
using bank_t = hr::section_bank_ext;
using rt_t = bm::runtime<bank_t, host_chip, bm::manual_tick>;

alignas(64) std::array<std::byte, 32768> bank_mem;
std::array<std::uint32_t, words> record_mem;
rt_t* rt = nullptr;
std::vector<std::string> steps;
int app_runs = 0;
// A fault frame of thread mode: r0-r3, r12, lr, pc, xpsr.
std::array<std::uint32_t, 8> frame{};
std::uint32_t fault_pc = 0x1000;

bool in_place(bm::fault_context&) {
  return true;
}

void on_step(const bm::step& s) {
  switch (s.kind) {
    case bm::step_kind::site_restart: steps.push_back("site restart " + std::to_string(s.a)); break;
    case bm::step_kind::gave_up:
      steps.push_back("gave up on " + std::to_string(s.gid) + " freed " + std::to_string(s.b));
      break;
    case bm::step_kind::group_restarted:
      steps.push_back("group " + std::to_string(s.gid) + " restarted, counter " +
                      std::to_string(s.b));
      break;
    case bm::step_kind::loop_ended: steps.push_back("loop ended"); break;
    default: break;
  }
}

// The app crashes while its group-keyed block app.poison exists.
bool app() {
  ++app_runs;
  if (rt->bank().find("app.poison")) {
    frame = {0, 0, 0, 0, 0, 0x2001, fault_pc, 0x01000000u};
    fault_pc += 2;
    if (bm::handle_fault<host_chip>(frame.data())) rt->resume_scheduler();
  }
  return true;
}
bool logger() {
  return false;  // runs every round
}

const bm::task_spec tasks[] = {{0, "app", &app}, {1, "logger", &logger}};
int app_runs_seen = 0;  // app runs during the last boot_once
int app_runs_at_last_boot() {
  return app_runs_seen;
}

// One boot of the device: .bss zeroed, the runtime booted, rounds run until nothing runs or
// `rounds` have run. True if the chip reset.
bool boot_once(const bm::config& cfg, const bm::hooks& h, bm::boot_report& out, int rounds = 5,
               std::uint64_t ms_per_round = 0) {
  bm::shared = bm::shared_state{};
  rt_t r(record_mem.data());
  rt = &r;
  const int runs_before = app_runs;
  struct count_runs {
    int before;
    ~count_runs() { app_runs_seen = app_runs - before; }
  } counter{runs_before};
  try {
    auto b = r.boot(tasks, std::span<std::byte>(bank_mem), {.bank_size = 16384, .max_blocks = 16},
                    cfg, h);
    if (!b) FAIL(hr::describe(b.error()).text);
    out = *b;
    if (b->controller_created) {
      auto p = r.bank().find_or_create("app.poison", 16, hr::group_key(0));
      REQUIRE(p.has_value());
    }
    for (int i = 0; i < rounds; ++i) {
      r.ticker().advance(ms_per_round);
      r.tick();
      if (r.run_once() == 0) break;
    }
  } catch (const host_reset&) {
    rt = nullptr;
    return true;
  }
  rt = nullptr;
  return false;
}
}  // namespace

TEST_CASE(
    "a crash loop climbs the ladder: in place, site restarts, then the group's state is "
    "discarded") {
  bank_mem.fill(std::byte{0xA5});
  record_mem.fill(0xA5A5A5A5u);  // garbage at a cold boot: no magic
  steps.clear();
  app_runs = 0;
  fault_pc = 0x1000;
  bm::config cfg;
  cfg.policy = {1000, 2};
  cfg.site_restarts_before_give_up = 2;
  bm::hooks h;
  h.restart_in_place = &in_place;
  h.on_step = &on_step;
  bm::boot_report rep;

  CHECK(boot_once(cfg, h, rep));  // two faults in place, then a site restart
  CHECK(rep.record == bm::record_status::absent);
  CHECK(rep.cause == bm::reset_cause::power_on);
  CHECK(rep.controller_created);
  CHECK(boot_once(cfg, h, rep));
  CHECK(rep.cause == bm::reset_cause::site_restart);
  CHECK(rep.record == bm::record_status::valid);
  CHECK_FALSE(boot_once(cfg, h, rep));  // gives up: the poison is freed, the app completes
  CHECK(rep.cause == bm::reset_cause::site_restart);
  // (A site restart restarts every group from the bank: counters kept, here 0 after the escalation.)
  const std::vector<std::string> want = {
      "group 0 restarted, counter 1", "site restart 1",
      "group 0 restarted, counter 0", "group 1 restarted, counter 0",
      "group 0 restarted, counter 1", "site restart 2",
      "group 0 restarted, counter 0", "group 1 restarted, counter 0",
      "group 0 restarted, counter 1", "gave up on 0 freed 1"};
  CHECK(steps == want);
  const auto v = bm::reboot_record(record_mem.data()).load();
  REQUIRE(v.status == bm::record_status::valid);
  CHECK(v[bm::rec::boots] == 3);
  CHECK(v[bm::rec::crashes] == 6);
  CHECK(v[bm::rec::loop] == 6);
  CHECK(v[bm::rec::discards] == 1);
  CHECK(v[bm::rec::site_in_row] == 0);
  CHECK(v.cause(bm::rec::first_cause) == bm::reset_cause::fault);
  CHECK(v[bm::rec::first_pc] == 0x1000);  // the first fault's, kept across the loop
  CHECK(v[bm::rec::first_boot] == 1);
  CHECK(v[bm::rec::pc] == 0x100A);
  CHECK((v[bm::rec::flags] & bm::rec::flag_in_place) != 0);
  CHECK(app_runs == 7);
}

TEST_CASE("without an in-place hook every fault resets, and a loop ends after healthy_ms") {
  bank_mem.fill(std::byte{0});
  record_mem.fill(0);
  steps.clear();
  bm::config cfg;
  cfg.policy = {1000, 3};
  cfg.healthy_ms = 50;
  bm::hooks h;
  h.on_step = &on_step;
  bm::boot_report rep;
  CHECK(boot_once(cfg, h, rep));  // fault -> reset
  CHECK(boot_once(cfg, h, rep));  // cause fault: group restarted, faults again
  CHECK(rep.cause == bm::reset_cause::fault);
  // The poison goes (as a repair would): the app completes; the logger runs on, healthy.
  {
    bm::shared = bm::shared_state{};
    rt_t r(record_mem.data());
    rt = &r;
    REQUIRE(r.boot(tasks, std::span<std::byte>(bank_mem), {.bank_size = 16384, .max_blocks = 16},
                   cfg, h));
    REQUIRE(r.bank().free("app.poison"));
    for (int i = 0; i < 10; ++i) {
      r.ticker().advance(10);
      r.tick();
      (void)r.run_once();
    }
    rt = nullptr;
  }
  const auto v = bm::reboot_record(record_mem.data()).load();
  CHECK(v[bm::rec::crashes] == 2);
  CHECK(v[bm::rec::loop] == 0);
  CHECK(v[bm::rec::first_task] == bm::rec::no_task);
  CHECK(steps.back() == "loop ended");
}

TEST_CASE("loop_limit events in one loop: safe mode before any task runs") {
  bank_mem.fill(std::byte{0});
  record_mem.fill(0);
  bm::config cfg;
  cfg.policy = {1000, 0};  // never escalates: only loop_limit stops this loop
  cfg.loop_limit = 4;
  bm::hooks h;
  bm::boot_report rep;
  int boots = 0;
  while (boot_once(cfg, h, rep) && boots < 10) ++boots;
  CHECK(rep.safe_mode);
  CHECK(boots == 4);
  CHECK(bm::reboot_record(record_mem.data()).load()[bm::rec::loop] == 4);
}

TEST_CASE("a watchdog note names the starving task at the next boot") {
  bank_mem.fill(std::byte{0});
  record_mem.fill(0);
  bm::config cfg;
  bm::hooks h;
  bm::boot_report rep;
  {
    bm::shared = bm::shared_state{};
    rt_t r(record_mem.data());
    REQUIRE(r.boot(tasks, std::span<std::byte>(bank_mem), {.bank_size = 16384, .max_blocks = 16},
                   cfg, h));
    r.start_watchdog(1000, 0b11);
    rt_t::check_in(0);
    rt_t::check_in(1);  // completes the set: logger fed last
    r.tick();
    rt_t::check_in(0);
    bm::shared.current_task = 1;  // the logger hogs the CPU without checking in
    std::array<std::uint32_t, 8> f{0, 0, 0, 0, 0, 0, 0x4242, 0x01000000u};
    bm::handle_first_timeout(f.data());
  }
  CHECK_FALSE(boot_once(cfg, h, rep, 1));  // (no poison: the app completes)
  CHECK(rep.cause == bm::reset_cause::watchdog);
  const auto v = bm::reboot_record(record_mem.data()).load();
  CHECK(v[bm::rec::task] == 1);
  CHECK(v[bm::rec::pc] == 0x4242);
  CHECK(v[bm::rec::wd_missing] == 0b10);
  CHECK(v[bm::rec::wd_last_fed] == 1);
  CHECK_FALSE(v.note_valid);
}

namespace {
int safe_mode_calls = 0;
std::uint32_t given_up_group = 99;
bm::give_up_action choose_safe_mode(std::uint32_t gid, const bm::record_view&) {
  given_up_group = gid;
  return bm::give_up_action::safe_mode;
}
void count_safe_mode(const bm::record_view&) {
  ++safe_mode_calls;
}
std::uint32_t reset_register() {
  return 0x0000000Cu;  // e.g. a pin reset and a power-on flag
}
}  // namespace

TEST_CASE("give_up may choose safe mode: the group stays stopped and its state is kept") {
  bank_mem.fill(std::byte{0});
  record_mem.fill(0);
  safe_mode_calls = 0;
  given_up_group = 99;
  bm::config cfg;
  cfg.policy = {1000, 1};  // every fault escalates
  cfg.site_restarts_before_give_up = 1;
  bm::hooks h;
  h.give_up = &choose_safe_mode;
  h.safe_mode = &count_safe_mode;
  h.reset_register = &reset_register;
  bm::boot_report rep;
  CHECK(boot_once(cfg, h, rep));        // the app faults -> reset
  CHECK(boot_once(cfg, h, rep));        // its failure escalates -> site restart 1
  CHECK(boot_once(cfg, h, rep));        // the app faults again -> reset
  CHECK_FALSE(boot_once(cfg, h, rep));  // escalates again, K reached -> give up: safe mode
  CHECK(given_up_group == 0);
  CHECK(safe_mode_calls == 1);
  const auto v = bm::reboot_record(record_mem.data()).load();
  CHECK(v[bm::rec::discards] == 1);
  CHECK(v[bm::rec::hw_reason] == 0x0000000Cu);
  // The group was stopped (its group-keyed poison freed with it), and it is not started again.
  CHECK_FALSE(boot_once(cfg, h, rep));
  CHECK(app_runs_at_last_boot() == 0);
}
