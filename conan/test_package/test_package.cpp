// SPDX-License-Identifier: MIT
// The Conan package's test: create a bank and a block, reopen, find the bytes, free the block.
#include <cstdio>
#include <cstring>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/backends/section.hpp>
#ifdef HR_WITH_SHM
#include <hotrestart/backends/shm.hpp>
#endif

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "test_package.bank";
  std::remove(path);
  {
    auto bank = hotrestart::mmap_bank::create(path, {.bank_size = 64 * 1024, .max_blocks = 4});
    if (!bank) return 1;
    auto b = bank->find_or_create("conan", 6);
    if (!b || !b->created) return 1;
    std::memcpy(b->data, "conan", 6);
  }
  auto bank = hotrestart::mmap_bank::open(path);
  if (!bank) return 1;
  auto b = bank->find("conan");
  if (!b || std::memcmp(b->data, "conan", 6) != 0) return 1;
  if (!bank->free("conan")) return 1;
  std::remove(path);
  std::puts("hotrestart test_package: created, reopened and freed a block");
  return 0;
}
