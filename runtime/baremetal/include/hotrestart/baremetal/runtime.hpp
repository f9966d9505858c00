// SPDX-License-Identifier: MIT
// The Hot Restart Controller as a part of a firmware: tasks in restart groups, a fault of the
// running task handled by an escalation ladder, a reboot record that keeps the crash history,
// a tick source that lets restart counters decay, and watchdog attribution.
//
// The ladder, per group (an "event" is a fault, a failed assertion or a watchdog starvation):
//   1. restart the task where the program can do it without a reset (the `restart_in_place`
//      hook, from thread mode, the bank's lock free), or else after a reset that keeps the bank;
//      the group's restart counter (the controller's policy, in the bank) counts it and decays;
//   2. when the counter reaches its maximum: a site restart (a chip reset; every group restarts
//      from the bank, state kept: ChorusOS's site restart);
//   3. after `site_restarts_before_give_up` site restarts in a row: give up on the group (the
//      `give_up` hook; by default its state is discarded: its group-keyed blocks are freed and it
//      starts afresh; or safe mode: it is stopped). Never a flash write.
// Counters that must outlive the bank (boots, crashes, the loop and its first reason, site
// restarts in a row) are in the reboot record, outside it. A loop ends after `healthy_ms` with
// no event; `loop_limit` events in one loop (a loop the controller never sees: a fault in boot
// code) enter safe mode before any task runs.
//
// Time: now = the controller's clock at boot + the tick source's uptime. The time between the
// last tick and a reset is not counted, so counters decay more slowly than wall time, never
// faster (conservative).
#ifndef HOTRESTART_BAREMETAL_RUNTIME_HPP
#define HOTRESTART_BAREMETAL_RUNTIME_HPP

#include <array>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <hotrestart/backends/section.hpp>
#include <hotrestart/baremetal/cortex_m.hpp>
#include <hotrestart/baremetal/record.hpp>
#include <hotrestart/baremetal/record_format.hpp>
#include <hotrestart/baremetal/tick.hpp>
#include <hotrestart/baremetal/watchdog.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>

