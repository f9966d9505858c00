// SPDX-License-Identifier: MIT
// The intent record: how every mutation of bank metadata stays atomic across a crash, a warm
// reset and, in durable mode, a power cut.
//
// A mutation is a redo-only transaction over 32-bit metadata words:
//   build      every store is kept in the transaction (in the caller's memory, not the bank);
//              loads see the pending values first. Nothing reader-visible changes.
//   commit     entries {offset, value} and their count are written to the record, then
//              state := committed (the commit point), then the entries are applied in order,
//              then state := idle.
// Recovery (on open, or when a lock is taken from a dead owner): committed -> apply the
// entries again (idempotent: a crash during recovery is recovered the same way); idle -> the
// operation did not happen, nothing in the tables changed. Stores into objects that nothing
// can reach before the commit (a registry entry taken from the free list, a new block's pages)
// are made directly: if the commit never happens they stay unreachable.
//
// Durable mode adds ordered flushes (msync on the mmap backend), so that a power cut at any
// instant, with the kernel writing back any dirty page at any time in any order, still leaves
// "happened" or "did not":
//   1. entries + count + every direct store (entry fill, zero-filled pages)   -> flush
//   2. state := committed                                                     -> flush
//   3. apply                                                                  -> flush the tables' pages
//   4. state := idle                                                          -> flush
// Each step is one flush (msync) over the range it needs, plus one per range of data pages in
// step 1: four or five round trips to the disk per operation.
// Step 1 before 2: a committed state on disk always has its entries. Step 3 before 4: the
// record is reused only once what it describes is on disk.
//
// Torn state words. A warm reset of a microcontroller (or a bus narrower than 32 bits) can
// leave the state word half-written. Idle (0) and committed differ in every byte, so a torn
// word holds bytes of both only while it is being set (entries complete: redo is right) or
// cleared (applied: redo is idempotent): redo. Any other value is refused as corrupt. The
// count and entries are written while the state is idle, so a torn one is never read.
#ifndef HOTRESTART_DETAIL_JOURNAL_HPP
#define HOTRESTART_DETAIL_JOURNAL_HPP

#include <cstdint>

#include "../bank_format.hpp"
#include "../error.hpp"
#include "words.hpp"

namespace hotrestart::detail {

enum class journal_state : std::uint32_t { idle = 0, committed = 0x434D4954u };

/// What recovery must do for a state word, torn or not (see the comment at the top).
enum class journal_action : std::uint8_t { none, redo, invalid };

constexpr journal_action classify_journal_state(std::uint32_t w) {
  constexpr std::uint32_t c = static_cast<std::uint32_t>(journal_state::committed);
  if (w == 0) return journal_action::none;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t sh = 8u * static_cast<std::uint32_t>(i);
    const std::uint32_t b = (w >> sh) & 0xFFu;
    if (b != 0 && b != ((c >> sh) & 0xFFu)) return journal_action::invalid;
  }
  return journal_action::redo;
}
static_assert(classify_journal_state(0x434D4954u) == journal_action::redo);
static_assert(classify_journal_state(0x434D0000u) == journal_action::redo);
static_assert(classify_journal_state(0x00000054u) == journal_action::redo);
static_assert(classify_journal_state(0x41435456u) == journal_action::invalid);
static_assert(classify_journal_state(0x00000001u) == journal_action::invalid);

/// What the journal may touch: the header's counters and the policies' tables. Offsets found
/// in a record are checked against this before recovery writes anything.
struct journal_bounds {
  std::uint64_t tables_begin = 0;
  std::uint64_t tables_end = 0;

  constexpr bool allows(std::uint64_t off) const {
    if (off % 4 != 0) return false;
    if (off >= bank_format::counters_begin && off < bank_format::counters_end) return true;
    return off >= tables_begin && off < tables_end;
  }
};

/// Where durable mode must flush: a byte range of the bank. Called with `flush_range(off,
/// len)`; the bank maps it onto its backend (a no-op unless the bank is durable).
struct flush_fn {
  result<void> (*fn)(void* ctx, std::uint64_t off, std::uint64_t len) = nullptr;
  void* ctx = nullptr;
  [[nodiscard]] result<void> operator()(std::uint64_t off, std::uint64_t len) const {
    if (fn == nullptr) return {};
    return fn(ctx, off, len);
  }
  bool active() const { return fn != nullptr; }
};

