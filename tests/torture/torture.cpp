// SPDX-License-Identifier: MIT
// Kill -9 torture: several worker processes run random create / find / free / free-by-key /
// replace / check on one bank while the parent SIGKILLs them at random instants and restarts
// them. After every kill the parent checks the bank: the full consistency scan finds nothing
// (no page or entry lost, no dangling name, counts right), and every published block still
// holds the bytes its writer put there.
//
//   hr_torture run PATH [--workers N] [--kills K] [--ops N] [--seed S] [--max-gap-us U]
//                       [--expect-failure]
//   hr_torture worker PATH ID SEED OPS     (started by `run`; OPS 0 = until killed)
//
// Publishing protocol of a worker (slot i): fill a scratch block "w<i>.tmp" completely, then
// replace("w<i>.<j>", "w<i>.tmp"). A published name therefore always names complete bytes,
// whatever instant the worker dies at; the scratch block of a dead worker is freed when it
// restarts. Every block carries a stamp (who wrote it, which write) and its size in its first
// 16 bytes, and a byte pattern derived from the stamp on every page.
//
// With --kills 0 the workers run OPS operations each and exit: many processes, one bank, no
// kills. With --expect-failure (the negative control, a build whose recovery is switched off)
// the exit status is 0 only if the run detected damage.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

extern char** environ;

using namespace hotrestart;

namespace {

constexpr int names_per_worker = 8;
constexpr std::uint32_t page = 4096;
constexpr std::uint64_t stamp_magic = 0x5452544Fu;  // "OTRT"

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

std::string name_of(int worker, int j) {
  return "w" + std::to_string(worker) + "." + (j < 0 ? std::string("tmp") : std::to_string(j));
}

// ---------------------------------------------------------------------------------------
// Worker

int worker(const char* path, int id, std::uint64_t seed, std::uint64_t ops) {
  auto b = mmap_bank::open(path);
  if (!b) {
    std::fprintf(stderr, "worker %d: open: %s\n", id, describe(b.error()).text);
    return 2;
  }
  std::mt19937_64 rng(seed);
  const std::string tmp = name_of(id, -1), key = "k" + std::to_string(id);
  auto bad = [&](const char* what, const error& e) {
    std::fprintf(stderr, "worker %d: %s: %s\n", id, what, describe(e).text);
    return 3;
  };
  if (auto r = b->free(tmp); !r && r.error().code != errc::not_found) return bad("free tmp", r.error());
  std::uint64_t counter = seed & 0xFFFFF000u;
  for (std::uint64_t n = 0; ops == 0 || n < ops; ++n) {
    const int j = static_cast<int>(rng() % names_per_worker);
    const std::string name = name_of(id, j);
    const unsigned op = static_cast<unsigned>(rng() % 100);
    if (op < 35) {  // publish a new version of `name`
      const std::uint64_t size = 16 + rng() % (3 * page);
      auto t = b->find_or_create(tmp, size, key);
      if (!t) {
        const errc c = t.error().code;
        if (c == errc::bank_full || c == errc::block_table_full || c == errc::size_exceeds_block) {
          (void)b->free(tmp);
          (void)b->free(name_of(id, static_cast<int>(rng() % names_per_worker)));
          continue;
        }
        return bad("create tmp", t.error());
      }
      const std::uint64_t stamp = (stamp_magic << 32) | (static_cast<std::uint64_t>(id) << 24) |
                                  (++counter & 0xFFFFFFu);
      fill(t->data, t->size, stamp);
      if (auto r = b->replace(name, tmp); !r) return bad("replace", r.error());
    } else if (op < 60) {  // find one of ours and check every byte
      auto f = b->find(name);
      if (!f) {
        if (f.error().code != errc::not_found) return bad("find own", f.error());
        continue;
      }
      if (auto why = verify(f->data, f->size); !why.empty()) {
        std::fprintf(stderr, "worker %d: block %s: %s\n", id, name.c_str(), why.c_str());
        return 3;
      }
    } else if (op < 75) {  // find someone else's (its bytes may be freed under us: no reading)
      auto f = b->find(name_of(static_cast<int>(rng() % 8), j));
      if (!f && f.error().code != errc::not_found) return bad("find other", f.error());
    } else if (op < 92) {
      if (auto r = b->free(name); !r && r.error().code != errc::not_found)
        return bad("free", r.error());
    } else if (op < 96) {
      if (auto r = b->free_all(key); !r) return bad("free_all", r.error());
    } else {
      std::string problems;
      auto c = b->check([&](const error& e) { problems += describe(e).text, problems += "\n"; });
      if (!c) return bad("check", c.error());
      if (*c != 0) {
        std::fprintf(stderr, "worker %d: check found %u problems:\n%s", id, *c, problems.c_str());
        return 3;
      }
    }
  }
  return 0;
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
  bool expect_failure = false;
};

pid_t spawn_worker(const char* self, const options& o, int id, std::uint64_t seed) {
  std::string sid = std::to_string(id), sseed = std::to_string(seed), sops = std::to_string(o.ops);
  char* argv[] = {const_cast<char*>(self), const_cast<char*>("worker"), const_cast<char*>(o.path),
                  sid.data(), sseed.data(), sops.data(), nullptr};
  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, self, nullptr, nullptr, argv, environ); rc != 0) {
    std::fprintf(stderr, "torture: cannot spawn a worker: %s\n", std::strerror(rc));
    std::exit(2);
  }
  return pid;
}

