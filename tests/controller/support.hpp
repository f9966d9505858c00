// SPDX-License-Identifier: MIT
// Test doubles for the controller: a block store that records every call and a rig that owns
// a region, the store, a controller and the actions it emitted.
#ifndef HOTRESTART_TESTS_CONTROLLER_SUPPORT_HPP
#define HOTRESTART_TESTS_CONTROLLER_SUPPORT_HPP

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <hotrestart/controller/controller.hpp>

namespace hrtest {
using namespace hotrestart;

/// Images are live until freed; each group owns a number of group-keyed blocks.
struct fake_store {
  std::set<std::uint32_t> live_images;
  std::map<std::uint32_t, std::uint32_t> group_blocks;
  std::map<std::uint32_t, int> group_free_calls;
  std::vector<std::uint32_t> freed_images;  // successful frees, in order
  int not_found_calls = 0;
  bool fail_next = false;

  result<std::uint32_t> free_group_blocks(std::uint32_t gid) {
    if (fail_next) {
      fail_next = false;
      return fail(errc::io_error, "injected store failure");
    }
    ++group_free_calls[gid];
    const std::uint32_t n = group_blocks[gid];
    group_blocks[gid] = 0;
    return n;
  }
  result<void> free_process_image(std::uint32_t, std::uint32_t image) {
    if (live_images.erase(image) == 0) {
      ++not_found_calls;
      return fail(errc::not_found, "image already freed");
    }
    freed_images.push_back(image);
    return {};
  }
  bool same_contents(const fake_store& o) const {
    auto nonzero = [](const std::map<std::uint32_t, std::uint32_t>& m) {
      std::map<std::uint32_t, std::uint32_t> r;
      for (auto [k, v] : m)
        if (v != 0) r[k] = v;
      return r;
    };
    return live_images == o.live_images && nonzero(group_blocks) == nonzero(o.group_blocks);
  }
};
static_assert(block_store<fake_store>);

template <class P = chorus_counter>
struct rig {
  using ctl_t = basic_controller<P, fake_store>;
  controller_config cfg;
  P pol;
  std::vector<std::byte> mem;
  fake_store store;
  std::optional<ctl_t> ctl;
  std::vector<action> acts;

  explicit rig(controller_config c = {}, P p = {}, std::uint64_t now = 0)
      : cfg(c), pol(p), mem(controller_state_bytes(c.max_groups, c.max_processes)) {
    auto r = ctl_t::create(mem, cfg, pol, store, now);
    REQUIRE(r.has_value());
    ctl.emplace(std::move(*r));
  }
  rig(const rig&) = delete;

  ctl_t& operator*() { return *ctl; }
  ctl_t* operator->() { return &*ctl; }
  auto sink() {
    return [this](const action& a) { acts.push_back(a); };
  }

  /// Copies the bytes to a fresh buffer, opens a new controller on them and resumes it.
  void reload(std::uint64_t now = 0) {
    std::vector<std::byte> copy = mem;
    ctl.reset();
    mem = std::move(copy);
    auto r = ctl_t::open(mem, pol, store);
    REQUIRE_MESSAGE(r.has_value(), describe(r.error()).text);
    ctl.emplace(std::move(*r));
    REQUIRE((*ctl).resume(now, sink()).has_value());
  }

  std::uint32_t start(std::uint64_t now, std::uint32_t gid, const char* name, process_kind kind,
                      std::uint64_t handle, std::uint32_t image = no_image,
                      std::uint32_t parent = no_process) {
    auto r = (*ctl).process_started(now, {gid, name, kind, handle, image, parent});
    REQUIRE_MESSAGE(r.has_value(), describe(r.error()).text);
    if (image != no_image) store.live_images.insert(image);
    return *r;
  }

  std::vector<action> take() { return std::exchange(acts, {}); }
};

inline int count(const std::vector<action>& v, action_kind k) {
  return static_cast<int>(
      std::count_if(v.begin(), v.end(), [k](const action& a) { return a.kind == k; }));
}
inline bool has(const std::vector<action>& v, action_kind k, std::uint32_t process) {
  return std::any_of(v.begin(), v.end(),
                     [&](const action& a) { return a.kind == k && a.process == process; });
}

}  // namespace hrtest

#endif  // HOTRESTART_TESTS_CONTROLLER_SUPPORT_HPP
