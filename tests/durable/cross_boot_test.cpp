// SPDX-License-Identifier: MIT
// The bank's lock seen from a second node. The lock is a robust process-shared mutex stamped
// with the boot id of the kernel that made it (posix_lock.hpp); a node that takes over a bank
// on shared storage runs another kernel, with another boot id. There, the holder of the mutex
// never "dies" (its kernel is elsewhere): only the boot id check lets the new node make the
// lock again. Each "node" here is a process claiming a boot id (HR_TEST_BOOT_ID, read once per
// process: set in the forked child before its first bank call).
//
// Node A holds the lock while it vanishes (SIGSTOP: alive, but on no kernel node B can see) or
// dies (SIGKILL). Node B (another boot id) opens the bank, makes the lock again, finds the
// counter A wrote and creates a block (which needs the lock), and check() is clean. The negative
// control: a process claiming A's boot id cannot take the lock A holds while A is stopped (it
// is still waiting when the test gives up on it), so it is the boot id that lets B proceed.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/backends/posix_lock.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

std::string bank_path() {
  return "/dev/shm/hr-cross-boot-" + std::to_string(::getpid()) + ".bank";
}

// A node: a forked process claiming `boot`; `body` returns its exit status.
template <class F>
pid_t node(const char* boot, F&& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setenv("HR_TEST_BOOT_ID", boot, 1);
    ::alarm(60);  // a hang fails the test instead of blocking it
    ::_exit(body());
  }
  return pid;
}

// Waits for `pid` up to `seconds` (polling); its exit status, or -1 if it is still running.
int wait_exit(pid_t pid, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    int st = 0;
    const pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    ::usleep(50000);
  }
  return -1;
}

// Node A: creates the bank with a counter at 41, then takes the lock, writes 42 under it and
// reports through `ready` before it vanishes (stop) or dies (kill) holding the lock.
int node_a(const std::string& path, int ready, int sig) {
  auto b = mmap_bank::create(path.c_str(), {.bank_size = 16 * 4096, .max_blocks = 16});
  if (!b) return 10;
  auto c = b->find_or_create("counter", sizeof(std::uint64_t));
  if (!c) return 11;
  std::uint64_t v = 41;
  std::memcpy(c->data, &v, sizeof v);
  if (!b->backend().lock()) return 12;
  v = 42;
  std::memcpy(c->data, &v, sizeof v);
  const char* stamp = hotrestart::detail::this_boot();
  if (std::strncmp(stamp, "node-a-boot", 11) != 0) return 13;
  (void)!::write(ready, "L", 1);
  ::raise(sig);  // holding the lock
  return 14;
}

// Node B: opens the bank, finds 42, creates a block (takes the lock), check() clean.
int node_b(const std::string& path) {
  auto b = mmap_bank::open(path.c_str());
  if (!b) return 20;
  auto c = b->find("counter");
  if (!c) return 21;
  std::uint64_t v = 0;
  std::memcpy(&v, c->data, sizeof v);
  if (v != 42) return 22;
  if (!b->find_or_create("node-b-was-here", 100)) return 23;
  auto n = b->check([](const error&) {});
  if (!n || *n != 0) return 24;
  // The lock area now carries B's boot id: the lock was made again for this boot.
  const std::byte* area = b->backend().data() + bank_format::lock_area;
  if (std::memcmp(area + hotrestart::detail::boot_id_offset, "node-b-boot", 11) != 0) return 25;
  return 0;
}

void run(int sig) {
  const std::string path = bank_path();
  ::unlink(path.c_str());
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const pid_t a = node("node-a-boot", [&] { return node_a(path, p[1], sig); });
  char got = 0;
  REQUIRE(::read(p[0], &got, 1) == 1);
  ::close(p[0]);
  ::close(p[1]);
  int st = 0;
  REQUIRE(::waitpid(a, &st, WUNTRACED) == a);  // stopped, or killed, holding the lock
  if (sig == SIGSTOP) {
    REQUIRE(WIFSTOPPED(st));
    // Negative control: A's own boot id. The mutex is current for it and A still holds it.
    const pid_t same = node("node-a-boot", [&] { return node_b(path); });
    CHECK_MESSAGE(wait_exit(same, 3) == -1,
                  "a process of A's boot took the lock A holds: the boot id check is not what "
                  "lets node B proceed");
    ::kill(same, SIGKILL);
    (void)::waitpid(same, nullptr, 0);
  } else {
    REQUIRE(WIFSIGNALED(st));
  }
  const pid_t b = node("node-b-boot", [&] { return node_b(path); });
  CHECK(wait_exit(b, 30) == 0);
  if (sig == SIGSTOP) {
    ::kill(a, SIGKILL);
    (void)::waitpid(a, nullptr, 0);
  }
  ::unlink(path.c_str());
}

}  // namespace

TEST_CASE("node B (another boot id) takes over a bank whose lock vanished node A holds") {
  run(SIGSTOP);
}

TEST_CASE("node B (another boot id) takes over a bank whose lock node A held when killed") {
  run(SIGKILL);
}
