// SPDX-License-Identifier: MIT
// What a user's program does with hotrestart taken as a package (find_package, add_subdirectory
// or pkg-config): create a bank and a block, write it, reopen the bank and find the same bytes,
// free the block. HR_PKG_* (set by the consumer project) also pull in the other components'
// headers, so a header missing from the install fails the build.
//
//   consumer BANK_PATH
#include <cstdio>
#include <cstring>
#include <string_view>

#include <hotrestart/backends/mmap_file.hpp>

#ifdef HR_PKG_SHM
#include <hotrestart/backends/shm.hpp>
#endif
#ifdef HR_PKG_SECTION
#include <hotrestart/backends/section.hpp>
#endif
#ifdef HR_PKG_POSIX
#include <hotrestart/posix/process.hpp>
#endif
#ifdef HR_PKG_CHORUS
#include <hr/hr.h>
#include <pmm/chPmm.h>
#endif

namespace {

int fail(const char* what, const hotrestart::error& e) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, hotrestart::describe(e).text);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer BANK_PATH\n");
    return 2;
  }
  const char* path = argv[1];
  std::remove(path);
  constexpr std::string_view text = "kept across a reopen";

  {
    auto bank = hotrestart::mmap_bank::create(path, {.bank_size = 64 * 1024, .max_blocks = 4});
    if (!bank) return fail("create", bank.error());
    auto b = bank->find_or_create("pkg.block", text.size());
    if (!b) return fail("find_or_create", b.error());
    if (!b->created) {
      std::fprintf(stderr, "consumer: a new bank already had the block\n");
      return 1;
    }
    std::memcpy(b->data, text.data(), text.size());
  }
  {
    auto bank = hotrestart::mmap_bank::open(path);
    if (!bank) return fail("open", bank.error());
    auto b = bank->find_or_create("pkg.block", text.size());
    if (!b) return fail("find_or_create after reopen", b.error());
    if (b->created || std::memcmp(b->data, text.data(), text.size()) != 0) {
      std::fprintf(stderr, "consumer: the block did not survive the reopen\n");
      return 1;
    }
    if (auto f = bank->free("pkg.block"); !f) return fail("free", f.error());
    auto gone = bank->find("pkg.block");
    if (gone || gone.error().code != hotrestart::errc::not_found) {
      std::fprintf(stderr, "consumer: the freed block is still found\n");
      return 1;
    }
  }
  std::remove(path);
#ifdef HR_PKG_SECTION
  static_assert(hotrestart::bank_backend<hotrestart::section_backend_ext>);
#endif
#ifdef HR_PKG_SHM
  static_assert(hotrestart::bank_backend<hotrestart::shm_backend>);
#endif
#ifdef HR_PKG_CHORUS
  if (vmPageSize() == 0) return 1;
#endif
  std::printf("consumer: created, reopened and freed a block\n");
  return 0;
}
