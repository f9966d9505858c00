// SPDX-License-Identifier: MIT
// The default naming registry: an index of tag groups over a fixed table of entries. A lookup
// reads one index line (and the entry line when a tag matches), takes no lock and retries only
// if a free runs at the same moment (the bank's sequence word); insert makes its entry visible
// with one store into a group at commit; remove makes a bounded number.
#ifndef HOTRESTART_POLICIES_HASH_REGISTRY_HPP
#define HOTRESTART_POLICIES_HASH_REGISTRY_HPP

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "../detail/hash.hpp"
#include "../detail/journal.hpp"
#include "../detail/words.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "concepts.hpp"

// The lookup compares a group's 15 tags with one SSE2 instruction where it can (x86-64 always
// has SSE2), and with a loop of atomic loads where every load must be seen: ThreadSanitizer,
// and the load hook that counts index lines (bench/find_lines.cpp). HOTRESTART_SCALAR_PROBE
// forces the loop.
#if defined(__SSE2__) && !defined(HOTRESTART_SCALAR_PROBE) && !defined(HOTRESTART_LOAD_HOOK) && \
    !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HOTRESTART_SIMD_PROBE 0
#endif
#endif
#ifndef HOTRESTART_SIMD_PROBE
#define HOTRESTART_SIMD_PROBE 1
#include <emmintrin.h>
#endif
#else
#define HOTRESTART_SIMD_PROBE 0
#endif

namespace hotrestart {

/// Region layout (offsets from the region's start), format version 3:
///   0      free entry list head (index or nil)
///   4      reserved (format version 2 kept its bucket mask here)
///   64     index: G groups of 64 bytes (one cache line each), G = index_words / 16:
///            word 0     overflow count: entries whose probe passed this group because it was
///                       full (a lookup that misses in a group with a zero count stops there)
///            words 1-15 slots: 0 (empty) or the name hash's high bits (the tag) | entry + 1
///   E      entries, 64 bytes each (one cache line), E = 64 + 64 * G:
///            0 hash   4 next free   8 first page   12 pages   16 size (u64)
///           24 name length | key length << 8 | in-use flag << 16   28 key hash
///           32 name (32 bytes, zero padded)
///   K      keys, 32 bytes each (zero padded), K = E + 64 * max_blocks
/// A group's slot holds `idx_bits` bits of entry number + 1 (idx_bits = bit width of
/// max_blocks) and the rest of the word is the tag: the hash's bits above idx_bits. The group
/// number is the hash's low bits, which never reach idx_bits, so the tag is independent of it.
/// At most 8/15 of the slots are used (index_words >= 2 * max_blocks), so a group overflows
/// rarely. A miss reads one line (the group), a hit two (group, entry), unless a tag matches
/// by chance (one in 2^(32 - idx_bits) per used slot) or the group overflowed.
///
/// The region has the size and the entries the layout of format version 2 ("HRG2", bucket
/// chains linked through the entries' `next`): `rebuild_index` turns one into the other in
/// place, from the entries alone (basic_bank's conversion at open).
class hash_registry {
 public:
  static constexpr std::uint32_t layout_id = 0x48524733u;           // "HRG3"
  static constexpr std::uint32_t previous_layout_id = 0x48524732u;  // "HRG2"
  static constexpr std::uint64_t entry_bytes = 64;
  static constexpr std::uint64_t key_bytes = 32;
  static constexpr std::uint64_t group_bytes = 64;
  static constexpr std::uint32_t group_slots = 15;

  /// Index words: at least two per block and 16, a power of two (format version 2's bucket
  /// count, so that the region keeps its size).
  static constexpr std::uint32_t index_words(std::uint32_t max_blocks) {
    const std::uint64_t want = 2ull * max_blocks;
    return static_cast<std::uint32_t>(std::bit_ceil(want < 16 ? 16 : want));
  }
  static constexpr std::uint32_t group_count(std::uint32_t max_blocks) {
    return index_words(max_blocks) / 16;
  }
  static constexpr std::uint64_t entries_offset(std::uint32_t max_blocks) {
    return 64 + group_bytes * group_count(max_blocks);
  }
  static constexpr std::uint64_t keys_offset(std::uint32_t max_blocks) {
    return entries_offset(max_blocks) + entry_bytes * max_blocks;
  }
  static constexpr std::uint64_t region_bytes(std::uint32_t max_blocks) {
    return keys_offset(max_blocks) + key_bytes * max_blocks;
  }

