// SPDX-License-Identifier: MIT
#include "launcher.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace hrctl {

namespace {
// What a new run's child does between vfork and executing the image, prepared by the parent:
// the child runs on the parent's memory until then, so it only makes system calls (no heap,
// no stdio, no locks). vfork, not fork: the parent is suspended only until the child executes
// the image and no page table is copied (fork took 0.5-2.5 ms here, most of a restart's
// overhead over a plain spawn; see bench/restart.md).
struct child_plan {
  int lfd[max_member_sockets] = {};
  std::size_t nl = 0;
  int mfd = -1;
  bool script = false;
  /// The name link to execute the image through (see launcher::name_link), or null: fexecve.
  const char* link = nullptr;
  char** argv = nullptr;
  char** envp = nullptr;
  std::size_t listen_pid_at = 0;
  int out = -1;              ///< made the child's stdout if >= 0
  int err = -1;              ///< made the child's stderr if >= 0
  int bank_fd = -1;          ///< the bank file, given to the child as fd `bank_fd_at` (HR_BANK_FD)
  int bank_fd_at = -1;       ///< the fd right after the sockets: 3 + nl
  int chan = -1;             ///< a standby's channel, given as fd bank_fd_at + 1, or -1
  bool listen_pid = false;   ///< set LISTEN_PID (a run with sockets, not a standby)
  bool switch_user = false;  ///< run as uid/gid/groups (--user): a session of its own,
                             ///< stdin /dev/null, no descriptor above the bank's
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  std::size_t ngroups = 0;
  const char* fail_msg = "";
};

[[noreturn]] void child_fail(const char* msg, int e) {
  (void)!::write(2, msg, std::strlen(msg));
  const char* es = ::strerror(e);
  (void)!::write(2, es, std::strlen(es));
  (void)!::write(2, "\n", 1);
  ::_exit(127);
}

[[noreturn]] void exec_child(const child_plan& p) {
  // The terminal's ^C goes to hrctl, which stops the group gracefully. A member of another
  // user (--user) also leaves the terminal's session, so that it cannot push input into it
  // (TIOCSTI) or read it: it has no controlling terminal and no descriptor of it.
  if (p.switch_user) {
    ::setsid();
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0) child_fail(p.fail_msg, errno);
  } else {
    ::setpgid(0, 0);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);  // dispositions are the child's own (no CLONE_SIGHAND)
  if (p.out >= 0) ::dup2(p.out, 1);
  if (p.err >= 0) ::dup2(p.err, 2);
  // Everything the child still needs goes above the fds that the sockets take (3, 4, ...)
  // first, so that no dup2 below closes it: the image's memfd may have any number.
  int fd = ::fcntl(p.mfd, p.script ? F_DUPFD : F_DUPFD_CLOEXEC, 100);  // a script's interpreter
  if (fd < 0) fd = p.mfd;                                              // reopens it via /dev/fd
  const int bank = p.bank_fd >= 0 ? ::fcntl(p.bank_fd, F_DUPFD_CLOEXEC, 100) : -1;
  if (p.bank_fd >= 0 && bank < 0) child_fail(p.fail_msg, errno);
  const int chan = p.chan >= 0 ? ::fcntl(p.chan, F_DUPFD_CLOEXEC, 100) : -1;
  if (p.chan >= 0 && chan < 0) child_fail(p.fail_msg, errno);
  char lp[48] = "LISTEN_PID=";
  if (p.nl != 0) {
    // Move the sockets out of the way, then to 3, 4, ... (LISTEN_FDS convention).
    int tmp[max_member_sockets];
    for (std::size_t i = 0; i < p.nl; ++i) tmp[i] = ::fcntl(p.lfd[i], F_DUPFD_CLOEXEC, 100);
    for (std::size_t i = 0; i < p.nl; ++i) ::dup2(tmp[i], static_cast<int>(3 + i));
  }
  if (p.listen_pid) {
    char digits[16];
    int n = 0;
    for (int v = ::getpid(); v > 0 && n < 15; v /= 10)
      digits[n++] = static_cast<char>('0' + v % 10);
    std::size_t at = std::strlen(lp);
    while (n > 0) lp[at++] = digits[--n];
    lp[at] = '\0';
    p.envp[p.listen_pid_at] = lp;  // the parent's array: it is not used after the run starts
  }
  if (bank >= 0 && ::dup2(bank, p.bank_fd_at) < 0) child_fail(p.fail_msg, errno);  // inherited
  if (chan >= 0 && ::dup2(chan, p.bank_fd_at + 1) < 0) child_fail(p.fail_msg, errno);
  // The image goes to the fd the name links point at (above the sockets and the bank's); if it
  // cannot, the image runs by fexecve, under the kernel's name for it.
  const char* link = nullptr;
  if (p.link != nullptr && fd != image_fd_at &&
      ::dup3(fd, image_fd_at, p.script ? 0 : O_CLOEXEC) == image_fd_at) {
    if (p.script) ::close(fd);
    fd = image_fd_at;
    link = p.link;
  }
  // --user: nothing this supervisor inherited goes to another user's program (a descriptor a
  // service manager or a shell gave hrctl): every descriptor above the bank's but the image's
  // is closed. Then the identity, by raw system calls, which change this (vforked) process
  // alone (glibc's wrappers would signal the parent's threads: setxid broadcast), in their
  // 32-bit-id forms where the architecture has 16-bit ones.
  if (p.switch_user) {
    const unsigned keep = static_cast<unsigned>(fd);
    const unsigned from = static_cast<unsigned>(p.bank_fd_at) + (chan >= 0 ? 2 : 1);
    if (keep > from) (void)::syscall(SYS_close_range, from, keep - 1, 0);
    (void)::syscall(SYS_close_range, (keep >= from ? keep : from - 1) + 1, ~0U, 0);
#if defined(SYS_setresuid32)
    const long set_groups = SYS_setgroups32, set_gid = SYS_setresgid32, set_uid = SYS_setresuid32;
#else
    const long set_groups = SYS_setgroups, set_gid = SYS_setresgid, set_uid = SYS_setresuid;
#endif
    if (::syscall(set_groups, p.ngroups, p.groups) != 0 ||
        ::syscall(set_gid, p.gid, p.gid, p.gid) != 0 ||
        ::syscall(set_uid, p.uid, p.uid, p.uid) != 0)
      child_fail(p.fail_msg, errno);
  }
  // Through the link, the kernel names the process (comm) after the link's file name; the file
  // it opens and executes is still the memfd, which the link resolves to.
  if (link != nullptr) ::execve(link, p.argv, p.envp);
  ::fexecve(fd, p.argv, p.envp);
  child_fail(p.fail_msg, errno);
}

