// SPDX-License-Identifier: MIT
// Group lifecycle: restart on failure, clean termination, blocked groups (the ChorusOS guide's rule for indirect members), kill,
// site restart, discard, limits.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "support.hpp"

using namespace hotrestart;
using hrtest::count;
using hrtest::has;
using hrtest::rig;

TEST_CASE("a failure restarts the group: every member stopped, direct members rerun") {
  rig<> r;
  const auto g = *r->new_group(0);
  const auto d1 = r.start(0, g, "d1", process_kind::direct, 11, 100);
  const auto d2 = r.start(0, g, "d2", process_kind::direct, 12, 101);
  const auto i1 = r.start(0, g, "i1", process_kind::indirect, 13, 102, d1);
  auto out = r->process_failed(50, d2, 12, r.sink());  // a signal or an exit without HR_EXIT_HDL
  REQUIRE(out.has_value());
  CHECK(*out == event_outcome::applied);
  auto a = r.take();
  CHECK(count(a, action_kind::group_restarted) == 1);
  CHECK(count(a, action_kind::stop) == 2);
  CHECK(has(a, action_kind::stop, d1));
  CHECK(has(a, action_kind::stop, i1));
  CHECK(count(a, action_kind::run) == 2);
  CHECK(has(a, action_kind::run, d1));
  CHECK(has(a, action_kind::run, d2));
  CHECK_FALSE(has(a, action_kind::run, i1));  // indirect: only if a direct member spawns it
  for (const action& x : a)
    if (x.kind == action_kind::run) CHECK(x.image == (x.process == d1 ? 100u : 101u));
  CHECK(r->process_info(d1)->state == process_state::not_rerun);
  CHECK(r->process_info(d1)->last_run == process_state::stopped);
  CHECK(r->process_info(d2)->last_run == process_state::failed);
  CHECK(r->group_info(g)->restarts == 1);
  CHECK(chorus_counter::counter(r->group_info(g)->policy) == 1);

  SUBCASE("exits of the stopped runs are stale and change nothing") {
    CHECK(*r->process_failed(51, d1, 11, r.sink()) == event_outcome::stale);
    CHECK(*r->process_exited_cleanly(51, i1, 13, r.sink()) == event_outcome::stale);
    CHECK(r.acts.empty());
    CHECK(r->group_info(g)->restarts == 1);
  }
  SUBCASE("rerun keeps the id and the image; a second run of the same name is refused") {
    CHECK(r.start(60, g, "d1", process_kind::direct, 21, 999) == d1);
    CHECK(r->process_info(d1)->image == 100u);
    CHECK(r->process_info(d1)->handle == 21u);
    auto dup = r->process_started(61, {g, "d1", process_kind::direct, 22});
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().code == errc::duplicate_process);
  }
}

TEST_CASE("clean termination frees images and group blocks exactly once and recycles the id") {
  rig<> r;
  const auto g0 = *r->new_group(0);
  const auto g1 = *r->new_group(0);
  CHECK(g0 == 0);
  CHECK(g1 == 1);
  r.store.group_blocks[g0] = 3;
  const auto d = r.start(0, g0, "main", process_kind::direct, 1, 100);
  const auto i = r.start(0, g0, "helper", process_kind::indirect, 2, 101, d);
  CHECK(*r->process_exited_cleanly(10, i, 2, r.sink()) == event_outcome::applied);
  CHECK(r.acts.empty());  // main still runs: neither terminated nor blocked
  CHECK(*r->process_exited_cleanly(20, d, 1, r.sink()) == event_outcome::applied);
  auto a = r.take();
  REQUIRE(count(a, action_kind::group_terminated) == 1);
  CHECK(a.back().gid == g0);
  CHECK(a.back().count == 3);
  CHECK(r.store.group_free_calls[g0] == 1);
  CHECK(r.store.freed_images.size() == 2);
  CHECK(r.store.live_images.empty());
  CHECK(r.store.not_found_calls == 0);
  CHECK(r->group_info(g0).error().code == errc::unknown_group);
  CHECK(r->process_info(d).error().code == errc::unknown_process);
  CHECK(*r->new_group(30) == g0);                                         // lowest free id again
  CHECK(r.start(30, g0, "main", process_kind::direct, 3) != no_process);  // name reusable
  CHECK(r.store.group_free_calls[g0] == 1);
}

