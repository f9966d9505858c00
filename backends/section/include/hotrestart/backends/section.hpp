// SPDX-License-Identifier: MIT
// The bare-metal backend: a bank in RAM that the C runtime neither loads nor zeroes, so that it
// keeps its contents across a warm reset (fault handler, watchdog, SYSRESETREQ). No heap, no
// exceptions, no RTTI, no OS.
//
//   section_backend      the region the linker fragment ld/hotrestart_bank.ld reserves
//                        (symbols hotrestart_bank_start .. hotrestart_bank_end)
//   section_backend_ext  a region the caller gives as std::span<std::byte>
//
// At boot, `boot_bank` decides from the bank's header check (magic, version, fingerprint,
// state, checksum) whether the region holds a bank (kept) or garbage (power-on: formatted).
#ifndef HOTRESTART_BACKENDS_SECTION_HPP
#define HOTRESTART_BACKENDS_SECTION_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

#include <hotrestart/backend.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/bank_format.hpp>
#include <hotrestart/detail/words.hpp>
#include <hotrestart/error.hpp>

#include "section_lock.hpp"

// Bounds of the region reserved by ld/hotrestart_bank.ld. Declared only: a program that
// uses `section_backend` must link with the fragment.
extern "C" std::byte hotrestart_bank_start[];
extern "C" std::byte hotrestart_bank_end[];

/// Places an object in the bank's input section: `HOTRESTART_BANK_STORAGE(bank_ram, 16384);`
/// (an alternative to reserving HOTRESTART_BANK_BYTES in the linker script). The section is
/// NOLOAD, so the array is neither loaded nor zeroed; never give it an initialiser or a type
/// with a constructor (that would run at every boot).
#define HOTRESTART_BANK_STORAGE(name, bytes) \
  [[gnu::section(".hotrestart_bank"), gnu::used]] alignas(64) std::byte name[bytes]

namespace hotrestart {

namespace detail::section {
inline bool has_magic(const std::byte* base) {
  return load32(base, bank_format::magic0) == bank_format::magic0_value &&
         load32(base, bank_format::magic1) == bank_format::magic1_value;
}
[[nodiscard]] inline result<void> check_region(std::span<std::byte> where) {
  if (reinterpret_cast<std::uintptr_t>(where.data()) % 64 != 0)
    return fail(error(errc::bad_size, "bank memory must be 64-byte aligned")
                    .with_hex("address", reinterpret_cast<std::uintptr_t>(where.data())));
  if (where.size() < bank_format::header_size)
    return fail(error(errc::truncated, "bank section too small to hold a bank header")
                    .with_minimum("bytes", where.size(), bank_format::header_size));
  return {};
}
}  // namespace detail::section

/// A bank over caller-given RAM that survives resets (`Granule`: the block page size, a power
/// of two from 64 bytes; `Lock`: see section_lock.hpp). Create refuses memory that already
/// holds a bank (`already_exists`); `wipe` forgets one. Open reads the bank's lock: one held
/// when the chip reset is reported once as `owner_died`, and the bank repairs itself.
/// Open the bank once per boot, before interrupt handlers use it.
template <section_lock Lock = default_section_lock, std::uint32_t Granule = 256>
class basic_section_backend_ext {
  static_assert(Granule >= min_page_size && Granule <= max_page_size &&
                    (Granule & (Granule - 1)) == 0,
                "Granule must be a power of two from 64 bytes to 1 MiB");

 public:
  /// The RAM the bank lives in: 64-byte aligned, kept by the chip across warm resets.
  using location = std::span<std::byte>;
  /// The writer lock (`atomic_section_lock`, `irq_section_lock` or the caller's own).
  using lock_type = Lock;
  /// RAM without a bank in it (power-on garbage) may be formatted by `open_or_create`.
  static constexpr bool reformats_foreign_memory = true;

  /// The block granule: `Granule` bytes.
  static constexpr std::uint32_t native_page_size() { return Granule; }

