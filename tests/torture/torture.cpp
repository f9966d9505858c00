// SPDX-License-Identifier: MIT
// Kill -9 torture: several worker processes run random create / find / free / free-by-key /
// replace / check on one bank while the parent SIGKILLs them at random instants and restarts
// them. After every kill the parent checks the bank:
//   - the full consistency scan finds nothing (no page or entry lost, no dangling name);
//   - the space is all there: the pages the listed blocks cover and the gaps between them
//     agree with the allocator's own census and largest free extent (a second structure);
//   - every published block holds the bytes its writer put there;
//   - no committed block is lost: every block a worker recorded as published is there with
//     the stamp it recorded, and no block it recorded as freed is back. Only each worker's
//     single operation in flight (the one it announced before making it) may have gone
//     either way, and an interrupted free_all all the way (all of the key's blocks or none).
//
//   hr_torture run PATH [--workers N] [--kills K] [--ops N] [--seed S] [--max-gap-us U]
//                       [--plant-loss] [--expect-failure KIND]
//   hr_torture worker PATH ID SEED OPS     (started by `run`; OPS 0 = until killed)
//
// Publishing protocol of a worker (slot j): fill a scratch block "w<i>.tmp" completely, then
// replace("w<i>.<j>", "w<i>.tmp"). A published name therefore always names complete bytes,
// whatever instant the worker dies at; the scratch block of a dead worker is freed when it
// restarts. Every block carries a stamp (who wrote it, which write) and its size in its first
// 16 bytes, and a byte pattern derived from the stamp on every page.
//
// The record of worker i (in PATH.rec, a file every process maps; it survives SIGKILL like the
// bank): the stamp each of its slots holds (0: no block), the next stamp counter, and the
// operation in flight. A worker announces an operation in its record before making it and
// records the outcome after; the record is double-buffered (a generation word selects the
// complete copy), so a worker killed while writing it leaves the previous copy. The parent
// reads the records while it holds the bank's lock (from inside for_each), so no worker can
// commit a bank operation that its record does not announce.
//
// Failure kinds (the first one found is reported; --expect-failure KIND makes the exit status
// 0 only if the run found that kind, or one of a comma-separated list): corrupt (the consistency scan, or a worker that
// met errc::corrupt), space (the census disagrees with the blocks), content (a block's bytes),
// lost (a recorded block missing or older), stale (a block that should not be there), infra
// (the harness itself could not run).
//
// Negative controls: the build with recovery switched off (hr_torture_norecovery) must find
// `corrupt` or `lost` (an operation cut mid-way and never redone leaves a dangling or missing
// entry, or drops a block a worker had published: which the check meets first depends on
// where the kill landed); --plant-loss makes the parent free one recorded block of a killed worker behind
// its back before the check, which must find `lost`.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>

#include "bank_audit.hpp"

extern char** environ;

using namespace hotrestart;