TEST_CASE("ChorusOS rule: an indirect member not spawned after a restart blocks the group") {
  rig<> r;
  const auto g = *r->new_group(0);
  r.store.group_blocks[g] = 2;
  const auto d = r.start(0, g, "direct", process_kind::direct, 1, 100);
  const auto ind = r.start(0, g, "indirect", process_kind::indirect, 2, 101, d);
  REQUIRE(r->process_failed(10, d, 1, r.sink()).has_value());
  r.take();
  r.start(20, g, "direct", process_kind::direct, 3);  // this time it does not spawn "indirect"
  CHECK(*r->process_exited_cleanly(30, d, 3, r.sink()) == event_outcome::applied);
  auto a = r.take();
  REQUIRE(count(a, action_kind::group_blocked) == 1);
  CHECK(a[0].gid == g);
  char buf[128];
  auto n = r->blocked_message(g, buf, sizeof buf);
  REQUIRE(n.has_value());
  CHECK(std::string(buf) == "HR_CTRL: group 0 blocked, some members have not terminated: indirect");
  CHECK(*n == std::strlen(buf));
  CHECK(r->group_info(g)->blocked_reported);

  SUBCASE("reported once per episode") {
    CHECK(*r->process_failed(40, ind, 2, r.sink()) == event_outcome::stale);
    CHECK(r.acts.empty());
  }
  SUBCASE("resolved by killing the group") {
    REQUIRE(r->kill_group(50, g, r.sink()).has_value());
    a = r.take();
    CHECK(count(a, action_kind::stop) == 0);  // nothing was running
    CHECK(count(a, action_kind::group_terminated) == 1);
    CHECK(r.store.group_free_calls[g] == 1);
    CHECK(r.store.group_blocks[g] == 0);
    CHECK(r.store.live_images.empty());
    CHECK(*r->new_group(60) == g);
  }
  SUBCASE("resolved by a clean-up process that reruns the missing member") {
    const auto c = r.start(50, g, "cleanup", process_kind::direct, 4);
    CHECK_FALSE(r->group_info(g)->blocked_reported);  // a new episode may be reported
    CHECK(r.start(51, g, "indirect", process_kind::indirect, 5, no_image, c) == ind);
    CHECK(*r->process_exited_cleanly(52, ind, 5, r.sink()) == event_outcome::applied);
    CHECK(r.acts.empty());
    CHECK(*r->process_exited_cleanly(53, c, 4, r.sink()) == event_outcome::applied);
    a = r.take();
    CHECK(count(a, action_kind::group_terminated) == 1);
    CHECK(r.store.group_free_calls[g] == 1);
  }
  SUBCASE("resolved by the operator rerunning the missing member itself") {
    CHECK(r.start(50, g, "indirect", process_kind::direct, 6) == ind);
    CHECK(r->process_info(ind)->kind == process_kind::indirect);  // its kind stays
    CHECK(*r->process_exited_cleanly(51, ind, 6, r.sink()) == event_outcome::applied);
    CHECK(count(r.take(), action_kind::group_terminated) == 1);
  }
  SUBCASE("blocks again later: reported again") {
    const auto c = r.start(50, g, "cleanup", process_kind::direct, 4);
    CHECK(*r->process_exited_cleanly(51, c, 4, r.sink()) == event_outcome::applied);
    CHECK(count(r.take(), action_kind::group_blocked) == 1);
    REQUIRE(r->blocked_message(g, buf, sizeof buf).has_value());
    CHECK(std::string(buf) ==
          "HR_CTRL: group 0 blocked, some members have not terminated: indirect");
  }
}