  hash_registry(std::byte* base, std::uint64_t region, std::uint32_t max_blocks)
      : base_(base),
        region_(region),
        entries_(region + entries_offset(max_blocks)),
        keys_(region + keys_offset(max_blocks)),
        max_(max_blocks),
        gmask_(group_count(max_blocks) - 1),
        idx_mask_(static_cast<std::uint32_t>((1ull << std::bit_width(max_blocks)) - 1)) {}

  static std::uint32_t hash(std::string_view name) {
    return detail::hash_bytes(reinterpret_cast<const unsigned char*>(name.data()), name.size(),
                              detail::name_seed);
  }

  void format() const {
    detail::store32(base_, region_, 0);
    detail::store32(base_, region_ + 4, 0);
    clear_index();
    for (std::uint32_t i = 0; i < max_; ++i) {
      detail::store32(base_, entry(i) + 4, i + 1 < max_ ? i + 1 : detail::nil);
      detail::store32(base_, entry(i) + 24, 0);
    }
  }

  /// Rebuilds the index from the entries in use (not journaled, idempotent): the conversion
  /// from format version 2, whose bucket array occupied the index's bytes. The entries and the
  /// free entry list are the same in both versions and are not written. An entry whose hash
  /// disagrees with its name (damaged: no lookup could reach it in version 2 either) is left
  /// out, for check() to report. Returns the entries placed.
  [[nodiscard]] result<std::uint32_t> rebuild_index() const {
    clear_index();
    detail::store32(base_, region_ + 4, 0);
    std::uint32_t placed = 0;
    for (std::uint32_t i = 0; i < max_; ++i) {
      if (!in_use(i)) continue;
      const std::uint32_t h = detail::load32(base_, entry(i));
      const std::uint32_t nlen = detail::load32(base_, entry(i) + 24) & 0xFFu;
      if (nlen == 0 || nlen > max_name_length || h != hash(name(i))) continue;
      std::uint32_t g = h & gmask_;
      for (std::uint32_t probes = 0;; ++probes) {
        if (probes > gmask_) return corrupt("index full while rebuilding it", i);
        const std::uint32_t k = empty_slot_raw(g);
        if (k != 0) {
          detail::store32(base_, slot(g, k), slot_value(h, i));
          break;
        }
        detail::store32(base_, group(g), detail::load32(base_, group(g)) + 1);
        g = (g + 1) & gmask_;
      }
      ++placed;
    }
    return placed;
  }

  /// Finds `name`. Safe without the lock: it only reads, bounds-checks every entry number, and
  /// visits each group at most once.
  lookup_result lookup(std::string_view name, std::uint32_t h) const {
    const std::uint32_t want_meta = static_cast<std::uint32_t>(name.size()) | in_use_flag;
    const std::uint32_t tag = h & ~idx_mask_;
    std::uint32_t g = h & gmask_;
    for (std::uint32_t probes = 0; probes <= gmask_; ++probes) {
      const std::uint64_t line = group(g);
      for (std::uint32_t bits = match_tags(line, tag); bits != 0; bits &= bits - 1) {
        const std::uint32_t k = static_cast<std::uint32_t>(std::countr_zero(bits));
        const std::uint32_t s = detail::load32(base_, line + 4ull * k);
        if ((s & ~idx_mask_) != tag || (s & idx_mask_) == 0) continue;
        // The slot was published with a release store at commit: see the entry it names with
        // every field its writer filled in before.
        std::atomic_thread_fence(std::memory_order_acquire);
        const std::uint32_t idx = (s & idx_mask_) - 1u;
        if (idx >= max_) return {lookup_status::inconsistent, {}};
        const std::uint64_t e = entry(idx);
        if (detail::load32(base_, e) == h &&
            (detail::load32(base_, e + 24) & name_meta_mask) == want_meta &&
            same_name(e + 32, name)) {
          return {lookup_status::found,
                  {idx, detail::load32(base_, e + 8), detail::load32(base_, e + 12),
                   detail::load64(base_, e + 16)}};
        }
      }
      if (detail::load32(base_, line) == 0) break;  // nothing probed past this group
      g = (g + 1) & gmask_;
    }
    // Every group that could hold the name was read (all of them, at worst).
    return {lookup_status::missing, {}};
  }

