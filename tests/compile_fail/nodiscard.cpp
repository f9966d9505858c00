// SPDX-License-Identifier: MIT
// Compile-fail check: a result that is ignored is diagnosed (every function returning
// result<T> is [[nodiscard]]: Debian's tl-expected 1.0.0 does not mark its type), so that with
// -Werror an ignored error cannot slip through. Built twice by CTest with -Werror: without
// HR_REJECT (the result is used) it must compile; with it the build must fail on the warning.
#include <hotrestart/backend.hpp>
#include <hotrestart/bank.hpp>

int main() {
  alignas(64) static std::byte mem[1 << 16];
  auto b = hotrestart::basic_bank<hotrestart::span_backend>::create(std::span<std::byte>(mem),
                                                                    {.bank_size = 32768});
  if (!b) return 1;
#ifdef HR_REJECT
  b->find_or_create("ignored", 10);
#else
  auto r = b->find_or_create("used", 10);
  return r ? 0 : 1;
#endif
}
