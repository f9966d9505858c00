// SPDX-License-Identifier: MIT
// Typed blocks and relative pointers in one process: construction, schema checks, migrations,
// atomic updates, header validation against damaged bytes, and links that survive remapping.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <hotrestart/backend.hpp>
#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/offset_ptr.hpp>
#include <hotrestart/typed.hpp>

#include "../support.hpp"
#include "typed_types.hpp"

using namespace hotrestart;
using hrtest::require_consistent;
using hrtyped::rec_v1;
using hrtyped::rec_v2;

namespace {

struct small {
  static constexpr std::string_view hr_type_name = "test::small";
  static constexpr std::uint32_t hr_schema_version = 3;
  std::uint32_t a = 11;
  std::uint32_t b = 22;
};

struct other_type {
  static constexpr std::string_view hr_type_name = "test::other";
  static constexpr std::uint32_t hr_schema_version = 3;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
};

// Same name and version as `small`, another size: a programmer forgot to bump the version.
struct small_grown {
  static constexpr std::string_view hr_type_name = "test::small";
  static constexpr std::uint32_t hr_schema_version = 3;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::uint32_t c = 0;
};

// A type we do not own, described by specialisation.
struct foreign_pair {
  int x;
  int y;
};

struct no_schema {
  int x;
};

struct not_trivial {
  // Only the rejection of this type is tested: clang 16 sees these members unused.
  [[maybe_unused]] static constexpr std::string_view hr_type_name = "test::nt";
  [[maybe_unused]] static constexpr std::uint32_t hr_schema_version = 1;
  std::string s;
};

struct alignas(256) wide {
  static constexpr std::string_view hr_type_name = "test::wide";
  static constexpr std::uint32_t hr_schema_version = 1;
  std::uint8_t bytes[300] = {};
};

}  // namespace

template <>
struct hotrestart::type_schema<foreign_pair> {
  static constexpr std::string_view name = "test::foreign_pair";
  static constexpr std::uint32_t version = 9;
};

static_assert(described_type<small>);
static_assert(described_type<foreign_pair>);
static_assert(!described_type<no_schema>, "a type without a schema is refused");
static_assert(!described_type<not_trivial>, "a type that is not trivially copyable is refused");
static_assert(!described_type<small*>);
static_assert(persistent<foreign_pair>::desc.version == 9);
static_assert(persistent<wide>::desc.shape.slot0 == 256 &&
              persistent<wide>::desc.shape.stride == 512);
static_assert(persistent<small>::desc.shape.slot0 == 128 &&
              persistent<small>::desc.shape.stride == 64);

namespace {

struct mmap_fixture {
  hrtest::scratch_dir dir;
  std::string path = dir.file("typed.bank");
  result<mmap_bank> make(const tunables& t = {.bank_size = 1 << 20, .max_blocks = 32}) {
    return mmap_bank::create(path.c_str(), t);
  }
  result<mmap_bank> reopen() { return mmap_bank::open(path.c_str()); }
};

using span_bank = basic_bank<span_backend>;
struct span_fixture {
  static constexpr std::size_t bytes = 4u << 20;
  std::unique_ptr<std::byte[]> owner{new std::byte[bytes + 64]};
  std::span<std::byte> mem() {
    auto p = reinterpret_cast<std::uintptr_t>(owner.get());
    return {owner.get() + (64 - p % 64) % 64, bytes};
  }
  result<span_bank> make(const tunables& t = {.bank_size = 1 << 20, .max_blocks = 32}) {
    return span_bank::create(mem(), t);
  }
  result<span_bank> reopen() { return span_bank::open(mem()); }
};

template <class Bank>
std::uint32_t count_shadows(Bank& b) {
  std::uint32_t n = 0;
  auto r = b.for_each([&](const block_info& i) { n += i.name.starts_with("__HR~") ? 1u : 0u; });
  REQUIRE(r);
  return n;
}

}  // namespace

