// SPDX-License-Identifier: MIT
// The reboot record in the device's memory: reads, writes with the written-last rule, and the
// watchdog note. Volatile word access only (a reset may come between any two stores); works
// on any memory, so the host tests drive it on an array.
#ifndef HOTRESTART_BAREMETAL_RECORD_HPP
#define HOTRESTART_BAREMETAL_RECORD_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <hotrestart/baremetal/record_format.hpp>

namespace hotrestart::baremetal {

/// Orders the stores before it before the stores after it, for the memory system too (a DMB
/// on Arm: the CRC must never reach RAM before the fields it covers).
inline void store_barrier() {
#if defined(__arm__)
  __asm__ volatile("dmb" ::: "memory");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

class reboot_record {
 public:
  explicit reboot_record(volatile std::uint32_t* words) : w_(words) {}

  /// The record as it is now, checked.
  record_view load() const {
    std::array<std::uint32_t, rec::words> w{};
    for (std::size_t i = 0; i < rec::words; ++i) w[i] = w_[i];
    return decode_words(w);
  }
  std::uint32_t get(std::uint32_t i) const { return w_[i]; }
  void set(std::uint32_t i, std::uint32_t v) { w_[i] = v; }
  void add(std::uint32_t i, std::uint32_t v = 1) { w_[i] = w_[i] + v; }

  /// A new record: every counter 0, no note. (Not valid until `commit`.)
  void fresh() {
    w_[rec::crc] = 0;  // first, so that a reset in the middle leaves no valid old record
    for (std::uint32_t i = 0; i < rec::words; ++i)
      if (i != rec::crc) w_[i] = 0;
    w_[rec::first_task] = rec::no_task;
    w_[rec::task] = rec::no_task;
    w_[rec::wd_last_fed] = rec::no_task;
    w_[rec::version_bytes] = rec::version_value | rec::main_bytes << 16;
    w_[rec::magic] = rec::magic_value;
  }

  /// Seals the main record: its CRC, stored after every field (written-last rule).
  void commit() {
    store_barrier();
    std::uint32_t w[rec::crc];
    for (std::uint32_t i = 0; i < rec::crc; ++i) w[i] = w_[i];
#if defined(HR_BM_TESTONLY_NO_RECORD_CRC)
    // Negative control: a record whose CRC covers nothing but the magic cannot see a bit flip.
    const std::uint32_t c = crc32_words(w, 1);
#else
    const std::uint32_t c = crc32_words(w, rec::crc);
#endif
    w_[rec::crc] = c;
    store_barrier();
  }

  /// The watchdog note (first-timeout interrupt only): fields, then its CRC.
  void write_note(std::uint32_t running, std::uint32_t missing, std::uint32_t last_fed,
                  std::uint32_t pc) {
    w_[rec::note_crc] = 0;
    w_[rec::note_magic] = rec::note_magic_value;
    w_[rec::note_running] = running;
    w_[rec::note_missing] = missing;
    w_[rec::note_last_fed] = last_fed;
    w_[rec::note_pc] = pc;
    store_barrier();
    std::uint32_t w[5];
    for (std::uint32_t i = 0; i < 5; ++i) w[i] = w_[rec::note_magic + i];
    w_[rec::note_crc] = crc32_words(w, 5);
    store_barrier();
  }
  /// Once the boot has folded a note into the main record.
  void clear_note() {
    w_[rec::note_magic] = 0;
    w_[rec::note_crc] = 0;
  }

  const volatile std::uint32_t* words() const {
    return w_;
  }

 private:
  volatile std::uint32_t* w_;
};

}  // namespace hotrestart::baremetal

#endif  // HOTRESTART_BAREMETAL_RECORD_HPP
