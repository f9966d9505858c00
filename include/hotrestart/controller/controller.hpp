// SPDX-License-Identifier: MIT
// The Hot Restart Controller (ChorusOS 5.0 hot restart): groups of restartable processes,
// restarts on failure, clean termination, blocked groups, killed groups and site restarts.
// Pure logic over a caller-given byte region (a bank block named __HR_controller): no I/O, no
// heap, no OS header; time is passed into every call. See docs/controller.md.
#ifndef HOTRESTART_CONTROLLER_CONTROLLER_HPP
#define HOTRESTART_CONTROLLER_CONTROLLER_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "../error.hpp"
#include "../policies/block_store.hpp"
#include "../policies/group_tracker.hpp"
#include "../policies/restart_policy.hpp"
#include "actions.hpp"
#include "region.hpp"
#include "types.hpp"

namespace hotrestart {

template <restart_policy Policy = chorus_counter, block_store Store = null_block_store,
          group_tracker Tracker = table_tracker>
class basic_controller {
  using region = controller_region;
  using txn = controller_txn;

 public:
  static constexpr std::uint64_t state_bytes(std::uint32_t mg, std::uint32_t mp) {
    return 4 * (detail::ctl::tracker_begin + Tracker::area_words(mg, effective_max_processes(mp)));
  }

  /// Formats a fresh state in `bytes`. `bad_tunables` (limits or policy), `truncated` (region
  /// smaller than `state_bytes`). A crash during create leaves a state that `open` refuses.
  [[nodiscard]] static result<basic_controller> create(std::span<std::byte> bytes,
                                                       controller_config cfg, Policy policy,
                                                       Store& store, std::uint64_t now) {
    using namespace detail::ctl;
    const std::uint32_t mp = effective_max_processes(cfg.max_processes);
    if (cfg.max_groups == 0 || cfg.max_groups > group_limit_cap || mp == 0)
      return fail(error(errc::bad_tunables, "max_groups must be 1..65536 and max_processes >= 1")
                      .with_range("max_groups", cfg.max_groups, 1, group_limit_cap)
                      .with_value("max_processes", mp));
    if (!policy.valid()) return fail(errc::bad_tunables, "restart policy tunables are invalid");
    if (bytes.size() < state_bytes(cfg.max_groups, mp))
      return fail(error(errc::truncated, "controller region too small")
                      .with_requested("bytes", state_bytes(cfg.max_groups, mp), bytes.size(),
                                      "in the region"));
    basic_controller c(bytes, policy, store, cfg.max_groups, mp);
    region& r = c.r_;
    for (std::uint32_t i = 0; i < tracker_begin; ++i) r.put(i, 0);
    c.tracker().format();
    r.put(w_version, version);
    r.put(w_max_groups, cfg.max_groups);
    r.put(w_max_processes, mp);
    r.put(w_policy_id, Policy::policy_id);
    r.put(w_tracker_id, Tracker::layout_id);
    r.put(w_last_seen, static_cast<std::uint32_t>(now));
    r.put(w_last_seen + 1, static_cast<std::uint32_t>(now >> 32));
    // Checksum, then magic, last: a state cut short has no magic and is formatted again by
    // open_or_create_controller (bank_store.hpp); one with magic is complete.
    r.put(w_magic, magic);
    const std::uint32_t sum = header_checksum(r);
    r.put(w_magic, 0);
    r.put(w_checksum, sum);
    r.put(w_magic, magic);
    if (r.crashed()) return fail(injected_crash);
    c.ready_ = true;
    return c;
  }