// GCC 12 at -O2/-O3 cannot see that a pending entry is read only below n_, where store() wrote
// it, and warns that it may be uninitialised (a false positive); zeroing the ~1 KiB array on
// every mutation would cost more than the whole lookup it serves. Silenced here, for GCC only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

class journal;
}  // namespace hotrestart::detail

namespace hotrestart {

/// One mutation of a bank's metadata being built: the transaction a block allocator or a name
/// registry is handed (policies/concepts.hpp). Policies read and write metadata only through it: `store` keeps
/// the value until commit, `load` sees it. Lives on the caller's stack (about 1.3 KiB).
class bank_txn {
 public:
  bank_txn(std::byte* base, detail::journal_bounds bounds, std::uint32_t op)
      : base_(base), bounds_(bounds), op_(op) {}
  bank_txn(const bank_txn&) = delete;
  bank_txn& operator=(const bank_txn&) = delete;

  /// The word at `off` as this transaction sees it (its own pending store, else the bank's).
  HOTRESTART_HOT_INLINE std::uint32_t load(std::uint64_t off) const {
    const std::uint32_t i = find(off);
    return i != none ? pending_[i].value : detail::load32(base_, off);
  }

  /// Deferred store: made at commit, in the order of first store to each word. Fails (and the
  /// caller abandons the operation) if it touches more words than the record holds.
  [[nodiscard]] HOTRESTART_HOT_INLINE result<void> store(std::uint64_t off, std::uint32_t v) {
    HOTRESTART_ASSERT(bounds_.allows(off));
    if (const std::uint32_t i = find(off); i != none) {
      pending_[i].value = v;
      return {};
    }
    if (n_ >= bank_format::journal_capacity) return overflow();
    pending_[n_++] = {static_cast<std::uint32_t>(off), v};
    seen_ |= bit_of(off);
    return {};
  }

  /// Store into an object no reader or recovery can reach until the transaction commits (a
  /// table entry popped from a free list): made now. The object's bytes must be declared once
  /// with `note_direct`, so that durable mode flushes them before the commit point.
  void store_unreachable(std::uint64_t off, std::uint32_t v) { detail::store32(base_, off, v); }

  /// Declares bytes written directly (an entry filled with store_unreachable, a new block's
  /// zero fill): durable mode flushes them before the commit point.
  void note_direct(std::uint64_t off, std::uint64_t len) {
    if (direct_n_ < max_direct) {
      direct_[direct_n_++] = {off, len};
    } else {
      // More ranges than slots: widen the last one (a larger flush, never a missed one).
      range& last = direct_[max_direct - 1];
      const std::uint64_t end = off + len > last.off + last.len ? off + len : last.off + last.len;
      last.off = off < last.off ? off : last.off;
      last.len = end - last.off;
    }
  }

  /// The commit must make lock-free readers retry while it applies (it unlinks entries that
  /// may be reused at once: free, replace).
  void readers_must_retry() { retry_ = true; }

  std::byte* base() const { return base_; }
  std::uint32_t size() const { return n_; }

 private:
  friend class detail::journal;
  struct entry {
    std::uint32_t off;
    std::uint32_t value;
  };
  struct range {
    std::uint64_t off;
    std::uint64_t len;
  };
  static constexpr std::uint32_t max_direct = 8;
  static constexpr std::uint32_t none = 0xFFFFFFFFu;

  // Out of line: the store above is made on every mutation's path, its error almost never.
  [[gnu::cold, gnu::noinline]] tl::unexpected<error> overflow() const {
    return fail(error(errc::corrupt, "intent record overflow: an operation touched too many words")
                    .with_limit("entries", n_ + 1u, bank_format::journal_capacity));
  }

