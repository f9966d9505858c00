// SPDX-License-Identifier: MIT
// No trust: foreign, truncated, older, corrupt banks and bad paths are refused with an
// error that names what is wrong; damage found later is reported, never followed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// The store hook (HOTRESTART_STORE_HOOK, set by CMake for this program) lets a forked child die
// at the first store the library makes into a new bank, i.e. in the middle of create().
static bool g_die_at_first_store = false;
bool hr_validation_store_hook(std::uint32_t*, std::uint32_t) {
  if (g_die_at_first_store) ::raise(SIGKILL);
  return false;
}

#include <hotrestart/backends/mmap_file.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

// Writes a 32-bit word into a bank file at `off`.
void poke(const std::string& path, std::uint64_t off, std::uint32_t v) {
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, &v, 4, static_cast<off_t>(off)) == 4);
  ::close(fd);
}
std::uint32_t peek(const std::string& path, std::uint64_t off) {
  std::uint32_t v = 0;
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pread(fd, &v, 4, static_cast<off_t>(off)) == 4);
  ::close(fd);
  return v;
}

struct bank_file {
  hrtest::scratch_dir dir;
  std::string path = dir.file("v.bank");
  bank_layout layout;
  bank_file() {
    auto b = mmap_bank::create(path.c_str());
    REQUIRE(b);
    REQUIRE(b->find_or_create("kept", 100, "K"));
    layout = b->layout();
  }
};

}  // namespace

TEST_CASE("a file that is not a bank is refused") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("text.bank");
  {
    std::ofstream f(path);
    f << std::string(8192, 'x');
  }
  auto b = mmap_bank::open(path.c_str());
  HR_CHECK_ERR(b, errc::not_a_bank);
  CHECK(b.error().kinds[0] == detail_kind::expected_found_hex);
  CHECK(b.error().details[0].a == bank_format::magic0_value);
  CHECK(b.error().details[0].b == 0x78787878u);
  // open_or_create never formats over a foreign file.
  HR_CHECK_ERR(mmap_bank::open_or_create(path.c_str()), errc::not_a_bank);
  CHECK(std::filesystem::file_size(path) == 8192);
  std::ofstream(dir.file("tiny.bank")) << "HHRB";
  HR_CHECK_ERR(mmap_bank::open(dir.file("tiny.bank").c_str()), errc::truncated);
  std::ofstream(dir.file("empty.bank"));
  HR_CHECK_ERR(mmap_bank::open(dir.file("empty.bank").c_str()), errc::truncated);
}

TEST_CASE("a truncated bank is refused with the sizes") {
  bank_file f;
  std::filesystem::resize_file(f.path, f.layout.file_bytes / 2);
  auto b = mmap_bank::open(f.path.c_str());
  HR_CHECK_ERR(b, errc::truncated);
  CHECK(b.error().details[0].a == f.layout.file_bytes);
  CHECK(b.error().details[0].b == f.layout.file_bytes / 2);
}

TEST_CASE("another version, another layout, a broken header") {
  bank_file f;
  SUBCASE("format version") {
    poke(f.path, bank_format::layout_version, bank_format::version + 1);
    auto b = mmap_bank::open(f.path.c_str());
    HR_CHECK_ERR(b, errc::version_mismatch);
    CHECK(b.error().details[0].a == bank_format::version);
    CHECK(b.error().details[0].b == bank_format::version + 1);
  }
  SUBCASE("layout fingerprint (a build with other policies or limits)") {
    poke(f.path, bank_format::fingerprint_lo, peek(f.path, bank_format::fingerprint_lo) ^ 1u);
    HR_CHECK_ERR(mmap_bank::open(f.path.c_str()), errc::layout_mismatch);
  }
  SUBCASE("a tunable changed behind the checksum's back") {
    poke(f.path, bank_format::max_blocks, 31);
    auto b = mmap_bank::open(f.path.c_str());
    HR_CHECK_ERR(b, errc::corrupt);
    CHECK(std::string(b.error().message).find("checksum") != std::string::npos);
  }
  SUBCASE("creation never finished") {
    poke(f.path, bank_format::state, static_cast<std::uint32_t>(bank_state::initialising));
    HR_CHECK_ERR(mmap_bank::open(f.path.c_str()), errc::creation_interrupted);
  }
  SUBCASE("state word garbage") {
    poke(f.path, bank_format::state, 12345);
    HR_CHECK_ERR(mmap_bank::open(f.path.c_str()), errc::corrupt);
  }
  SUBCASE("an intent record that points outside the tables") {
    poke(f.path, bank_format::journal_entries, static_cast<std::uint32_t>(f.layout.data_off + 64));
    poke(f.path, bank_format::journal_entries + 4, 0);
    poke(f.path, bank_format::journal_count, 1);
    poke(f.path, bank_format::journal_state,
         static_cast<std::uint32_t>(detail::journal_state::committed));
    auto b = mmap_bank::open(f.path.c_str());
    HR_CHECK_ERR(b, errc::corrupt);
    CHECK(std::string(b.error().message).find("intent record") != std::string::npos);
  }
  SUBCASE("an intent record with an impossible count") {
    poke(f.path, bank_format::journal_count, 1000);
    poke(f.path, bank_format::journal_state,
         static_cast<std::uint32_t>(detail::journal_state::committed));
    HR_CHECK_ERR(mmap_bank::open(f.path.c_str()), errc::corrupt);
  }
  SUBCASE("an intent record in an unknown state") {
    poke(f.path, bank_format::journal_state, 7);
    HR_CHECK_ERR(mmap_bank::open(f.path.c_str()), errc::corrupt);
  }
}

