// SPDX-License-Identifier: MIT
// The stores that bench_alloc measures, each holding the N blocks of a workload, with the same
// operations so that one benchmark template measures every store:
//   find(s), find_missing(s), create_free(s), find_or_create(s), free_group(g) /
//   restore_group(g), iterate(), open_find(s), and (in a forked process) the same calls.
// hotrestart over each backend (hr_store<Traits>), Boost.Interprocess managed_mapped_file and
// managed_shared_memory with iset_index and iunordered_set_index (boost_store<Traits>), and
// std::unordered_map + operator new as the in-process floor (umap_store).
#ifndef HOTRESTART_BENCH_STORES_HPP
#define HOTRESTART_BENCH_STORES_HPP

#include <malloc.h>
#include <sys/mman.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/backends/section.hpp>
#ifdef HR_BENCH_SHM
#include <hotrestart/backends/shm.hpp>
#endif
#ifdef HR_BENCH_BOOST
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/indexes/iunordered_set_index.hpp>
#include <boost/interprocess/managed_mapped_file.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#endif

#include "common.hpp"

namespace hrbench {

using namespace hotrestart;

// ---------------------------------------------------------------------------------------------
// Places: where a store's bytes live. Not movable; removed when destroyed.

/// A file in the tmpfs scratch folder (or, `on_disk`, in the disk folder).
class file_place {
 public:
  file_place(const char* kind, std::uint32_t n, std::uint64_t /*bytes*/, bool on_disk = false)
      : path_((on_disk ? disk_dir() : tmpfs_dir()) + "/" + kind + "-" + std::to_string(n)),
        slot_(track(path_)) {}
  file_place(const file_place&) = delete;
  file_place& operator=(const file_place&) = delete;
  ~file_place() { untrack_and_remove(slot_); }
  const char* loc() const { return path_.c_str(); }
  const std::string& file() const { return path_; }
  static std::string dir() { return tmpfs_dir(); }

 private:
  std::string path_;
  int slot_;
};

class disk_file_place : public file_place {
 public:
  disk_file_place(const char* kind, std::uint32_t n, std::uint64_t bytes)
      : file_place(kind, n, bytes, true) {}
  static std::string dir() { return disk_dir(); }
};

/// A POSIX shared memory object (it is the file /dev/shm/NAME on Linux).
class shm_place {
 public:
  shm_place(const char* kind, std::uint32_t n, std::uint64_t /*bytes*/)
      : name_(prefix() + "-" + kind + "-" + std::to_string(n)),
        file_("/dev/shm/" + name_),
        slot_(track(file_)) {}
  shm_place(const shm_place&) = delete;
  shm_place& operator=(const shm_place&) = delete;
  ~shm_place() { untrack_and_remove(slot_); }
  const char* loc() const { return name_.c_str(); }
  const std::string& file() const { return file_; }
  static std::string dir() { return "/dev/shm"; }

 private:
  std::string name_, file_;
  int slot_;
};

/// Anonymous shared memory mapped by this process: the in-process RAM of the section backend
/// (shared, so that forked processes see the same bank).
class ram_place {
 public:
  ram_place(const char*, std::uint32_t, std::uint64_t bytes) : bytes_(bytes) {
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap (section RAM)", std::strerror(errno));
    mem_ = static_cast<std::byte*>(m);
  }
  ram_place(const ram_place&) = delete;
  ram_place& operator=(const ram_place&) = delete;
  ~ram_place() { ::munmap(mem_, bytes_); }
  std::span<std::byte> loc() const { return {mem_, static_cast<std::size_t>(bytes_)}; }
  const std::string& file() const {
    static const std::string none;
    return none;
  }
  static std::string dir() { return {}; }