  // A 64-bit filter of the words stored so far (one bit per word, by a hash of its offset):
  // most loads are of words the transaction never stored, and the filter answers them without
  // a search; the rest search the few pending entries. Nothing to clear per transaction but
  // one word (a table to index them would cost more to zero than a whole create).
  static std::uint64_t bit_of(std::uint64_t off) {
    return std::uint64_t{1} << ((static_cast<std::uint32_t>(off >> 2) * 0x9E3779B1u) >> 26);
  }
  std::uint32_t find(std::uint64_t off) const {
    if ((seen_ & bit_of(off)) == 0) return none;
    for (std::uint32_t i = n_; i-- > 0;)
      if (pending_[i].off == off) return i;
    return none;
  }

  std::byte* base_;
  detail::journal_bounds bounds_;
  std::uint32_t op_;
  std::uint32_t n_ = 0;
  std::uint32_t direct_n_ = 0;
  bool retry_ = false;
  std::uint64_t seen_ = 0;
  entry pending_[bank_format::journal_capacity];
  range direct_[max_direct];
};

}  // namespace hotrestart

namespace hotrestart::detail {

/// Commits and recovers transactions in the intent record of a bank's header.
class journal {
 public:
  /// Makes the transaction happen: record, commit point, apply. Without flushes it cannot fail.
  /// In durable mode a failed flush before the commit point leaves the operation undone
  /// (io_error); after it, the operation has happened in memory (applied, the record idle) but
  /// may not be on disk (io_error as well: the bank in memory is consistent either way). After
  /// such an error the power-cut promise holds again once a later flush succeeds: until then
  /// the disk may hold the committed state word of a record the next operation rewrites.
  [[nodiscard]] static result<void> commit(bank_txn& t, flush_fn flush = {}) {
    std::byte* base = t.base_;
    for (std::uint32_t i = 0; i < t.n_; ++i) {
      const std::uint64_t e = bank_format::journal_entries + 8ull * i;
      store32(base, e, t.pending_[i].off);
      store32(base, e + 4, t.pending_[i].value);
    }
    store32(base, bank_format::journal_count, t.n_);
    store32(base, bank_format::journal_op, t.op_);
    compiler_order();
    if (!flush.active()) {
      // Without flushes nothing can fail: the same steps, with no result to carry.
      store32_release(base, bank_format::journal_state,
                      static_cast<std::uint32_t>(journal_state::committed));
      compiler_order();
      apply(base, t.n_, t.retry_, [&](std::uint32_t i) { return t.pending_[i]; });
      store32_release(base, bank_format::journal_state,
                      static_cast<std::uint32_t>(journal_state::idle));
      compiler_order();
      return {};
    }
#ifndef HOTRESTART_TESTONLY_UNORDERED_FLUSH  // negative control of the power-cut tests
    {
      // One flush for the metadata (the header with the record, and the direct stores into the
      // tables: an entry, its key), one per range of data pages (a new block's zero fill): a
      // flush writes only the dirty pages of its range, so covering the clean ones between
      // costs no write, and each flush is a round trip to the disk.
      std::uint64_t meta_end = bank_format::header_size;
      for (std::uint32_t i = 0; i < t.direct_n_; ++i) {
        const std::uint64_t end = t.direct_[i].off + t.direct_[i].len;
        if (end <= t.bounds_.tables_end) {
          if (end > meta_end) meta_end = end;
        } else if (auto r = flush(t.direct_[i].off, t.direct_[i].len); !r) {
          return r;
        }
      }
      if (auto r = flush(0, meta_end); !r) return r;
    }
#endif
    store32_release(base, bank_format::journal_state,
                    static_cast<std::uint32_t>(journal_state::committed));
    compiler_order();
    // From the commit point on the operation has happened: it is applied in memory whatever a
    // flush answers, and the first failed flush is returned once the record is idle again.
    result<void> flushed = flush(0, bank_format::header_size);
    apply(base, t.n_, t.retry_, [&](std::uint32_t i) { return t.pending_[i]; });
    if (auto r = flush_tables(base, t.n_, flush); !r && flushed) flushed = r;
    store32_release(base, bank_format::journal_state,
                    static_cast<std::uint32_t>(journal_state::idle));
    compiler_order();
    if (auto r = flush(0, bank_format::header_size); !r && flushed) flushed = r;
    return flushed;
  }

