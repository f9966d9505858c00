// SPDX-License-Identifier: MIT
// Error text that reads right: each detail kind has its wording, and the refusals that users
// reported reading wrongly (issue 14) are triggered on real banks and read as they mean.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

// Writes a 32-bit word into a bank file at `off`.
void poke(const std::string& path, std::uint64_t off, std::uint32_t v) {
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, &v, 4, static_cast<off_t>(off)) == 4);
  ::close(fd);
}

// The text of a failed result, or a marker when it did not fail.
template <class R>
std::string text_of(const R& r) {
  return r ? std::string("(no error)") : hrtest::text(r.error());
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("bank_full names the pages requested and the largest free extent") {
  hrtest::scratch_dir dir;
  auto b =
      mmap_bank::create(dir.file("full.bank").c_str(), {.bank_size = 8 * 4096, .page_size = 4096});
  REQUIRE(b);
  REQUIRE(b->find_or_create("most", 7 * 4096));
  auto r = b->find_or_create("five", 5 * 4096);
  HR_CHECK_ERR(r, errc::bank_full);
  const std::string s = text_of(r);
  CHECK_MESSAGE(contains(s, "(5 pages requested, 1 free (largest free extent))"), s);
  CHECK_FALSE(contains(s, "expected"));
}

TEST_CASE("size_exceeds_block names the bytes requested and the block's size") {
  hrtest::scratch_dir dir;
  auto b = mmap_bank::create(dir.file("small.bank").c_str(), {.page_size = 4096});
  REQUIRE(b);
  REQUIRE(b->find_or_create("cfg", 4096));
  auto r = b->find_or_create("cfg", 8000);
  HR_CHECK_ERR(r, errc::size_exceeds_block);
  const std::string s = text_of(r);
  CHECK_MESSAGE(contains(s, "(8000 bytes requested, 4096 in the block)"), s);
}

TEST_CASE("unknown_group names the group once") {
  hrtest::scratch_dir dir;
  auto bank = mmap_bank::create(dir.file("ctl.bank").c_str(), {.bank_size = 1u << 20});
  REQUIRE(bank);
  using store_t = bank_block_store<mmap_bank>;
  store_t store(*bank);
  auto c = open_or_create_controller<basic_controller<chorus_counter, store_t>>(
      *bank, controller_config{4, 16}, chorus_counter{}, store, 0);
  REQUIRE_MESSAGE(c, text_of(c));
  auto g = c->group_info(0);
  HR_CHECK_ERR(g, errc::unknown_group);
  const std::string s = text_of(g);
  CHECK_MESSAGE(s == "unknown_group: no such group (group 0)", s);
  auto out = c->group_info(9);
  HR_CHECK_ERR(out, errc::bad_group_id);
  CHECK_MESSAGE(contains(text_of(out), "(group 9 is outside 0..3)"), text_of(out));
}

TEST_CASE("bad_tunables names the allowed range, and nothing is created") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("zero.bank");
  auto r = mmap_bank::create(path.c_str(), {.max_blocks = 0});
  HR_CHECK_ERR(r, errc::bad_tunables);
  const std::string s = text_of(r);
  CHECK_MESSAGE(contains(s, "(max_blocks 0 is outside 1..4194304)"), s);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("magic numbers, layout hashes and checksums are printed in hex") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("hex.bank");
  REQUIRE(mmap_bank::create(path.c_str()));
  SUBCASE("layout fingerprint") {
    poke(path, bank_format::fingerprint_lo, 0x12345678u);
    auto r = mmap_bank::open(path.c_str());
    HR_CHECK_ERR(r, errc::layout_mismatch);
    const std::string s = text_of(r);
    CHECK_MESSAGE(contains(s, "(layout fingerprint: expected 0x"), s);
    CHECK_MESSAGE(contains(s, ", found 0x"), s);
    CHECK_MESSAGE(contains(s, "12345678)"), s);  // the low word poked, in hex
  }
  SUBCASE("magic") {
    poke(path, bank_format::magic0, 0x78787878u);
    auto r = mmap_bank::open(path.c_str());
    HR_CHECK_ERR(r, errc::not_a_bank);
    const std::string s = text_of(r);
    CHECK_MESSAGE(contains(s, "found 0x78787878)"), s);
    CHECK_MESSAGE(contains(s, "(magic: expected 0x"), s);
  }
  SUBCASE("header checksum") {
    poke(path, bank_format::immutable_checksum, 0xDEADBEEFu);
    auto r = mmap_bank::open(path.c_str());
    HR_CHECK_ERR(r, errc::corrupt);
    const std::string s = text_of(r);
    CHECK_MESSAGE(contains(s, "(checksum: expected 0xdeadbeef, found 0x"), s);
  }
  SUBCASE("versions stay decimal") {
    poke(path, bank_format::layout_version, bank_format::version + 1);
    auto r = mmap_bank::open(path.c_str());
    HR_CHECK_ERR(r, errc::version_mismatch);
    const std::string want = "(format version: expected " + std::to_string(bank_format::version) +
                             ", found " + std::to_string(bank_format::version + 1) + ")";
    CHECK_MESSAGE(contains(text_of(r), want), text_of(r));
  }
}

