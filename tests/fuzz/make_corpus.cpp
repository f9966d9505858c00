// SPDX-License-Identifier: MIT
// Writes the fuzzer's seed corpus: real banks (small pages so that they are a few KiB) in the
// states a bank is found in: fresh, with blocks, after frees, and frozen at every metadata
// store of a create, a free, a replace and a free_all (what a crash leaves for recovery); and a
// few damaged or foreign ones that must be refused with a given error; and banks of format
// version 2 (re-encoded from these: as_version2), which open converts. It also writes the
// manifest the replay checks (which seed must open, which must be refused with what).
//   hr_fuzz_make_corpus DIR MANIFEST
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

static long g_points = 0, g_snap_at = -1;
static bool g_snapped = false;
alignas(64) static std::byte g_mem[1u << 16];
alignas(64) static std::byte g_snap[1u << 16];

void gen_crash_point() {
  if (++g_points == g_snap_at) {
    std::memcpy(g_snap, g_mem, sizeof g_mem);
    g_snapped = true;
  }
}

#include <hotrestart/bank.hpp>

using gen_bank = hotrestart::basic_bank<hotrestart::span_backend>;

namespace {

std::string g_dir;
std::FILE* g_manifest = nullptr;
int g_files = 0;
std::uint64_t g_bytes = 0;

// Writes a seed and its manifest line ("open", or "refuse ERRC").
void write(const std::string& name, const std::byte* mem, const char* expect = "open",
           std::uint64_t bytes = 0) {
  const std::string path = g_dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(mem, 1, bytes != 0 ? bytes : g_bytes, f);
  std::fclose(f);
  std::fprintf(g_manifest, "%s %s\n", name.c_str(), expect);
  ++g_files;
}

// A copy of the bank in g_mem with one 32-bit word changed.
const std::byte* poked(std::uint64_t off, std::uint32_t v) {
  std::memcpy(g_snap, g_mem, sizeof g_mem);
  std::memcpy(g_snap + off, &v, sizeof v);
  return g_snap;
}

gen_bank fresh(std::uint32_t max_blocks) {
  std::memset(g_mem, 0, sizeof g_mem);
  auto b = gen_bank::create(std::span<std::byte>(g_mem, sizeof g_mem),
                            {.bank_size = 24 * 64, .max_blocks = max_blocks, .page_size = 64});
  g_bytes = b->layout().file_bytes;
  return std::move(*b);
}

void populate(gen_bank& b) {
  (void)b.find_or_create("alpha", 100, "K");
  (void)b.find_or_create("beta", 64);
  (void)b.find_or_create("gamma", 200, "K");
  (void)b.find_or_create("delta", 1);
}

// The bank in g_mem as format version 2 wrote it, into g_snap: the same header and entries,
// but the index's bytes hold version 2's bucket heads (chained through the entries' `next`),
// with its own version, fingerprint and checksum. Seeds for the conversion at open.
const std::byte* as_version2(const gen_bank& b) {
  namespace bf = hotrestart::bank_format;
  namespace d = hotrestart::detail;
  using reg = hotrestart::hash_registry;
  std::memcpy(g_snap, g_mem, sizeof g_mem);
  const hotrestart::bank_layout& l = b.layout();
  const std::uint32_t buckets = reg::index_words(l.max_blocks);
  const std::uint64_t region = l.registry_off;
  const std::uint64_t entries = region + reg::entries_offset(l.max_blocks);
  d::store32(g_snap, region + 4, buckets - 1);
  for (std::uint32_t i = 0; i < buckets; ++i) d::store32(g_snap, region + 64 + 4ull * i, d::nil);
  for (std::uint32_t i = 0; i < l.max_blocks; ++i) {
    const std::uint64_t e = entries + reg::entry_bytes * i;
    if ((d::load32(g_snap, e + 24) & (1u << 16)) == 0) continue;
    const std::uint64_t head = region + 64 + 4ull * (d::load32(g_snap, e) & (buckets - 1));
    d::store32(g_snap, e + 4, d::load32(g_snap, head));
    d::store32(g_snap, head, i);
  }
  const std::uint64_t fp = d::layout_fingerprint(hotrestart::extent_allocator::layout_id,
                                                 reg::previous_layout_id, bf::previous_version);
  d::store32(g_snap, bf::layout_version, bf::previous_version);
  d::store32(g_snap, bf::fingerprint_lo, d::lo32(fp));
  d::store32(g_snap, bf::fingerprint_hi, d::hi32(fp));
  d::store32(g_snap, bf::immutable_checksum, d::immutable_checksum(g_snap));
  return g_snap;
}

// Runs `op` on a populated bank once per crash point, saving the bank as the crash left it.
template <class Op>
void frozen(const char* label, Op op) {
  for (long k = 1;; ++k) {
    auto b = fresh(6);
    populate(b);
    g_points = 0;
    g_snap_at = k;
    g_snapped = false;
    op(b);
    g_snap_at = -1;
    if (!g_snapped) break;
    if (k % 3 != 1) continue;  // every third point: the corpus stays small, mutations do the rest
    write(std::string(label) + "-" + std::to_string(k), g_snap);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 64;
  g_dir = argv[1];
  g_manifest = std::fopen(argv[2], "w");
  if (g_manifest == nullptr) return 2;
  std::fprintf(g_manifest, "# seed  expectation (written by hr_fuzz_make_corpus)\n");
  {
    auto b = fresh(6);
    write("fresh", g_mem);
    namespace bank_format = hotrestart::bank_format;
    write("refused-truncated", g_mem, "refuse truncated", g_bytes - 64);
    write("refused-header-only", g_mem, "refuse truncated", bank_format::header_size);
    write("refused-magic", poked(bank_format::magic0, 0x464C4521u), "refuse not_a_bank");
    write("refused-version", poked(bank_format::layout_version, bank_format::version + 1),
          "refuse version_mismatch");
    write("refused-fingerprint", poked(bank_format::fingerprint_hi, 0), "refuse layout_mismatch");
    write(
        "refused-initialising",
        poked(bank_format::state, static_cast<std::uint32_t>(hotrestart::bank_state::initialising)),
        "refuse creation_interrupted");
    write("refused-checksum", poked(bank_format::max_blocks, 7), "refuse corrupt");
    write("refused-intent-state", poked(bank_format::journal_state, 0x12345678u), "refuse corrupt");
    write("refused-version-old",
          poked(bank_format::layout_version, bank_format::previous_version - 1),
          "refuse version_mismatch");
    populate(b);
    write("populated", g_mem);
    write("v2-populated", as_version2(b));
    // A conversion cut after its state word and the version word: converted again at open.
    as_version2(b);
    hotrestart::detail::store32(g_snap, bank_format::convert_state, bank_format::convert_active);
    hotrestart::detail::store32(g_snap, bank_format::layout_version, bank_format::version);
    write("v2-conversion-cut", g_snap);
    (void)b.free("beta");
    write("after-free", g_mem);
    write("v2-after-free", as_version2(b));
    (void)b.replace("gamma", "alpha");
    write("after-replace", g_mem);
  }
  {
    auto b = fresh(1);
    (void)b.find_or_create("only", 24 * 64);
    write("full-one-block", g_mem);
  }
  frozen("crash-create", [](gen_bank& b) { (void)b.find_or_create("epsilon", 300, "K"); });
  frozen("crash-free", [](gen_bank& b) { (void)b.free("beta"); });
  frozen("crash-replace", [](gen_bank& b) { (void)b.replace("alpha", "gamma"); });
  frozen("crash-free-all", [](gen_bank& b) { (void)b.free_all("K"); });
  std::fclose(g_manifest);
  std::printf("wrote %d seed banks of %llu bytes\n", g_files,
              static_cast<unsigned long long>(g_bytes));
  return 0;
}