// Checks the bank; returns a description of the first damage found, or empty.
std::string check_bank(mmap_bank& b) {
  std::string problems;
  auto c = b.check([&](const error& e) { problems += describe(e).text, problems += "\n"; });
  if (!c) return std::string("check failed: ") + describe(c.error()).text;
  if (*c != 0) return "consistency check: " + problems;
  auto st = b.stats();
  if (!st) return std::string("stats failed: ") + describe(st.error()).text;
  if (st->used + st->free != st->bank_size) return "space lost: used + free != bank size";
  // Every published block holds its writer's bytes. for_each holds the lock, so no block is
  // freed (and its pages reused) while we read; published blocks are never written again.
  std::string bad;
  std::byte* base = b.backend().data();
  auto n = b.for_each([&](const block_info& i) {
    if (!bad.empty() || i.name.ends_with(".tmp")) return;
    if (auto why = verify(base + i.offset, i.size); !why.empty())
      bad = "block " + std::string(i.name) + ": " + why;
  });
  if (!n) return std::string("for_each failed: ") + describe(n.error()).text;
  return bad;
}

int run(const char* self, const options& o) {
  ::unlink(o.path);
  {
    auto b = mmap_bank::create(o.path, {.bank_size = 96 * page, .max_blocks = 64});
    if (!b) {
      std::fprintf(stderr, "torture: create: %s\n", describe(b.error()).text);
      return 2;
    }
  }
  auto b = mmap_bank::open(o.path);
  if (!b) return 2;
  std::mt19937_64 rng(o.seed);
  std::vector<pid_t> pids(static_cast<std::size_t>(o.workers));
  for (int i = 0; i < o.workers; ++i) pids[static_cast<std::size_t>(i)] = spawn_worker(self, o, i, rng());
  const auto t0 = std::chrono::steady_clock::now();
  std::string damage;
  long kills = 0, checks = 0, restarts = 0;
  auto worker_exit = [&](int status, int id) -> std::string {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return {};
    return "worker " + std::to_string(id) + " failed (status " + std::to_string(status) + ")";
  };
  if (o.kills == 0) {
    for (int i = 0; i < o.workers; ++i) {
      int status = 0;
      ::waitpid(pids[static_cast<std::size_t>(i)], &status, 0);
      if (auto w = worker_exit(status, i); !w.empty() && damage.empty()) damage = w;
    }
    if (damage.empty()) damage = check_bank(*b);
    ++checks;
  }
  while (kills < o.kills && damage.empty()) {
    const long gap = static_cast<long>(rng() % static_cast<std::uint64_t>(o.max_gap_us + 1));
    timespec ts{gap / 1000000, (gap % 1000000) * 1000};
    ::nanosleep(&ts, nullptr);
    // A worker that stopped by itself found damage (it exits 3) or could not go on.
    for (int i = 0; i < o.workers && damage.empty(); ++i) {
      int status = 0;
      if (::waitpid(pids[static_cast<std::size_t>(i)], &status, WNOHANG) ==
          pids[static_cast<std::size_t>(i)]) {
        damage = worker_exit(status, i);
        if (damage.empty()) damage = "worker " + std::to_string(i) + " exited early";
      }
    }
    if (!damage.empty()) break;
    const auto victim = static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(o.workers));
    ::kill(pids[victim], SIGKILL);
    int status = 0;
    ::waitpid(pids[victim], &status, 0);
    ++kills;
    if (auto w = worker_exit(status, static_cast<int>(victim)); !w.empty()) {
      damage = w;
      break;
    }
    damage = check_bank(*b);
    ++checks;
    if (!damage.empty()) break;
    pids[victim] = spawn_worker(self, o, static_cast<int>(victim), rng());
    ++restarts;
    if (kills % 1000 == 0) {
      std::printf("torture: %ld kills, bank consistent\n", kills);
      std::fflush(stdout);
    }
  }
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (pid_t p : pids) ::waitpid(p, nullptr, 0);
  if (damage.empty()) damage = check_bank(*b);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("torture: %d workers, %ld kills, %ld restarts, %ld checks in %.1f s: %s\n",
              o.workers, kills, restarts, checks, secs, damage.empty() ? "no damage" : "DAMAGE");
  if (!damage.empty()) std::printf("torture: %s\n", damage.c_str());
  ::unlink(o.path);
  if (o.expect_failure) {
    std::printf(damage.empty() ? "negative control: NOT detected (the harness is blind)\n"
                               : "negative control: damage detected, as it must be\n");
    return damage.empty() ? 1 : 0;
  }
  return damage.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::strcmp(argv[1], "worker") == 0)
    return worker(argv[2], std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10),
                  std::strtoull(argv[5], nullptr, 10));
  if (argc >= 3 && std::strcmp(argv[1], "run") == 0) {
    options o;
    o.path = argv[2];
    for (int i = 3; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
      if (a == "--workers") o.workers = std::atoi(next());
      else if (a == "--kills") o.kills = std::atol(next());
      else if (a == "--ops") o.ops = std::strtoull(next(), nullptr, 10);
      else if (a == "--seed") o.seed = std::strtoull(next(), nullptr, 10);
      else if (a == "--max-gap-us") o.max_gap_us = std::atol(next());
      else if (a == "--expect-failure") o.expect_failure = true;
      else {
        std::fprintf(stderr, "torture: unknown option %s\n", a.c_str());
        return 64;
      }
    }
    if (o.workers < 1 || o.workers > 8) return 64;
    return run(argv[0], o);
  }
  std::fprintf(stderr,
               "usage: hr_torture run PATH [--workers N] [--kills K] [--ops N] [--seed S] "
               "[--max-gap-us U] [--expect-failure]\n");
  return 64;
}
