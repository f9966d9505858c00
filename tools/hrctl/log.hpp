// SPDX-License-Identifier: MIT
// The supervisor's messages: "hrctl: ..." lines on stderr, unless --quiet.
#ifndef HRCTL_LOG_HPP
#define HRCTL_LOG_HPP

#include <cstdarg>
#include <cstdio>

namespace hrctl {

class logger {
 public:
  bool quiet = false;

  void operator()(const char* fmt, ...) const __attribute__((format(printf, 2, 3))) {
    if (quiet) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "hrctl: %s\n", buf);
    std::fflush(stderr);
  }
};

}  // namespace hrctl

#endif  // HRCTL_LOG_HPP
