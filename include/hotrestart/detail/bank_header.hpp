// SPDX-License-Identifier: MIT
// A bank's header: writing it when a bank is made, and validating it, in O(1) and trusting
// nothing, when one is opened (docs/format.md, "Opening"). Used by basic_bank (bank.hpp).
#ifndef HOTRESTART_DETAIL_BANK_HEADER_HPP
#define HOTRESTART_DETAIL_BANK_HEADER_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "../bank_format.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "words.hpp"

namespace hotrestart::detail {

/// Writes a new bank into `base` (`size` bytes, zero-filled): the header, then the policies'
/// empty regions, then the state word `ready` last (a creator that dies leaves `initialising`).
/// Errors: truncated (`size` smaller than the layout's file bytes).
template <class Registry, class Allocator>
[[nodiscard]] result<void> format_bank(std::byte* base, std::uint64_t size, const bank_layout& l,
                                       std::string_view medium) {
  if (size < l.file_bytes)
    return fail(error(errc::truncated, "region smaller than the bank")
                    .with_requested("bytes", l.file_bytes, size, "in the region"));
  store32(base, bank_format::state, static_cast<std::uint32_t>(bank_state::initialising));
  store32(base, bank_format::magic0, bank_format::magic0_value);
  store32(base, bank_format::magic1, bank_format::magic1_value);
  store32(base, bank_format::layout_version, bank_format::version);
  store32(base, bank_format::header_bytes, static_cast<std::uint32_t>(bank_format::header_size));
  const std::uint64_t fp = layout_fingerprint(Allocator::layout_id, Registry::layout_id);
  store32(base, bank_format::fingerprint_lo, lo32(fp));
  store32(base, bank_format::fingerprint_hi, hi32(fp));
  store32(base, bank_format::page_size, l.page_size);
  store32(base, bank_format::bank_size_lo, lo32(l.bank_size));
  store32(base, bank_format::bank_size_hi, hi32(l.bank_size));
  store32(base, bank_format::max_blocks, l.max_blocks);
  store32(base, bank_format::total_pages, l.total_pages);
  store32(base, bank_format::registry_off, static_cast<std::uint32_t>(l.registry_off));
  store32(base, bank_format::allocator_off, static_cast<std::uint32_t>(l.allocator_off));
  store32(base, bank_format::data_off_lo, lo32(l.data_off));
  store32(base, bank_format::data_off_hi, hi32(l.data_off));
  store32(base, bank_format::file_bytes_lo, lo32(l.file_bytes));
  store32(base, bank_format::file_bytes_hi, hi32(l.file_bytes));
  store32(base, bank_format::medium_len, static_cast<std::uint32_t>(medium.size()));
  std::memcpy(base + bank_format::medium, medium.data(), medium.size());
  store32(base, bank_format::flags, l.durable ? bank_format::flag_durable : 0u);
  store32(base, bank_format::immutable_checksum, immutable_checksum(base));
  Registry(base, l.registry_off, l.max_blocks).format();
  Allocator(base, l.allocator_off, l.total_pages).format();
  compiler_order();
  store32_release(base, bank_format::state, static_cast<std::uint32_t>(bank_state::ready));
  return {};
}

/// What validate_header found besides the layout: a bank of this format version, or one that
/// `open` converts in place (of the previous version, or a conversion cut short).
enum class header_kind : std::uint8_t { current, previous, converting };

/// Each byte of `w` is the same byte of `a` or of `b`: a word being rewritten from one to the
/// other, perhaps torn (a warm reset can leave bytes of both).
constexpr bool word_between(std::uint32_t w, std::uint32_t a, std::uint32_t b) {
  for (std::uint32_t sh = 0; sh < 32; sh += 8) {
    const std::uint32_t x = (w >> sh) & 0xFFu;
    if (x != ((a >> sh) & 0xFFu) && x != ((b >> sh) & 0xFFu)) return false;
  }
  return true;
}

template <class Registry>
inline constexpr bool registry_converts = requires {
  Registry::previous_layout_id;
};

template <class Registry>
constexpr std::uint32_t previous_registry_id() {
  if constexpr (registry_converts<Registry>)
    return Registry::previous_layout_id;
  else
    return Registry::layout_id;
}

/// The immutable words a conversion rewrites, and their values before and after it.
struct converted_words {
  std::uint64_t off[4] = {bank_format::layout_version, bank_format::fingerprint_lo,
                          bank_format::fingerprint_hi, bank_format::immutable_checksum};
  std::uint32_t before[4] = {};
  std::uint32_t after[4] = {};
};

/// What the conversion from the previous version writes into the header at `base` (whose
/// other immutable words are those of the bank: checked by the checksums).
template <class Registry, class Allocator>
converted_words conversion_words(const std::byte* base) {
  converted_words c;
  const std::uint64_t fp_old = layout_fingerprint(
      Allocator::layout_id, previous_registry_id<Registry>(), bank_format::previous_version);
  const std::uint64_t fp_new = layout_fingerprint(Allocator::layout_id, Registry::layout_id);
  std::uint32_t w[bank_format::immutable_end / 4] = {};
  for (std::uint64_t i = 0; i < bank_format::immutable_end / 4; ++i) w[i] = load32(base, i * 4);
  const std::uint32_t old3[3] = {bank_format::previous_version, lo32(fp_old), hi32(fp_old)};
  const std::uint32_t new3[3] = {bank_format::version, lo32(fp_new), hi32(fp_new)};
  for (int k = 0; k < 3; ++k) w[c.off[k] / 4] = old3[k];
  c.before[3] = hash_words(w, bank_format::immutable_end / 4, checksum_seed);
  for (int k = 0; k < 3; ++k) w[c.off[k] / 4] = new3[k];
  c.after[3] = hash_words(w, bank_format::immutable_end / 4, checksum_seed);
  for (int k = 0; k < 3; ++k) {
    c.before[k] = old3[k];
    c.after[k] = new3[k];
  }
  return c;
}

/// Validates the header of the bytes `base`..`base + size` of untrusted origin and returns the
/// layout they record. O(1): magic, version, fingerprint, state word, checksum, the recorded
/// layout against the one computed from the recorded tunables, the size. Errors: truncated,
/// not_a_bank, version_mismatch, layout_mismatch, creation_interrupted, corrupt (naming the
/// field). A bank of the previous format version (or one whose conversion was cut short) is
/// accepted when the registry knows how to convert it; `kind` says so.
template <class Registry, class Allocator>
[[nodiscard]] result<bank_layout> validate_header(const std::byte* base, std::uint64_t size,
                                                  header_kind* kind = nullptr) {
  if (size < bank_format::header_size)
    return fail(error(errc::truncated, "too small to hold a bank header")
                    .with_minimum("bytes", size, bank_format::header_size));
  if (load32(base, bank_format::magic0) != bank_format::magic0_value ||
      load32(base, bank_format::magic1) != bank_format::magic1_value)
    return fail(error(errc::not_a_bank, "no hotrestart bank here (magic)")
                    .with_expected_hex("magic", bank_format::magic0_value,
                                       load32(base, bank_format::magic0)));
  header_kind k = header_kind::current;
  const std::uint32_t version = load32(base, bank_format::layout_version);
  const std::uint32_t conv = load32(base, bank_format::convert_state);
  if constexpr (registry_converts<Registry>) {
    if (conv != 0) {
      // A conversion cut short: the words it rewrites may hold either version's value (or a
      // torn mix); every other immutable word must still be the bank's (one of the two
      // checksums covers them).
      if (!word_between(conv, 0, bank_format::convert_active))
        return fail(error(errc::corrupt, "format conversion record: unknown state word")
                        .with_expected_hex("conversion state", bank_format::convert_active, conv));
      const converted_words c = conversion_words<Registry, Allocator>(base);
      for (int i = 0; i < 4; ++i)
        if (!word_between(load32(base, c.off[i]), c.before[i], c.after[i]))
          return fail(
              error(errc::corrupt, "header of a bank being converted matches neither version")
                  .with_expected_hex("header word", c.after[i], load32(base, c.off[i])));
      k = header_kind::converting;
    } else if (version == bank_format::previous_version) {
      k = header_kind::previous;
    }
  }
  if (k == header_kind::current && version != bank_format::version)
    return fail(error(errc::version_mismatch, "bank written by another format version")
                    .with_expected("format version", bank_format::version, version));
  if (k != header_kind::converting) {
    const std::uint64_t fp =
        k == header_kind::previous
            ? layout_fingerprint(Allocator::layout_id, previous_registry_id<Registry>(),
                                 bank_format::previous_version)
            : layout_fingerprint(Allocator::layout_id, Registry::layout_id);
    const std::uint64_t found_fp = load64(base, bank_format::fingerprint_lo);
    if (found_fp != fp)
      return fail(error(errc::layout_mismatch,
                        "bank written by a build with another layout (policies or limits)")
                      .with_expected_hex("layout fingerprint", fp, found_fp));
  }
  const std::uint32_t state = load32_acquire(base, bank_format::state);
  if (state == static_cast<std::uint32_t>(bank_state::initialising))
    return fail(errc::creation_interrupted, "the bank's creation never finished");
  if (state != static_cast<std::uint32_t>(bank_state::ready))
    return fail(
        error(errc::corrupt, "bank state word is not 'ready'")
            .with_expected_hex("state", static_cast<std::uint32_t>(bank_state::ready), state));
  if (k != header_kind::converting) {
    const std::uint32_t sum = immutable_checksum(base);
    if (sum != load32(base, bank_format::immutable_checksum))
      return fail(
          error(errc::corrupt, "header checksum mismatch")
              .with_expected_hex("checksum", load32(base, bank_format::immutable_checksum), sum));
  }
  if (kind != nullptr) *kind = k;
  const std::uint32_t flags = load32(base, bank_format::flags);
  if ((flags & ~bank_format::known_flags) != 0)
    return fail(error(errc::layout_mismatch, "bank uses features this build does not know (flags)")
                    .with_hex("unknown flags", flags & ~bank_format::known_flags));
  tunables t;
  t.durable = (flags & bank_format::flag_durable) != 0;
  t.page_size = load32(base, bank_format::page_size);
  t.bank_size = load64(base, bank_format::bank_size_lo);
  t.max_blocks = load32(base, bank_format::max_blocks);
  const std::uint32_t mlen = load32(base, bank_format::medium_len);
  if (mlen == 0 || mlen > max_medium_length)
    return fail(error(errc::corrupt, "medium length out of range")
                    .with_range("medium length", mlen, 1, max_medium_length));
  t.medium = std::string_view(reinterpret_cast<const char*>(base + bank_format::medium), mlen);
  auto l = compute_layout<Registry, Allocator>(t, *t.page_size);
  if (!l) {
    error e = l.error();
    e.code = errc::corrupt;  // the recorded tunables themselves are invalid
    return fail(e);
  }
  const bank_layout& w = *l;
  struct field {
    const char* name;
    std::uint64_t want, found;
  } fields[] = {
      {"bank_size", w.bank_size, *t.bank_size},
      {"total_pages", w.total_pages, load32(base, bank_format::total_pages)},
      {"registry_off", w.registry_off, load32(base, bank_format::registry_off)},
      {"allocator_off", w.allocator_off, load32(base, bank_format::allocator_off)},
      {"data_off", w.data_off, load64(base, bank_format::data_off_lo)},
      {"file_bytes", w.file_bytes, load64(base, bank_format::file_bytes_lo)},
  };
  for (const field& f : fields)
    if (f.want != f.found)
      return fail(error(errc::corrupt, "recorded layout disagrees with the tunables")
                      .with_expected(f.name, f.want, f.found));
  if (size < w.file_bytes)
    return fail(error(errc::truncated, "bank is shorter than its header says")
                    .with_expected("bytes", w.file_bytes, size));
  return w;
}

}  // namespace hotrestart::detail

#endif  // HOTRESTART_DETAIL_BANK_HEADER_HPP