 private:
  std::byte* mem_ = nullptr;
  std::uint64_t bytes_;
};

// ---------------------------------------------------------------------------------------------
// hotrestart, one traits class per backend

struct mmap_tmpfs_traits {
  static constexpr const char* label = "hr_mmap";
  using bank = mmap_bank;
  using place = file_place;
  static tunables adjust(tunables t) { return t; }
};

// Durable mode (tunables::durable): every mutation makes its four ordered flush steps (about 5 msyncs); rows for
// N = 16 to 65,536, the file on disk.
struct disk_durable_traits {
  static constexpr const char* label = "hr_disk_durable";
  static constexpr bool available = true;
  using bank = mmap_bank;
  using place = disk_file_place;
  static tunables adjust(tunables t) {
    t.durable = true;
    return t;
  }
};

/// The same file on disk without durable mode (HR_BENCH_DISK_PLAIN=1): the baseline the
/// durable rows will be compared with.
struct disk_plain_traits {
  static constexpr const char* label = "hr_disk_plain";
  using bank = mmap_bank;
  using place = disk_file_place;
  static tunables adjust(tunables t) { return t; }
};

#ifdef HR_BENCH_SHM
struct shm_traits {
  static constexpr const char* label = "hr_shm";
  using bank = shm_bank;
  using place = shm_place;
  static tunables adjust(tunables t) { return t; }
};
#endif

struct section_traits {
  static constexpr const char* label = "hr_section";
  using bank = section_bank_ext;
  using place = ram_place;
  // The section backend's default granule is 256 bytes (MCU RAM); here blocks are one 4 KiB
  // page as for the other backends.
  static tunables adjust(tunables t) { return t; }
};

inline std::uint64_t file_bytes_for(const tunables& t) {
  auto l = compute_layout<hash_registry, extent_allocator>(t, static_cast<std::uint32_t>(page));
  if (!l) die("layout", l.error());
  return l->file_bytes;
}

template <class Traits>
class hr_store final : public store_base {
 public:
  static constexpr const char* label = Traits::label;
  using bank_type = typename Traits::bank;
  // Room beyond the N blocks: create + free's names, the writer process's, typed shadows.
  static constexpr std::uint32_t spare = 2 * fresh_names + 16;

  static tunables capacity(std::uint32_t blocks, std::uint32_t data_pages) {
    return Traits::adjust({.bank_size = std::uint64_t{data_pages} * page,
                           .max_blocks = blocks,
                           .page_size = static_cast<std::uint32_t>(page)});
  }

  static std::uint64_t footprint(std::uint32_t n) {
    return file_bytes_for(capacity(n + spare, n + spare));
  }
  static std::string dir() { return Traits::place::dir(); }

  std::shared_ptr<const workload> wl;
  typename Traits::place where;
  std::optional<bank_type> bank;
  std::vector<std::uint64_t> offsets;  // each name's block, from the start of the bank

  explicit hr_store(std::shared_ptr<const workload> w) : hr_store(std::move(w), spare) {}

  /// A bank with room for N + `extra` blocks, holding the N blocks (block i in group i % 16).
  hr_store(std::shared_ptr<const workload> w, std::uint32_t extra)
      : wl(std::move(w)),
        where(label, wl->n, file_bytes_for(capacity(wl->n + extra, wl->n + extra))) {
    auto b = bank_type::create(where.loc(), capacity(wl->n + extra, wl->n + extra));
    if (!b) die("hotrestart create", b.error());
    offsets.reserve(wl->n);
    for (std::uint32_t i = 0; i < wl->n; ++i) {
      auto blk = b->find_or_create(wl->names[i], page, workload::key(i % groups));
      if (!blk) die("hotrestart find_or_create", blk.error());
      blk->data[0] = std::byte{1};
      offsets.push_back(static_cast<std::uint64_t>(blk->data - b->backend().data()));
    }
    bank.emplace(std::move(*b));
  }

