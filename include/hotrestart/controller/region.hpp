// SPDX-License-Identifier: MIT
// The controller's persistent region: little-endian 32-bit words addressed by index, and the
// undo log that makes every controller event atomic across a crash of the supervisor.
//
// Region layout (word indices):
//   [0, 8)     immutable header: magic, version, max_groups, max_processes, policy id,
//              tracker layout id, checksum of words 0..5, reserved
//   [8, 16)    mutable controller words (site epoch, site restart pending, clock)
//   [16, 18)   undo log: entry count, reserved
//   [18, 178)  undo log entries: {word index, old value} x log_capacity
//   [192, ...) the group tracker's area (its own layout)
//
// A transaction: for each store, write the entry {index, old}, then count := n + 1, then the
// word := new value. Commit is one store: count := 0. Recovery on open applies the entries
// [0, count) in reverse and sets count := 0; re-running it after a crash during recovery gives
// the same result. The cost of an event is the number of words it changes (bounded by
// log_capacity), never the size of the tables.
#ifndef HOTRESTART_CONTROLLER_REGION_HPP
#define HOTRESTART_CONTROLLER_REGION_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../error.hpp"

namespace hotrestart {

/// Test seam: a budget of stores to the region. When it runs out the region drops every
/// further store (as if the process had died there) and operations return `io_error`.
struct store_budget {
  std::uint64_t remaining = 0;
  bool exhausted = false;
};

namespace detail::ctl {

inline constexpr std::uint32_t nil = 0xFFFFFFFFu;

// Header words.
inline constexpr std::uint32_t w_magic = 0;
inline constexpr std::uint32_t w_version = 1;
inline constexpr std::uint32_t w_max_groups = 2;
inline constexpr std::uint32_t w_max_processes = 3;
inline constexpr std::uint32_t w_policy_id = 4;
inline constexpr std::uint32_t w_tracker_id = 5;
inline constexpr std::uint32_t w_checksum = 6;
inline constexpr std::uint32_t w_site_epoch = 8;
inline constexpr std::uint32_t w_site_pending = 9;
inline constexpr std::uint32_t w_last_seen = 10;     // u64: 10, 11
inline constexpr std::uint32_t w_clock_offset = 12;  // u64: 12, 13
inline constexpr std::uint32_t w_site_restarts = 14;
inline constexpr std::uint32_t mutable_begin = 8;
inline constexpr std::uint32_t mutable_end = 16;
inline constexpr std::uint32_t w_log_count = 16;
inline constexpr std::uint32_t w_log_entries = 18;
inline constexpr std::uint32_t log_capacity = 80;
inline constexpr std::uint32_t tracker_begin = 192;  // first word of the tracker's area

static_assert(w_log_entries + 2 * log_capacity <= tracker_begin, "undo log overlaps the tracker");

inline constexpr std::uint32_t magic = 0x54435248u;  // "HRCT"
inline constexpr std::uint32_t version = 1;

}  // namespace detail::ctl

/// The controller's state as words: a view of the caller's bytes (a bank block), with the
/// optional crash-injection budget. A view, as std::span is: `const` is the view's, not the
/// words' (a group tracker writes through a const view; the controller's own constness says
/// which of its calls change state).
class controller_region {
 public:
  controller_region() = default;
  explicit controller_region(std::span<std::byte> bytes) : bytes_(bytes) {}

  std::uint32_t words() const { return static_cast<std::uint32_t>(bytes_.size() / 4); }

  /// Reads word `i`; out-of-range reads give 0 (callers bounds-check before use).
  std::uint32_t get(std::uint32_t i) const {
    const std::size_t off = std::size_t{i} * 4;
    if (off + 4 > bytes_.size()) return 0;
    const auto b = [&](std::size_t k) {
      return static_cast<std::uint32_t>(std::to_integer<std::uint8_t>(bytes_[off + k]));
    };
    return b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24);
  }
  std::uint64_t get64(std::uint32_t i) const {
    return std::uint64_t{get(i)} | (std::uint64_t{get(i + 1)} << 32);
  }

  /// Writes word `i` in program order (a dying process leaves every executed store behind).
  void put(std::uint32_t i, std::uint32_t v) const {
    if (budget_ != nullptr) {
      if (budget_->exhausted || budget_->remaining == 0) {
        budget_->exhausted = true;
        return;
      }
      --budget_->remaining;
    }
    const std::size_t off = std::size_t{i} * 4;
    if (off + 4 > bytes_.size()) return;
    for (std::size_t k = 0; k < 4; ++k)
      bytes_[off + k] = static_cast<std::byte>((v >> (8 * k)) & 0xFFu);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }

