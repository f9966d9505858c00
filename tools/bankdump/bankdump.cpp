// SPDX-License-Identifier: MIT
// bankdump: lists the blocks of a bank in a raw memory image and checks it.
//
//   bankdump [--offset N] [--length N] [--bytes N] IMAGE
//
// IMAGE is the bank's bytes: a debugger's memory dump of the section, QEMU's pmemsave, or a
// host bank file. Exit status: 0 consistent, 1 problems found, 2 not readable as a bank.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <hotrestart/tools/bank_image.hpp>

namespace {
int usage() {
  std::fputs("usage: bankdump [--offset N] [--length N] [--bytes N] IMAGE\n", stderr);
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::uint64_t offset = 0, length = 0;
  hotrestart::tools::inspect_options opt;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    auto number = [&](std::uint64_t& v) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      v = std::strtoull(argv[++i], &end, 0);
      return end != nullptr && *end == '\0';
    };
    std::uint64_t shown = 0;
    if (std::strcmp(argv[i], "--offset") == 0) {
      if (!number(offset)) return usage();
    } else if (std::strcmp(argv[i], "--length") == 0) {
      if (!number(length)) return usage();
    } else if (std::strcmp(argv[i], "--bytes") == 0) {
      if (!number(shown)) return usage();
      opt.show_bytes = static_cast<std::size_t>(shown);
    } else if (argv[i][0] == '-' || path != nullptr) {
      return usage();
    } else {
      path = argv[i];
    }
  }
  if (path == nullptr) return usage();
  auto img = hotrestart::tools::bank_image::read(path, offset, length);
  if (!img) {
    std::fprintf(stderr, "bankdump: %s: %s\n", path, hotrestart::describe(img.error()).text);
    return 2;
  }
  auto r = hotrestart::tools::inspect(
      img->bytes(), [](const char* l) { std::puts(l); }, opt);
  if (!r) {
    std::fprintf(stderr, "bankdump: %s: %s\n", path, hotrestart::describe(r.error()).text);
    return 2;
  }
  return r->problems == 0 ? 0 : 1;
}
