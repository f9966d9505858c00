// SPDX-License-Identifier: MIT
// The default block allocator: extents of whole pages with boundary tags and segregated free
// lists (one per power-of-two size class), so that allocation and free are O(1) for the common
// cases, free extents coalesce at once, and each operation makes a bounded number of stores.
#ifndef HOTRESTART_POLICIES_EXTENT_ALLOCATOR_HPP
#define HOTRESTART_POLICIES_EXTENT_ALLOCATOR_HPP

#include <bit>
#include <cstddef>
#include <cstdint>

#include "../detail/journal.hpp"
#include "../detail/words.hpp"
#include "../error.hpp"
#include "concepts.hpp"

namespace hotrestart {

/// Region layout (offsets from the region's start):
///   0      class bitmap: bit c set when free list c is not empty
///   4      32 list heads (first page of a free extent, or nil)
///   192    one 12-byte record per page: tag, next, prev
/// A tag is meaningful on the first and last page of an extent: bit 31 set for a used extent,
/// the low 31 bits its length in pages. A free extent's first record holds its list links; a
/// used extent's first record holds, in `next`, the index of the registry entry that owns it
/// (its `prev` means nothing). An allocation that leaves the rest of a free extent in the same
/// class takes the extent's last pages, and a free that only grows its left neighbour within
/// its class extends it: neither touches a list (four and two stores). A free that only grows
/// its right neighbour within its class moves that extent's list node to its new first page.
class extent_allocator {
 public:
  static constexpr std::uint32_t layout_id = 0x45585431u;  // "EXT1"
  static constexpr std::uint32_t classes = 32;
  static constexpr std::uint32_t used_bit = 0x80000000u;

  static constexpr std::uint64_t region_bytes(std::uint32_t total_pages) {
    return records + 12ull * total_pages;
  }

  extent_allocator(std::byte* base, std::uint64_t region, std::uint32_t total_pages)
      : base_(base), region_(region), total_(total_pages) {}

  /// Lays out a fresh region: one free extent covering every page. Not journaled (creation
  /// happens before the bank is visible).
  void format() const {
    detail::store32(base_, region_, 0);
    for (std::uint32_t c = 0; c < classes; ++c) detail::store32(base_, head_off(c), detail::nil);
    raw_tag(0, total_);
    raw_tag(total_ - 1, total_);
    const std::uint32_t c = class_of(total_);
    detail::store32(base_, rec(0) + 4, detail::nil);
    detail::store32(base_, rec(0) + 8, detail::nil);
    detail::store32(base_, head_off(c), 0);
    detail::store32(base_, region_, 1u << c);
  }

