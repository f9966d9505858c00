// SPDX-License-Identifier: MIT
// The bank format: header fields, the layout of the regions, the fingerprint, and the O(1)
// validation that open runs on untrusted bytes. See docs/format.md for the picture.
#ifndef HOTRESTART_FORMAT_HPP
#define HOTRESTART_FORMAT_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "detail/hash.hpp"
#include "detail/words.hpp"
#include "error.hpp"
#include "names.hpp"

namespace hotrestart {

/// What a bank is created with. Recorded in its header. Every field is optional: `create`
/// uses the default of a field left unset; `open_or_create` of an existing bank adopts the
/// recorded value of a field left unset and refuses (`tunables_mismatch`) one that is set and
/// differs; `open` adopts them all.
struct tunables {
  /// Bytes available to blocks (ChorusOS pmm.rambankSize), rounded up to whole pages; default
  /// 1 MiB. The bank's own metadata comes on top; `bank_layout::overhead_bytes()` says how much.
  std::optional<std::uint64_t> bank_size = std::nullopt;
  /// Most blocks the bank can hold at once (ChorusOS pmm.maxBlocks); default 30.
  std::optional<std::uint32_t> max_blocks = std::nullopt;
  /// Block granule in bytes, a power of two from 64 bytes to 1 MiB; default: the backend's page.
  std::optional<std::uint32_t> page_size = std::nullopt;
  /// The medium this bank serves; default "RAM", as in ChorusOS.
  std::optional<std::string_view> medium = std::nullopt;
  /// Durable mode (default off): every mutation orders its writes with flushes (msync) so
  /// that an OS crash or a power cut also leaves the bank consistent, and a call that returned
  /// is on disk. Needs a backend that can flush (the mmap file); costs four ordered flush
  /// steps per mutation, one msync each (five for a create: its new pages apart).
  std::optional<bool> durable = std::nullopt;
};

inline constexpr std::uint64_t default_bank_size = 1u << 20;
inline constexpr std::uint32_t default_max_blocks = 30;

inline constexpr std::uint32_t max_blocks_limit = 1u << 22;
inline constexpr std::uint32_t min_page_size = 64;
inline constexpr std::uint32_t max_page_size = 1u << 20;
inline constexpr std::uint64_t max_total_pages = 0x7FFFFFFFu;

/// Lifecycle of a bank's header, in its state word (Boost.Interprocess keeps a similar word).
enum class bank_state : std::uint32_t {
  uninitialised = 0,
  initialising = 0x494E4954u,  // "INIT"
  ready = 0x52454459u,         // "REDY"
  corrupt = 0x42414421u,       // "BAD!"
};

namespace bank_format {
// Byte offsets of the header fields. Words 0..22 never change after creation and are covered
// by the checksum at `immutable_checksum`.
inline constexpr std::uint64_t magic0 = 0, magic1 = 4, layout_version = 8, header_bytes = 12,
                               fingerprint_lo = 16, fingerprint_hi = 20, page_size = 24,
                               bank_size_lo = 28, bank_size_hi = 32, max_blocks = 36,
                               total_pages = 40, registry_off = 44, allocator_off = 48,
                               data_off_lo = 52, data_off_hi = 56, file_bytes_lo = 60,
                               file_bytes_hi = 64, medium_len = 68, medium = 72,  // 16 bytes
    flags = 88, immutable_end = 92, immutable_checksum = 92;
/// Bits of the `flags` word.
inline constexpr std::uint32_t flag_durable = 1u;
inline constexpr std::uint32_t known_flags = flag_durable;
inline constexpr std::uint64_t state = 96;
/// Non-zero while a bank of the previous format version is being converted to this one
/// (`convert_active`, or a torn mix of its bytes and zero). Zero in every bank otherwise.
inline constexpr std::uint64_t convert_state = 100;
/// The readers' sequence word, on its own cache line with the free_all hint.
inline constexpr std::uint64_t seq = 128;
/// Non-zero while a free_all may be under way: set before its record, cleared after it. The
/// lock-free find reads it from the line it loads anyway and takes the lock when it is set (a
/// hint, not a record: recovery decides from sweep_state, and clears a stale hint).
inline constexpr std::uint64_t sweep_hint = 132;
/// Mutable counters, journaled like the tables.
inline constexpr std::uint64_t counters_begin = 192, block_count = 192, used_pages = 196,
                               counters_end = 256;
/// The intent record (see detail/journal.hpp): a redo-only transaction, and beside it the
/// roll-forward record of a free_all in progress (its key).
inline constexpr std::uint64_t journal = 256;
inline constexpr std::uint64_t journal_state = journal, journal_op = journal + 4,
                               journal_count = journal + 8, sweep_state = journal + 16,
                               sweep_key_len = journal + 20, sweep_key = journal + 24,  // 32 bytes
    journal_entries = journal + 64;
/// Opaque, fixed-size area for the backend's lock (a host's robust mutex, an MCU's flag).
/// Recovery may reinitialise it; nothing else in the format depends on its contents.
inline constexpr std::uint64_t lock_area = 1408, lock_area_bytes = 128;
inline constexpr std::uint64_t header_size = 1536;
/// Entries of 8 bytes (offset, value) between the record's head and the lock area.
inline constexpr std::uint32_t journal_capacity =
    static_cast<std::uint32_t>((lock_area - journal_entries) / 8);
static_assert(journal_capacity >= 128);
static_assert(lock_area + lock_area_bytes == header_size);

inline constexpr std::uint32_t magic0_value = 0x42524848u;  // "HHRB"
inline constexpr std::uint32_t magic1_value = 0x4B4E4241u;  // "ABNK"
inline constexpr std::uint32_t version = 3;
/// The version `open` converts in place (docs/format.md, "Versions").
inline constexpr std::uint32_t previous_version = 2;
inline constexpr std::uint32_t convert_active = 0x33564E43u;  // "CNV3"
}  // namespace bank_format

constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t a) {
  return (v + a - 1) / a * a;
}