namespace hotrestart::baremetal {

/// A task: a member of restart group `gid`. `entry` runs one step of its work and returns true
/// when the work is complete (a clean exit), false to be run again at the next round.
struct task_spec {
  std::uint32_t gid = 0;
  std::string_view name;
  bool (*entry)() = nullptr;
};

inline constexpr std::uint32_t max_tasks = 32;

/// The runtime's tunables.
struct config {
  controller_config limits{4, 8};                  ///< groups and processes the controller keeps
  chorus_counter policy{3000, 4};                  ///< rung 1 -> 2 (max_badness 0: never)
  std::uint32_t site_restarts_before_give_up = 3;  ///< rung 2 -> 3 (0: never give up)
  std::uint32_t loop_limit = 16;                   ///< events in one loop -> safe mode (0: off)
  std::uint64_t healthy_ms = 60000;                ///< a loop ends after this long without event
  std::uintptr_t ram_start = 0, ram_end = 0;       ///< where a fault frame may lie (0, 0: anywhere)
  bool start_tick = true;                          ///< boot starts the tick source
};

/// What the fault handler saw.
struct fault_context {
  std::uint32_t* frame = nullptr;     ///< the stacked r0-r3, r12, lr, pc, xpsr (null: not readable)
  std::uint32_t task = rec::no_task;  ///< the task that was running
};

enum class give_up_action : std::uint32_t { discard_state, safe_mode };

/// What the runtime did, for the program's log (`hooks::step`).
enum class step_kind : std::uint8_t {
  record_checked,      ///< the record was checked and the cause decided (`report()` says how)
  task_started,        ///< a, b: task, run count in this boot
  restarted_in_place,  ///< a: task; b: the group's restart counter after it
  group_restarted,     ///< a: restarts of the group; b: the restart counter
  site_restart,        ///< a: site restarts in a row (this one included); the chip resets next
  site_restarted,      ///< every group restarted from the bank (a: site restarts ever)
  gave_up,             ///< a: give_up_action; b: group-keyed blocks freed
  group_terminated,    ///< a: group-keyed blocks freed
  loop_ended,          ///< a: events in the loop that ended
};
/// One step of the ladder (see step_kind for what `a` and `b` hold).
struct step {
  step_kind kind;                ///< what happened
  std::uint32_t gid = no_group;  ///< the group it happened to (no_group: every group)
  std::uint32_t a = 0;           ///< first detail
  std::uint32_t b = 0;           ///< second detail
};

/// Every member optional.
struct hooks {
  /// Rung 1: restart the faulting task without a reset (an RTOS deletes and re-creates it;
  /// a cooperative loop rewrites the frame so that the handler returns to its scheduler:
  /// `resume_scheduler` below). False, or none: a reset.
  bool (*restart_in_place)(fault_context&) = nullptr;
  /// Rung 3 [discard_state].
  give_up_action (*give_up)(std::uint32_t gid, const record_view&) = nullptr;
  /// Safe mode: a group given up on with safe_mode, or `loop_limit` reached at boot.
  void (*safe_mode)(const record_view&) = nullptr;
  /// The chip's reset reason register, read once at boot [none: hw_reason bit 31].
  std::uint32_t (*reset_register)() = nullptr;
  /// Just before a software reset, after the record is sealed (flush a log...).
  void (*before_reset)(reset_cause) = nullptr;
  /// Each step of the ladder, for a log.
  void (*on_step)(const step&) = nullptr;
};

/// What the runtime and its handlers share. In .bss: valid for this boot only.
struct shared_state {
  /// The task running now (a fault is its fault).
  volatile std::uint32_t current_task = rec::no_task;
  /// The tasks that must check in with the watchdog (bits).
  volatile std::uint32_t registered = 0;
  /// The tasks that checked in since the last feed (bits).
  volatile std::uint32_t checked_in = 0;
  /// The task whose check-in completed the last set.
  volatile std::uint32_t last_fed = rec::no_task;
  /// A task restarted in place that the controller has not been told about yet.
  volatile std::uint32_t resumed_task = rec::no_task;
  /// The record's words.
  volatile std::uint32_t* record = nullptr;
  /// The booted runtime's fault path.
  bool (*on_fault)(std::uint32_t* frame) = nullptr;
  /// The booted runtime's watchdog note.
  void (*on_first_timeout)(const std::uint32_t* frame) = nullptr;
};
inline shared_state shared;

/// What `boot` found and did.
struct boot_report {
  record_status record = record_status::absent;  ///< the record as this boot found it
  const char* record_why = "";                   ///< why it was absent or lost
  std::uint32_t stored_crc = 0;                  ///< lost: the CRC the record held
  std::uint32_t computed_crc = 0;                ///< lost: the CRC of what it held
  reset_cause cause = reset_cause::none;         ///< the cause this boot decided on
  boot_kind bank = boot_kind::kept;              ///< the bank: kept, or formatted (and why)
  error bank_reason;                             ///< reformatted: why the old bank was refused
  bool controller_created = false;               ///< a new controller: every task started afresh
  bool safe_mode = false;                        ///< loop_limit reached: no task was started
};

/// The runtime. `Bank`: a section bank type; `Chip`: reset, caches, fault registers, interrupt
/// mask (`cortex_m` on a device); `Tick`: a tick_source; `Watchdog`: `start`, `kick`.
template <class Bank, class Chip, tick_source Tick, class Watchdog = null_watchdog>
class runtime {
 public:
  using store_type = bank_block_store<Bank>;  ///< the controller's blocks live in the bank
  using controller_type = basic_controller<chorus_counter, store_type>;  ///< the controller