TEST_CASE(
    "ChorusOS rule: an indirect member that exited cleanly before the restart keeps its clean "
    "exit") {
  rig<> r;
  const auto g = *r->new_group(0);
  const auto d = r.start(0, g, "direct", process_kind::direct, 1, 100);
  const auto ind = r.start(1, g, "helper", process_kind::indirect, 2, 101, d);
  const auto d2 = r.start(1, g, "second", process_kind::direct, 3, 102);
  CHECK(*r->process_exited_cleanly(2, ind, 2, r.sink()) == event_outcome::applied);
  CHECK(*r->process_exited_cleanly(2, d2, 3, r.sink()) == event_outcome::applied);
  CHECK(r.acts.empty());
  REQUIRE(r->process_failed(10, d, 1, r.sink()).has_value());  // the group restarts
  auto a = r.take();
  CHECK_FALSE(has(a, action_kind::run, ind));
  CHECK(has(a, action_kind::run, d2));  // a direct member runs again, clean exit or not
  CHECK(r->process_info(ind)->state == process_state::exited_clean);
  CHECK(r->process_info(d2)->state == process_state::not_rerun);
  CHECK(r->group_info(g)->clean == 1);
  r.reload(11);  // the counts agree with the members (open validates them)
  r.take();

  SUBCASE("the direct members end cleanly: the group terminates, not blocked") {
    r.start(20, g, "direct", process_kind::direct, 4);
    r.start(20, g, "second", process_kind::direct, 5);
    CHECK(*r->process_exited_cleanly(30, d2, 5, r.sink()) == event_outcome::applied);
    CHECK(r.acts.empty());
    CHECK(*r->process_exited_cleanly(31, d, 4, r.sink()) == event_outcome::applied);
    a = r.take();
    CHECK(count(a, action_kind::group_blocked) == 0);
    CHECK(count(a, action_kind::group_terminated) == 1);
    CHECK(r.store.live_images.empty());
  }
  SUBCASE("spawned again, it has to end cleanly again") {
    r.start(20, g, "direct", process_kind::direct, 4);
    r.start(20, g, "second", process_kind::direct, 5);
    CHECK(r.start(21, g, "helper", process_kind::indirect, 6, no_image, d) == ind);
    CHECK(r->group_info(g)->clean == 0);
    CHECK(*r->process_exited_cleanly(30, d2, 5, r.sink()) == event_outcome::applied);
    CHECK(*r->process_exited_cleanly(31, d, 4, r.sink()) == event_outcome::applied);
    CHECK(r.acts.empty());  // the helper still runs
    CHECK(*r->process_exited_cleanly(32, ind, 6, r.sink()) == event_outcome::applied);
    CHECK(count(r.take(), action_kind::group_terminated) == 1);
  }
  SUBCASE("it stays clean across a second restart and a site restart") {
    r.start(20, g, "direct", process_kind::direct, 4);
    REQUIRE(r->process_failed(21, d, 4, r.sink()).has_value());
    REQUIRE(r->request_site_restart(22, r.sink()).has_value());
    REQUIRE(r->site_restarted(23, r.sink()).has_value());
    r.take();
    CHECK(r->process_info(ind)->state == process_state::exited_clean);
    CHECK(r->group_info(g)->clean == 1);
    r.reload(24);
    r.take();
    r.start(30, g, "direct", process_kind::direct, 7);
    r.start(30, g, "second", process_kind::direct, 8);
    CHECK(*r->process_exited_cleanly(31, d, 7, r.sink()) == event_outcome::applied);
    CHECK(*r->process_exited_cleanly(31, d2, 8, r.sink()) == event_outcome::applied);
    CHECK(count(r.take(), action_kind::group_terminated) == 1);
  }
  SUBCASE("killed: the termination counts it once") {
    REQUIRE(r->kill_group(20, g, r.sink()).has_value());
    CHECK(count(r.take(), action_kind::group_terminated) == 1);
    CHECK(*r->new_group(21) == g);
  }
}

