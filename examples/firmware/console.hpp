// SPDX-License-Identifier: MIT
// The firmwares' output: one semihosting line per `say`, "[boot N] ..." by default; the end of
// the run (PASS or FAIL and QEMU's exit code); error results turned into a FAIL. No heap.
#ifndef HR_FIRMWARE_CONSOLE_HPP
#define HR_FIRMWARE_CONSOLE_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include <hotrestart/error.hpp>

#include "semihosting.hpp"

namespace fw {

inline std::uint32_t boot_number = 0;  // this boot's number (.bss: set at every boot)

class say {
 public:
  /// A line prefixed "[boot N] ".
  say() { *this << "[boot " << boot_number << "] "; }
  /// A line with its own prefix ("" for none).
  explicit say(const char* prefix) { *this << prefix; }
  say(const say&) = delete;
  say& operator=(const say&) = delete;
  ~say() {
    const std::size_t end = n_ < sizeof buf_ - 1 ? n_ : sizeof buf_ - 2;
    buf_[end] = '\n';
    buf_[end + 1] = '\0';
    semihosting::write(buf_);
  }
  say& operator<<(std::string_view s) {
    for (char c : s)
      if (n_ + 2 < sizeof buf_) buf_[n_++] = c;
    return *this;
  }
  say& operator<<(const char* s) { return *this << std::string_view(s); }
  say& operator<<(std::uint32_t v) {
    char d[10];
    int k = 0;
    do {
      d[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0) *this << std::string_view(&d[--k], 1);
    return *this;
  }
  struct hex {
    std::uint32_t v;
  };
  say& operator<<(hex h) {
    *this << "0x";
    for (int s = 28; s >= 0; s -= 4) {
      const char c = "0123456789abcdef"[(h.v >> s) & 0xFu];
      *this << std::string_view(&c, 1);
    }
    return *this;
  }

 private:
  char buf_[160] = {};
  std::size_t n_ = 0;
};

/// Prints PASS (exit 0) or FAIL: why (exit 1) and ends QEMU.
[[noreturn]] inline void finish(bool pass, const char* why = "") {
  if (pass)
    say("") << "PASS";
  else
    say("") << "FAIL: " << why;
  semihosting::exit(pass ? 0 : 1);
}

[[noreturn]] inline void die(const char* what, const hotrestart::error& e) {
  say() << what << ": " << hotrestart::describe(e).text;
  finish(false, what);
}

template <class T>
T must(hotrestart::result<T>&& r, const char* what) {
  if (!r) die(what, r.error());
  return std::move(*r);
}
inline void must(hotrestart::result<void>&& r, const char* what) {
  if (!r) die(what, r.error());
}

}  // namespace fw

#endif  // HR_FIRMWARE_CONSOLE_HPP