TEST_CASE("damaged tables are reported by operations and by check, never followed") {
  bank_file f;
  const std::uint64_t buckets = f.layout.registry_off + 64;
  const std::uint64_t entries =
      f.layout.registry_off + hash_registry::entries_offset(f.layout.max_blocks);
  SUBCASE("every index slot names an entry outside the table") {
    // With the tag of "kept", so that its lookup meets one; every group full and overflowed.
    const std::uint32_t bad = hash_registry::hash("kept") | 31u;  // 30 blocks: entry 30, 5 bits
    for (std::uint32_t i = 0; i < hash_registry::index_words(f.layout.max_blocks); ++i)
      poke(f.path, buckets + 4 * i, bad);
    auto b = mmap_bank::open(f.path.c_str());  // open is O(1): it does not scan
    REQUIRE(b);
    HR_CHECK_ERR(b->find("kept"), errc::corrupt);
    HR_CHECK_ERR(b->find_or_create("new", 1), errc::corrupt);
    int problems = 0;
    auto n = b->check([&](const error&) { ++problems; });
    REQUIRE(n);
    CHECK(*n > 0);
    CHECK(problems == static_cast<int>(*n));
  }
  SUBCASE("an entry's extent lies outside the bank") {
    poke(f.path, entries + 8, 0x7FFFFFF0u);  // first page of entry 0 ("kept")
    auto b = mmap_bank::open(f.path.c_str());
    REQUIRE(b);
    HR_CHECK_ERR(b->find("kept"), errc::corrupt);
    HR_CHECK_ERR(b->free("kept"), errc::corrupt);
    auto n = b->check([](const error&) {});
    REQUIRE(n);
    CHECK(*n > 0);
  }
  SUBCASE("an entry's size is larger than its extent") {
    poke(f.path, entries + 20, 1);  // high word of entry 0's ("kept") size: 4 GiB more
    auto b = mmap_bank::open(f.path.c_str());
    REQUIRE(b);
    HR_CHECK_ERR(b->find("kept"), errc::corrupt);  // never a block whose size overruns it
    HR_CHECK_ERR(b->find_or_create("kept", 1), errc::corrupt);
    std::uint32_t visited = 0;
    auto listed = b->for_each([&](const block_info&) { ++visited; });
    HR_REQUIRE_OK(listed);
    CHECK(*listed == 0);  // skipped, not handed out with a length past the bank
    CHECK(visited == 0);
    auto n = b->check([](const error&) {});
    REQUIRE(n);
    CHECK(*n > 0);
  }
  SUBCASE("the allocator's tags are garbage") {
    const std::uint64_t recs = f.layout.allocator_off + 192;
    poke(f.path, recs, 0x12345);  // first page's tag
    auto b = mmap_bank::open(f.path.c_str());
    REQUIRE(b);
    HR_CHECK_ERR(b->free("kept"), errc::corrupt);
    HR_REQUIRE_OK(b->find("kept"));  // the name is still there: nothing was half-done
    auto n = b->check([](const error&) {});
    REQUIRE(n);
    CHECK(*n > 0);
  }
  // free_all meets a block whose tags are damaged: the others are freed, the damaged one is
  // left for check to report, and the bank stays usable (no record that every open retries).
  auto damaged_sweep = [&](bool cut_by_a_crash) {
    std::uint64_t kept_page = 0;
    {
      auto b = mmap_bank::open(f.path.c_str());
      REQUIRE(b);
      HR_REQUIRE_OK(b->find_or_create("spacer", 100));  // so that k2 is not kept's neighbour
      HR_REQUIRE_OK(b->find_or_create("k2", 100, "K"));
      HR_REQUIRE_OK(b->find_or_create("k3", 100, "K"));
      HR_REQUIRE_OK(b->for_each([&](const block_info& i) {
        if (i.name == "kept") kept_page = (i.offset - f.layout.data_off) / f.layout.page_size;
      }));
    }
    // "kept"'s first page's tag (the allocator's page records: 12 bytes each, after 192).
    poke(f.path, f.layout.allocator_off + 192 + 12 * kept_page, 0x12345);
    if (cut_by_a_crash) {
      // The free_all record as a writer killed right after setting it leaves it: key "K".
      poke(f.path, bank_format::sweep_key, 'K');
      poke(f.path, bank_format::sweep_key_len, 1);
      poke(f.path, bank_format::sweep_state, 0x50455753u);
    }
    auto b = mmap_bank::open(f.path.c_str());  // a crashed sweep is rolled forward here
    HR_REQUIRE_OK(b);
    if (!cut_by_a_crash) HR_CHECK_ERR(b->free_all("K"), errc::corrupt);
    HR_CHECK_ERR(b->find("k2"), errc::not_found);
    HR_CHECK_ERR(b->find("k3"), errc::not_found);
    HR_REQUIRE_OK(b->find("kept"));
    HR_REQUIRE_OK(b->find_or_create("later", 100));
    HR_REQUIRE_OK(mmap_bank::open(f.path.c_str()));
    auto n = b->check([](const error&) {});
    REQUIRE(n);
    CHECK(*n > 0);
  };
  SUBCASE("free_all meets a block with damaged tags") {
    damaged_sweep(false);
  }
  SUBCASE("a free_all cut by a crash meets a block with damaged tags at open") {
    damaged_sweep(true);
  }
}

