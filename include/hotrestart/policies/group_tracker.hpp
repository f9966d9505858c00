// SPDX-License-Identifier: MIT
// Group tracker policy: where the controller keeps its groups and processes inside its region.
#ifndef HOTRESTART_POLICIES_GROUP_TRACKER_HPP
#define HOTRESTART_POLICIES_GROUP_TRACKER_HPP

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../controller/region.hpp"
#include "../error.hpp"

namespace hotrestart {

/// How a process came to run: started by the controller (`arun -g`) or by a member of its
/// group (`hrfexec`). Stored values; part of the state format.
enum class process_kind : std::uint8_t { direct = 1, indirect = 2 };

/// What a member is doing. `running`, `exited_clean` and `failed` are stored; `stopped` (it
/// was running when its group restarted) and `not_rerun` (registered before the last group
/// restart, not run since) are derived from the group's restart epoch.
enum class process_state : std::uint8_t {
  running = 1,
  exited_clean = 2,
  failed = 3,
  stopped = 4,
  not_rerun = 5,
};

inline constexpr std::size_t max_process_name = 32;
inline constexpr std::uint32_t process_limit_cap = 65536;  // hrCtrl.maxprocesses ceiling
inline constexpr std::uint32_t group_limit_cap = 65536;
inline constexpr std::uint32_t no_process = 0xFFFFFFFFu;
inline constexpr std::uint32_t no_image = 0xFFFFFFFFu;

/// Number of 32-bit words of restart-policy state in every group record.
inline constexpr std::uint32_t policy_words = 20;

namespace detail::ctl {

enum : std::uint32_t { group_free = 0, group_running = 1, group_terminating = 2 };
enum : std::uint32_t { flag_blocked_reported = 1, flag_discard_pending = 2 };

}  // namespace detail::ctl

/// A group record: 32 words (128 bytes), fixed layout, no compiler padding.
struct group_rec {
  static constexpr std::uint32_t words = 32;
  enum : std::uint32_t {
    status,
    flags,
    epoch,
    first,
    members,
    running,
    clean,
    restarts,
    site_seen,
    policy_begin = 12
  };
  std::array<std::uint32_t, words> w{};
  std::uint32_t& operator[](std::uint32_t i) { return w[i]; }
  std::uint32_t operator[](std::uint32_t i) const { return w[i]; }
  std::span<std::uint32_t, policy_words> policy() {
    return std::span<std::uint32_t, policy_words>(w.data() + policy_begin, policy_words);
  }
};
static_assert(group_rec::policy_begin + policy_words == group_rec::words);
static_assert(sizeof(group_rec) == 128, "group record must be 128 bytes without padding");

/// A process record: 16 words (64 bytes): gid, next, kind|state<<8|name_len<<16, image,
/// run_epoch, reserved, handle (2 words), name (8 words, little-endian bytes).
struct proc_rec {
  static constexpr std::uint32_t words = 16;
  enum : std::uint32_t { gid, next, info, image, run_epoch, reserved, handle_lo, handle_hi, name0 };
  std::array<std::uint32_t, words> w{};
  std::uint32_t& operator[](std::uint32_t i) { return w[i]; }
  std::uint32_t operator[](std::uint32_t i) const { return w[i]; }