  /// Validates a state written before (nothing in it used unchecked), undoes an interrupted
  /// event. Errors: `truncated`, `corrupt` (naming the fault), `version_mismatch`,
  /// `layout_mismatch` (made by another policy or tracker), `bad_tunables` (policy).
  /// Call `resume` next: the events refuse to run (`not_permitted`) until it has.
  [[nodiscard]] static result<basic_controller> open(std::span<std::byte> bytes, Policy policy,
                                                     Store& store) {
    using namespace detail::ctl;
    if (!policy.valid()) return fail(errc::bad_tunables, "restart policy tunables are invalid");
    if (bytes.size() < 4 * tracker_begin)
      return fail(error(errc::truncated, "controller region too small for its header")
                      .with_minimum("bytes", bytes.size(), 4 * tracker_begin));
    region probe(bytes);
    if (probe.get(w_magic) != magic)
      return fail(error(errc::corrupt, "controller state: bad magic")
                      .with_expected_hex("magic", magic, probe.get(w_magic)));
    if (probe.get(w_checksum) != header_checksum(probe))
      return fail(
          error(errc::corrupt, "controller state: header checksum mismatch")
              .with_expected_hex("checksum", header_checksum(probe), probe.get(w_checksum)));
    if (probe.get(w_version) != version)
      return fail(error(errc::version_mismatch, "controller state written by another version")
                      .with_expected("controller state version", version, probe.get(w_version)));
    if (probe.get(w_policy_id) != Policy::policy_id ||
        probe.get(w_tracker_id) != Tracker::layout_id)
      return fail(
          error(errc::layout_mismatch, "controller state made with another policy or tracker")
              .with_expected_hex("policy id", Policy::policy_id, probe.get(w_policy_id))
              .with_expected_hex("tracker id", Tracker::layout_id, probe.get(w_tracker_id)));
    const std::uint32_t mg = probe.get(w_max_groups), mp = probe.get(w_max_processes);
    if (mg == 0 || mg > group_limit_cap || mp == 0 || mp > process_limit_cap)
      return fail(error(errc::corrupt, "controller state: limits out of range")
                      .with_value("max_groups", mg)
                      .with_value("max_processes", mp));
    if (bytes.size() < state_bytes(mg, mp))
      return fail(error(errc::truncated, "controller region smaller than its tables")
                      .with_minimum("bytes", bytes.size(), state_bytes(mg, mp)));
    basic_controller c(bytes, policy, store, mg, mp);
    auto rec = txn::recover(c.r_);
    if (!rec) return fail(rec.error());
    if (c.r_.get(w_site_pending) > 1)
      return fail(error(errc::corrupt, "site restart flag out of range")
                      .with_value("flag", c.r_.get(w_site_pending)));
    auto v = c.tracker().validate();
    if (!v) return fail(v.error());
    for (std::uint32_t gid = 0; gid < mg; ++gid) {
      group_rec g = c.tracker().load_group(gid);
      if (g[group_rec::status] == group_free) continue;
      if (g[group_rec::site_seen] > c.r_.get(w_site_epoch))
        return fail(error(errc::corrupt, "group ahead of the site epoch")
                        .with_value("group", gid)
                        .with_value("site epoch seen", g[group_rec::site_seen]));
      if (!policy.check(g.policy()))
        return fail(error(errc::corrupt, "restart policy state invalid").with_value("group", gid));
    }
    return c;
  }

  /// Completes what a crash interrupted: terminations (images and group blocks freed, id
  /// released), discards, and a site restart not yet applied to every group; emits their
  /// actions. Then re-issues the `run` of every direct member that a committed restart left
  /// to rerun (not started in its group's current epoch: the runtime crashed before starting
  /// it), delay 0; the runtime starts each at most once (`process_info` says whether it runs
  /// already). Errors: a block store error (the work stays pending), `io_error` (injected
  /// crash).
  template <action_sink Sink>
  [[nodiscard]] result<void> resume(std::uint64_t, Sink&& out) {
    using namespace detail::ctl;
    const std::uint32_t se = r_.get(w_site_epoch);
    for (std::uint32_t gid = 0; gid < mg_; ++gid) {
      const group_rec g = tracker().load_group(gid);
      if (g[group_rec::status] == group_terminating) {
        if (auto e = finish_termination(gid, out); !e) return e;
      } else if (g[group_rec::status] == group_running &&
                 (g[group_rec::flags] & flag_discard_pending) != 0) {
        if (auto e = finish_discard(gid, 0, out); !e) return e;  // emits the runs itself
      } else if (g[group_rec::status] == group_running && g[group_rec::site_seen] == se) {
        emit_pending_runs(gid, g[group_rec::epoch], out);  // (else the site restart below)
      }
    }
    if (auto e = apply_site_epoch(out); !e) return e;
    ready_ = true;
    return {};
  }

  /// A new group with the lowest free id. `group_limit` when max_groups are in use.
  [[nodiscard]] result<std::uint32_t> new_group(std::uint64_t now) {
    if (!ready_) return not_resumed();
    const std::uint32_t gid = tracker().lowest_free_group();
    if (gid >= mg_)
      return fail(
          error(errc::group_limit, "all restart groups are in use").with_value("max_groups", mg_));
    return start_group(now, gid);
  }

