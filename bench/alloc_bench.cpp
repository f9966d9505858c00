// SPDX-License-Identifier: MIT
// Every allocation path of hotrestart, on every backend, beside its peers: Boost.Interprocess
// managed_mapped_file and managed_shared_memory (iset_index, iunordered_set_index), PMDK
// libpmemobj (create + free), and std::unordered_map + malloc as the in-process floor. One
// binary, one run, side by side. Workload (shared/FACTS.md): 12-character names, lookups in a
// shuffled order over all N names, one-page blocks, files on /dev/shm.
//
//   bench_alloc [--hr_ns=16,1024,65536,1048576] [--hr_durable_max=65536] [--hr_big_reps=K]
//               [google benchmark flags]
//
// Benchmark names are PATH/STORE/N (see bench/README.md for what each path measures). Stores
// are built one at a time, in registration order, and destroyed before the next one is built.
// bench/run.sh runs the whole suite and writes bench/README.md's tables and plots.
//
// Environment: HR_BENCH_DIR (tmpfs folder, /dev/shm), HR_BENCH_DISK_DIR (disk folder,
// /var/tmp), HR_BENCH_PREFIX (names of everything made), HR_BENCH_DISK_PLAIN=1 (also the
// mmap-file-on-disk rows without durable mode).
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <hotrestart/typed.hpp>

#include "common.hpp"
#include "stores.hpp"
#ifdef HR_BENCH_PMDK
#include "pmdk.hpp"
#endif

// Flush round trips (msync) the library waits for: counted through its flush hook.
std::uint64_t g_flushes = 0;
void hrbench_count_flush() {
  ++g_flushes;
}

namespace hrbench {
namespace {

// ---------------------------------------------------------------------------------------------
// The paths, one template per path over every store

template <class S>
void bm_find(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  if (s->find(w.names[w.n - 1]) == nullptr) die("find", "an existing block was not found");
  std::uint64_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(s->find(w.next(i)));
}

template <class S>
void bm_find_missing(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  if (!s->find_missing(w.missing[0])) die("find missing", "a missing name was found");
  std::uint64_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(s->find_missing(w.next_missing(i)));
}

template <class S>
void bm_create_free(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  std::uint32_t i = 0;
  const std::uint64_t flushes = g_flushes;
  for (auto _ : st) s->create_free(w.fresh[i++ % fresh_names]);
  if (g_flushes != flushes)  // durable mode: flush round trips per create + free
    st.counters["flushes_per_pair"] = benchmark::Counter(static_cast<double>(g_flushes - flushes),
                                                         benchmark::Counter::kAvgIterations);
}

// The reference of durable create + free: write one page to a file on the same disk and
// fdatasync it (one flush round trip of the device).
void bm_raw_write_fdatasync(benchmark::State& st) {
  const std::string path = disk_dir() + "/raw-write";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    st.SkipWithError("cannot create the file");
    return;
  }
  std::vector<char> buf(page, 1);
  for (auto _ : st) {
    if (::pwrite(fd, buf.data(), page, 0) != static_cast<ssize_t>(page) || ::fdatasync(fd) != 0) {
      st.SkipWithError("write or fdatasync failed");
      break;
    }
    ++buf[0];
  }
  ::close(fd);
  ::unlink(path.c_str());
}

// Latency percentiles: each call timed on its own (steady_clock, read before and after), for
// the tail that a mean hides. Counters p50, p99, p999 in ns; `clock_ns` is the median cost of
// the two clock reads alone, included in each figure.
struct latency_samples {
  std::vector<std::uint32_t> ns;
  static std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void add(std::int64_t t0, std::int64_t t1) {
    ns.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(t1 - t0, UINT32_MAX)));
  }
  void report(benchmark::State& st) {
    if (ns.empty()) return;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
      return static_cast<double>(ns[std::min(
          ns.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ns.size())))]);
    };
    st.counters["p50"] = at(0.5);
    st.counters["p99"] = at(0.99);
    st.counters["p999"] = at(0.999);
    std::vector<std::uint32_t> empty;
    for (int k = 0; k < 10001; ++k) {
      const std::int64_t t0 = now();
      empty.push_back(static_cast<std::uint32_t>(now() - t0));
    }
    std::nth_element(empty.begin(), empty.begin() + 5000, empty.end());
    st.counters["clock_ns"] = empty[5000];
  }
};

