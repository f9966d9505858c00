// SPDX-License-Identifier: MIT
// Typed blocks: a trivially copyable T in a named block, with a header that says what the
// block holds (type name, schema version, size, alignment), migrations from older versions
// that are atomic across a crash, and updates of the value that are all-or-nothing.
//
//   struct counter { static constexpr std::string_view hr_type_name = "app::counter";
//                    static constexpr std::uint32_t hr_schema_version = 1;
//                    std::uint64_t hits; std::uint64_t misses; };
//   auto c = hotrestart::persistent<counter>::find_or_construct(bank, "PM1");
//   (*c)->hits++;                                       // in place: fast, not crash-atomic
//   c->update([](counter& v) { v.hits++; v.misses++; }); // all or nothing across a crash
//
// docs/typed.md has the layout, the costs and the crash analysis.
#ifndef HOTRESTART_TYPED_HPP
#define HOTRESTART_TYPED_HPP

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "bank.hpp"
#include "config.hpp"
#include "detail/words.hpp"
#include "error.hpp"
#include "names.hpp"
#include "offset_ptr.hpp"
#include "typed/format.hpp"

namespace hotrestart {

/// A typed block's name and the deletion key its block is created with (free_all). A
/// migration creates the new block with this key too.
struct typed_name {
  std::string_view name;
  std::string_view key;

  template <class S>
  requires std::convertible_to<const S&, std::string_view>
  constexpr typed_name(const S& n) : name(n) {}  // NOLINT: implicit on purpose
  template <class S>
  requires std::convertible_to<const S&, std::string_view>
  constexpr typed_name(const S& n, std::string_view k) : name(n), key(k) {}
};

/// How find_or_construct got its block.
enum class typed_origin : std::uint8_t { found, created, migrated };

/// Default initial value: T{} (value-initialised: zeroes, or the default member initialisers).
struct value_init_t {};
inline constexpr value_init_t value_init{};

/// A durability hook that does nothing: process crashes need none (see docs/typed.md).
struct no_sync {
  void operator()(const void*, std::size_t) const noexcept {}
};

/// A migration from the older type `Old` (its own type_schema: its name and version as they
/// were) to the current type. `fn(const Old&, T&)` fills the new value, which starts as the
/// initial value find_or_construct was given; it returns void, bool (false refuses) or
/// result<void>.
template <class Old, class F>
struct migration {
  using old_type = Old;
  F fn;
};
template <class Old, class F>
constexpr migration<Old, std::decay_t<F>> migrate_from(F&& fn) {
  return {std::forward<F>(fn)};
}

/// Reads and validates the typed header of any block (for tools: what does this block hold?).
/// Errors: type_mismatch (no typed header), version_mismatch, corrupt.
[[nodiscard]] inline result<typed_info> inspect_typed(const block& b) {
  return detail::read_typed_header(b.data, b.capacity);
}

/// A view of a typed block holding a T in this process's mapping. It stays valid while the
/// bank stays open and the block is neither freed nor replaced (a migration replaces it).
///
/// Two ways to change the value:
/// - in place, through `*p`, `p->`, `get()`: plain stores into the current slot; a crash in
///   the middle leaves whatever bytes were written.
/// - `update(f)` / `store(v)`: the new value is written into the other slot, then one aligned
///   32-bit release store switches slots. A crash at any instant leaves the old value or the
///   new one. Cost: one copy of T (update only) plus one store; see docs/typed.md.
/// One writer at a time per block (the caller serialises writers); `load()` may run in any
/// number of other threads or processes meanwhile and returns a value that was committed.
template <class T>
class persistent {
 public:
  static constexpr type_desc desc = type_desc_of<T>();
  static constexpr detail::typed_image image = detail::image_of(desc);
  using value_type = T;

  /// Opens an existing typed block. Errors: the name's and find's (not_found...),
  /// type_mismatch (another type, or a raw block), schema_mismatch (another version, or the
  /// same version with another size or alignment), version_mismatch, corrupt.
  template <class Bank>
  [[nodiscard]] static result<persistent> open(Bank& bank, std::string_view name) {
    auto f = bank.find(name);
    if (!f) return fail(f.error());
    if (fits(*f)) return persistent(f->data, typed_origin::found);
    if (auto v = validate(*f); !v) return fail(v.error());
    return persistent(f->data, typed_origin::found);
  }