[[gnu::noinline]] int vfork_exec(const child_plan& p) {
  const int pid = ::vfork();
  if (pid == 0) exec_child(p);
  return pid;
}

// A directory that only this user (and root) can change: owned by the effective user or root,
// and either not writable by group and others or sticky (/tmp), like every directory above it.
bool safe_dir(const std::string& path) {
  std::string at = path;
  for (;;) {
    struct stat st {};
    if (::lstat(at.empty() ? "/" : at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    if (st.st_uid != ::geteuid() && st.st_uid != 0) return false;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) return false;
    if (at.empty()) return true;
    at.erase(at.rfind('/'));
  }
}

// `path` made if missing, this user's, mode 0755 whatever the umask: another user's member
// (--user) looks a link up after it became that user, so it may search the directory, never
// change it.
bool own_dir(const std::string& path) {
  (void)::mkdir(path.c_str(), 0755);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
    return false;
  return (st.st_mode & 07777) == 0755 || ::chmod(path.c_str(), 0755) == 0;
}

// The directory of name links: /run/hrctl/names for root, else $XDG_RUNTIME_DIR/hrctl-names or
// /tmp/hrctl-names-UID. Empty if none is safe.
std::string names_dir() {
  std::string dir;
  if (::geteuid() == 0) {
    if (!own_dir("/run/hrctl")) return {};
    dir = "/run/hrctl/names";
  } else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && x[0] == '/') {
    dir = std::string(x) + "/hrctl-names";
  } else {
    dir = "/tmp/hrctl-names-" + std::to_string(::geteuid());
  }
  return own_dir(dir) && safe_dir(dir) ? dir : std::string();
}
}  // namespace

