// SPDX-License-Identifier: MIT
// The intent record: how every mutation of bank metadata stays atomic across a crash.
//
// A mutation is a transaction over 32-bit metadata words:
//   begin      state := active (undo and redo counts 0)
//   store      undo[n] := {offset, old value}; undo_count := n + 1; then the word := new value
//   redo       redo[m] := {offset, new value}; redo_count := m + 1 (stores readers can see)
//   commit     state := committed; apply redo; state := idle
// Recovery (on open, or when a lock is taken from a dead owner): active -> apply undo in
// reverse, the operation did not happen; committed -> apply redo again, it happened. Both are
// idempotent, so a crash during recovery is recovered the same way. Every store is in program
// order for the compiler; a killed process leaves all its executed stores in the mapping.
//
// Torn state words. A warm reset of a microcontroller (or a bus narrower than 32 bits) can
// leave the state word half-written: some bytes from the old value, some from the new. The
// three state values differ in every byte, so a torn word still says which transition it was
// caught in, and recovery picks an outcome that is correct for that transition:
//   bytes from {idle, active}       begin or the end of an abort   -> undo (idempotent)
//   bytes from {idle, committed}    the end of a commit            -> redo (idempotent)
//   bytes from {active, committed}  the commit itself (redo complete) -> redo
// Every other word in the record is written before the count that makes it count, and the
// counts are below 256 (a torn count is an old or a new count). tests/crash_test.cpp tears
// every store of every operation to prove it.
#ifndef HOTRESTART_DETAIL_JOURNAL_HPP
#define HOTRESTART_DETAIL_JOURNAL_HPP

#include <cstdint>

#include "../error.hpp"
#include "../format.hpp"
#include "words.hpp"

namespace hotrestart::detail {

enum class journal_state : std::uint32_t { idle = 0, active = 0x41435456u, committed = 0x434D4954u };

/// What recovery must do for a state word, torn or not (see the comment at the top).
enum class journal_action : std::uint8_t { none, undo, redo, invalid };

constexpr journal_action classify_journal_state(std::uint32_t w) {
  constexpr std::uint32_t a = static_cast<std::uint32_t>(journal_state::active);
  constexpr std::uint32_t c = static_cast<std::uint32_t>(journal_state::committed);
  if (w == 0) return journal_action::none;
  bool from_idle = false, from_active = false, from_committed = false;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t sh = 8u * static_cast<std::uint32_t>(i);
    const std::uint32_t b = (w >> sh) & 0xFFu;
    const bool is_a = b == ((a >> sh) & 0xFFu), is_c = b == ((c >> sh) & 0xFFu);
    if (b == 0) from_idle = true;
    else if (is_a) from_active = true;
    else if (is_c) from_committed = true;
    else return journal_action::invalid;
  }
  if (from_active && from_committed) return from_idle ? journal_action::invalid : journal_action::redo;
  if (from_committed) return journal_action::redo;
  return journal_action::undo;
}
static_assert(classify_journal_state(0x41435456u) == journal_action::undo);
static_assert(classify_journal_state(0x434D4954u) == journal_action::redo);
static_assert(classify_journal_state(0x00003456u) == journal_action::invalid);
static_assert(classify_journal_state(0x00005456u) == journal_action::undo);
static_assert(classify_journal_state(0x434D0000u) == journal_action::redo);
static_assert(classify_journal_state(0x41434954u) == journal_action::redo);

/// What the journal may touch: the header's counters and the policies' tables. Offsets found
/// in a journal are checked against this before recovery writes anything.
struct journal_bounds {
  std::uint64_t tables_begin = 0;
  std::uint64_t tables_end = 0;

  constexpr bool allows(std::uint64_t off) const {
    if (off % 4 != 0) return false;
    if (off >= fmt::counters_begin && off < fmt::counters_end) return true;
    return off >= tables_begin && off < tables_end;
  }
};

/// A journaled view of bank memory for one mutation. Policies read and write metadata only
/// through it, so every store is undoable and every store is a crash point.
class txn {
 public:
  txn(std::byte* base, journal_bounds bounds) : base_(base), bounds_(bounds) {}

  std::uint32_t load(std::uint64_t off) const { return load32(base_, off); }

  /// Journaled store: undone if the transaction does not commit.
  result<void> store(std::uint64_t off, std::uint32_t v) {
    HOTRESTART_ASSERT(bounds_.allows(off));
    const std::uint32_t n = undo_count_;
    if (n >= fmt::journal_undo_capacity)
      return fail(errc::corrupt, "intent record overflow: an operation touched too many words",
                  "undo entries (max)", fmt::journal_undo_capacity, n + 1u);
    const std::uint64_t e = fmt::journal_undo + 16ull * n;
    HOTRESTART_CRASH_POINT();
    store32(base_, e, lo32(off));
    store32(base_, e + 4, hi32(off));
    store32(base_, e + 8, load32(base_, off));
    compiler_order();
    HOTRESTART_CRASH_POINT();
    store32(base_, fmt::journal_undo_count, n + 1);
    undo_count_ = n + 1;
    compiler_order();
    HOTRESTART_CRASH_POINT();
    store32(base_, off, v);
    compiler_order();
    return {};
  }