  /// Takes `pages` contiguous pages for the registry entry `owner`. Returns the first page, or
  /// bank_full (with the request and the largest free extent), or corrupt.
  [[nodiscard]] result<std::uint32_t> allocate(bank_txn& t, std::uint32_t pages,
                                               std::uint32_t owner) const {
    if (pages == 0 || pages > total_)
      return fail(error(errc::bank_full, "request larger than the whole bank")
                      .with_requested("pages", pages, total_, "in the whole bank"));
    const std::uint32_t bitmap = t.load(region_);
    const std::uint32_t cmin =
        pages == 1 ? 0u : static_cast<std::uint32_t>(std::bit_width(pages - 1));
    std::uint32_t p = detail::nil;
    std::uint32_t c = 0;
    const std::uint32_t mask = cmin < classes ? bitmap & (~0u << cmin) : 0u;
    if (mask != 0) {
      c = static_cast<std::uint32_t>(std::countr_zero(mask));
      p = t.load(head_off(c));
    } else {
      // Only the class below may hold an extent that fits: search it (first fit).
      c = class_of(pages);
      if (c < cmin && (bitmap & (1u << c)) != 0) {
        std::uint32_t q = t.load(head_off(c));
        for (std::uint32_t steps = 0; q != detail::nil; ++steps) {
          if (q >= total_ || steps > total_) return corrupt("free list link out of range", q);
          if ((tag(t, q) & ~used_bit) >= pages) {
            p = q;
            break;
          }
          q = t.load(rec(q) + 4);
        }
      }
    }
    if (p == detail::nil)
      return fail(
          error(errc::bank_full, "no free extent large enough for the block")
              .with_requested("pages", pages, largest_free(), "free (largest free extent)"));
    if (p >= total_) return corrupt("free list head out of range", p);
    const std::uint32_t len = tag(t, p);
    if ((len & used_bit) != 0 || len < pages || p + static_cast<std::uint64_t>(len) > total_ ||
        tag(t, p + len - 1) != len)
      return corrupt("free extent's tags are inconsistent", p);
    if (len > pages && class_of(len - pages) == class_of(len)) {
      // The common case: take the extent's last pages. What stays free keeps its first page,
      // so it stays where it is on its list: two tags change, no link.
      const std::uint32_t used = p + len - pages;
      if (auto r = set_tags(t, p, len - pages); !r) return fail(r.error());
      if (auto r = set_tags(t, used, pages | used_bit); !r) return fail(r.error());
      if (auto r = t.store(rec(used) + 4, owner); !r) return fail(r.error());
      return used;
    }
    if (auto r = unlink(t, p, class_of(len)); !r) return fail(r.error());
    if (len > pages) {
      const std::uint32_t rest = p + pages;
      const std::uint32_t rlen = len - pages;
      if (auto r = set_tags(t, rest, rlen); !r) return fail(r.error());
      if (auto r = push(t, rest, rlen); !r) return fail(r.error());
    }
    if (auto r = set_tags(t, p, pages | used_bit); !r) return fail(r.error());
    if (auto r = t.store(rec(p) + 4, owner); !r) return fail(r.error());
    if (auto r = t.store(rec(p) + 8, detail::nil); !r) return fail(r.error());
    return p;
  }

  /// Returns the extent [first, first + pages) and coalesces it with free neighbours.
  [[nodiscard]] result<void> deallocate(bank_txn& t, std::uint32_t first,
                                        std::uint32_t pages) const {
    if (pages == 0 || first >= total_ || pages > total_ - first)
      return corrupt("block's extent is outside the bank", first);
    if (tag(t, first) != (pages | used_bit) || tag(t, first + pages - 1) != (pages | used_bit))
      return corrupt("block's pages do not match the allocator's tags", first);
    std::uint32_t a = first;
    std::uint32_t len = pages;
    if (a > 0) {
      const std::uint32_t lt = tag(t, a - 1);
      if ((lt & used_bit) == 0) {
        if (lt == 0 || lt > a || tag(t, a - lt) != lt)
          return corrupt("left neighbour's tags are inconsistent", a - 1);
        const std::uint64_t end = static_cast<std::uint64_t>(a) + len;
        const bool right_free = end < total_ && (tag(t, a + len) & used_bit) == 0;
        if (!right_free && class_of(lt + len) == class_of(lt)) {
          // The common case: the free extent on the left grows over the block, keeping its
          // first page and so its place on its list: two tags change, no link.
          return set_tags(t, a - lt, lt + len);
        }
        if (auto r = unlink(t, a - lt, class_of(lt)); !r) return r;
        a -= lt;
        len += lt;
      }
    }
    if (static_cast<std::uint64_t>(a) + len < total_) {
      const std::uint32_t right = a + len;
      const std::uint32_t rt = tag(t, right);
      if ((rt & used_bit) == 0) {
        if (rt == 0 || rt > total_ - right || tag(t, right + rt - 1) != rt)
          return corrupt("right neighbour's tags are inconsistent", right);
        if (a == first && class_of(rt + len) == class_of(rt)) {
          // The free extent on the right grows down over the block, staying in its class: its
          // list node moves to the block's first page, in the same place on its list.
          if (auto r = unlink(t, right, class_of(rt), a); !r) return r;
          return set_tags(t, a, rt + len);
        }
        if (auto r = unlink(t, right, class_of(rt)); !r) return r;
        len += rt;
      }
    }
    if (auto r = set_tags(t, a, len); !r) return r;
    return push(t, a, len);
  }