  /// The group `gid` (`arun -g gid`): created if free, returned if running. `bad_group_id`
  /// (gid >= max_groups), `group_not_running` (it is terminating).
  [[nodiscard]] result<std::uint32_t> open_group(std::uint64_t now, std::uint32_t gid) {
    if (!ready_) return not_resumed();
    if (gid >= mg_)
      return fail(
          error(errc::bad_group_id, "group id out of range").with_range("group", gid, 0, mg_ - 1));
    const std::uint32_t st = tracker().load_group(gid)[group_rec::status];
    if (st == detail::ctl::group_running) return gid;
    if (st == detail::ctl::group_terminating)
      return fail(error(errc::group_not_running, "group is terminating").with_value("group", gid));
    return start_group(now, gid);
  }

  /// A process began a run: registers it (first run) or records the rerun. Returns its
  /// process id (stable until its group terminates). Errors: `name_empty`, `name_too_long`,
  /// `name_has_nul`, `bad_group_id`, `unknown_group`, `group_not_running`, `not_permitted`
  /// (indirect without a running parent in the group), `duplicate_process` (that name is
  /// running), `process_limit` (max_processes registered).
  [[nodiscard]] result<std::uint32_t> process_started(std::uint64_t now, const process_start& s) {
    using namespace detail::ctl;
    if (!ready_) return not_resumed();
    if (s.name.empty()) return fail(errc::name_empty, "process name is empty");
    if (s.name.size() > max_process_name)
      return fail(error(errc::name_too_long, "process name too long")
                      .with_limit("process name length", s.name.size(), max_process_name));
    for (char ch : s.name)
      if (ch == '\0') return fail(errc::name_has_nul, "process name contains NUL");
    auto gr = running_group(s.gid);
    if (!gr) return fail(gr.error());
    group_rec g = *gr;
    const std::uint32_t epoch = g[group_rec::epoch];
    if (s.kind == process_kind::indirect) {
      if (s.parent >= mp_ || !runs_now(tracker().load_proc(s.parent), s.gid, epoch))
        return fail(error(errc::not_permitted,
                          "an indirect process needs a running member of its group as parent")
                        .with_value("group", s.gid)
                        .with_value("parent process id", s.parent));
    }
    std::uint32_t idx = tracker().find_member(s.gid, s.name);
    txn x(r_);
    clock(x, now);
    proc_rec p;
    if (idx != no_process) {
      p = tracker().load_proc(idx);
      if (p[proc_rec::run_epoch] == epoch && p.state() == st(process_state::running))
        return fail(error(errc::duplicate_process, "a process of that name is running in the group")
                        .with_value("group", s.gid)
                        .with_value("process id", idx));
      if (counts_clean(p, epoch)) g[group_rec::clean] -= 1;
      if (p[proc_rec::image] == no_image) p[proc_rec::image] = s.image;
    } else {
      idx = tracker().alloc_proc(x, s.gid, g);
      if (idx == no_process)
        return fail(error(errc::process_limit, "max_processes are registered")
                        .with_value("max_processes", mp_));
      p = tracker().load_proc(idx);
      p.set_info(static_cast<std::uint32_t>(s.kind), 0, static_cast<std::uint32_t>(s.name.size()));
      p.set_name(s.name);
      p[proc_rec::image] = s.image;
    }
    p.set_state(st(process_state::running));
    p[proc_rec::run_epoch] = epoch;
    p.set_handle(s.handle);
    g[group_rec::running] += 1;
    g[group_rec::flags] &= ~flag_blocked_reported;  // a new blocking episode may follow
    tracker().store_proc(x, idx, p);
    tracker().store_group(x, s.gid, g);
    if (auto e = x.commit(); !e) return fail(e.error());
    return idx;
  }