  /// A runtime over the record's 128 bytes (`linker_record()` on a device).
  explicit runtime(volatile std::uint32_t* record_words, Tick tick = {}, Watchdog wd = {})
      : rec_(record_words), rec_words_(record_words), tick_(tick), wd_(wd) {}
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Boots: checks the record and decides the cause, opens or formats the bank, opens the
  /// controller and acts on the cause (a failed task's group restarts or escalates; any other
  /// reset is a site restart). May reset the chip (rung 2). The object must stay where it is
  /// (its handlers point to it).
  [[nodiscard]] result<boot_report> boot(std::span<const task_spec> tasks,
                                         typename Bank::location where, const tunables& t,
                                         const config& cfg, const hooks& h) {
    tasks_ = tasks;
    cfg_ = cfg;
    hooks_ = h;
    if (tasks.size() > max_tasks)
      return fail(error(errc::bad_size, "too many tasks").with_value("tasks", tasks.size()));
    shared.record = rec_words_;
    report_ = {};
    decide_cause();
    emit({step_kind::record_checked, no_group, static_cast<std::uint32_t>(report_.record),
          static_cast<std::uint32_t>(report_.cause)});
    instance_ = this;
    shared.on_fault = &fault_trampoline;
    shared.on_first_timeout = &first_timeout_trampoline;
    if (cfg_.loop_limit != 0 && rec_.get(rec::loop) >= cfg_.loop_limit) {
      report_.safe_mode = true;
      if (hooks_.safe_mode) hooks_.safe_mode(rec_.load());
      return report_;
    }
    auto booted = boot_bank<Bank>(where, t);
    if (!booted) return fail(booted.error());
    report_.bank = booted->kind;
    report_.bank_reason = booted->reason;
    bank_.emplace(std::move(booted->bank));
    store_.emplace(*bank_);
    bool created = false;
    auto ctl = open_or_create_controller<controller_type>(*bank_, cfg_.limits, cfg_.policy, *store_,
                                                          0, &created);
    if (!ctl) return fail(ctl.error());
    ctl_.emplace(std::move(*ctl));
    report_.controller_created = created;
    base_ms_ = ctl_->clock_ms();
    if (cfg_.start_tick) tick_.start();
    healthy_since_ = 0;
    if (created) {
      for (std::uint32_t i = 0; i < tasks_.size(); ++i) {
        if (auto g = ctl_->group_info(tasks_[i].gid); !g) {
          if (auto o = ctl_->open_group(now(), tasks_[i].gid); !o) return fail(o.error());
        }
        if (auto s = start(i); !s) return fail(s.error());
      }
      return report_;
    }
    for (std::uint32_t i = 0; i < tasks_.size(); ++i)
      if (auto id = ctl_->find_process(tasks_[i].gid, tasks_[i].name)) pid_[i] = *id;
    actions acts{this};
    if (auto r = ctl_->resume(now(), acts); !r) return fail(r.error());
    if (auto r = act(acts); !r) return fail(r.error());
    acts = actions{this};
    const std::uint32_t task = rec_.get(rec::task);
    if (abnormal(report_.cause) && task < tasks_.size() && !ctl_->site_restart_pending()) {
      if (auto r = failed(task, acts); !r) return fail(r.error());
    } else {
      emit({step_kind::site_restarted, no_group, ctl_->site_restarts() + 1});
      if (auto r = ctl_->site_restarted(now(), acts); !r) return fail(r.error());
      if (auto r = act(acts); !r) return fail(r.error());
    }
    // A task the controller does not know yet, in a group that runs (a firmware update added
    // it), starts now.
    for (std::uint32_t i = 0; i < tasks_.size(); ++i)
      if (!pid_[i].has_value() && group_runs(tasks_[i].gid))
        if (auto s = start(i); !s) return fail(s.error());
    return report_;
  }