  const std::byte* find(const std::string& s) {
    auto r = bank->find(s);
    return r ? r->data : nullptr;
  }
  bool find_missing(const std::string& s) { return !bank->find(s).has_value(); }
  void create_free(const std::string& s) {
    // A backend whose lock never waits (section: a flag, as on a single-core MCU) answers
    // lock_failed while another process holds it: called again, as documented (bank.hpp).
    auto c = bank->find_or_create(s, page);
    for (int tries = 0; !c && c.error().code == errc::lock_failed && tries < 1000000; ++tries)
      c = bank->find_or_create(s, page);
    if (!c || !c->created) die("create", c ? "it existed" : describe(c.error()).text);
    benchmark::DoNotOptimize(c->data);
    auto f = bank->free(s);
    for (int tries = 0; !f && f.error().code == errc::lock_failed && tries < 1000000; ++tries)
      f = bank->free(s);
    if (!f) die("free", f.error());
  }
  const std::byte* find_or_create(const std::string& s) {
    auto r = bank->find_or_create(s, page);
    return r ? r->data : nullptr;
  }
  std::uint32_t free_group(std::uint32_t g) {
    auto r = bank->free_all(workload::key(g));
    if (!r) die("free_all", r.error());
    return *r;
  }
  void restore_group(std::uint32_t g) {
    for (std::uint32_t i = g; i < wl->n; i += groups) {
      auto r = bank->find_or_create(wl->names[i], page, workload::key(g));
      if (!r) die("restore", r.error());
      offsets[i] = static_cast<std::uint64_t>(r->data - bank->backend().data());
    }
  }
  /// Each name's registry entry (for the analysis of open + find).
  std::vector<std::uint32_t> entries() {
    std::unordered_map<std::uint64_t, std::uint32_t> name_at;
    for (std::uint32_t i = 0; i < wl->n; ++i) name_at.emplace(offsets[i], i);
    std::vector<std::uint32_t> e(wl->n);
    auto r = bank->for_each([&](const block_info& b) {
      if (auto it = name_at.find(b.offset); it != name_at.end()) e[it->second] = b.index;
    });
    if (!r) die("for_each", r.error());
    return e;
  }
  std::uint64_t iterate() {
    std::uint64_t bytes = 0;
    auto r = bank->for_each([&](const block_info& i) { bytes += i.size + i.name.size(); });
    if (!r) die("for_each", r.error());
    return *r;
  }
  std::byte open_find(const std::string& s) const {
    auto b = bank_type::open(where.loc());
    if (!b) die("open", b.error());
    auto f = b->find(s);
    if (!f) die("find after open", f.error());
    return *static_cast<volatile std::byte*>(f->data);
  }
  const std::string& file() const { return where.file(); }
};

// ---------------------------------------------------------------------------------------------
// Boost.Interprocess

#ifdef HR_BENCH_BOOST
namespace bip = boost::interprocess;

struct page_bytes {
  char b[page];
};

template <template <class> class Index>
using boost_mmf =
    bip::basic_managed_mapped_file<char, bip::rbtree_best_fit<bip::mutex_family>, Index>;
template <template <class> class Index>
using boost_shm =
    bip::basic_managed_shared_memory<char, bip::rbtree_best_fit<bip::mutex_family>, Index>;

template <class Segment, class Place>
struct boost_traits {
  using segment = Segment;
  using place = Place;
};
struct boost_mmf_iset_traits : boost_traits<boost_mmf<bip::iset_index>, file_place> {
  static constexpr const char* label = "boost_mmf_iset";
};
struct boost_mmf_iuset_traits : boost_traits<boost_mmf<bip::iunordered_set_index>, file_place> {
  static constexpr const char* label = "boost_mmf_iuset";
};
struct boost_shm_iset_traits : boost_traits<boost_shm<bip::iset_index>, shm_place> {
  static constexpr const char* label = "boost_shm_iset";
};
struct boost_shm_iuset_traits : boost_traits<boost_shm<bip::iunordered_set_index>, shm_place> {
  static constexpr const char* label = "boost_shm_iuset";
};

template <class Traits>
class boost_store final : public store_base {
 public:
  static constexpr const char* label = Traits::label;
  using segment = typename Traits::segment;
  static std::uint64_t segment_bytes(std::uint32_t n) {
    return std::uint64_t{n + 2 * fresh_names} * (page + 256) + (16u << 20);
  }

  static std::uint64_t footprint(std::uint32_t n) { return segment_bytes(n); }
  static std::string dir() { return Traits::place::dir(); }

  std::shared_ptr<const workload> wl;
  typename Traits::place where;
  std::optional<segment> seg;
  std::uint64_t empty_bytes = 0;  // the segment's footprint before the first object
  std::uint64_t full_bytes = 0;   // ... holding the N objects

  explicit boost_store(std::shared_ptr<const workload> w)
      : wl(std::move(w)), where(label, wl->n, segment_bytes(wl->n)) {
    seg.emplace(bip::create_only, where.loc(), static_cast<std::size_t>(segment_bytes(wl->n)));
    empty_bytes = allocated_bytes(where.file());
    // One page-sized object, value-initialised: a single zero-fill (construct<char>[4096](0)
    // constructs 4,096 chars one by one: 10x slower, not what a user would do).
    for (const auto& s : wl->names) seg->template construct<page_bytes>(s.c_str())();
    full_bytes = allocated_bytes(where.file());
  }

