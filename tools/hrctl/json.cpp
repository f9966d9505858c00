// SPDX-License-Identifier: MIT
#include "json.hpp"

#include "exit_codes.hpp"

#include <cstdio>

namespace hrctl {

namespace {
// Length of the valid UTF-8 sequence at s[i] (no overlong forms, no surrogates), or 0.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size() || c == 0xC0 || c == 0xC1 || c > 0xF4) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 >= 0x90))
    return 0;
  return n;
}
}  // namespace

bool json_is_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_len(s, i);
    if (n == 0 || s[i] == '\0') return false;
    i += n;
  }
  return true;
}

std::string hex_of(std::string_view s) {
  std::string o;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    o += "0123456789abcdef"[u >> 4];
    o += "0123456789abcdef"[u & 15];
  }
  return o;
}

std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    const std::size_t n = utf8_len(s, i);
    if (n == 0 || u < 0x20 || u == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(u));
      o += b;
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') o += '\\';
    o.append(s, i, n);
    i += n;
  }
  return o + "\"";
}

void json_writer::value_prefix() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (first_.back() == '0') out_ += ',';
    first_.back() = '0';
  }
}

json_writer& json_writer::begin_object() {
  value_prefix();
  out_ += '{';
  first_ += '1';
  return *this;
}
json_writer& json_writer::end_object() {
  out_ += '}';
  first_.pop_back();
  return *this;
}
json_writer& json_writer::begin_array() {
  value_prefix();
  out_ += '[';
  first_ += '1';
  return *this;
}
json_writer& json_writer::end_array() {
  out_ += ']';
  first_.pop_back();
  return *this;
}
json_writer& json_writer::key(std::string_view k) {
  value_prefix();
  out_ += json_str(k);
  out_ += ':';
  after_key_ = true;
  return *this;
}
json_writer& json_writer::str(std::string_view v) {
  value_prefix();
  out_ += json_str(v);
  return *this;
}
json_writer& json_writer::num(std::uint64_t v) {
  value_prefix();
  out_ += std::to_string(v);
  return *this;
}
json_writer& json_writer::snum(std::int64_t v) {
  value_prefix();
  out_ += std::to_string(v);
  return *this;
}
json_writer& json_writer::boolean(bool v) {
  value_prefix();
  out_ += v ? "true" : "false";
  return *this;
}
json_writer& json_writer::null() {
  value_prefix();
  out_ += "null";
  return *this;
}
json_writer& json_writer::name_field(std::string_view k, std::string_view v) {
  key(k).str(v);
  if (!json_is_text(v)) key(std::string(k) + "_hex").str(hex_of(v));
  return *this;
}
void json_writer::print() const {
  std::fwrite(out_.data(), 1, out_.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

const char* json_error_kind(int exit_code) {
  for (const exit_code_info& r : exit_code_table)
    if (r.code == exit_code && r.code != 128) return r.name;
  return "failure";
}

void print_json_error(int exit_code, std::string_view kind, std::string_view message) {
  json_writer w;
  w.begin_object().schema().key("error").begin_object();
  w.key("exit_code").snum(exit_code).key("kind").str(kind).key("message").str(message);
  w.end_object().end_object().print();
}

}  // namespace hrctl