  /// Store into an object no reader or recovery can reach until the transaction commits (a
  /// table entry popped from a free list): not journaled, but still a crash point.
  void store_unreachable(std::uint64_t off, std::uint32_t v) {
    HOTRESTART_CRASH_POINT();
    store32(base_, off, v);
  }

  /// A store made only at commit: the one that publishes the result to lock-free readers.
  result<void> redo(std::uint64_t off, std::uint32_t v) {
    const std::uint32_t m = redo_count_;
    if (m >= fmt::journal_redo_capacity)
      return fail(errc::corrupt, "intent record overflow: too many publishing stores",
                  "redo entries (max)", fmt::journal_redo_capacity, m + 1u);
    const std::uint64_t e = fmt::journal_redo + 16ull * m;
    HOTRESTART_CRASH_POINT();
    store32(base_, e, lo32(off));
    store32(base_, e + 4, hi32(off));
    store32(base_, e + 8, v);
    compiler_order();
    store32(base_, fmt::journal_redo_count, m + 1);
    redo_count_ = m + 1;
    compiler_order();
    return {};
  }

  std::byte* base() const { return base_; }

 private:
  friend class journal;
  std::byte* base_;
  journal_bounds bounds_;
  std::uint32_t undo_count_ = 0;
  std::uint32_t redo_count_ = 0;
};

/// Begins, commits, aborts and recovers transactions on the journal in a bank's header.
class journal {
 public:
  static txn begin(std::byte* base, journal_bounds bounds, std::uint32_t op) {
    HOTRESTART_CRASH_POINT();
    store32(base, fmt::journal_undo_count, 0);
    store32(base, fmt::journal_redo_count, 0);
    store32(base, fmt::journal_op, op);
    compiler_order();
    store32(base, fmt::journal_state, static_cast<std::uint32_t>(journal_state::active));
    compiler_order();
    return txn(base, bounds);
  }

  /// Makes the transaction durable: from here on recovery completes it.
  static void commit(txn& t) {
    HOTRESTART_CRASH_POINT();
    store32(t.base_, fmt::journal_state, static_cast<std::uint32_t>(journal_state::committed));
    compiler_order();
    apply_redo(t.base_, t.redo_count_);
    HOTRESTART_CRASH_POINT();
    store32(t.base_, fmt::journal_state, static_cast<std::uint32_t>(journal_state::idle));
    compiler_order();
  }

  /// Undoes what the transaction stored (an error found mid-way, such as corrupt tables).
  static void abort(txn& t) {
    apply_undo(t.base_, t.undo_count_);
    store32(t.base_, fmt::journal_state, static_cast<std::uint32_t>(journal_state::idle));
    compiler_order();
  }

  /// Is there an interrupted transaction to recover?
  static bool pending(const std::byte* base) {
    return load32(base, fmt::journal_state) != static_cast<std::uint32_t>(journal_state::idle);
  }

  /// Repairs an interrupted transaction after validating every entry. Returns true when it
  /// changed anything; errc::corrupt (and writes nothing) when the record itself is invalid.
  static result<bool> recover(std::byte* base, journal_bounds bounds) {
    const std::uint32_t st = load32(base, fmt::journal_state);
    const journal_action act = classify_journal_state(st);
    if (act == journal_action::none) return false;
    if (act == journal_action::invalid)
      return fail(errc::corrupt, "intent record: unknown state word", "state", 0, st);
    const std::uint32_t undo = load32(base, fmt::journal_undo_count);
    const std::uint32_t redo = load32(base, fmt::journal_redo_count);
    if (undo > fmt::journal_undo_capacity)
      return fail(errc::corrupt, "intent record: undo count out of range", "undo count (max)",
                  fmt::journal_undo_capacity, undo);
    if (redo > fmt::journal_redo_capacity)
      return fail(errc::corrupt, "intent record: redo count out of range", "redo count (max)",
                  fmt::journal_redo_capacity, redo);
    for (std::uint32_t i = 0; i < undo; ++i)
      if (!bounds.allows(load64(base, fmt::journal_undo + 16ull * i)))
        return fail(errc::corrupt, "intent record: undo entry points outside the tables",
                    "entry", 0, i);
    for (std::uint32_t i = 0; i < redo; ++i)
      if (!bounds.allows(load64(base, fmt::journal_redo + 16ull * i)))
        return fail(errc::corrupt, "intent record: redo entry points outside the tables",
                    "entry", 0, i);
#ifndef HOTRESTART_TESTONLY_NO_RECOVERY
    if (act == journal_action::undo) {
      apply_undo(base, undo);
    } else {
      apply_redo(base, redo);
    }
#endif
    store32(base, fmt::journal_state, static_cast<std::uint32_t>(journal_state::idle));
    compiler_order();
    return true;
  }

 private:
  static void apply_undo(std::byte* base, std::uint32_t n) {
    for (std::uint32_t i = n; i-- > 0;) {
      const std::uint64_t e = fmt::journal_undo + 16ull * i;
      store32(base, load64(base, e), load32(base, e + 8));
    }
    compiler_order();
  }
  static void apply_redo(std::byte* base, std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint64_t e = fmt::journal_redo + 16ull * i;
      store32_release(base, load64(base, e), load32(base, e + 8));
    }
    compiler_order();
  }
};

}  // namespace hotrestart::detail

#endif  // HOTRESTART_DETAIL_JOURNAL_HPP
