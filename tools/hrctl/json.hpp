// SPDX-License-Identifier: MIT
// hrctl's JSON output (docs/json.md): a small writer and the error object. Every --json output
// carries "schema_version": 1 at its top level.
#ifndef HRCTL_JSON_HPP
#define HRCTL_JSON_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace hrctl {

inline constexpr int json_schema_version = 1;

/// A JSON string literal of `s`. Valid UTF-8 passes through; `"` and `\` are escaped; control
/// bytes (below 0x20, and 0x7f) become \u00XX; a byte that is not part of valid UTF-8 becomes
/// \u00XX too, so the output is always valid JSON. A byte string that was not UTF-8 is told
/// apart with json_is_text (docs/json.md: such names also come as "name_hex").
std::string json_str(std::string_view s);
/// True if `s` is valid UTF-8 without NUL (a name that json_str renders exactly).
bool json_is_text(std::string_view s);
/// Lower-case hex of the bytes of `s` ("6162" for "ab").
std::string hex_of(std::string_view s);

/// Builds one JSON value: objects and arrays with commas put in for you.
///   json_writer w; w.begin_object().key("a").num(1).key("b").str("x").end_object();
class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& str(std::string_view v);
  json_writer& num(std::uint64_t v);
  json_writer& snum(std::int64_t v);
  json_writer& boolean(bool v);
  json_writer& null();
  /// A byte-string field: "<k>": the string, and "<k>_hex" when it is not valid UTF-8 text.
  json_writer& name_field(std::string_view k, std::string_view v);
  /// The schema_version field (call right after the top-level begin_object).
  json_writer& schema() { return key("schema_version").num(json_schema_version); }
  const std::string& text() const { return out_; }
  /// Prints the value and a newline on stdout.
  void print() const;

 private:
  void value_prefix();
  std::string out_;
  std::string first_;  // one char per open container: '1' while nothing is in it yet
  bool after_key_ = false;
};

/// Prints {"schema_version":1,"error":{"exit_code":N,"kind":"...","message":"..."}} and a
/// newline on stdout: what a --json command prints when it fails (its message also goes to
/// stderr as without --json).
void print_json_error(int exit_code, std::string_view kind, std::string_view message);

/// The error kind for an hrctl exit code ("bank", "unknown", "usage", ... see docs/json.md).
const char* json_error_kind(int exit_code);

}  // namespace hrctl

#endif  // HRCTL_JSON_HPP
