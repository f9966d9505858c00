// SPDX-License-Identifier: MIT
// Persistent state: reload from bytes, corrupt states refused, crash at every store.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <string>

#include "support.hpp"

using namespace hotrestart;
using hrtest::count;
using hrtest::fake_store;
using hrtest::rig;

namespace {
void put_word(std::vector<std::byte>& m, std::size_t w, std::uint32_t v) {
  for (std::size_t k = 0; k < 4; ++k) m[w * 4 + k] = static_cast<std::byte>((v >> (8 * k)) & 0xFF);
}
std::uint32_t get_word(const std::vector<std::byte>& m, std::size_t w) {
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < 4; ++k) v |= std::to_integer<std::uint32_t>(m[w * 4 + k]) << (8 * k);
  return v;
}
// Word index of group `gid`'s record and process `i`'s record for the default tracker.
std::size_t group_word(std::uint32_t gid) {
  return detail::ctl::tracker_begin + 4 + 32u * gid;
}
std::size_t proc_word(std::uint32_t mg, std::uint32_t i) {
  return detail::ctl::tracker_begin + 4 + 32u * mg + 16u * i;
}
// Everything but the undo log's entries (garbage beyond its count is not state).
bool same_state(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t w = 0; w < a.size() / 4; ++w)
    if ((w < detail::ctl::w_log_count || w >= detail::ctl::tracker_begin) &&
        get_word(a, w) != get_word(b, w))
      return false;
  return true;
}
}  // namespace

TEST_CASE("reload from bytes: a new controller sees the same state") {
  rig<> r;
  const auto g = *r->new_group(0);
  const auto d = r.start(0, g, "direct", process_kind::direct, 1, 100);
  const auto i = r.start(0, g, "indirect", process_kind::indirect, 2, 101, d);
  REQUIRE(r->process_failed(10, d, 1, r.sink()).has_value());
  r.start(20, g, "direct", process_kind::direct, 3);
  const auto before = *r->group_info(g);
  const std::vector<std::byte> bytes = r.mem;
  r.reload(30);
  CHECK(same_state(bytes, r.mem));
  const auto after = *r->group_info(g);
  CHECK(after.epoch == before.epoch);
  CHECK(after.members == 2);
  CHECK(after.running == 1);
  CHECK(after.policy == before.policy);
  CHECK(r->process_info(i)->name() == "indirect");
  CHECK(r->process_info(i)->state == process_state::not_rerun);
  CHECK(r->process_info(d)->handle == 3u);
  CHECK(*r->find_process(g, "indirect") == i);
  // And it carries on: the clean exit now blocks the group, reported by the new controller.
  CHECK(*r->process_exited_cleanly(40, d, 3, r.sink()) == event_outcome::applied);
  CHECK(count(r.take(), action_kind::group_blocked) == 1);
}

TEST_CASE("events are refused until resume() after open()") {
  rig<> r;
  auto c = rig<>::ctl_t::open(r.mem, r.pol, r.store);
  REQUIRE(c.has_value());
  CHECK(c->new_group(0).error().code == errc::not_permitted);
  REQUIRE(c->resume(0, hotrestart::ignore_actions{}).has_value());
  CHECK(c->new_group(0).has_value());
}

