// SPDX-License-Identifier: MIT
// Proves that the core allocates nothing on the heap: malloc, calloc, realloc and operator new
// are replaced by versions that count, and every bank operation runs with exceptions and RTTI
// off. Prints a closing line and exits non-zero on any failure.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/bank.hpp>
#include "heap_trap.hpp"

using hrtest_heap::expect;

template <class Bank>
static void exercise(Bank& b, const char* label) {
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
  expect(b.free("blk04").has_value(), "free");
  auto n = b.free_all("KEY");
  expect(n.has_value() && *n == 10, "free_all");
  auto s = b.stats();
  expect(s.has_value() && s->blocks == 9, "stats");
  unsigned visited = 0;
  auto it = b.for_each([&](const hotrestart::block_info&) { ++visited; });
  expect(it.has_value() && visited == 9, "for_each");
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
  {
    char path[] = "/tmp/hr-noheap-XXXXXX";
    const int fd = mkstemp(path);
    close(fd);
    unlink(path);
    hrtest_heap::calls = 0;
    hrtest_heap::trapping = true;
    auto b = hotrestart::mmap_bank::create(path);
    auto reopened = hotrestart::mmap_bank::open(path);
    hrtest_heap::trapping = false;
    expect(b.has_value() && reopened.has_value(), "mmap bank create and open");
    expect(hrtest_heap::calls == 0, "mmap bank create and open without heap");
    if (b) exercise(*b, "mmap backend");
    unlink(path);
  }
  // A negative control: the trap must see a deliberate allocation.
  hrtest_heap::calls = 0;
  hrtest_heap::trapping = true;
  void* volatile p = std::malloc(16);
  hrtest_heap::trapping = false;
  std::free(p);
  expect(hrtest_heap::calls == 1, "negative control: the trap counts a real malloc");
  return hrtest_heap::finish("noheap");
}