  /// Opens the typed block `n`, or creates it holding `init` (a T, a callable `void(T&)`
  /// applied to T{}, or value_init). When the block holds an older type that one of
  /// `migrations` (migrate_from<Old>(fn)) accepts, builds the new value from it in a fresh
  /// block and switches the name over in one journaled step: a crash leaves the old value or
  /// the new one. Creation works the same way, so a name never shows a half-built block.
  /// Errors: those of open (when no migration applies), those of find_or_create and replace,
  /// bad_size (T's alignment exceeds the page size), already_exists (another process is
  /// building the same name right now: first construction of one name is not meant to race).
  template <class Bank, class Init = value_init_t, class... Migrations>
  [[nodiscard]] static result<persistent> find_or_construct(Bank& bank, typed_name n,
                                                            Init&& init = {},
                                                            Migrations&&... migrations) {
    auto f = bank.find(n.name);
    if (f && fits(*f)) return persistent(f->data, typed_origin::found);
    if (f) {
      auto info = detail::read_typed_header(f->data, f->capacity);
      if (!info) return fail(info.error());
      auto same = detail::match_type(*info, desc);
      if (same) return persistent(f->data, typed_origin::found);
      result<persistent> out = fail(same.error());
      bool tried = false;
      auto attempt = [&](auto& m) {
        using Old = typename std::remove_cvref_t<decltype(m)>::old_type;
        if (tried || !detail::match_type(*info, type_desc_of<Old>())) return;
        tried = true;
        const Old& old = *std::launder(reinterpret_cast<const Old*>(
            f->data + type_desc_of<Old>().shape.slot0 +
            std::uint64_t{info->generation & 1u} * type_desc_of<Old>().shape.stride));
        auto built = build(bank, n, [&](T& v) -> result<void> {
          if (auto r = initialise(v, init); !r) return r;
          return call_migration(m.fn, old, v);
        });
        if (built)
          out = persistent(*built, typed_origin::migrated);
        else
          out = fail(built.error());
      };
      (attempt(migrations), ...);
      (void)attempt;
      return out;
    }
    if (f.error().code != errc::not_found) return fail(f.error());
    auto built = build(bank, n, [&](T& v) { return initialise(v, init); });
    if (!built) return fail(built.error());
    return persistent(*built, typed_origin::created);
  }

  /// Frees the typed block `name` and any half-built replacement of it left by a crash.
  /// Errors: free's (not_found when there was neither).
  template <class Bank>
  [[nodiscard]] static result<void> destroy(Bank& bank, std::string_view name) {
    if (auto v = validate_name(name); !v) return v;
    const detail::shadow_name sh = detail::make_shadow_name(name);
    auto s = bank.free(detail::internal_access, sh.view());
    auto r = bank.free(name);
    if (!r && r.error().code == errc::not_found && s) return {};
    return r;
  }

  /// The typed block whose first byte is at `block_offset` in region `r` (a link kept in an
  /// offset_ptr or an integer). Validated like open. Errors: corrupt (outside the bank), the
  /// header's errors.
  [[nodiscard]] static result<persistent> at(const bank_region& r, std::uint64_t block_offset) {
    if (!r.contains(block_offset, typed_format::header_size))
      return fail(error(errc::corrupt, "typed block offset lies outside the bank's data pages")
                      .with_range("offset", block_offset, r.begin, r.end));
    std::byte* blk = r.base + block_offset;
    auto info = detail::read_typed_header(blk, r.end - block_offset);
    if (!info) return fail(info.error());
    if (auto m = detail::match_type(*info, desc); !m) return fail(m.error());
    return persistent(blk, typed_origin::found);
  }
  /// This block's offset in region `r`: what `at` takes back.
  std::uint64_t offset_in(const bank_region& r) const {
    return static_cast<std::uint64_t>(blk_ - r.base);
  }