TEST_CASE("a medium mismatch names both media") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("media.bank");
  REQUIRE(mmap_bank::create(path.c_str(), {.medium = "NVRAM"}));
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  auto lookup = b->find_or_create(block_name{"FLASH", "a"}, 1);
  HR_CHECK_ERR(lookup, errc::unknown_medium);
  CHECK_MESSAGE(contains(text_of(lookup), R"((block medium "FLASH", this bank serves "NVRAM"))"),
                text_of(lookup));
  // Same length, other name: the case that used to print two equal lengths.
  auto same_length = b->find_or_create(block_name{"DRAMX", "a"}, 1);
  CHECK_MESSAGE(contains(text_of(same_length), R"(block medium "DRAMX", this bank serves "NVRAM")"),
                text_of(same_length));
  auto reopen = mmap_bank::open_or_create(path.c_str(), {.medium = "A-SIXTEEN-BYTES!"});
  HR_CHECK_ERR(reopen, errc::tunables_mismatch);
  CHECK_MESSAGE(
      contains(text_of(reopen), R"((medium given "A-SIXTEEN-BYTES!", the bank has "NVRAM"))"),
      text_of(reopen));
}

TEST_CASE("tunables_mismatch names each tunable, what was given and what the bank has") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("t.bank");
  REQUIRE(mmap_bank::create(path.c_str(), {.bank_size = 1u << 20, .max_blocks = 30}));
  auto r = mmap_bank::open_or_create(
      path.c_str(), {.bank_size = 2u << 20, .max_blocks = 40, .medium = "ROM", .durable = true});
  HR_CHECK_ERR(r, errc::tunables_mismatch);
  const std::string s = text_of(r);
  CHECK_MESSAGE(contains(s,
                         "(bank_size: 2097152 given, the bank has 1048576; max_blocks: 40 "
                         "given, the bank has 30; medium given \"ROM\", the bank has \"RAM\"; "
                         "more not shown)"),
                s);
  REQUIRE(r.error().find(detail_kind::given_recorded, "max_blocks") != nullptr);
  CHECK(r.error().find(detail_kind::given_recorded, "max_blocks")->b == 30);
}

