// SPDX-License-Identifier: MIT
// validate_runtime (hotrestart/posix/validate.hpp) keeps to the core's rules: built without
// exceptions and RTTI, it validates the runtime fuzz seeds without one heap call, and finds
// what their manifest says (no problem in the clean seeds, at least one in each damaged one,
// the exact sentence for the seed bad-held).
//   test_validate_noheap DIR MANIFEST
#include <cstdio>
#include <cstring>

#include <hotrestart/bank.hpp>
#include <hotrestart/posix/validate.hpp>

#include "heap_trap.hpp"

namespace {

using namespace hotrestart;
using namespace hotrestart::posix;
using snapshot = basic_controller<runtime_policy, null_block_store>;

alignas(64) std::byte g_mem[1u << 16];
alignas(64) std::byte g_ctl[1u << 16];

struct sink {
  std::uint32_t* n;
  char* first;
  void operator()(std::string_view s) const {
    if (*n == 0) {
      const std::size_t k = s.size() < 255 ? s.size() : 255;
      std::memcpy(first, s.data(), k);
      first[k] = '\0';
    }
    ++*n;
  }
};

// Problems of one seed; -1 if its runtime or controller block is refused before validation.
int validate_seed(std::size_t size, char* first) {
  hrtest_heap::scope trap;
  auto bank = basic_bank<span_backend>::open(std::span<std::byte>(g_mem, size));
  if (!bank) return -1;
  auto rb = bank->find(runtime_block_name);
  auto cb = bank->find(controller_block_name);
  if (!rb || !cb || cb->capacity > sizeof g_ctl) return -1;
  auto rt = runtime_view::attach(*rb);
  if (!rt) return -1;
  if (auto xb = bank->find(runtime_ext_block_name); !xb || !rt->attach_ext(*xb)) return -1;
  std::memcpy(g_ctl, cb->data, cb->capacity);
  null_block_store none;
  runtime_policy pol = policy_from_header(rt->header());
  if (!pol.valid()) pol = runtime_policy{};
  auto c = snapshot::open(std::span<std::byte>(g_ctl, cb->capacity), pol, none);
  if (!c) return -1;
  std::uint32_t n = 0;
  (void)validate_runtime(*rt, &*c, *bank, sink{&n, first});
  return static_cast<int>(n);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::FILE* m = std::fopen(argv[2], "r");
  if (m == nullptr) return 2;
  char line[256];
  int seeds = 0;
  while (std::fgets(line, sizeof line, m) != nullptr) {
    if (line[0] == '#') continue;
    char name[128] = {}, what[32] = {}, code[32] = {};
    if (std::sscanf(line, "%127s %31s %31s", name, what, code) < 2) continue;
    char path[512];
    std::snprintf(path, sizeof path, "%s/%s", argv[1], name);
    std::FILE* f = std::fopen(path, "rb");
    if (f == nullptr) {
      hrtest_heap::expect(false, path);
      continue;
    }
    const std::size_t size = std::fread(g_mem, 1, sizeof g_mem, f);
    std::fclose(f);
    char first[256] = {};
    const int n = validate_seed(size, first);
    hrtest_heap::expect(hrtest_heap::calls == 0, name);
    const bool open = std::strcmp(what, "open") == 0;
    if (open)
      hrtest_heap::expect(n == 0, name);
    else if (std::strcmp(code, "corrupt") == 0)
      hrtest_heap::expect(n != 0, name);  // refused by the validation, or before it
    if (std::strcmp(name, "bad-held") == 0)
      hrtest_heap::expect(n == 1 && std::strcmp(first,
                                                "group 0: held word 7 is not a hold reason (0 "
                                                "none, 1 stopped, 2 gave up)") == 0,
                          "bad-held: the sentence");
    ++seeds;
  }
  std::fclose(m);
  hrtest_heap::expect(seeds > 10, "the manifest lists the seeds");
  return hrtest_heap::finish("validate_noheap");
}