TEST_CASE("paths: symlinks, directories, fifos, existing files, permissions") {
  hrtest::scratch_dir dir;
  const std::string real = dir.file("real.bank");
  REQUIRE(mmap_bank::create(real.c_str()));
  struct stat st;
  REQUIRE(::stat(real.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  HR_CHECK_ERR(mmap_bank::create(real.c_str()), errc::already_exists);
  const std::string link = dir.file("link.bank");
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  HR_CHECK_ERR(mmap_bank::open(link.c_str()), errc::not_regular_file);
  HR_CHECK_ERR(mmap_bank::create(link.c_str()), errc::not_regular_file);
  HR_CHECK_ERR(mmap_bank::open_or_create(link.c_str()), errc::not_regular_file);
  HR_REQUIRE_OK(mmap_bank::open(real.c_str()));  // the link's target is untouched
  HR_CHECK_ERR(mmap_bank::open(dir.file("absent/x.bank").c_str()), errc::not_found);
  HR_CHECK_ERR(mmap_bank::create(dir.file("absent/x.bank").c_str()), errc::io_error);
  HR_CHECK_ERR(mmap_bank::open(""), errc::io_error);
}

namespace {
// What a directory holds (names only).
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename());
  return names;
}
std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += n + " ";
  return s;
}
}  // namespace