TEST_CASE_TEMPLATE("find_or_construct creates once with its initial value, then finds it", F,
                   mmap_fixture, span_fixture) {
  F fx;
  {
    auto b = fx.make();
    HR_REQUIRE_OK(b);
    auto p = persistent<small>::find_or_construct(*b, "cfg");
    HR_REQUIRE_OK(p);
    CHECK(p->created());
    CHECK(p->get()->a == 11);  // T{}: the default member initialisers
    CHECK((*p)->b == 22);
    (*p)->a = 5;  // in place
    auto again = persistent<small>::find_or_construct(*b, "cfg", small{99, 99});
    HR_REQUIRE_OK(again);
    CHECK(again->origin() == typed_origin::found);
    CHECK(again->get() == p->get());
    CHECK(again->get()->a == 5);  // the initial value is used only once
    auto with_fn = persistent<small>::find_or_construct(*b, "fn", [](small& s) { s.b = 1234; });
    HR_REQUIRE_OK(with_fn);
    CHECK(with_fn->get()->a == 11);
    CHECK(with_fn->get()->b == 1234);
    auto with_val = persistent<small>::find_or_construct(*b, "val", small{1, 2});
    HR_REQUIRE_OK(with_val);
    CHECK(with_val->get()->b == 2);
    CHECK(count_shadows(*b) == 0);
    require_consistent(*b);
  }
  auto b = fx.reopen();
  HR_REQUIRE_OK(b);
  auto p = persistent<small>::open(*b, "cfg");
  HR_REQUIRE_OK(p);
  CHECK(p->get()->a == 5);
  CHECK(p->get()->b == 22);
  auto info = inspect_typed(*b->find("cfg"));
  HR_REQUIRE_OK(info);
  CHECK(info->type_name == "test::small");
  CHECK(info->schema_version == 3);
  CHECK(info->shape.size == sizeof(small));
  HR_CHECK_ERR(persistent<small>::open(*b, "missing"), errc::not_found);
}

TEST_CASE("a type described by specialisation, and a wide alignment") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<foreign_pair>::find_or_construct(*b, "pair", foreign_pair{3, 4});
  HR_REQUIRE_OK(p);
  CHECK(p->get()->y == 4);
  auto w = persistent<wide>::find_or_construct(*b, "wide");
  HR_REQUIRE_OK(w);
  CHECK(reinterpret_cast<std::uintptr_t>(w->get()) % 256 == 0);
  w->update([](wide& v) { v.bytes[299] = 9; });
  CHECK(reinterpret_cast<std::uintptr_t>(w->get()) % 256 == 0);
  CHECK(w->get()->bytes[299] == 9);
}

TEST_CASE("names: reserved and too long are refused before anything is created") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  HR_CHECK_ERR(persistent<small>::find_or_construct(*b, "__HRmine"), errc::name_reserved);
  HR_CHECK_ERR(persistent<small>::find_or_construct(*b, std::string(33, 'n')), errc::name_too_long);
  HR_CHECK_ERR(persistent<small>::find_or_construct(*b, ""), errc::name_empty);
  auto st = b->stats();
  REQUIRE(st);
  CHECK(st->blocks == 0);
  // The longest name works; its shadow name fits too.
  HR_REQUIRE_OK(persistent<small>::find_or_construct(*b, std::string(32, 'n')));
  CHECK(count_shadows(*b) == 0);
}

TEST_CASE("shadow names: always within 32 bytes, reserved, distinct for long names") {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    // Long names that share their first 28 bytes.
    std::string n = std::string(28, 'p') + std::to_string(1000 + i);
    auto s = detail::make_shadow_name(n);
    CHECK(s.size <= max_name_length);
    CHECK(is_reserved(s.view()));
    CHECK(validate_name(s.view()).has_value());
    seen.insert(std::string(s.view()));
  }
  CHECK(seen.size() == 2000);
  CHECK(detail::make_shadow_name("abc").view().ends_with("~abc"));
}

