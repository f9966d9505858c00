// SPDX-License-Identifier: MIT
// A real process for the crash tests: runs one bank operation, and dies by SIGKILL at the
// k-th metadata store when HR_CRASH_AT=k is set. Prints the number of crash points it passed.
// With HR_TEAR=MASK (hex) as well, the store in flight at the k-th point is torn before the
// process dies: the bytes selected by MASK get the new value, the others keep the old one (a
// warm reset of a microcontroller on a narrow bus, a write buffer cut mid-word).
//
//   bank_child PATH create NAME SIZE FILL [KEY]   find-or-create, then fill the bytes
//   bank_child PATH free NAME
//   bank_child PATH free_all KEY
//   bank_child PATH replace TARGET SOURCE
//   bank_child PATH expect NAME SIZE FILL          exit 0 iff the block holds FILL bytes
//   bank_child PATH hold SECONDS                   take the lock and sleep (killed by parent)
//   bank_child PATH repair                         open (which recovers) and check; the crash
//                                                  points counted include the open's own
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <atomic>
#include <cstdint>

static long g_crash_at = -1;
static long g_points = 0;
static std::uint32_t g_tear_mask = 0;
static bool g_tear_armed = false;

void hr_test_crash_point() {
  ++g_points;
  if (g_points != g_crash_at) return;
  if (g_tear_mask == 0) ::raise(SIGKILL);
  g_tear_armed = true;  // the next store is torn, then the process dies
}

bool hr_test_store_hook(std::uint32_t* word, std::uint32_t value) {
  if (!g_tear_armed) return false;
  std::atomic_ref<std::uint32_t> w(*word);
  w.store((value & g_tear_mask) | (w.load() & ~g_tear_mask));
  ::raise(SIGKILL);
  return true;
}

#ifndef HOTRESTART_STORE_HOOK
#define HOTRESTART_STORE_HOOK hr_test_store_hook
#endif
#include <hotrestart/backends/mmap_file.hpp>

using hotrestart::describe;

static int fail_with(const hotrestart::error& e) {
  std::fprintf(stderr, "bank_child: %s\n", describe(e).text);
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 3) return 64;
  if (const char* k = std::getenv("HR_CRASH_AT")) g_crash_at = std::atol(k);
  if (const char* t = std::getenv("HR_TEAR"))
    g_tear_mask = static_cast<std::uint32_t>(std::strtoul(t, nullptr, 16));
  const std::string_view op = argv[2];
  g_points = 0;
  auto bank = hotrestart::mmap_bank::open(argv[1]);
  if (!bank) return fail_with(bank.error());
  if (op == "repair") {
    auto problems = bank->check([](const hotrestart::error& e) {
      std::fprintf(stderr, "bank_child: check: %s\n", describe(e).text);
    });
    if (!problems) return fail_with(problems.error());
    std::printf("%ld\n", g_points);
    return *problems == 0 ? 0 : 3;
  }
  g_points = 0;  // count only the operation's own stores
  int rc = 0;
  if (op == "create" && argc >= 6) {
    auto b = bank->find_or_create(argv[3], std::strtoull(argv[4], nullptr, 10),
                                  argc >= 7 ? argv[6] : "");
    if (!b) return fail_with(b.error());
    std::memset(b->data, std::atoi(argv[5]), b->size);
  } else if (op == "free" && argc >= 4) {
    if (auto r = bank->free(argv[3]); !r) return fail_with(r.error());
  } else if (op == "free_all" && argc >= 4) {
    auto r = bank->free_all(argv[3]);
    if (!r) return fail_with(r.error());
  } else if (op == "replace" && argc >= 5) {
    if (auto r = bank->replace(argv[3], argv[4]); !r) return fail_with(r.error());
  } else if (op == "expect" && argc >= 6) {
    auto b = bank->find(argv[3]);
    if (!b) return fail_with(b.error());
    const auto want = static_cast<std::byte>(std::atoi(argv[5]));
    if (b->size != std::strtoull(argv[4], nullptr, 10)) return 1;
    for (std::uint64_t i = 0; i < b->size; ++i)
      if (b->data[i] != want) return 1;
  } else if (op == "hold" && argc >= 4) {
    auto r = bank->backend().lock();
    if (!r) return fail_with(r.error());
    std::printf("holding\n");
    std::fflush(stdout);
    ::sleep(static_cast<unsigned>(std::atoi(argv[3])));
    // Exit with the lock held and the bank still mapped, as a process that dies would.
    ::_exit(0);
  } else {
    return 64;
  }
  std::printf("%ld\n", g_points);
  return rc;
}