// Each iteration: the name pick(k) chooses (not timed), then op(name), timed alone.
template <class Pick, class Op>
void time_each(benchmark::State& st, Pick&& pick, Op&& op) {
  latency_samples l;
  l.ns.reserve(static_cast<std::size_t>(st.max_iterations));
  std::uint64_t k = 0;
  for (auto _ : st) {
    const std::string& name = pick(k++);
    const std::int64_t t0 = latency_samples::now();
    op(name);
    l.add(t0, latency_samples::now());
  }
  l.report(st);
}

template <class S>
void bm_latency_find(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  std::uint64_t i = 0;
  time_each(
      st, [&](std::uint64_t) -> const std::string& { return w.next(i); },
      [&](const std::string& name) { benchmark::DoNotOptimize(s->find(name)); });
}

template <class S>
void bm_latency_create_free(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  time_each(
      st, [&](std::uint64_t k) -> const std::string& { return w.fresh[k % fresh_names]; },
      [&](const std::string& name) { s->create_free(name); });
}

template <class S>
void bm_find_or_create(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  std::uint64_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(s->find_or_create(w.next(i)));
}

// Frees one deletion group (N/16 blocks); the group is made again outside the timing (manual
// time: PauseTiming costs more than freeing one block at N = 16).
template <class S>
void bm_free_group(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  std::uint32_t g = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint32_t k = s->free_group(g);
    st.SetIterationTime(seconds_since(t0));
    if (k != w.group_size()) die("free group", "freed another number of blocks than the group's");
    s->restore_group(g);
    g = (g + 1) % groups;
  }
  st.counters["blocks"] = w.group_size();
}

template <class S>
void bm_iterate(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  for (auto _ : st)
    if (s->iterate() != w.n) die("iterate", "visited another number of blocks than N");
  st.counters["blocks"] = w.n;
}

template <class S>
void bm_open_find(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  std::uint64_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(s->open_find(w.next(i)));
}

// A raw mapping of a whole file: open + fstat + mmap, close; munmap when it goes.
struct raw_mapping {
  volatile std::byte* base = nullptr;
  std::size_t bytes = 0;
  explicit raw_mapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    struct stat sb {};
    ::fstat(fd, &sb);
    bytes = static_cast<std::size_t>(sb.st_size);
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) die("raw mmap", std::strerror(errno));
    base = static_cast<volatile std::byte*>(m);
  }
  raw_mapping(const raw_mapping&) = delete;
  raw_mapping& operator=(const raw_mapping&) = delete;
  ~raw_mapping() { ::munmap(const_cast<std::byte*>(base), bytes); }
};

// The reference of open + find: open + fstat + mmap of the same file, read one byte of the
// block the next name has, munmap. With `PlusFault`, the header's first byte too: the bound
// issue 13 sets for open + find + read one byte (the raw open plus one page fault).
template <class S, bool PlusFault = false>
void bm_open_raw(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  std::uint64_t i = 0;
  for (auto _ : st) {
    const std::uint64_t off = s->offsets[w.order[i++ & (w.n - 1)]];
    const raw_mapping m(s->file());
    if constexpr (PlusFault) benchmark::DoNotOptimize(m.base[0]);
    benchmark::DoNotOptimize(m.base[off]);
  }
}

// Analysis of open + find: the raw open reading the words a bank open + find reads (header,
// index group, entry, block: each on its own page at large N), with the mmap backend's boot-id
// read.
template <class S, bool BootId>
void bm_open_raw_pages(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  const workload& w = *s->wl;
  const bank_layout& l = s->bank->layout();
  static std::vector<std::uint32_t> entry;
  if (entry.size() != w.n) entry = s->entries();  // the rows' store is not changed between them
  const std::uint32_t mask = hash_registry::group_count(l.max_blocks) - 1;
  std::uint64_t i = 0;
  for (auto _ : st) {
    const std::uint32_t k = w.order[i++ & (w.n - 1)];
    const std::uint64_t bucket =
        l.registry_off + 64 + hash_registry::group_bytes * (hash_registry::hash(w.names[k]) & mask);
    const std::uint64_t ent = l.registry_off + hash_registry::entries_offset(l.max_blocks) +
                              hash_registry::entry_bytes * entry[k];
    const raw_mapping m(s->file());
    if constexpr (BootId) {
      char boot[40];
      const int b = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
      benchmark::DoNotOptimize(::read(b, boot, sizeof boot));
      ::close(b);
    }
    benchmark::DoNotOptimize(m.base[0]);
    benchmark::DoNotOptimize(m.base[bucket]);
    benchmark::DoNotOptimize(m.base[ent]);
    benchmark::DoNotOptimize(m.base[s->offsets[k]]);
  }
}

