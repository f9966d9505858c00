// SPDX-License-Identifier: MIT
// The allocation paths of hotrestart beside Boost.Interprocess managed_mapped_file (iset_index
// and iunordered_set_index) and, as in-process references, std::unordered_map and malloc. One
// binary, one run, side by side. Workload (shared/FACTS.md): 12-character names, lookups in
// shuffled order over all N names, one-page blocks, files on /dev/shm.
//
//   bench_alloc --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// HR_BENCH_DIR overrides the directory for the files (default: /dev/shm).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/typed.hpp>

#ifdef HR_BENCH_BOOST
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/indexes/iunordered_set_index.hpp>
#include <boost/interprocess/managed_mapped_file.hpp>
#endif

namespace {

using namespace hotrestart;

constexpr std::uint64_t page = 4096;
constexpr std::uint32_t fresh_names = 256;  // names cycled through by create + free

// ---------------------------------------------------------------------------------------------
// Files and names

struct scratch {
  std::string dir;
  scratch() {
    const char* root = std::getenv("HR_BENCH_DIR");
    std::string tmpl = std::string(root != nullptr ? root : "/dev/shm") + "/hr-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    dir = tmpl;
  }
  ~scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string file(const std::string& n) const { return dir + "/" + n; }
};
scratch& files() {
  static scratch s;
  return s;
}

// Twelve characters, all distinct: "n" + 11 digits of a scrambled index.
std::string name_of(std::uint64_t i, char lead = 'n') {
  char buf[16];
  const std::uint64_t scrambled = (i * 0x9E3779B97F4A7C15ull) % 100000000000ull;
  std::snprintf(buf, sizeof buf, "%c%011llu", lead, static_cast<unsigned long long>(scrambled));
  return buf;
}

struct names {
  std::vector<std::string> all;      // N names of existing blocks
  std::vector<std::uint32_t> order;  // a shuffled permutation of 0..N-1
  std::vector<std::string> fresh;    // names that never exist between iterations
  explicit names(std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i) all.push_back(name_of(i));
    for (std::uint32_t i = 0; i < n; ++i) order.push_back(i);
    std::mt19937 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::uint32_t i = 0; i < fresh_names; ++i) fresh.push_back(name_of(i, 'f'));
  }
};

[[noreturn]] void die(const char* what, const error& e) {
  std::fprintf(stderr, "%s: %s\n", what, describe(e).text);
  std::exit(1);
}

// ---------------------------------------------------------------------------------------------
// One set of stores per N, built on first use, kept until exit.

struct bench_value {
  static constexpr std::string_view hr_type_name = "bench::value";
  static constexpr std::uint32_t hr_schema_version = 1;
  std::uint64_t words[8] = {};
};
struct bench_page {
  static constexpr std::string_view hr_type_name = "bench::page";
  static constexpr std::uint32_t hr_schema_version = 1;
  std::uint64_t words[496] = {};  // 3968 bytes: with its shadow and header, two pages
};

tunables bank_tunables(std::uint32_t n) {
  return {.bank_size = (std::uint64_t{n} + 2 * fresh_names) * 2 * page,
          .max_blocks = n + 2 * fresh_names};
}

struct hr_store {
  std::string path;
  std::vector<std::uint64_t> offsets;  // each name's block, from the start of the file
  mmap_bank bank;
  // For the analysis row: the registry words a find of each name reads (its bucket, its entry).
  std::vector<std::uint64_t> bucket_offsets, entry_offsets;
  void locate(const names& nm) {
    const auto& l = bank.layout();
    std::map<std::string, std::uint32_t> index;
    auto r = bank.for_each([&](const block_info& i) { index[std::string(i.name)] = i.index; });
    if (!r) die("for_each", r.error());
    const std::uint32_t mask = hash_registry::bucket_count(l.max_blocks) - 1;
    for (const auto& s : nm.all) {
      bucket_offsets.push_back(l.registry_off + 64 + 4ull * (hash_registry::hash(s) & mask));
      entry_offsets.push_back(l.registry_off + hash_registry::entries_offset(l.max_blocks) +
                              hash_registry::entry_bytes * index.at(s));
    }
  }
  static hr_store make(const names& nm, std::uint32_t n, const std::string& path) {
    auto b = mmap_bank::create(path.c_str(), bank_tunables(n));
    if (!b) die("hotrestart create", b.error());
    std::vector<std::uint64_t> offs;
    for (const auto& s : nm.all) {
      auto blk = b->find_or_create(s, page);
      if (!blk) die("hotrestart find_or_create", blk.error());
      blk->data[0] = std::byte{1};
      offs.push_back(static_cast<std::uint64_t>(blk->data - b->backend().data()));
    }
    return {path, std::move(offs), std::move(*b), {}, {}};
  }
};