TEST_CASE("another type, another version, another size, a raw block: clear errors") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(persistent<small>::find_or_construct(*b, "cfg"));
  HR_CHECK_ERR(persistent<other_type>::find_or_construct(*b, "cfg"), errc::type_mismatch);
  HR_CHECK_ERR(persistent<other_type>::open(*b, "cfg"), errc::type_mismatch);
  HR_CHECK_ERR(persistent<small_grown>::find_or_construct(*b, "cfg"), errc::schema_mismatch);
  HR_REQUIRE_OK(persistent<rec_v1>::find_or_construct(*b, "rec"));
  auto v2 = persistent<rec_v2>::find_or_construct(*b, "rec");
  HR_CHECK_ERR(v2, errc::schema_mismatch);
  CHECK(v2.error().details[0].a == 2);  // schema version wanted
  CHECK(v2.error().details[0].b == 1);  // and the one found
  auto raw = b->find_or_create("raw", 4096);
  HR_REQUIRE_OK(raw);
  std::memset(raw->data, 0x5A, 4096);
  HR_CHECK_ERR(persistent<small>::find_or_construct(*b, "raw"), errc::type_mismatch);
  HR_CHECK_ERR(persistent<small>::open(*b, "raw"), errc::type_mismatch);
  // Nothing was changed by the refusals.
  CHECK(std::to_integer<int>(b->find("raw")->data[0]) == 0x5A);
  CHECK(count_shadows(*b) == 0);
  require_consistent(*b);
}

TEST_CASE("every damaged header byte is refused or harmless, never misread") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<rec_v1>::find_or_construct(*b, "rec");
  HR_REQUIRE_OK(p);
  p->update([](rec_v1& r) { r.set(77); });
  std::byte* hdr = p->block_data();
  for (std::uint32_t at = 0; at < typed_format::header_size; ++at) {
    for (int bit : {0, 3, 7}) {
      CAPTURE(at);
      CAPTURE(bit);
      hdr[at] ^= std::byte{static_cast<unsigned char>(1u << bit)};
      auto o = persistent<rec_v1>::open(*b, "rec");
      if (at >= typed_format::selector && at < typed_format::selector + 4) {
        // The selector: any value picks one of the two slots; both hold whole values.
        HR_REQUIRE_OK(o);
        CHECK(o->load().whole());
      } else if ((at >= 52 && at < 64) || at >= 96) {
        HR_REQUIRE_OK(o);  // reserved bytes are not read
      } else if (at >= typed_format::name && at < typed_format::name + 32) {
        REQUIRE_FALSE(o.has_value());  // the name is under the checksum
      } else {
        REQUIRE_FALSE(o.has_value());
        const errc c = o.error().code;
        CHECK((c == errc::corrupt || c == errc::type_mismatch || c == errc::version_mismatch));
      }
      hdr[at] ^= std::byte{static_cast<unsigned char>(1u << bit)};
    }
  }
  auto o = persistent<rec_v1>::open(*b, "rec");
  HR_REQUIRE_OK(o);
  CHECK(o->load().seq == 77);
}

TEST_CASE("the header a block gets is word for word the image the fast check expects") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<rec_v1>::find_or_construct(*b, "rec");
  HR_REQUIRE_OK(p);
  const auto& im = persistent<rec_v1>::image;
  for (std::uint32_t i = 0; i < 12; ++i)
    CHECK(detail::load32(p->block_data(), 4ull * i) == im.head[i]);
  for (std::uint32_t i = 0; i < 8; ++i)
    CHECK(detail::load32(p->block_data(), typed_format::name + 4ull * i) == im.name[i]);
  CHECK(im.head[11] == detail::typed_checksum(p->block_data()));
  // A block too small for the two slots fails the fast check and the full one.
  CHECK_FALSE(
      detail::matches_image(p->block_data(), 256, im, persistent<rec_v1>::desc.shape.block_bytes));
}

