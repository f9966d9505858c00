// SPDX-License-Identifier: MIT
// hrctl's JSON errors: {"schema_version":1,"error":{"exit_code":N,"kind":"...","message":"..."}}
// on stdout, for a command given --json that fails.
#ifndef HRCTL_JSON_HPP
#define HRCTL_JSON_HPP

#include <cstdio>
#include <string>
#include <string_view>

namespace hrctl {

/// `s` as the inside of a JSON string: quotes, backslashes and control characters escaped.
inline std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.append(buf);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

/// Prints the JSON error object (one line) on stdout.
inline void print_json_error(int exit_code, std::string_view kind, std::string_view message) {
  std::printf(
      "{\"schema_version\":1,\"error\":{\"exit_code\":%d,\"kind\":\"%s\",\"message\":\"%s\"}}\n",
      exit_code, json_escape(kind).c_str(), json_escape(message).c_str());
  std::fflush(stdout);
}

}  // namespace hrctl

#endif  // HRCTL_JSON_HPP
