// SPDX-License-Identifier: MIT
// The ChorusOS "hello world" of hot restart, on the hotrestart bank API: the first run keeps a
// counter in a persistent block, says hello and crashes (a real SIGSEGV); the next run finds
// the counter, says it was restarted, frees the block and exits cleanly.
//
//   hello_pmm [BANK_PATH]     (default: $HOTRESTART_BANK, else /dev/shm/hotrestart-hello.bank)
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

#include <hotrestart/backends/mmap_file.hpp>

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : std::getenv("HOTRESTART_BANK");
  if (path == nullptr) path = "/dev/shm/hotrestart-hello.bank";

  auto bank = hotrestart::mmap_bank::open_or_create(path);
  if (!bank) {
    std::fprintf(stderr, "hello: cannot open bank %s: %s\n", path,
                 hotrestart::describe(bank.error()).text);
    return 2;
  }
  // A reserved, inaccessible page: writing to it faults, as rgnAllocate(K_RESERVED) did.
  void* reserved = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserved == MAP_FAILED) {
    std::perror("hello: cannot reserve a page");
    return 2;
  }
  auto* bad = static_cast<volatile long*>(reserved);

  auto counter = bank->find_or_create("PM1", sizeof(int), "HELLO_GROUP");
  if (!counter) {
    std::fprintf(stderr, "hello: cannot allocate or map the block PM1: %s\n",
                 hotrestart::describe(counter.error()).text);
    return 2;
  }
  int* count = reinterpret_cast<int*>(counter->data);
  if (*count == 0) {
    std::printf("Hello world!\n");
    ++*count;
    std::fflush(stdout);  // what was printed must survive the crash when stdout is a pipe
    *bad = 0xDeadBeef;    // SIGSEGV: the process dies here
    return 3;             // not reached
  }
  std::printf("Hello again! I have been restarted.\n");
  if (auto f = bank->free("PM1"); !f) {
    std::fprintf(stderr, "hello: free failed: %s\n", hotrestart::describe(f.error()).text);
    return 2;
  }
  std::printf("Example finished. Exit.\n");
  return 0;
}
