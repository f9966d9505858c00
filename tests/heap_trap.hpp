// SPDX-License-Identifier: MIT
// Counts heap calls: replaces every allocation function a program can reach (malloc, calloc,
// realloc, reallocarray, aligned_alloc, posix_memalign, memalign, valloc, pvalloc, and every
// replaceable operator new: plain, array, nothrow, aligned) with versions that count while
// `hrtest_heap::trapping` is set. Include in exactly one translation unit of a test program
// (it defines those functions), built without sanitizers (they own malloc). Also a tiny check
// list for programs that run without a test framework (no exceptions, no RTTI), and
// `check_trap()`, the trap's own negative control: every one of those functions must be seen.
#ifndef HOTRESTART_TESTS_HEAP_TRAP_HPP
#define HOTRESTART_TESTS_HEAP_TRAP_HPP

#include <malloc.h>
#include <stdlib.h>

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
inline void count() {
  if (trapping) ++calls;
}
}  // namespace hrtest_heap

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* __libc_memalign(std::size_t, std::size_t);
extern "C" void* __libc_valloc(std::size_t);
extern "C" void* __libc_pvalloc(std::size_t);

extern "C" void* malloc(std::size_t n) {
  hrtest_heap::count();
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  hrtest_heap::count();
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  hrtest_heap::count();
  return __libc_realloc(p, n);
}
extern "C" void* reallocarray(void* p, std::size_t a, std::size_t b) {
  hrtest_heap::count();
  if (b != 0 && a > static_cast<std::size_t>(-1) / b) return nullptr;
  return __libc_realloc(p, a * b);
}
extern "C" void* aligned_alloc(std::size_t align, std::size_t n) {
  hrtest_heap::count();
  return __libc_memalign(align, n);
}
extern "C" void* memalign(std::size_t align, std::size_t n) {
  hrtest_heap::count();
  return __libc_memalign(align, n);
}
extern "C" int posix_memalign(void** out, std::size_t align, std::size_t n) {
  hrtest_heap::count();
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
extern "C" void* valloc(std::size_t n) {
  hrtest_heap::count();
  return __libc_valloc(n);
}
extern "C" void* pvalloc(std::size_t n) {
  hrtest_heap::count();
  return __libc_pvalloc(n);
}

namespace hrtest_heap {
inline void* must(void* p) {
  if (p == nullptr) std::abort();  // no exceptions here: an allocation failure ends the test
  return p;
}
}  // namespace hrtest_heap

void* operator new(std::size_t n) {
  return hrtest_heap::must(malloc(n));
}
void* operator new[](std::size_t n) {
  return hrtest_heap::must(malloc(n));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return malloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return malloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return hrtest_heap::must(memalign(static_cast<std::size_t>(a), n));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return hrtest_heap::must(memalign(static_cast<std::size_t>(a), n));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return memalign(static_cast<std::size_t>(a), n);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return memalign(static_cast<std::size_t>(a), n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace hrtest_heap {
/// The trap's negative control: each allocation function, called once while trapping, must
/// be counted once. Returns how many were missed (0: the trap sees them all).
inline int check_trap() {
  struct probe {
    const char* name;
    void* (*call)();
    void (*release)(void*);
  };
  static void* volatile keep = nullptr;
  auto release_free = [](void* p) { std::free(p); };
  const probe probes[] = {
      {"malloc", [] { return malloc(16); }, release_free},
      {"calloc", [] { return calloc(2, 8); }, release_free},
      {"realloc", [] { return realloc(nullptr, 16); }, release_free},
      {"reallocarray", [] { return reallocarray(nullptr, 2, 8); }, release_free},
      {"aligned_alloc", [] { return aligned_alloc(64, 64); }, release_free},
      {"posix_memalign",
       [] {
         void* p = nullptr;
         return posix_memalign(&p, 64, 16) == 0 ? p : nullptr;
       },
       release_free},
      {"memalign", [] { return memalign(64, 16); }, release_free},
      {"valloc", [] { return valloc(16); }, release_free},
      {"pvalloc", [] { return pvalloc(16); }, release_free},
      {"operator new", [] { return ::operator new(16); }, [](void* p) { ::operator delete(p); }},
      {"operator new[]", [] { return ::operator new[](16); },
       [](void* p) { ::operator delete[](p); }},
      {"operator new (nothrow)", [] { return ::operator new(16, std::nothrow); },
       [](void* p) { ::operator delete(p); }},
      {"operator new[] (nothrow)", [] { return ::operator new[](16, std::nothrow); },
       [](void* p) { ::operator delete[](p); }},
      {"operator new (aligned)", [] { return ::operator new (16, std::align_val_t{64}); },
       [](void* p) { ::operator delete (p, std::align_val_t{64}); }},
      {"operator new[] (aligned)", [] { return ::operator new[](16, std::align_val_t{64}); },
       [](void* p) { ::operator delete[](p, std::align_val_t{64}); }},
      {"operator new (aligned, nothrow)",
       [] { return ::operator new (16, std::align_val_t{64}, std::nothrow); },
       [](void* p) { ::operator delete (p, std::align_val_t{64}); }},
      {"new-expression of an over-aligned type",
       [] {
         struct alignas(128) wide {
           char b[128];
         };
         return static_cast<void*>(new wide);
       },
       [](void* p) { ::operator delete (p, std::align_val_t{128}); }},
  };
  int missed = 0;
  for (const probe& p : probes) {
    calls = 0;
    trapping = true;
    keep = p.call();
    trapping = false;
    if (keep == nullptr || calls != 1) {
      std::printf("FAILED: the heap trap does not see %s (counted %lu)\n", p.name, calls);
      ++missed;
    }
    p.release(keep);
  }
  return missed;
}
}  // namespace hrtest_heap

#endif  // HOTRESTART_TESTS_HEAP_TRAP_HPP
