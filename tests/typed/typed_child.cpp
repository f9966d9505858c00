// SPDX-License-Identifier: MIT
// A real process for the typed-block crash tests. Runs one typed operation and dies by SIGKILL
// at its k-th crash point when HR_CRASH_AT=k is set (bank metadata stores and the typed
// layer's own steps). Prints the number of crash points it passed.
//
//   typed_child PATH construct NAME SEQ          rec_v1 built with every word = SEQ
//   typed_child PATH migrate NAME                rec_v1 -> rec_v2
//   typed_child PATH update NAME SEQ [TEAR]      atomic update to SEQ; with TEAR, SIGKILL inside
//                                                the update after TEAR words were written
//   typed_child PATH spin NAME                   atomic updates seq+1 forever ("ready" first)
//   typed_child PATH expect_v2 NAME SEQ          exit 0 iff rec_v2 holds SEQ, whole and migrated
//   typed_child PATH list NAME COUNT             a list of COUNT nodes linked by offset_ptr
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

static long g_crash_at = -1;
static long g_points = 0;

void hr_test_crash_point() {
  ++g_points;
  if (g_points == g_crash_at) ::raise(SIGKILL);
}

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/typed.hpp>

#include "typed_types.hpp"

using namespace hotrestart;
using hrtyped::rec_v1;
using hrtyped::rec_v2;

static int fail_with(const error& e) {
  std::fprintf(stderr, "typed_child: %s\n", describe(e).text);
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 4) return 64;
  if (const char* k = std::getenv("HR_CRASH_AT")) g_crash_at = std::atol(k);
  const std::string_view op = argv[2];
  const char* name = argv[3];
  auto bank = mmap_bank::open(argv[1]);
  if (!bank) return fail_with(bank.error());
  g_points = 0;
  if (op == "construct" && argc >= 5) {
    const std::uint64_t seq = std::strtoull(argv[4], nullptr, 10);
    auto p = persistent<rec_v1>::find_or_construct(*bank, name, [&](rec_v1& r) { r.set(seq); });
    if (!p) return fail_with(p.error());
  } else if (op == "migrate") {
    auto p = persistent<rec_v2>::find_or_construct(*bank, name, value_init,
                                                   migrate_from<rec_v1>(hrtyped::migrate_v1_v2));
    if (!p) return fail_with(p.error());
    if (!p->migrated()) return 3;
  } else if (op == "update" && argc >= 5) {
    const std::uint64_t seq = std::strtoull(argv[4], nullptr, 10);
    const long tear = argc >= 6 ? std::atol(argv[5]) : -1;
    auto p = persistent<rec_v1>::open(*bank, name);
    if (!p) return fail_with(p.error());
    p->update([&](rec_v1& r) {
      r.seq = seq;
      for (int i = 0; i < hrtyped::fields; ++i) {
        if (i == tear) ::raise(SIGKILL);
        r.fill[i] = seq;
      }
    });
  } else if (op == "spin") {
    auto p = persistent<rec_v1>::open(*bank, name);
    if (!p) return fail_with(p.error());
    for (std::uint64_t round = 0;; ++round) {
      p->update([](rec_v1& r) {
        const std::uint64_t next = r.seq + 1;
        r.seq = next;
        for (auto& f : r.fill) {
          // Make every word a separate store the optimiser keeps apart.
          std::atomic_signal_fence(std::memory_order_seq_cst);
          f = next;
        }
      });
      if (round == 0) {
        std::printf("ready\n");
        std::fflush(stdout);
      }
    }
  } else if (op == "expect_v2" && argc >= 5) {
    auto p = persistent<rec_v2>::open(*bank, name);
    if (!p) return fail_with(p.error());
    const rec_v2 v = p->load();
    if (v.seq != std::strtoull(argv[4], nullptr, 10) || !v.whole() ||
        v.extra != hrtyped::migrated_mark)
      return 1;
  } else if (op == "list" && argc >= 5) {
    const long count = std::atol(argv[4]);
    auto nodes =
        bank->find_or_create("nodes", sizeof(hrtyped::node) * static_cast<unsigned long>(count));
    if (!nodes) return fail_with(nodes.error());
    auto* n = reinterpret_cast<hrtyped::node*>(nodes->data);
    offset_ptr<hrtyped::node> next;
    for (long i = count - 1; i >= 0; --i) {
      n[i].value = static_cast<std::uint64_t>(i) * 7;
      n[i].next = next;
      auto p = offset_ptr<hrtyped::node>::make(*bank, &n[i]);
      if (!p) return fail_with(p.error());
      next = *p;
    }
    auto head = persistent<hrtyped::list_head>::find_or_construct(*bank, name);
    if (!head) return fail_with(head.error());
    head->update([&](hrtyped::list_head& h) {
      h.first = next;
      h.count = static_cast<std::uint64_t>(count);
    });
    std::printf("%p\n", static_cast<void*>(bank->backend().data()));
    return 0;
  } else {
    return 64;
  }
  std::printf("%ld\n", g_points);
  return 0;
}
