// SPDX-License-Identifier: MIT
// The Persistent Memory Manager: a bank of named, page-rounded blocks that survive crashes.
//
//   using bank = hotrestart::basic_bank<hotrestart::mmap_file_backend>;
//   auto b = bank::open_or_create("/dev/shm/app.bank");
//   auto counter = b->find_or_create("PM1", sizeof(int));   // zero-filled the first time
//
// Every function returns `result<T>`; nothing throws, nothing allocates on the heap.
#ifndef HOTRESTART_BANK_HPP
#define HOTRESTART_BANK_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "backend.hpp"
#include "bank_format.hpp"
#include "block.hpp"
#include "detail/bank_header.hpp"
#include "detail/journal.hpp"
#include "detail/recovery.hpp"
#include "detail/words.hpp"
#include "error.hpp"
#include "names.hpp"
#include "policies/concepts.hpp"
#include "policies/extent_allocator.hpp"
#include "policies/hash_registry.hpp"

namespace hotrestart {

template <bank_backend Backend, block_allocator Allocator = extent_allocator,
          name_registry Registry = hash_registry>
class basic_bank {
 public:
  using backend_type = Backend;
  using location = typename Backend::location;

  /// Creates a new bank; `already_exists` if there is one.
  [[nodiscard]] static result<basic_bank> create(location where, const tunables& t = {}) {
    auto l = compute_layout<Registry, Allocator>(t, Backend::native_page_size());
    if (!l) return fail(l.error());
    if (l->durable && !can_flush)
      return fail(errc::bad_tunables, "durable mode needs a backend that can flush (mmap file)");
    format_args args{*l, t.medium.value_or(default_medium)};
    auto b = Backend::create(where, l->file_bytes, region_init{&format_region, &args});
    if (!b) return fail(b.error());
    return attach(std::move(*b));
  }

  /// Opens an existing bank and adopts the tunables it records. Validation is O(1): the header,
  /// the layout it records, and the intent record (repaired if a writer died mid-operation;
  /// a free_all it cut is finished here, which visits the registry: O(max_blocks)). A bank of
  /// the previous format version (2) is converted to this one in place, once (O(max_blocks);
  /// docs/format.md): every process that has it open must be of this version, since one of the
  /// previous version would go on using the old index. With `convert_previous` false, such a
  /// bank is refused with `version_mismatch` and not written (a tool that must not convert a
  /// bank other processes may be using).
  [[nodiscard]] static result<basic_bank> open(location where, bool convert_previous = true) {
    auto b = Backend::open(where);
    if (!b) return fail(b.error());
    return attach(std::move(*b), convert_previous);
  }

  /// Opens the bank, or creates it with `t`. An existing bank adopts its recorded value of
  /// every tunable `t` leaves unset; one that `t` sets and the bank records otherwise is refused
  /// with `tunables_mismatch`, naming each difference.
  [[nodiscard]] static result<basic_bank> open_or_create(location where, const tunables& t = {}) {
    if (auto want = compute_layout<Registry, Allocator>(t, Backend::native_page_size()); !want)
      return fail(want.error());
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto o = open(where);
      if (o) {
        if (auto same = o->same_tunables(t); !same) return fail(same.error());
        return o;
      }
      const bool absent = o.error().code == errc::not_found ||
                          (Backend::reformats_foreign_memory && o.error().code == errc::not_a_bank);
      if (!absent) return o;
      auto c = create(where, t);
      if (c || c.error().code != errc::already_exists) return c;
      // Another process created it between our open and our create: open theirs.
    }
    return fail(errc::io_error, "bank kept appearing and disappearing during open_or_create");
  }

  basic_bank(const basic_bank&) = delete;
  basic_bank& operator=(const basic_bank&) = delete;
  // User-provided moves on purpose: tl::expected 1.0.0 mishandles a type that is trivially
  // movable but not copyable (it falls back to the deleted copy).
  basic_bank(basic_bank&& o) noexcept
      : backend_(std::move(o.backend_)),
        base_(o.base_),
        layout_(o.layout_),
        registry_(o.registry_),
        allocator_(o.allocator_),
        medium_len_(o.medium_len_),
        converted_from_(o.converted_from_) {
    std::memcpy(medium_, o.medium_, sizeof medium_);
  }
  basic_bank& operator=(basic_bank&& o) noexcept {
    if (this != &o) {
      backend_ = std::move(o.backend_);
      base_ = o.base_;
      layout_ = o.layout_;
      registry_ = o.registry_;
      allocator_ = o.allocator_;
      medium_len_ = o.medium_len_;
      converted_from_ = o.converted_from_;
      std::memcpy(medium_, o.medium_, sizeof medium_);
    }
    return *this;
  }
  ~basic_bank() = default;