  // --- In place -----------------------------------------------------------------------------
  /// The value in the current slot. Valid until the next update or store switches slots.
  T* get() const noexcept {
    return std::launder(
        reinterpret_cast<T*>(slot(detail::load32_acquire(blk_, typed_format::selector))));
  }
  T& operator*() const noexcept { return *get(); }
  T* operator->() const noexcept { return get(); }

  // --- Consistent reads ---------------------------------------------------------------------
  /// A copy of the last committed value, even while another thread or process updates it
  /// (a seqlock read over the two slots: retried if a switch ran meanwhile).
  T load() const noexcept {
    T out{};
    load_into(out);
    return out;
  }
  void load_into(T& out) const noexcept {
    for (;;) {
      const std::uint32_t n1 = detail::load32_acquire(blk_, typed_format::selector);
      std::memcpy(static_cast<void*>(&out), slot(n1), sizeof(T));
      std::atomic_thread_fence(std::memory_order_acquire);
      if (detail::load32(blk_, typed_format::selector) == n1) return;
    }
  }

  // --- Atomic updates -----------------------------------------------------------------------
  /// Copies the value into the other slot, lets `f(T&)` change the copy, then switches slots
  /// with one release store. `f` may return bool: false cancels (nothing changes). `sync(p, n)`
  /// is called for the new slot before the switch and for the selector word after it (for
  /// storage that needs a flush to survive power loss; not needed for process crashes).
  /// Returns true when the new value was committed.
  template <class F, class Sync = no_sync>
  bool update(F&& f, Sync&& sync = {}) noexcept(
      std::is_nothrow_invocable_v<F&, T&>&&
          std::is_nothrow_invocable_v<Sync&, const void*, std::size_t>) {
    const std::uint32_t n = detail::load32(blk_, typed_format::selector);
    // Seqlock writer: the previous switch is visible before any byte of the next slot.
    std::atomic_thread_fence(std::memory_order_release);
    std::byte* to = slot(n + 1);
    std::memcpy(to, slot(n), sizeof(T));
    HOTRESTART_CRASH_POINT();
    T& v = *std::launder(reinterpret_cast<T*>(to));
    if constexpr (std::is_same_v<std::invoke_result_t<F&, T&>, bool>) {
      if (!f(v)) return false;
    } else {
      f(v);
    }
    return commit(n, to, sync);
  }

  /// Replaces the value with `v`, all or nothing (no copy of the old value). See update.
  template <class Sync = no_sync>
  void store(const T& v, Sync&& sync = {}) noexcept(
      std::is_nothrow_invocable_v<Sync&, const void*, std::size_t>) {
    const std::uint32_t n = detail::load32(blk_, typed_format::selector);
    std::atomic_thread_fence(std::memory_order_release);
    std::byte* to = slot(n + 1);
    std::memcpy(to, static_cast<const void*>(&v), sizeof(T));
    commit(n, to, sync);
  }

  /// Completed atomic updates since the block was built (wraps at 2^32).
  std::uint32_t generation() const noexcept {
    return detail::load32_acquire(blk_, typed_format::selector);
  }
  typed_origin origin() const noexcept { return origin_; }
  bool created() const noexcept { return origin_ == typed_origin::created; }
  bool migrated() const noexcept { return origin_ == typed_origin::migrated; }
  /// The block's first byte (its typed header) in this mapping.
  std::byte* block_data() const noexcept { return blk_; }

 private:
  persistent(std::byte* blk, typed_origin o) : blk_(blk), origin_(o) {}

  std::byte* slot(std::uint32_t selector) const {
    return blk_ + desc.shape.slot0 + std::uint64_t{selector & 1u} * desc.shape.stride;
  }

  template <class Sync>
  bool commit(std::uint32_t n, std::byte* to, Sync& sync) {
    sync(static_cast<const void*>(to), sizeof(T));
    detail::compiler_order();
    // The switch: a crash point of its own (every library store is one, detail/words.hpp).
    detail::store32_release(blk_, typed_format::selector, n + 1);
    HOTRESTART_CRASH_POINT();
    sync(static_cast<const void*>(blk_ + typed_format::selector), sizeof(std::uint32_t));
    return true;
  }

