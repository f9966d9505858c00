// SPDX-License-Identifier: MIT
// The reboot record's format: 128 bytes of no-init RAM beside the bank (its own linker
// section, hotrestart_retained.ld), which keep a device's crash history when the bank cannot:
// a bank refused as corrupt, wiped, or discarded by the escalation ladder.
//
// Pure and host-usable (hrctl and bankdump decode it from a RAM dump): words, offsets, the
// CRC and the decoder; no device access. Layout version 1, little-endian 32-bit words:
//
//   words 0-25  the main record, written in thread mode (interrupts masked) or by the HardFault
//               handler: fields first, then a barrier, then the CRC of words 0-24 (word 25)
//   words 26-31 the watchdog note, written only by the watchdog's first-timeout interrupt:
//               fields, then its CRC (word 31, over words 26-30)
//
// Each part has one writer, and a part whose CRC does not match is *lost*: never half-trusted.
#ifndef HOTRESTART_BAREMETAL_RECORD_FORMAT_HPP
#define HOTRESTART_BAREMETAL_RECORD_FORMAT_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hotrestart::baremetal {

namespace rec {
inline constexpr std::size_t bytes = 128;
inline constexpr std::size_t words = bytes / 4;
inline constexpr std::uint32_t magic_value = 0x42525248u;  // "HRRB" in memory order
inline constexpr std::uint32_t version_value = 1;
inline constexpr std::uint32_t main_bytes = 104;                // words 0-25, the CRC included
inline constexpr std::uint32_t note_magic_value = 0x544E4457u;  // "WDNT"

// Word indexes of the main record.
enum : std::uint32_t {
  magic = 0,
  version_bytes = 1,  // version (low half) | main_bytes << 16: another layout is foreign
  boots = 2,          // +1 at every boot since the record was made
  crashes = 3,        // abnormal events ever (fault, watchdog, assert), in place or with a reset
  loop = 4,           // abnormal events in the current crash loop (0: none)
  site_in_row = 5,    // site restarts in a row (the ladder's K counter)
  discards = 6,       // times the give-up rung ran
  pending = 7,        // the cause written before a reset by whoever causes it; consumed at boot
  last_cause = 8,     // the cause the latest boot decided on
  hw_reason = 9,      // the chip's reset register at that boot; bit 31: the board has none
  first_cause = 10,   // the first event of the current loop (kept while loop > 0)
  first_task = 11,
  first_pc = 12,
  first_boot = 13,  // `boots` when the loop began
  task = 14,        // the latest abnormal event: its task
  pc = 15,          // stacked PC, LR, xPSR (0 when the frame was not readable: flags bit 4)
  lr = 16,
  xpsr = 17,
  cfsr = 18,  // fault status (0 on ARMv6-M, which has none)
  hfsr = 19,
  mmfar = 20,  // only with flags bit 2
  bfar = 21,   // only with flags bit 3
  flags = 22,
  wd_missing = 23,   // watchdog: tasks that had not checked in (bit mask)
  wd_last_fed = 24,  // watchdog: the task whose check-in completed the last feed
  crc = 25,          // CRC-32 of words 0-24
  // The watchdog note.
  note_magic = 26,
  note_running = 27,  // the task that ran at the first timeout
  note_missing = 28,
  note_last_fed = 29,
  note_pc = 30,
  note_crc = 31,  // CRC-32 of words 26-30
};

// flags
inline constexpr std::uint32_t flag_psp = 1u << 0;         // the frame was on the PSP
inline constexpr std::uint32_t flag_fault_regs = 1u << 1;  // CFSR/HFSR read (ARMv7-M, v8-M main)
inline constexpr std::uint32_t flag_mmfar = 1u << 2;       // MMFAR valid
inline constexpr std::uint32_t flag_bfar = 1u << 3;        // BFAR valid
inline constexpr std::uint32_t flag_no_frame = 1u << 4;    // stack pointer outside RAM
inline constexpr std::uint32_t flag_in_place = 1u << 5;    // restarted without a reset (rung 1)
inline constexpr std::uint32_t hw_reason_none = 1u << 31;  // no reset register read
inline constexpr std::uint32_t no_task = 0xFFFFFFFFu;
}  // namespace rec

/// Why the device (re)booted, as the boot decided it.
enum class reset_cause : std::uint32_t {
  none = 0,
  power_on = 1,       ///< no record (first power-on, or RAM without the magic)
  fault = 2,          ///< a HardFault (recorded by the handler before its reset)
  watchdog = 3,       ///< the watchdog (its first-timeout interrupt wrote the note)
  assert_failed = 4,  ///< `assert_failed()`
  requested = 5,      ///< the application asked for a reset
  site_restart = 6,   ///< the ladder's second rung: every group restarted, state kept
  external = 7,       ///< a reset nobody recorded: the reset pin, a debugger, a brown-out
  unknown_lost = 8,   ///< the record failed its check: nothing can be said
};

