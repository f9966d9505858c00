// SPDX-License-Identifier: MIT
// Who may own a bank (docs/security.md): the mmap backend refuses a file or directory another
// user could write or replace, on real files. The same rules from the supervisor's side, with
// another real user, are in tests/security (run as root).
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {
// The first detail of a refusal, as "field a b" (expected and found, or the value and 0).
std::string detail_of(const error& e) {
  if (e.detail_count == 0) return "(none)";
  return std::string(e.details[0].field) + " " + std::to_string(e.details[0].a) + " " +
         std::to_string(e.details[0].b);
}
}  // namespace

TEST_CASE("a bank file another user may write is refused, naming its permissions") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("b.bank");
  {
    auto b = mmap_bank::create(path.c_str());
    HR_REQUIRE_OK(b);
    auto blk = b->find_or_create("kept", 100);
    HR_REQUIRE_OK(blk);
    std::memcpy(blk->data, "state", 5);
  }
  for (const mode_t bad : {mode_t{0666}, mode_t{0620}, mode_t{0602}, mode_t{0660}}) {
    CAPTURE(bad);
    REQUIRE(::chmod(path.c_str(), bad) == 0);
    auto r = mmap_bank::open(path.c_str());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::untrusted_file);
    CHECK(detail_of(r.error()) == "permissions " + std::to_string(trust::octal_digits(bad & 0755)) +
                                      " " + std::to_string(trust::octal_digits(bad)));
    HR_CHECK_ERR(mmap_bank::open_or_create(path.c_str()), errc::untrusted_file);
  }
  // Read permission for others is not write permission: accepted, and nothing was lost.
  for (const mode_t good : {mode_t{0600}, mode_t{0640}, mode_t{0644}, mode_t{0400 | 0200}}) {
    REQUIRE(::chmod(path.c_str(), good) == 0);
    auto r = mmap_bank::open(path.c_str());
    HR_REQUIRE_OK(r);
    auto blk = r->find("kept");
    HR_REQUIRE_OK(blk);
    CHECK(std::memcmp(blk->data, "state", 5) == 0);
  }
}

TEST_CASE("a bank file of another user is refused (the expected owner is part of the location)") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("b.bank");
  HR_REQUIRE_OK(mmap_bank::create(path.c_str()));
  const uid_t other = ::geteuid() == 65534 ? 65533 : 65534;
  auto r = mmap_bank::open(mmap_location(path.c_str(), other));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::untrusted_file);
  CHECK(detail_of(r.error()) ==
        "owner uid " + std::to_string(other) + " " + std::to_string(::geteuid()));
  HR_REQUIRE_OK(mmap_bank::open(mmap_location(path.c_str(), ::geteuid())));
}

TEST_CASE("the bank's directory: not writable by others unless sticky, and not a symlink") {
  hrtest::scratch_dir dir;
  const std::string open_dir = dir.file("open"), sticky = dir.file("sticky");
  REQUIRE(::mkdir(open_dir.c_str(), 0700) == 0);
  REQUIRE(::mkdir(sticky.c_str(), 0700) == 0);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);  // (mkdir's mode goes through the umask)
  REQUIRE(::chmod(sticky.c_str(), 01777) == 0);
  const std::string in_open = open_dir + "/b.bank";
  trust_problem why;
  {
    auto r = mmap_bank::create(in_open.c_str());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::untrusted_file);
    CHECK(detail_of(r.error()) == "directory permissions 755 777");
    CHECK(::access(in_open.c_str(), F_OK) != 0);  // nothing was created there
    auto d = trust::open_dir(in_open.c_str(), ::geteuid(), &why);
    REQUIRE_FALSE(d);
    CHECK(why.what == trust_problem::kind::dir_mode);
    CHECK(std::string(why.path) == open_dir);
    CHECK(why.mode == 0777);
  }
  // A bank made while the directory was safe is refused once it is not.
  REQUIRE(::chmod(open_dir.c_str(), 0755) == 0);
  HR_REQUIRE_OK(mmap_bank::create(in_open.c_str()));
  REQUIRE(::chmod(open_dir.c_str(), 0775) == 0);
  HR_CHECK_ERR(mmap_bank::open(in_open.c_str()), errc::untrusted_file);
  // Sticky (as /tmp and /dev/shm): others may create files but not replace ours.
  HR_REQUIRE_OK(mmap_bank::create((sticky + "/b.bank").c_str()));
  HR_REQUIRE_OK(mmap_bank::open((sticky + "/b.bank").c_str()));
  // A symbolic link in place of the directory: refused, even to a safe directory.
  const std::string link = dir.file("link");
  REQUIRE(::symlink(sticky.c_str(), link.c_str()) == 0);
  auto r = mmap_bank::open((link + "/b.bank").c_str());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::untrusted_file);
  CHECK(std::string(r.error().message).find("symbolic link") != std::string::npos);
  HR_CHECK_ERR(mmap_bank::create((link + "/c.bank").c_str()), errc::untrusted_file);
  why = {};
  REQUIRE_FALSE(trust::open_dir((link + "/b.bank").c_str(), ::geteuid(), &why));
  CHECK(why.what == trust_problem::kind::dir_symlink);
  CHECK(std::string(why.path) == link);
  // The same directory through its own name is fine.
  HR_REQUIRE_OK(mmap_bank::open((sticky + "/b.bank").c_str()));
}