  /// The run `handle` of process `id` exited through the clean-exit call (HR_EXIT_HDL). When
  /// every member has, the group terminates (actions: `group_terminated`); when none runs any
  /// more but some have not, `group_blocked` (once per episode). `unknown_process`.
  template <action_sink Sink>
  [[nodiscard]] result<event_outcome> process_exited_cleanly(std::uint64_t now, std::uint32_t id,
                                                             std::uint64_t handle, Sink&& out) {
    using namespace detail::ctl;
    auto cur = current_run(id, handle);
    if (!cur) return fail(cur.error());
    if (!*cur) return event_outcome::stale;
    proc_rec p = tracker().load_proc(id);
    const std::uint32_t gid = p[proc_rec::gid];
    group_rec g = tracker().load_group(gid);
    txn x(r_);
    clock(x, now);
    p.set_state(st(process_state::exited_clean));
    g[group_rec::running] -= 1;
    g[group_rec::clean] += 1;
    bool blocked_now = false;
    if (g[group_rec::clean] == g[group_rec::members]) {
      g[group_rec::status] = group_terminating;
      g[group_rec::flags] = 0;
    } else if (g[group_rec::running] == 0 && (g[group_rec::flags] & flag_blocked_reported) == 0) {
      g[group_rec::flags] |= flag_blocked_reported;
      blocked_now = true;
    }
    tracker().store_proc(x, id, p);
    tracker().store_group(x, gid, g);
    if (auto e = x.commit(); !e) return fail(e.error());
    if (g[group_rec::status] == group_terminating) {
      if (auto e = finish_termination(gid, out); !e) return fail(e.error());
    } else if (blocked_now) {
      out(action{action_kind::group_blocked, gid});
    }
    return event_outcome::applied;
  }

  /// The run `handle` of process `id` ended any other way (signal, exit without the clean-exit
  /// call, `hrctl kill PID`). The policy decides: restart (actions: `group_restarted`, `stop`
  /// for each other running member, `run` for each direct member), discard (the same with
  /// `discard_state` between) or escalate (`site_restart`). `unknown_process`.
  template <action_sink Sink>
  [[nodiscard]] result<event_outcome> process_failed(std::uint64_t now, std::uint32_t id,
                                                     std::uint64_t handle, Sink&& out) {
    using namespace detail::ctl;
    auto cur = current_run(id, handle);
    if (!cur) return fail(cur.error());
    if (!*cur) return event_outcome::stale;
    proc_rec p = tracker().load_proc(id);
    const std::uint32_t gid = p[proc_rec::gid];
    group_rec g = tracker().load_group(gid);
    txn x(r_);
    const std::uint64_t t = clock(x, now);
    p.set_state(st(process_state::failed));
    g[group_rec::running] -= 1;
    const restart_decision d = pol_.on_restart(g.policy(), t);
    const std::uint32_t old_epoch = g[group_rec::epoch];
    if (d.what == restart_decision::kind::escalate) {
      x.put(w_site_pending, 1);
    } else {
      restart_fields(gid, g);
      g[group_rec::restarts] += 1;
      if (d.what == restart_decision::kind::discard) g[group_rec::flags] |= flag_discard_pending;
    }
    tracker().store_proc(x, id, p);
    tracker().store_group(x, gid, g);
    if (auto e = x.commit(); !e) return fail(e.error());
    if (d.what == restart_decision::kind::escalate) {
      out(action{action_kind::site_restart, gid});
      return event_outcome::applied;
    }
    if (auto e = announce_restart(gid, old_epoch, d.delay_ms, out); !e) return fail(e.error());
    return event_outcome::applied;
  }

  /// Restarts group `gid` on request (an upgrade: its images were replaced), not because a
  /// member failed: neither its policy (restart counter) nor its `restarts` count changes.
  /// Actions as for a restart: `group_restarted`, `stop` for each running member, `run` for
  /// each direct member (delay 0). `bad_group_id`, `unknown_group`, `group_not_running`.
  template <action_sink Sink>
  [[nodiscard]] result<void> restart_group(std::uint64_t now, std::uint32_t gid, Sink&& out) {
    if (!ready_) return not_resumed();
    auto g = running_group(gid);
    if (!g) return fail(g.error());
    txn x(r_);
    clock(x, now);
    const std::uint32_t old_epoch = (*g)[group_rec::epoch];
    restart_fields(gid, *g);
    tracker().store_group(x, gid, *g);
    if (auto e = x.commit(); !e) return e;
    return announce_restart(gid, old_epoch, 0, out);
  }