TEST_CASE("every path that is not a regular file is refused with not_regular_file") {
  hrtest::scratch_dir dir;
  const std::string real = dir.file("real.bank");
  REQUIRE(mmap_bank::create(real.c_str()));
  const std::string subdir = dir.file("dir.bank"), fifo = dir.file("fifo.bank"),
                    sock = dir.file("sock.bank"), to_file = dir.file("to-file.bank"),
                    to_dir = dir.file("to-dir.bank"), dangling = dir.file("dangling.bank");
  REQUIRE(::mkdir(subdir.c_str(), 0700) == 0);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::symlink(real.c_str(), to_file.c_str()) == 0);
  REQUIRE(::symlink(subdir.c_str(), to_dir.c_str()) == 0);
  REQUIRE(::symlink(dir.file("nowhere").c_str(), dangling.c_str()) == 0);
  struct kind {
    const char* what;
    std::string path;
  } kinds[] = {{"a directory", subdir},
               {"a FIFO", fifo},
               {"a UNIX socket", sock},
               {"a symbolic link to a bank", to_file},
               {"a symbolic link to a directory", to_dir},
               {"a dangling symbolic link", dangling},
               {"a character device", "/dev/null"}};
  for (const kind& k : kinds) {
    INFO("the path is ", std::string(k.what));
    struct stat before;
    REQUIRE(::lstat(k.path.c_str(), &before) == 0);
    auto o = mmap_bank::open(k.path.c_str());
    REQUIRE_FALSE(o);
    CHECK_MESSAGE(o.error().code == errc::not_regular_file, "open: ", hrtest::text(o.error()));
    auto c = mmap_bank::create(k.path.c_str());
    REQUIRE_FALSE(c);
    CHECK_MESSAGE(c.error().code == errc::not_regular_file, "create: ", hrtest::text(c.error()));
    auto oc = mmap_bank::open_or_create(k.path.c_str());
    REQUIRE_FALSE(oc);
    CHECK_MESSAGE(oc.error().code == errc::not_regular_file,
                  "open_or_create: ", hrtest::text(oc.error()));
    struct stat after;
    REQUIRE(::lstat(k.path.c_str(), &after) == 0);  // left as it was
    CHECK(after.st_mode == before.st_mode);
    CHECK(after.st_ino == before.st_ino);
  }
  ::close(s);
  HR_REQUIRE_OK(mmap_bank::open(real.c_str()));
  CHECK(std::filesystem::is_empty(subdir));
}

// Runs `body` in a forked child that exits with its result; returns the child's wait status.
template <class Body>
int in_child(Body body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(body());
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

TEST_CASE("a creator killed in the middle of create leaves nothing behind") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("killed.bank");
  const int status = in_child([&] {
    g_die_at_first_store = true;  // SIGKILL at the first store into the new bank's bytes
    (void)mmap_bank::create(path.c_str());
    return 3;  // not reached: create always formats the bank
  });
  REQUIRE_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                  "the creator must die inside create (status ", status, ")");
  // No half-made bank became visible.
  HR_CHECK_ERR(mmap_bank::open(path.c_str()), errc::not_found);
  // The next creator succeeds, and afterwards the directory holds the bank and nothing else:
  // no temporary file of the dead creator is left (a leak per crash, forever).
  auto b = mmap_bank::open_or_create(path.c_str());
  HR_REQUIRE_OK(b);
  HR_REQUIRE_OK(b->find_or_create("after", 1));
  const std::vector<std::string> left = listing(dir.path);
  CHECK_MESSAGE(left == std::vector<std::string>{"killed.bank"},
                "the directory holds: ", joined(left));
}

TEST_CASE("a bank that cannot be preallocated fails at creation and leaves no file") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("big.bank");
  const int status = in_child([&] {
    // A file-size limit stands in for a full file system: posix_fallocate fails (EFBIG).
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto b = mmap_bank::create(path.c_str(), {.bank_size = 8 << 20});
    const bool ok = !b && b.error().code == errc::io_error && b.error().sys_errno == EFBIG;
    return ok ? 0 : 1;
  });
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(std::filesystem::is_empty(dir.path));  // neither the bank nor its temporary file
}

TEST_CASE("processes racing to open_or_create all get the same bank") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("race.bank");
  constexpr int n = 8;
  pid_t pids[n];
  for (int i = 0; i < n; ++i) {
    pids[i] = ::fork();
    REQUIRE(pids[i] >= 0);
    if (pids[i] == 0) {
      auto b = mmap_bank::open_or_create(path.c_str());
      if (!b) ::_exit(1);
      char name[8];
      std::snprintf(name, sizeof name, "p%d", i);
      ::_exit(b->find_or_create(name, 1) ? 0 : 2);
    }
  }
  for (pid_t p : pids) {
    int status = 0;
    REQUIRE(::waitpid(p, &status, 0) == p);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  auto st = b->stats();
  REQUIRE(st);
  CHECK(st->blocks == n);
  hrtest::require_consistent(*b);
}
