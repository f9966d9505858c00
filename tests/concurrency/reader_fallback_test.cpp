// SPDX-License-Identifier: MIT
// The lock-free reader's fallback: a writer that dies while the readers' sequence word is odd
// (inside the unlink of a free or the switch of a replace) must not leave readers spinning.
// A real child process is SIGKILLed at that instant while this process keeps the bank open;
// its find() must return, having repaired the bank through the lock (robust mutex: owner died,
// intent record recovered, sequence word even again).
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>

#include "concurrency/crash_child.hpp"
#include "support.hpp"

using namespace hotrestart;

namespace {

std::uint32_t seq_word(const mmap_bank& b) {
  return detail::load32(b.backend().data(), bank_format::seq);
}
bool intent_pending(const mmap_bank& b) {
  return detail::journal::pending(b.backend().data());
}

void fill(const block& x, int v) {
  std::memset(x.data, v, x.size);
}
bool holds(const block& x, std::uint64_t size, int v) {
  if (x.size != size) return false;
  for (std::uint64_t i = 0; i < x.size; ++i)
    if (x.data[i] != static_cast<std::byte>(v)) return false;
  return true;
}

}  // namespace

TEST_CASE("a reader survives a writer killed inside free's unlink (odd sequence word)") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("fallback.bank");
  auto b = mmap_bank::create(path.c_str());
  REQUIRE(b);
  for (int i = 0; i < 6; ++i) {
    auto x = b->find_or_create("blk" + std::to_string(i), 5000, "K");
    REQUIRE(x);
    fill(*x, 0x30 + i);
  }
  const int status = hrtest::run_crash_child(path.c_str(), "odd", "free", "blk2");
  REQUIRE_MESSAGE(hrtest::killed(status), "the child must die inside the free (status ", status,
                  ")");
  // The instant the test is about: a dead writer left the word odd and its intent pending.
  REQUIRE((seq_word(*b) & 1u) == 1u);
  REQUIRE(intent_pending(*b));
  // The reader must come back (not spin forever) with the right block...
  auto f = b->find("blk4");
  HR_REQUIRE_OK(f);
  CHECK(holds(*f, 5000, 0x34));
  // ...having repaired the bank itself: nobody else touched it.
  CHECK((seq_word(*b) & 1u) == 0u);
  CHECK_FALSE(intent_pending(*b));
  // The free happened or it did not; either way the bank is consistent.
  auto victim = b->find("blk2");
  if (victim) {
    CHECK(holds(*victim, 5000, 0x32));
  } else {
    CHECK(victim.error().code == errc::not_found);
  }
  auto st = b->stats();
  REQUIRE(st);
  CHECK(st->blocks == (victim ? 6u : 5u));
  hrtest::require_consistent(*b);
}

TEST_CASE("a reader survives a writer killed inside replace's switch (odd sequence word)") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("fallback.bank");
  auto b = mmap_bank::create(path.c_str());
  REQUIRE(b);
  auto old = b->find_or_create("value", 3000);
  REQUIRE(old);
  fill(*old, 1);
  auto next = b->find_or_create("value.next", 7000);
  REQUIRE(next);
  fill(*next, 2);
  const int status = hrtest::run_crash_child(path.c_str(), "odd", "replace", "value", "value.next");
  REQUIRE_MESSAGE(hrtest::killed(status), "the child must die inside the replace (status ", status,
                  ")");
  REQUIRE((seq_word(*b) & 1u) == 1u);
  REQUIRE(intent_pending(*b));
  // The name is never missing: the old block or the new one.
  auto f = b->find("value");
  HR_REQUIRE_OK(f);
  CHECK((holds(*f, 3000, 1) || holds(*f, 7000, 2)));
  CHECK((seq_word(*b) & 1u) == 0u);
  CHECK_FALSE(intent_pending(*b));
  const bool happened = holds(*f, 7000, 2);
  auto src = b->find("value.next");
  CHECK(src.has_value() == !happened);
  hrtest::require_consistent(*b);
}
