// SPDX-License-Identifier: MIT
// hrctl snapshot / restore / remove (docs/hrctl.md, "Snapshots").
//
// A snapshot is taken while the bank's writer lock is held (no create, free or rename is half
// done) and while the bank's supervisor and every member recorded in its runtime block are
// stopped with SIGSTOP (checked by pid and start time): the copy then holds what the bank would
// hold had they all been killed at one instant, which recovery already handles (P2).
#include "snapshot.hpp"

#include "snapshot_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace hrctl {

namespace {

double now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string json_text(std::string_view s) {
  std::string o = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
      o += b;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

// The trusted directory of a path (file_trust.hpp rules) and the file name in it.
struct place {
  fd_guard dir{-1};
  std::string path;    // as given
  std::string prefix;  // the directory part, with its slash ("" for a bare name)
  std::string base;    // the file name
};

// Opens the directory of `path` for a file of `owner`'s. Returns 0 or an exit code (printed).
int open_place(const std::string& path, uid_t owner, place& p, const char* cmd) {
  p.path = path;
  auto d = trust::open_dir(path.c_str(), owner);
  if (!d) {
    std::fprintf(stderr, "hrctl %s: %s: %s\n", cmd, path.c_str(), describe(d.error()).text);
    return d.error().code == errc::untrusted_file ? exit_bank_path : exit_failure;
  }
  p.dir.fd = *d;
  const std::size_t cut = trust::base_offset(path.c_str());
  p.prefix = path.substr(0, cut);
  p.base = path.substr(cut);
  return exit_ok;
}

// Creates an empty 0600 file with an unused name beside `p` (".NAME.tmp-XXXXXXXX"), given to
// `owner`. Returns its descriptor (name in `name`) or -1 with errno.
int make_temp(const place& p, uid_t owner, std::string& name) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::uint32_t r = 0;
    if (::getrandom(&r, sizeof r, 0) != sizeof r)
      r = static_cast<std::uint32_t>(::getpid()) ^ 0x9e37u;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, ".tmp-%08x", r);
    name = "." + p.base + suffix;
    const int fd =
        ::openat(p.dir.fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return -1;
    if (owner != ::geteuid() && ::fchown(fd, owner, static_cast<gid_t>(-1)) != 0) {
      const int e = errno;
      ::close(fd);
      ::unlinkat(p.dir.fd, name.c_str(), 0);
      errno = e;
      return -1;
    }
    return fd;
  }
  errno = EEXIST;
  return -1;
}