  std::uint32_t kind() const { return w[info] & 0xFFu; }
  std::uint32_t state() const { return (w[info] >> 8) & 0xFFu; }
  std::uint32_t name_len() const { return (w[info] >> 16) & 0xFFu; }
  void set_info(std::uint32_t kind, std::uint32_t state, std::uint32_t len) {
    w[info] = kind | (state << 8) | (len << 16);
  }
  void set_state(std::uint32_t s) { set_info(kind(), s, name_len()); }
  std::uint64_t handle() const {
    return std::uint64_t{w[handle_lo]} | (std::uint64_t{w[handle_hi]} << 32);
  }
  void set_handle(std::uint64_t h) {
    w[handle_lo] = static_cast<std::uint32_t>(h);
    w[handle_hi] = static_cast<std::uint32_t>(h >> 32);
  }
  char name_byte(std::size_t k) const {
    return static_cast<char>((w[name0 + k / 4] >> (8 * (k % 4))) & 0xFFu);
  }
  void set_name(std::string_view n) {
    for (std::uint32_t k = 0; k < 8; ++k) w[name0 + k] = 0;
    for (std::size_t k = 0; k < n.size() && k < max_process_name; ++k)
      w[name0 + k / 4] |= static_cast<std::uint32_t>(static_cast<unsigned char>(n[k]))
                          << (8 * (k % 4));
  }
  bool name_is(std::string_view n) const {
    if (n.size() != name_len()) return false;
    for (std::size_t k = 0; k < n.size(); ++k)
      if (name_byte(k) != n[k]) return false;
    return true;
  }
};
static_assert(proc_rec::name0 + max_process_name / 4 == proc_rec::words);
static_assert(sizeof(proc_rec) == 64, "process record must be 64 bytes without padding");

namespace detail::ctl {

/// Whether member `p` counts as exited cleanly in its group's epoch `epoch`: it exited cleanly
/// in that epoch, or it is an indirect member whose last run (of any epoch) ended cleanly. A
/// group restart reruns only direct members, so an indirect member's clean exit before it
/// stands; one that was running when the group restarted has to run again and exit cleanly.
inline bool counts_clean(const proc_rec& p, std::uint32_t epoch) {
  return p.state() == static_cast<std::uint32_t>(process_state::exited_clean) &&
         (p[proc_rec::run_epoch] == epoch ||
          p.kind() == static_cast<std::uint32_t>(process_kind::indirect));
}

}  // namespace detail::ctl

/// group_tracker: the tables of groups and processes, in words of the controller's region.
/// Records are read whole and written back through a transaction, which stores only the
/// words that changed.
///
// clang-format off
/// | member                                  | meaning                                                 |
/// |-----------------------------------------|---------------------------------------------------------|
/// | `T::layout_id` (u32)                    | recorded in the header; a different layout is refused   |
/// | `T::area_words(max_groups, max_procs)`  | words of the tracker's area                             |
/// | `T(const controller_region&, first_word, mg, mp)` | a view over the area (no access yet)          |
/// | `t.format()`                            | fresh area: every group free, every process entry free  |
/// | `t.validate()` -> `result<void>`        | full structural check; `corrupt` naming the first fault |
/// | `t.load_group(gid)` / `t.load_proc(i)`  | copy of a record (caller bounds-checks the index)       |
/// | `t.store_group(txn, gid, rec)` / `t.store_proc(txn, i, rec)` | writes the changed words           |
/// | `t.alloc_proc(txn, gid, group_rec&)`    | entry linked at the head of the group, or `no_process` when full |
/// | `t.pop_member(txn, group_rec&)`         | unlinks the head member, frees its entry; `no_process` if none |
/// | `t.find_member(gid, name)`              | entry index or `no_process`                             |
/// | `t.for_each_member(gid, f)`             | calls `f(index, proc_rec)` in list order; false on a broken list |
/// | `t.lowest_free_group()`                 | smallest free gid, or `max_groups` when none            |
/// | `t.groups_in_use()`                     | groups not free                                         |
/// | `t.set_groups_in_use(txn, n)`           | records that count                                      |
// clang-format on
///
/// `member_visitor` is the shape of the `f` that for_each_member is called with.
struct member_visitor {
  void operator()(std::uint32_t, const proc_rec&) const {}
};

template <class T>
concept group_tracker = requires(T& t, const T& ct, const controller_region& r, controller_txn& x,
                                 group_rec& g, const proc_rec& p, std::uint32_t n,
                                 std::string_view name) {
  { T::layout_id } -> std::convertible_to<std::uint32_t>;
  { T::area_words(n, n) } -> std::same_as<std::uint64_t>;
  T(r, n, n, n);
  { t.format() } -> std::same_as<void>;
  { ct.validate() } -> std::same_as<result<void>>;
  { ct.load_group(n) } -> std::same_as<group_rec>;
  { ct.load_proc(n) } -> std::same_as<proc_rec>;
  { t.store_group(x, n, g) } -> std::same_as<void>;
  { t.store_proc(x, n, p) } -> std::same_as<void>;
  { t.alloc_proc(x, n, g) } -> std::same_as<std::uint32_t>;
  { t.pop_member(x, g) } -> std::same_as<std::uint32_t>;
  { ct.find_member(n, name) } -> std::same_as<std::uint32_t>;
  { ct.lowest_free_group() } -> std::same_as<std::uint32_t>;
  { ct.groups_in_use() } -> std::same_as<std::uint32_t>;
  { t.set_groups_in_use(x, n) } -> std::same_as<void>;
  { ct.for_each_member(n, member_visitor{}) } -> std::same_as<bool>;
};

/// The default tracker: a group table and a process table, one free list of process entries,
/// one singly linked member list per group. Area: 4 words (free head, groups in use, 2
/// reserved), then max_groups group records, then max_processes process records.
class table_tracker {
 public:
  static constexpr std::uint32_t layout_id = 0x314C4254u;  // "TBL1"
  static constexpr std::uint64_t area_words(std::uint32_t mg, std::uint32_t mp) {
    return 4ull + std::uint64_t{mg} * group_rec::words + std::uint64_t{mp} * proc_rec::words;
  }

