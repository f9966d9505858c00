// SPDX-License-Identifier: MIT
// PMDK libpmemobj as a peer of create + free: a pool file on /dev/shm holding N one-page
// objects, then alloc + free of one more (the atomic API) and the same inside transactions
// (tx_zalloc published into the root object, then tx_free). libpmem reads PMEM_IS_PMEM_FORCE
// once, when the library is loaded: bench/run.sh runs these rows in two invocations, with
// PMEM_IS_PMEM_FORCE=1 (persist = cache flushes, no msync: as on real persistent memory) and
// =0 (on tmpfs libpmem then calls msync for every persist), and merges the JSON.
#ifndef HOTRESTART_BENCH_PMDK_HPP
#define HOTRESTART_BENCH_PMDK_HPP

#include <libpmemobj.h>

#include <string>

#include "stores.hpp"

namespace hrbench {

/// "force" or "msync": which persistence libpmem uses in this process.
inline const char* pmdk_mode() {
  const char* e = std::getenv("PMEM_IS_PMEM_FORCE");
  return e != nullptr && std::strcmp(e, "1") == 0 ? "force" : "msync";
}

class pmdk_store final : public store_base {
 public:
  static constexpr const char* label = "pmdk";
  static std::uint64_t footprint(std::uint32_t n) {
    return std::uint64_t{n + fresh_names} * (page + 1024) * 11 / 10 + (64u << 20);
  }
  static std::string dir() { return file_place::dir(); }

  std::shared_ptr<const workload> wl;
  file_place where;
  PMEMobjpool* pool = nullptr;
  PMEMoid* slots = nullptr;  // the root object: N + 256 object ids

  explicit pmdk_store(std::shared_ptr<const workload> w)
      : wl(std::move(w)), where("pmdk", wl->n, footprint(wl->n)) {
    pool =
        ::pmemobj_create(where.loc(), "hrbench", static_cast<std::size_t>(footprint(wl->n)), 0600);
    if (pool == nullptr) die("pmemobj_create", ::pmemobj_errormsg());
    PMEMoid root = ::pmemobj_root(pool, sizeof(PMEMoid) * (wl->n + fresh_names));
    if (OID_IS_NULL(root)) die("pmemobj_root", ::pmemobj_errormsg());
    slots = static_cast<PMEMoid*>(::pmemobj_direct(root));
    for (std::uint32_t i = 0; i < wl->n; ++i)
      if (::pmemobj_zalloc(pool, &slots[i], page, 1) != 0)
        die("pmemobj_zalloc", ::pmemobj_errormsg());
  }
  ~pmdk_store() override {
    if (pool != nullptr) ::pmemobj_close(pool);
  }

  /// The atomic API: zalloc into a persistent slot, free it.
  void alloc_free(std::uint32_t k) {
    PMEMoid* slot = &slots[wl->n + k % fresh_names];
    if (::pmemobj_zalloc(pool, slot, page, 2) != 0) die("pmemobj_zalloc", ::pmemobj_errormsg());
    benchmark::DoNotOptimize(::pmemobj_direct(*slot));
    ::pmemobj_free(slot);
  }
  /// Two transactions: allocate and publish in the root; unpublish and free.
  void tx_alloc_free(std::uint32_t k) {
    PMEMoid* slot = &slots[wl->n + k % fresh_names];
    if (::pmemobj_tx_begin(pool, nullptr, TX_PARAM_NONE) != 0)
      die("tx_begin", ::pmemobj_errormsg());
    ::pmemobj_tx_add_range_direct(slot, sizeof *slot);
    *slot = ::pmemobj_tx_zalloc(page, 2);
    ::pmemobj_tx_commit();
    if (::pmemobj_tx_end() != 0 || OID_IS_NULL(*slot)) die("tx alloc", ::pmemobj_errormsg());
    benchmark::DoNotOptimize(::pmemobj_direct(*slot));
    if (::pmemobj_tx_begin(pool, nullptr, TX_PARAM_NONE) != 0)
      die("tx_begin", ::pmemobj_errormsg());
    ::pmemobj_tx_free(*slot);
    ::pmemobj_tx_add_range_direct(slot, sizeof *slot);
    *slot = OID_NULL;
    ::pmemobj_tx_commit();
    if (::pmemobj_tx_end() != 0) die("tx free", ::pmemobj_errormsg());
  }
};

}  // namespace hrbench

#endif  // HOTRESTART_BENCH_PMDK_HPP