  // ---------------------------------------------------------------------------------------
  // Blocks

  /// Finds the block `n`, or creates it zero-filled with `size` bytes rounded up to whole
  /// pages. `key` is an optional deletion key (free_all). Errors: the name's (name_empty,
  /// name_too_long, name_has_nul, name_reserved, unknown_medium), key_too_long, bad_size,
  /// size_exceeds_block (exists, smaller than asked), bank_full, block_table_full, corrupt.
  [[nodiscard]] result<block> find_or_create(block_name n, std::uint64_t size,
                                             std::string_view key = {}) noexcept {
    return find_or_create_impl(n, size, key, false);
  }
  [[nodiscard]] result<block> find_or_create(std::string_view name, std::uint64_t size,
                                             std::string_view key = {}) noexcept {
    return find_or_create_impl({medium(), name}, size, key, false);
  }
  [[nodiscard]] result<block> find_or_create(detail::internal_access_t, std::string_view name,
                                             std::uint64_t size,
                                             std::string_view key = {}) noexcept {
    return find_or_create_impl({medium(), name}, size, key, true);
  }

  /// Finds an existing block without taking the lock. `not_found` if there is none;
  /// `corrupt` if the registry is damaged. If a free or replace stays half applied for long (its
  /// writer died, or was preempted), or a free_all is under way or was cut by a crash (it is
  /// atomic: no block of its key is returned once it started), find takes the lock to repair or
  /// wait for it: on a backend whose lock never waits (section) that can fail with
  /// `lock_failed`; call again.
  [[nodiscard]] result<block> find(block_name n) noexcept {
    if (auto v = validate_lookup(n, true); !v) return fail(v.error());
    return find_hashed(n.name, Registry::hash(n.name));
  }
  [[nodiscard]] result<block> find(std::string_view name) noexcept {
    return find({medium(), name});
  }

  /// Frees the block `n`. `not_found` if there is none.
  [[nodiscard]] result<void> free(block_name n) noexcept { return free_impl(n, false); }
  [[nodiscard]] result<void> free(std::string_view name) noexcept {
    return free_impl({medium(), name}, false);
  }
  [[nodiscard]] result<void> free(detail::internal_access_t, std::string_view name) noexcept {
    return free_impl({medium(), name}, true);
  }

  /// Frees every block created with deletion key `key` (ChorusOS pmmFreeAll) and returns how
  /// many. A group key is refused (`key_reserved`): those blocks go with their group. Each
  /// block is freed atomically; after a crash mid-way, calling again frees the rest.
  [[nodiscard]] result<std::uint32_t> free_all(std::string_view key) noexcept {
    return free_all_impl(key, false);
  }
  /// The runtime's call when a restart group terminates.
  [[nodiscard]] result<std::uint32_t> free_all(detail::internal_access_t,
                                               std::string_view key) noexcept {
    return free_all_impl(key, true);
  }

  /// Atomically gives block `source` the name `target`; the block that had the name `target`
  /// (if any) is freed in the same step. Readers see the old block or the new one under
  /// `target`, never neither; a crash leaves one or the other. `source` keeps its deletion
  /// key. This is how a new version of a value replaces the old one (shadow copy, then
  /// switch). Errors: not_found (no `source`), the names' errors, corrupt.
  [[nodiscard]] result<void> replace(std::string_view target, std::string_view source) noexcept {
    return replace_impl(target, source, false);
  }
  [[nodiscard]] result<void> replace(detail::internal_access_t, std::string_view target,
                                     std::string_view source) noexcept {
    return replace_impl(target, source, true);
  }

