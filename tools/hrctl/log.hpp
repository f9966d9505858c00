// SPDX-License-Identifier: MIT
// The supervisor's messages: "hrctl: ..." lines on stderr, unless --quiet. When stderr is the
// journal (systemd.hpp), each line starts with its priority: log() is information (<6>),
// log.warn() a warning (<4>: a crash, a hang), log.error() an error (<3>: a give-up).
#ifndef HRCTL_LOG_HPP
#define HRCTL_LOG_HPP

#include <cstdarg>
#include <cstdio>
#include <functional>
#include <string_view>

#include "systemd.hpp"

namespace hrctl {

class logger {
 public:
  bool quiet = false;
  /// Also given each message (without "hrctl: "), quiet or not: the supervisor passes a
  /// group's messages on to the delegated runs of that group.
  std::function<void(std::string_view)> tee;

  void operator()(const char* fmt, ...) const __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    write(priority::info, fmt, ap);
    va_end(ap);
  }
  void warn(const char* fmt, ...) const __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    write(priority::warning, fmt, ap);
    va_end(ap);
  }
  void error(const char* fmt, ...) const __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    write(priority::err, fmt, ap);
    va_end(ap);
  }

 private:
  void write(priority p, const char* fmt, va_list ap) const __attribute__((format(printf, 3, 0))) {
    if (quiet && !tee) return;
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    if (tee) tee(buf);
    if (quiet) return;
    const std::string_view pre = priority_prefix(p);
    std::fprintf(stderr, "%.*shrctl: %s\n", static_cast<int>(pre.size()), pre.data(), buf);
    std::fflush(stderr);
  }
};

}  // namespace hrctl

#endif  // HRCTL_LOG_HPP