TEST_CASE("corrupt, foreign or truncated states are refused") {
  rig<> r;
  const auto g = *r->new_group(0);
  const auto d = r.start(0, g, "d", process_kind::direct, 1);
  r.start(0, g, "e", process_kind::indirect, 2, no_image, d);
  const std::vector<std::byte> good = r.mem;
  auto open_code = [&](std::vector<std::byte> m) {
    auto c = rig<>::ctl_t::open(m, r.pol, r.store);
    return c.has_value() ? errc::ok : c.error().code;
  };
  REQUIRE(open_code(good) == errc::ok);
  auto with = [&](std::size_t w, std::uint32_t v) {
    std::vector<std::byte> m = good;
    put_word(m, w, v);
    return open_code(m);
  };
  CHECK(with(detail::ctl::w_magic, 0) == errc::corrupt);
  CHECK(with(detail::ctl::w_max_groups, 33) == errc::corrupt);  // checksum
  CHECK(with(detail::ctl::w_log_count, 1000) == errc::corrupt);
  {
    std::vector<std::byte> m = good;
    put_word(m, detail::ctl::w_log_count, 1);
    put_word(m, detail::ctl::w_log_entries, 2);  // would undo into the immutable header
    CHECK(open_code(m) == errc::corrupt);
  }
  CHECK(with(detail::ctl::w_site_pending, 7) == errc::corrupt);
  CHECK(with(group_word(g) + 0, 9) == errc::corrupt);               // status
  CHECK(with(group_word(g) + 3, 5000) == errc::corrupt);            // first member out of range
  CHECK(with(group_word(g) + 4, 3) == errc::corrupt);               // member count
  CHECK(with(group_word(g) + 5, 0) == errc::corrupt);               // running count
  CHECK(with(group_word(3) + 0, 1) == errc::corrupt);               // groups in use disagrees
  CHECK(with(proc_word(32, d) + 1, d) == errc::corrupt);            // list loops on itself
  CHECK(with(proc_word(32, d) + 2, 0x00010109u) == errc::corrupt);  // unknown state
  CHECK(with(proc_word(32, d) + 2, 0x00280101u) == errc::corrupt);  // name length 40
  CHECK(with(proc_word(32, d) + 8, 0) == errc::corrupt);            // NUL in the name
  CHECK(with(proc_word(32, 5) + 0, 0) == errc::corrupt);            // free entry claims a group
  CHECK(with(proc_word(32, 5) + 1, 5) == errc::corrupt);            // free list loops
  CHECK(with(detail::ctl::tracker_begin, 4000) == errc::corrupt);   // free head out of range
  {
    std::vector<std::byte> m = good;
    m.resize(m.size() - 4);
    CHECK(open_code(m) == errc::truncated);
  }
  {
    std::vector<std::byte> m = good;
    auto c = basic_controller<sliding_window, fake_store>::open(m, sliding_window{}, r.store);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == errc::layout_mismatch);
  }
  // Every single-word corruption anywhere: refused or opened, never undefined behaviour.
  for (std::size_t w = 0; w < good.size() / 4; ++w) {
    std::vector<std::byte> m = good;
    put_word(m, w, get_word(m, w) ^ 0x80000001u);
    auto c = rig<>::ctl_t::open(m, r.pol, r.store);
    if (c.has_value()) CHECK(c->resume(0, hotrestart::ignore_actions{}).has_value());
  }
}

TEST_CASE("a block store error leaves the termination pending; the next resume finishes it") {
  rig<> r;
  const auto g = *r->new_group(0);
  r.store.group_blocks[g] = 2;
  const auto d = r.start(0, g, "d", process_kind::direct, 1, 100);
  r.store.fail_next = true;
  auto e = r->process_exited_cleanly(1, d, 1, r.sink());
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == errc::io_error);
  CHECK(r->group_info(g)->terminating);
  CHECK(r->process_started(2, {g, "x", process_kind::direct, 5}).error().code ==
        errc::group_not_running);
  r.reload(3);
  CHECK(count(r.take(), action_kind::group_terminated) == 1);
  CHECK(r.store.group_blocks[g] == 0);
  CHECK(r.store.live_images.empty());
  CHECK(r->group_info(g).error().code == errc::unknown_group);
}

// ---- crash at every store ----