TEST_CASE("decline_site_restart: the pending escalation is dropped, no group restarts") {
  rig<> r({32, 32}, chorus_counter{3000, 1});
  const auto g0 = *r->new_group(0);
  const auto g1 = *r->new_group(0);
  const auto a0 = r.start(0, g0, "a", process_kind::direct, 1, 100);
  const auto b0 = r.start(0, g1, "b", process_kind::direct, 2, 200);
  REQUIRE(r->process_failed(1, a0, 1, r.sink()).has_value());  // max badness 1: escalates
  auto a = r.take();
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == action_kind::site_restart);
  CHECK(r->site_restart_pending());
  const auto epoch0 = r->group_info(g0)->epoch, epoch1 = r->group_info(g1)->epoch;
  REQUIRE(r->decline_site_restart(2).has_value());
  CHECK(r.acts.empty());
  CHECK_FALSE(r->site_restart_pending());
  CHECK(r->site_restarts() == 0);
  CHECK(r->group_info(g0)->epoch == epoch0);
  CHECK(r->group_info(g1)->epoch == epoch1);
  CHECK(r->process_info(b0)->state == process_state::running);
  CHECK(r->process_info(a0)->state == process_state::failed);
  r.reload(3);
  CHECK(r.acts.empty());                              // nothing pending for resume either
  CHECK(r->decline_site_restart(4).has_value());      // none pending: a no-op
  CHECK(r->kill_group(5, g0, r.sink()).has_value());  // the runtime ends the given-up group
  CHECK(count(r.take(), action_kind::group_terminated) == 1);
}

TEST_CASE("blocked message: several names, truncation stays NUL-terminated") {
  rig<> r;
  const auto g = *r->open_group(0, 7);
  CHECK(g == 7);
  const auto d = r.start(0, g, "d", process_kind::direct, 1);
  r.start(0, g, "a", process_kind::indirect, 2, no_image, d);
  r.start(0, g, "b", process_kind::indirect, 3, no_image, d);
  REQUIRE(r->process_failed(1, d, 1, r.sink()).has_value());
  r.start(2, g, "d", process_kind::direct, 4);
  REQUIRE(r->process_exited_cleanly(3, d, 4, r.sink()).has_value());
  char buf[128];
  REQUIRE(r->blocked_message(g, buf, sizeof buf).has_value());
  CHECK(std::string(buf) == "HR_CTRL: group 7 blocked, some members have not terminated: b a");
  char small[10];
  CHECK(*r->blocked_message(g, small, sizeof small) == 9);
  CHECK(std::string(small) == "HR_CTRL: ");
}

TEST_CASE("kill group: running members stopped, no clean exits needed, blocks freed") {
  rig<> r;
  const auto g = *r->new_group(0);
  r.store.group_blocks[g] = 4;
  const auto d = r.start(0, g, "d", process_kind::direct, 7, 100);
  const auto i = r.start(0, g, "i", process_kind::indirect, 8, 101, d);
  REQUIRE(r->kill_group(5, g, r.sink()).has_value());
  auto a = r.take();
  CHECK(count(a, action_kind::stop) == 2);
  CHECK(has(a, action_kind::stop, d));
  CHECK(has(a, action_kind::stop, i));
  CHECK(count(a, action_kind::run) == 0);
  CHECK(a.back().kind == action_kind::group_terminated);
  CHECK(a.back().count == 4);
  CHECK(r.store.live_images.empty());
  CHECK(r->process_failed(6, d, 7, r.sink()).error().code == errc::unknown_process);
  CHECK(r->kill_group(7, g, r.sink()).error().code == errc::unknown_group);
  CHECK(r->kill_group(7, 99, r.sink()).error().code == errc::bad_group_id);
}

