// SPDX-License-Identifier: MIT
// The request mailbox's requester side (submit_request, a real child process on a real bank)
// against a supervisor played by this test: a request still waiting when time runs out is
// withdrawn; one the supervisor took and did not answer in time is abandoned, and the
// supervisor's answer (answer_request, which hrctl calls) then frees the slot: none is leaked
// by a long-lived requester that times out; an answer that comes in time is read and the slot
// freed.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <string>

#include <hotrestart/posix/mailbox.hpp>

#include "../support.hpp"
#include "runtime_bank.hpp"

using namespace hotrestart;
using namespace hotrestart::posix;

namespace {

struct fixture : hrtest::runtime_bank {
  fixture()
      : runtime_bank("mailbox.bank", [](runtime_header& h) {
          ::signal(SIGUSR1, SIG_IGN);  // a requester signals its supervisor: this process
          h.supervisor_pid = ::getpid();
          h.supervisor_start = process_start_time(::getpid());
        }) {}
  // The slot in state `st`, waited for up to 5 s (nullptr if none).
  request_slot* slot_in(std::uint32_t st) const {
    for (int i = 0; i < 5000; ++i) {
      for (std::uint32_t k = 0; k < request_slots; ++k)
        if (load(rt.request(k)->state) == st) return rt.request(k);
      sleep_ms(1);
    }
    return nullptr;
  }
  std::uint32_t slots_in(std::uint32_t st) const {
    std::uint32_t n = 0;
    for (std::uint32_t k = 0; k < request_slots; ++k) n += load(rt.request(k)->state) == st ? 1 : 0;
    return n;
  }
};

// A site-restart request from a child with `timeout_ms`. The child exits 0 when it read an
// answer of status 0, 1 on an io_error whose message contains `want`, 2 on anything else.
pid_t request_from_child(fixture& f, std::uint64_t timeout_ms, const char* want) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    request_in in;
    in.kind = req_site_restart;
    auto r = submit_request(*f.bank, f.rt, in, timeout_ms);
    if (r) ::_exit(r->status == 0 ? 0 : 2);
    ::_exit(r.error().code == errc::io_error && std::strstr(r.error().message, want) ? 1 : 2);
  }
  return pid;
}

int exit_of(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// Waits for the child's request and takes it, as the supervisor does (CAS ready->serving).
request_slot* take_request(fixture& f) {
  request_slot* s = f.slot_in(req_ready);
  REQUIRE(s != nullptr);
  std::uint32_t expect = req_ready;
  REQUIRE(std::atomic_ref<std::uint32_t>(s->state).compare_exchange_strong(expect, req_serving));
  return s;
}

}  // namespace

TEST_CASE("a request nobody takes in time is withdrawn: it will not be performed") {
  fixture f;
  const pid_t c = request_from_child(f, 200, "did not answer in time");
  CHECK(exit_of(c) == 1);
  CHECK(f.slots_in(req_free) == request_slots);  // nothing left ready for a supervisor
}

TEST_CASE("a request taken but not answered in time is abandoned to its answerer") {
  fixture f;
  const pid_t c = request_from_child(f, 300, "it is serving it");
  request_slot* s = take_request(f);
  CHECK(exit_of(c) == 1);
  // Not left "serving" for ever (the leak): the supervisor's answer frees an abandoned slot.
  CHECK(load(s->state) == req_abandoned);
  answer_request(*f.bank, f.rt, static_cast<std::uint32_t>(s - f.rt.request(0)), 0, "late");
  CHECK(f.slots_in(req_free) == request_slots);
}

TEST_CASE("an answer given in time is read, and the slot freed") {
  fixture f;
  const pid_t c = request_from_child(f, 10000, "");
  request_slot* s = take_request(f);
  answer_request(*f.bank, f.rt, static_cast<std::uint32_t>(s - f.rt.request(0)), 0, "done");
  CHECK(exit_of(c) == 0);
  CHECK(f.slots_in(req_free) == request_slots);
}

TEST_CASE("a bank naming the reader's own pid as a member's run is never adopted") {
  // Positive control: a real child, named with its start time, is adopted (a pidfd).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const std::uint64_t child_start = process_start_time(child);
  REQUIRE(child_start != 0);
  const int pfd = open_member_pidfd(child, child_start, nullptr);
  CHECK(pfd >= 0);
  if (pfd >= 0) ::close(pfd);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  // The reader itself (the supervisor, when a forged bank names its pid), alive and matching
  // its start time: refused, so it is never signalled. Found by the runtime fuzzer.
  const std::uint64_t own_start = process_start_time(::getpid());
  REQUIRE(own_start != 0);
  CHECK(same_process_alive(::getpid(), own_start));
  CHECK_FALSE(adoptable_pid(::getpid()));
  CHECK(open_member_pidfd(::getpid(), own_start, nullptr) == -1);
  CHECK_FALSE(adoptable_pid(0));
  CHECK_FALSE(adoptable_pid(-child));
}
