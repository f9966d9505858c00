// SPDX-License-Identifier: MIT
// The extension points tell the truth: for each concept (docs/concepts.md), the smallest type
// that models it and nothing more, instantiated with the class templates that use it. The
// explicit instantiations below compile every member of basic_bank and basic_controller against
// these archetypes (and the test body the member templates), so a concept that omits something
// its user calls fails this build, instead of the build of whoever writes the next policy.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <hotrestart/bank.hpp>
#include <hotrestart/concepts.hpp>
#include <hotrestart/controller/controller.hpp>

using namespace hotrestart;

namespace archetype {

// bank_backend: bytes it never has (open finds nothing, create fails), a lock that does nothing.
struct backend {
  using location = int;
  static constexpr bool reformats_foreign_memory = false;
  static std::uint32_t native_page_size() { return 4096; }
  static result<backend> create(location, std::uint64_t, region_init) {
    return fail(errc::io_error, "archetype backend: no memory");
  }
  static result<backend> open(location) { return fail(errc::not_found, "archetype backend"); }
  std::byte* data() const { return mem_; }
  std::uint64_t size() const { return size_; }
  std::byte* mem_ = nullptr;  // (never a bank: open and create fail)
  std::uint64_t size_ = 0;
  result<lock_outcome> lock() const noexcept { return lock_outcome::acquired; }
  void repaired() const noexcept {}
  void unlock() const noexcept {}
};

// block_allocator: no pages.
struct allocator {
  static constexpr std::uint32_t layout_id = 0x41524341u;
  static std::uint64_t region_bytes(std::uint32_t) { return 0; }
  allocator(std::byte*, std::uint64_t, std::uint32_t) {}
  void format() const {}
  result<std::uint32_t> allocate(bank_txn&, std::uint32_t, std::uint32_t) const {
    return fail(errc::bank_full, "archetype allocator");
  }
  result<void> deallocate(bank_txn&, std::uint32_t, std::uint32_t) const {
    return fail(errc::corrupt, "archetype allocator");
  }
  std::uint32_t largest_free() const { return 0; }
  std::uint32_t owner_of(std::uint32_t, std::uint32_t) const { return detail::nil; }
  template <class Report>
  allocator_census check(Report&&) const {
    return {};
  }
};

// name_registry: no names.
struct registry {
  static constexpr std::uint32_t layout_id = 0x47455241u;
  static std::uint64_t region_bytes(std::uint32_t) { return 0; }
  registry(std::byte*, std::uint64_t, std::uint32_t) {}
  void format() const {}
  static std::uint32_t hash(std::string_view) { return 0; }
  static std::uint32_t hash_key(std::string_view) { return 0; }
  lookup_result lookup(std::string_view, std::uint32_t) const { return {}; }
  result<std::uint32_t> insert(bank_txn&, const entry_data&) const {
    return fail(errc::block_table_full, "archetype registry");
  }
  result<void> remove(bank_txn&, std::uint32_t) const { return fail(errc::corrupt, "archetype"); }
  result<void> rename(bank_txn&, std::uint32_t, std::string_view, std::uint32_t) const {
    return fail(errc::corrupt, "archetype registry");
  }
  std::uint32_t next_index() const { return 0; }
  bool in_use(std::uint32_t) const { return false; }
  entry_view view(std::uint32_t) const { return {}; }
  std::string_view name(std::uint32_t) const { return {}; }
  std::string_view key(std::uint32_t) const { return {}; }
  std::uint32_t key_hash(std::uint32_t) const { return 0; }
  template <class Report>
  registry_census check(Report&&) const {
    return {};
  }
};

// restart_policy: always restarts at once, keeps no state.
struct policy {
  static constexpr std::uint32_t policy_id = 0x4C4F5041u;
  static constexpr std::uint32_t state_words = 0;
  bool valid() const { return true; }
  void init(policy_span, std::uint64_t) const {}
  restart_decision on_restart(policy_span, std::uint64_t) const { return {}; }
  void on_time(policy_span, std::uint64_t) const {}
  bool check(policy_cspan) const { return true; }
};

// block_store: frees nothing.
struct store {
  result<std::uint32_t> free_group_blocks(std::uint32_t) { return 0u; }
  result<void> free_process_image(std::uint32_t, std::uint32_t) { return {}; }
};

// group_tracker: one group table of nothing.
struct tracker {
  static constexpr std::uint32_t layout_id = 0x4B525441u;
  static std::uint64_t area_words(std::uint32_t, std::uint32_t) { return 0; }
  tracker(const controller_region&, std::uint32_t, std::uint32_t, std::uint32_t) {}
  void format() {}
  result<void> validate() const { return {}; }
  group_rec load_group(std::uint32_t) const { return {}; }
  proc_rec load_proc(std::uint32_t) const { return {}; }
  void store_group(controller_txn&, std::uint32_t, const group_rec&) {}
  void store_proc(controller_txn&, std::uint32_t, const proc_rec&) {}
  std::uint32_t alloc_proc(controller_txn&, std::uint32_t, group_rec&) { return no_process; }
  std::uint32_t pop_member(controller_txn&, group_rec&) { return no_process; }
  std::uint32_t find_member(std::uint32_t, std::string_view) const { return no_process; }
  template <class F>
  bool for_each_member(std::uint32_t, F&&) const {
    return true;
  }
  std::uint32_t lowest_free_group() const { return 0; }
  std::uint32_t groups_in_use() const { return 0; }
  void set_groups_in_use(controller_txn&, std::uint32_t) {}
};

static_assert(bank_backend<backend>);
static_assert(block_allocator<allocator>);
static_assert(name_registry<registry>);
static_assert(restart_policy<policy>);
static_assert(block_store<store>);
static_assert(group_tracker<tracker>);

}  // namespace archetype

// Every non-template member, against nothing but what the concepts promise.
template class hotrestart::basic_bank<archetype::backend, archetype::allocator,
                                      archetype::registry>;
template class hotrestart::basic_controller<archetype::policy, archetype::store,
                                            archetype::tracker>;

using archetype_bank =
    hotrestart::basic_bank<archetype::backend, archetype::allocator, archetype::registry>;
using archetype_controller =
    hotrestart::basic_controller<archetype::policy, archetype::store, archetype::tracker>;

TEST_CASE("archetypes: the bank and the controller build on the concepts alone, and run") {
  // The member templates too (explicit instantiation leaves them out).
  auto b = archetype_bank::open(0);
  REQUIRE_FALSE(b);
  CHECK(b.error().code == errc::not_found);
  auto c = archetype_bank::create(0, {.bank_size = 4096, .max_blocks = 1});
  REQUIRE_FALSE(c);
  CHECK(c.error().code == errc::io_error);
  CHECK(archetype_bank::open_or_create(0).error().code == errc::io_error);
  if (b) {  // never: instantiates the templates that need a bank object
    (void)b->for_each([](const block_info&) {});
    (void)b->check([](const error&) {});
  }
  // The controller over a region too small for it: refused with the size it needs.
  archetype::store s;
  std::array<std::byte, 64> small{};
  auto ctl = archetype_controller::create(std::span<std::byte>(small), {1, 1}, {}, s, 0);
  REQUIRE_FALSE(ctl);
  CHECK(ctl.error().code == errc::truncated);
  auto opened = archetype_controller::open(std::span<std::byte>(small), {}, s);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == errc::truncated);
}