TEST_CASE("escalation: site restart action, then every group restarts from persistent memory") {
  rig<> r({32, 32}, chorus_counter{3000, 2});
  const auto g0 = *r->new_group(0);
  const auto g1 = *r->new_group(0);
  auto a0 = r.start(0, g0, "a", process_kind::direct, 1, 100);
  auto b0 = r.start(0, g1, "b", process_kind::direct, 2, 200);
  r.store.group_blocks[g0] = 1;
  REQUIRE(r->process_failed(1, a0, 1, r.sink()).has_value());
  r.take();
  r.start(2, g0, "a", process_kind::direct, 3);
  REQUIRE(r->process_failed(3, a0, 3, r.sink()).has_value());  // counter reaches 2
  auto a = r.take();
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == action_kind::site_restart);
  CHECK(a[0].gid == g0);
  CHECK(r->site_restart_pending());
  REQUIRE(r->site_restarted(4, r.sink()).has_value());
  a = r.take();
  CHECK_FALSE(r->site_restart_pending());
  CHECK(r->site_restarts() == 1);
  CHECK(count(a, action_kind::group_restarted) == 2);
  CHECK(has(a, action_kind::stop, b0));  // still running under POSIX: stop it
  CHECK(has(a, action_kind::run, a0));
  CHECK(has(a, action_kind::run, b0));
  CHECK(r.store.group_free_calls[g0] == 0);  // blocks kept
  CHECK(r->group_info(g1)->restarts == 0);   // a site restart is not a group restart
  SUBCASE("on demand") {
    REQUIRE(r->request_site_restart(5, r.sink()).has_value());
    a = r.take();
    REQUIRE(a.size() == 1);
    CHECK(a[0].kind == action_kind::site_restart);
    CHECK(a[0].gid == no_group);
  }
}

TEST_CASE("discard state: after K consecutive restarts the group's blocks are freed") {
  using P = discard_after<chorus_counter>;
  rig<P> r({32, 32}, P{{3000, 0}, 2, 10000});
  const auto g = *r->new_group(0);
  const auto d = r.start(0, g, "d", process_kind::direct, 1, 100);
  r.store.group_blocks[g] = 5;
  REQUIRE(r->process_failed(1, d, 1, r.sink()).has_value());
  CHECK(count(r.take(), action_kind::discard_state) == 0);
  r.start(2, g, "d", process_kind::direct, 2);
  REQUIRE(r->process_failed(3, d, 2, r.sink()).has_value());
  auto a = r.take();
  REQUIRE(count(a, action_kind::discard_state) == 1);
  std::size_t stop_at = 0, discard_at = 0, run_at = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].kind == action_kind::discard_state) discard_at = k;
    if (a[k].kind == action_kind::run) run_at = k;
    if (a[k].kind == action_kind::group_restarted) stop_at = k;
  }
  CHECK(stop_at < discard_at);
  CHECK(discard_at < run_at);  // fresh state before the rerun
  CHECK(r.store.group_blocks[g] == 0);
  CHECK(r.store.live_images.count(100) == 1);  // images are kept: needed to rerun
  CHECK_FALSE(r->group_info(g)->discard_pending);
}

TEST_CASE("backoff delay reaches the run actions") {
  rig<exponential_backoff> r({32, 32}, exponential_backoff{100, 1000, 5000});
  const auto g = *r->new_group(0);
  const auto d = r.start(0, g, "d", process_kind::direct, 1);
  std::uint64_t h = 1;
  for (std::uint64_t expect : {100u, 200u, 400u}) {
    REQUIRE(r->process_failed(10 * h, d, h, r.sink()).has_value());
    auto a = r.take();
    REQUIRE(count(a, action_kind::run) == 1);
    for (const action& x : a)
      if (x.kind == action_kind::run) CHECK(x.delay_ms == expect);
    const std::uint64_t t = 10 * h + 1;
    ++h;
    r.start(t, g, "d", process_kind::direct, h);
  }
}