  /// One round of the cooperative loop: runs each running task's entry once (a task that
  /// faults and is restarted in place comes back here). Returns how many tasks ran.
  std::uint32_t run_once() {
    std::uint32_t ran = 0;
    for (std::uint32_t i = 0; i < tasks_.size(); ++i) {
      if (!runs(i)) continue;
      ++ran;
      shared.current_task = i;
      const int r = run_step(i);
      shared.current_task = rec::no_task;
      if (r < 0 || shared.resumed_task != rec::no_task) {
        poll();
        continue;
      }
      if (r == 1) exited_cleanly(i);
    }
    return ran;
  }

  /// Thread mode: tells the controller about a task restarted in place, and acts.
  void poll() {
    const std::uint32_t t = shared.resumed_task;
    if (t == rec::no_task) return;
    shared.resumed_task = rec::no_task;
    actions acts{this};
    if (auto r = failed(t, acts); !r) reset_now(reset_cause::fault);
  }

  /// Thread mode, often: time passes (counters decay, a loop ends after healthy_ms) and the
  /// watchdog is fed if every registered task checked in.
  void tick() {
    if (!ctl_) return;
    const std::uint64_t n = now();
    (void)ctl_->tick(n);
    if (rec_.get(rec::loop) != 0 && n - base_ms_ >= healthy_since_ + cfg_.healthy_ms) {
      const std::uint32_t m = Chip::mask_interrupts();
      const std::uint32_t events = rec_.get(rec::loop);
      rec_.set(rec::loop, 0);
      rec_.set(rec::site_in_row, 0);
      rec_.set(rec::first_cause, 0);
      rec_.set(rec::first_task, rec::no_task);
      rec_.set(rec::first_pc, 0);
      rec_.set(rec::first_boot, 0);
      rec_.commit();
      Chip::restore_interrupts(m);
      emit({step_kind::loop_ended, no_group, events});
    }
    const std::uint32_t reg = shared.registered;
    if (reg != 0 && (shared.checked_in & reg) == reg) {
      wd_.kick();
      shared.checked_in = 0;
    }
  }

  /// Starts the watchdog; `tasks` is the set of tasks that must check in.
  void start_watchdog(std::uint32_t ticks, std::uint32_t tasks,
                      bool first_timeout_interrupt = true) {
    shared.registered = tasks;
    shared.checked_in = 0;
    wd_.start(ticks, first_timeout_interrupt);
  }
  /// A task made progress. The task whose check-in completes the set is `last_fed`.
  static void check_in(std::uint32_t task) {
    const std::uint32_t m = Chip::mask_interrupts();
    const std::uint32_t c = shared.checked_in | (1u << task);
    shared.checked_in = c;
    if (shared.registered != 0 && (c & shared.registered) == shared.registered)
      shared.last_fed = task;
    Chip::restore_interrupts(m);
  }

  /// The application asks for a reset (counted as nothing abnormal; a site restart follows).
  [[noreturn]] void request_reset() { reset_now(reset_cause::requested); }
  /// A failed assertion in task `task` (a reset; counted as an event of its group).
  [[noreturn]] void assert_failed(std::uint32_t task, std::uint32_t pc) {
    Chip::mask_interrupts();
    record_event(reset_cause::assert_failed, task, pc, 0, 0, {}, 0);
    reset_now(reset_cause::assert_failed);
  }

  /// The controller's clock: its time at boot plus the tick source's uptime.
  std::uint64_t now() const {
#if defined(HR_BM_TESTONLY_FROZEN_CLOCK)
    return base_ms_;  // negative control: no time passes, so no counter decays
#else
    return base_ms_ + tick_.uptime_ms();
#endif
  }
  /// The bank (after boot).
  Bank& bank() {
    return *bank_;
  }
  /// The controller (after boot).
  controller_type& controller() {
    return *ctl_;
  }
  /// The reboot record.
  reboot_record& record() {
    return rec_;
  }
  /// What the last boot found and did.
  const boot_report& report() const {
    return report_;
  }
  /// The tick source.
  Tick& ticker() {
    return tick_;
  }
  /// Whether task `i` runs in its group's current epoch.
  bool runs(std::uint32_t i) const {
    if (!pid_[i]) return false;
    auto p = ctl_->process_info(*pid_[i]);
    return p && p->state == process_state::running;
  }
  /// How the rung-1 hook of a cooperative loop resumes: the scheduler's `run_once`, right after
  /// the call of the task that faulted.
  [[noreturn]] void resume_scheduler() {
    std::longjmp(resume_, 1);
  }
  /// The runtime that booted last (the handlers' one).
  static runtime* current() {
    return instance_;
  }