namespace {
using P = discard_after<chorus_counter>;
using ctl_t = basic_controller<P, fake_store>;
const P crash_policy{{3000, 3}, 2, 10000};

struct script_ctx {
  std::uint32_t g0 = 0, g1 = 0, d = 0, ind = 0, e = 0;
};
using op = std::function<result<void>(ctl_t&, script_ctx&, fake_store&)>;

template <class T>
result<void> drop(const result<T>& r) {
  if (!r) return tl::unexpected(r.error());
  return {};
}

std::vector<op> script() {
  const ignore_actions out;
  auto start = [](ctl_t& c, std::uint32_t gid, const char* n, process_kind k, std::uint64_t h,
                  std::uint32_t img, std::uint32_t parent, std::uint32_t& id) -> result<void> {
    auto r = c.process_started(100, {gid, n, k, h, img, parent});
    if (!r) return tl::unexpected(r.error());
    id = *r;
    return {};
  };
  return {
      [](ctl_t& c, script_ctx& x, fake_store& s) {
        auto r = c.new_group(100);
        if (r) {
          x.g0 = *r;
          s.group_blocks[*r] = 3;
          s.live_images.insert(100);
          s.live_images.insert(101);
        }
        return drop(r);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "direct", process_kind::direct, 1, 100, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "indirect", process_kind::indirect, 2, 101, x.d, x.ind);
      },
      [](ctl_t& c, script_ctx& x, fake_store& s) {
        auto r = c.open_group(200, 5);
        if (r) {
          x.g1 = *r;
          s.group_blocks[*r] = 1;
          s.live_images.insert(200);
        }
        return drop(r);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g1, "e", process_kind::direct, 3, 200, no_process, x.e);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_failed(300, x.d, 1, out));
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "direct", process_kind::direct, 4, 100, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_failed(400, x.d, 4, out));
      },  // discard
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "direct", process_kind::direct, 5, 100, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_exited_cleanly(500, x.d, 5, out));
      },  // blocked
      [=](ctl_t& c, script_ctx&, fake_store&) { return drop(c.tick(9000)); },
      [=](ctl_t& c, script_ctx& x, fake_store&) { return c.kill_group(600, x.g0, out); },
      [=](ctl_t& c, script_ctx&, fake_store&) { return c.request_site_restart(700, out); },
      [=](ctl_t& c, script_ctx&, fake_store&) { return c.site_restarted(800, out); },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g1, "e", process_kind::direct, 6, 200, no_process, x.e);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_exited_cleanly(900, x.e, 6, out));
      },  // terminates
      [](ctl_t& c, script_ctx& x, fake_store&) {
        auto r = c.new_group(1000);
        if (r) x.g0 = *r;
        return drop(r);
      },
      // Then: an upgrade (restart_group) over an indirect member's clean exit, a restart, a
      // discard, an escalation by process_failed, a site restart of two groups, a declined
      // site restart, and both groups terminating (the clean exit carried across restarts).
      [](ctl_t& c, script_ctx& x, fake_store& s) {
        auto r = c.open_group(1100, 6);
        if (r) {
          x.g1 = *r;
          s.group_blocks[*r] = 1;
          s.live_images.insert(600);
        }
        return drop(r);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g1, "q", process_kind::direct, 20, 600, no_process, x.e);
      },
      [=](ctl_t& c, script_ctx& x, fake_store& s) {
        auto r = start(c, x.g0, "p", process_kind::direct, 21, 300, no_process, x.d);
        if (r) {
          s.group_blocks[x.g0] = 2;
          s.live_images.insert(300);
          s.live_images.insert(301);
        }
        return r;
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "h", process_kind::indirect, 22, 301, x.d, x.ind);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_exited_cleanly(1200, x.ind, 22, out));
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) { return c.restart_group(1300, x.g0, out); },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "p", process_kind::direct, 23, 300, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_failed(1400, x.d, 23, out));
      },  // restart (counter 1)
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "p", process_kind::direct, 24, 300, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_failed(1500, x.d, 24, out));
      },  // discard (2 in a row)
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "p", process_kind::direct, 25, 300, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_failed(1600, x.d, 25, out));
      },  // escalates (counter 3)
      [=](ctl_t& c, script_ctx&, fake_store&) { return c.site_restarted(1700, out); },  // 2 groups
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g0, "p", process_kind::direct, 26, 300, no_process, x.d);
      },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return start(c, x.g1, "q", process_kind::direct, 27, 600, no_process, x.e);
      },
      [=](ctl_t& c, script_ctx&, fake_store&) { return c.request_site_restart(1800, out); },
      [=](ctl_t& c, script_ctx&, fake_store&) { return c.decline_site_restart(1900); },
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_exited_cleanly(2000, x.d, 26, out));
      },  // group 0 terminates: its indirect member's clean exit stands
      [=](ctl_t& c, script_ctx& x, fake_store&) {
        return drop(c.process_exited_cleanly(2100, x.e, 27, out));
      },  // group 6 terminates
  };
}

