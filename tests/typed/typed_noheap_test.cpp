// SPDX-License-Identifier: MIT
// The typed layer without exceptions, without RTTI and without the heap: malloc, calloc,
// realloc and operator new count their calls while typed blocks are constructed, migrated,
// updated and linked. Prints a closing line and exits non-zero on any failure.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include <hotrestart/backend.hpp>
#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/offset_ptr.hpp>
#include <hotrestart/typed.hpp>
#include "heap_trap.hpp"

#include "typed_types.hpp"

using hrtest_heap::expect;

using namespace hotrestart;
using hrtyped::rec_v1;
using hrtyped::rec_v2;

template <class Bank>
static void exercise(Bank& b, const char* label) {
  hrtest_heap::calls = 0;
  hrtest_heap::trapping = true;
  auto p = persistent<rec_v1>::find_or_construct(b, "rec", [](rec_v1& r) { r.set(3); });
  expect(p.has_value() && p->created(), "construct");
  if (p) {
    expect(p->update([](rec_v1& r) { r.set(4); }), "update");
    expect(p->load().seq == 4 && p->load().whole(), "load");
  }
  auto bad = persistent<rec_v2>::open(b, "rec");
  expect(!bad.has_value() && bad.error().code == errc::schema_mismatch, "schema mismatch");
  auto m = persistent<rec_v2>::find_or_construct(b, "rec", value_init,
                                                 migrate_from<rec_v1>(hrtyped::migrate_v1_v2));
  expect(m.has_value() && m->migrated() && m->get()->seq == 4, "migrate");
  auto nodes = b.find_or_create("nodes", 4096);
  expect(nodes.has_value(), "nodes");
  if (nodes) {
    auto* n = reinterpret_cast<hrtyped::node*>(nodes->data);
    auto link = offset_ptr<hrtyped::node>::make(b, &n[1]);
    expect(link.has_value(), "offset_ptr make");
    if (link) {
      n[0].next = *link;
      n[1].value = 9;
      expect(n[0].next.get(b) == &n[1] && n[0].next.get(b)->value == 9, "offset_ptr get");
    }
    expect(!offset_ptr<hrtyped::node>::from_offset(~0ull).resolve(b).has_value(), "bad offset");
  }
  expect(persistent<rec_v2>::destroy(b, "rec").has_value(), "destroy");
  hrtest_heap::trapping = false;
  char msg[96];
  std::snprintf(msg, sizeof msg, "%s: no heap allocation (saw %lu)", label, hrtest_heap::calls);
  expect(hrtest_heap::calls == 0, msg);
}

int main() {
  {
    alignas(64) static std::byte memory[4 << 20];
    auto b = basic_bank<span_backend>::create(std::span<std::byte>(memory, sizeof memory));
    expect(b.has_value(), "span bank");
    if (b) exercise(*b, "span backend");
  }
  {
    char path[] = "/tmp/hr-typed-noheap-XXXXXX";
    const int fd = mkstemp(path);
    close(fd);
    unlink(path);
    auto b = mmap_bank::create(path);
    expect(b.has_value(), "mmap bank");
    if (b) exercise(*b, "mmap backend");
    unlink(path);
  }
  hrtest_heap::calls = 0;
  hrtest_heap::trapping = true;
  void* volatile p = std::malloc(16);
  hrtest_heap::trapping = false;
  std::free(p);
  expect(hrtest_heap::calls == 1, "negative control: the trap counts a real malloc");
  return hrtest_heap::finish("typed noheap");
}