  table_tracker(const controller_region& r, std::uint32_t first_word, std::uint32_t mg,
                std::uint32_t mp)
      : r_(&r), base_(first_word), mg_(mg), mp_(mp) {}

  void format() {
    using namespace detail::ctl;
    for (std::uint64_t i = 0; i < area_words(mg_, mp_); ++i)
      r_->put(base_ + static_cast<std::uint32_t>(i), 0);
    r_->put(base_ + w_free_head, mp_ == 0 ? nil : 0);
    for (std::uint32_t g = 0; g < mg_; ++g) r_->put(group_word(g) + group_rec::first, nil);
    for (std::uint32_t i = 0; i < mp_; ++i) {
      r_->put(proc_word(i) + proc_rec::gid, nil);
      r_->put(proc_word(i) + proc_rec::next, i + 1 < mp_ ? i + 1 : nil);
    }
  }

  group_rec load_group(std::uint32_t gid) const {
    group_rec g;
    for (std::uint32_t k = 0; k < g.words; ++k) g[k] = r_->get(group_word(gid) + k);
    return g;
  }
  proc_rec load_proc(std::uint32_t i) const {
    proc_rec p;
    for (std::uint32_t k = 0; k < p.words; ++k) p[k] = r_->get(proc_word(i) + k);
    return p;
  }
  void store_group(controller_txn& x, std::uint32_t gid, const group_rec& g) {
    for (std::uint32_t k = 0; k < g.words; ++k) x.put(group_word(gid) + k, g[k]);
  }
  void store_proc(controller_txn& x, std::uint32_t i, const proc_rec& p) {
    for (std::uint32_t k = 0; k < p.words; ++k) x.put(proc_word(i) + k, p[k]);
  }

  std::uint32_t groups_in_use() const { return r_->get(base_ + w_groups_in_use); }
  void set_groups_in_use(controller_txn& x, std::uint32_t n) { x.put(base_ + w_groups_in_use, n); }

  std::uint32_t alloc_proc(controller_txn& x, std::uint32_t gid, group_rec& g) {
    using namespace detail::ctl;
    const std::uint32_t i = r_->get(base_ + w_free_head);
    if (i >= mp_) return no_process;
    x.put(base_ + w_free_head, r_->get(proc_word(i) + proc_rec::next));
    x.put(proc_word(i) + proc_rec::gid, gid);
    x.put(proc_word(i) + proc_rec::next, g[group_rec::first]);
    g[group_rec::first] = i;
    g[group_rec::members] += 1;
    return i;
  }

  std::uint32_t pop_member(controller_txn& x, group_rec& g) {
    using namespace detail::ctl;
    const std::uint32_t i = g[group_rec::first];
    if (i >= mp_ || g[group_rec::members] == 0) return no_process;
    g[group_rec::first] = r_->get(proc_word(i) + proc_rec::next);
    g[group_rec::members] -= 1;
    x.put(proc_word(i) + proc_rec::gid, nil);
    x.put(proc_word(i) + proc_rec::next, r_->get(base_ + w_free_head));
    x.put(base_ + w_free_head, i);
    return i;
  }

  /// Walks the member list of `gid`, at most `members` steps. Returns false on a broken list.
  template <class F>
  bool for_each_member(std::uint32_t gid, F&& f) const {
    using namespace detail::ctl;
    if (gid >= mg_) return false;
    const std::uint32_t n = r_->get(group_word(gid) + group_rec::members);
    std::uint32_t i = r_->get(group_word(gid) + group_rec::first);
    for (std::uint32_t step = 0; step < n; ++step) {
      if (i >= mp_) return false;
      const proc_rec p = load_proc(i);
      if (p[proc_rec::gid] != gid) return false;
      f(i, p);
      i = p[proc_rec::next];
    }
    return i == nil;
  }

  std::uint32_t find_member(std::uint32_t gid, std::string_view name) const {
    std::uint32_t found = no_process;
    for_each_member(gid, [&](std::uint32_t i, const proc_rec& p) {
      if (found == no_process && p.name_is(name)) found = i;
    });
    return found;
  }