struct typed_store {
  mmap_bank bank;
  static typed_store make(const names& nm, std::uint32_t n, const std::string& path) {
    auto b = mmap_bank::create(path.c_str(), bank_tunables(n));
    if (!b) die("hotrestart create (typed)", b.error());
    for (const auto& s : nm.all) {
      auto p = persistent<bench_value>::find_or_construct(*b, s);
      if (!p) die("find_or_construct", p.error());
    }
    return {std::move(*b)};
  }
};

#ifdef HR_BENCH_BOOST
namespace bip = boost::interprocess;
using iset_file =
    bip::basic_managed_mapped_file<char, bip::rbtree_best_fit<bip::mutex_family>, bip::iset_index>;
using iuset_file = bip::basic_managed_mapped_file<char, bip::rbtree_best_fit<bip::mutex_family>,
                                                  bip::iunordered_set_index>;

struct page_bytes {
  char b[page];
};

template <class Seg>
std::unique_ptr<Seg> make_boost(const names& nm, std::uint32_t n, const std::string& path) {
  const std::size_t bytes = std::size_t{n} * (page + 256) + (16u << 20);
  auto seg = std::make_unique<Seg>(bip::create_only, path.c_str(), bytes);
  for (const auto& s : nm.all) seg->template construct<char>(s.c_str())[page](0);
  return seg;
}
#endif

struct env {
  std::uint32_t n;
  names nm;
  std::unique_ptr<hr_store> hr;
  std::unique_ptr<typed_store> typed;
  std::unique_ptr<std::unordered_map<std::string, void*>> umap;
  std::vector<std::unique_ptr<std::byte[]>> umap_pages;
#ifdef HR_BENCH_BOOST
  std::unique_ptr<iset_file> iset;
  std::unique_ptr<iuset_file> iuset;
#endif
  explicit env(std::uint32_t count) : n(count), nm(count) {}

  std::string path(const char* kind) const {
    return files().file(std::string(kind) + "-" + std::to_string(n));
  }
  hr_store& hotrestart() {
    if (!hr) {
      hr = std::make_unique<hr_store>(hr_store::make(nm, n, path("hr")));
      hr->locate(nm);
    }
    return *hr;
  }
  typed_store& typed_bank() {
    if (!typed) typed = std::make_unique<typed_store>(typed_store::make(nm, n, path("typed")));
    return *typed;
  }
  std::unordered_map<std::string, void*>& map() {
    if (!umap) {
      umap = std::make_unique<std::unordered_map<std::string, void*>>();
      for (const auto& s : nm.all) {
        umap_pages.emplace_back(new std::byte[page]());
        umap->emplace(s, umap_pages.back().get());
      }
    }
    return *umap;
  }
#ifdef HR_BENCH_BOOST
  iset_file& boost_iset() {
    if (!iset) iset = make_boost<iset_file>(nm, n, path("iset"));
    return *iset;
  }
  iuset_file& boost_iuset() {
    if (!iuset) iuset = make_boost<iuset_file>(nm, n, path("iuset"));
    return *iuset;
  }
#endif
};

env& env_for(std::uint32_t n) {
  static std::map<std::uint32_t, std::unique_ptr<env>> envs;
  auto& e = envs[n];
  if (!e) e = std::make_unique<env>(n);
  return *e;
}