  /// The HardFault path (thread context's frame; null when it is not readable). Returns only
  /// when the task was restarted in place (the handler then returns from the exception).
  bool on_fault(std::uint32_t* frame) {
    const fault_regs f = Chip::read_fault_regs();
    std::uint32_t flags = f.flags;
    if (!frame_readable(frame)) {
      frame = nullptr;
      flags |= rec::flag_no_frame;
    }
    const std::uint32_t task = shared.current_task;
    const std::uint32_t pc = frame ? frame[6] : 0, lr = frame ? frame[5] : 0,
                        xpsr = frame ? frame[7] : 0;
    const bool thread_mode = frame != nullptr && (xpsr & 0x1FFu) == 0;
    if (hooks_.restart_in_place != nullptr && ctl_ && task < tasks_.size() && thread_mode &&
        !bank_lock_held() && shared.resumed_task == rec::no_task) {
      fault_context ctx{frame, task};
      if (hooks_.restart_in_place(ctx)) {
        record_event(reset_cause::fault, task, pc, lr, xpsr, f, flags | rec::flag_in_place);
        healthy_since_ = now() - base_ms_;
        shared.resumed_task = task;
        return true;
      }
    }
    record_event(reset_cause::fault, task, pc, lr, xpsr, f, flags);
    reset_now(reset_cause::fault);
  }

  /// The watchdog's first-timeout interrupt: the note only (it may have interrupted a commit of
  /// the main record: it never touches it, nor the bank).
  void on_first_timeout(const std::uint32_t* frame) {
    std::uint32_t running = shared.current_task;
#if defined(HR_BM_TESTONLY_WDOG_BLAME_LAST_FED)
    running = shared.last_fed;  // negative control: blames whoever fed last
#endif
    rec_.write_note(running, shared.registered & ~shared.checked_in, shared.last_fed,
                    frame_readable(frame) ? frame[6] : 0);
    Chip::clean_dcache(const_cast<const std::uint32_t*>(rec_.words()), rec::bytes);
  }

 private:
  // What the controller asks for, collected while it reports (a sink may only query it):
  // the tasks to start, an escalation, the blocks a termination freed. A few words on the stack
  // whatever the limits, and nothing is ever dropped.
  struct actions {
    runtime* rt = nullptr;
    std::uint32_t start = 0;  // bit i: start task i
    std::uint32_t escalate_gid = no_group;
    bool escalate = false;
    std::uint32_t freed = 0;
    void operator()(const action& a) { rt->collect(a, *this); }
  };

  static inline runtime* instance_ = nullptr;

  // One step of task i: 1 done, 0 not yet, -1 it faulted and was restarted in place. Nothing
  // here changes after setjmp, so nothing can be clobbered by the longjmp.
  [[gnu::noinline]] int run_step(std::uint32_t i) {
    if (setjmp(resume_) != 0) return -1;
    return tasks_[i].entry() ? 1 : 0;
  }
  static bool fault_trampoline(std::uint32_t* frame) {
    return instance_->on_fault(frame);
  }
  static void first_timeout_trampoline(const std::uint32_t* frame) {
    instance_->on_first_timeout(frame);
  }

