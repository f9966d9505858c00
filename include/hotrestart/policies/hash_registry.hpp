// SPDX-License-Identifier: MIT
// The default naming registry: a chained hash table over a fixed table of entries. Lookups
// take no lock and no retry unless a free runs at the same moment (the bank's sequence word);
// insert makes its entry visible with one store at commit; remove makes a bounded number.
#ifndef HOTRESTART_POLICIES_HASH_REGISTRY_HPP
#define HOTRESTART_POLICIES_HASH_REGISTRY_HPP

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

namespace hotrestart {

/// Region layout (offsets from the region's start):
///   0      free entry list head (index or nil)
///   4      bucket mask (bucket count - 1; immutable after creation)
///   64     buckets: one u32 per bucket, the first entry of its chain or nil
///   E      entries, 64 bytes each (one cache line), E = 64-byte aligned end of the buckets:
///            0 hash   4 next   8 first page   12 pages   16 size (u64)
///           24 name length | key length << 8 | in-use flag << 16   28 key hash
///           32 name (32 bytes, zero padded)
///   K      keys, 32 bytes each (zero padded), K = E + 64 * max_blocks
/// A lookup reads one bucket word and one line per entry on the chain; the keys, read only by
/// free_all and the tools, are kept apart so the entries pack densely (fewer pages, fewer TLB
/// misses on large banks).
class hash_registry {
 public:
  static constexpr std::uint32_t layout_id = 0x48524732u;  // "HRG2"
  static constexpr std::uint64_t entry_bytes = 64;
  static constexpr std::uint64_t key_bytes = 32;