int sync_dir(const place& p) {
  const fd_guard d(::openat(p.dir.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd < 0 || ::fsync(d.fd) != 0) return errno;
  return 0;
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Stop signals are held back while processes are frozen and a temporary file exists; one that
// came meanwhile is acted on at the end (see pending_stop()).
struct held_signals {
  sigset_t set{}, old{};
  held_signals() {
    sigemptyset(&set);
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, &old);
  }
  ~held_signals() { ::sigprocmask(SIG_SETMASK, &old, nullptr); }
  // A stop signal that arrived (consumed), or 0.
  int pending_stop() const {
    timespec zero{0, 0};
    const int s = ::sigtimedwait(&set, nullptr, &zero);
    return s > 0 ? s : 0;
  }
};

// A temporary file that is removed unless it was published.
struct temp_file {
  const place* where = nullptr;
  std::string name;
  fd_guard fd{-1};
  bool published = false;
  ~temp_file() {
    if (where != nullptr && !published && !name.empty()) ::unlinkat(where->dir.fd, name.c_str(), 0);
  }
};

// Readies a copied bank file before it takes its name: the processes its runtime block names
// (supervisor, members) are forgotten, so that a supervisor of the copy never adopts or
// signals the original's processes, and treats the members as having died at the copy's
// instant (restarted as after a crash); then it must open as a bank of `owner`'s and its full
// check must find nothing. Returns 0 or an exit code (printed).
int finish_copy(const place& p, const temp_file& t, uid_t owner, const char* cmd) {
  const std::string path = p.prefix + t.name;
  auto b = mmap_bank::open(mmap_location(path.c_str(), owner));
  if (!b) {
    std::fprintf(stderr, "hrctl %s: the copy does not open as a bank: %s\n", cmd,
                 describe(b.error()).text);
    return exit_bank;
  }
  if (auto blk = b->find(runtime_block_name)) {
    if (auto rt = runtime_view::attach(*blk)) {
      store(rt->header().supervisor_pid, std::int32_t{0});
      store(rt->header().supervisor_start, std::uint64_t{0});
      for (std::uint32_t id = 0; id < rt->max_processes(); ++id)
        store(rt->proc(id)->pid, std::int32_t{0});
    }
  }
  std::uint32_t shown = 0;
  auto problems = b->check([&](const error& e) noexcept {
    if (shown++ < 8) std::fprintf(stderr, "hrctl %s: the copy: %s\n", cmd, describe(e).text);
  });
  if (!problems) {
    std::fprintf(stderr, "hrctl %s: cannot check the copy: %s\n", cmd,
                 describe(problems.error()).text);
    return exit_bank;
  }
  if (*problems != 0) return exit_check;
  if (auto f = b->backend().flush(); !f) {
    std::fprintf(stderr, "hrctl %s: cannot write the copy: %s\n", cmd, describe(f.error()).text);
    return exit_failure;
  }
  return exit_ok;
}

// Opens the file at `p` without following a symbolic link and takes its supervisor lock (the
// OFD lock of take_supervisor_lock, byte 0). `st` gets its fstat. Returns 0, exit_unknown when
// there is no file, exit_bank_path (not a regular file, untrusted), exit_busy (a supervisor
// holds it), with the problem printed (except for exit_unknown).
int lock_existing(const place& p, uid_t owner, fd_guard& fd, struct stat& st, const char* cmd) {
  struct stat ls;
  if (::fstatat(p.dir.fd, p.base.c_str(), &ls, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return exit_unknown;
    std::fprintf(stderr, "hrctl %s: %s: %s\n", cmd, p.path.c_str(), std::strerror(errno));
    return exit_failure;
  }
  if (!S_ISREG(ls.st_mode)) {
    std::fprintf(stderr, "hrctl %s: %s is %s, not a bank file: refused\n", cmd, p.path.c_str(),
                 S_ISLNK(ls.st_mode) ? "a symbolic link" : "not a regular file");
    return exit_bank_path;
  }
  fd.fd = ::openat(p.dir.fd, p.base.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0 || !same_file(st, ls)) {
    std::fprintf(stderr, "hrctl %s: cannot open %s: %s\n", cmd, p.path.c_str(),
                 fd.fd < 0 ? std::strerror(errno) : "it changed while being opened");
    return errno == EACCES || errno == EPERM ? exit_bank_path : exit_failure;
  }
  if (auto t = trust::check_file(st, owner, p.path.c_str()); !t)
    return report_bank_error("refusing", p.path, t.error(), owner);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  if (::fcntl(fd.fd, F_OFD_SETLK, &fl) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      std::fprintf(stderr, "hrctl %s: another supervisor serves the bank %s\n", cmd,
                   p.path.c_str());
      return exit_busy;
    }
    std::fprintf(stderr, "hrctl %s: cannot lock %s: %s\n", cmd, p.path.c_str(),
                 std::strerror(errno));
    return exit_failure;
  }
  return exit_ok;
}

// Refuses (exit_busy) when the bank in `fd` (if it is one) records a member that still runs:
// it maps the file and would go on writing the old one. `is_bank` says whether it opened.
int refuse_live_members(int fd, const place& p, uid_t owner, bool& is_bank, const char* cmd) {
  is_bank = false;
  auto b = open_bank_converting(mmap_location::descriptor(fd, p.path.c_str(), owner));
  if (!b) return exit_ok;
  is_bank = true;
  auto blk = b->find(runtime_block_name);
  if (!blk) return exit_ok;
  auto rt = runtime_view::attach(*blk);
  if (!rt) return exit_ok;
  for (std::uint32_t id = 0; id < rt->max_processes(); ++id) {
    const proc_slot* s = rt->proc(id);
    const int pid = load(s->pid);
    if (pid > 0 && same_process_alive(pid, load(s->start_time))) {
      std::fprintf(stderr,
                   "hrctl %s: a member of %s still runs (pid %d, group %u): stop its group "
                   "first (hrctl kill -g %u)\n",
                   cmd, p.path.c_str(), pid, s->gid, s->gid);
      return exit_busy;
    }
  }
  return exit_ok;
}

int io_error(const char* cmd, const char* what, const std::string& path, int e) {
  std::fprintf(stderr, "hrctl %s: %s %s: %s\n", cmd, what, path.c_str(), std::strerror(e));
  return e == EACCES || e == EPERM || e == EROFS ? exit_bank_path : exit_failure;
}

void print_result(const snapshot_options& so, const char* cmd, const std::string& from,
                  const std::string& to, std::uint64_t bytes, copy_method m, std::size_t frozen,
                  double stall_ms, double copy_ms) {
  if (so.json) {
    std::printf(
        "{\"command\":%s,\"from\":%s,\"to\":%s,\"bytes\":%llu,\"method\":\"%s\",\"frozen\":%zu,"
        "\"stall_ms\":%.3f,\"copy_ms\":%.3f}\n",
        json_text(cmd).c_str(), json_text(from).c_str(), json_text(to).c_str(),
        static_cast<unsigned long long>(bytes), method_name(m), frozen, stall_ms, copy_ms);
    return;
  }
  std::printf("%s: %s -> %s, %llu bytes by %s in %.1f ms", cmd, from.c_str(), to.c_str(),
              static_cast<unsigned long long>(bytes), method_name(m), copy_ms);
  if (std::string_view(cmd) == "snapshot")
    std::printf("; writers stalled %.1f ms, %zu process%s stopped", stall_ms, frozen,
                frozen == 1 ? "" : "es");
  std::printf("\n");
}

}  // namespace