  /// Is there an interrupted transaction to recover?
  static bool pending(const std::byte* base) {
    return load32(base, bank_format::journal_state) !=
           static_cast<std::uint32_t>(journal_state::idle);
  }

  /// Repairs an interrupted transaction after validating every entry. Returns true when it
  /// changed anything; errc::corrupt (and writes nothing) when the record itself is invalid.
  [[nodiscard]] static result<bool> recover(std::byte* base, journal_bounds bounds,
                                            flush_fn flush = {}) {
    const std::uint32_t st = load32(base, bank_format::journal_state);
    const journal_action act = classify_journal_state(st);
    if (act == journal_action::none) return false;
    if (act == journal_action::invalid)
      return fail(error(errc::corrupt, "intent record: unknown state word")
                      .with_expected_hex("state",
                                         static_cast<std::uint32_t>(journal_state::committed), st));
    const std::uint32_t n = load32(base, bank_format::journal_count);
    if (n > bank_format::journal_capacity)
      return fail(error(errc::corrupt, "intent record: entry count out of range")
                      .with_limit("entries", n, bank_format::journal_capacity));
    for (std::uint32_t i = 0; i < n; ++i)
      if (!bounds.allows(load32(base, bank_format::journal_entries + 8ull * i)))
        return fail(error(errc::corrupt, "intent record: entry points outside the tables")
                        .with_value("entry", i));
#ifndef HOTRESTART_TESTONLY_NO_RECOVERY
    apply(base, n, true, [base](std::uint32_t i) { return recorded(base, i); });
    if (flush.active()) {
      if (auto r = flush_tables(base, n, flush); !r) return fail(r.error());
    }
#endif
    store32_release(base, bank_format::journal_state,
                    static_cast<std::uint32_t>(journal_state::idle));
    compiler_order();
    if (auto r = flush(0, bank_format::header_size); !r) return fail(r.error());
    return true;
  }

 private:
  static bank_txn::entry recorded(const std::byte* base, std::uint32_t i) {
    const std::uint64_t e = bank_format::journal_entries + 8ull * i;
    return {load32(base, e), load32(base, e + 4)};
  }

  // Applies entries 0..n-1 (`entry(i)`: the transaction's own, or the record's in recovery) in
  // order. With `retry`, lock-free readers see the sequence word odd meanwhile and retry (the
  // seqlock's writer side).
  template <class Entry>
  static void apply(std::byte* base, std::uint32_t n, bool retry, Entry&& entry) {
    const std::uint32_t s = load32(base, bank_format::seq);
    if (retry) {
      store32(base, bank_format::seq, s | 1u);
      std::atomic_thread_fence(std::memory_order_release);
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      const bank_txn::entry x = entry(i);
      // Release: a reader that follows a published link sees everything stored before it.
      store32_release(base, x.off, x.value);
    }
    compiler_order();
    if (retry) store32_release(base, bank_format::seq, (s | 1u) + 1u);
  }

  // Flushes every page the recorded entries touched, in one flush from the first to the last
  // (the pages between are clean or are table pages being written: either way no wrong write).
  [[nodiscard]] static result<void> flush_tables(const std::byte* base, std::uint32_t n,
                                                 flush_fn flush) {
    if (n == 0) return {};
    std::uint64_t lo = ~std::uint64_t{0}, hi = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint64_t off = load32(base, bank_format::journal_entries + 8ull * i);
      if (off < lo) lo = off;
      if (off > hi) hi = off;
    }
    lo = lo / flush_granule * flush_granule;
    hi = (hi / flush_granule + 1) * flush_granule;
    return flush(lo, hi - lo);
  }

  // The unit the durable flush works in: a host page (4 KiB). With pages of 4 KiB or more the
  // metadata ends on a granule boundary, so a table word's flush stays in the metadata; with
  // smaller bank pages it may also write back the first data pages (harmless, only slower).
  static constexpr std::uint64_t flush_granule = 4096;
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace hotrestart::detail

#endif  // HOTRESTART_DETAIL_JOURNAL_HPP