  std::uint32_t lowest_free_group() const {
    for (std::uint32_t g = 0; g < mg_; ++g)
      if (r_->get(group_word(g) + group_rec::status) == detail::ctl::group_free) return g;
    return mg_;
  }

  [[nodiscard]] result<void> validate() const {
    using namespace detail::ctl;
    std::uint64_t listed = 0;
    std::uint32_t used = 0;
    for (std::uint32_t gid = 0; gid < mg_; ++gid) {
      const group_rec g = load_group(gid);
      if (g[group_rec::status] > group_terminating)
        return fail(error(errc::corrupt, "group record: unknown status")
                        .with_value("group", gid)
                        .with_value("status", g[group_rec::status]));
      if (g[group_rec::status] == group_free) {
        if (g[group_rec::first] != nil || g[group_rec::members] != 0)
          return fail(error(errc::corrupt, "free group record has members")
                          .with_value("group", gid)
                          .with_value("members", g[group_rec::members]));
        continue;
      }
      ++used;
      if (g[group_rec::flags] > (flag_blocked_reported | flag_discard_pending) ||
          g[group_rec::members] > mp_ ||
          std::uint64_t{g[group_rec::running]} + g[group_rec::clean] > g[group_rec::members])
        return fail(error(errc::corrupt, "group record: counts or flags out of range")
                        .with_value("group", gid)
                        .with_value("members", g[group_rec::members]));
      std::uint32_t running = 0, clean = 0;
      bool bad_entry = false;
      const bool ok = for_each_member(gid, [&](std::uint32_t, const proc_rec& p) {
        bad_entry = bad_entry || !entry_ok(p) || p[proc_rec::run_epoch] > g[group_rec::epoch];
        clean += counts_clean(p, g[group_rec::epoch]) ? 1u : 0u;
        if (p[proc_rec::run_epoch] != g[group_rec::epoch]) return;
        running += p.state() == static_cast<std::uint32_t>(process_state::running) ? 1u : 0u;
      });
      if (!ok)
        return fail(error(errc::corrupt, "group member list is broken").with_value("group", gid));
      if (bad_entry)
        return fail(
            error(errc::corrupt, "invalid process record in group").with_value("group", gid));
      if (running != g[group_rec::running] || clean != g[group_rec::clean])
        return fail(error(errc::corrupt, "group counts disagree with its members")
                        .with_value("group", gid)
                        .with_expected("running members", g[group_rec::running], running));
      listed += g[group_rec::members];
    }
    if (used != groups_in_use())
      return fail(error(errc::corrupt, "groups in use disagrees with the table")
                      .with_expected("groups in use", used, groups_in_use()));
    std::uint32_t i = r_->get(base_ + w_free_head);
    for (std::uint64_t step = 0; i != nil; ++step, ++listed) {
      if (i >= mp_ || step >= mp_)
        return fail(error(errc::corrupt, "process free list is broken").with_value("entry", i));
      if (r_->get(proc_word(i) + proc_rec::gid) != nil)
        return fail(
            error(errc::corrupt, "process free list holds a used entry").with_value("entry", i));
      i = r_->get(proc_word(i) + proc_rec::next);
    }
    if (listed != mp_)
      return fail(error(errc::corrupt, "process entries lost or shared between lists")
                      .with_expected("process entries listed", mp_, listed));
    return {};
  }

 private:
  static constexpr std::uint32_t w_free_head = 0;
  static constexpr std::uint32_t w_groups_in_use = 1;

  std::uint32_t group_word(std::uint32_t gid) const { return base_ + 4 + gid * group_rec::words; }
  std::uint32_t proc_word(std::uint32_t i) const {
    return base_ + 4 + mg_ * group_rec::words + i * proc_rec::words;
  }
  static bool entry_ok(const proc_rec& p) {
    const std::uint32_t k = p.kind(), s = p.state(), n = p.name_len();
    if (k < 1 || k > 2 || s < 1 || s > 3 || n < 1 || n > max_process_name) return false;
    if ((p[proc_rec::info] >> 24) != 0) return false;
    for (std::size_t c = 0; c < n; ++c)
      if (p.name_byte(c) == '\0') return false;
    return true;
  }

  const controller_region* r_;
  std::uint32_t base_;
  std::uint32_t mg_;
  std::uint32_t mp_;
};

static_assert(group_tracker<table_tracker>);

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_GROUP_TRACKER_HPP