  // The header is exactly T's and the block is aligned for T (the usual case, ~20 word
  // compares); otherwise validate() parses it and says what is wrong.
  static bool fits(const block& b) {
    return detail::matches_image(b.data, b.capacity, image, desc.shape.block_bytes) &&
           reinterpret_cast<std::uintptr_t>(b.data + desc.shape.slot0) % alignof(T) == 0;
  }

  [[nodiscard]] static result<void> validate(const block& b) {
    auto info = detail::read_typed_header(b.data, b.capacity);
    if (!info) return fail(info.error());
    return detail::match_type(*info, desc);
  }

  template <class Init>
  [[nodiscard]] static result<void> initialise(T& v, Init& init) {
    using I = std::remove_cvref_t<Init>;
    if constexpr (std::is_same_v<I, value_init_t>) {
      (void)v;
      return {};
    } else if constexpr (std::is_invocable_v<Init&, T&>) {
      using R = std::invoke_result_t<Init&, T&>;
      if constexpr (std::is_same_v<R, result<void>>) {
        return init(v);
      } else {
        init(v);
        return {};
      }
    } else {
      static_assert(std::is_convertible_v<Init&, const T&>,
                    "find_or_construct's initial value is a T, a callable void(T&), or "
                    "hotrestart::value_init");
      const T& src = init;
      std::memcpy(static_cast<void*>(&v), static_cast<const void*>(&src), sizeof(T));
      return {};
    }
  }

  template <class F, class Old>
  [[nodiscard]] static result<void> call_migration(F& fn, const Old& old, T& v) {
    using R = std::invoke_result_t<F&, const Old&, T&>;
    if constexpr (std::is_same_v<R, result<void>>) {
      return fn(old, v);
    } else if constexpr (std::is_same_v<R, bool>) {
      if (!fn(old, v)) return fail(errc::schema_mismatch, "the migration refused the old value");
      return {};
    } else {
      fn(old, v);
      return {};
    }
  }

  // Builds a complete typed block under the reserved shadow name, then gives it the name `n`
  // in one journaled replace (freeing the block that had it). Returns the block's first byte.
  template <class Bank, class Fill>
  [[nodiscard]] static result<std::byte*> build(Bank& bank, const typed_name& n, Fill&& fill) {
    if (auto v = validate_name(n.name); !v) return fail(v.error());
    if (is_reserved(n.name))
      return fail(errc::name_reserved, "names starting with __HR are reserved for the library");
    const detail::shadow_name sh = detail::make_shadow_name(n.name);
    // A shadow left by a crash (in a construction or a migration of this name) goes first.
    if (auto r = bank.free(detail::internal_access, sh.view());
        !r && r.error().code != errc::not_found)
      return fail(r.error());
    auto s = bank.find_or_create(detail::internal_access, sh.view(), desc.shape.block_bytes, n.key);
    if (!s) return fail(s.error());
    if (!s->created)
      return fail(errc::already_exists,
                  "another process is building this typed block at the same moment");
    std::byte* blk = s->data;
    auto drop = [&](const error& e) -> result<std::byte*> {
      (void)bank.free(detail::internal_access, sh.view());
      return fail(e);
    };
    if (reinterpret_cast<std::uintptr_t>(blk + desc.shape.slot0) % alignof(T) != 0)
      return drop(
          error(errc::bad_size, "the type's alignment exceeds the bank's page size")
              .with_value("alignment", alignof(T))
              .with_hex("address", reinterpret_cast<std::uintptr_t>(blk + desc.shape.slot0)));
    T* v = ::new (static_cast<void*>(blk + desc.shape.slot0)) T{};
    if (auto r = fill(*v); !r) return drop(r.error());
    HOTRESTART_CRASH_POINT();
    detail::write_typed_header(blk, desc);
    HOTRESTART_CRASH_POINT();
    if (auto r = bank.replace(detail::internal_access, n.name, sh.view()); !r)
      return drop(r.error());
    return blk;
  }

  std::byte* blk_;
  typed_origin origin_;
};

}  // namespace hotrestart

#endif  // HOTRESTART_TYPED_HPP