TEST_CASE("a header with a valid checksum but slots beyond its block is corrupt") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<small>::find_or_construct(*b, "cfg");
  HR_REQUIRE_OK(p);
  std::byte* blk = p->block_data();
  // Rewrite the header as if it held 8 KiB values (re-checksummed, so only the shape is wrong).
  detail::store32(blk, typed_format::value_size, 8192);
  auto s = shape_of(8192, 4);
  detail::store32(blk, typed_format::stride, s.stride);
  detail::store32(blk, typed_format::checksum, detail::typed_checksum(blk));
  auto info = inspect_typed(*b->find("cfg"));
  HR_CHECK_ERR(info, errc::corrupt);
}

TEST_CASE_TEMPLATE("a migration builds the new value and switches the name over", F, mmap_fixture,
                   span_fixture) {
  F fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  {
    auto p = persistent<rec_v1>::find_or_construct(*b, "rec", {});
    HR_REQUIRE_OK(p);
    p->update([](rec_v1& r) { r.set(41); });
  }
  const auto before = b->stats();
  REQUIRE(before);
  rec_v2 init;
  init.extra = 3;
  auto m = persistent<rec_v2>::find_or_construct(*b, "rec", init,
                                                 migrate_from<rec_v1>(hrtyped::migrate_v1_v2));
  HR_REQUIRE_OK(m);
  CHECK(m->migrated());
  CHECK(m->get()->seq == 41);
  CHECK(m->get()->whole());
  CHECK(m->get()->extra == hrtyped::migrated_mark);
  CHECK(m->generation() == 0);
  auto after = b->stats();
  REQUIRE(after);
  CHECK(after->blocks == before->blocks);  // the old block went in the same step
  CHECK(count_shadows(*b) == 0);
  // Now it is found as version 2, and the old type is refused.
  auto again = persistent<rec_v2>::find_or_construct(*b, "rec", init,
                                                     migrate_from<rec_v1>(hrtyped::migrate_v1_v2));
  HR_REQUIRE_OK(again);
  CHECK(again->origin() == typed_origin::found);
  HR_CHECK_ERR(persistent<rec_v1>::open(*b, "rec"), errc::schema_mismatch);
  require_consistent(*b);
}

TEST_CASE("the migration that matches the stored version is the one that runs") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(persistent<small>::find_or_construct(*b, "s", small{8, 9}));
  int ran_other = 0, ran_small = 0;
  auto m = persistent<rec_v2>::find_or_construct(
      *b, "s", hotrestart::value_init,
      migrate_from<rec_v1>([&](const rec_v1&, rec_v2&) { ++ran_other; }),
      migrate_from<small>([&](const small& s, rec_v2& n) {
        ++ran_small;
        n.seq = s.a + s.b;
      }));
  HR_REQUIRE_OK(m);
  CHECK(ran_other == 0);
  CHECK(ran_small == 1);
  CHECK(m->get()->seq == 17);
  CHECK(m->get()->extra == 7);  // from T{}: the migration did not set it
}

TEST_CASE("a migration that refuses leaves the old value and no shadow") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  {
    auto p = persistent<rec_v1>::find_or_construct(*b, "rec");
    HR_REQUIRE_OK(p);
    p->store([] {
      rec_v1 r;
      r.set(5);
      return r;
    }());
  }
  auto no = persistent<rec_v2>::find_or_construct(
      *b, "rec", value_init, migrate_from<rec_v1>([](const rec_v1&, rec_v2&) { return false; }));
  HR_CHECK_ERR(no, errc::schema_mismatch);
  auto err = persistent<rec_v2>::find_or_construct(
      *b, "rec", value_init, migrate_from<rec_v1>([](const rec_v1&, rec_v2&) -> result<void> {
        return fail(errc::bad_size, "refused by the test");
      }));
  HR_CHECK_ERR(err, errc::bad_size);
  CHECK(count_shadows(*b) == 0);
  auto old = persistent<rec_v1>::open(*b, "rec");
  HR_REQUIRE_OK(old);
  CHECK(old->load().seq == 5);
  CHECK(old->load().whole());
  require_consistent(*b);
}