  /// Errors: bad_size (not 64-byte aligned), truncated (smaller than `bytes`), already_exists
  /// (a bank's magic is there: wipe it first), the formatter's.
  [[nodiscard]] static result<basic_section_backend_ext> create(location where, std::uint64_t bytes,
                                                                region_init init) {
    if (auto r = detail::section::check_region(where); !r) return fail(r.error());
    if (where.size() < bytes)
      return fail(error(errc::truncated, "bank section smaller than the bank")
                      .with_requested("bytes", bytes, where.size(), "in the section"));
    if (detail::section::has_magic(where.data()))
      return fail(errc::already_exists, "the section already holds a bank");
    std::memset(where.data(), 0, static_cast<std::size_t>(bytes));
    Lock::init(where.data() + bank_format::lock_area);
    if (auto r = init(where.data(), bytes); !r) return fail(r.error());
    return basic_section_backend_ext(where);
  }

  /// Always succeeds on aligned memory that can hold a header (bad_size, truncated
  /// otherwise); whether a bank is there is the bank's header check to say.
  [[nodiscard]] static result<basic_section_backend_ext> open(location where) {
    if (auto r = detail::section::check_region(where); !r) return fail(r.error());
    if (detail::section::has_magic(where.data()))
      Lock::adopt(where.data() + bank_format::lock_area);
    return basic_section_backend_ext(where);
  }

  /// Makes the region hold no bank (its magic and state words cleared), so that `create`
  /// may format it. Used by `boot_bank` on a bank that fails its checks.
  static void wipe(location where) {
    if (where.size() < bank_format::header_size) return;
    detail::store32(where.data(), bank_format::magic0, 0);
    detail::store32(where.data(), bank_format::magic1, 0);
    detail::store32(where.data(), bank_format::state, 0);
  }

  /// The region's first byte (the bank's header).
  std::byte* data() const { return mem_.data(); }
  /// The region's size in bytes (at least the bank's).
  std::uint64_t size() const { return mem_.size(); }
  /// Takes the writer lock: `acquired`; `owner_died` once after a reset that came while it was
  /// held (the bank then repairs itself); `lock_failed` when code this code preempted holds it.
  [[nodiscard]] result<lock_outcome> lock() const noexcept {
    return Lock::lock(mem_.data() + bank_format::lock_area);
  }
  /// After `owner_died`: the bank is consistent again.
  void repaired() const noexcept { Lock::repaired(mem_.data() + bank_format::lock_area); }
  /// Releases the writer lock.
  void unlock() const noexcept { Lock::unlock(mem_.data() + bank_format::lock_area); }

 private:
  explicit basic_section_backend_ext(location m) : mem_(m) {}
  location mem_;
};

/// Names the region of the linker fragment (the location of `basic_section_backend`).
struct linker_section {
  /// The region between the fragment's symbols.
  static std::span<std::byte> region() {
    return {hotrestart_bank_start,
            static_cast<std::size_t>(hotrestart_bank_end - hotrestart_bank_start)};
  }
};

/// The same over the region of the linker fragment (ld/hotrestart_bank.ld); every member
/// behaves as `basic_section_backend_ext`'s on `linker_section::region()`.
template <section_lock Lock = default_section_lock, std::uint32_t Granule = 256>
class basic_section_backend {
  using ext = basic_section_backend_ext<Lock, Granule>;

 public:
  /// `linker_section{}`: the region between hotrestart_bank_start and hotrestart_bank_end.
  using location = linker_section;
  /// The writer lock.
  using lock_type = Lock;
  /// RAM without a bank in it may be formatted by `open_or_create`.
  static constexpr bool reformats_foreign_memory = true;
  /// The block granule: `Granule` bytes.
  static constexpr std::uint32_t native_page_size() { return Granule; }

