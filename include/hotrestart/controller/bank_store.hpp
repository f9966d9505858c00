// SPDX-License-Identifier: MIT
// The controller in a bank: its state is the reserved block "__HR_controller", its block store
// frees group-keyed blocks and process images in the same bank. So the supervisor that runs the
// controller can crash, and the next one finds every group, counter and process list.
#ifndef HOTRESTART_CONTROLLER_BANK_STORE_HPP
#define HOTRESTART_CONTROLLER_BANK_STORE_HPP

#include <cstdint>
#include <span>
#include <string_view>

#include "../bank.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "../policies/block_store.hpp"
#include "controller.hpp"

namespace hotrestart {

/// The name of the block that holds the controller's state.
inline constexpr std::string_view controller_block_name = "__HR_controller";

/// The name of the block that holds process image `image` ("__HR_IMG_<image>"). Fixed size.
struct image_block_name {
  char bytes[24] = {};
  std::size_t size = 0;
  constexpr explicit image_block_name(std::uint32_t image) {
    constexpr std::string_view prefix = "__HR_IMG_";
    for (char c : prefix) bytes[size++] = c;
    char digits[10] = {};
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + image % 10);
      image /= 10;
    } while (image != 0);
    while (n > 0) bytes[size++] = digits[--n];
  }
  constexpr std::string_view view() const { return {bytes, size}; }
  constexpr operator std::string_view() const { return view(); }
};

/// block_store over a bank: a group's blocks are those created with `group_key(gid)`; a
/// process image is the block `image_block_name(image)`. Both calls are idempotent.
template <class Bank>
class bank_block_store {
 public:
  explicit bank_block_store(Bank& bank) : bank_(&bank) {}

  [[nodiscard]] result<std::uint32_t> free_group_blocks(std::uint32_t gid) {
    return bank_->free_all(detail::internal_access, group_key(gid));
  }
  [[nodiscard]] result<void> free_process_image(std::uint32_t, std::uint32_t image) {
    auto r = bank_->free(detail::internal_access, image_block_name(image));
    if (!r && r.error().code == errc::not_found) return {};  // freed before a crash
    return r;
  }

 private:
  Bank* bank_;
};

/// Opens the controller kept in `bank`, or creates it with `cfg` the first time. `created`
/// says which. The caller keeps `store` alive as long as the controller. After an open, call
/// `resume` before any event (the controller refuses events until then).
/// Errors: the bank's (bank_full, block_table_full...), the controller's open errors
/// (corrupt, version_mismatch, layout_mismatch), tunables_mismatch when the kept state was
/// made with other limits.
template <class Controller, class Bank, class Policy, class Store>
[[nodiscard]] result<Controller> open_or_create_controller(Bank& bank, controller_config cfg,
                                                           Policy policy, Store& store,
                                                           std::uint64_t now,
                                                           bool* created = nullptr) {
  const std::uint64_t bytes = Controller::state_bytes(cfg.max_groups, cfg.max_processes);
  auto blk = bank.find(controller_block_name);
  if (!blk && blk.error().code == errc::not_found)
    blk = bank.find_or_create(detail::internal_access, controller_block_name, bytes);
  if (!blk) return fail(blk.error());
  const std::span<std::byte> region(blk->data, static_cast<std::size_t>(blk->capacity));
  // A block that is new, or whose formatting was cut short before its magic word was written
  // (the controller writes its magic word last), is formatted now.
  const bool blank = blk->created || detail::load32(blk->data, 0) == 0;
  if (created != nullptr) *created = blank;
  if (blank) {
    if (blk->capacity < bytes)
      return fail(
          error(errc::size_exceeds_block, "the controller's block is smaller than its limits need")
              .with_requested("bytes", bytes, blk->capacity, "in the block"));
    return Controller::create(region, cfg, policy, store, now);
  }
  auto c = Controller::open(region, policy, store);
  if (!c) return c;
  if (c->max_groups() != cfg.max_groups ||
      c->max_processes() != effective_max_processes(cfg.max_processes))
    return fail(error(errc::tunables_mismatch, "the bank keeps a controller with other limits")
                    .with_given("max_groups", cfg.max_groups, c->max_groups())
                    .with_given("max_processes", effective_max_processes(cfg.max_processes),
                                c->max_processes()));
  return c;
}

}  // namespace hotrestart

#endif  // HOTRESTART_CONTROLLER_BANK_STORE_HPP