  /// `akill -g gid`: stops every member (actions `stop`), frees images and group-keyed
  /// blocks, releases the id (`group_terminated`) without waiting for clean exits.
  /// `bad_group_id`, `unknown_group`; a group already terminating is finished.
  template <action_sink Sink>
  [[nodiscard]] result<void> kill_group(std::uint64_t now, std::uint32_t gid, Sink&& out) {
    using namespace detail::ctl;
    if (!ready_) return not_resumed();
    if (gid >= mg_)
      return fail(
          error(errc::bad_group_id, "group id out of range").with_range("group", gid, 0, mg_ - 1));
    group_rec g = tracker().load_group(gid);
    if (g[group_rec::status] == group_free)
      return fail(error(errc::unknown_group, "no such group").with_value("group", gid));
    if (g[group_rec::status] == group_running) {
      txn x(r_);
      clock(x, now);
      g[group_rec::status] = group_terminating;
      g[group_rec::flags] = 0;
      tracker().store_group(x, gid, g);
      if (auto e = x.commit(); !e) return e;
    }
    return finish_termination(gid, out);
  }

  /// `hrctl restart`: asks the runtime for a site restart (action `site_restart`).
  template <action_sink Sink>
  [[nodiscard]] result<void> request_site_restart(std::uint64_t now, Sink&& out) {
    if (!ready_) return not_resumed();
    txn x(r_);
    clock(x, now);
    x.put(detail::ctl::w_site_pending, 1);
    if (auto e = x.commit(); !e) return e;
    out(action{action_kind::site_restart, no_group});
    return {};
  }

  /// The runtime will not perform the pending site restart (POSIX: the group that escalated is
  /// given up on and stopped, and the other groups are left alone): the pending flag is
  /// cleared; nothing else changes, no action. A no-op when none is pending.
  [[nodiscard]] result<void> decline_site_restart(std::uint64_t now) {
    if (!ready_) return not_resumed();
    if (r_.get(detail::ctl::w_site_pending) == 0) return {};
    txn x(r_);
    clock(x, now);
    x.put(detail::ctl::w_site_pending, 0);
    return x.commit();
  }

  /// The runtime performed a site restart (or the MCU booted): every running group restarts
  /// from persistent memory (actions per group as for a restart, delay 0); policies untouched.
  template <action_sink Sink>
  [[nodiscard]] result<void> site_restarted(std::uint64_t now, Sink&& out) {
    using namespace detail::ctl;
    if (!ready_) return not_resumed();
    txn x(r_);
    clock(x, now);
    x.put(w_site_epoch, r_.get(w_site_epoch) + 1);
    x.put(w_site_pending, 0);
    x.put(w_site_restarts, r_.get(w_site_restarts) + 1);
    if (auto e = x.commit(); !e) return e;
    return apply_site_epoch(out);
  }

  /// Time passed: lets each running group's policy decay. One small commit per group.
  [[nodiscard]] result<void> tick(std::uint64_t now) {
    using namespace detail::ctl;
    if (!ready_) return not_resumed();
    for (std::uint32_t gid = 0; gid < mg_; ++gid) {
      group_rec g = tracker().load_group(gid);
      if (g[group_rec::status] != group_running) continue;
      txn x(r_);
      pol_.on_time(g.policy(), clock(x, now));
      tracker().store_group(x, gid, g);
      if (auto e = x.commit(); !e) return e;
    }
    return {};
  }

  // ---- queries (const; safe from inside a sink) ----

  /// `bad_group_id`, `unknown_group`.
  [[nodiscard]] result<group_view> group_info(std::uint32_t gid) const {
    using namespace detail::ctl;
    if (gid >= mg_)
      return fail(
          error(errc::bad_group_id, "group id out of range").with_range("group", gid, 0, mg_ - 1));
    const group_rec g = tracker().load_group(gid);
    if (g[group_rec::status] == group_free)
      return fail(error(errc::unknown_group, "no such group").with_value("group", gid));
    return detail::ctl::make_group_view(gid, g);
  }

  /// `unknown_process` (no such entry, or a free one).
  [[nodiscard]] result<process_view> process_info(std::uint32_t id) const {
    using namespace detail::ctl;
    if (id >= mp_)
      return fail(error(errc::unknown_process, "process id out of range")
                      .with_range("process id", id, 0, mp_ - 1));
    const proc_rec p = tracker().load_proc(id);
    if (p[proc_rec::gid] >= mg_)
      return fail(error(errc::unknown_process, "no such process").with_value("process id", id));
    return view(id, p, tracker().load_group(p[proc_rec::gid])[group_rec::epoch]);
  }