  /// Formats a bank in the region. Errors as `basic_section_backend_ext::create`.
  [[nodiscard]] static result<basic_section_backend> create(location, std::uint64_t bytes,
                                                            region_init init) {
    auto b = ext::create(linker_section::region(), bytes, init);
    if (!b) return fail(b.error());
    return basic_section_backend(std::move(*b));
  }
  /// Opens the region (adopting a lock held at the reset). Errors as `basic_section_backend_ext::open`.
  [[nodiscard]] static result<basic_section_backend> open(location) {
    auto b = ext::open(linker_section::region());
    if (!b) return fail(b.error());
    return basic_section_backend(std::move(*b));
  }
  /// Makes the region hold no bank.
  static void wipe(location) { ext::wipe(linker_section::region()); }

  /// The region's first byte.
  std::byte* data() const { return b_.data(); }
  /// The region's size in bytes.
  std::uint64_t size() const { return b_.size(); }
  /// Takes the writer lock (see `basic_section_backend_ext::lock`).
  [[nodiscard]] result<lock_outcome> lock() const noexcept { return b_.lock(); }
  /// After `owner_died`: the bank is consistent again.
  void repaired() const noexcept { b_.repaired(); }
  /// Releases the writer lock.
  void unlock() const noexcept { b_.unlock(); }

 private:
  explicit basic_section_backend(ext&& b) : b_(std::move(b)) {}
  ext b_;
};

/// Over caller-given RAM, with the default lock and a 256-byte granule.
using section_backend_ext = basic_section_backend_ext<>;
/// Over the linker fragment's region, with the default lock and a 256-byte granule.
using section_backend = basic_section_backend<>;
static_assert(bank_backend<section_backend_ext>);
static_assert(bank_backend<section_backend>);

/// A bank in caller-given RAM (location: `std::span<std::byte>`).
using section_bank_ext = basic_bank<section_backend_ext>;
/// A bank in the linker fragment's region (location: `linker_section{}`).
using section_bank = basic_bank<section_backend>;

/// What `boot_bank` found in the region.
enum class boot_kind : std::uint8_t {
  kept,             ///< a valid bank with the expected tunables: every block is as it was
  formatted_blank,  ///< no bank there (power-on garbage, or never formatted): a new bank
  reformatted,      ///< a bank that failed its checks (see `reason`): replaced by a new one
};

/// "kept", "formatted_blank" or "reformatted".
constexpr const char* to_string(boot_kind k) {
  switch (k) {
    case boot_kind::kept: return "kept";
    case boot_kind::formatted_blank: return "formatted_blank";
    case boot_kind::reformatted: return "reformatted";
  }
  return "unknown";
}

/// What `boot_bank` returns: the bank, open, and what was found in the region.
template <class Bank>
struct booted_bank {
  Bank bank;                         ///< the bank, ready for use
  boot_kind kind = boot_kind::kept;  ///< kept, or why a new bank was formatted
  error reason;  ///< reformatted: why the old contents were refused (corrupt, creation_interrupted,
                 ///< version_mismatch, layout_mismatch, tunables_mismatch, truncated)
};

/// The boot-time decision: opens the bank in `where` if its header checks pass and it has the
/// tunables `t`; otherwise formats a new one there (on a device nothing else could repair RAM
/// that fails the checks, so the choice is format or brick). `kind` and `reason` say which
/// happened; a caller that must not lose a bank silently checks for `reformatted`.
/// Errors: those of `create` (bad_size, truncated, bad_tunables...).
template <class Bank>
[[nodiscard]] result<booted_bank<Bank>> boot_bank(typename Bank::location where,
                                                  const tunables& t = {}) {
  error why;
  if (auto o = Bank::open(where); o) {
    auto same = Bank::open_or_create(where, t);  // also compares the tunables
    if (same) return booted_bank<Bank>{std::move(*same), boot_kind::kept, {}};
    why = same.error();
  } else {
    why = o.error();
  }
  const bool blank = why.code == errc::not_a_bank;
  if (!blank) Bank::backend_type::wipe(where);
  auto c = Bank::create(where, t);
  if (!c) return fail(c.error());
  return booted_bank<Bank>{std::move(*c),
                           blank ? boot_kind::formatted_blank : boot_kind::reformatted,
                           blank ? error{} : why};
}

}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_SECTION_HPP