  /// Calls `f(const block_info&)` for every block, under the lock (do not call the bank from
  /// `f`). Returns the number of blocks visited. An entry whose extent or size is damaged is
  /// not visited (its offset and lengths cannot be trusted); check() reports it.
  template <class F>
  [[nodiscard]] result<std::uint32_t> for_each(F&& f) noexcept(
      std::is_nothrow_invocable_v<F&, const block_info&>) {
    auto g = locked();
    if (!g) return fail(g.error());
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < layout_.max_blocks; ++i) {
      if (!registry_.in_use(i)) continue;
      const entry_view e = registry_.view(i);
      if (!entry_sound(e)) continue;
      f(block_info{registry_.name(i), registry_.key(i), i,
                   layout_.data_off + std::uint64_t{e.first_page} * layout_.page_size, e.size,
                   std::uint64_t{e.pages} * layout_.page_size});
      ++n;
    }
    return n;
  }

  [[nodiscard]] result<bank_stats> stats() noexcept {
    auto g = locked();
    if (!g) return fail(g.error());
    bank_stats s;
    s.bank_size = layout_.bank_size;
    s.overhead = layout_.overhead_bytes();
    s.page_size = layout_.page_size;
    s.max_blocks = layout_.max_blocks;
    s.blocks = detail::load32(base_, bank_format::block_count);
    s.used = std::uint64_t{detail::load32(base_, bank_format::used_pages)} * layout_.page_size;
    s.free = layout_.bank_size - (s.used < layout_.bank_size ? s.used : layout_.bank_size);
    s.largest_free = std::uint64_t{allocator_.largest_free()} * layout_.page_size;
    return s;
  }

  /// Full consistency scan (not part of open): every table, every link, every count. Calls
  /// `report(const error&)` for each problem and returns how many there were (0: consistent,
  /// nothing leaked, free + used = total).
  template <class Report>
  [[nodiscard]] result<std::uint32_t> check(Report&& report) noexcept(
      std::is_nothrow_invocable_v<Report&, const error&>) {
    auto g = locked();
    if (!g) return fail(g.error());
    std::uint32_t problems = 0;
    auto note = [&](const error& e) {
      ++problems;
      report(e);
    };
    const allocator_census a = allocator_.check(note);
    const registry_census r = registry_.check(note);
    const std::uint32_t blocks = detail::load32(base_, bank_format::block_count);
    const std::uint32_t used = detail::load32(base_, bank_format::used_pages);
    if (a.used_pages + a.free_pages != layout_.total_pages)
      note(error(errc::corrupt, "pages lost: used + free is not the bank's size")
               .with_expected("pages used + free", layout_.total_pages,
                              a.used_pages + a.free_pages));
    if (a.used_pages != used)
      note(error(errc::corrupt, "used page counter disagrees with the allocator")
               .with_expected("used pages", a.used_pages, used));
    if (r.pages != used)
      note(error(errc::corrupt, "blocks' pages disagree with the used page counter")
               .with_expected("pages in blocks", used, r.pages));
    if (r.in_use != blocks)
      note(error(errc::corrupt, "block counter disagrees with the registry")
               .with_expected("blocks in the registry", blocks, r.in_use));
    if (a.used_extents != blocks)
      note(error(errc::corrupt, "block counter disagrees with the allocator's used extents")
               .with_expected("used extents", blocks, a.used_extents));
    for (std::uint32_t i = 0; i < layout_.max_blocks; ++i) {
      if (!registry_.in_use(i)) continue;
      const entry_view e = registry_.view(i);
      if (allocator_.owner_of(e.first_page, e.pages) != i)
        note(error(errc::corrupt, "block's extent is not allocated to it")
                 .with_expected("extent owner", i, allocator_.owner_of(e.first_page, e.pages)));
      if (e.size == 0 || e.size > std::uint64_t{e.pages} * layout_.page_size)
        note(error(errc::corrupt, "block's size does not fit its pages")
                 .with_value("entry", i)
                 .with_value("size", e.size));
    }
    return problems;
  }

  /// Calls `f()` while holding the writer lock, once any operation a dead writer left is
  /// finished: no create, free or rename is half done while `f` runs, and none starts (they
  /// wait for the lock). A copy of the bank's bytes taken inside `f` has consistent tables
  /// (hrctl snapshot). Do not call the bank from `f`. Errors: those of taking the lock
  /// (lock_failed; corrupt when the repair failed); `f` is then not called.
  template <class F>
  [[nodiscard]] result<void> with_writer_lock(F&& f) {
    auto g = locked();
    if (!g) return fail(g.error());
    f();
    return {};
  }

  const bank_layout& layout() const noexcept { return layout_; }
  /// The format version this process converted the bank from when it opened it (the previous
  /// one), or 0 when it found the bank at this version.
  std::uint32_t converted_from() const noexcept { return converted_from_; }
  std::string_view medium() const noexcept { return {medium_, medium_len_}; }
  Backend& backend() noexcept { return backend_; }
  const Backend& backend() const noexcept { return backend_; }

 private:
  enum op_code : std::uint32_t { op_create = 1, op_free = 2, op_replace = 3 };

  struct format_args {
    bank_layout layout;
    std::string_view medium;
  };

  // RAII holder of the writer lock; repairs the bank when it was taken from a dead owner.
  class lock_guard {
   public:
    explicit lock_guard(const Backend* b) : b_(b) {}
    lock_guard(lock_guard&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
    lock_guard& operator=(lock_guard&&) = delete;
    ~lock_guard() {
      if (b_ != nullptr) b_->unlock();
    }

   private:
    const Backend* b_;
  };

  explicit basic_bank(Backend&& b, const bank_layout& l)
      : backend_(std::move(b)),
        base_(backend_.data()),
        layout_(l),
        registry_(base_, l.registry_off, l.max_blocks),
        allocator_(base_, l.allocator_off, l.total_pages) {
    medium_len_ = detail::load32(base_, bank_format::medium_len);
    std::memcpy(medium_, base_ + bank_format::medium, medium_len_);
  }

  detail::journal_bounds bounds() const { return {layout_.registry_off, layout_.data_off}; }

  [[nodiscard]] static result<void> format_region(void* ctx, std::byte* base, std::uint64_t size) {
    const auto& a = *static_cast<const format_args*>(ctx);
    return detail::format_bank<Registry, Allocator>(base, size, a.layout, a.medium);
  }

  // O(1) validation of untrusted bytes, then recovery of an interrupted operation (and the
  // conversion of a bank of the previous format version, under the lock).
  [[nodiscard]] static result<basic_bank> attach(Backend&& b, bool convert_previous = true) {
    detail::header_kind kind = detail::header_kind::current;
    auto l = detail::validate_header<Registry, Allocator>(b.data(), b.size(), &kind);
    if (!l) return fail(l.error());
    if (kind != detail::header_kind::current && !convert_previous)
      return fail(error(errc::version_mismatch,
                        "bank of the previous format version: opening it with conversion "
                        "converts it in place (hrctl convert)")
                      .with_expected("format version", bank_format::version,
                                     bank_format::previous_version));
    const bank_layout& w = *l;
    basic_bank bank(std::move(b), w);
    // Only now, with the header validated, may the backend write to the bank (a lock left by
    // another boot or another C library is reinitialised).
    if (auto r = backend_traits<Backend>::adopt_lock(bank.backend_); !r) return fail(r.error());
    if (kind != detail::header_kind::current || detail::needs_repair(bank.base_)) {
      auto g = bank.locked(kind != detail::header_kind::current);  // repairs under the lock
      if (!g) return fail(g.error());
    }
    return bank;
  }

  // The tunables `t` sets, against the recorded ones (bank_size rounded up to whole pages as
  // create would). Unset ones are adopted.
  [[nodiscard]] result<void> same_tunables(const tunables& t) const {
    error e(errc::tunables_mismatch, "the bank exists with other tunables");
    if (t.page_size && *t.page_size != layout_.page_size)
      e.with_given("page_size", *t.page_size, layout_.page_size);
    if (t.bank_size) {
      const std::uint64_t p = t.page_size.value_or(layout_.page_size);
      const std::uint64_t want =
          p == 0 ? *t.bank_size : (*t.bank_size / p + (*t.bank_size % p != 0)) * p;
      if (want != layout_.bank_size) e.with_given("bank_size", want, layout_.bank_size);
    }
    if (t.max_blocks && *t.max_blocks != layout_.max_blocks)
      e.with_given("max_blocks", *t.max_blocks, layout_.max_blocks);
    if (t.medium && *t.medium != medium())
      e.with_names("medium given", *t.medium, "the bank has", medium());
    if (t.durable && *t.durable != layout_.durable)
      e.with_given("durable", *t.durable, layout_.durable);
    if (e.detail_count != 0 || e.details_dropped) return fail(e);
    return {};
  }

  // Takes the writer lock and repairs the bank when needed (or when `force_repair`).
  [[nodiscard]] result<lock_guard> locked(bool force_repair = false) {
    auto r = backend_.lock();
    if (!r) return fail(r.error());
    lock_guard g(&backend_);
    if (*r == lock_outcome::owner_died || force_repair || detail::needs_repair(base_)) {
      auto rep = repair();
      // Marked consistent even when the repair failed: every later locker then gets the same
      // `corrupt` error from the record, instead of a lock that can never be taken again.
      if (*r == lock_outcome::owner_died) backend_.repaired();
      if (!rep) return fail(rep.error());
    }
    return g;
  }

  // Completes what a dead writer left: the interrupted transaction, a conversion from the
  // previous format version (or one cut short), then a free_all sweep in progress (rolled
  // forward: every block of its key is freed). The caller holds the lock.
  [[nodiscard]] result<void> repair() {
    auto rec = detail::journal::recover(base_, bounds(), flusher());
    if (!rec) return fail(rec.error());
    if constexpr (detail::registry_converts<Registry>) {
      if (detail::load32(base_, bank_format::convert_state) != 0 ||
          detail::load32(base_, bank_format::layout_version) != bank_format::version)
        if (auto c = convert(); !c) return c;
    }
    // Readers that saw any state of the interrupted operation must retry.
    detail::store32_release(base_, bank_format::seq,
                            (detail::load32(base_, bank_format::seq) | 1u) + 1u);
    if (!detail::sweep_pending(base_)) {
      // A free_all that died before its record was set (or after it was cleared) left its hint.
      if (detail::load32(base_, bank_format::sweep_hint) != 0)
        detail::store32(base_, bank_format::sweep_hint, 0);
      return {};
    }
    const std::uint32_t st = detail::load32(base_, bank_format::sweep_state);
    if (!detail::sweep_state_valid(st))
      return fail(error(errc::corrupt, "free_all record: unknown state word")
                      .with_expected_hex("state", detail::sweep_active, st));
    const std::uint32_t klen = detail::load32(base_, bank_format::sweep_key_len);
    if (klen == 0 || klen > max_key_length)
      return fail(error(errc::corrupt, "free_all record: key length out of range")
                      .with_range("key length", klen, 1, max_key_length));
    char key[max_key_length];
    std::memcpy(key, base_ + bank_format::sweep_key, klen);
    // A block the sweep could not free is damaged metadata, which check() reports and the
    // operations that meet it refuse; the bank is repaired otherwise (a failed flush is not:
    // io_error).
    if (auto n = sweep({key, klen}); !n && n.error().code != errc::corrupt) return fail(n.error());
    return {};
  }

  // Converts a bank of the previous format version in place (docs/format.md, "Versions"): the
  // header's version, fingerprint and checksum, then the registry's index rebuilt from its
  // entries, which the two versions share. The conversion state word brackets it: set first,
  // cleared last, so that a crash anywhere between leaves a bank that the next open recognises
  // and converts again from the start (every step is idempotent). The version word goes first
  // among the header words, so that a build of the previous version refuses the bank from then
  // on. The caller holds the lock, and the interrupted transaction is recovered already.
  [[nodiscard]] result<void> convert() {
    if constexpr (detail::registry_converts<Registry>) {
      auto flush = flusher();
#ifndef HOTRESTART_TESTONLY_NO_CONVERT_MARKER  // negative control of the conversion's crash test
      detail::store32(base_, bank_format::convert_state, bank_format::convert_active);
      detail::compiler_order();
#endif
      if (auto r = flush(0, bank_format::header_size); !r) return r;
      const detail::converted_words c = detail::conversion_words<Registry, Allocator>(base_);
      for (int i = 0; i < 4; ++i) detail::store32(base_, c.off[i], c.after[i]);
      auto placed = registry_.rebuild_index();
      if (!placed) return fail(placed.error());
      detail::compiler_order();
      if (auto r = flush(0, layout_.data_off); !r) return r;
      detail::store32_release(base_, bank_format::convert_state, 0);
      detail::compiler_order();
      if (auto r = flush(0, bank_format::header_size); !r) return r;
      converted_from_ = bank_format::previous_version;
      return {};
    } else {
      return {};
    }
  }

  static constexpr bool can_flush = backend_traits<Backend>::can_flush;

  // Durable mode's flushes, or none.
  detail::flush_fn flusher() {
    if constexpr (can_flush) {
      if (layout_.durable)
        return {[](void* ctx, std::uint64_t off, std::uint64_t len) -> result<void> {
                  return backend_traits<Backend>::flush_range(*static_cast<Backend*>(ctx), off,
                                                              len);
                },
                &backend_};
    }
    return {};
  }

  [[nodiscard]] result<void> validate_lookup(const block_name& n, bool allow_reserved) const {
    // The calls by name alone pass this bank's own medium (valid since open): nothing to check.
    if (n.medium.data() != medium_ || n.medium.size() != medium_len_) {
      if (auto v = validate_medium(n.medium); !v) return v;
      if (n.medium != medium())
        return fail(error(errc::unknown_medium, "this bank serves another medium")
                        .with_names("block medium", n.medium, "this bank serves", medium()));
    }
    if (auto v = validate_name(n.name); !v) return v;
    if (!allow_reserved && is_reserved(n.name))
      return fail(errc::name_reserved, "names starting with __HR are reserved for the library");
    return {};
  }

  // An entry's extent lies in the bank and its size fits the extent.
  bool entry_sound(const entry_view& e) const {
    return e.pages != 0 && e.first_page < layout_.total_pages &&
           e.pages <= layout_.total_pages - e.first_page && e.size != 0 &&
           e.size <= std::uint64_t{e.pages} * layout_.page_size;
  }

  // Turns a registry hit into a block, checking the extent and size against the bank first.
  [[nodiscard]] result<block> to_block(const entry_view& e, bool created) const {
    if (!entry_sound(e))
      return fail(error(errc::corrupt,
                        "block's extent lies outside the bank, or its size outside the extent")
                      .with_value("entry", e.index));
    const std::uint64_t cap = std::uint64_t{e.pages} * layout_.page_size;
    return block{base_ + layout_.data_off + std::uint64_t{e.first_page} * layout_.page_size, e.size,
                 cap, created};
  }

  // Lock-free find: a seqlock read of the registry, retried only if a free ran meanwhile.
  [[nodiscard]] result<block> find_hashed(std::string_view name, std::uint32_t h) {
    for (std::uint32_t spins = 0;; ++spins) {
      const std::uint32_t s1 = detail::load32_acquire(base_, bank_format::seq);
      if ((s1 & 1u) != 0) {
        // A free is unlinking an entry; if its writer died there, the lock repairs it (and a
        // writer that was preempted there is waited for on the lock instead of spun on).
        detail::cpu_relax();
        if (spins > 4096 && spins % 4096 == 0) {
          auto g = locked();
          if (!g) return fail(g.error());
        }
        continue;
      }
      // A free_all under way, or cut by a crash after its start, has happened for every block
      // of its key: wait for it on the lock (which rolls a dead one forward) rather than
      // return a block that is being freed. The hint is on seq's cache line.
      // Once the lock is held no sweep runs and none is left half done: look up under it.
      if (detail::load32(base_, bank_format::sweep_hint) != 0) {
        auto g = locked();
        if (!g) return fail(g.error());
        return found_block(registry_.lookup(name, h));
      }
      const lookup_result r = registry_.lookup(name, h);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (detail::load32(base_, bank_format::seq) != s1) continue;
      return found_block(r);
    }
  }

  // What a registry lookup answers a find.
  [[nodiscard]] result<block> found_block(const lookup_result& r) const {
    switch (r.status) {
      case lookup_status::found: return to_block(r.entry, false);
      case lookup_status::missing: return fail(errc::not_found, "no block of that name");
      case lookup_status::inconsistent: break;
    }
    return fail(errc::corrupt, "registry chain is broken (bad link or cycle)");
  }

  [[nodiscard]] result<block> find_or_create_impl(block_name n, std::uint64_t size,
                                                  std::string_view key, bool internal) {
    if (auto v = validate_lookup(n, internal); !v) return fail(v.error());
    if (auto v = validate_key(key); !v) return fail(v.error());
    if (size == 0) return fail(errc::bad_size, "a block must have at least one byte");
    const std::uint32_t h = Registry::hash(n.name);
    auto fits = [&](result<block> b) -> result<block> {
      if (b && size > b->capacity)
        return fail(error(errc::size_exceeds_block, "the block exists and is smaller than asked")
                        .with_requested("bytes", size, b->capacity, "in the block"));
      return b;
    };
    // What the lock-free find below can miss is a create or a free made after it. A create
    // raises the block count (applied after its slot, with release), a free moves the sequence
    // word (a create + free pair moves both): if neither moved by the time the lock is held,
    // the find's answer still holds and the lookup need not be made again under the lock.
    const std::uint32_t seq0 = detail::load32_acquire(base_, bank_format::seq);
    const std::uint32_t count0 = detail::load32_acquire(base_, bank_format::block_count);
    // Fast path: most calls after the first find the block without the lock.
    if (auto f = find_hashed(n.name, h); f || f.error().code != errc::not_found)
      return fits(std::move(f));
    if (size > layout_.bank_size)
      return fail(error(errc::bank_full, "block larger than the whole bank")
                      .with_requested("bytes", size, layout_.bank_size, "in the whole bank"));
    const std::uint64_t pages = (size + layout_.page_size - 1) / layout_.page_size;
    auto g = locked();
    if (!g) return fail(g.error());
    const bool unchanged = (seq0 & 1u) == 0 && detail::load32(base_, bank_format::seq) == seq0 &&
                           detail::load32(base_, bank_format::block_count) == count0;
    if (!unchanged) {
      const lookup_result again = registry_.lookup(n.name, h);
      if (again.status == lookup_status::found) return fits(to_block(again.entry, false));
      if (again.status == lookup_status::inconsistent)
        return fail(errc::corrupt, "registry chain is broken (bad link or cycle)");
    }
    const std::uint32_t count = detail::load32(base_, bank_format::block_count);
    if (count >= layout_.max_blocks)
      return fail(error(errc::block_table_full, "the bank holds max_blocks blocks already")
                      .with_value("max_blocks", layout_.max_blocks));
    // Nothing below changes the bank before the commit but stores to what only this
    // transaction can reach: returning early abandons the operation.
    bank_txn t(base_, bounds(), op_create);
    const std::uint32_t idx = registry_.next_index();
    auto first = allocator_.allocate(t, static_cast<std::uint32_t>(pages), idx);
    if (!first) return fail(first.error());
    // The pages are ours but unreachable until commit: a crash here leaves them free.
    const std::uint64_t data = layout_.data_off + std::uint64_t{*first} * layout_.page_size;
    std::memset(base_ + data, 0, static_cast<std::size_t>(pages * layout_.page_size));
    t.note_direct(data, pages * layout_.page_size);
    auto ins =
        registry_.insert(t, {n.name, h, key, *first, static_cast<std::uint32_t>(pages), size});
    if (!ins) return fail(ins.error());
    if (auto r = t.store(bank_format::block_count, count + 1); !r) return fail(r.error());
    if (auto r = t.store(bank_format::used_pages, detail::load32(base_, bank_format::used_pages) +
                                                      static_cast<std::uint32_t>(pages));
        !r)
      return fail(r.error());
    if (auto r = detail::journal::commit(t, flusher()); !r) return fail(r.error());
    return to_block({*ins, *first, static_cast<std::uint32_t>(pages), size}, true);
  }

  // Frees one in-use entry inside its own transaction. The caller holds the lock.
  [[nodiscard]] result<void> free_entry(std::uint32_t idx) {
    bank_txn t(base_, bounds(), op_free);
    // Readers on this entry's chain must retry while the commit unlinks it: it may be reused.
    t.readers_must_retry();
    if (auto r = release_entry(t, idx); !r) return r;
    return detail::journal::commit(t, flusher());
  }

  // The stores that free entry `idx` and its pages, into transaction `t`.
  [[nodiscard]] result<void> release_entry(bank_txn& t, std::uint32_t idx) {
    const entry_view e = registry_.view(idx);
    if (auto r = registry_.remove(t, idx); !r) return r;
    if (auto r = allocator_.deallocate(t, e.first_page, e.pages); !r) return r;
    if (auto r = t.store(bank_format::block_count, t.load(bank_format::block_count) - 1); !r)
      return r;
    return t.store(bank_format::used_pages, t.load(bank_format::used_pages) - e.pages);
  }

  [[nodiscard]] result<void> free_impl(block_name n, bool internal) {
    if (auto v = validate_lookup(n, internal); !v) return v;
    auto g = locked();
    if (!g) return fail(g.error());
    const lookup_result r = registry_.lookup(n.name, Registry::hash(n.name));
    if (r.status == lookup_status::missing) return fail(errc::not_found, "no block of that name");
    if (r.status == lookup_status::inconsistent)
      return fail(errc::corrupt, "registry chain is broken (bad link or cycle)");
    return free_entry(r.entry.index);
  }

  [[nodiscard]] result<void> replace_impl(std::string_view target, std::string_view source,
                                          bool internal) {
    if (auto v = validate_lookup({medium(), target}, internal); !v) return v;
    if (auto v = validate_lookup({medium(), source}, internal); !v) return v;
    if (target == source) return {};
    auto g = locked();
    if (!g) return fail(g.error());
    const std::uint32_t th = Registry::hash(target);
    const lookup_result src = registry_.lookup(source, Registry::hash(source));
    const lookup_result old = registry_.lookup(target, th);
    if (src.status == lookup_status::missing)
      return fail(errc::not_found, "no block named as the replacement source");
    if (src.status == lookup_status::inconsistent || old.status == lookup_status::inconsistent)
      return fail(errc::corrupt, "registry chain is broken (bad link or cycle)");
    bank_txn t(base_, bounds(), op_replace);
    // Readers retry (odd sequence) while the commit moves the name from one block to the other.
    t.readers_must_retry();
    if (old.status == lookup_status::found)
      if (auto r = release_entry(t, old.entry.index); !r) return r;
    if (auto r = registry_.rename(t, src.entry.index, target, th); !r) return r;
    return detail::journal::commit(t, flusher());
  }

  [[nodiscard]] result<std::uint32_t> free_all_impl(std::string_view key, bool internal) {
    if (auto v = validate_key(key); !v) return fail(v.error());
    if (key.empty())
      return fail(errc::key_reserved, "the empty key means 'no key': nothing to free by it");
    if (!internal && is_reserved(key))
      return fail(errc::key_reserved,
                  "a restart group's key: its blocks are freed when the group terminates");
    auto g = locked();
    if (!g) return fail(g.error());
    // Lock-free finds take the lock from now on (they wait for the sweep: see find_hashed).
    detail::store32(base_, bank_format::sweep_hint, 1);
    detail::compiler_order();
    // The key goes into the header's free_all record first: a writer that dies mid-way leaves
    // it there, and the next locker finishes the sweep. All of the key's blocks go, or none.
    for (std::uint32_t i = 0; i < key.size(); i += 4) {
      std::uint32_t w = 0;
      std::memcpy(&w, key.data() + i, key.size() - i < 4 ? key.size() - i : 4);
      detail::store32(base_, bank_format::sweep_key + i, w);
    }
    detail::store32(base_, bank_format::sweep_key_len, static_cast<std::uint32_t>(key.size()));
    detail::compiler_order();
    // Durable mode: the key on disk before the state that makes recovery read it.
    if (auto r = flusher()(0, bank_format::header_size); !r) return fail(r.error());
    detail::store32_release(base_, bank_format::sweep_state, detail::sweep_active);
    detail::compiler_order();
    if (auto r = flusher()(0, bank_format::header_size); !r) return fail(r.error());
    return sweep(key);
  }

  // Frees every block of `key`, one transaction each, then clears the free_all record. A block
  // that cannot be freed (its metadata damaged: corrupt) is left where it is, for check() to
  // report, and the sweep goes on: one damaged block must not make every later locker, and
  // every open, fail on a record that can never complete. The first such error is returned
  // after the record is cleared.
  [[nodiscard]] result<std::uint32_t> sweep(std::string_view key) {
    const std::uint32_t kh = Registry::hash_key(key);
    std::uint32_t freed = 0;
    error first_error;  // errc::ok while every block was freed
    for (std::uint32_t i = 0; i < layout_.max_blocks; ++i) {
      if (!registry_.in_use(i) || registry_.key_hash(i) != kh || registry_.key(i) != key) continue;
      if (auto r = free_entry(i); r)
        ++freed;
      else if (first_error.code == errc::ok)
        first_error = r.error();
    }
    detail::store32_release(base_, bank_format::sweep_state, 0);
    detail::compiler_order();
    detail::store32_release(base_, bank_format::sweep_hint, 0);
    detail::compiler_order();
    if (auto r = flusher()(0, bank_format::header_size); !r) return fail(r.error());
    if (first_error.code != errc::ok) return fail(first_error);
    return freed;
  }

  Backend backend_;
  std::byte* base_;
  bank_layout layout_;
  Registry registry_;
  Allocator allocator_;
  char medium_[max_medium_length] = {};
  std::size_t medium_len_ = 0;
  std::uint32_t converted_from_ = 0;
};

}  // namespace hotrestart

#endif  // HOTRESTART_BANK_HPP