  /// Process id of `name` in `gid`; `unknown_process`, `bad_group_id`.
  [[nodiscard]] result<std::uint32_t> find_process(std::uint32_t gid, std::string_view name) const {
    if (gid >= mg_)
      return fail(
          error(errc::bad_group_id, "group id out of range").with_range("group", gid, 0, mg_ - 1));
    const std::uint32_t i = tracker().find_member(gid, name);
    if (i == no_process)
      return fail(error(errc::unknown_process, "no process of that name in the group")
                      .with_value("group", gid));
    return i;
  }

  /// Calls `f(const process_view&)` for each member. `bad_group_id`, `corrupt` (broken list).
  template <class F>
  [[nodiscard]] result<void> for_each_member(std::uint32_t gid, F&& f) const {
    if (gid >= mg_)
      return fail(
          error(errc::bad_group_id, "group id out of range").with_range("group", gid, 0, mg_ - 1));
    const std::uint32_t epoch = tracker().load_group(gid)[group_rec::epoch];
    if (!tracker().for_each_member(
            gid, [&](std::uint32_t i, const proc_rec& p) { f(view(i, p, epoch)); }))
      return fail(error(errc::corrupt, "group member list is broken").with_value("group", gid));
    return {};
  }

  /// Writes `HR_CTRL: group <gid> blocked, some members have not terminated: <names>` (names
  /// of members not counted clean: not exited cleanly in the current epoch, nor indirect ones
  /// whose last run ended cleanly; in member-list order, separated by
  /// one space) into `buf`, NUL-terminated, truncated to `cap - 1` chars. Returns the length
  /// written. `bad_group_id`, `unknown_group`.
  [[nodiscard]] result<std::size_t> blocked_message(std::uint32_t gid, char* buf,
                                                    std::size_t cap) const {
    auto gv = group_info(gid);
    if (!gv) return fail(gv.error());
    std::size_t n = hotrestart::detail::append(buf, cap, 0, "HR_CTRL: group ");
    n = hotrestart::detail::append_u64(buf, cap, n, gid);
    n = hotrestart::detail::append(buf, cap, n, " blocked, some members have not terminated:");
    (void)for_each_member(gid, [&](const process_view& p) {
      if (p.state == process_state::exited_clean) return;
      n = hotrestart::detail::append(buf, cap, n, " ");
      for (char ch : p.name()) {
        const char one[2] = {ch, '\0'};
        n = hotrestart::detail::append(buf, cap, n, one);
      }
    });
    return n;
  }

  bool site_restart_pending() const { return r_.get(detail::ctl::w_site_pending) != 0; }
  std::uint32_t site_restarts() const { return r_.get(detail::ctl::w_site_restarts); }
  std::uint32_t max_groups() const { return mg_; }
  std::uint32_t max_processes() const { return mp_; }
  /// The controller's monotonic clock: the latest `now` seen, shifted by any backward jumps.
  std::uint64_t clock_ms() const { return r_.get64(detail::ctl::w_last_seen); }
  const Policy& policy() const { return pol_; }

  /// Test seam: stop writing after `b->remaining` stores (see store_budget). nullptr: off.
  void set_store_budget(store_budget* b) { r_.set_budget(b); }

 private:
  basic_controller(std::span<std::byte> bytes, const Policy& p, Store& s, std::uint32_t mg,
                   std::uint32_t mp)
      : r_(bytes), pol_(p), store_(&s), mg_(mg), mp_(mp) {}

  Tracker tracker() const { return Tracker(r_, detail::ctl::tracker_begin, mg_, mp_); }
  static constexpr std::uint32_t st(process_state s) { return static_cast<std::uint32_t>(s); }
  static tl::unexpected<error> not_resumed() {
    return fail(errc::not_permitted, "call resume() after open() before any event");
  }

  // A clock that never goes back: a backward jump counts as no time passed.
  std::uint64_t clock(txn& x, std::uint64_t now) {
    using namespace detail::ctl;
    const std::uint64_t off = r_.get64(w_clock_offset), last = r_.get64(w_last_seen);
    std::uint64_t t = now + off < now ? ~std::uint64_t{0} : now + off;
    if (t < last) {
      x.put64(w_clock_offset, last - now);
      t = last;
    }
    x.put64(w_last_seen, t);
    return t;
  }

  static bool runs_now(const proc_rec& p, std::uint32_t gid, std::uint32_t epoch) {
    return p[proc_rec::gid] == gid && p[proc_rec::run_epoch] == epoch &&
           p.state() == st(process_state::running);
  }

  static process_view view(std::uint32_t id, const proc_rec& p, std::uint32_t epoch) {
    return detail::ctl::make_process_view(id, p, epoch);
  }