int cmd_snapshot(const bank_options& bo, const std::string& dest, const snapshot_options& so) {
  const char* cmd = "snapshot";
  const uid_t owner = bo.as.uid;
  auto b = open_bank_converting(bo.where());
  if (!b) return report_bank_error("cannot open bank", bo.path, b.error(), owner);
  std::optional<runtime_view> rt;
  if (auto blk = b->find(runtime_block_name))
    if (auto v = runtime_view::attach(*blk)) rt = *v;
  const int bank_fd = b->backend().descriptor();
  const std::uint64_t bytes = b->backend().size();

  place p;
  if (const int rc = open_place(dest, owner, p, cmd); rc != exit_ok) return rc;
  struct stat bank_st, ds;
  if (::fstat(bank_fd, &bank_st) != 0) return io_error(cmd, "cannot stat", bo.path, errno);
  if (::fstatat(p.dir.fd, p.base.c_str(), &ds, AT_SYMLINK_NOFOLLOW) == 0) {
    if (same_file(ds, bank_st)) {
      std::fprintf(stderr, "hrctl snapshot: %s is the bank itself\n", dest.c_str());
      return exit_usage;
    }
    if (!S_ISREG(ds.st_mode) || !so.force) {
      std::fprintf(stderr, "hrctl snapshot: %s already exists%s\n", dest.c_str(),
                   S_ISREG(ds.st_mode) ? " (--force replaces it)" : " and is not a regular file");
      return exit_bank_path;
    }
  }

  const held_signals held;
  temp_file t;
  t.where = &p;
  t.fd.fd = make_temp(p, owner, t.name);
  if (t.fd.fd < 0) return io_error(cmd, "cannot create a file beside", dest, errno);

  // Dirty pages written back while the writers still run: the clone below then has only what
  // they dirtied since to write back, inside the stall.
  if (clone_flushes_first(bank_fd)) (void)::fdatasync(bank_fd);

  // No supervisor may start during the copy; a running one is stopped with the members.
  const fd_guard sup(take_supervisor_lock(*b));
  const bool supervised = sup.fd == -1;
  const uid_t* member_uid = bo.as.other ? &bo.as.uid : nullptr;
  freezer fz;
  std::string problem;
  int copy_err = 0;
  copy_method used = copy_method::read_write;
  double t_locked = 0, t_copy = 0, t_copied = 0, t_thawed = 0;
  std::size_t frozen = 0;
  auto locked = b->with_writer_lock([&] {
    t_locked = now_ms();
    if (rt) {
      const int spid = load(rt->header().supervisor_pid);
      if (supervised && spid > 0) {
        if (may_stop_supervisor(spid, owner))
          problem = fz.stop(spid, load(rt->header().supervisor_start), nullptr);
        else
          std::fprintf(stderr,
                       "hrctl snapshot: note: the recorded supervisor (pid %d) runs as another "
                       "user: not stopped\n",
                       spid);
      }
      // The supervisor stopped first: it records no new run while the slots are read.
      if (problem.empty() && fz.count() != 0)
        if (const int stuck = fz.wait_stopped(so.freeze_timeout_ms); stuck != 0)
          problem = "pid " + std::to_string(stuck) + " did not stop within " +
                    std::to_string(so.freeze_timeout_ms) + " ms";
      for (std::uint32_t id = 0; problem.empty() && id < rt->max_processes(); ++id) {
        const proc_slot* s = rt->proc(id);
        problem = fz.stop(load(s->pid), load(s->start_time), member_uid);
      }
      if (problem.empty())
        if (const int stuck = fz.wait_stopped(so.freeze_timeout_ms); stuck != 0)
          problem = "pid " + std::to_string(stuck) + " did not stop within " +
                    std::to_string(so.freeze_timeout_ms) + " ms";
    }
    t_copy = now_ms();
    if (problem.empty()) copy_err = copy_file_bytes(bank_fd, t.fd.fd, bytes, used);
    t_copied = now_ms();
    frozen = fz.count();
    fz.thaw();
    t_thawed = now_ms();
  });
  if (!locked) return report_bank_error("cannot lock bank", bo.path, locked.error(), owner);
  if (!problem.empty()) {
    std::fprintf(stderr, "hrctl snapshot: %s (everything stopped was continued)\n",
                 problem.c_str());
    return problem.find("did not stop") != std::string::npos ? exit_timeout : exit_failure;
  }
  if (copy_err != 0) return io_error(cmd, "cannot copy the bank to", dest, copy_err);
  if (const int e = fresh_lock_area(t.fd.fd); e != 0) return io_error(cmd, "cannot write", dest, e);
  if (const int rc = finish_copy(p, t, owner, cmd); rc != exit_ok) return rc;
  if (::fsync(t.fd.fd) != 0) return io_error(cmd, "cannot write", dest, errno);
  if (const int sig = held.pending_stop(); sig != 0) return 128 + sig;  // temp file removed
  if (::renameat2(p.dir.fd, t.name.c_str(), p.dir.fd, p.base.c_str(),
                  so.force ? 0u : RENAME_NOREPLACE) != 0)
    return io_error(cmd, "cannot give the snapshot its name", dest, errno);
  t.published = true;
  if (const int e = sync_dir(p); e != 0) return io_error(cmd, "cannot write the name of", dest, e);
  print_result(so, cmd, bo.path, dest, bytes, used, frozen, t_thawed - t_locked, t_copied - t_copy);
  return exit_ok;
}