  [[nodiscard]] result<std::uint32_t> insert(bank_txn& t, const entry_data& d) const {
    const std::uint32_t idx = t.load(region_);
    if (idx == detail::nil)
      return fail(error(errc::block_table_full, "the block table is full (max_blocks)")
                      .with_value("max_blocks", max_));
    if (idx >= max_) return corrupt("free entry list head out of range", idx);
    const std::uint64_t e = entry(idx);
    if ((t.load(e + 24) & in_use_flag) != 0)
      return corrupt("free entry list holds a used entry", idx);
    const std::uint32_t next_free = t.load(e + 4);
    if (next_free != detail::nil && next_free >= max_)
      return corrupt("free entry list link out of range", idx);
    if (auto r = t.store(region_, next_free); !r) return fail(r.error());
    // The entry is unreachable until its slot is stored at commit: fill it directly.
    t.note_direct(e, entry_bytes);
    t.note_direct(key_of(idx), key_bytes);
    t.store_unreachable(e, d.hash);
    t.store_unreachable(e + 8, d.first_page);
    t.store_unreachable(e + 12, d.pages);
    t.store_unreachable(e + 16, detail::lo32(d.size));
    t.store_unreachable(e + 20, detail::hi32(d.size));
    t.store_unreachable(e + 28,
                        detail::hash_bytes(reinterpret_cast<const unsigned char*>(d.key.data()),
                                           d.key.size(), detail::key_seed));
    write_padded(t, e + 32, d.name);
    write_padded(t, key_of(idx), d.key);
    const std::uint32_t meta = static_cast<std::uint32_t>(d.name.size()) |
                               (static_cast<std::uint32_t>(d.key.size()) << 8) | in_use_flag;
    if (auto r = t.store(e + 24, meta); !r) return fail(r.error());
    if (auto r = place(t, d.hash, idx); !r) return fail(r.error());
    return idx;
  }

  [[nodiscard]] result<void> remove(bank_txn& t, std::uint32_t idx) const {
    if (idx >= max_ || (t.load(entry(idx) + 24) & in_use_flag) == 0)
      return corrupt("entry to remove is not in use", idx);
    const std::uint64_t e = entry(idx);
    if (auto r = unplace(t, t.load(e), idx); !r) return r;
    if (auto r = t.store(e + 24, 0); !r) return r;
    if (auto r = t.store(e + 4, t.load(region_)); !r) return r;
    return t.store(region_, idx);
  }

  /// Gives entry `idx` a new name (its slot moves to the new name's group), at commit.
  [[nodiscard]] result<void> rename(bank_txn& t, std::uint32_t idx, std::string_view new_name,
                                    std::uint32_t new_hash) const {
    if (idx >= max_ || (t.load(entry(idx) + 24) & in_use_flag) == 0)
      return corrupt("entry to rename is not in use", idx);
    const std::uint64_t e = entry(idx);
    if (auto r = unplace(t, t.load(e), idx); !r) return r;
    if (auto r = t.store(e, new_hash); !r) return r;
    std::uint32_t w[8] = {};
    std::memcpy(w, new_name.data(), new_name.size() < 32 ? new_name.size() : 32);
    for (std::uint32_t i = 0; i < 8; ++i)
      if (auto r = t.store(e + 32 + 4ull * i, w[i]); !r) return r;
    const std::uint32_t meta =
        (t.load(e + 24) & ~0xFFu) | static_cast<std::uint32_t>(new_name.size());
    if (auto r = t.store(e + 24, meta); !r) return r;
    return place(t, new_hash, idx);
  }