  bool frame_readable(const std::uint32_t* frame) const {
    if (frame == nullptr) return false;
    const auto a = reinterpret_cast<std::uintptr_t>(frame);
    if (a % 4 != 0) return false;
    if (cfg_.ram_start == 0 && cfg_.ram_end == 0) return true;
    return a >= cfg_.ram_start && a + 32 <= cfg_.ram_end;
  }

  bool bank_lock_held() const {
    if (!bank_) return true;  // no bank yet: a fault in boot code, never in place
    const std::byte* area = bank_->backend().data() + bank_format::lock_area;
    return hotrestart::detail::load32(area, hotrestart::detail::section::lock_word) ==
           hotrestart::detail::section::lock_held;
  }

  void emit(const step& s) const {
    if (hooks_.on_step) hooks_.on_step(s);
  }

  // The record at boot: checked, the cause decided, the boot and a watchdog note counted.
  void decide_cause() {
    const record_view v = rec_.load();
    report_.record = v.status;
    report_.record_why = v.why;
    report_.stored_crc = v.stored_crc;
    report_.computed_crc = v.computed_crc;
    reset_cause cause = reset_cause::external;
    if (v.status != record_status::valid) {
      cause = v.status == record_status::absent ? reset_cause::power_on : reset_cause::unknown_lost;
      rec_.fresh();
    } else if (v.cause(rec::pending) != reset_cause::none) {
      cause = v.cause(rec::pending);
    } else if (v.note_valid) {
      cause = reset_cause::watchdog;
    }
    report_.cause = cause;
    if (cause ==
        reset_cause::watchdog) {  // an event of the boot that ended: counted before this one
      rec_.set(rec::wd_missing, v[rec::note_missing]);
      rec_.set(rec::wd_last_fed, v[rec::note_last_fed]);
      record_fields(cause, v[rec::note_running], v[rec::note_pc], 0, 0, {}, 0);
    }
    rec_.add(rec::boots);
    rec_.set(rec::pending, 0);
    rec_.set(rec::last_cause, static_cast<std::uint32_t>(cause));
    rec_.set(rec::hw_reason, hooks_.reset_register ? hooks_.reset_register() : rec::hw_reason_none);
    rec_.clear_note();
    rec_.commit();
  }

  // Counts an event and keeps its registers (not sealed: the caller commits).
  void record_fields(reset_cause cause, std::uint32_t task, std::uint32_t pc, std::uint32_t lr,
                     std::uint32_t xpsr, const fault_regs& f, std::uint32_t flags) {
    rec_.add(rec::crashes);
    rec_.add(rec::loop);
#if defined(HR_BM_TESTONLY_OVERWRITE_FIRST)
    const bool first = true;  // negative control: the first reason follows every event
#else
    const bool first = rec_.get(rec::loop) == 1;
#endif
    if (first) {
      rec_.set(rec::first_cause, static_cast<std::uint32_t>(cause));
      rec_.set(rec::first_task, task);
      rec_.set(rec::first_pc, pc);
      rec_.set(rec::first_boot, rec_.get(rec::boots));
    }
    rec_.set(rec::task, task);
    rec_.set(rec::pc, pc);
    rec_.set(rec::lr, lr);
    rec_.set(rec::xpsr, xpsr);
    rec_.set(rec::cfsr, f.cfsr);
    rec_.set(rec::hfsr, f.hfsr);
    rec_.set(rec::mmfar, f.mmfar);
    rec_.set(rec::bfar, f.bfar);
    rec_.set(rec::flags, flags);
  }
  void record_event(reset_cause cause, std::uint32_t task, std::uint32_t pc, std::uint32_t lr,
                    std::uint32_t xpsr, const fault_regs& f, std::uint32_t flags) {
    record_fields(cause, task, pc, lr, xpsr, f, flags);
    rec_.commit();
  }