  const page_bytes* find(const std::string& s) {
    return seg->template find<page_bytes>(s.c_str()).first;
  }
  bool find_missing(const std::string& s) {
    return seg->template find<page_bytes>(s.c_str()).first == nullptr;
  }
  void create_free(const std::string& s) {
    page_bytes* p = seg->template construct<page_bytes>(s.c_str())();
    benchmark::DoNotOptimize(p);
    seg->template destroy<page_bytes>(s.c_str());
  }
  const page_bytes* find_or_create(const std::string& s) {
    return seg->template find_or_construct<page_bytes>(s.c_str())();
  }
  // No deletion keys: the user destroys the group's objects by name.
  std::uint32_t free_group(std::uint32_t g) {
    std::uint32_t k = 0;
    for (std::uint32_t i = g; i < wl->n; i += groups)
      k += seg->template destroy<page_bytes>(wl->names[i].c_str()) ? 1u : 0u;
    return k;
  }
  void restore_group(std::uint32_t g) {
    for (std::uint32_t i = g; i < wl->n; i += groups)
      seg->template construct<page_bytes>(wl->names[i].c_str())();
  }
  std::uint64_t iterate() {
    std::uint64_t k = 0, bytes = 0;
    for (auto it = seg->named_begin(); it != seg->named_end(); ++it, ++k)
      bytes += it->name_length() + (it->value() != nullptr ? 1u : 0u);
    benchmark::DoNotOptimize(bytes);
    return k;
  }
  char open_find(const std::string& s) const {
    segment o(bip::open_only, where.loc());
    auto r = o.template find<page_bytes>(s.c_str());
    if (r.first == nullptr) die("boost open + find", "not found");
    return *static_cast<volatile char*>(r.first->b);
  }
};
#endif

// ---------------------------------------------------------------------------------------------
// std::unordered_map + operator new: the in-process floor (no persistence, no sharing)

class umap_store final : public store_base {
 public:
  static constexpr const char* label = "std_umap";
  static std::uint64_t footprint(std::uint32_t n) { return std::uint64_t{n} * (page + 128); }
  static std::string dir() { return {}; }

  std::shared_ptr<const workload> wl;
  std::unordered_map<std::string, std::byte*> map;
  std::uint64_t heap_bytes = 0;  // what the map and its pages took from malloc

  explicit umap_store(std::shared_ptr<const workload> w) : wl(std::move(w)) {
    const std::size_t before = ::mallinfo2().uordblks;
    for (const auto& s : wl->names) map.emplace(s, static_cast<std::byte*>(std::calloc(1, page)));
    heap_bytes = ::mallinfo2().uordblks - before;
  }
  ~umap_store() override {
    for (auto& kv : map) std::free(kv.second);
  }
  const std::byte* find(const std::string& s) const {
    auto it = map.find(s);
    return it != map.end() ? it->second : nullptr;
  }
  bool find_missing(const std::string& s) const { return map.find(s) == map.end(); }
  void create_free(const std::string& s) {
    auto* p = static_cast<std::byte*>(std::calloc(1, page));
    map.emplace(s, p);
    benchmark::DoNotOptimize(p);
    auto it = map.find(s);
    std::free(it->second);
    map.erase(it);
  }
  const std::byte* find_or_create(const std::string& s) {
    auto [it, inserted] = map.try_emplace(s, nullptr);
    if (inserted) it->second = static_cast<std::byte*>(std::calloc(1, page));
    return it->second;
  }
  std::uint32_t free_group(std::uint32_t g) {
    std::uint32_t k = 0;
    for (std::uint32_t i = g; i < wl->n; i += groups) {
      auto it = map.find(wl->names[i]);
      if (it == map.end()) continue;
      std::free(it->second);
      map.erase(it);
      ++k;
    }
    return k;
  }
  void restore_group(std::uint32_t g) {
    for (std::uint32_t i = g; i < wl->n; i += groups)
      map.emplace(wl->names[i], static_cast<std::byte*>(std::calloc(1, page)));
  }
  std::uint64_t iterate() const {
    std::uint64_t k = 0, bytes = 0;
    for (const auto& kv : map) {
      bytes += kv.first.size();
      ++k;
    }
    benchmark::DoNotOptimize(bytes);
    return k;
  }
};

}  // namespace hrbench

#endif  // HOTRESTART_BENCH_STORES_HPP