  bool crashed() const { return budget_ != nullptr && budget_->exhausted; }
  void set_budget(store_budget* b) { budget_ = b; }
  std::span<std::byte> bytes() const { return bytes_; }

 private:
  std::span<std::byte> bytes_;
  store_budget* budget_ = nullptr;
};

namespace detail::ctl {

inline constexpr error injected_crash{errc::io_error,
                                      "store budget exhausted (injected crash): state left as a "
                                      "crash would leave it"};

/// Words a transaction may change: the mutable header words and the tracker's area.
inline bool loggable(std::uint32_t i, std::uint32_t total_words) {
  return (i >= mutable_begin && i < mutable_end) || (i >= tracker_begin && i < total_words);
}

}  // namespace detail::ctl

/// One atomic change of the controller's region: what a group tracker writes through. Every
/// store is undoable until `commit`.
class controller_txn {
 public:
  explicit controller_txn(const controller_region& r) : r_(&r) {}
  controller_txn(const controller_txn&) = delete;
  controller_txn& operator=(const controller_txn&) = delete;
  ~controller_txn() {
    if (n_ != 0 && !done_) rollback();
  }

  std::uint32_t get(std::uint32_t i) const { return r_->get(i); }

  void put(std::uint32_t i, std::uint32_t v) {
    const std::uint32_t old = r_->get(i);
    if (old == v || overflow_) return;
    if (n_ == detail::ctl::log_capacity) {
      overflow_ = true;
      return;
    }
    r_->put(detail::ctl::w_log_entries + 2 * n_, i);
    r_->put(detail::ctl::w_log_entries + 2 * n_ + 1, old);
    r_->put(detail::ctl::w_log_count, n_ + 1);
    ++n_;
    r_->put(i, v);
  }
  void put64(std::uint32_t i, std::uint64_t v) {
    put(i, static_cast<std::uint32_t>(v));
    put(i + 1, static_cast<std::uint32_t>(v >> 32));
  }

  /// Makes the change durable. `io_error` when a crash was injected, `corrupt` (and nothing
  /// changed) when the change needed more words than the log holds.
  [[nodiscard]] result<void> commit() {
    done_ = true;
    if (overflow_) {
      rollback();
      return fail(
          error(errc::corrupt, "controller undo log overflow: an event touched too many words")
              .with_limit("log entries", n_ + 1u, detail::ctl::log_capacity));
    }
    if (n_ != 0) r_->put(detail::ctl::w_log_count, 0);
    if (r_->crashed()) return fail(detail::ctl::injected_crash);
    return {};
  }

  void rollback() {
    done_ = true;
    undo(*r_, n_);
  }

  /// Applies the first `n` entries in reverse, then clears the log. Idempotent.
  static void undo(const controller_region& r, std::uint32_t n) {
    for (std::uint32_t k = n; k-- > 0;)
      r.put(r.get(detail::ctl::w_log_entries + 2 * k),
            r.get(detail::ctl::w_log_entries + 2 * k + 1));
    if (n != 0) r.put(detail::ctl::w_log_count, 0);
  }

  /// Recovery on open: validates the log, then undoes an interrupted transaction.
  [[nodiscard]] static result<bool> recover(const controller_region& r) {
    const std::uint32_t n = r.get(detail::ctl::w_log_count);
    if (n == 0) return false;
    if (n > detail::ctl::log_capacity)
      return fail(error(errc::corrupt, "controller undo log: count out of range")
                      .with_limit("log entries", n, detail::ctl::log_capacity));
    for (std::uint32_t k = 0; k < n; ++k)
      if (!detail::ctl::loggable(r.get(detail::ctl::w_log_entries + 2 * k), r.words()))
        return fail(error(errc::corrupt, "controller undo log: entry outside the mutable state")
                        .with_value("entry", k)
                        .with_value("word", r.get(detail::ctl::w_log_entries + 2 * k)));
    undo(r, n);
    if (r.crashed()) return fail(detail::ctl::injected_crash);
    return true;
  }

 private:
  const controller_region* r_;
  std::uint32_t n_ = 0;
  bool overflow_ = false;
  bool done_ = false;
};

namespace detail::ctl {

/// Checksum of the immutable header words (FNV-1a over their bytes).
inline std::uint32_t header_checksum(const controller_region& r) {
  std::uint32_t h = 0x811C9DC5u;
  for (std::uint32_t i = 0; i < w_checksum; ++i) {
    const std::uint32_t w = r.get(i);
    for (int k = 0; k < 4; ++k) {
      h ^= (w >> (8 * k)) & 0xFFu;
      h *= 0x01000193u;
    }
  }
  return h;
}

}  // namespace detail::ctl
}  // namespace hotrestart

#endif  // HOTRESTART_CONTROLLER_REGION_HPP
