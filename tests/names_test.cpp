// SPDX-License-Identifier: MIT
// Names, media, keys, group keys and the error values' text.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include <hotrestart/error.hpp>
#include <hotrestart/names.hpp>

#include "support.hpp"

using namespace hotrestart;
using namespace std::string_view_literals;

TEST_CASE("block names: limits and bytes") {
  HR_REQUIRE_OK(validate_name("PM1"));
  HR_REQUIRE_OK(validate_name(std::string(max_name_length, 'x')));
  HR_REQUIRE_OK(validate_name("\xff\x01 spaces and bytes"sv));
  HR_CHECK_ERR(validate_name(""), errc::name_empty);
  auto long_name = validate_name(std::string(max_name_length + 1, 'x'));
  HR_CHECK_ERR(long_name, errc::name_too_long);
  CHECK(long_name.error().kinds[0] == detail_kind::over_limit);
  CHECK(long_name.error().details[0].a == max_name_length + 1);
  CHECK(long_name.error().details[0].b == max_name_length);
  auto nul = validate_name("ab\0cd"sv);
  HR_CHECK_ERR(nul, errc::name_has_nul);
  CHECK(nul.error().details[0].a == 2);
  // Every position of a NUL is found, in the words checked eight bytes at a time and in the
  // tail; bytes that only look like zero to a careless word test (0x80, 0x01) are not NUL.
  for (std::size_t len = 1; len <= max_name_length; ++len) {
    std::string ok(len, '\x80');
    for (std::size_t i = 0; i < len; i += 2) ok[i] = '\x01';
    HR_REQUIRE_OK(validate_name(ok));
    for (std::size_t at = 0; at < len; ++at) {
      std::string bad(len, 'n');
      bad[at] = '\0';
      auto r = validate_name(bad);
      CAPTURE(len);
      CAPTURE(at);
      HR_CHECK_ERR(r, errc::name_has_nul);
      CHECK(r.error().details[0].a == at);
    }
  }
  static_assert(validate_name("compile time").has_value());
}

TEST_CASE("media and keys") {
  HR_REQUIRE_OK(validate_medium("RAM"));
  HR_CHECK_ERR(validate_medium(""), errc::medium_empty);
  HR_CHECK_ERR(validate_medium(std::string(max_medium_length + 1, 'M')), errc::medium_too_long);
  HR_REQUIRE_OK(validate_key(""));
  HR_REQUIRE_OK(validate_key("HELLO_GROUP\0"sv));  // keys are bytes: NUL allowed (sizeof)
  HR_CHECK_ERR(validate_key(std::string(max_key_length + 1, 'k')), errc::key_too_long);
}

TEST_CASE("reserved prefix and group keys") {
  CHECK(is_reserved("__HR_controller"));
  CHECK_FALSE(is_reserved("_HR"));
  CHECK(group_key(0).view() == "__HR_GROUP_0");
  CHECK(group_key(31).view() == "__HR_GROUP_31");
  CHECK(group_key(4294967295u).view() == "__HR_GROUP_4294967295");
  CHECK(is_reserved(group_key(7)));
  CHECK(group_key(7).view().size() <= max_key_length);
}

TEST_CASE("errors format their code, message and numbers without a heap") {
  error e(errc::tunables_mismatch, "the bank exists with other tunables");
  e.with_given("bank_size", 1048576, 2097152).with_given("max_blocks", 30, 40);
  const std::string s = describe(e).text;
  CHECK(s ==
        "tunables_mismatch: the bank exists with other tunables (bank_size: 1048576 given, the "
        "bank has 2097152; max_blocks: 30 given, the bank has 40)");
  error io(errc::io_error, "cannot open");
  io.with_errno(13);
  CHECK(std::string(describe(io).text) == "io_error: cannot open [errno 13]");
  // Bounded: a tiny buffer is truncated and terminated, never overrun.
  char small[8];
  std::memset(small, 'Z', sizeof small);
  format(e, small, sizeof small);
  CHECK(std::strlen(small) == 7);
  // Extra details beyond the capacity are dropped, not written out of bounds.
  error many(errc::corrupt, "x");
  for (int i = 0; i < 10; ++i) many.with_value("f", 1);
  CHECK(many.detail_count == error::max_details);
  CHECK(many.details_dropped);
  CHECK(std::string(to_string(errc::bank_full)) == "bank_full");
}
