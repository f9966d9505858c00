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

static bool g_trapping = false;
static unsigned long g_heap_calls = 0;

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

extern "C" void* malloc(std::size_t n) {
  if (g_trapping) ++g_heap_calls;
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  if (g_trapping) ++g_heap_calls;
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  if (g_trapping) ++g_heap_calls;
  return __libc_realloc(p, n);
}
void* operator new(std::size_t n) {
  if (g_trapping) ++g_heap_calls;
  void* p = __libc_malloc(n);
  if (p == nullptr) std::abort();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

static int passed = 0, failed = 0;
static void expect(bool ok, const char* what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAILED: %s\n", what);
  }
}

template <class Bank>
static void exercise(Bank& b, const char* label) {
  g_trapping = true;
  g_heap_calls = 0;
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
  g_trapping = false;
  char msg[96];
  std::snprintf(msg, sizeof msg, "%s: no heap allocation (saw %lu)", label, g_heap_calls);
  expect(g_heap_calls == 0, msg);
}

int main() {
  {
    alignas(64) static std::byte memory[4 << 20];
    using span_bank = hotrestart::basic_bank<hotrestart::span_backend>;
    g_trapping = true;
    auto b = span_bank::create(std::span<std::byte>(memory, sizeof memory));
    g_trapping = false;
    expect(b.has_value() && g_heap_calls == 0, "span bank create without heap");
    if (b) exercise(*b, "span backend");
  }
  {
    char path[] = "/tmp/hr-noheap-XXXXXX";
    const int fd = mkstemp(path);
    close(fd);
    unlink(path);
    g_heap_calls = 0;
    g_trapping = true;
    auto b = hotrestart::mmap_bank::create(path);
    auto reopened = hotrestart::mmap_bank::open(path);
    g_trapping = false;
    expect(b.has_value() && reopened.has_value(), "mmap bank create and open");
    expect(g_heap_calls == 0, "mmap bank create and open without heap");
    if (b) exercise(*b, "mmap backend");
    unlink(path);
  }
  // A negative control: the trap must see a deliberate allocation.
  g_heap_calls = 0;
  g_trapping = true;
  void* volatile p = std::malloc(16);
  g_trapping = false;
  std::free(p);
  expect(g_heap_calls == 1, "negative control: the trap counts a real malloc");
  std::printf("noheap: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