int cmd_restore(const bank_options& bo, const std::string& src, const snapshot_options& so) {
  const char* cmd = "restore";
  const uid_t owner = bo.as.uid;
  // The source: a bank of the same user's, by the same rules as any bank, that checks clean.
  auto s = mmap_bank::open(mmap_location(src.c_str(), owner));
  if (!s) return report_bank_error("cannot use the snapshot", src, s.error(), owner);
  std::uint32_t shown = 0;
  auto problems = s->check([&](const error& e) noexcept {
    if (shown++ < 8) std::fprintf(stderr, "hrctl restore: %s: %s\n", src.c_str(), describe(e).text);
  });
  if (!problems)
    return report_bank_error("cannot check the snapshot", src, problems.error(), owner);
  if (*problems != 0) {
    std::fprintf(stderr, "hrctl restore: %s has %u problem(s): nothing was replaced\n", src.c_str(),
                 *problems);
    return exit_check;
  }

  // The target: no supervisor, no member running; the supervisor lock is held to the end so
  // that none starts on the old file meanwhile.
  place p;
  if (const int rc = open_place(bo.path, owner, p, cmd); rc != exit_ok) return rc;
  fd_guard target(-1);
  struct stat tst;
  const int lrc = lock_existing(p, owner, target, tst, cmd);
  if (lrc != exit_ok && lrc != exit_unknown) return lrc;
  struct stat sst;
  if (::fstat(s->backend().descriptor(), &sst) != 0)
    return io_error(cmd, "cannot stat", src, errno);
  if (lrc == exit_ok) {
    if (same_file(tst, sst)) {
      std::fprintf(stderr, "hrctl restore: %s is the bank itself\n", src.c_str());
      return exit_usage;
    }
    bool is_bank = false;
    if (const int rc = refuse_live_members(target.fd, p, owner, is_bank, cmd); rc != exit_ok)
      return rc;
    if (!is_bank && !so.json)
      std::fprintf(stderr, "hrctl restore: note: %s did not open as a bank: replacing it\n",
                   bo.path.c_str());
  }

  const held_signals held;
  temp_file t;
  t.where = &p;
  t.fd.fd = make_temp(p, owner, t.name);
  if (t.fd.fd < 0) return io_error(cmd, "cannot create a file beside", bo.path, errno);
  int copy_err = 0;
  copy_method used = copy_method::read_write;
  const std::uint64_t bytes = s->backend().size();
  double t0 = 0, t1 = 0;
  auto locked = s->with_writer_lock([&] {
    t0 = now_ms();
    copy_err = copy_file_bytes(s->backend().descriptor(), t.fd.fd, bytes, used);
    t1 = now_ms();
  });
  if (!locked) return report_bank_error("cannot lock the snapshot", src, locked.error(), owner);
  if (copy_err != 0) return io_error(cmd, "cannot copy the snapshot to", bo.path, copy_err);
  if (const int e = fresh_lock_area(t.fd.fd); e != 0)
    return io_error(cmd, "cannot write", bo.path, e);
  if (const int rc = finish_copy(p, t, owner, cmd); rc != exit_ok) return rc;
  if (::fsync(t.fd.fd) != 0) return io_error(cmd, "cannot write", bo.path, errno);
  if (const int sig = held.pending_stop(); sig != 0) return 128 + sig;
  // Over the locked old file, or to a name that must still be free.
  if (::renameat2(p.dir.fd, t.name.c_str(), p.dir.fd, p.base.c_str(),
                  lrc == exit_ok ? 0u : RENAME_NOREPLACE) != 0)
    return io_error(cmd, "cannot put the copy in place of", bo.path, errno);
  t.published = true;
  if (const int e = sync_dir(p); e != 0)
    return io_error(cmd, "cannot write the name of", bo.path, e);
  print_result(so, cmd, src, bo.path, bytes, used, 0, 0, t1 - t0);
  return exit_ok;
}