  // --- Reading entries (under the bank's lock, or for tools) ---
  bool in_use(std::uint32_t idx) const {
    return idx < max_ && (detail::load32(base_, entry(idx) + 24) & in_use_flag) != 0;
  }
  entry_view view(std::uint32_t idx) const {
    const std::uint64_t e = entry(idx);
    return {idx, detail::load32(base_, e + 8), detail::load32(base_, e + 12),
            detail::load64(base_, e + 16)};
  }
  std::string_view name(std::uint32_t idx) const {
    const std::uint32_t len = detail::load32(base_, entry(idx) + 24) & 0xFFu;
    return {reinterpret_cast<const char*>(base_ + entry(idx) + 32), len > 32 ? 32u : len};
  }
  std::string_view key(std::uint32_t idx) const {
    const std::uint32_t len = (detail::load32(base_, entry(idx) + 24) >> 8) & 0xFFu;
    return {reinterpret_cast<const char*>(base_ + key_of(idx)), len > 32 ? 32u : len};
  }
  std::uint32_t key_hash(std::uint32_t idx) const { return detail::load32(base_, entry(idx) + 28); }
  static std::uint32_t hash_key(std::string_view key) {
    return detail::hash_bytes(reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                              detail::key_seed);
  }
  std::uint32_t capacity() const { return max_; }
  /// The entry the next insert will use (nil when the table is full).
  std::uint32_t next_index() const { return detail::load32(base_, region_); }

  template <class Report>
  registry_census check(Report&& report) const {
    registry_census s;
    std::uint32_t free_count = 0;
    std::uint32_t idx = detail::load32(base_, region_);
    for (std::uint32_t steps = 0; idx != detail::nil; ++steps) {
      if (idx >= max_ || steps >= max_) {
        report(error(errc::corrupt, "free entry list out of range or cyclic")
                   .with_value("entry", idx));
        ++s.problems;
        break;
      }
      if (in_use(idx)) {
        report(
            error(errc::corrupt, "free entry list holds an entry in use").with_value("entry", idx));
        ++s.problems;
      }
      ++free_count;
      idx = detail::load32(base_, entry(idx) + 4);
    }
    // Every slot: a valid entry in use, whose tag and home group agree with its hash; and the
    // overflow counts exactly those of the slots' probes.
    std::uint64_t slotted = 0;
    for (std::uint32_t g = 0; g <= gmask_; ++g) {
      for (std::uint32_t k = 1; k <= group_slots; ++k) {
        const std::uint32_t v = detail::load32(base_, slot(g, k));
        if (v == 0) continue;
        ++slotted;
        const std::uint32_t i = (v & idx_mask_) - 1u;
        if ((v & idx_mask_) == 0 || i >= max_ || !in_use(i) ||
            slot_value(detail::load32(base_, entry(i)), i) != v) {
          report(error(errc::corrupt, "index slot names no entry in use, or with another tag")
                     .with_value("group", g)
                     .with_value("slot", k));
          ++s.problems;
        }
      }
    }
    check_overflow(report, s);
    for (std::uint32_t i = 0; i < max_; ++i) {
      if (!in_use(i)) continue;
      ++s.in_use;
      const std::uint32_t meta = detail::load32(base_, entry(i) + 24);
      const std::uint32_t nlen = meta & 0xFFu, klen = (meta >> 8) & 0xFFu;
      if (nlen == 0 || nlen > max_name_length || klen > max_key_length) {
        report(
            error(errc::corrupt, "entry's name or key length out of range").with_value("entry", i));
        ++s.problems;
        continue;
      }
      s.pages += detail::load32(base_, entry(i) + 12);
      const std::uint32_t h = detail::load32(base_, entry(i));
      if (h != hash(name(i))) {
        report(error(errc::corrupt, "entry's hash does not match its name").with_value("entry", i));
        ++s.problems;
        continue;
      }
      const lookup_result r = lookup(name(i), h);
      if (r.status != lookup_status::found || r.entry.index != i) {
        report(error(errc::corrupt, "entry unreachable by its name (or a duplicate name)")
                   .with_value("entry", i));
        ++s.problems;
      }
    }
    if (slotted != s.in_use) {
      report(error(errc::corrupt, "index slots do not hold exactly the entries in use")
                 .with_expected("slots used", s.in_use, slotted));
      ++s.problems;
    }
    if (free_count + s.in_use != max_) {
      report(error(errc::corrupt, "entries lost: neither free nor in use")
                 .with_expected("entries free + in use", max_, free_count + s.in_use));
      ++s.problems;
    }
    return s;
  }

 private:
  static constexpr std::uint32_t in_use_flag = 1u << 16;
  static constexpr std::uint32_t name_meta_mask = 0xFFu | in_use_flag;

