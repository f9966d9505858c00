// SPDX-License-Identifier: MIT
// The supervisor's messages: "hrctl: ..." lines on stderr, unless --quiet.
#ifndef HRCTL_LOG_HPP
#define HRCTL_LOG_HPP

#include <cstdarg>
#include <cstdio>
#include <functional>
#include <string_view>

namespace hrctl {

class logger {
 public:
  bool quiet = false;
  /// Also given each message (without "hrctl: "), quiet or not: the supervisor passes a
  /// group's messages on to the delegated runs of that group.
  std::function<void(std::string_view)> tee;

  void operator()(const char* fmt, ...) const __attribute__((format(printf, 2, 3))) {
    if (quiet && !tee) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (tee) tee(buf);
    if (quiet) return;
    std::fprintf(stderr, "hrctl: %s\n", buf);
    std::fflush(stderr);
  }
};

}  // namespace hrctl

#endif  // HRCTL_LOG_HPP