int cmd_remove(const bank_options& bo, const snapshot_options& so) {
  const char* cmd = "remove";
  const uid_t owner = bo.as.uid;
  place p;
  if (const int rc = open_place(bo.path, owner, p, cmd); rc != exit_ok) return rc;
  fd_guard f(-1);
  struct stat st;
  const int lrc = lock_existing(p, owner, f, st, cmd);
  if (lrc == exit_unknown) {
    std::fprintf(stderr, "hrctl remove: no bank at %s\n", bo.path.c_str());
    return exit_unknown;
  }
  if (lrc != exit_ok) return lrc;
  if (st.st_size != 0) {
    // A bank (its magic words), whatever else may be wrong with it; anything else stays.
    std::uint32_t magic[2] = {};
    if (::pread(f.fd, magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic) ||
        magic[0] != bank_format::magic0_value || magic[1] != bank_format::magic1_value) {
      std::fprintf(stderr, "hrctl remove: %s is not a bank file: refused\n", bo.path.c_str());
      return exit_bank;
    }
    bool is_bank = false;
    if (const int rc = refuse_live_members(f.fd, p, owner, is_bank, cmd); rc != exit_ok) return rc;
  }
  // The name must still be the file checked and locked above.
  struct stat now;
  if (::fstatat(p.dir.fd, p.base.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(now, st)) {
    std::fprintf(stderr, "hrctl remove: %s changed meanwhile: nothing removed\n", bo.path.c_str());
    return exit_failure;
  }
  if (::unlinkat(p.dir.fd, p.base.c_str(), 0) != 0)
    return io_error(cmd, "cannot remove", bo.path, errno);
  sync_dir(p);
  if (so.json)
    std::printf("{\"command\":\"remove\",\"removed\":%s,\"bytes\":%llu}\n",
                json_text(bo.path).c_str(), static_cast<unsigned long long>(st.st_size));
  else
    std::printf("removed %s (%llu bytes)\n", bo.path.c_str(),
                static_cast<unsigned long long>(st.st_size));
  return exit_ok;
}

const char* snapshot_usage(const std::string& cmd) {
  if (cmd == "snapshot")
    return "usage: hrctl snapshot [--bank PATH] [--user NAME] [--force] [--json]\n"
           "                      [--freeze-timeout MS] DEST\n"
           "Writes a copy of the bank to DEST (a bank file: hrctl check --bank DEST accepts it).\n"
           "The copy is taken holding the bank's lock (no block is being created or freed) with\n"
           "the supervisor and every member stopped (SIGSTOP, then SIGCONT): it holds what the\n"
           "bank would after all of them were killed at that instant. Writers stall for the copy:\n"
           "a reflink where the file system has one (XFS, Btrfs), else a full copy "
           "(docs/hrctl.md,\n"
           "Snapshots). DEST is written as a temporary file beside it, mode 0600, owned by the\n"
           "bank's user, then renamed into place.\n"
           "  --force              replace a file already at DEST\n"
           "  --freeze-timeout MS  how long to wait for the processes to stop (default 5000)\n"
           "  --json               one JSON object: method (clone, copy_file_range, read_write),\n"
           "                       bytes, frozen processes, stall_ms, copy_ms\n";
  if (cmd == "restore")
    return "usage: hrctl restore [--bank PATH] [--user NAME] [--json] SRC\n"
           "Replaces the bank at PATH with a copy of the bank SRC (a snapshot), in one rename.\n"
           "SRC must be a bank of the bank's user (the same rules as any bank) that hrctl check\n"
           "accepts. Refused while a supervisor serves PATH or a member of it runs (exit 9).\n";
  return "usage: hrctl remove [--bank PATH] [--user NAME] [--json]\n"
         "Deletes the bank file at PATH (a symbolic link there is refused, never followed).\n"
         "Refused while a supervisor serves it or a member of it runs (exit 9), and for a file\n"
         "that is not a bank (exit 5) unless it is empty (a creation that was cut short).\n";
}

}  // namespace hrctl