  /// Length of the largest free extent, in pages (0 when the bank is full).
  std::uint32_t largest_free() const {
    const std::uint32_t bitmap = detail::load32(base_, region_);
    if (bitmap == 0) return 0;
    const std::uint32_t c = static_cast<std::uint32_t>(std::bit_width(bitmap) - 1);
    std::uint32_t best = 0;
    std::uint32_t q = detail::load32(base_, head_off(c));
    for (std::uint32_t steps = 0; q < total_ && steps <= total_; ++steps) {
      const std::uint32_t len = tag(q) & ~used_bit;
      if (len > best) best = len;
      q = detail::load32(base_, rec(q) + 4);
    }
    return best;
  }

  /// The registry entry that owns the used extent starting at `first` (nil if none).
  std::uint32_t owner_of(std::uint32_t first, std::uint32_t pages) const {
    if (first >= total_ || pages == 0 || pages > total_ - first) return detail::nil;
    if (tag(first) != (pages | used_bit) || tag(first + pages - 1) != (pages | used_bit))
      return detail::nil;
    return detail::load32(base_, rec(first) + 4);
  }

  /// Full scan (not used by open): walks every extent and every free list, reports each
  /// problem through `report(const error&)`, and returns what it counted.
  template <class Report>
  allocator_census check(Report&& report) const {
    allocator_census s;
    bool prev_free = false;
    for (std::uint32_t p = 0; p < total_;) {
      const std::uint32_t tg = tag(p);
      const std::uint32_t len = tg & ~used_bit;
      if (len == 0 || len > total_ - p) {
        report(error(errc::corrupt, "extent length out of range").with_value("page", p));
        ++s.problems;
        return s;
      }
      if (tag(p + len - 1) != tg) {
        report(error(errc::corrupt, "extent's first and last tags differ")
                   .with_value("page", p)
                   .with_expected_hex("last tag", tg, tag(p + len - 1)));
        ++s.problems;
      }
      if ((tg & used_bit) != 0) {
        s.used_pages += len;
        ++s.used_extents;
        prev_free = false;
      } else {
        if (prev_free) {
          report(error(errc::corrupt, "two free extents side by side (not coalesced)")
                     .with_value("page", p));
          ++s.problems;
        }
        s.free_pages += len;
        ++s.free_extents;
        prev_free = true;
      }
      p += len;
    }
    const std::uint32_t bitmap = detail::load32(base_, region_);
    std::uint32_t listed = 0;
    for (std::uint32_t c = 0; c < classes; ++c) {
      std::uint32_t q = detail::load32(base_, head_off(c));
      if (((bitmap >> c) & 1u) != (q != detail::nil ? 1u : 0u)) {
        report(error(errc::corrupt, "class bitmap disagrees with its free list")
                   .with_value("class", c));
        ++s.problems;
      }
      std::uint32_t prev = detail::nil;
      for (std::uint32_t steps = 0; q != detail::nil; ++steps) {
        if (q >= total_ || steps > total_) {
          report(
              error(errc::corrupt, "free list link out of range or cyclic").with_value("class", c));
          ++s.problems;
          break;
        }
        const std::uint32_t tg = tag(q);
        if ((tg & used_bit) != 0 || tg == 0 || class_of(tg) != c) {
          report(
              error(errc::corrupt, "free list holds a page that is not a free extent of its class")
                  .with_value("class", c)
                  .with_value("page", q));
          ++s.problems;
          break;
        }
        if (detail::load32(base_, rec(q) + 8) != prev) {
          report(error(errc::corrupt, "free list back link is wrong")
                     .with_value("page", q)
                     .with_expected("back link", prev, detail::load32(base_, rec(q) + 8)));
          ++s.problems;
        }
        ++listed;
        prev = q;
        q = detail::load32(base_, rec(q) + 4);
      }
    }
    if (listed != s.free_extents) {
      report(error(errc::corrupt, "free extents missing from the free lists")
                 .with_expected("free extents listed", s.free_extents, listed));
      ++s.problems;
    }
    return s;
  }

