// SPDX-License-Identifier: MIT
// Counts heap calls: replaces malloc, calloc, realloc and operator new with versions that count
// while `hrtest_heap::trapping` is set. Include in exactly one translation unit of a test
// program (it defines those functions), built without sanitizers (they own malloc). Also a
// tiny check list for programs that run without a test framework (no exceptions, no RTTI).
#ifndef HOTRESTART_TESTS_HEAP_TRAP_HPP
#define HOTRESTART_TESTS_HEAP_TRAP_HPP

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace hrtest_heap {
inline bool trapping = false;
inline unsigned long calls = 0;

/// Counts the heap calls made while it lives.
struct scope {
  scope() {
    calls = 0;
    trapping = true;
  }
  ~scope() { trapping = false; }
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;
};

inline int passed = 0;
inline int failed = 0;
inline void expect(bool ok, const char* what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAILED: %s\n", what);
  }
}
/// Prints the closing line ("name: N passed, N failed") and returns the exit status.
inline int finish(const char* name) {
  std::printf("%s: %d passed, %d failed\n", name, passed, failed);
  return failed == 0 ? 0 : 1;
}
}  // namespace hrtest_heap

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

extern "C" void* malloc(std::size_t n) {
  if (hrtest_heap::trapping) ++hrtest_heap::calls;
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  if (hrtest_heap::trapping) ++hrtest_heap::calls;
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  if (hrtest_heap::trapping) ++hrtest_heap::calls;
  return __libc_realloc(p, n);
}
void* operator new(std::size_t n) {
  if (hrtest_heap::trapping) ++hrtest_heap::calls;
  void* p = __libc_malloc(n);
  if (p == nullptr) std::abort();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

#endif  // HOTRESTART_TESTS_HEAP_TRAP_HPP
