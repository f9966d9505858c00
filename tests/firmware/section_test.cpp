// SPDX-License-Identifier: MIT
// The section backend on the host (its _ext variant over test memory): the conformance suite,
// the boot-time decision (power-on garbage, kept, interrupted creation, corrupt header, other
// tunables), the reset-while-locked recovery, and bankdump's inspect() on a raw image.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <hotrestart/backends/section.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/tools/bank_image.hpp>

#include "support.hpp"

namespace {

struct aligned_memory {
  struct release {
    void operator()(void* p) const { std::free(p); }
  };
  std::size_t bytes;
  std::unique_ptr<void, release> memory;
  explicit aligned_memory(std::size_t n) : bytes(n), memory(std::aligned_alloc(64, n)) {
    std::memset(memory.get(), 0, bytes);
  }
  std::span<std::byte> span() const { return {static_cast<std::byte*>(memory.get()), bytes}; }
};

struct section_fixture {
  using bank = hotrestart::section_bank_ext;
  static constexpr bool has_files = false;
  aligned_memory mem{16u << 20};
  std::span<std::byte> where() const { return mem.span(); }
};

}  // namespace

#define HR_CONFORMANCE_FIXTURES section_fixture
#include "conformance.hpp"

namespace {
using namespace hotrestart;
constexpr tunables small{.bank_size = 16 * 1024, .max_blocks = 16};

void fill_random(std::span<std::byte> s, unsigned seed) {
  std::mt19937 rng(seed);
  for (auto& b : s) b = static_cast<std::byte>(rng());
}
}  // namespace

TEST_CASE("section backend: power-on garbage is formatted, a kept bank keeps its bytes") {
  aligned_memory ram(32 * 1024);
  fill_random(ram.span(), 7);  // what RAM holds at power-on
  {
    auto b = boot_bank<section_bank_ext>(ram.span(), small);
    HR_REQUIRE_OK(b);
    CHECK(b->kind == boot_kind::formatted_blank);
    CHECK(b->bank.layout().page_size == 256);
    auto blk = b->bank.find_or_create("boot", 4);
    HR_REQUIRE_OK(blk);
    CHECK(blk->created);
    std::memcpy(blk->data, "\x05\0\0\0", 4);
  }
  // A warm reset: the same RAM, a new boot.
  auto b = boot_bank<section_bank_ext>(ram.span(), small);
  HR_REQUIRE_OK(b);
  CHECK(b->kind == boot_kind::kept);
  auto blk = b->bank.find("boot");
  HR_REQUIRE_OK(blk);
  CHECK(std::memcmp(blk->data, "\x05\0\0\0", 4) == 0);
  hrtest::require_consistent(b->bank);
}

TEST_CASE("section backend: a bank failing its checks is reformatted and the reason kept") {
  aligned_memory ram(32 * 1024);
  HR_REQUIRE_OK(boot_bank<section_bank_ext>(ram.span(), small));
  SUBCASE("header checksum") {
    ram.span()[bank_format::page_size] ^= std::byte{1};  // a flipped bit in the immutable header
    auto b = boot_bank<section_bank_ext>(ram.span(), small);
    HR_REQUIRE_OK(b);
    CHECK(b->kind == boot_kind::reformatted);
    CHECK(b->reason.code == errc::corrupt);
    HR_CHECK_ERR(b->bank.find("anything"), errc::not_found);
  }
  SUBCASE("format version") {
    detail::store32(ram.span().data(), bank_format::layout_version, bank_format::version + 1);
    auto b = boot_bank<section_bank_ext>(ram.span(), small);
    HR_REQUIRE_OK(b);
    CHECK(b->kind == boot_kind::reformatted);
    CHECK(b->reason.code == errc::version_mismatch);
  }
  SUBCASE("creation cut short by a reset") {
    detail::store32(ram.span().data(), bank_format::state,
                    static_cast<std::uint32_t>(bank_state::initialising));
    auto b = boot_bank<section_bank_ext>(ram.span(), small);
    HR_REQUIRE_OK(b);
    CHECK(b->kind == boot_kind::reformatted);
    CHECK(b->reason.code == errc::creation_interrupted);
  }
  SUBCASE("a firmware with other tunables") {
    auto b = boot_bank<section_bank_ext>(ram.span(), {.bank_size = 8 * 1024, .max_blocks = 16});
    HR_REQUIRE_OK(b);
    CHECK(b->kind == boot_kind::reformatted);
    CHECK(b->reason.code == errc::tunables_mismatch);
    CHECK(b->bank.layout().bank_size == 8 * 1024);
  }
}