TEST_CASE("limits and argument errors") {
  rig<> r;
  for (std::uint32_t i = 0; i < 32; ++i) CHECK(*r->new_group(0) == i);
  auto e = r->new_group(0);
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == errc::group_limit);
  CHECK(r->open_group(0, 32).error().code == errc::bad_group_id);
  CHECK(*r->open_group(0, 5) == 5);  // already running: the same group

  std::uint32_t d = 0;
  for (int i = 0; i < 32; ++i) {
    const std::string name = "p" + std::to_string(i);
    d = r.start(0, static_cast<std::uint32_t>(i % 3), name.c_str(), process_kind::direct,
                1000u + static_cast<unsigned>(i));
  }
  auto p = r->process_started(0, {0, "p32", process_kind::direct, 1});
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().code == errc::process_limit);
  (void)d;

  rig<> s;
  const auto g = *s->new_group(0);
  const auto m = s.start(0, g, "m", process_kind::direct, 1);
  auto code = [&](process_start ps) { return s->process_started(0, ps).error().code; };
  CHECK(code({g, "m", process_kind::direct, 2}) == errc::duplicate_process);
  CHECK(code({g, "", process_kind::direct, 2}) == errc::name_empty);
  CHECK(code({g, "123456789012345678901234567890123", process_kind::direct, 2}) ==
        errc::name_too_long);
  CHECK(code({g, std::string_view("a\0b", 3), process_kind::direct, 2}) == errc::name_has_nul);
  CHECK(code({40, "x", process_kind::direct, 2}) == errc::bad_group_id);
  CHECK(code({3, "x", process_kind::direct, 2}) == errc::unknown_group);
  CHECK(code({g, "x", process_kind::indirect, 2}) == errc::not_permitted);  // no parent
  CHECK(code({g, "x", process_kind::indirect, 2, no_image, 77}) == errc::not_permitted);
  CHECK(s->process_started(
             0, {g, "12345678901234567890123456789012", process_kind::indirect, 2, no_image, m})
            .has_value());
  CHECK(s->process_failed(0, 9999, 1, s.sink()).error().code == errc::unknown_process);
  CHECK(s->process_failed(0, 5, 1, s.sink()).error().code == errc::unknown_process);  // free entry
  CHECK(*s->process_failed(0, m, 999, s.sink()) == event_outcome::stale);  // wrong handle
}

TEST_CASE("tunables: max_processes capped at 65,536; bad limits refused") {
  CHECK(controller_state_bytes(32, 100000) == controller_state_bytes(32, 65536));
  CHECK(controller_state_bytes(32, 65536) > controller_state_bytes(32, 65535));
  std::vector<std::byte> mem(controller_state_bytes(1, 65536));
  null_block_store ns;
  auto c = controller::create(mem, {1, 1000000}, {}, ns, 0);
  REQUIRE(c.has_value());
  CHECK(c->max_processes() == 65536);
  CHECK(controller::create(mem, {0, 32}, {}, ns, 0).error().code == errc::bad_tunables);
  CHECK(controller::create(mem, {1, 0}, {}, ns, 0).error().code == errc::bad_tunables);
  CHECK(controller::create(mem, {1, 32}, chorus_counter{0, 25}, ns, 0).error().code ==
        errc::bad_tunables);
  std::vector<std::byte> small(100);
  CHECK(controller::create(small, {}, {}, ns, 0).error().code == errc::truncated);
}

TEST_CASE("time: a clock that goes back counts as no time passed") {
  rig<> r({32, 32}, chorus_counter{3000, 0}, 10000);
  const auto g = *r->new_group(10000);
  const auto d = r.start(10000, g, "d", process_kind::direct, 1);
  REQUIRE(r->process_failed(10000, d, 1, r.sink()).has_value());
  r.start(10000, g, "d", process_kind::direct, 2);
  REQUIRE(r->process_failed(10000, d, 2, r.sink()).has_value());
  CHECK(chorus_counter::counter(r->group_info(g)->policy) == 2);
  // Reboot of a disk-backed bank: the monotonic clock starts again at 0.
  REQUIRE(r->tick(5).has_value());
  CHECK(chorus_counter::counter(r->group_info(g)->policy) == 2);
  CHECK(r->clock_ms() == 10000);
  REQUIRE(r->tick(3005).has_value());  // 3000 ms later on the new clock
  CHECK(chorus_counter::counter(r->group_info(g)->policy) == 1);
  CHECK(r->clock_ms() == 13000);
  REQUIRE(r->tick(6005).has_value());
  CHECK(chorus_counter::counter(r->group_info(g)->policy) == 0);
}