struct snapshot {
  std::vector<std::byte> bytes;
  fake_store store;
};
}  // namespace

TEST_CASE("crash between any two stores: reload gives the state before or after the event") {
  const controller_config cfg{8, 8};
  const auto ops = script();
  // Reference run: the state after each event.
  std::vector<snapshot> ref;
  {
    std::vector<std::byte> mem(controller_state_bytes(cfg.max_groups, cfg.max_processes));
    fake_store store;
    auto c = ctl_t::create(mem, cfg, crash_policy, store, 0);
    REQUIRE(c.has_value());
    script_ctx x;
    ref.push_back({mem, store});
    for (const op& o : ops) {
      REQUIRE(o(*c, x, store).has_value());
      ref.push_back({mem, store});
    }
    CHECK(store.group_free_calls[0] == 4);  // two discards, a kill, a termination
    CHECK(store.group_free_calls[5] <= 2);  // called again only if the crash came after it
    CHECK(store.group_free_calls[6] == 1);
    CHECK(store.live_images.empty());
    CHECK(c->site_restarts() == 2);
    CHECK_FALSE(c->site_restart_pending());
    for (std::uint32_t gid = 0; gid < cfg.max_groups; ++gid) CHECK_FALSE(c->group_info(gid));
  }
  const std::size_t tick_op = 10;
  int crashes = 0, before = 0, after = 0, partial_ticks = 0;
  for (std::uint64_t k = 0;; ++k) {
    std::vector<std::byte> mem(controller_state_bytes(cfg.max_groups, cfg.max_processes));
    fake_store store;
    auto c = ctl_t::create(mem, cfg, crash_policy, store, 0);
    REQUIRE(c.has_value());
    store_budget budget{k, false};
    c->set_store_budget(&budget);
    script_ctx x;
    std::size_t i = 0;
    for (; i < ops.size(); ++i) {
      auto r = ops[i](*c, x, store);
      if (!r) {
        REQUIRE(budget.exhausted);
        CHECK(r.error().code == errc::io_error);
        break;
      }
    }
    if (i == ops.size()) break;  // the budget outlived the script: every store was tried
    ++crashes;
    CAPTURE(k);
    CAPTURE(i);
    // The supervisor died; a new one opens a copy of the bytes with the same bank.
    std::vector<std::byte> copy = mem;
    auto c2 = ctl_t::open(copy, crash_policy, store);
    REQUIRE_MESSAGE(c2.has_value(), describe(c2.error()).text);
    REQUIRE(c2->resume(1, ignore_actions{}).has_value());
    std::size_t next = 0;
    if (same_state(copy, ref[i].bytes) && store.same_contents(ref[i].store)) {
      ++before;
      next = i;  // the event did not happen: it is delivered again
    } else if (i == tick_op && !same_state(copy, ref[i + 1].bytes)) {
      // tick commits group by group; it is idempotent, so the next tick completes it.
      REQUIRE(ops[i](*c2, x, store).has_value());
      REQUIRE(same_state(copy, ref[i + 1].bytes));
      ++partial_ticks;
      next = i + 1;
    } else {
      REQUIRE_MESSAGE(same_state(copy, ref[i + 1].bytes), "neither before nor after the event");
      CHECK(store.same_contents(ref[i + 1].store));
      ++after;
      next = i + 1;
    }
    for (; next < ops.size(); ++next) REQUIRE(ops[next](*c2, x, store).has_value());
    CHECK(same_state(copy, ref.back().bytes));  // nothing lost, nothing doubled
    CHECK(store.same_contents(ref.back().store));
    CHECK(store.group_free_calls[5] <= 2);  // called again only if the crash came after it
    CHECK(store.group_free_calls[0] <= 5);  // a re-call after a crash frees nothing more
  }
  CHECK(crashes > 200);
  CHECK(before > 0);
  CHECK(after > 0);
  MESSAGE("crash points: " << crashes << " (before " << before << ", after " << after
                           << ", partial ticks " << partial_ticks << ")");
}