  // Does the zero-padded name at `off` (whose length the caller has matched) equal `name`?
  // Word by word, the last word of the query padded with zeros as the stored name is: nothing
  // is copied before a tag matches, so a miss costs no work on the name.
  bool same_name(std::uint64_t off, std::string_view name) const {
    const std::size_t n = name.size() < max_name_length ? name.size() : max_name_length;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      std::uint32_t w;
      std::memcpy(&w, name.data() + i, 4);
      if (detail::load32(base_, off + i) != w) return false;
    }
    if (i == n) return true;
    std::uint32_t w = 0;
    std::memcpy(&w, name.data() + i, n - i);
    return detail::load32(base_, off + i) == w;
  }

  static void write_padded(bank_txn& t, std::uint64_t off, std::string_view s) {
    std::uint32_t w[8] = {};
    if (!s.empty()) std::memcpy(w, s.data(), s.size() < 32 ? s.size() : 32);
    for (std::uint32_t i = 0; i < 8; ++i) t.store_unreachable(off + 4ull * i, w[i]);
  }

  // The slots (bit k for slot k, 1..15) of the group at `line` whose tag is `tag`: candidates
  // that the caller loads again and checks (an empty slot matches the tag 0). One SSE2 compare
  // of the whole line where there is one; a loop of atomic word loads elsewhere (Cortex-M, and
  // builds that watch every load: ThreadSanitizer, the line counter's load hook). The vector
  // load reads each aligned 32-bit slot whole, and a slot that changes meanwhile is caught by
  // the caller's reload and by the find's sequence word, as for the scalar loads.
  std::uint32_t match_tags(std::uint64_t line, std::uint32_t tag) const {
#if HOTRESTART_SIMD_PROBE
    const __m128i want = _mm_set1_epi32(static_cast<int>(tag));
    const __m128i mask = _mm_set1_epi32(static_cast<int>(~idx_mask_));
    const auto* p = reinterpret_cast<const __m128i*>(base_ + line);
    std::uint32_t bits = 0;
    for (std::uint32_t i = 0; i < 4; ++i) {
      const __m128i eq = _mm_cmpeq_epi32(_mm_and_si128(_mm_loadu_si128(p + i), mask), want);
      bits |= static_cast<std::uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(eq))) << (4 * i);
    }
    return bits & ~1u;  // word 0 is the overflow count
#else
    std::uint32_t bits = 0;
    for (std::uint32_t k = 1; k <= group_slots; ++k)
      if ((detail::load32(base_, line + 4ull * k) & ~idx_mask_) == tag) bits |= 1u << k;
    return bits;
