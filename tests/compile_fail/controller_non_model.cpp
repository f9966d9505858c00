// SPDX-License-Identifier: MIT
// Compile-fail check: a type that is not a restart_policy (no on_restart) and a type that is
// not a block_store must be rejected by basic_controller's constraints. Built twice by CTest:
// without HR_REJECT it must compile (the control), with it the build must fail.
#include <hotrestart/controller/controller.hpp>

struct not_a_policy {
  static constexpr std::uint32_t policy_id = 1;
  static constexpr std::uint32_t state_words = 1;
  bool valid() const { return true; }
  void init(hotrestart::policy_span, std::uint64_t) const {}
  void on_time(hotrestart::policy_span, std::uint64_t) const {}
  bool check(hotrestart::policy_cspan) const { return true; }
  // no on_restart: the policy cannot decide anything
};
struct not_a_store {
  int free_group_blocks(std::uint32_t) { return 0; }  // wrong result type
};

static_assert(!hotrestart::restart_policy<not_a_policy>);
static_assert(!hotrestart::block_store<not_a_store>);

#ifdef HR_REJECT
hotrestart::basic_controller<not_a_policy>* rejected_policy = nullptr;
hotrestart::basic_controller<hotrestart::chorus_counter, not_a_store>* rejected_store = nullptr;
#else
hotrestart::basic_controller<hotrestart::chorus_counter>* accepted = nullptr;
#endif

int main() {
  return 0;
}