TEST_CASE("section backend: create refuses a bank that is there; bad regions are refused") {
  aligned_memory ram(32 * 1024);
  HR_REQUIRE_OK(section_bank_ext::create(ram.span(), small));
  HR_CHECK_ERR(section_bank_ext::create(ram.span(), small), errc::already_exists);
  section_backend_ext::wipe(ram.span());
  HR_CHECK_ERR(section_bank_ext::open(ram.span()), errc::not_a_bank);
  HR_REQUIRE_OK(section_bank_ext::create(ram.span(), small));
  HR_CHECK_ERR(section_bank_ext::open(ram.span().subspan(8)), errc::bad_size);
  HR_CHECK_ERR(section_bank_ext::open(ram.span().first(1024)), errc::truncated);
  HR_CHECK_ERR(section_bank_ext::create(ram.span().first(4096), small), errc::truncated);
}

TEST_CASE("section backend: a reset while the lock was held is repaired at the next boot") {
  aligned_memory ram(32 * 1024);
  auto b = boot_bank<section_bank_ext>(ram.span(), small);
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(b->bank.find_or_create("kept", 10));
  // The chip resets inside an operation: the lock is held, the intent record half-written
  // would be repaired by the bank; here only the lock word tells.
  std::byte* area = ram.span().data() + bank_format::lock_area;
  REQUIRE(atomic_section_lock::lock(area).value() == lock_outcome::acquired);
  // While held (same boot), a preempting handler gets lock_failed instead of a deadlock.
  HR_CHECK_ERR(atomic_section_lock::lock(area), errc::lock_failed);
  // Next boot: open marks the lock stale; the first lock reports the dead owner once.
  auto again = section_backend_ext::open(ram.span());
  HR_REQUIRE_OK(again);
  CHECK(again->lock().value() == lock_outcome::owner_died);
  again->repaired();
  again->unlock();
  CHECK(again->lock().value() == lock_outcome::acquired);
  again->unlock();
  auto reopened = boot_bank<section_bank_ext>(ram.span(), small);
  HR_REQUIRE_OK(reopened);
  CHECK(reopened->kind == boot_kind::kept);
  HR_REQUIRE_OK(reopened->bank.find("kept"));
  hrtest::require_consistent(reopened->bank);
}

TEST_CASE("section backend: a lock area from another backend is reinitialised on open") {
  aligned_memory ram(32 * 1024);
  HR_REQUIRE_OK(boot_bank<section_bank_ext>(ram.span(), small));
  std::memset(ram.span().data() + bank_format::lock_area, 0xA5, bank_format::lock_area_bytes);
  auto b = section_bank_ext::open(ram.span());
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(b->find_or_create("x", 1));  // takes and releases the lock
  CHECK(detail::load32(ram.span().data() + bank_format::lock_area, 8) ==
        atomic_section_lock::stamp);
}

TEST_CASE("bankdump's inspect() reads a raw image of a section bank") {
  aligned_memory ram(32 * 1024);
  {
    auto b = boot_bank<section_bank_ext>(ram.span(), small);
    HR_REQUIRE_OK(b);
    auto boot = b->bank.find_or_create("boot", 4);
    HR_REQUIRE_OK(boot);
    std::memcpy(boot->data, "\x06\0\0\0", 4);
    HR_REQUIRE_OK(b->bank.find_or_create("app.scratch", 64, group_key(0)));
  }
  // The image as a dump tool writes it: the section's bytes in a file.
  hrtest::scratch_dir dir;
  const std::string path = dir.file("bank.img");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(ram.span().data(), 1, ram.bytes, f) == ram.bytes);
    std::fclose(f);
  }
  auto img = tools::bank_image::read(path.c_str());
  HR_REQUIRE_OK(img);
  std::vector<std::string> lines;
  auto s = tools::inspect(img->bytes(), [&](const char* l) { lines.emplace_back(l); },
                          {.show_bytes = 4});
  HR_REQUIRE_OK(s);
  CHECK(s->blocks == 2);
  CHECK(s->problems == 0);
  auto has = [&](const std::string& prefix) {
    for (const auto& l : lines)
      if (l.rfind(prefix, 0) == 0) return true;
    return false;
  };
  CHECK(has("bank: medium RAM, page 256, bank_size 16384, max_blocks 16"));
  CHECK(has("block boot size=4 capacity=256 key=- offset=0x"));
  CHECK(has("block app.scratch size=64 capacity=256 key=__HR_GROUP_0 "));
  CHECK(has("check: 0 problems"));
  bool bytes_ok = false;
  for (const auto& l : lines)
    bytes_ok |= l.find("block boot ") == 0 && l.ends_with("bytes=06000000");
  CHECK(bytes_ok);
  // Garbage is refused with the header check's reason; an offset past the end is refused.
  fill_random(img->bytes(), 3);
  HR_CHECK_ERR(tools::inspect(img->bytes(), [](const char*) {}), errc::not_a_bank);
  HR_CHECK_ERR(tools::bank_image::read(path.c_str(), 1 << 20), errc::truncated);
}