TEST_CASE("a leftover shadow (a crash before the switch) is reclaimed by the next construction") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  const auto sh = detail::make_shadow_name("cfg");
  auto left = b->find_or_create(hotrestart::detail::internal_access, sh.view(), 4096);
  HR_REQUIRE_OK(left);
  std::memset(left->data, 0xEE, 4096);  // half-built garbage
  auto p = persistent<small>::find_or_construct(*b, "cfg");
  HR_REQUIRE_OK(p);
  CHECK(p->created());
  CHECK(p->get()->a == 11);
  CHECK(count_shadows(*b) == 0);
  auto st = b->stats();
  REQUIRE(st);
  CHECK(st->blocks == 1);
  HR_REQUIRE_OK(persistent<small>::destroy(*b, "cfg"));
  HR_CHECK_ERR(b->find("cfg"), errc::not_found);
  HR_CHECK_ERR(persistent<small>::destroy(*b, "cfg"), errc::not_found);
  require_consistent(*b);
}

TEST_CASE("the deletion key goes with the typed block, through a migration too") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(persistent<rec_v1>::find_or_construct(*b, typed_name("rec", "APP")));
  HR_REQUIRE_OK(persistent<rec_v2>::find_or_construct(
      *b, typed_name("rec", "APP"), value_init, migrate_from<rec_v1>(hrtyped::migrate_v1_v2)));
  HR_REQUIRE_OK(persistent<small>::find_or_construct(*b, "keep"));
  auto n = b->free_all("APP");
  HR_REQUIRE_OK(n);
  CHECK(*n == 1);
  HR_CHECK_ERR(b->find("rec"), errc::not_found);
  HR_REQUIRE_OK(b->find("keep"));
}

TEST_CASE("update: all or nothing, cancellable, counted; store; load") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<rec_v1>::find_or_construct(*b, "rec");
  HR_REQUIRE_OK(p);
  CHECK(p->generation() == 0);
  rec_v1* first = p->get();
  CHECK(p->update([](rec_v1& r) { r.set(1); }));
  CHECK(p->generation() == 1);
  CHECK(p->get() != first);  // the other slot is current now
  CHECK(p->get()->seq == 1);
  CHECK_FALSE(p->update([](rec_v1& r) {
    r.set(999);
    return false;  // cancelled: nothing changes
  }));
  CHECK(p->generation() == 1);
  CHECK(p->load().seq == 1);
  CHECK(p->load().whole());
  CHECK(p->update([](rec_v1& r) {
    r.fill[0] = 5;  // the copy starts from the current value
    return true;
  }));
  CHECK(p->get()->fill[0] == 5);
  CHECK(p->get()->fill[1] == 1);
  rec_v1 v;
  v.set(3);
  p->store(v);
  CHECK(p->generation() == 3);
  CHECK(p->load().seq == 3);
  // Another view of the same block sees every committed value.
  auto q = persistent<rec_v1>::open(*b, "rec");
  HR_REQUIRE_OK(q);
  CHECK(q->get() == p->get());
  CHECK(q->generation() == 3);
}

TEST_CASE("update's durability hook: the new slot before the switch, the selector after") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<rec_v1>::find_or_construct(*b, "rec");
  HR_REQUIRE_OK(p);
  struct call {
    const void* at;
    std::size_t n;
    std::uint32_t generation_then;
  };
  std::vector<call> calls;
  auto sync = [&](const void* at, std::size_t n) { calls.push_back({at, n, p->generation()}); };
  rec_v1* next = reinterpret_cast<rec_v1*>(p->block_data() + persistent<rec_v1>::desc.shape.slot0 +
                                           persistent<rec_v1>::desc.shape.stride);
  p->update([](rec_v1& r) { r.set(8); }, sync);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].at == next);
  CHECK(calls[0].n == sizeof(rec_v1));
  CHECK(calls[0].generation_then == 0);  // before the switch
  CHECK(calls[1].at == p->block_data() + typed_format::selector);
  CHECK(calls[1].n == 4);
  CHECK(calls[1].generation_then == 1);  // after it
  // And with the mmap backend's own flush (msync), the value is the same.
  auto& be = b->backend();
  p->update([](rec_v1& r) { r.set(9); },
            [&](const void*, std::size_t) { REQUIRE(be.flush().has_value()); });
  CHECK(p->load().seq == 9);
}