 private:
  static constexpr std::uint64_t records = 192;

  static constexpr std::uint32_t class_of(std::uint32_t len) {
    return static_cast<std::uint32_t>(std::bit_width(len) - 1);
  }
  std::uint64_t head_off(std::uint32_t c) const { return region_ + 4 + 4ull * c; }
  std::uint64_t rec(std::uint32_t page) const { return region_ + records + 12ull * page; }
  std::uint32_t tag(std::uint32_t page) const { return detail::load32(base_, rec(page)); }
  // On a mutation path: the tag as the transaction sees it (its own pending stores first).
  std::uint32_t tag(const bank_txn& t, std::uint32_t page) const { return t.load(rec(page)); }
  void raw_tag(std::uint32_t page, std::uint32_t v) const { detail::store32(base_, rec(page), v); }

  static tl::unexpected<error> corrupt(const char* what, std::uint32_t page) {
    return fail(error(errc::corrupt, what).with_value("page", page));
  }

  [[nodiscard]] result<void> set_tags(bank_txn& t, std::uint32_t first, std::uint32_t tg) const {
    const std::uint32_t len = tg & ~used_bit;
    if (auto r = t.store(rec(first), tg); !r) return r;
    if (len > 1) return t.store(rec(first + len - 1), tg);
    return {};
  }

  // Puts the free extent at `p` at the head of its class list.
  [[nodiscard]] result<void> push(bank_txn& t, std::uint32_t p, std::uint32_t len) const {
    const std::uint32_t c = class_of(len);
    const std::uint32_t old = t.load(head_off(c));
    if (old != detail::nil && old >= total_) return corrupt("free list head out of range", old);
    if (auto r = t.store(rec(p) + 4, old); !r) return r;
    if (auto r = t.store(rec(p) + 8, detail::nil); !r) return r;
    if (old != detail::nil)
      if (auto r = t.store(rec(old) + 8, p); !r) return r;
    if (auto r = t.store(head_off(c), p); !r) return r;
    const std::uint32_t bitmap = t.load(region_);
    if ((bitmap & (1u << c)) == 0) return t.store(region_, bitmap | (1u << c));
    return {};
  }

  // Takes list node `p` (class `c`) out of its list, or, when `to` is not nil, puts the node
  // at page `to` in its place (a free extent that now starts there, in the same class): its
  // predecessor (or the list head) and its successor then point to `to`. Moving makes four to
  // six stores where an unlink and a push make eight.
  [[nodiscard]] result<void> unlink(bank_txn& t, std::uint32_t p, std::uint32_t c,
                                    std::uint32_t to = detail::nil) const {
    const std::uint32_t next = t.load(rec(p) + 4);
    const std::uint32_t prev = t.load(rec(p) + 8);
    if ((next != detail::nil && next >= total_) || (prev != detail::nil && prev >= total_))
      return corrupt("free list link out of range", p);
    const bool moving = to != detail::nil;
    const std::uint32_t forward = moving ? to : next;
    if (prev != detail::nil) {
      if (t.load(rec(prev) + 4) != p) return corrupt("free list links disagree", p);
      if (auto r = t.store(rec(prev) + 4, forward); !r) return r;
    } else {
      if (t.load(head_off(c)) != p) return corrupt("free list head disagrees", p);
      if (auto r = t.store(head_off(c), forward); !r) return r;
      if (forward == detail::nil)
        if (auto r = t.store(region_, t.load(region_) & ~(1u << c)); !r) return r;
    }
    if (next != detail::nil)
      if (auto r = t.store(rec(next) + 8, moving ? to : prev); !r) return r;
    if (!moving) return {};
    if (auto r = t.store(rec(to) + 4, next); !r) return r;
    return t.store(rec(to) + 8, prev);
  }

  std::byte* base_;
  std::uint64_t region_;
  std::uint32_t total_;
};

static_assert(block_allocator<extent_allocator>);

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_EXTENT_ALLOCATOR_HPP