TEST_CASE("restart_group (an upgrade): the group restarts, no failure is counted") {
  rig<> r;
  const auto g = *r->new_group(0);
  const auto d1 = r.start(0, g, "d1", process_kind::direct, 11, 100);
  const auto i1 = r.start(0, g, "i1", process_kind::indirect, 12, 101, d1);
  REQUIRE(r->restart_group(10, g, r.sink()).has_value());
  auto a = r.take();
  CHECK(count(a, action_kind::group_restarted) == 1);
  CHECK(has(a, action_kind::stop, d1));
  CHECK(has(a, action_kind::stop, i1));
  CHECK(count(a, action_kind::run) == 1);
  CHECK(has(a, action_kind::run, d1));
  CHECK(r->group_info(g)->restarts == 0);
  CHECK(chorus_counter::counter(r->group_info(g)->policy) == 0);
  CHECK(r->process_info(d1)->state == process_state::not_rerun);
  // The old runs' ends are stale; the rerun is a normal start.
  CHECK(*r->process_failed(11, d1, 11, r.sink()) == event_outcome::stale);
  CHECK(r.start(12, g, "d1", process_kind::direct, 21) == d1);
  CHECK(r->process_info(d1)->state == process_state::running);

  SUBCASE("errors") {
    auto bad = r->restart_group(13, 999, r.sink());
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == errc::bad_group_id);
    auto unknown = r->restart_group(13, g + 1, r.sink());
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().code == errc::unknown_group);
  }
}

TEST_CASE("resume re-issues the runs of a restart committed just before the runtime died") {
  rig<> r;
  const auto g = *r->new_group(0);
  const auto d1 = r.start(0, g, "d1", process_kind::direct, 11, 100);
  const auto d2 = r.start(0, g, "d2", process_kind::direct, 12, 101);
  const auto i1 = r.start(0, g, "i1", process_kind::indirect, 13, 102, d1);
  const auto g2 = *r->new_group(0);
  const auto e1 = r.start(0, g2, "e1", process_kind::direct, 14, 103);
  REQUIRE(r->process_failed(5, d2, 12, r.sink()).has_value());
  r.take();
  // The runtime started d1 again, then died before starting d2.
  CHECK(r.start(6, g, "d1", process_kind::direct, 21) == d1);
  r.reload(7);
  auto a = r.take();
  CHECK(count(a, action_kind::run) == 1);
  CHECK(has(a, action_kind::run, d2));  // not d1 (runs), not i1 (indirect), not e1 (other group)
  CHECK_FALSE(has(a, action_kind::run, i1));
  CHECK_FALSE(has(a, action_kind::run, e1));
  for (const action& x : a)
    if (x.kind == action_kind::run) CHECK(x.image == 101u);
  CHECK(count(a, action_kind::stop) == 0);
  CHECK(r->group_info(g)->restarts == 1);  // nothing counted twice

  SUBCASE("a second resume issues them again; once started, no more") {
    r.reload(8);
    CHECK(has(r.take(), action_kind::run, d2));
    CHECK(r.start(9, g, "d2", process_kind::direct, 22) == d2);
    r.reload(10);
    CHECK(count(r.take(), action_kind::run) == 0);
  }
  SUBCASE("nothing pending: resume issues no run") {
    CHECK(r.start(9, g, "d2", process_kind::direct, 22) == d2);
    r.reload(10);
    CHECK(r.take().empty());
  }
  SUBCASE("a pending site restart emits each run once") {
    REQUIRE(r->request_site_restart(11, r.sink()).has_value());
    REQUIRE(r->site_restarted(12, r.sink()).has_value());
    auto s = r.take();
    CHECK(count(s, action_kind::run) == 3);  // d1, d2 of g, e1 of g2
  }
}
