// SPDX-License-Identifier: MIT
// Proves that the core allocates nothing on the heap: every allocation function (heap_trap.hpp)
// is replaced by a version that counts, and every bank operation runs with exceptions and RTTI
// off: create, open, open_or_create (both ways), find, find_or_create, free, free_all,
// replace, stats, for_each, check, errors and their text, and the recovery paths a crash
// leaves behind (a real child SIGKILLed mid-operation, hr_crash_child): open of a bank with a
// pending intent record and a dead lock owner, a mutation that takes the lock from a dead
// owner, and the lock-free find's fallback over an odd sequence word. Prints a closing line
// and exits non-zero on any failure.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/bank.hpp>
#include "heap_trap.hpp"

using hrtest_heap::expect;

extern char** environ;

namespace {

template <class Bank>
void exercise(Bank& b, const char* label) {
  hrtest_heap::trapping = true;
  hrtest_heap::calls = 0;
  for (int i = 0; i < 20; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "blk%02d", i);
    auto c = b.find_or_create(name, 100 + 4096u * static_cast<unsigned>(i % 3), i % 2 ? "KEY" : "");
    expect(c.has_value() && c->created, "create");
  }
  expect(b.find("blk03").has_value(), "find");
  expect(!b.find("nope").has_value(), "find missing");
  expect(b.find_or_create("blk03", 1).has_value(), "find_or_create of an existing block");
  expect(b.free("blk04").has_value(), "free");
  auto n = b.free_all("KEY");
  expect(n.has_value() && *n == 10, "free_all");
  expect(b.find_or_create("shadow", 5000).has_value(), "create a shadow");
  expect(b.replace("blk02", "shadow").has_value(), "replace an existing name");
  expect(b.find_or_create("shadow", 10).has_value(), "create another shadow");
  expect(b.replace("renamed", "shadow").has_value(), "replace as a rename");
  expect(!b.replace("blk02", "absent").has_value(), "replace from a missing source");
  auto s = b.stats();
  expect(s.has_value() && s->blocks == 10, "stats");
  unsigned visited = 0;
  auto it = b.for_each([&](const hotrestart::block_info&) { ++visited; });
  expect(it.has_value() && visited == 10, "for_each");
  auto problems = b.check([](const hotrestart::error&) {});
  expect(problems.has_value() && *problems == 0, "check");
  auto err = b.find_or_create(std::string_view("too long a name for any block in the bank"), 1);
  expect(!err.has_value(), "error path");
  hotrestart::error_text t = hotrestart::describe(err.error());
  expect(std::strlen(t.text) > 0, "describe");
  hrtest_heap::trapping = false;
  char msg[96];
  std::snprintf(msg, sizeof msg, "%s: no heap allocation (saw %lu)", label, hrtest_heap::calls);
  expect(hrtest_heap::calls == 0, msg);
}