  // Seals the record with the cause of the coming reset, writes caches back, resets.
  [[noreturn]] void reset_now(reset_cause cause) {
    Chip::mask_interrupts();
    rec_.set(rec::pending, static_cast<std::uint32_t>(cause));
    rec_.commit();
    Chip::clean_dcache(const_cast<const std::uint32_t*>(rec_.words()), rec::bytes);
    if (bank_)
      Chip::clean_dcache(bank_->backend().data(),
                         static_cast<std::size_t>(bank_->backend().size()));
    if (hooks_.before_reset) hooks_.before_reset(cause);
    Chip::reset();
  }

  bool group_runs(std::uint32_t gid) const {
    auto g = ctl_->group_info(gid);
    return g && !g->terminating;
  }

  result<void> start(std::uint32_t i) {
    const std::uint64_t handle = std::uint64_t{rec_.get(rec::boots)} << 32 | ++runs_started_;
    auto id =
        ctl_->process_started(now(), {tasks_[i].gid, tasks_[i].name, process_kind::direct, handle});
    if (!id) return fail(id.error());
    pid_[i] = *id;
    emit({step_kind::task_started, tasks_[i].gid, i, runs_started_});
    return {};
  }

  void exited_cleanly(std::uint32_t i) {
    auto p = ctl_->process_info(*pid_[i]);
    if (!p) return;
    actions acts{this};
    if (auto r = ctl_->process_exited_cleanly(now(), *pid_[i], p->handle, acts); r) (void)act(acts);
  }

  // Task i's run failed: the controller decides (restart, or escalate).
  result<void> failed(std::uint32_t i, actions& acts) {
    auto id = ctl_->find_process(tasks_[i].gid, tasks_[i].name);
    if (!id) return fail(id.error());
    pid_[i] = *id;
    auto p = ctl_->process_info(*id);
    if (!p) return fail(p.error());
    auto r = ctl_->process_failed(now(), *id, p->handle, acts);
    if (!r) return fail(r.error());
    return act(acts);
  }

  void collect(const action& a, actions& out) const {
    switch (a.kind) {
      case action_kind::group_restarted: {
        auto g = ctl_->group_info(a.gid);
        if (g)
          emit(
              {step_kind::group_restarted, a.gid, g->restarts, chorus_counter::counter(g->policy)});
        break;
      }
      case action_kind::run: {
        auto p = ctl_->process_info(a.process);
        if (!p) break;
        for (std::uint32_t i = 0; i < tasks_.size(); ++i)
          if (tasks_[i].gid == a.gid && p->name() == tasks_[i].name) out.start |= 1u << i;
        break;
      }
      case action_kind::site_restart:
        out.escalate = true;
        out.escalate_gid = a.gid;
        break;
      case action_kind::group_terminated:
        out.freed += a.count;
        emit({step_kind::group_terminated, a.gid, a.count});
        break;
      default: break;  // stop: a task that is not running; discard_state, group_blocked
    }
  }

  // Acts on what was collected: tasks started, then an escalation.
  result<void> act(const actions& acts) {
    for (std::uint32_t i = 0; i < tasks_.size(); ++i)
      if ((acts.start & (1u << i)) != 0)
        if (auto s = start(i); !s) return s;
    if (acts.escalate) escalate(acts.escalate_gid);
    return {};
  }

  // Rung 2, or rung 3 after K site restarts in a row. Returns only after giving up.
  void escalate(std::uint32_t gid) {
#if defined(HR_BM_TESTONLY_K)
    const std::uint32_t k = HR_BM_TESTONLY_K;
#else
    const std::uint32_t k = cfg_.site_restarts_before_give_up;
#endif
    if (k == 0 || rec_.get(rec::site_in_row) < k) {
      rec_.add(rec::site_in_row);
      emit({step_kind::site_restart, gid, rec_.get(rec::site_in_row)});
      reset_now(reset_cause::site_restart);
    }
    give_up(gid);
  }