constexpr const char* to_string(reset_cause c) {
  switch (c) {
    case reset_cause::none: return "none";
    case reset_cause::power_on: return "power_on";
    case reset_cause::fault: return "fault";
    case reset_cause::watchdog: return "watchdog";
    case reset_cause::assert_failed: return "assert";
    case reset_cause::requested: return "requested";
    case reset_cause::site_restart: return "site_restart";
    case reset_cause::external: return "external";
    case reset_cause::unknown_lost: return "unknown_lost";
  }
  return "unknown";
}

/// A fault, a watchdog starvation and a failed assertion count toward a crash loop.
constexpr bool abnormal(reset_cause c) {
  return c == reset_cause::fault || c == reset_cause::watchdog || c == reset_cause::assert_failed;
}

/// CRC-32 of IEEE 802.3 / zlib (reflected polynomial 0xEDB88320, initial value and final xor
/// 0xFFFFFFFF), four bits per step from a 16-entry table: 64 bytes of read-only data, so that a
/// fault handler can afford it.
namespace detail {
inline constexpr std::array<std::uint32_t, 16> crc_nibbles = [] {
  std::array<std::uint32_t, 16> t{};
  for (std::uint32_t n = 0; n < 16; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 4; ++k) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    t[n] = c;
  }
  return t;
}();
constexpr std::uint32_t crc_byte(std::uint32_t c, std::uint8_t b) {
  c ^= b;
  c = (c >> 4) ^ crc_nibbles[c & 15u];
  return (c >> 4) ^ crc_nibbles[c & 15u];
}
}  // namespace detail

constexpr std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : bytes) c = detail::crc_byte(c, b);
  return c ^ 0xFFFFFFFFu;
}
/// The CRC of `n` words taken as little-endian bytes (how they lie in the record on every
/// Cortex-M, and how a dump holds them).
constexpr std::uint32_t crc32_words(const std::uint32_t* w, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i)
    for (int s = 0; s < 32; s += 8) c = detail::crc_byte(c, static_cast<std::uint8_t>(w[i] >> s));
  return c ^ 0xFFFFFFFFu;
}
static_assert(crc32(std::array<std::uint8_t, 9>{'1', '2', '3', '4', '5', '6', '7', '8', '9'}) ==
              0xCBF43926u);

/// What a record holds, once checked.
enum class record_status : std::uint8_t {
  absent,  ///< no magic: first power-on, or RAM that never held a record
  lost,    ///< the magic, but a version, size or CRC that does not match: nothing is trusted
  valid,
};
constexpr const char* to_string(record_status s) {
  switch (s) {
    case record_status::absent: return "absent";
    case record_status::lost: return "lost";
    case record_status::valid: return "valid";
  }
  return "unknown";
}

/// A record decoded from its words. `why` says what failed (absent, lost); the fields are
/// meaningful only when `status` is valid. `note_valid`: a watchdog note is there.
struct record_view {
  record_status status = record_status::absent;
  const char* why = "";
  std::uint32_t stored_crc = 0, computed_crc = 0;
  std::array<std::uint32_t, rec::words> w{};
  bool note_valid = false;

  std::uint32_t operator[](std::uint32_t i) const { return w[i]; }
  reset_cause cause(std::uint32_t i) const { return static_cast<reset_cause>(w[i]); }
};

/// Checks the words of a record (in the order they lie in memory).
constexpr record_view decode_words(const std::array<std::uint32_t, rec::words>& w) {
  record_view v;
  v.w = w;
  if (w[rec::magic] != rec::magic_value) {
    v.why = "no record magic";
    return v;
  }
  v.status = record_status::lost;
  if ((w[rec::version_bytes] & 0xFFFFu) != rec::version_value) {
    v.why = "another record version";
    return v;
  }
  if ((w[rec::version_bytes] >> 16) != rec::main_bytes) {
    v.why = "another record size";
    return v;
  }
  v.stored_crc = w[rec::crc];
#if defined(HR_BM_TESTONLY_NO_RECORD_CRC)
  v.computed_crc = crc32_words(w.data(), 1);  // negative control: a CRC of the magic alone
#else
  v.computed_crc = crc32_words(w.data(), rec::crc);
#endif
  if (v.stored_crc != v.computed_crc) {
    v.why = "CRC mismatch";
    return v;
  }
  v.status = record_status::valid;
  v.why = "";
  v.note_valid = w[rec::note_magic] == rec::note_magic_value &&
                 w[rec::note_crc] == crc32_words(w.data() + rec::note_magic, 5);
  return v;
}

/// Decodes a record from 128 bytes of a dump (little-endian).
inline record_view decode(std::span<const std::byte, rec::bytes> bytes) {
  std::array<std::uint32_t, rec::words> w{};
  for (std::size_t i = 0; i < rec::words; ++i)
    for (std::size_t k = 0; k < 4; ++k)
      w[i] |= static_cast<std::uint32_t>(bytes[4 * i + k]) << (8 * k);
  return decode_words(w);
}

}  // namespace hotrestart::baremetal

#endif  // HOTRESTART_BAREMETAL_RECORD_FORMAT_HPP