namespace {

constexpr int names_per_worker = 8;
constexpr int max_workers = 8;
constexpr std::uint32_t page = 4096;
constexpr std::uint64_t stamp_magic = 0x5452544Fu;  // "OTRT"
constexpr const char* sentinel_name = "parent.sentinel";
constexpr std::uint64_t sentinel_stamp = (stamp_magic << 32) | 0xFFFFFFu;

// Exit statuses of a worker, one per failure kind.
enum worker_exit : int {
  exit_ok = 0,
  exit_infra = 2,
  exit_corrupt = 3,
  exit_content = 4,
  exit_lost = 5,
  exit_stale = 6
};

const char* kind_of_exit(int code) {
  switch (code) {
    case exit_corrupt: return "corrupt";
    case exit_content: return "content";
    case exit_lost: return "lost";
    case exit_stale: return "stale";
    default: return "infra";
  }
}

std::uint8_t page_byte(std::uint64_t stamp, std::uint64_t p) {
  return static_cast<std::uint8_t>((stamp * 0x9E3779B97F4A7C15ull + p * 0x3Bu) >> 56);
}

void fill(std::byte* d, std::uint64_t size, std::uint64_t stamp) {
  for (std::uint64_t p = 0; p * page < size; ++p) {
    const std::uint64_t off = p == 0 ? 16 : p * page;
    const std::uint64_t end = (p + 1) * page < size ? (p + 1) * page : size;
    std::memset(d + off, page_byte(stamp, p), static_cast<std::size_t>(end - off));
  }
  const std::uint64_t head[2] = {stamp, size};
  std::memcpy(d, head, sizeof head);
}

std::uint64_t stamp_of(const std::byte* d) {
  std::uint64_t s = 0;
  std::memcpy(&s, d, sizeof s);
  return s;
}

// Empty string when the block holds a complete write; otherwise what is wrong.
std::string verify(const std::byte* d, std::uint64_t size) {
  std::uint64_t head[2];
  if (size < 16) return "block smaller than its header";
  std::memcpy(head, d, sizeof head);
  if ((head[0] >> 32) != stamp_magic) return "stamp missing (block never completely written?)";
  if (head[1] != size) return "recorded size differs from the bank's";
  for (std::uint64_t off = 16; off < size; ++off)
    if (d[off] != static_cast<std::byte>(page_byte(head[0], off / page)))
      return "byte " + std::to_string(off) + " differs from its writer's pattern";
  return {};
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string name_of(int worker, int j) {
  return "w" + std::to_string(worker) + "." + (j < 0 ? std::string("tmp") : std::to_string(j));
}

// "w<i>.<j>" -> i, j (j = -1 for the scratch block); false for any other name.
bool parse_name(std::string_view n, int& w, int& j) {
  if (n.size() < 4 || n[0] != 'w' || n[1] < '0' || n[1] > '9' || n[2] != '.') return false;
  w = n[1] - '0';
  if (n.substr(3) == "tmp") {
    j = -1;
    return true;
  }
  if (n.size() != 4 || n[3] < '0' || n[3] >= '0' + names_per_worker) return false;
  j = n[3] - '0';
  return true;
}

// ---------------------------------------------------------------------------------------
// The workers' records (PATH.rec)

enum op_kind : std::uint64_t { op_none = 0, op_publish = 1, op_free = 2, op_free_all = 3 };

struct record_copy {
  std::uint64_t stamp[names_per_worker];  // 0: no block in that slot
  std::uint64_t counter;                  // last stamp counter used
  std::uint64_t op, slot, op_stamp;       // the operation in flight
};
struct worker_record {
  std::uint64_t gen;  // copy[gen & 1] is the current one
  std::uint64_t pad[7];
  record_copy copy[2];
};
struct record_file {
  worker_record w[max_workers];
};

std::uint64_t ld(const std::uint64_t& x, std::memory_order o = std::memory_order_relaxed) {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(x)).load(o);
}
void st(std::uint64_t& x, std::uint64_t v, std::memory_order o = std::memory_order_relaxed) {
  std::atomic_ref<std::uint64_t>(x).store(v, o);
}

struct record_state {
  std::uint64_t stamp[names_per_worker] = {};
  std::uint64_t counter = 0;
  std::uint64_t op = op_none, slot = 0, op_stamp = 0;
};

// Writes `s` as the record's next copy, then switches to it (one store).
void write_record(worker_record& r, const record_state& s) {
  const std::uint64_t g = ld(r.gen);
  record_copy& c = r.copy[(g + 1) & 1];
  for (int j = 0; j < names_per_worker; ++j) st(c.stamp[j], s.stamp[j]);
  st(c.counter, s.counter);
  st(c.op, s.op);
  st(c.slot, s.slot);
  st(c.op_stamp, s.op_stamp);
  st(r.gen, g + 1, std::memory_order_release);
}

// A consistent copy of the record, even while its worker writes it.
record_state read_record(const worker_record& r) {
  for (;;) {
    const std::uint64_t g = ld(r.gen, std::memory_order_acquire);
    const record_copy& c = r.copy[g & 1];
    record_state s;
    for (int j = 0; j < names_per_worker; ++j) s.stamp[j] = ld(c.stamp[j]);
    s.counter = ld(c.counter);
    s.op = ld(c.op);
    s.slot = ld(c.slot);
    s.op_stamp = ld(c.op_stamp);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (ld(r.gen) == g) return s;
  }
}

// May slot j hold `found` (0: absent), given the record (its in-flight operation either way)?
// Returns null if so, else the failure kind.
const char* judge(const record_state& s, int j, std::uint64_t found) {
  if (found == s.stamp[j]) return nullptr;
  const bool in_flight = s.op == op_free_all || ((s.op == op_publish || s.op == op_free) &&
                                                 s.slot == static_cast<std::uint64_t>(j));
  if (in_flight) {
    if (s.op == op_publish && found == s.op_stamp) return nullptr;
    if (s.op != op_publish && found == 0) return nullptr;
  }
  return s.stamp[j] != 0 ? "lost" : "stale";
}

record_file* map_records(const char* path, bool create) {
  const int fd = ::open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
  if (fd < 0) return nullptr;
  if (create && ::ftruncate(fd, sizeof(record_file)) != 0) {
    ::close(fd);
    return nullptr;
  }
  void* m = ::mmap(nullptr, sizeof(record_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return m == MAP_FAILED ? nullptr : static_cast<record_file*>(m);
}

std::string records_path(const char* bank) {
  return std::string(bank) + ".rec";
}

// ---------------------------------------------------------------------------------------
// Worker

int worker(const char* path, int id, std::uint64_t seed, std::uint64_t ops) {
  auto b = mmap_bank::open(path);
  if (!b) {
    std::fprintf(stderr, "worker %d: open: %s\n", id, describe(b.error()).text);
    return exit_infra;
  }
  record_file* rf = map_records(records_path(path).c_str(), false);
  if (rf == nullptr) {
    std::fprintf(stderr, "worker %d: cannot map the records\n", id);
    return exit_infra;
  }
  worker_record& rec = rf->w[id];
  std::mt19937_64 rng(seed);
  const std::string tmp = name_of(id, -1), key = "k" + std::to_string(id);
  auto bad = [&](const char* what, const error& e) {
    std::fprintf(stderr, "worker %d: %s: %s\n", id, what, describe(e).text);
    return e.code == errc::corrupt ? exit_corrupt : exit_infra;
  };
  auto fault = [&](int code, const std::string& what) {
    std::fprintf(stderr, "worker %d: %s\n", id, what.c_str());
    return code;
  };
  // What the bank holds in slot j (0: nothing), or an error.
  auto held = [&](int j, std::uint64_t& stamp) -> int {
    auto f = b->find(name_of(id, j));
    stamp = 0;
    if (!f) return f.error().code == errc::not_found ? exit_ok : bad("find own", f.error());
    if (auto why = verify(f->data, f->size); !why.empty())
      return fault(exit_content, "block " + name_of(id, j) + ": " + why);
    stamp = stamp_of(f->data);
    return exit_ok;
  };

  // Start from the record: the previous incarnation's operation in flight went one way or
  // the other; the bank says which, and everything else must be as recorded.
  record_state s = read_record(rec);
  for (int j = 0; j < names_per_worker; ++j) {
    std::uint64_t found = 0;
    if (int rc = held(j, found); rc != exit_ok) return rc;
    if (const char* k = judge(s, j, found))
      return fault(std::strcmp(k, "lost") == 0 ? exit_lost : exit_stale,
                   "at start, slot " + std::to_string(j) + " holds " + hex(found) +
                       ", the record says " + hex(s.stamp[j]));
    s.stamp[j] = found;
  }
  s.op = op_none;
  write_record(rec, s);
  if (auto r = b->free(tmp); !r && r.error().code != errc::not_found)
    return bad("free tmp", r.error());

  auto announce = [&](std::uint64_t op, int j, std::uint64_t stamp) {
    s.op = op;
    s.slot = static_cast<std::uint64_t>(j);
    s.op_stamp = stamp;
    write_record(rec, s);
  };
  auto settle = [&] {
    s.op = op_none;
    write_record(rec, s);
  };
  // Frees slot j, which must hold a block exactly when the record says so.
  auto free_slot = [&](int j) -> int {
    announce(op_free, j, 0);
    auto r = b->free(name_of(id, j));
    if (!r && r.error().code != errc::not_found) return bad("free", r.error());
    if (r.has_value() != (s.stamp[j] != 0))
      return fault(r ? exit_stale : exit_lost,
                   "free of " + name_of(id, j) +
                       (r ? " found a block the record says was freed"
                          : " found nothing, the record says it holds " + hex(s.stamp[j])));
    s.stamp[j] = 0;
    settle();
    return exit_ok;
  };

  for (std::uint64_t n = 0; ops == 0 || n < ops; ++n) {
    const int j = static_cast<int>(rng() % names_per_worker);
    const std::string name = name_of(id, j);
    const unsigned op = static_cast<unsigned>(rng() % 100);
    if (op < 35) {  // publish a new version of `name`
      const std::uint64_t size = 16 + rng() % (3 * page);
      auto t = b->find_or_create(tmp, size, key);
      if (!t) {
        const errc c = t.error().code;
        if (c == errc::bank_full || c == errc::block_table_full) {
          if (auto r = b->free(tmp); !r && r.error().code != errc::not_found)
            return bad("free tmp", r.error());
          if (int rc = free_slot(static_cast<int>(rng() % names_per_worker)); rc != exit_ok)
            return rc;
          continue;
        }
        return bad("create tmp", t.error());
      }
      if (!t->created) return fault(exit_stale, "the scratch block existed already");
      const std::uint64_t stamp =
          (stamp_magic << 32) | (static_cast<std::uint64_t>(id) << 24) | (++s.counter & 0xFFFFFFu);
      fill(t->data, t->size, stamp);
      announce(op_publish, j, stamp);
      if (auto r = b->replace(name, tmp); !r) return bad("replace", r.error());
      s.stamp[j] = stamp;
      settle();
    } else if (op < 60) {  // find one of ours: exactly what the record says, every byte
      std::uint64_t found = 0;
      if (int rc = held(j, found); rc != exit_ok) return rc;
      if (found != s.stamp[j])
        return fault(
            s.stamp[j] != 0 ? exit_lost : exit_stale,
            "find " + name + ": holds " + hex(found) + ", the record says " + hex(s.stamp[j]));
    } else if (op < 75) {  // find someone else's (its bytes may be freed under us: no reading)
      auto f = b->find(name_of(static_cast<int>(rng() % max_workers), j));
      if (!f && f.error().code != errc::not_found) return bad("find other", f.error());
    } else if (op < 92) {
      if (int rc = free_slot(j); rc != exit_ok) return rc;
    } else if (op < 96) {
      announce(op_free_all, 0, 0);
      auto r = b->free_all(key);
      if (!r) return bad("free_all", r.error());
      std::uint32_t want = 0;
      for (int k = 0; k < names_per_worker; ++k) want += s.stamp[k] != 0 ? 1u : 0u;
      if (*r != want)
        return fault(*r < want ? exit_lost : exit_stale, "free_all freed " + std::to_string(*r) +
                                                             " blocks, the record holds " +
                                                             std::to_string(want));
      for (auto& x : s.stamp) x = 0;
      settle();
    } else {
      std::string problems;
      auto c = b->check([&](const error& e) { problems += describe(e).text, problems += "\n"; });
      if (!c) return bad("check", c.error());
      if (*c != 0)
        return fault(exit_corrupt, "check found " + std::to_string(*c) + " problems:\n" + problems);
    }
  }
  return exit_ok;
}

// ---------------------------------------------------------------------------------------
// Parent

struct options {
  const char* path = nullptr;
  int workers = 4;
  long kills = 1000;
  std::uint64_t ops = 0;
  std::uint64_t seed = 1;
  long max_gap_us = 3000;
  bool plant_loss = false;
  const char* expect_failure = nullptr;
};

struct damage {
  std::string kind;  // empty: none
  std::string what;
  explicit operator bool() const { return !kind.empty(); }
};

pid_t spawn_worker(const char* self, const options& o, int id, std::uint64_t seed) {
  std::string sid = std::to_string(id), sseed = std::to_string(seed), sops = std::to_string(o.ops);
  char* argv[] = {const_cast<char*>(self),
                  const_cast<char*>("worker"),
                  const_cast<char*>(o.path),
                  sid.data(),
                  sseed.data(),
                  sops.data(),
                  nullptr};
  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, self, nullptr, nullptr, argv, environ); rc != 0) {
    std::fprintf(stderr, "torture: cannot spawn a worker: %s\n", std::strerror(rc));
    std::exit(2);
  }
  return pid;
}

// Checks the whole bank against itself and against the workers' records.
damage check_bank(mmap_bank& b, const record_file& rf, int workers) {
  std::string problems;
  auto c = b.check([&](const error& e) { problems += describe(e).text, problems += "\n"; });
  if (!c)
    return {c.error().code == errc::corrupt ? "corrupt" : "infra",
            std::string("check failed: ") + describe(c.error()).text};
  if (*c != 0) return {"corrupt", "consistency check: " + problems};

  // One pass under the lock (for_each holds it): the blocks, their bytes, the allocator's
  // census and the records, all of the same instant. The parent's sentinel block makes sure
  // the callback runs at least once.
  const bank_layout& l = b.layout();
  std::byte* base = b.backend().data();
  const extent_allocator alloc(base, l.allocator_off, l.total_pages);
  std::vector<hrtest::extent> extents;
  record_state rec[max_workers];
  std::uint64_t found[max_workers][names_per_worker] = {};
  allocator_census census;
  std::uint64_t largest_free = 0;
  bool snapped = false, sentinel = false;
  damage d;
  auto n = b.for_each([&](const block_info& i) {
    if (!snapped) {
      snapped = true;
      for (int w = 0; w < workers; ++w) rec[w] = read_record(rf.w[w]);
      census = alloc.check(ignore_problems{});
      largest_free = std::uint64_t{alloc.largest_free()} * l.page_size;
    }
    extents.push_back({i.offset, i.capacity});
    int w = 0, j = 0;
    const bool ours = parse_name(i.name, w, j) && w < workers;
    if (i.name == sentinel_name) {
      sentinel = stamp_of(base + i.offset) == sentinel_stamp;
    } else if (!ours) {
      if (!d) d = {"stale", "a block nobody made: " + std::string(i.name)};
      return;
    }
    if (j < 0) return;  // a scratch block: being written
    if (auto why = verify(base + i.offset, i.size); !why.empty()) {
      if (!d) d = {"content", "block " + std::string(i.name) + ": " + why};
      return;
    }
    if (ours) found[w][j] = stamp_of(base + i.offset);
  });
  if (!n) return {"infra", std::string("for_each failed: ") + describe(n.error()).text};
  if (d) return d;
  if (!sentinel) return {"lost", "the parent's own block is gone or changed"};
  const hrtest::space_audit a = hrtest::audit_space(extents, l);
  if (a.problem != nullptr) return {"space", a.problem};
  if (census.used_pages * l.page_size != a.used || census.used_extents != a.blocks)
    return {"space", "allocator census: " + std::to_string(census.used_pages) + " pages in " +
                         std::to_string(census.used_extents) + " extents, blocks cover " +
                         std::to_string(a.used / l.page_size) + " pages in " +
                         std::to_string(a.blocks)};
  if ((census.used_pages + census.free_pages) * l.page_size != l.bank_size)
    return {"space", "allocator census does not cover the bank"};
  if (largest_free != a.largest_gap)
    return {"space", "largest free extent " + std::to_string(largest_free) +
                         " bytes, largest gap between blocks " + std::to_string(a.largest_gap)};
  for (int w = 0; w < workers; ++w) {
    // free_all is atomic (all of a key's blocks or none): an interrupted one left all of the
    // worker's blocks or none of them.
    if (rec[w].op == op_free_all) {
      bool all_kept = true, all_gone = true;
      for (int j = 0; j < names_per_worker; ++j) {
        all_kept = all_kept && found[w][j] == rec[w].stamp[j];
        all_gone = all_gone && found[w][j] == 0;
      }
      if (!all_kept && !all_gone)
        return {"lost", "worker " + std::to_string(w) +
                            ": an interrupted free_all freed some of its "
                            "blocks and kept others"};
    }
    for (int j = 0; j < names_per_worker; ++j)
      if (const char* k = judge(rec[w], j, found[w][j]))
        return {k, "worker " + std::to_string(w) + " slot " + std::to_string(j) +
                       ": the bank holds " + hex(found[w][j]) + ", its record says " +
                       hex(rec[w].stamp[j]) + " (in flight: op " + std::to_string(rec[w].op) +
                       " slot " + std::to_string(rec[w].slot) + ")"};
  }
  return {};
}

// --plant-loss: frees, behind the dead worker's back, a block its record says it holds (and
// that its operation in flight does not touch). Returns true if it found one.
bool plant_loss(mmap_bank& b, const record_file& rf, int victim) {
  const record_state s = read_record(rf.w[victim]);
  if (s.op == op_free_all) return false;
  for (int j = 0; j < names_per_worker; ++j) {
    if (s.stamp[j] == 0 || (s.op != op_none && s.slot == static_cast<std::uint64_t>(j))) continue;
    if (!b.free(name_of(victim, j))) continue;
    std::printf("torture: planted a loss: freed %s behind its writer's back\n",
                name_of(victim, j).c_str());
    return true;
  }
  return false;
}

int run(const char* self, const options& o) {
  ::unlink(o.path);
  const std::string rpath = records_path(o.path);
  record_file* rf = map_records(rpath.c_str(), true);
  if (rf == nullptr) {
    std::fprintf(stderr, "torture: cannot create the records file %s\n", rpath.c_str());
    return 2;
  }
  {
    auto b = mmap_bank::create(o.path, {.bank_size = 96 * page, .max_blocks = 64});
    if (!b) {
      std::fprintf(stderr, "torture: create: %s\n", describe(b.error()).text);
      return 2;
    }
    auto s = b->find_or_create(sentinel_name, 100);
    if (!s) return 2;
    fill(s->data, s->size, sentinel_stamp);
  }
  auto b = mmap_bank::open(o.path);
  if (!b) return 2;
  std::mt19937_64 rng(o.seed);
  std::vector<pid_t> pids(static_cast<std::size_t>(o.workers));
  for (int i = 0; i < o.workers; ++i)
    pids[static_cast<std::size_t>(i)] = spawn_worker(self, o, i, rng());
  const auto t0 = std::chrono::steady_clock::now();
  damage dmg;
  long kills = 0, checks = 0, restarts = 0;
  bool planted = false;
  auto worker_exit = [&](int status, int id) -> damage {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return {};
    const char* kind = WIFEXITED(status) ? kind_of_exit(WEXITSTATUS(status)) : "infra";
    return {kind, "worker " + std::to_string(id) + " failed (status " + std::to_string(status) +
                      "; its message is above)"};
  };
  if (o.kills == 0) {
    for (int i = 0; i < o.workers; ++i) {
      int status = 0;
      ::waitpid(pids[static_cast<std::size_t>(i)], &status, 0);
      if (auto w = worker_exit(status, i); w && !dmg) dmg = w;
    }
    if (!dmg) dmg = check_bank(*b, *rf, o.workers);
    ++checks;
  }
  while (kills < o.kills && !dmg) {
    const long gap = static_cast<long>(rng() % static_cast<std::uint64_t>(o.max_gap_us + 1));
    timespec ts{gap / 1000000, (gap % 1000000) * 1000};
    ::nanosleep(&ts, nullptr);
    // A worker that stopped by itself found damage (or could not go on).
    for (int i = 0; i < o.workers && !dmg; ++i) {
      int status = 0;
      if (::waitpid(pids[static_cast<std::size_t>(i)], &status, WNOHANG) ==
          pids[static_cast<std::size_t>(i)]) {
        dmg = worker_exit(status, i);
        if (!dmg) dmg = {"infra", "worker " + std::to_string(i) + " exited early"};
      }
    }
    if (dmg) break;
    const auto victim = static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(o.workers));
    ::kill(pids[victim], SIGKILL);
    int status = 0;
    ::waitpid(pids[victim], &status, 0);
    ++kills;
    if (dmg = worker_exit(status, static_cast<int>(victim)); dmg) break;
    if (o.plant_loss && !planted) planted = plant_loss(*b, *rf, static_cast<int>(victim));
    dmg = check_bank(*b, *rf, o.workers);
    ++checks;
    if (dmg) break;
    pids[victim] = spawn_worker(self, o, static_cast<int>(victim), rng());
    ++restarts;
    if (kills % 1000 == 0) {
      std::printf("torture: %ld kills, bank consistent, no block lost\n", kills);
      std::fflush(stdout);
    }
  }
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (pid_t p : pids) ::waitpid(p, nullptr, 0);
  if (!dmg) dmg = check_bank(*b, *rf, o.workers);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("torture: %d workers, %ld kills, %ld restarts, %ld checks in %.1f s: %s\n", o.workers,
              kills, restarts, checks, secs, dmg ? "DAMAGE" : "no damage");
  if (dmg) std::printf("torture: damage [%s]: %s\n", dmg.kind.c_str(), dmg.what.c_str());
  ::munmap(rf, sizeof(record_file));
  ::unlink(o.path);
  ::unlink(rpath.c_str());
  if (o.expect_failure != nullptr) {
    // KIND may list several, comma-separated: the damage a missing recovery leaves shows as the
    // first of them that the check meets.
    const std::string kinds = std::string(",") + o.expect_failure + ",";
    if (dmg && kinds.find("," + dmg.kind + ",") != std::string::npos) {
      std::printf("negative control: %s detected, as it must be\n", dmg.kind.c_str());
      return 0;
    }
    std::printf("negative control: %s NOT detected (%s)\n", o.expect_failure,
                dmg ? ("found " + dmg.kind + " instead").c_str() : "the harness is blind");
    return 1;
  }
  return dmg ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::strcmp(argv[1], "worker") == 0) {
    const int id = std::atoi(argv[3]);
    if (id < 0 || id >= max_workers) return 64;
    return worker(argv[2], id, std::strtoull(argv[4], nullptr, 10),
                  std::strtoull(argv[5], nullptr, 10));
  }
  if (argc >= 3 && std::strcmp(argv[1], "run") == 0) {
    options o;
    o.path = argv[2];
    for (int i = 3; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
      if (a == "--workers")
        o.workers = std::atoi(next());
      else if (a == "--kills")
        o.kills = std::atol(next());
      else if (a == "--ops")
        o.ops = std::strtoull(next(), nullptr, 10);
      else if (a == "--seed")
        o.seed = std::strtoull(next(), nullptr, 10);
      else if (a == "--max-gap-us")
        o.max_gap_us = std::atol(next());
      else if (a == "--plant-loss")
        o.plant_loss = true;
      else if (a == "--expect-failure")
        o.expect_failure = next();
      else {
        std::fprintf(stderr, "torture: unknown option %s\n", a.c_str());
        return 64;
      }
    }
    if (o.workers < 1 || o.workers > max_workers) return 64;
    return run(argv[0], o);
  }
  std::fprintf(stderr,
               "usage: hr_torture run PATH [--workers N] [--kills K] [--ops N] [--seed S] "
               "[--max-gap-us U] [--plant-loss] [--expect-failure KIND]\n");
  return 64;
}