TEST_CASE("a typed block reached by its offset, and offsets that are refused") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto p = persistent<small>::find_or_construct(*b, "cfg", small{4, 5});
  HR_REQUIRE_OK(p);
  const bank_region r = region_of(*b);
  const std::uint64_t off = p->offset_in(r);
  CHECK(off >= r.begin);
  auto q = persistent<small>::at(r, off);
  HR_REQUIRE_OK(q);
  CHECK(q->get()->b == 5);
  HR_CHECK_ERR(persistent<other_type>::at(r, off), errc::type_mismatch);
  HR_CHECK_ERR(persistent<small>::at(r, off + 4096), errc::type_mismatch);  // an empty page
  HR_CHECK_ERR(persistent<small>::at(r, r.end - 8), errc::corrupt);
  HR_CHECK_ERR(persistent<small>::at(r, 0), errc::corrupt);  // the bank header
  HR_CHECK_ERR(persistent<small>::at(r, ~0ull - 4), errc::corrupt);
}

TEST_CASE("offset_ptr: null, make, resolve, and every out-of-range offset refused") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto blk = b->find_or_create("nodes", 4096);
  HR_REQUIRE_OK(blk);
  auto* nodes = reinterpret_cast<hrtyped::node*>(blk->data);
  const bank_region r = region_of(*b);

  offset_ptr<hrtyped::node> null;
  CHECK(null.is_null());
  CHECK_FALSE(null);
  CHECK(null.get(r) == nullptr);
  auto rn = null.resolve(r);
  HR_REQUIRE_OK(rn);
  CHECK(*rn == nullptr);
  CHECK(offset_ptr<hrtyped::node>(nullptr) == null);

  auto p = offset_ptr<hrtyped::node>::make(*b, &nodes[3]);
  HR_REQUIRE_OK(p);
  CHECK(p->offset() == static_cast<std::uint64_t>(blk->data - r.base) + 3 * sizeof(hrtyped::node));
  CHECK(p->get(*b) == &nodes[3]);
  CHECK(p->unchecked(r.base) == &nodes[3]);
  offset_ptr<const hrtyped::node> c = *p;  // to const
  CHECK(c.get(r) == &nodes[3]);
  HR_REQUIRE_OK(p->resolve(r, 4096 / sizeof(hrtyped::node) - 3));  // up to the block's end
  HR_REQUIRE_OK(offset_ptr<hrtyped::node>::make(r, nullptr));

  // Making a pointer to memory outside the data pages, or misaligned, is refused.
  hrtyped::node outside;
  HR_CHECK_ERR(offset_ptr<hrtyped::node>::make(r, &outside), errc::bad_size);
  HR_CHECK_ERR(offset_ptr<hrtyped::node>::make(r, reinterpret_cast<hrtyped::node*>(r.base + 64)),
               errc::bad_size);  // the bank's header
  HR_CHECK_ERR(offset_ptr<hrtyped::node>::make(r, reinterpret_cast<hrtyped::node*>(blk->data + 4)),
               errc::bad_size);

  // Resolving untrusted offsets: every bad one is an error (and nullptr from get).
  const std::uint64_t bad[] = {8,     r.begin - 8, r.end,        r.end - 8,  r.begin + 4,
                               ~0ull, ~0ull - 7,   r.end + 4096, 1ull << 63, r.begin - 16};
  for (std::uint64_t off : bad) {
    CAPTURE(off);
    auto q = offset_ptr<hrtyped::node>::from_offset(off);
    HR_CHECK_ERR(q.resolve(r), errc::corrupt);
    CHECK(q.get(r) == nullptr);
  }
  HR_CHECK_ERR(p->resolve(r, 0), errc::corrupt);
  HR_CHECK_ERR(p->resolve(r, ~0ull / 2), errc::corrupt);
  HR_CHECK_ERR(offset_ptr<hrtyped::node>::from_offset(r.end - 16).resolve(r, 2), errc::corrupt);
  HR_REQUIRE_OK(offset_ptr<hrtyped::node>::from_offset(r.end - 16).resolve(r, 1));
}

