// SPDX-License-Identifier: MIT
// Relative pointers: links between objects in a bank that stay valid wherever the bank is
// mapped (each process maps it at its own address; ChorusOS restarted at the same addresses,
// we do not rely on that).
//
//   struct node { std::uint32_t value; hotrestart::offset_ptr<node> next; };
//   auto region = hotrestart::region_of(bank);
//   n->next = *hotrestart::offset_ptr<node>::make(region, other);   // store a link
//   node* p = n->next.get(region);                                  // nullptr if null or out of range
//
// An offset_ptr is 8 bytes (a little-endian u64 offset from the bank's first byte; 0 is null,
// since offset 0 is the bank header and never a block), trivially copyable, so it can sit in
// any typed block. Resolution never trusts the offset: it must lie in the bank's data pages,
// leave room for the object (or the `count` objects asked for) and be aligned for T. It does
// not check that a live block holds the bytes: a link into a block that was freed resolves to
// whatever pages are there now, as a raw pointer would.
#ifndef HOTRESTART_OFFSET_PTR_HPP
#define HOTRESTART_OFFSET_PTR_HPP

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "config.hpp"
#include "error.hpp"

namespace hotrestart {

/// The bytes of one mapping of a bank that relative pointers may designate: `base` is the
/// bank's first byte in this process, offsets in [begin, end) are its data pages.
struct bank_region {
  std::byte* base = nullptr;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  constexpr bool contains(std::uint64_t off, std::uint64_t bytes) const {
    return base != nullptr && off >= begin && off <= end && bytes <= end - off;
  }
};

/// The region of `bank` (any basic_bank) in this process.
template <class Bank>
bank_region region_of(Bank& bank) {
  return {bank.backend().data(), bank.layout().data_off, bank.layout().file_bytes};
}

/// A pointer to a T inside a bank, stored as its offset from the bank's first byte.
template <class T>
class offset_ptr {
  static_assert(!std::is_void_v<T> && !std::is_reference_v<T> && !std::is_function_v<T>,
                "offset_ptr<T> designates an object: T must be an object type");

 public:
  using element_type = T;

  constexpr offset_ptr() = default;
  constexpr offset_ptr(std::nullptr_t) {}
  /// A pointer to T converts to a pointer to const T.
  template <class U>
  requires(std::is_same_v<const U, T> &&
           !std::is_same_v<U, T>) constexpr offset_ptr(const offset_ptr<U>& o)
      : off_(o.offset()) {}

  /// From a raw offset (as stored by another tool). Not checked until it is resolved.
  static constexpr offset_ptr from_offset(std::uint64_t off) {
    offset_ptr p;
    p.off_ = off;
    return p;
  }

  /// The relative pointer to `p`, which must point into `r`'s data pages, aligned for T, with
  /// room for one T; `nullptr` gives null. Error: bad_size (outside the bank or misaligned).
  [[nodiscard]] static result<offset_ptr> make(const bank_region& r, T* p) {
    if (p == nullptr) return offset_ptr{};
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    const auto base = reinterpret_cast<std::uintptr_t>(r.base);
    if (r.base == nullptr || addr < base)
      return fail(error(errc::bad_size, "pointer lies before the bank").with_hex("address", addr));
    const std::uint64_t off = addr - base;
    if (!r.contains(off, sizeof(T)))
      return fail(error(errc::bad_size, "pointer does not lie inside the bank's data pages")
                      .with_range("offset", off, r.begin, r.end));
    if (off % alignof(T) != 0)
      return fail(error(errc::bad_size, "pointer is misaligned for its type")
                      .with_value("alignment", alignof(T))
                      .with_value("offset", off));
    return from_offset(off);
  }
  template <class Bank>
  [[nodiscard]] static result<offset_ptr> make(Bank& bank, T* p) {
    return make(region_of(bank), p);
  }

  /// The object in this mapping of the bank: nullptr for null; corrupt when the offset lies
  /// outside the data pages, leaves no room for `count` objects, or is misaligned.
  [[nodiscard]] result<T*> resolve(const bank_region& r, std::uint64_t count = 1) const {
    if (off_ == 0) return static_cast<T*>(nullptr);
    if (count == 0 || count > (r.end - r.begin) / sizeof(T))
      return fail(error(errc::corrupt, "relative pointer's object count does not fit the bank")
                      .with_value("objects", count));
    if (!r.contains(off_, count * sizeof(T)))
      return fail(error(errc::corrupt, "relative pointer lies outside the bank's data pages")
                      .with_range("offset", off_, r.begin, r.end));
    if (off_ % alignof(T) != 0)
      return fail(error(errc::corrupt, "relative pointer is misaligned for its type")
                      .with_value("alignment", alignof(T))
                      .with_value("offset", off_));
    return reinterpret_cast<T*>(r.base + off_);
  }
  template <class Bank>
  [[nodiscard]] result<T*> resolve(Bank& bank, std::uint64_t count = 1) const {
    return resolve(region_of(bank), count);
  }

  /// Like resolve, with nullptr for null and for every invalid offset.
  T* get(const bank_region& r) const {
    auto p = resolve(r);
    return p ? *p : nullptr;
  }
  template <class Bank>
  T* get(Bank& bank) const {
    return get(region_of(bank));
  }

  /// No check at all: base + offset (null gives nullptr). For loops that checked once.
  T* unchecked(std::byte* base) const {
    return off_ == 0 ? nullptr : reinterpret_cast<T*>(base + off_);
  }

  constexpr std::uint64_t offset() const { return off_; }
  constexpr bool is_null() const { return off_ == 0; }
  constexpr explicit operator bool() const { return off_ != 0; }
  friend constexpr bool operator==(const offset_ptr&, const offset_ptr&) = default;
  friend constexpr auto operator<=>(const offset_ptr&, const offset_ptr&) = default;

 private:
  std::uint64_t off_ = 0;
};

// It is part of the persistent format of the user's types: 8 bytes, nothing else.
static_assert(sizeof(offset_ptr<int>) == 8 && alignof(offset_ptr<int>) == 8);
static_assert(std::is_trivially_copyable_v<offset_ptr<int>>);
static_assert(std::is_standard_layout_v<offset_ptr<int>>);

}  // namespace hotrestart

#endif  // HOTRESTART_OFFSET_PTR_HPP