  void give_up(std::uint32_t gid) {
    (void)ctl_->decline_site_restart(now());
    const give_up_action what =
        hooks_.give_up ? hooks_.give_up(gid, rec_.load()) : give_up_action::discard_state;
    actions acts{this};
    const std::uint32_t freed =
        gid != no_group && ctl_->kill_group(now(), gid, acts) ? acts.freed : 0;
    const std::uint32_t m = Chip::mask_interrupts();
    rec_.add(rec::discards);
    rec_.set(rec::site_in_row, 0);
    rec_.commit();
    Chip::restore_interrupts(m);
    emit({step_kind::gave_up, gid, static_cast<std::uint32_t>(what), freed});
    for (std::uint32_t i = 0; i < tasks_.size(); ++i)
      if (tasks_[i].gid == gid) pid_[i].reset();
    if (what == give_up_action::discard_state && gid != no_group) {
      if (!ctl_->open_group(now(), gid)) return;
      for (std::uint32_t i = 0; i < tasks_.size(); ++i)
        if (tasks_[i].gid == gid) (void)start(i);
    } else if (hooks_.safe_mode) {
      hooks_.safe_mode(rec_.load());
    }
  }

  reboot_record rec_;
  volatile std::uint32_t* rec_words_;
  Tick tick_;
  Watchdog wd_;
  std::span<const task_spec> tasks_;
  config cfg_{};
  hooks hooks_{};
  boot_report report_{};
  std::optional<Bank> bank_;
  std::optional<store_type> store_;
  std::optional<controller_type> ctl_;
  std::array<std::optional<std::uint32_t>, max_tasks> pid_{};
  std::uint64_t base_ms_ = 0, healthy_since_ = 0;
  std::uint32_t runs_started_ = 0;
  std::jmp_buf resume_{};
};

/// The fault path for a startup's HardFault handler (the frame of the interrupted context):
/// returns only when the running task was restarted in place. Before a runtime booted: the
/// record (when one is set) gets the fault as pending, and the chip resets.
template <class Chip>
bool handle_fault(std::uint32_t* frame) {
  if (shared.on_fault != nullptr) return shared.on_fault(frame);
  if (shared.record != nullptr) {
    reboot_record r(shared.record);
    if (r.load().status == record_status::valid) {
      r.add(rec::crashes);
      r.add(rec::loop);
      r.set(rec::pending, static_cast<std::uint32_t>(reset_cause::fault));
      r.commit();
    }
  }
  Chip::reset();
}

/// A rung-1 hook for the cooperative loop of `runtime::run_once`: the exception returns into
/// `resume_cooperative_entry`, which goes back to the scheduler right after the call of the
/// task that faulted (its stack is dropped). ARMv6-M, v7-M, v8-M: the frame's PC and xPSR.
template <class Runtime>
[[noreturn]] void resume_cooperative_entry() {
  Runtime::current()->resume_scheduler();
}
template <class Runtime, class Chip>
bool resume_cooperative(fault_context& c) {
  if (c.frame == nullptr) return false;
  c.frame[6] = static_cast<std::uint32_t>(
                   reinterpret_cast<std::uintptr_t>(&resume_cooperative_entry<Runtime>)) &
               ~1u;
  c.frame[7] = 0x01000000u | (c.frame[7] & (1u << 9));  // Thumb; keep the stack-alignment bit
  Chip::clear_fault_regs();
  return true;
}

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
}  // namespace hotrestart::baremetal
extern "C" std::uint32_t hotrestart_record_start[];  // hotrestart_retained.ld
namespace hotrestart::baremetal {
/// The record's words where hotrestart_retained.ld put them.
inline volatile std::uint32_t* linker_record() {
  return hotrestart_record_start;
}
#endif

/// For the watchdog's first-timeout interrupt handler.
inline void handle_first_timeout(const std::uint32_t* frame) {
  if (shared.on_first_timeout != nullptr) shared.on_first_timeout(frame);
}

}  // namespace hotrestart::baremetal

#endif  // HOTRESTART_BAREMETAL_RUNTIME_HPP