TEST_CASE("links across blocks survive a second mapping at another address") {
  mmap_fixture fx;
  auto b = fx.make();
  HR_REQUIRE_OK(b);
  auto head = persistent<hrtyped::list_head>::find_or_construct(*b, "list");
  HR_REQUIRE_OK(head);
  // Two blocks of nodes; the list alternates between them, head in a typed block.
  auto even = b->find_or_create("even", 4096);
  auto odd = b->find_or_create("odd", 4096);
  HR_REQUIRE_OK(even);
  HR_REQUIRE_OK(odd);
  auto* ev = reinterpret_cast<hrtyped::node*>(even->data);
  auto* od = reinterpret_cast<hrtyped::node*>(odd->data);
  offset_ptr<hrtyped::node> next;
  for (int i = 99; i >= 0; --i) {
    hrtyped::node* n = (i % 2 == 0) ? &ev[i / 2] : &od[i / 2];
    n->value = static_cast<std::uint64_t>(i) * 3;
    n->next = next;
    auto p = offset_ptr<hrtyped::node>::make(*b, n);
    HR_REQUIRE_OK(p);
    next = *p;
  }
  head->update([&](hrtyped::list_head& h) {
    h.first = next;
    h.count = 100;
  });

  // A second, independent mapping of the same file: another base address.
  auto b2 = fx.reopen();
  HR_REQUIRE_OK(b2);
  CHECK(b2->backend().data() != b->backend().data());
  auto h2 = persistent<hrtyped::list_head>::open(*b2, "list");
  HR_REQUIRE_OK(h2);
  const auto h = h2->load();
  CHECK(h.count == 100);
  std::uint64_t seen = 0;
  for (auto p = h.first; p; ++seen) {
    auto n = p.resolve(*b2);
    HR_REQUIRE_OK(n);
    CHECK((*n)->value == seen * 3);
    CHECK(reinterpret_cast<std::byte*>(*n) >= b2->backend().data());
    CHECK(reinterpret_cast<std::byte*>(*n) < b2->backend().data() + b2->backend().size());
    p = (*n)->next;
  }
  CHECK(seen == 100);
}

// noexcept where nothing can throw, conditional where the caller's code runs (a named
// namespace: these are used in unevaluated operands only).
namespace noexcept_checks {
struct nothrow_counter {
  static constexpr std::string_view hr_type_name = "test::nothrow_counter";
  static constexpr std::uint32_t hr_schema_version = 1;
  std::uint32_t n = 0;
};
using counter_block = hotrestart::persistent<nothrow_counter>;
void bump(nothrow_counter& c) noexcept {
  ++c.n;
}
void bump_may_throw(nothrow_counter& c) {
  ++c.n;
}
static_assert(noexcept(std::declval<counter_block&>().update(bump)));
static_assert(!noexcept(std::declval<counter_block&>().update(bump_may_throw)));
static_assert(noexcept(std::declval<const counter_block&>().load()));
static_assert(noexcept(std::declval<hotrestart::mmap_bank&>().find("x")));
static_assert(noexcept(std::declval<hotrestart::mmap_bank&>().find_or_create("x", 1)));
static_assert(noexcept(std::declval<hotrestart::mmap_bank&>().for_each(
    [](const hotrestart::block_info&) noexcept {})));
static_assert(!noexcept(
    std::declval<hotrestart::mmap_bank&>().for_each([](const hotrestart::block_info&) {})));
}  // namespace noexcept_checks