// The i-th lookup: shuffled order over all N names (N is a power of two).
inline const std::string& next_name(const env& e, std::uint64_t& i) {
  return e.nm.all[e.nm.order[i++ & (e.n - 1)]];
}

// ---------------------------------------------------------------------------------------------
// find existing

void find_hotrestart(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  auto& b = e.hotrestart().bank;
  std::uint64_t i = 0;
  for (auto _ : st) {
    auto r = b.find(next_name(e, i));
    benchmark::DoNotOptimize(r->data);
  }
}
// What the workload itself costs: fetching the next name in shuffled order and touching it.
void find_harness_only(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  std::uint64_t i = 0;
  for (auto _ : st) {
    const std::string& s = next_name(e, i);
    benchmark::DoNotOptimize(s.data()[s.size() - 1]);
  }
}
void find_unordered_map(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  auto& m = e.map();
  std::uint64_t i = 0;
  for (auto _ : st) {
    auto it = m.find(next_name(e, i));
    benchmark::DoNotOptimize(it->second);
  }
}
#ifdef HR_BENCH_BOOST
template <class Seg, Seg& (env::*Get)()>
void find_boost(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  Seg& seg = (e.*Get)();
  std::uint64_t i = 0;
  for (auto _ : st) {
    auto r = seg.template find<char>(next_name(e, i).c_str());
    benchmark::DoNotOptimize(r.first);
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// create + free by name (one page, zero-filled), in a store that holds N names

void create_free_hotrestart(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  auto& b = e.hotrestart().bank;
  std::uint32_t i = 0;
  for (auto _ : st) {
    const std::string& s = e.nm.fresh[i++ % fresh_names];
    auto c = b.find_or_create(s, page);
    if (!c || !c->created)
      die("create", c ? error(errc::already_exists, "not created") : c.error());
    benchmark::DoNotOptimize(c->data);
    if (auto f = b.free(s); !f) die("free", f.error());
  }
}
void create_free_unordered_map(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  auto& m = e.map();
  std::uint32_t i = 0;
  for (auto _ : st) {
    const std::string& s = e.nm.fresh[i++ % fresh_names];
    void* p = std::calloc(1, page);
    m.emplace(s, p);
    benchmark::DoNotOptimize(p);
    auto it = m.find(s);
    std::free(it->second);
    m.erase(it);
  }
}
void create_free_malloc(benchmark::State& st) {
  for (auto _ : st) {
    void* p = std::malloc(page);
    std::memset(p, 0, page);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}
#ifdef HR_BENCH_BOOST
template <class Seg, Seg& (env::*Get)()>
void create_free_boost(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  Seg& seg = (e.*Get)();
  std::uint32_t i = 0;
  for (auto _ : st) {
    const char* s = e.nm.fresh[i++ % fresh_names].c_str();
    // One page-sized object, value-initialised: a single zero-fill (construct<char>[page](0)
    // would construct 4,096 chars one by one, which made Boost 10x slower than this).
    page_bytes* p = seg.template construct<page_bytes>(s)();
    benchmark::DoNotOptimize(p);
    seg.template destroy<page_bytes>(s);
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// open an existing store + one find (+ read one byte of the block), then close

void open_find_raw(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  hr_store& h = e.hotrestart();
  std::uint64_t i = 0;
  for (auto _ : st) {
    const std::uint64_t off = h.offsets[e.nm.order[i++ & (e.n - 1)]];
    const int fd = ::open(h.path.c_str(), O_RDWR | O_CLOEXEC);
    struct stat sb;
    ::fstat(fd, &sb);
    void* m = ::mmap(nullptr, static_cast<std::size_t>(sb.st_size), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    ::close(fd);
    benchmark::DoNotOptimize(*(static_cast<volatile std::byte*>(m) + off));
    ::munmap(m, static_cast<std::size_t>(sb.st_size));
  }
}
// Analysis: the raw open, reading the words a bank open + find reads (header, bucket, entry,
// block: each on its own page for large N), optionally with the mmap backend's boot-id read.
template <bool BootId>
void open_find_raw_same_pages(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  hr_store& h = e.hotrestart();
  std::uint64_t i = 0;
  for (auto _ : st) {
    const std::uint32_t k = e.nm.order[i++ & (e.n - 1)];
    const int fd = ::open(h.path.c_str(), O_RDWR | O_CLOEXEC);
    struct stat sb;
    ::fstat(fd, &sb);
    void* m = ::mmap(nullptr, static_cast<std::size_t>(sb.st_size), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    ::close(fd);
    if constexpr (BootId) {
      char boot[40];
      const int b = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
      benchmark::DoNotOptimize(::read(b, boot, sizeof boot));
      ::close(b);
    }
    auto* base = static_cast<volatile std::byte*>(m);
    benchmark::DoNotOptimize(base[0]);
    benchmark::DoNotOptimize(base[h.bucket_offsets[k]]);
    benchmark::DoNotOptimize(base[h.entry_offsets[k]]);
    benchmark::DoNotOptimize(base[h.offsets[k]]);
    ::munmap(m, static_cast<std::size_t>(sb.st_size));
  }
}
void open_find_hotrestart(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  hr_store& h = e.hotrestart();
  std::uint64_t i = 0;
  for (auto _ : st) {
    auto b = mmap_bank::open(h.path.c_str());
    if (!b) die("open", b.error());
    auto f = b->find(next_name(e, i));
    if (!f) die("find", f.error());
    benchmark::DoNotOptimize(*static_cast<volatile std::byte*>(f->data));
  }
}
#ifdef HR_BENCH_BOOST
template <class Seg, Seg& (env::*Get)()>
void open_find_boost(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  (e.*Get)();  // built
  const std::string path = e.path(std::is_same_v<Seg, iset_file> ? "iset" : "iuset");
  std::uint64_t i = 0;
  for (auto _ : st) {
    Seg seg(bip::open_only, path.c_str());
    auto r = seg.template find<char>(next_name(e, i).c_str());
    benchmark::DoNotOptimize(*static_cast<volatile char*>(r.first));
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// typed blocks

void typed_find_or_construct(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  auto& b = e.typed_bank().bank;
  std::uint64_t i = 0;
  for (auto _ : st) {
    auto p = persistent<bench_value>::find_or_construct(b, next_name(e, i));
    benchmark::DoNotOptimize(p->get());
  }
}
void typed_construct_destroy(benchmark::State& st) {
  env& e = env_for(static_cast<std::uint32_t>(st.range(0)));
  auto& b = e.typed_bank().bank;
  std::uint32_t i = 0;
  for (auto _ : st) {
    const std::string& s = e.nm.fresh[i++ % fresh_names];
    auto p = persistent<bench_value>::find_or_construct(b, s);
    if (!p || !p->created()) die("construct", p ? error(errc::already_exists, "found") : p.error());
    benchmark::DoNotOptimize(p->get());
    if (auto r = persistent<bench_value>::destroy(b, s); !r) die("destroy", r.error());
  }
}

// Updates of one value: in place, atomic (copy + switch), store (write + switch), and the
// alternative of a fresh block per update switched in by bank.replace.
struct update_env {
  mmap_bank bank;
  static update_env& get() {
    static update_env u = [] {
      auto b = mmap_bank::create(files().file("update").c_str(),
                                 {.bank_size = 64 * page, .max_blocks = 16});
      if (!b) die("create (update)", b.error());
      return update_env{std::move(*b)};
    }();
    return u;
  }
};

template <class T>
void update_in_place(benchmark::State& st) {
  auto p = persistent<T>::find_or_construct(update_env::get().bank, T::hr_type_name);
  if (!p) die("construct", p.error());
  std::uint64_t k = 0;
  for (auto _ : st) {
    T& v = **p;
    ++k;
    for (auto& w : v.words) w = k;
    benchmark::ClobberMemory();
  }
}
template <class T>
void update_atomic(benchmark::State& st) {
  auto p = persistent<T>::find_or_construct(update_env::get().bank, T::hr_type_name);
  if (!p) die("construct", p.error());
  std::uint64_t k = 0;
  for (auto _ : st) {
    ++k;
    p->update([k](T& v) {
      for (auto& w : v.words) w = k;
    });
    benchmark::ClobberMemory();
  }
}
template <class T>
void update_store(benchmark::State& st) {
  auto p = persistent<T>::find_or_construct(update_env::get().bank, T::hr_type_name);
  if (!p) die("construct", p.error());
  T v;
  std::uint64_t k = 0;
  for (auto _ : st) {
    ++k;
    for (auto& w : v.words) w = k;
    p->store(v);
    benchmark::ClobberMemory();
  }
}
template <class T>
void update_new_block_replace(benchmark::State& st) {
  auto& b = update_env::get().bank;
  const std::string name = std::string(T::hr_type_name) + ".raw";
  auto first = b.find_or_create(name, sizeof(T));
  if (!first) die("create", first.error());
  std::uint64_t k = 0;
  for (auto _ : st) {
    ++k;
    auto cur = b.find(name);
    auto sh = b.find_or_create(internal_access, "__HR~bench", sizeof(T));
    if (!cur || !sh) die("shadow", (!cur ? cur : sh).error());
    std::memcpy(sh->data, cur->data, sizeof(T));
    auto* v = reinterpret_cast<T*>(sh->data);
    for (auto& w : v->words) w = k;
    if (auto r = b.replace(internal_access, name, "__HR~bench"); !r) die("replace", r.error());
  }
}

void register_all() {
  const std::vector<std::int64_t> ns = {16, 1024, 65536};
  auto each = [&](const char* name, void (*fn)(benchmark::State&)) {
    for (auto n : ns) benchmark::RegisterBenchmark(name, fn)->Arg(n);
  };
  each("find/hotrestart", find_hotrestart);
#ifdef HR_BENCH_BOOST
  each("find/boost_iset", find_boost<iset_file, &env::boost_iset>);
  each("find/boost_iunordered_set", find_boost<iuset_file, &env::boost_iuset>);
#endif
  each("find/std_unordered_map", find_unordered_map);
  each("find/harness_only", find_harness_only);
  each("create_free/hotrestart", create_free_hotrestart);
#ifdef HR_BENCH_BOOST
  each("create_free/boost_iset", create_free_boost<iset_file, &env::boost_iset>);
  each("create_free/boost_iunordered_set", create_free_boost<iuset_file, &env::boost_iuset>);
#endif
  each("create_free/std_unordered_map+calloc", create_free_unordered_map);
  benchmark::RegisterBenchmark("create_free/malloc+memset", create_free_malloc);
  each("open_find/raw_open_mmap_read", open_find_raw);
  each("open_find/hotrestart", open_find_hotrestart);
  each("open_find/raw_same_4_pages", open_find_raw_same_pages<false>);
  each("open_find/raw_same_4_pages+boot_id", open_find_raw_same_pages<true>);
#ifdef HR_BENCH_BOOST
  each("open_find/boost_iset", open_find_boost<iset_file, &env::boost_iset>);
  each("open_find/boost_iunordered_set", open_find_boost<iuset_file, &env::boost_iuset>);
#endif
  each("typed/find_or_construct", typed_find_or_construct);
  each("typed/construct_destroy", typed_construct_destroy);
  benchmark::RegisterBenchmark("update/64B/in_place", update_in_place<bench_value>);
  benchmark::RegisterBenchmark("update/64B/atomic_update", update_atomic<bench_value>);
  benchmark::RegisterBenchmark("update/64B/atomic_store", update_store<bench_value>);
  benchmark::RegisterBenchmark("update/64B/new_block_replace",
                               update_new_block_replace<bench_value>);
  benchmark::RegisterBenchmark("update/3968B/in_place", update_in_place<bench_page>);
  benchmark::RegisterBenchmark("update/3968B/atomic_update", update_atomic<bench_page>);
  benchmark::RegisterBenchmark("update/3968B/atomic_store", update_store<bench_page>);
  benchmark::RegisterBenchmark("update/3968B/new_block_replace",
                               update_new_block_replace<bench_page>);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  files();  // the scratch directory outlives every store
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