// What the workload itself costs: fetching the next name in shuffled order and touching it.
void bm_harness(benchmark::State& st) {
  auto w = workload_for(static_cast<std::uint32_t>(st.range(0)));
  std::uint64_t i = 0;
  for (auto _ : st) {
    const std::string& s = w->next(i);
    benchmark::DoNotOptimize(s.data()[s.size() - 1]);
  }
}

void bm_malloc_memset_free(benchmark::State& st) {
  for (auto _ : st) {
    void* p = std::malloc(page);
    std::memset(p, 0, page);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}

// ---------------------------------------------------------------------------------------------
// The memory floor: one dependent random 64-byte read in an array of range(0) MiB, as a find
// makes in an index of that size. The array is shared memory (shmem, 4 KiB pages, as a bank on
// tmpfs), its lines chained in one random cycle (Sattolo), so each read waits for the one
// before and the cycle visits every line: what is left is the cache and TLB miss of that size.
void bm_floor_dependent_read(benchmark::State& st) {
  const std::uint64_t bytes = static_cast<std::uint64_t>(st.range(0)) << 20;
  const std::uint64_t lines = bytes / 64;
  void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    st.SkipWithError("mmap failed");
    return;
  }
  auto* a = static_cast<std::uint64_t*>(m);  // line i's first word: the next line's index
  for (std::uint64_t i = 0; i < lines; ++i) a[i * 8] = i;
  std::mt19937_64 rng(7);
  for (std::uint64_t i = lines - 1; i > 0; --i) {  // Sattolo: one cycle through every line
    const std::uint64_t j = rng() % i;
    std::swap(a[i * 8], a[j * 8]);
  }
  std::uint64_t at = 0;
  for (std::uint64_t i = 0; i < lines; ++i) at = a[at * 8];  // warm the page tables once
  for (auto _ : st) {
    at = a[at * 8];
    benchmark::DoNotOptimize(at);
  }
  st.counters["bytes"] = static_cast<double>(bytes);
  ::munmap(m, bytes);
}

// ---------------------------------------------------------------------------------------------
// The same lookups from 1 or 2 processes while another process creates and frees. This
// process is reader 1 (timed by the benchmark loop); the writer and reader 2 are forked from it
// once per store and share the store's mapping. A forked process starts without page-table
// entries for the mapping, so each helper first warms up (one pass over its names); between
// measurements the helpers are parked (polling every 0.2 ms), and they are ended before the
// store is destroyed. Counters: the writer's create + free pairs per second and reader 2's ns
// per find.

struct alignas(64) shared_line {
  std::atomic<std::uint64_t> v{0};
};
enum phase : std::uint64_t { parked = 0, writer_only = 1, writer_and_reader2 = 2, quit = 3 };
struct contention_area {
  shared_line phase, warm, running, writer_ops, peer_finds, peer_ns;
};
contention_area* area() {
  static contention_area* a = [] {
    void* m = ::mmap(nullptr, sizeof(contention_area), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap", std::strerror(errno));
    return new (m) contention_area;
  }();
  return a;
}

template <class F>
pid_t fork_helper(F&& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) die("fork", std::strerror(errno));
  if (pid == 0) {
    become_helper();
    body();
    ::_exit(0);
  }
  return pid;
}

std::vector<pid_t> helper_pids;
const void* helpers_store = nullptr;

