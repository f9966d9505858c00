// SPDX-License-Identifier: MIT
// A process that dies by SIGKILL inside a bank operation, for the tests that need a bank
// with a writer dead mid-operation (lock held by a dead owner, intent record pending):
//
//   hr_crash_child PATH odd free NAME              die at the first metadata store made while
//   hr_crash_child PATH odd replace TARGET SOURCE  the readers' sequence word is odd (inside
//                                                  the unlink: lock-free readers must not spin
//                                                  forever on it)
//   hr_crash_child PATH K create NAME SIZE         die at the K-th metadata store
//
// It finds the instant through the crash-point hook (HOTRESTART_CRASH_HOOK), so it follows the
// library wherever its stores move. Exit 3 if the operation finished without reaching it
// (the caller's test cannot do what it claims then), 2 if the bank could not be used.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

static const std::byte* g_base = nullptr;
static long g_kill_at = 0;  // 0: at the first point with an odd sequence word
static long g_points = 0;

#include <hotrestart/backends/mmap_file.hpp>

void hr_crash_child_point() {
  if (g_base == nullptr) return;
  ++g_points;
  const bool odd = (hotrestart::detail::load32(g_base, hotrestart::bank_format::seq) & 1u) != 0;
  if (g_kill_at == 0 ? odd : g_points == g_kill_at) ::raise(SIGKILL);
}

int main(int argc, char** argv) {
  if (argc < 5) return 64;
  const std::string_view when = argv[2], op = argv[3];
  g_kill_at = when == "odd" ? 0 : std::atol(argv[2]);
  auto bank = hotrestart::mmap_bank::open(argv[1]);
  if (!bank) {
    std::fprintf(stderr, "crash_child: %s\n", hotrestart::describe(bank.error()).text);
    return 2;
  }
  g_base = bank->backend().data();
  bool ok = false;
  if (op == "free") {
    ok = bank->free(argv[4]).has_value();
  } else if (op == "replace" && argc >= 6) {
    ok = bank->replace(argv[4], argv[5]).has_value();
  } else if (op == "create" && argc >= 6) {
    ok = bank->find_or_create(argv[4], std::strtoull(argv[5], nullptr, 10)).has_value();
  } else {
    return 64;
  }
  std::fprintf(stderr, "crash_child: the %.*s %s without reaching its crash point (%ld points)\n",
               static_cast<int>(op.size()), op.data(), ok ? "finished" : "failed", g_points);
  return ok ? 3 : 2;
}