TEST_CASE("a bank opened from a descriptor: the same checks, and check_trust sees a chmod") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("b.bank");
  HR_REQUIRE_OK(mmap_bank::create(path.c_str()));
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  {
    auto b = mmap_bank::open(mmap_location::descriptor(fd, "b.bank"));
    HR_REQUIRE_OK(b);
    HR_REQUIRE_OK(b->backend().check_trust());
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    trust_problem why;
    auto t = b->backend().check_trust(&why);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == errc::untrusted_file);
    CHECK(why.what == trust_problem::kind::file_mode);
    CHECK(why.mode == 0666);
  }
  HR_CHECK_ERR(mmap_bank::open(mmap_location::descriptor(fd, "b.bank")), errc::untrusted_file);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  HR_REQUIRE_OK(mmap_bank::open(mmap_location::descriptor(fd, "b.bank")));
  CHECK(::fcntl(fd, F_GETFD) >= 0);  // the caller's descriptor is still open
  ::close(fd);
}

TEST_CASE("root gives a new bank to the user it is made for (location's owner)") {
  if (::geteuid() != 0) {
    MESSAGE("not root: chown is covered by tests/security (label root)");
    return;
  }
  hrtest::scratch_dir dir;
  const std::string path = dir.file("b.bank");
  HR_REQUIRE_OK(mmap_bank::create(mmap_location(path.c_str(), 65534)));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(st.st_uid == 65534u);
  CHECK((st.st_mode & 07777) == 0600);
  HR_CHECK_ERR(mmap_bank::open(path.c_str()), errc::untrusted_file);  // not root's
  HR_REQUIRE_OK(mmap_bank::open(mmap_location(path.c_str(), 65534)));
}

TEST_CASE("a bank with other names (hard links) is refused; doubled slashes do not follow a link") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("b.bank"), other = dir.file("other.bank");
  HR_REQUIRE_OK(mmap_bank::create(path.c_str()));
  REQUIRE(::link(path.c_str(), other.c_str()) == 0);
  auto r = mmap_bank::open(path.c_str());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::untrusted_file);
  CHECK(detail_of(r.error()) == "links 1 2");
  REQUIRE(::unlink(other.c_str()) == 0);
  HR_REQUIRE_OK(mmap_bank::open(path.c_str()));
  // "link//b.bank": every slash before the name is dropped, so the symlink itself is opened
  // (and refused), not the directory it points to.
  const std::string link = dir.file("link");
  REQUIRE(::symlink(dir.path.c_str(), link.c_str()) == 0);
  HR_CHECK_ERR(mmap_bank::open((link + "//b.bank").c_str()), errc::untrusted_file);
  HR_CHECK_ERR(mmap_bank::open((link + "///b.bank").c_str()), errc::untrusted_file);
  HR_REQUIRE_OK(mmap_bank::open((dir.path + "//b.bank").c_str()));  // a real directory: fine
}