void end_helpers() {
  if (helper_pids.empty()) return;
  area()->phase.v.store(quit);
  for (pid_t p : helper_pids) {
    int status = 0;
    while (::waitpid(p, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("helper process", "failed");
  }
  helper_pids.clear();
  helpers_store = nullptr;
}

// Parks until the phase is one of `mine` (or quit); returns the phase.
std::uint64_t wait_phase(contention_area* a, std::uint64_t mine_a, std::uint64_t mine_b) {
  for (;;) {
    const std::uint64_t ph = a->phase.v.load();
    if (ph == mine_a || ph == mine_b || ph == quit) return ph;
    ::usleep(200);
  }
}

template <class S>
void start_helpers(S* s) {
  if (helpers_store == s) return;
  end_helpers();
  before_release_slot = end_helpers;
  contention_area* a = area();
  for (shared_line* l :
       {&a->phase, &a->warm, &a->running, &a->writer_ops, &a->peer_finds, &a->peer_ns})
    l->v.store(0);
  const workload& w = *s->wl;
  helper_pids.push_back(fork_helper([s, a, &w] {
    for (std::uint32_t k = 0; k < fresh_names; ++k) s->create_free(w.writer[k]);
    a->warm.v.fetch_add(1);
    std::uint64_t k = 0;
    while (wait_phase(a, writer_only, writer_and_reader2) != quit) {
      a->running.v.fetch_add(1);
      while (a->phase.v.load(std::memory_order_relaxed) != parked) {
        s->create_free(w.writer[k++ % fresh_names]);
        a->writer_ops.v.store(k, std::memory_order_relaxed);
      }
      a->running.v.fetch_sub(1);
    }
  }));
  helper_pids.push_back(fork_helper([s, a, &w] {
    std::uint64_t i = w.n / 2;
    for (std::uint32_t j = 0; j < w.n; ++j) benchmark::DoNotOptimize(s->find(w.next(i)));
    a->warm.v.fetch_add(1);
    while (wait_phase(a, writer_and_reader2, writer_and_reader2) != quit) {
      a->running.v.fetch_add(1);
      std::uint64_t k = 0;
      const auto t0 = std::chrono::steady_clock::now();
      while (a->phase.v.load(std::memory_order_relaxed) != parked) {
        for (int j = 0; j < 64; ++j) benchmark::DoNotOptimize(s->find(w.next(i)));
        k += 64;
      }
      a->peer_ns.v.store(static_cast<std::uint64_t>(seconds_since(t0) * 1e9));
      a->peer_finds.v.store(k);
      a->running.v.fetch_sub(1);
    }
  }));
  while (a->warm.v.load() < 2) ::usleep(200);
  helpers_store = s;
}

// Sets the helpers to phase `ph` and returns once `helpers` of them run and the writer has done
// a pair in it: the measurement starts there.
void begin_phase(contention_area* a, std::uint64_t ph, std::uint64_t helpers) {
  const std::uint64_t parked_ops = a->writer_ops.v.load();
  a->phase.v.store(ph);
  while (a->running.v.load() < helpers || a->writer_ops.v.load() == parked_ops) ::sched_yield();
}
void end_phase(contention_area* a) {
  a->phase.v.store(parked);
  while (a->running.v.load() != 0) ::sched_yield();
}

template <class S, int Readers>
void bm_find_contended(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  start_helpers(s);
  const workload& w = *s->wl;
  contention_area* a = area();
  begin_phase(a, Readers == 2 ? writer_and_reader2 : writer_only, Readers);
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t ops0 = a->writer_ops.v.load();
  std::uint64_t i = 0, failed = 0;
  for (auto _ : st) {
    const auto* p = s->find(w.next(i));
    benchmark::DoNotOptimize(p);
    failed += p == nullptr ? 1u : 0u;  // an existing name not found (an error, e.g. lock_failed)
  }
  const double el = seconds_since(t0);
  const std::uint64_t ops1 = a->writer_ops.v.load();
  end_phase(a);
  st.counters["writer_ops_per_s"] = static_cast<double>(ops1 - ops0) / el;
  st.counters["failed_finds"] = static_cast<double>(failed);
  if (Readers == 2 && a->peer_finds.v.load() != 0)
    st.counters["peer_ns_per_find"] =
        static_cast<double>(a->peer_ns.v.load()) / static_cast<double>(a->peer_finds.v.load());
}

// Create + free from two processes at once, each on its own names: this one (timed) and the
// forked writer. Counters: the pairs per second of both together, and of each. Set beside one
// process's pairs per second (the create_free row) it says how far creates scale.
template <class S>
void bm_create_free_2proc(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  start_helpers(s);
  const workload& w = *s->wl;
  contention_area* a = area();
  begin_phase(a, writer_only, 1);
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t ops0 = a->writer_ops.v.load();
  std::uint32_t i = 0;
  for (auto _ : st) s->create_free(w.fresh[i++ % fresh_names]);
  const double el = seconds_since(t0);
  const std::uint64_t ops1 = a->writer_ops.v.load();
  end_phase(a);
  const double own = static_cast<double>(st.iterations()) / el;
  const double peer = static_cast<double>(ops1 - ops0) / el;
  st.counters["pairs_per_s"] = own + peer;
  st.counters["own_pairs_per_s"] = own;
  st.counters["peer_pairs_per_s"] = peer;
}

// ---------------------------------------------------------------------------------------------
// Memory: bytes of overhead per block and per bank, measured as the bytes the store's file
// holds (tmpfs pages; st_blocks) or, for the floor, what malloc handed out (mallinfo2).

void set_memory(benchmark::State& st, std::uint32_t n, double footprint, double per_bank) {
  const double payload = static_cast<double>(n) * static_cast<double>(page);
  st.counters["footprint_bytes"] = footprint;
  st.counters["overhead_bytes"] = footprint - payload;
  st.counters["per_bank_bytes"] = per_bank;
  st.counters["per_block_bytes"] = (footprint - payload - per_bank) / n;
}

// hotrestart: a bank made for exactly N blocks (max_blocks = N, N pages), holding them. Its
// file is preallocated (posix_fallocate), so this is what it takes whatever it holds. Per
// bank: a bank made for one one-page block, less that page.
void bm_memory_hr(benchmark::State& st) {
  release_slot();
  const auto n = static_cast<std::uint32_t>(st.range(0));
  using store = hr_store<mmap_tmpfs_traits>;
  if (!room_for(file_bytes_for(store::capacity(n, n)), tmpfs_dir())) {
    st.SkipWithError("not enough free memory or tmpfs space for this store now");
    return;
  }
  double footprint = 0, per_bank = 0;
  for (auto _ : st) {
    {
      store one(workload_for(1), 0);
      per_bank = static_cast<double>(allocated_bytes(one.file())) - static_cast<double>(page);
    }
    store full(workload_for(n), 0);
    footprint = static_cast<double>(allocated_bytes(full.file()));
  }
  set_memory(st, n, footprint, per_bank);
}

#ifdef HR_BENCH_BOOST
// Boost: the segment's file after the N constructions (untouched pages of the segment are
// not counted: its file is sparse). Per bank: the fresh segment, before the first object.
template <class S>
void bm_memory_boost(benchmark::State& st) {
  S* s = store_for<S>(st);
  if (s == nullptr) return;
  for (auto _ : st) benchmark::DoNotOptimize(s->full_bytes);
  set_memory(st, s->wl->n, static_cast<double>(s->full_bytes), static_cast<double>(s->empty_bytes));
}
#endif

void bm_memory_umap(benchmark::State& st) {
  umap_store* s = store_for<umap_store>(st);
  if (s == nullptr) return;
  for (auto _ : st) benchmark::DoNotOptimize(s->heap_bytes);
  set_memory(st, s->wl->n, static_cast<double>(s->heap_bytes), 0);
}

// ---------------------------------------------------------------------------------------------
// PMDK

#ifdef HR_BENCH_PMDK
void bm_pmdk_alloc_free(benchmark::State& st) {
  pmdk_store* s = store_for<pmdk_store>(st);
  if (s == nullptr) return;
  std::uint32_t k = 0;
  for (auto _ : st) s->alloc_free(k++);
}
void bm_pmdk_tx_alloc_free(benchmark::State& st) {
  pmdk_store* s = store_for<pmdk_store>(st);
  if (s == nullptr) return;
  std::uint32_t k = 0;
  for (auto _ : st) s->tx_alloc_free(k++);
}
#endif

// ---------------------------------------------------------------------------------------------
// Typed blocks and updates

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

tunables typed_tunables(std::uint32_t n) {
  const std::uint32_t blocks = n + 2 * fresh_names;
  return {.bank_size = std::uint64_t{blocks} * 2 * page, .max_blocks = blocks};
}

struct typed_store final : store_base {
  static constexpr const char* label = "typed";
  static std::uint64_t footprint(std::uint32_t n) { return file_bytes_for(typed_tunables(n)); }
  static std::string dir() { return file_place::dir(); }
  std::shared_ptr<const workload> wl;
  file_place where;
  std::optional<mmap_bank> bank;
  explicit typed_store(std::shared_ptr<const workload> w)
      : wl(std::move(w)), where("typed", wl->n, footprint(wl->n)) {
    auto b = mmap_bank::create(where.loc(), typed_tunables(wl->n));
    if (!b) die("hotrestart create (typed)", b.error());
    for (const auto& s : wl->names)
      if (auto p = persistent<bench_value>::find_or_construct(*b, s); !p)
        die("find_or_construct", p.error());
    bank.emplace(std::move(*b));
  }
};

void bm_typed_find_or_construct(benchmark::State& st) {
  typed_store* s = store_for<typed_store>(st);
  if (s == nullptr) return;
  std::uint64_t i = 0;
  for (auto _ : st) {
    auto p = persistent<bench_value>::find_or_construct(*s->bank, s->wl->next(i));
    benchmark::DoNotOptimize(p->get());
  }
}
void bm_typed_construct_destroy(benchmark::State& st) {
  typed_store* s = store_for<typed_store>(st);
  if (s == nullptr) return;
  std::uint32_t i = 0;
  for (auto _ : st) {
    const std::string& name = s->wl->fresh[i++ % fresh_names];
    auto p = persistent<bench_value>::find_or_construct(*s->bank, name);
    if (!p || !p->created()) die("construct", p ? "found" : describe(p.error()).text);
    benchmark::DoNotOptimize(p->get());
    if (auto r = persistent<bench_value>::destroy(*s->bank, name); !r) die("destroy", r.error());
  }
}

// Updates of one value: in place, atomic (copy + switch), store (write + switch), and the
// alternative of a fresh block per update switched in by bank.replace.
mmap_bank& update_bank() {
  static file_place where("update", 0, 0);
  static mmap_bank b = [] {
    auto r = mmap_bank::create(where.loc(), {.bank_size = 64 * page, .max_blocks = 16});
    if (!r) die("create (update)", r.error());
    return std::move(*r);
  }();
  return b;
}

template <class T>
persistent<T> updated_value() {
  auto p = persistent<T>::find_or_construct(update_bank(), T::hr_type_name);
  if (!p) die("construct", p.error());
  return std::move(*p);
}

template <class T>
void bm_update_in_place(benchmark::State& st) {
  auto p = updated_value<T>();
  std::uint64_t k = 0;
  for (auto _ : st) {
    T& v = *p;
    ++k;
    for (auto& word : v.words) word = k;
    benchmark::ClobberMemory();
  }
}
template <class T>
void bm_update_atomic(benchmark::State& st) {
  auto p = updated_value<T>();
  std::uint64_t k = 0;
  for (auto _ : st) {
    ++k;
    p.update([k](T& v) {
      for (auto& word : v.words) word = k;
    });
    benchmark::ClobberMemory();
  }
}
template <class T>
void bm_update_store(benchmark::State& st) {
  auto p = updated_value<T>();
  T v;
  std::uint64_t k = 0;
  for (auto _ : st) {
    ++k;
    for (auto& word : v.words) word = k;
    p.store(v);
    benchmark::ClobberMemory();
  }
}
template <class T>
void bm_update_new_block_replace(benchmark::State& st) {
  auto& b = update_bank();
  const std::string name = std::string(T::hr_type_name) + ".raw";
  if (auto first = b.find_or_create(name, sizeof(T)); !first) die("create", first.error());
  std::uint64_t k = 0;
  for (auto _ : st) {
    ++k;
    auto cur = b.find(name);
    auto sh = b.find_or_create(hotrestart::detail::internal_access, "__HR~bench", sizeof(T));
    if (!cur || !sh) die("shadow", (!cur ? cur : sh).error());
    std::memcpy(sh->data, cur->data, sizeof(T));
    auto* v = reinterpret_cast<T*>(sh->data);
    for (auto& word : v->words) word = k;
    if (auto r = b.replace(hotrestart::detail::internal_access, name, "__HR~bench"); !r)
      die("replace", r.error());
  }
}

// ---------------------------------------------------------------------------------------------
// Registration, grouped by store (each store is built once, then destroyed)

int big_repetitions = 0;  // --hr_big_reps: repetitions at N >= 1,048,576 (0: the flag's)

benchmark::internal::Benchmark* reg(const std::string& name, void (*fn)(benchmark::State&),
                                    std::int64_t n) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), fn)->Arg(n);
  if (n >= 1048576 && big_repetitions > 0) b->Repetitions(big_repetitions);
  return b;
}