std::string launcher::name_link(const std::string& program) {
  const std::string name = basename_of(program);
  if (name.empty() || name == "." || name == ".." || name.size() > NAME_MAX ||
      name.find('/') != std::string::npos)
    return {};
  if (!names_checked_) {
    names_checked_ = true;
    names_ = names_dir();
  }
  if (names_.empty()) return {};
  std::string link = names_ + "/" + name;
  const std::string target = "/proc/self/fd/" + std::to_string(image_fd_at);
  if (::symlink(target.c_str(), link.c_str()) == 0) return link;
  if (errno != EEXIST) return {};
  char got[64];  // made by another supervisor of this user: used if it is the same link
  const ssize_t n = ::readlink(link.c_str(), got, sizeof got);
  if (n != static_cast<ssize_t>(target.size()) ||
      target.compare(0, target.size(), got, static_cast<std::size_t>(n)) != 0)
    return {};
  return link;
}

int launcher::memfd_for(std::uint32_t image, std::uint32_t gid) {
  auto it = memfds_.find(image);
  if (it != memfds_.end()) return it->second.first;
  auto b = bank_->find(image_block_name(image));
  if (!b) return -1;
  const int fd = image_memfd(*b);
  if (fd >= 0) memfds_[image] = {fd, gid};
  return fd;
}

void launcher::forget_image(std::uint32_t image) {
  if (auto it = memfds_.find(image); it != memfds_.end()) {
    ::close(it->second.first);
    memfds_.erase(it);
  }
}