  [[nodiscard]] result<std::uint32_t> start_group(std::uint64_t now, std::uint32_t gid) {
    using namespace detail::ctl;
    txn x(r_);
    group_rec g;
    g[group_rec::status] = group_running;
    g[group_rec::first] = nil;
    g[group_rec::site_seen] = r_.get(w_site_epoch);
    pol_.init(g.policy(), clock(x, now));
    tracker().store_group(x, gid, g);
    tracker().set_groups_in_use(x, tracker().groups_in_use() + 1);
    if (auto e = x.commit(); !e) return fail(e.error());
    return gid;
  }

  [[nodiscard]] result<group_rec> running_group(std::uint32_t gid) const {
    if (gid >= mg_)
      return fail(
          error(errc::bad_group_id, "group id out of range").with_range("group", gid, 0, mg_ - 1));
    const group_rec g = tracker().load_group(gid);
    if (g[group_rec::status] == detail::ctl::group_free)
      return fail(error(errc::unknown_group, "no such group").with_value("group", gid));
    if (g[group_rec::status] != detail::ctl::group_running)
      return fail(error(errc::group_not_running, "group is terminating").with_value("group", gid));
    return g;
  }

  // true: `handle` is the current run of running member `id`; false: a stale report.
  [[nodiscard]] result<bool> current_run(std::uint32_t id, std::uint64_t handle) const {
    if (!ready_) return not_resumed();
    if (id >= mp_)
      return fail(error(errc::unknown_process, "process id out of range")
                      .with_range("process id", id, 0, mp_ - 1));
    const proc_rec p = tracker().load_proc(id);
    if (p[proc_rec::gid] >= mg_)
      return fail(error(errc::unknown_process, "no such process").with_value("process id", id));
    const group_rec g = tracker().load_group(p[proc_rec::gid]);
    return g[group_rec::status] == detail::ctl::group_running &&
           runs_now(p, p[proc_rec::gid], g[group_rec::epoch]) && p.handle() == handle;
  }

  // A restart: every run ends (epoch + 1). What counts as clean afterwards are the indirect
  // members whose last run ended cleanly: a restart does not rerun them, so their clean exit
  // stands (the ChorusOS guide's rule: only an indirect process that was *running* before the restart, and is
  // not started again, keeps its group from terminating).
  void restart_fields(std::uint32_t gid, group_rec& g) const {
    std::uint32_t carried = 0;
    tracker().for_each_member(gid, [&](std::uint32_t, const proc_rec& p) {
      if (p.kind() == static_cast<std::uint32_t>(process_kind::indirect) &&
          p.state() == st(process_state::exited_clean))
        ++carried;
    });
    g[group_rec::epoch] += 1;
    g[group_rec::running] = 0;
    g[group_rec::clean] = carried;
    g[group_rec::flags] &= ~detail::ctl::flag_blocked_reported;
  }
  static bool counts_clean(const proc_rec& p, std::uint32_t epoch) {
    return detail::ctl::counts_clean(p, epoch);
  }

  // After a committed restart: stops for the old epoch's runs, the discard if pending, runs.
  template <class Sink>
  [[nodiscard]] result<void> announce_restart(std::uint32_t gid, std::uint32_t old_epoch,
                                              std::uint64_t delay, Sink& out) {
    out(action{action_kind::group_restarted, gid, no_process, no_image, 0, delay});
    tracker().for_each_member(gid, [&](std::uint32_t i, const proc_rec& p) {
      if (runs_now(p, gid, old_epoch)) out(action{action_kind::stop, gid, i, no_image, p.handle()});
    });
    const group_rec g = tracker().load_group(gid);
    if ((g[group_rec::flags] & detail::ctl::flag_discard_pending) != 0)
      return finish_discard(gid, delay, out);
    emit_runs(gid, delay, out);
    return {};
  }

  template <class Sink>
  void emit_runs(std::uint32_t gid, std::uint64_t delay, Sink& out) {
    tracker().for_each_member(gid, [&](std::uint32_t i, const proc_rec& p) {
      if (p.kind() == static_cast<std::uint32_t>(process_kind::direct))
        out(action{action_kind::run, gid, i, p[proc_rec::image], 0, delay});
    });
  }