template <class S>
constexpr bool has_offsets = requires(S& s) {
  s.offsets;
  s.file();
};

/// The paths of store S at N; `shared`: its bytes can be shared with forked processes.
template <class S>
void register_paths(std::int64_t n, bool shared) {
  const std::string l = S::label;
  reg("find/" + l, bm_find<S>, n);
  reg("find_missing/" + l, bm_find_missing<S>, n);
  reg("create_free/" + l, bm_create_free<S>, n);
  reg("find_or_create/" + l, bm_find_or_create<S>, n);
  // A fixed number of timed calls (fewer where a call is a flush to disk).
  const std::int64_t calls =
      std::string_view(S::label).find("disk") != std::string_view::npos ? 2000 : 200000;
  reg("latency_find/" + l, bm_latency_find<S>, n)->Iterations(calls)->Repetitions(1);
  reg("latency_create_free/" + l, bm_latency_create_free<S>, n)->Iterations(calls)->Repetitions(1);
  reg("free_group/" + l, bm_free_group<S>, n)->UseManualTime();
  reg("iterate/" + l, bm_iterate<S>, n);
  if constexpr (requires(S & s) { s.open_find(std::string()); })
    reg("open_find/" + l, bm_open_find<S>, n);
  if constexpr (has_offsets<S>) {
    if (S::dir() != "") reg("open_find/raw_" + l, bm_open_raw<S>, n);
  }
  if (shared) {
    reg("find_contended_1proc/" + l, bm_find_contended<S, 1>, n)->UseRealTime();
    reg("find_contended_2proc/" + l, bm_find_contended<S, 2>, n)->UseRealTime();
    reg("create_free_2proc/" + l, bm_create_free_2proc<S>, n)->UseRealTime();
  }
}