  static constexpr std::uint32_t bucket_count(std::uint32_t max_blocks) {
    // Load factor at most 1/2; at least 16 buckets.
    const std::uint64_t want = 2ull * max_blocks;
    return static_cast<std::uint32_t>(std::bit_ceil(want < 16 ? 16 : want));
  }
  static constexpr std::uint64_t entries_offset(std::uint32_t max_blocks) {
    return (64 + 4ull * bucket_count(max_blocks) + 63) / 64 * 64;
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
        mask_(bucket_count(max_blocks) - 1) {}

  static std::uint32_t hash(std::string_view name) {
    return detail::hash_bytes(reinterpret_cast<const unsigned char*>(name.data()), name.size(),
                              detail::name_seed);
  }

  void format() const {
    detail::store32(base_, region_, 0);
    detail::store32(base_, region_ + 4, mask_);
    for (std::uint32_t b = 0; b <= mask_; ++b) detail::store32(base_, bucket(b), detail::nil);
    for (std::uint32_t i = 0; i < max_; ++i) {
      detail::store32(base_, entry(i) + 4, i + 1 < max_ ? i + 1 : detail::nil);
      detail::store32(base_, entry(i) + 24, 0);
    }
  }

  /// Finds `name`. Safe without the lock: it only reads, bounds-checks every link, and gives
  /// up with `inconsistent` after max_blocks steps.
  lookup_result lookup(std::string_view name, std::uint32_t h) const {
    packed_name q(name);
    // Links are loaded with acquire: an entry published at commit (release store of its
    // bucket head) is then seen with every field its writer filled in before.
    std::uint32_t idx = detail::load32_acquire(base_, bucket(h & mask_));
    const std::uint32_t want_meta = static_cast<std::uint32_t>(name.size()) | in_use_flag;
    for (std::uint32_t steps = 0; idx != detail::nil; ++steps) {
      if (idx >= max_ || steps >= max_) return {lookup_status::inconsistent, {}};
      const std::uint64_t e = entry(idx);
      if (detail::load32(base_, e) == h &&
          (detail::load32(base_, e + 24) & name_meta_mask) == want_meta &&
          q.equals(base_, e + 32)) {
        return {lookup_status::found,
                {idx, detail::load32(base_, e + 8), detail::load32(base_, e + 12),
                 detail::load64(base_, e + 16)}};
      }
      idx = detail::load32_acquire(base_, e + 4);
    }
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
    const std::uint64_t b = bucket(d.hash & mask_);
    const std::uint32_t chain = t.load(b);
    if (chain != detail::nil && chain >= max_) return corrupt("bucket head out of range", chain);
    if (auto r = t.store(region_, next_free); !r) return fail(r.error());
    // The entry is unreachable until the bucket store at commit: fill it directly.
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
    if (auto r = t.store(e + 4, chain); !r) return fail(r.error());
    const std::uint32_t meta = static_cast<std::uint32_t>(d.name.size()) |
                               (static_cast<std::uint32_t>(d.key.size()) << 8) | in_use_flag;
    if (auto r = t.store(e + 24, meta); !r) return fail(r.error());
    if (auto r = t.store(b, idx); !r) return fail(r.error());
    return idx;
  }

  [[nodiscard]] result<void> remove(bank_txn& t, std::uint32_t idx) const {
    if (idx >= max_ || (t.load(entry(idx) + 24) & in_use_flag) == 0)
      return corrupt("entry to remove is not in use", idx);
    const std::uint64_t e = entry(idx);
    if (auto r = unlink_chain(t, idx); !r) return r;
    if (auto r = t.store(e + 24, 0); !r) return r;
    if (auto r = t.store(e + 4, t.load(region_)); !r) return r;
    return t.store(region_, idx);
  }

  /// Gives entry `idx` a new name (it moves to the new name's bucket), at commit.
  [[nodiscard]] result<void> rename(bank_txn& t, std::uint32_t idx, std::string_view new_name,
                                    std::uint32_t new_hash) const {
    if (idx >= max_ || (t.load(entry(idx) + 24) & in_use_flag) == 0)
      return corrupt("entry to rename is not in use", idx);
    const std::uint64_t e = entry(idx);
    if (auto r = unlink_chain(t, idx); !r) return r;
    if (auto r = t.store(e, new_hash); !r) return r;
    std::uint32_t w[8] = {};
    std::memcpy(w, new_name.data(), new_name.size() < 32 ? new_name.size() : 32);
    for (std::uint32_t i = 0; i < 8; ++i)
      if (auto r = t.store(e + 32 + 4ull * i, w[i]); !r) return r;
    const std::uint32_t meta =
        (t.load(e + 24) & ~0xFFu) | static_cast<std::uint32_t>(new_name.size());
    if (auto r = t.store(e + 24, meta); !r) return r;
    const std::uint64_t b = bucket(new_hash & mask_);
    const std::uint32_t chain = t.load(b);
    if (chain != detail::nil && chain >= max_) return corrupt("bucket head out of range", chain);
    if (auto r = t.store(e + 4, chain); !r) return r;
    return t.store(b, idx);
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
    std::uint64_t chained = 0;
    for (std::uint32_t b = 0; b <= mask_; ++b) {
      std::uint32_t i = detail::load32(base_, bucket(b));
      for (std::uint32_t steps = 0; i != detail::nil; ++steps) {
        if (i >= max_ || steps >= max_) {
          report(
              error(errc::corrupt, "bucket chain out of range or cyclic").with_value("bucket", b));
          ++s.problems;
          break;
        }
        ++chained;
        i = detail::load32(base_, entry(i) + 4);
      }
    }
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
    if (chained != s.in_use) {
      report(error(errc::corrupt, "bucket chains do not hold exactly the entries in use")
                 .with_expected("chained entries", s.in_use, chained));
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

  // A query name as eight zero-padded little-endian words, compared word by word.
  struct packed_name {
    std::uint32_t w[8] = {};
    std::uint32_t words = 0;
    explicit packed_name(std::string_view s) {
      const std::size_t n = s.size() < 32 ? s.size() : 32;
      if (n != 0) std::memcpy(w, s.data(), n);
      words = static_cast<std::uint32_t>((n + 3) / 4);
    }
    bool equals(const std::byte* base, std::uint64_t off) const {
      for (std::uint32_t i = 0; i < words; ++i)
        if (detail::load32(base, off + 4ull * i) != w[i]) return false;
      return true;
    }
  };

  static void write_padded(bank_txn& t, std::uint64_t off, std::string_view s) {
    std::uint32_t w[8] = {};
    if (!s.empty()) std::memcpy(w, s.data(), s.size() < 32 ? s.size() : 32);
    for (std::uint32_t i = 0; i < 8; ++i) t.store_unreachable(off + 4ull * i, w[i]);
  }

  // Takes entry `idx` off its bucket's chain (the store lock-free readers can see).
  [[nodiscard]] result<void> unlink_chain(bank_txn& t, std::uint32_t idx) const {
    const std::uint64_t e = entry(idx);
    std::uint64_t link = bucket(t.load(e) & mask_);
    for (std::uint32_t steps = 0;; ++steps) {
      const std::uint32_t cur = t.load(link);
      if (cur == idx) break;
      if (cur == detail::nil || cur >= max_ || steps >= max_)
        return corrupt("entry is not on its bucket's chain", idx);
      link = entry(cur) + 4;
    }
    return t.store(link, t.load(e + 4));
  }

  static tl::unexpected<error> corrupt(const char* what, std::uint32_t idx) {
    return fail(error(errc::corrupt, what).with_value("entry", idx));
  }

  std::uint64_t bucket(std::uint32_t b) const { return region_ + 64 + 4ull * b; }
  std::uint64_t entry(std::uint32_t i) const { return entries_ + entry_bytes * i; }
  std::uint64_t key_of(std::uint32_t i) const { return keys_ + key_bytes * i; }

  std::byte* base_;
  std::uint64_t region_;
  std::uint64_t entries_;
  std::uint64_t keys_;
  std::uint32_t max_;
  std::uint32_t mask_;
};

static_assert(name_registry<hash_registry>);

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_HASH_REGISTRY_HPP