void launcher::drop_group(std::uint32_t gid) {
  for (auto it = memfds_.begin(); it != memfds_.end();) {
    if (it->second.second == gid) {
      ::close(it->second.first);
      it = memfds_.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {
// What tells a run who it is: HR_GROUP, HR_PROCESS, HR_HANDLE, HR_RESTARTED, and LISTEN_FDS and
// LISTEN_FDNAMES when it has sockets (LISTEN_PID is its own pid, set by the run's child or by
// the promoted standby). A new run gets them in its environment; a standby at its promotion.
std::vector<std::string> run_env(const launch_plan& p) {
  std::vector<std::string> env;
  env.push_back(std::string(env_group) + "=" + std::to_string(p.gid));
  env.push_back(std::string(env_process) + "=" + std::to_string(p.id));
  env.push_back(std::string(env_handle) + "=" + std::to_string(p.handle));
  env.push_back(std::string(env_restarted) + "=" + (p.restarted ? "1" : "0"));
  const std::size_t nl = std::min<std::size_t>(p.listen_fds.size(), max_member_sockets);
  if (nl != 0) env.push_back("LISTEN_FDS=" + std::to_string(nl));
  if (nl != 0 && p.listen_names.size() >= nl) {
    std::string names = "LISTEN_FDNAMES=";
    for (std::size_t i = 0; i < nl; ++i) names.append(i == 0 ? "" : ":").append(p.listen_names[i]);
    env.push_back(names);
  }
  return env;
}
}  // namespace

bool launcher::promote(int chan, const launch_plan& p, std::string* err) {
  std::string text;
  for (const std::string& v : run_env(p)) text.append(v).push_back('\0');
  if (text.size() > standby_max_message) {
    if (err) *err = "the run's environment does not fit a promotion message";
    return false;
  }
  const std::size_t nl = std::min<std::size_t>(p.listen_fds.size(), max_member_sockets);
  int fds[standby_max_fds];
  fds[0] = p.out >= 0 ? p.out : 1;
  fds[1] = p.err >= 0 ? p.err : 2;
  std::copy_n(p.listen_fds.begin(), nl, fds + 2);
  const std::size_t nfds = 2 + nl;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * standby_max_fds)] = {};
  iovec io{text.data(), text.size()};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  ssize_t n = 0;
  do n = ::sendmsg(chan, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(text.size())) return true;
  if (err) *err = std::string("sendmsg: ") + std::strerror(n < 0 ? errno : EMSGSIZE);
  return false;
}

int launcher::start(const launch_plan& p, std::string* err) {
  auto b = bank_->find(image_block_name(p.image));
  if (!b) {
    if (err) *err = "the process image is missing from the bank";
    return -1;
  }
  if (!check_image(*b)) {
    if (err) *err = "the process image in the bank is damaged";
    return -1;
  }
  const int mfd = memfd_for(p.image, p.gid);
  if (mfd < 0) {
    if (err) *err = std::string("cannot load the image: ") + std::strerror(errno);
    return -1;
  }
  const auto* ih = reinterpret_cast<const image_header*>(b->data);
  const std::vector<std::string> args = image_argv(*b);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  const bool script = ih->exe_bytes > 2 && b->data[ih->exe_offset] == std::byte{'#'};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("HR_") || v.starts_with("LISTEN_")) continue;
    // Another user's member gets only the locale, PATH, TZ and TERM of root's environment
    // (which may hold secrets), as sudo does; USER, LOGNAME and HOME are its own.
    if (as_->other &&
        !(v.starts_with("PATH=") || v.starts_with("LANG=") || v.starts_with("LANGUAGE=") ||
          v.starts_with("LC_") || v.starts_with("TZ=") || v.starts_with("TERM=")))
      continue;
    env.emplace_back(v);
  }
  env.push_back(std::string(env_bank) + "=" + path_);
  const std::size_t nl = std::min<std::size_t>(p.listen_fds.size(), max_member_sockets);
  const int bank_fd_at = 3 + static_cast<int>(nl);
  env.push_back(std::string(env_bank_fd) + "=" + std::to_string(bank_fd_at));
  if (as_->other) {
    env.push_back("USER=" + as_->name);
    env.push_back("LOGNAME=" + as_->name);
    env.push_back("HOME=" + as_->home);
  }
  const bool standby = p.standby_chan >= 0;
  if (standby)
    env.push_back(std::string(env_standby_fd) + "=" + std::to_string(bank_fd_at + 1));
  else
    for (std::string& v : run_env(p)) env.push_back(std::move(v));
  std::vector<char*> envp;
  envp.reserve(env.size() + 2);
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  envp.push_back(nullptr);  // room for LISTEN_PID, set in the child
  const std::size_t listen_pid_at = envp.size() - 2;

  child_plan plan;
  plan.nl = nl;
  if (standby) {  // the sockets' fds held by /dev/null: the numbers a run's own fds get match
    if (null_fd_ < 0) null_fd_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nl != 0 && null_fd_ < 0) {
      if (err) *err = std::string("cannot open /dev/null: ") + std::strerror(errno);
      return -1;
    }
    std::fill_n(plan.lfd, nl, null_fd_);
    plan.chan = p.standby_chan;
  } else {
    std::copy_n(p.listen_fds.begin(), nl, plan.lfd);
    plan.listen_pid = nl != 0;
  }
  plan.mfd = mfd;
  plan.script = script;
  const std::string link = name_link(args[0]);
  if (!link.empty()) plan.link = link.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.listen_pid_at = listen_pid_at;
  plan.bank_fd = member_fd_;
  plan.bank_fd_at = bank_fd_at;
  plan.switch_user = as_->other;
  plan.uid = as_->uid;
  plan.gid = as_->gid;
  plan.groups = as_->groups.data();
  plan.ngroups = as_->groups.size();
  const std::string fail_msg = "hrctl: cannot execute the image of " + args[0] + ": ";
  plan.fail_msg = fail_msg.c_str();
  plan.out = p.out;
  plan.err = p.err;
  const int pid = vfork_exec(plan);
  if (pid < 0 && err) *err = std::string("vfork: ") + std::strerror(errno);
  return pid;
}

}  // namespace hrctl