struct options {
  std::vector<std::int64_t> ns = {16, 1024, 65536, 1048576};
  std::int64_t durable_max = 65536;
};

void register_all(const options& o) {
  for (const std::int64_t n : o.ns) {
    reg("find/harness_only", bm_harness, n);
    register_paths<hr_store<mmap_tmpfs_traits>>(n, true);
    reg("open_find/raw_plus_one_fault", bm_open_raw<hr_store<mmap_tmpfs_traits>, true>, n);
    reg("open_find/raw_same_4_pages", bm_open_raw_pages<hr_store<mmap_tmpfs_traits>, false>, n);
    reg("open_find/raw_same_4_pages+boot_id", bm_open_raw_pages<hr_store<mmap_tmpfs_traits>, true>,
        n);
    reg("memory/hr", bm_memory_hr, n)->Iterations(1)->Repetitions(1);
    if (n <= o.durable_max) {
      if constexpr (disk_durable_traits::available) {
        register_paths<hr_store<disk_durable_traits>>(n, true);
        if (n == o.ns.front())
          benchmark::RegisterBenchmark("create_free/raw_write_fdatasync", bm_raw_write_fdatasync);
      }
      if (const char* e = std::getenv("HR_BENCH_DISK_PLAIN"); e != nullptr && *e == '1')
        register_paths<hr_store<disk_plain_traits>>(n, true);
    }
#ifdef HR_BENCH_SHM
    register_paths<hr_store<shm_traits>>(n, true);
#endif
    register_paths<hr_store<section_traits>>(n, true);
#ifdef HR_BENCH_BOOST
    register_paths<boost_store<boost_mmf_iset_traits>>(n, true);
    reg("memory/boost_mmf_iset", bm_memory_boost<boost_store<boost_mmf_iset_traits>>, n)
        ->Iterations(1)
        ->Repetitions(1);
    register_paths<boost_store<boost_mmf_iuset_traits>>(n, true);
    reg("memory/boost_mmf_iuset", bm_memory_boost<boost_store<boost_mmf_iuset_traits>>, n)
        ->Iterations(1)
        ->Repetitions(1);
    register_paths<boost_store<boost_shm_iset_traits>>(n, false);
    register_paths<boost_store<boost_shm_iuset_traits>>(n, false);
#endif
    register_paths<umap_store>(n, false);
    reg("memory/std_umap", bm_memory_umap, n)->Iterations(1)->Repetitions(1);
    if (n == o.ns.front())
      benchmark::RegisterBenchmark("create_free/malloc+memset", bm_malloc_memset_free);
#ifdef HR_BENCH_PMDK
    const std::string mode = pmdk_mode();
    reg("create_free/pmdk_atomic_" + mode, bm_pmdk_alloc_free, n);
    reg("create_free/pmdk_tx_" + mode, bm_pmdk_tx_alloc_free, n);
#endif
    if (n <= 65536) {
      reg("typed/find_or_construct", bm_typed_find_or_construct, n);
      reg("typed/construct_destroy", bm_typed_construct_destroy, n);
    }
  }
  auto* fl = benchmark::RegisterBenchmark("floor/dependent_read", bm_floor_dependent_read);
  for (const std::int64_t mib : {1, 4, 8, 16, 64, 256}) fl->Arg(mib);
  benchmark::RegisterBenchmark("update/64B/in_place", bm_update_in_place<bench_value>);
  benchmark::RegisterBenchmark("update/64B/atomic_update", bm_update_atomic<bench_value>);
  benchmark::RegisterBenchmark("update/64B/atomic_store", bm_update_store<bench_value>);
  benchmark::RegisterBenchmark("update/64B/new_block_replace",
                               bm_update_new_block_replace<bench_value>);
  benchmark::RegisterBenchmark("update/3968B/in_place", bm_update_in_place<bench_page>);
  benchmark::RegisterBenchmark("update/3968B/atomic_update", bm_update_atomic<bench_page>);
  benchmark::RegisterBenchmark("update/3968B/atomic_store", bm_update_store<bench_page>);
  benchmark::RegisterBenchmark("update/3968B/new_block_replace",
                               bm_update_new_block_replace<bench_page>);
}

