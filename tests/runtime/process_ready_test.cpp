// SPDX-License-Identifier: MIT
// process::ready() on a real bank, with the supervisor's side played by this test: the call
// writes the slot's `runs` into `ready_run` (the run that is ready), a later run is not ready
// until it calls again, and a stale run (the slot's handle is another run's) writes nothing.
// hrctl's validation accepts a ready_run up to runs and reports one beyond it.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

#include <hotrestart/controller/controller.hpp>
#include <hotrestart/policies/runtime_policy.hpp>
#include <hotrestart/posix/convert.hpp>
#include <hotrestart/posix/process.hpp>
#include <hotrestart/posix/validate.hpp>

#include "../support.hpp"
#include "runtime_bank.hpp"

using namespace hotrestart;
using namespace hotrestart::posix;

namespace {

struct fixture : hrtest::runtime_bank {
  fixture() : runtime_bank("ready.bank", [](runtime_header& h) { h.run_seq = 10; }) {}
  // What the supervisor does before it starts run `runs` of process `id` (hrctl's
  // register_and_run), then the environment that run is given.
  void start_run(std::uint32_t id, std::uint64_t handle, std::uint32_t runs) {
    proc_slot* s = rt.proc(id);
    REQUIRE(s != nullptr);
    if (s == nullptr) return;  // (for the compiler's flow analysis)
    store(s->ready_run, std::uint32_t{0});
    s->gid = 1;
    store(s->handle, handle);
    store(s->runs, runs);
    ::setenv(env_bank, path.c_str(), 1);
    ::unsetenv(env_bank_fd);
    ::setenv(env_group, "1", 1);
    ::setenv(env_process, std::to_string(id).c_str(), 1);
    ::setenv(env_handle, std::to_string(handle).c_str(), 1);
  }
  // The validation's sentences about ready_run (this hand-made block has other problems: no
  // controller, no policy).
  std::vector<std::string> problems() {
    std::vector<std::string> out;
    using no_controller = basic_controller<runtime_policy, null_block_store>;
    (void)validate_runtime<no_controller>(rt, nullptr, *bank, [&](std::string_view s) {
      if (s.find("ready_run") != s.npos) out.emplace_back(s);
    });
    return out;
  }
};

}  // namespace

TEST_CASE("ready() records the run that called it; a later run must call it again") {
  fixture f;
  f.start_run(2, 5, 1);
  auto p = process::attach();
  REQUIRE(p);
  CHECK(load(f.rt.proc(2)->ready_run) == 0);
  p->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 1);
  CHECK(f.problems().empty());

  // The next run (a restart): not ready until it calls ready() itself.
  f.start_run(2, 6, 2);
  CHECK(load(f.rt.proc(2)->ready_run) == 0);
  auto q = process::attach();
  REQUIRE(q);
  q->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 2);

  // The first run's object is stale now (the slot names run 6): its call writes nothing.
  store(f.rt.proc(2)->ready_run, std::uint32_t{0});
  p->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 0);
}

TEST_CASE("validation reports a ready_run beyond the slot's runs") {
  fixture f;
  f.start_run(1, 7, 3);
  store(f.rt.proc(1)->ready_run, std::uint32_t{3});
  CHECK(f.problems().empty());
  store(f.rt.proc(1)->ready_run, std::uint32_t{4});
  const auto problems = f.problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("ready_run 4 is beyond its runs (3)") != std::string::npos);
}

TEST_CASE("ready() wakes the supervisor the bank records, and only while it is that process") {
  fixture f;
  // This test plays the supervisor: SIGUSR1 blocked, so a wake stays pending where it can be
  // seen.
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  REQUIRE(::sigprocmask(SIG_BLOCK, &usr1, &old) == 0);
  auto pending = [] {
    sigset_t p;
    sigemptyset(&p);
    ::sigpending(&p);
    return sigismember(&p, SIGUSR1) == 1;
  };
  auto take = [&] {
    const timespec zero{0, 0};
    (void)::sigtimedwait(&usr1, nullptr, &zero);
  };
  runtime_header& h = f.rt.header();
  store(h.supervisor_pid, static_cast<std::int32_t>(::getpid()));
  // A stale record (another start time: the pid was reused): no signal.
  store(h.supervisor_start, process_start_time(::getpid()) + 1);
  f.start_run(2, 5, 1);
  auto p = process::attach();
  REQUIRE(p);
  p->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 1);
  CHECK_FALSE(pending());
  // The live supervisor: woken.
  store(h.supervisor_start, process_start_time(::getpid()));
  f.start_run(2, 6, 2);
  auto q = process::attach();
  REQUIRE(q);
  q->ready();
  CHECK(pending());
  take();
  REQUIRE(::sigprocmask(SIG_SETMASK, &old, nullptr) == 0);
}
