// SPDX-License-Identifier: MIT
// Built with -fno-exceptions -fno-rtti: every controller header instantiated, and a scenario
// run with operator new trapped (the controller must not touch the heap).
#include <cstddef>
#include <cstdlib>
#include <new>

#include <hotrestart/controller/controller.hpp>

void* operator new(std::size_t) {
  std::abort();
}
void* operator new[](std::size_t) {
  std::abort();
}
void operator delete(void*) noexcept {}
void operator delete[](void*) noexcept {}
void operator delete(void*, std::size_t) noexcept {}
void operator delete[](void*, std::size_t) noexcept {}

namespace {
using namespace hotrestart;
alignas(8) std::byte mem[controller_state_bytes(4, 8)];

template <class P>
int scenario(P policy) {
  null_block_store store;
  int actions = 0;
  auto sink = [&](const action&) { ++actions; };
  auto c = basic_controller<P>::create(mem, {4, 8}, policy, store, 0);
  if (!c) return 1;
  const auto g = c->new_group(0);
  if (!g) return 2;
  const auto d = c->process_started(0, {*g, "d", process_kind::direct, 1, 7});
  const auto i = c->process_started(0, {*g, "i", process_kind::indirect, 2, 8, *d});
  if (!d || !i) return 3;
  if (!c->process_failed(5, *d, 1, sink)) return 4;
  if (!c->process_started(6, {*g, "d", process_kind::direct, 3})) return 5;
  if (!c->process_exited_cleanly(7, *d, 3, sink)) return 6;
  char buf[96];
  if (!c->blocked_message(*g, buf, sizeof buf)) return 7;
  if (!c->tick(10000) || !c->request_site_restart(10001, sink) || !c->site_restarted(10002, sink))
    return 8;
  if (!c->kill_group(10003, *g, sink)) return 9;
  auto again = basic_controller<P>::open(mem, policy, store);
  if (!again || !again->resume(10004, sink)) return 10;
  return actions > 0 ? 0 : 11;
}
}  // namespace

int main() {
  if (int r = scenario(chorus_counter{}); r != 0) return r;
  if (int r = scenario(sliding_window{}); r != 0) return 20 + r;
  if (int r = scenario(exponential_backoff{}); r != 0) return 40 + r;
  if (int r = scenario(discard_after<sliding_window>{}); r != 0) return 60 + r;
  return 0;
}
