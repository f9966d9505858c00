// SPDX-License-Identifier: MIT
// The backend concept (who supplies the bank's bytes and its lock) and the in-memory backend
// over a caller-given span, for tests and for memory the caller manages itself.
#ifndef HOTRESTART_BACKEND_HPP
#define HOTRESTART_BACKEND_HPP

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "bank_format.hpp"
#include "error.hpp"

namespace hotrestart {

/// How a lock was acquired: normally, or from an owner that died holding it (the bank then
/// repairs its metadata from the intent record and calls `repaired()`).
enum class lock_outcome : std::uint8_t { acquired, owner_died };

/// A callback that formats a fresh, zero-filled region before anybody else can open it. A
/// function pointer and a context: no heap, no std::function.
struct region_init {
  result<void> (*fn)(void* ctx, std::byte* base, std::uint64_t size) = nullptr;
  void* ctx = nullptr;
  [[nodiscard]] result<void> operator()(std::byte* base, std::uint64_t size) const {
    return fn(ctx, base, size);
  }
};

/// bank_backend: where a bank's bytes live.
///
// clang-format off
/// | member                          | meaning                                                              |
/// |---------------------------------|----------------------------------------------------------------------|
/// | `B::location`                   | what names a bank for this backend (a path, a span, a shm name)      |
/// | `B::native_page_size()`         | the default block granule                                            |
/// | `B::reformats_foreign_memory`   | true when memory without a bank in it may be formatted by open_or_create (RAM sections) |
/// | `B::create(loc, bytes, init)`   | a new zero-filled region, formatted by `init` before it becomes visible; `already_exists` if one is there; its lock initialised |
/// | `B::open(loc)`                  | an existing region; `not_found` if none                              |
/// | `b.data()`, `b.size()`          | the mapped bytes                                                     |
/// | `b.lock()`                      | the bank's writer lock (in `bank_format::lock_area`); `lock_outcome::owner_died` when its last owner died holding it; `lock_failed` otherwise. `const`: the lock lives in the bank's bytes, not in the backend object |
/// | `b.repaired()`                  | after owner_died: the bank is consistent again                       |
/// | `b.unlock()`                    | (lock, repaired and unlock are `noexcept`: the bank's calls are)     |
///
/// Optional members: a bank calls them through `backend_traits<B>`, which supplies the default
/// when a backend lacks one.
///
/// | optional member                       | meaning                                                      | default (absent)            |
/// |---------------------------------------|--------------------------------------------------------------|-----------------------------|
/// | `b.adopt_lock()` -> `result<void>`    | once the header is validated: make the lock usable if it is stale (another boot, another C library) | nothing to adopt |
/// | `cb.flush_range(off, len)` -> `result<void>` | write bytes [off, off+len) to stable storage and wait (durable mode) | cannot flush: `tunables::durable` is refused |
/// | `B::wipe(loc)`                        | make the medium hold no bank (RAM sections: a fresh start)   | not wipeable (no call)      |
// clang-format on
template <class B>
concept bank_backend = std::movable<B> &&
    requires(B& b, const B& cb, typename B::location loc, std::uint64_t n, region_init init) {
  { B::native_page_size() } -> std::same_as<std::uint32_t>;
  { B::reformats_foreign_memory } -> std::convertible_to<bool>;
  { B::create(loc, n, init) } -> std::same_as<result<B>>;
  { B::open(loc) } -> std::same_as<result<B>>;
  { cb.data() } -> std::same_as<std::byte*>;
  { cb.size() } -> std::same_as<std::uint64_t>;
  { cb.lock() }
  noexcept->std::same_as<result<lock_outcome>>;
  { cb.repaired() }
  noexcept->std::same_as<void>;
  { cb.unlock() }
  noexcept->std::same_as<void>;
};

/// The optional members of a backend (table above), with their defaults.
template <bank_backend B>
struct backend_traits {
  /// The backend can write ranges to stable storage: durable mode is possible.
  static constexpr bool can_flush = requires(const B& cb) {
    { cb.flush_range(std::uint64_t{}, std::uint64_t{}) } -> std::same_as<result<void>>;
  };
  /// The backend's medium can be wiped (`B::wipe(loc)`).
  static constexpr bool can_wipe = requires(typename B::location loc) { B::wipe(loc); };

  /// b.adopt_lock(), or nothing to adopt.
  [[nodiscard]] static result<void> adopt_lock(B& b) {
    if constexpr (requires {
                    { b.adopt_lock() } -> std::same_as<result<void>>;
                  })
      return b.adopt_lock();
    else
      return {};
  }
  /// b.flush_range(off, len), or nothing to do (a backend that cannot flush is never durable).
  [[nodiscard]] static result<void> flush_range(const B& b, std::uint64_t off, std::uint64_t len) {
    if constexpr (can_flush)
      return b.flush_range(off, len);
    else
      return {};
  }
};

/// A lock that does nothing: one thread uses the bank (null_mutex, as Boost.Interprocess has).
struct null_lock {
  static void init(std::byte*) {}
  [[nodiscard]] static result<lock_outcome> lock(std::byte*) { return lock_outcome::acquired; }
  static void repaired(std::byte*) {}
  static void unlock(std::byte*) {}
};

/// A bank in memory the caller owns (`std::span<std::byte>`): unit tests, a buffer the caller
/// keeps alive across an in-process restart, and the base of the bare-metal section backend.
/// `Lock` supplies mutual exclusion (`null_lock`: single-threaded).
template <class Lock = null_lock>
class basic_span_backend {
 public:
  using location = std::span<std::byte>;
  static constexpr bool reformats_foreign_memory = true;

  static constexpr std::uint32_t native_page_size() { return 4096; }

  [[nodiscard]] static result<basic_span_backend> create(location where, std::uint64_t bytes,
                                                         region_init init) {
    if (reinterpret_cast<std::uintptr_t>(where.data()) % 64 != 0)
      return fail(error(errc::bad_size, "bank memory must be 64-byte aligned")
                      .with_hex("address", reinterpret_cast<std::uintptr_t>(where.data())));
    if (where.size() < bytes)
      return fail(error(errc::truncated, "memory too small for the bank")
                      .with_requested("bytes", bytes, where.size(), "given"));
    std::memset(where.data(), 0, static_cast<std::size_t>(bytes));
    Lock::init(where.data() + bank_format::lock_area);
    if (auto r = init(where.data(), bytes); !r) return fail(r.error());
    return basic_span_backend(where);
  }

  [[nodiscard]] static result<basic_span_backend> open(location where) {
    if (reinterpret_cast<std::uintptr_t>(where.data()) % 64 != 0)
      return fail(error(errc::bad_size, "bank memory must be 64-byte aligned")
                      .with_hex("address", reinterpret_cast<std::uintptr_t>(where.data())));
    return basic_span_backend(where);
  }

  std::byte* data() const { return mem_.data(); }
  std::uint64_t size() const { return mem_.size(); }
  [[nodiscard]] result<lock_outcome> lock() const noexcept {
    return Lock::lock(mem_.data() + bank_format::lock_area);
  }
  void repaired() const noexcept { Lock::repaired(mem_.data() + bank_format::lock_area); }
  void unlock() const noexcept { Lock::unlock(mem_.data() + bank_format::lock_area); }

 private:
  explicit basic_span_backend(location m) : mem_(m) {}
  location mem_;
};

using span_backend = basic_span_backend<>;
static_assert(bank_backend<span_backend>);

}  // namespace hotrestart

#endif  // HOTRESTART_BACKEND_HPP