  // Direct members not started in the current epoch: a restart's runs not yet performed.
  template <class Sink>
  void emit_pending_runs(std::uint32_t gid, std::uint32_t epoch, Sink& out) {
    tracker().for_each_member(gid, [&](std::uint32_t i, const proc_rec& p) {
      if (p.kind() == static_cast<std::uint32_t>(process_kind::direct) &&
          p[proc_rec::run_epoch] != epoch)
        out(action{action_kind::run, gid, i, p[proc_rec::image], 0, 0});
    });
  }

  template <class Sink>
  [[nodiscard]] result<void> finish_discard(std::uint32_t gid, std::uint64_t delay, Sink& out) {
    auto n = store_->free_group_blocks(gid);
    if (!n && n.error().code != errc::not_found) return fail(n.error());
    txn x(r_);
    group_rec g = tracker().load_group(gid);
    g[group_rec::flags] &= ~detail::ctl::flag_discard_pending;
    tracker().store_group(x, gid, g);
    if (auto e = x.commit(); !e) return e;
    out(action{action_kind::discard_state, gid, no_process, no_image, 0, 0, n ? *n : 0u});
    emit_runs(gid, delay, out);
    return {};
  }

  // Resumable: one commit per member freed, then the group blocks, then the id.
  template <class Sink>
  [[nodiscard]] result<void> finish_termination(std::uint32_t gid, Sink& out) {
    using namespace detail::ctl;
    for (std::uint32_t guard = 0; guard <= mp_; ++guard) {
      group_rec g = tracker().load_group(gid);
      if (g[group_rec::members] == 0) break;
      const std::uint32_t i = g[group_rec::first];
      if (i >= mp_)
        return fail(error(errc::corrupt, "group member list is broken").with_value("group", gid));
      const proc_rec p = tracker().load_proc(i);
      const bool current = p[proc_rec::run_epoch] == g[group_rec::epoch];
      const bool was_clean = counts_clean(p, g[group_rec::epoch]);
      if (current && p.state() == st(process_state::running))
        out(action{action_kind::stop, gid, i, no_image, p.handle()});
      if (p[proc_rec::image] != no_image) {
        auto e = store_->free_process_image(gid, p[proc_rec::image]);
        if (!e && e.error().code != errc::not_found) return e;
      }
      txn x(r_);
      if (current && p.state() == st(process_state::running)) g[group_rec::running] -= 1;
      if (was_clean) g[group_rec::clean] -= 1;
      if (tracker().pop_member(x, g) == no_process)
        return fail(error(errc::corrupt, "group member list is broken").with_value("group", gid));
      tracker().store_group(x, gid, g);
      if (auto e = x.commit(); !e) return e;
    }
    auto n = store_->free_group_blocks(gid);
    if (!n && n.error().code != errc::not_found) return fail(n.error());
    txn x(r_);
    group_rec g;
    g[group_rec::first] = nil;
    tracker().store_group(x, gid, g);
    tracker().set_groups_in_use(x, tracker().groups_in_use() - 1);
    if (auto e = x.commit(); !e) return e;
    out(action{action_kind::group_terminated, gid, no_process, no_image, 0, 0, n ? *n : 0u});
    return {};
  }

  // Restarts every running group that has not seen the current site epoch.
  template <class Sink>
  [[nodiscard]] result<void> apply_site_epoch(Sink& out) {
    using namespace detail::ctl;
    const std::uint32_t se = r_.get(w_site_epoch);
    for (std::uint32_t gid = 0; gid < mg_; ++gid) {
      group_rec g = tracker().load_group(gid);
      if (g[group_rec::status] != group_running || g[group_rec::site_seen] == se) continue;
      const std::uint32_t old_epoch = g[group_rec::epoch];
      restart_fields(gid, g);
      g[group_rec::site_seen] = se;
      txn x(r_);
      tracker().store_group(x, gid, g);
      if (auto e = x.commit(); !e) return e;
      if (auto e = announce_restart(gid, old_epoch, 0, out); !e) return e;
    }
    return {};
  }

  region r_;
  Policy pol_;
  Store* store_;
  std::uint32_t mg_;
  std::uint32_t mp_;
  bool ready_ = false;
};

/// The default controller: ChorusOS counter, a store that frees nothing, the table tracker.
template <block_store Store = null_block_store>
using controller_for = basic_controller<chorus_counter, Store, table_tracker>;
using controller = basic_controller<>;

}  // namespace hotrestart

#endif  // HOTRESTART_CONTROLLER_CONTROLLER_HPP