std::vector<std::int64_t> parse_list(const char* s) {
  std::vector<std::int64_t> v;
  for (const char* p = s; *p != '\0';) {
    char* end = nullptr;
    const long long x = std::strtoll(p, &end, 10);
    if (end == p || x <= 0 || (x & (x - 1)) != 0) die("--hr_ns", "N must be powers of two");
    v.push_back(x);
    p = *end == ',' ? end + 1 : end;
  }
  return v;
}

// Takes this binary's own flags out of argv (the rest go to Google Benchmark).
options parse_options(int& argc, char** argv) {
  options o;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--hr_ns=", 0) == 0)
      o.ns = parse_list(argv[i] + 8);
    else if (a.rfind("--hr_durable_max=", 0) == 0)
      o.durable_max = std::atoll(argv[i] + 17);
    else if (a.rfind("--hr_big_reps=", 0) == 0)
      big_repetitions = std::atoi(argv[i] + 14);
    else
      argv[out++] = argv[i];
  }
  argc = out;
  return o;
}

}  // namespace
}  // namespace hrbench

int main(int argc, char** argv) {
  const hrbench::options o = hrbench::parse_options(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  hrbench::install_cleanup();
  hrbench::tmpfs_dir();  // the scratch folder outlives every store
  hrbench::register_all(o);
  benchmark::AddCustomContext("hr_ns", [&] {
    std::string s;
    for (auto n : o.ns) s += (s.empty() ? "" : ",") + std::to_string(n);
    return s;
  }());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  hrbench::release_slot();
  return 0;
}