/// Where everything is in a bank. Computed from the tunables and the policies' region sizes;
/// recorded in the header and recomputed on open to check that the two agree.
struct bank_layout {
  std::uint32_t page_size = 0;
  std::uint64_t bank_size = 0;  // data bytes, whole pages
  std::uint32_t max_blocks = 0;
  std::uint32_t total_pages = 0;
  std::uint64_t registry_off = 0;
  std::uint64_t allocator_off = 0;
  std::uint64_t data_off = 0;
  std::uint64_t file_bytes = 0;
  bool durable = false;

  /// Bytes the bank needs beyond the ones it gives to blocks (header and tables).
  constexpr std::uint64_t overhead_bytes() const { return file_bytes - bank_size; }
};

namespace detail {

/// A fingerprint of everything that decides how bytes are read: format version, header
/// offsets, name limits, and the policies' own layout ids. A bank from another build with a
/// different layout is refused with `layout_mismatch`.
constexpr std::uint64_t layout_fingerprint(std::uint32_t allocator_id, std::uint32_t registry_id,
                                           std::uint32_t version = bank_format::version) {
  const std::uint32_t words[] = {version,
                                 static_cast<std::uint32_t>(bank_format::header_size),
                                 static_cast<std::uint32_t>(bank_format::journal),
                                 static_cast<std::uint32_t>(bank_format::journal_entries),
                                 bank_format::journal_capacity,
                                 static_cast<std::uint32_t>(bank_format::immutable_end),
                                 static_cast<std::uint32_t>(bank_format::lock_area),
                                 static_cast<std::uint32_t>(max_name_length),
                                 static_cast<std::uint32_t>(max_medium_length),
                                 static_cast<std::uint32_t>(max_key_length),
                                 allocator_id,
                                 registry_id};
  const std::uint32_t a = hash_words(words, sizeof words / sizeof words[0], 0x46505249u);
  const std::uint32_t b = hash_words(words, sizeof words / sizeof words[0], 0x4E544931u);
  return (static_cast<std::uint64_t>(b) << 32) | a;
}

inline std::uint32_t immutable_checksum(const std::byte* base) {
  std::uint32_t w[bank_format::immutable_end / 4] = {};
  for (std::uint64_t i = 0; i < bank_format::immutable_end / 4; ++i)
    w[i] = detail::load32(base, i * 4);
  return hash_words(w, bank_format::immutable_end / 4, checksum_seed);
}

}  // namespace detail

/// Validates tunables and lays a bank out. `registry_bytes` and `allocator_bytes` come from the
/// policies (bytes their regions need for these tunables).
template <class Registry, class Allocator>
[[nodiscard]] constexpr result<bank_layout> compute_layout(const tunables& t,
                                                           std::uint32_t backend_page_size) {
  bank_layout l;
  l.page_size = t.page_size.value_or(backend_page_size);
  if (l.page_size < min_page_size || l.page_size > max_page_size ||
      (l.page_size & (l.page_size - 1)) != 0)
    return fail(error(errc::bad_tunables, "page size must be a power of two from 64 bytes to 1 MiB")
                    .with_value("page_size", l.page_size));
  const std::uint32_t max_blocks = t.max_blocks.value_or(default_max_blocks);
  if (max_blocks == 0 || max_blocks > max_blocks_limit)
    return fail(error(errc::bad_tunables, "max_blocks out of range")
                    .with_range("max_blocks", max_blocks, 1, max_blocks_limit));
  const std::uint64_t bank_size = t.bank_size.value_or(default_bank_size);
  if (bank_size == 0) return fail(errc::bad_tunables, "bank_size must not be zero");
  if (auto m = validate_medium(t.medium.value_or(default_medium)); !m) return fail(m.error());
  // Rounded up without align_up: bank_size + page_size - 1 would wrap near 2^64.
  const std::uint64_t pages = bank_size / l.page_size + (bank_size % l.page_size != 0 ? 1 : 0);
  if (pages > max_total_pages)
    return fail(error(errc::bad_tunables, "bank_size too large for this page size")
                    .with_limit("pages", pages, max_total_pages));
  l.total_pages = static_cast<std::uint32_t>(pages);
  l.bank_size = pages * l.page_size;
  l.max_blocks = max_blocks;
  l.durable = t.durable.value_or(false);
  l.registry_off = bank_format::header_size;
  l.allocator_off = align_up(l.registry_off + Registry::region_bytes(l.max_blocks), 64);
  const std::uint64_t meta_end = l.allocator_off + Allocator::region_bytes(l.total_pages);
  if (meta_end > 0xFFFFFFFFu)
    return fail(error(errc::bad_tunables, "bank metadata would exceed 4 GiB")
                    .with_limit("metadata bytes", meta_end, 0xFFFFFFFFu));
  l.data_off = align_up(meta_end, l.page_size);
  l.file_bytes = l.data_off + l.bank_size;
  return l;
}

}  // namespace hotrestart

#endif  // HOTRESTART_FORMAT_HPP