// Every code, and every kind of detail: the wording describe() gives each.
TEST_CASE("every errc describes itself, and every detail kind reads as documented") {
  const std::vector<errc> all = {
      errc::ok,
      errc::name_empty,
      errc::name_too_long,
      errc::name_has_nul,
      errc::name_reserved,
      errc::medium_empty,
      errc::medium_too_long,
      errc::unknown_medium,
      errc::key_too_long,
      errc::key_reserved,
      errc::bad_size,
      errc::bad_tunables,
      errc::not_found,
      errc::size_exceeds_block,
      errc::bank_full,
      errc::block_table_full,
      errc::not_a_bank,
      errc::version_mismatch,
      errc::layout_mismatch,
      errc::truncated,
      errc::corrupt,
      errc::tunables_mismatch,
      errc::creation_interrupted,
      errc::io_error,
      errc::already_exists,
      errc::not_regular_file,
      errc::lock_failed,
      errc::untrusted_file,
      errc::group_limit,
      errc::process_limit,
      errc::unknown_group,
      errc::bad_group_id,
      errc::duplicate_process,
      errc::unknown_process,
      errc::group_not_running,
      errc::not_permitted,
      errc::type_mismatch,
      errc::schema_mismatch,
  };
  // The list is every code there is: no other value below 256 has a name.
  std::size_t named = 0;
  for (unsigned v = 0; v < 256; ++v)
    named += std::string(to_string(static_cast<errc>(v))) != "unknown_error" ? 1u : 0u;
  CHECK(named == all.size());

  // One detail of each kind, with the text it must read as.
  using make_fn = error& (*)(error&);
  const std::vector<std::pair<make_fn, std::string>> kinds = {
      {[](error& e) -> error& { return e; }, ""},
      {[](error& e) -> error& { return e.with_value("group", 0); }, " (group 0)"},
      {[](error& e) -> error& { return e.with_hex("unknown flags", 0x10); },
       " (unknown flags 0x10)"},
      {[](error& e) -> error& { return e.with_expected("format version", 3, 4); },
       " (format version: expected 3, found 4)"},
      {[](error& e) -> error& { return e.with_expected_hex("magic", 0x48524231, 0x78787878); },
       " (magic: expected 0x48524231, found 0x78787878)"},
      {[](error& e) -> error& {
         return e.with_requested("pages", 5, 1, "free (largest free extent)");
       },
       " (5 pages requested, 1 free (largest free extent))"},
      {[](error& e) -> error& { return e.with_requested("bytes", 10, 2); },
       " (10 bytes requested, 2 available)"},
      {[](error& e) -> error& { return e.with_range("max_blocks", 0, 1, 4194304); },
       " (max_blocks 0 is outside 1..4194304)"},
      {[](error& e) -> error& { return e.with_limit("key length", 40, 32); },
       " (key length 40 is over the limit of 32)"},
      {[](error& e) -> error& { return e.with_minimum("file bytes", 10, 4096); },
       " (file bytes 10 is under the minimum of 4096)"},
      {[](error& e) -> error& { return e.with_given("max_blocks", 128, 64); },
       " (max_blocks: 128 given, the bank has 64)"},
      {[](error& e) -> error& {
         return e.with_names("bank medium", "mmap", "this build expects", "shm");
       },
       R"( (bank medium "mmap", this build expects "shm"))"},
  };
  std::size_t k = 0;
  for (errc c : all) {
    const std::string name = to_string(c);
    CHECK(name != "unknown_error");
    CHECK_FALSE(name.empty());
    // Each code with each kind (rotating, so every code and every kind are seen).
    for (std::size_t j = 0; j < 2; ++j, ++k) {
      const auto& [make, detail] = kinds[k % kinds.size()];
      error e(c, "what happened");
      make(e);
      const std::string s = describe(e).text;
      CHECK_MESSAGE(s == name + ": what happened" + detail, s);
    }
  }
  CHECK(k >= kinds.size());

  // Several details, an errno, and a detail that does not fit.
  error e(errc::io_error, "cannot open");
  e.with_value("attempt", 2).with_expected_hex("checksum", 0xABC, 0).with_errno(13);
  CHECK(std::string(describe(e).text) ==
        "io_error: cannot open (attempt 2; checksum: expected 0xabc, found 0x0) [errno 13]");
  e.with_range("offset", 9, 0, 8).with_range("offset", 10, 0, 8);  // the second does not fit
  CHECK(e.detail_count == error::max_details);
  CHECK(std::string(describe(e).text) ==
        "io_error: cannot open (attempt 2; checksum: expected 0xabc, found 0x0; offset 9 is "
        "outside 0..8; more not shown) [errno 13]");
  // Names longer than 16 bytes are cut at 16 (media never are).
  error n(errc::unknown_medium, "x");
  n.with_names("a", "0123456789abcdefXYZ", "b", "");
  CHECK(std::string(describe(n).text) == R"(unknown_medium: x (a "0123456789abcdef", b ""))");
  static_assert(sizeof(error) <= 128);
}

TEST_CASE("describe() is usable at compile time") {
  constexpr auto t = [] {
    error e(errc::bad_tunables, "max_blocks out of range");
    e.with_range("max_blocks", 0, 1, 4194304);
    return describe(e);
  }();
  static_assert(t.text[0] == 'b');
  CHECK(std::string(t.text) ==
        "bad_tunables: max_blocks out of range (max_blocks 0 is outside "
        "1..4194304)");
}