#endif
  }

  std::uint32_t slot_value(std::uint32_t h, std::uint32_t idx) const {
    return (h & ~idx_mask_) | (idx + 1u);
  }

  // The first empty slot of group `g` (1..15), or 0 when it is full; outside a transaction.
  std::uint32_t empty_slot_raw(std::uint32_t g) const {
    for (std::uint32_t k = 1; k <= group_slots; ++k)
      if (detail::load32(base_, slot(g, k)) == 0) return k;
    return 0;
  }

  // Stores entry `idx` into the first empty slot of its probe sequence, counting the full
  // groups it passes. The slot's store is the last: it publishes the entry.
  [[nodiscard]] result<void> place(bank_txn& t, std::uint32_t h, std::uint32_t idx) const {
    std::uint32_t g = h & gmask_;
    for (std::uint32_t probes = 0; probes <= gmask_; ++probes) {
      // Candidates from the bank's bytes (tag bits 0: the empty slots among them), each checked
      // through the transaction. A slot that only this transaction emptied is not offered: the
      // entry then goes one group further, which the overflow counts describe as well.
      for (std::uint32_t bits = match_tags(group(g), 0); bits != 0; bits &= bits - 1) {
        const auto k = static_cast<std::uint32_t>(std::countr_zero(bits));
        if (t.load(slot(g, k)) == 0) return t.store(slot(g, k), slot_value(h, idx));
      }
      if (auto r = t.store(group(g), t.load(group(g)) + 1); !r) return r;
      g = (g + 1) & gmask_;
    }
    return corrupt("no empty slot in the whole index", idx);
  }

  // Clears entry `idx`'s slot (hash `h`) and takes its probe off the overflow counts.
  [[nodiscard]] result<void> unplace(bank_txn& t, std::uint32_t h, std::uint32_t idx) const {
    const std::uint32_t want = slot_value(h, idx);
    const std::uint32_t home = h & gmask_;
    std::uint32_t g = home;
    for (std::uint32_t probes = 0; probes <= gmask_; ++probes) {
      // The entry's slot holds `want` in the bank's bytes (no transaction places and removes
      // the same entry): candidates by tag, each checked through the transaction.
      for (std::uint32_t bits = match_tags(group(g), want & ~idx_mask_); bits != 0;
           bits &= bits - 1) {
        const auto k = static_cast<std::uint32_t>(std::countr_zero(bits));
        if (t.load(slot(g, k)) != want) continue;
        if (auto r = t.store(slot(g, k), 0); !r) return r;
        for (std::uint32_t p = home; p != g; p = (p + 1) & gmask_) {
          const std::uint32_t n = t.load(group(p));
          if (n == 0) return corrupt("index overflow count below the probes passing it", idx);
          if (auto r = t.store(group(p), n - 1); !r) return r;
        }
        return {};
      }
      if (t.load(group(g)) == 0) break;
      g = (g + 1) & gmask_;
    }
    return corrupt("entry is not in the index", idx);
  }

  void clear_index() const {
    for (std::uint32_t g = 0; g <= gmask_; ++g)
      for (std::uint32_t w = 0; w < 16; ++w) detail::store32(base_, group(g) + 4ull * w, 0);
  }

  // Recomputes every group's overflow count from the slots and reports each that differs.
  template <class Report>
  void check_overflow(Report& report, registry_census& s) const {
    // A used slot in group `at` whose home is h adds one to each group h, h+1, ..., at-1.
    // For group g, the entries placed after it are read group by group until one that no
    // probe passed: O(groups) in all, as overflows are short.
    const std::uint32_t groups = gmask_ + 1;
    for (std::uint32_t g = 0; g < groups; ++g) {
      std::uint32_t expect = 0;
      // Entries placed at or after g + 1 whose home is at or before g (cyclically, within the
      // groups a probe can pass: at most groups - 1).
      for (std::uint32_t d = 1; d < groups; ++d) {
        const std::uint32_t at = (g + d) & gmask_;
        std::uint32_t here = 0;
        for (std::uint32_t k = 1; k <= group_slots; ++k) {
          const std::uint32_t v = detail::load32(base_, slot(at, k));
          const std::uint32_t i = (v & idx_mask_) - 1u;
          if (v == 0 || i >= max_) continue;
          const std::uint32_t home = detail::load32(base_, entry(i)) & gmask_;
          // distance from home to `at` greater than from g to `at`: the probe passed g.
          if (((at - home) & gmask_) >= d) ++here;
        }
        expect += here;
        // No probe passed `at` (its own count is checked in its turn): none from g went on.
        if (detail::load32(base_, group(at)) == 0) break;
      }
      const std::uint32_t found = detail::load32(base_, group(g));
      if (found != expect) {
        report(error(errc::corrupt, "index overflow count disagrees with the slots")
                   .with_value("group", g)
                   .with_expected("overflow count", expect, found));
        ++s.problems;
      }
    }
  }

  static tl::unexpected<error> corrupt(const char* what, std::uint32_t idx) {
    return fail(error(errc::corrupt, what).with_value("entry", idx));
  }

  std::uint64_t group(std::uint32_t g) const {
    return region_ + 64 + group_bytes * g;
  }
  std::uint64_t slot(std::uint32_t g, std::uint32_t k) const {
    return group(g) + 4ull * k;
  }
  std::uint64_t entry(std::uint32_t i) const {
    return entries_ + entry_bytes * i;
  }
  std::uint64_t key_of(std::uint32_t i) const {
    return keys_ + key_bytes * i;
  }

  std::byte* base_;
  std::uint64_t region_;
  std::uint64_t entries_;
  std::uint64_t keys_;
  std::uint32_t max_;
  std::uint32_t gmask_;
  std::uint32_t idx_mask_;
};

static_assert(name_registry<hash_registry>);
static_assert(hash_registry::entries_offset(1) == (64 + 4ull * 16 + 63) / 64 * 64 &&
                  hash_registry::entries_offset(100000) == (64 + 4ull * 262144 + 63) / 64 * 64,
              "the region keeps format version 2's size (conversion in place)");

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_HASH_REGISTRY_HPP