// Runs hr_crash_child (outside the trap: spawning is the test's business, not the bank's).
bool crash_child(const char* bank, const char* when, const char* op, const char* a,
                 const char* b = nullptr) {
  const char* argv[] = {HR_CRASH_CHILD, bank, when, op, a, b, nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, HR_CRASH_CHILD, nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

bool intent_pending(const char* path) {
  auto b = hotrestart::mmap_file_backend::open(path);  // the raw bytes: no recovery
  return b && hotrestart::detail::journal::pending(b->data());
}

void populate(hotrestart::mmap_bank& b) {
  for (int i = 0; i < 6; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "r%d", i);
    (void)b.find_or_create(name, 3000);
  }
}

// The recovery paths, each with a writer really killed in the middle of an operation.
void recovery(const char* path) {
  ::unlink(path);
  {
    auto b = hotrestart::mmap_bank::create(path);
    if (!b) return expect(false, "recovery: create");
    populate(*b);
  }
  // 1. open() of a bank whose writer died mid-free: repair under a lock whose owner died.
  expect(crash_child(path, "odd", "free", "r1"), "recovery: the child dies inside free");
  expect(intent_pending(path), "recovery: the free left its intent record pending");
  {
    hrtest_heap::scope trap;
    auto b = hotrestart::mmap_bank::open(path);
    const bool ok = b.has_value() && b->check([](const hotrestart::error&) {}).value_or(1) == 0;
    hrtest_heap::trapping = false;
    expect(ok, "recovery: open repairs the bank");
    expect(hrtest_heap::calls == 0, "recovery: open with a pending intent record, no heap");
  }
  expect(!intent_pending(path), "recovery: the intent record is idle after open");
  auto b = hotrestart::mmap_bank::open(path);
  if (!b) return expect(false, "recovery: reopen");
  // 2. The bank stays open here; a writer dies inside replace with the sequence word odd:
  //    find() must take the lock (owner died), repair, and return.
  expect(crash_child(path, "odd", "replace", "r2", "r3"),
         "recovery: the child dies inside replace");
  {
    hrtest_heap::scope trap;
    const bool found = b->find("r2").has_value() && b->find("r4").has_value();
    hrtest_heap::trapping = false;
    expect(found, "recovery: find after a writer died with the sequence word odd");
    expect(hrtest_heap::calls == 0, "recovery: the lock-free find's fallback, no heap");
  }
  // 3. A writer dies at its 5th store of a create (lock held, intent active); the next
  //    mutation takes the lock from the dead owner and repairs first.
  expect(crash_child(path, "5", "create", "new", "9000"), "recovery: the child dies inside create");
  {
    hrtest_heap::scope trap;
    const bool freed = b->free("r5").has_value();
    auto c = b->find_or_create("new", 10);
    const bool ok = freed && c.has_value() && c->created &&
                    b->check([](const hotrestart::error&) {}).value_or(1) == 0;
    hrtest_heap::trapping = false;
    expect(ok, "recovery: free and create after a writer died holding the lock");
    expect(hrtest_heap::calls == 0,
           "recovery: a mutation that repairs a dead owner's bank, no heap");
  }
  ::unlink(path);
}

}  // namespace

int main() {
  {
    alignas(64) static std::byte memory[4 << 20];
    using span_bank = hotrestart::basic_bank<hotrestart::span_backend>;
    hrtest_heap::trapping = true;
    auto b = span_bank::create(std::span<std::byte>(memory, sizeof memory));
    hrtest_heap::trapping = false;
    expect(b.has_value() && hrtest_heap::calls == 0, "span bank create without heap");
    if (b) exercise(*b, "span backend");
  }
  char path[] = "/tmp/hr-noheap-XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  unlink(path);
  {
    hrtest_heap::calls = 0;
    hrtest_heap::trapping = true;
    auto b = hotrestart::mmap_bank::create(path);
    auto reopened = hotrestart::mmap_bank::open(path);
    hrtest_heap::trapping = false;
    expect(b.has_value() && reopened.has_value(), "mmap bank create and open");
    expect(hrtest_heap::calls == 0, "mmap bank create and open without heap");
    if (b) exercise(*b, "mmap backend");
  }
  {
    hrtest_heap::scope trap;
    auto existing = hotrestart::mmap_bank::open_or_create(path);
    const bool opened = existing.has_value() && existing->find("renamed").has_value();
    unlink(path);
    auto made = hotrestart::mmap_bank::open_or_create(path);
    const bool created = made.has_value() && !made->find("renamed").has_value();
    hrtest_heap::trapping = false;
    expect(opened, "open_or_create of an existing bank");
    expect(created, "open_or_create of a new bank");
    expect(hrtest_heap::calls == 0, "open_or_create both ways, no heap");
  }
  unlink(path);
  recovery(path);
  // The trap's negative control: it must see every allocation function.
  expect(hrtest_heap::check_trap() == 0,
         "negative control: the trap counts every allocation function");
  return hrtest_heap::finish("noheap");
}
