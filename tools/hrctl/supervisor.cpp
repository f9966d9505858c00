// SPDX-License-Identifier: MIT
#include "supervisor.hpp"
#include "validate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace hrctl {

namespace {
int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int pidfd_getfd(int pidfd, int fd) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

constexpr std::uint64_t max_restart_delay_ms = 1000;

std::string name_of(const process_view& p) {
  return std::string(p.name());
}

// What a new run's child does between vfork and executing the image, prepared by the parent:
// the child runs on the parent's memory until then, so it only makes system calls (no heap,
// no stdio, no locks). vfork, not fork: the parent is suspended only until the child executes
// the image and no page table is copied (fork took 0.5-2.5 ms here, most of a restart's
// overhead over a plain spawn; see bench/restart.md).
struct child_plan {
  int lfd[max_listen] = {};
  std::size_t nl = 0;
  int mfd = -1;
  bool script = false;
  char** argv = nullptr;
  char** envp = nullptr;
  std::size_t listen_pid_at = 0;
  int out = -1;              ///< made the child's stdout if >= 0
  int err = -1;              ///< made the child's stderr if >= 0
  int bank_fd = -1;          ///< the bank file, given to the child as fd `bank_fd_at` (HR_BANK_FD)
  int bank_fd_at = -1;       ///< the fd right after the sockets: 3 + nl
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
  char lp[48] = "LISTEN_PID=";
  if (p.nl != 0) {
    // Move the sockets out of the way, then to 3, 4, ... (LISTEN_FDS convention).
    int tmp[max_listen];
    for (std::size_t i = 0; i < p.nl; ++i) tmp[i] = ::fcntl(p.lfd[i], F_DUPFD_CLOEXEC, 100);
    for (std::size_t i = 0; i < p.nl; ++i) ::dup2(tmp[i], static_cast<int>(3 + i));
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
  // --user: nothing this supervisor inherited goes to another user's program (a descriptor a
  // service manager or a shell gave hrctl): every descriptor above the bank's but the image's
  // is closed. Then the identity, by raw system calls, which change this (vforked) process
  // alone (glibc's wrappers would signal the parent's threads: setxid broadcast), in their
  // 32-bit-id forms where the architecture has 16-bit ones.
  if (p.switch_user) {
    const unsigned keep = static_cast<unsigned>(fd);
    const unsigned from = static_cast<unsigned>(p.bank_fd_at) + 1;
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
  ::fexecve(fd, p.argv, p.envp);
  child_fail(p.fail_msg, errno);
}

[[gnu::noinline]] int vfork_exec(const child_plan& p) {
  const int pid = ::vfork();
  if (pid == 0) exec_child(p);
  return pid;
}

bool contains(const std::vector<std::uint32_t>& v, std::uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

std::uint64_t supervisor::now() const {
  return monotonic_ms();
}

void supervisor::log(const char* fmt, ...) const {
  if (quiet_) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "hrctl: %s\n", buf);
  std::fflush(stderr);
}

// ---- the trust boundary (docs/security.md) --------------------------------------------------

// One fstat of the open bank: still ours and writable by no one else? The first time it is
// not, says so; from then on no request from the bank is obeyed and no image from it is run,
// and serve() stops the groups and exits (exit_bank_path).
bool supervisor::bank_trusted() {
  if (untrusted_) return false;
  if (!bank_ || light_) return true;
  trust_problem why;
  auto r = bank_->backend().check_trust(&why);
  if (r || r.error().code != errc::untrusted_file) return true;  // (an fstat error: try later)
  untrusted_ = true;
  char perm[8];
  std::snprintf(perm, sizeof perm, "%04o", static_cast<unsigned>(why.mode));
  log("bank %s may now be written by another user (owner uid %u, permissions %s): no request "
      "from it is obeyed and no image from it is run any more; stopping its groups. A bank "
      "that others could write cannot be trusted again: check it before using it",
      bo_.path.c_str(), static_cast<unsigned>(why.uid), perm);
  return false;
}

const uid_t* supervisor::member_uid() const {
  return as_.other ? &as_.uid : nullptr;
}

int supervisor::signal_run(const run_state& r, int sig) const {
  if (r.pidfd >= 0) return signal_pidfd(r.pidfd, sig);
  return r.child ? ::kill(r.pid, sig) : -1;  // (a child's pid is ours until we reap it)
}

// A socket a group asks for through the bank (a request, or adoption) on a port below the
// unprivileged range is bound only if the bank is this supervisor's own, or if it is one that
// this supervisor's own command line asked for: a bank's writer who is another user (--user)
// must not get a privileged port from a root supervisor.
bool supervisor::may_bind(std::uint32_t addr, std::uint16_t port) const {
  if (!as_.other || port == 0 || port >= 1024) return true;
  return std::find(own_listens_.begin(), own_listens_.end(), std::pair{addr, port}) !=
         own_listens_.end();
}

// Accepts the waiting relay connections and reads the offers that have arrived (never blocks).
// An offer from a user who may not use this bank is refused and logged.
void supervisor::accept_relays() {
  if (relay_fd_ < 0) return;
  for (;;) {
    const int c = ::accept4(relay_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) break;
    relay_conns_.push_back(c);
    if (relay_conns_.size() > 4 * request_slots) {  // connected, never offered anything
      ::close(relay_conns_.front());
      relay_conns_.erase(relay_conns_.begin());
    }
  }
  for (auto it = relay_conns_.begin(); it != relay_conns_.end();) {
    relay_offer o;
    std::string why;
    const int got = relay_read(*it, o, why);
    if (got == 0) {
      ++it;
      continue;
    }
    ::close(*it);
    it = relay_conns_.erase(it);
    if (got < 0) continue;
    if (o.uid != ::geteuid() && o.uid != 0) {  // (the socket is ours, 0600: as the docs say)
      log("refused an output relay from pid %d: uid %u may not use this bank", o.pid,
          static_cast<unsigned>(o.uid));
      ::close(o.out);
      ::close(o.err);
      continue;
    }
    offers_.push_back(o);
  }
  while (offers_.size() > 2 * request_slots) {  // never matched: their requests went away
    ::close(offers_.front().out);
    ::close(offers_.front().err);
    offers_.erase(offers_.begin());
  }
}

// The output offered for mailbox slot `slot` by the process that posted its request (pid
// `requester`, as the kernel saw it connect).
bool supervisor::take_relay(std::uint32_t slot, int requester, proc_out& into) {
  accept_relays();
  for (auto it = offers_.begin(); it != offers_.end(); ++it)
    if (it->slot == slot && it->pid == requester) {
      into.out = it->out;
      into.err = it->err;
      offers_.erase(it);
      return true;
    }
  return false;
}

// ---- opening, adoption ---------------------------------------------------------------------

int supervisor::open_bank(const bank_options& bo, bool create, bool* busy) {
  bo_ = bo;
  if (busy != nullptr) *busy = false;
  tunables t;
  t.bank_size = bo.bank_size;
  t.max_blocks = bo.max_blocks;
  // Refuse a bank too small for the limits before creating anything.
  const std::uint32_t page = mmap_file_backend::native_page_size();
  const std::uint64_t fixed = fixed_overhead(bo, page);
  const std::uint64_t need =
      fixed + std::uint64_t{effective_max_processes(bo.max_processes)} * page;
  const std::uint64_t need_blocks = std::uint64_t{bo.max_processes} + min_extra_blocks;
  as_ = bo.as;
  auto existing = mmap_bank::open(bo.where());
  if (!existing && (existing.error().code != errc::not_found || !create))
    return report_bank_error("cannot open bank", bo.path, existing.error(), as_.uid);
  if (!existing) {
    if (bo.bank_size < need || bo.max_blocks < need_blocks) {
      std::fprintf(stderr,
                   "hrctl: bank too small for what is asked: --bank-size %llu, --max-blocks %u.\n"
                   "hrctl: sizing rule: bank size >= controller state + runtime state (%llu bytes "
                   "for %u groups and %u processes) + 2 x the size of the restartable processes "
                   "(each process image is kept in the bank; at least one page each: %llu bytes); "
                   "max blocks >= max processes + %u (%llu): one image per process, the "
                   "controller and runtime blocks, %u staged images, one block for the programs\n",
                   static_cast<unsigned long long>(bo.bank_size), bo.max_blocks,
                   static_cast<unsigned long long>(fixed), bo.max_groups, bo.max_processes,
                   static_cast<unsigned long long>(need), min_extra_blocks,
                   static_cast<unsigned long long>(need_blocks), request_slots);
      return exit_too_small;
    }
    auto c = mmap_bank::create(bo.where(), t);
    if (!c && c.error().code == errc::already_exists) c = mmap_bank::open(bo.where());
    if (!c) return report_bank_error("cannot create bank", bo.path, c.error(), as_.uid);
    bank_.emplace(std::move(*c));
  } else {
    bank_.emplace(std::move(*existing));
  }
  lock_fd_ = take_supervisor_lock(*bank_);
  if (lock_fd_ == -2) {
    const int e = errno;
    std::fprintf(stderr, "hrctl: cannot open %s for locking: %s\n", bo.path.c_str(),
                 std::strerror(e));
    return e == EACCES || e == EROFS || e == EPERM ? exit_bank_path : exit_failure;
  }
  if (lock_fd_ == -1) {
    if (busy != nullptr) *busy = true;
    return exit_busy;
  }
  // The members' own open file description of the bank (HR_BANK_FD): not the lock's, so that
  // a member that outlives this supervisor does not keep its lock.
  member_fd_ = reopen_descriptor(bank_->backend().descriptor(), O_RDWR);
  if (member_fd_ < 0) {
    std::fprintf(stderr, "hrctl: cannot reopen %s: %s\n", bo.path.c_str(), std::strerror(errno));
    return exit_failure;
  }
  return exit_ok;
}

int supervisor::recorded_supervisor() {
  if (!bank_) return 0;
  auto rb = bank_->find(runtime_block_name);
  if (!rb) return 0;
  auto rt = runtime_view::attach(*rb);
  return rt ? load(rt->header().supervisor_pid) : 0;
}

int supervisor::open_runtime(bool create) {
  // The runtime block: its limits and policy tunables are fixed when it is created.
  auto rb = bank_->find(runtime_block_name);
  const bool fresh = !rb && rb.error().code == errc::not_found;
  if (fresh && !create) {
    std::fprintf(stderr, "hrctl: %s is a bank, but hrctl never supervised it (no runtime state)\n",
                 bo_.path.c_str());
    return exit_unknown;
  }
  if (fresh)
    rb = bank_->find_or_create(
        hotrestart::detail::internal_access, runtime_block_name,
        runtime_block_bytes(bo_.max_groups, effective_max_processes(bo_.max_processes)));
  if (!rb) return report_bank_error("cannot keep the runtime state in bank", bo_.path, rb.error());
  auto* fh = reinterpret_cast<runtime_header*>(rb->data);
  if (fresh || fh->magic == 0) {  // new, or its formatting was cut short (magic written last)
    fh->version = runtime_version;
    fh->max_groups = bo_.max_groups;
    fh->max_processes = effective_max_processes(bo_.max_processes);
    record_policy(bo_, *fh);
    store(fh->magic, runtime_magic);
  }
  auto rt = runtime_view::attach(*rb);
  if (!rt) return report_bank_error("refusing the runtime state of bank", bo_.path, rt.error());
  rt_ = *rt;
  runtime_header& h = rt_.header();
  if (!policy_of(h).valid())
    return report_bank_error(
        "refusing the runtime state of bank", bo_.path,
        error(errc::corrupt, "runtime block: restart policy tunables invalid"));
  // The bank keeps the limits and policy it was created with; explicit flags that differ are
  // reported (the bank's values win, as for the bank's own tunables).
  auto differs = [&](const char* flag, std::uint64_t want, std::uint64_t have) {
    if (bo_.was_given(flag) && want != have)
      std::fprintf(stderr, "hrctl: note: %s %llu ignored: the bank was created with %llu\n", flag,
                   static_cast<unsigned long long>(want), static_cast<unsigned long long>(have));
  };
  differs("--max-groups", bo_.max_groups, h.max_groups);
  differs("--max-processes", effective_max_processes(bo_.max_processes), h.max_processes);
  differs("--interval", bo_.interval_ms, h.interval_ms);
  differs("--max-badness", bo_.max_badness, h.max_badness);
  differs("--max-site-restarts", bo_.max_site_restarts, h.max_site_restarts);
  differs("--give-up-window", bo_.give_up_window_ms, h.give_up_window_ms);
  differs("--intensity", bo_.intensity, h.intensity);
  differs("--period", bo_.period_ms, h.period_ms);
  differs("--backoff-base", bo_.backoff_base_ms, h.backoff_base_ms);
  differs("--backoff-cap", bo_.backoff_cap_ms, h.backoff_cap_ms);
  differs("--healthy", bo_.healthy_ms, h.healthy_ms);
  differs("--discard-after", bo_.discard_after, h.discard_after);
  differs("--bank-size", bo_.bank_size, bank_->layout().bank_size);
  differs("--max-blocks", bo_.max_blocks, bank_->layout().max_blocks);
  if (bo_.was_given("--policy") && static_cast<std::uint32_t>(bo_.policy) != h.policy)
    std::fprintf(stderr, "hrctl: note: --policy %s ignored: the bank was created with %s\n",
                 policy_name(bo_.policy), describe_policy(h).c_str());
  // Tunables of a policy this bank does not use.
  const auto kind = static_cast<policy_kind>(h.policy);
  for (const auto& [flag, k] :
       {std::pair{"--intensity", policy_kind::window}, std::pair{"--period", policy_kind::window},
        std::pair{"--interval", policy_kind::chorus},
        std::pair{"--max-badness", policy_kind::chorus},
        std::pair{"--backoff-base", policy_kind::backoff},
        std::pair{"--backoff-cap", policy_kind::backoff}})
    if (bo_.was_given(flag) && k != kind)
      std::fprintf(stderr, "hrctl: note: %s applies to --policy %s; this bank's policy is %s\n",
                   flag, policy_name(k), policy_name(kind));
  bo_.max_groups = h.max_groups;
  bo_.max_processes = h.max_processes;
  bo_.max_site_restarts = h.max_site_restarts;
  return exit_ok;
}

int supervisor::open_controller(bool* created) {
  const runtime_header& h = rt_.header();
  store_.emplace(*bank_);
  auto c = open_or_create_controller<controller_t>(*bank_, {h.max_groups, h.max_processes},
                                                   policy_of(h), *store_, now(), created);
  if (!c) return report_bank_error("cannot open the controller kept in bank", bo_.path, c.error());
  ctl_.emplace(*c);  // trivially copyable: a view over the bank
  runs_.assign(h.max_processes, run_state{});
  return exit_ok;
}

int supervisor::open(const bank_options& bo, bool prefix, bool quiet, bool* busy) {
  prefix_ = prefix;
  quiet_ = quiet;
  {
    runtime_header probe{};
    record_policy(bo, probe);
    if (!policy_of(probe).valid()) {
      std::fprintf(stderr,
                   "hrctl: the restart policy's tunables are not usable: --backoff-cap must "
                   "be >= --backoff-base, --intensity 1..8, every period >= 1 ms\n");
      return exit_usage;
    }
  }
  // Every member runs from a memfd image of it: a kernel that forbids executable memfds
  // (vm.memfd_noexec = 2) is said so now, not by a crash loop of failed starts.
  if (memfd_exec_support(nullptr) == EACCES) {
    std::fprintf(stderr,
                 "hrctl: this kernel forbids executing memfds (sysctl vm.memfd_noexec = 2, in "
                 "this PID namespace or above it), and hrctl runs every member from a sealed "
                 "memfd copy of its image in the bank. Set vm.memfd_noexec to 0 or 1 (hrctl asks "
                 "for MFD_EXEC), or run hrctl in a PID namespace that allows it\n");
    return exit_failure;
  }
  if (int rc = open_bank(bo, true, busy); rc != exit_ok) return rc;
  if (int rc = open_runtime(true); rc != exit_ok) return rc;
  bool created = false;
  if (int rc = open_controller(&created); rc != exit_ok) return rc;
  if (bank_refused_as_corrupt(*bank_, rt_, *ctl_, bo_.path, bo.force)) return exit_bank;
  {
    std::string why;
    relay_fd_ = relay_listen(bo_.path, why);
    if (relay_fd_ < 0)
      log("note: no output relay for delegated runs (%s): their output comes here", why.c_str());
  }
  runtime_header& h = rt_.header();
  store(h.supervisor_pid, static_cast<std::int32_t>(::getpid()));
  store(h.supervisor_start, process_start_time(::getpid()));

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  sig_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  ::signal(SIGPIPE, SIG_IGN);

  drive([&](auto& sink) { return ctl_->resume(now(), sink); });
  if (!created) {
    log("bank %s: adopting the groups it keeps", bo_.path.c_str());
    adopt();
  } else {
    log("bank %s: created (%llu bytes for blocks, max %u blocks, %u groups, %u processes; "
        "policy %s)",
        bo_.path.c_str(), static_cast<unsigned long long>(bank_->layout().bank_size),
        bank_->layout().max_blocks, h.max_groups, h.max_processes, describe_policy(h).c_str());
  }
  return exit_ok;
}

int supervisor::open_light(const bank_options& bo, bool* busy) {
  quiet_ = true;
  light_ = true;
  stopping_ = true;  // no run is started: the next supervisor performs what is left
  if (int rc = open_bank(bo, false, busy); rc != exit_ok) return rc;
  if (int rc = open_runtime(false); rc != exit_ok) return rc;
  bool created = false;
  if (int rc = open_controller(&created); rc != exit_ok) return rc;
  drive([&](auto& sink) { return ctl_->resume(now(), sink); });
  queue_.clear();  // a pending site restart stays pending in the controller
  return exit_ok;
}

template <class F>
void supervisor::drive(F&& call) {
  std::vector<action> got;
  auto sink = [&](const action& a) { got.push_back(a); };
  auto r = call(sink);
  if (!r) log("controller: %s", describe(r.error()).text);
  for (const action& a : got) apply(a);
}

void supervisor::adopt() {
  // A site restart the previous supervisor had not performed (not one that the reports below
  // decide: those come as their own actions).
  const bool pending_before = ctl_->site_restart_pending();
  // Reclaim mailbox slots of dead requesters (and our own: a delegated hrctl run that became
  // the supervisor) and staging blocks nobody will use; a request the previous supervisor was
  // serving when it died is served again.
  for (std::uint32_t i = 0; i < request_slots; ++i) {
    request_slot* s = rt_.request(i);
    const std::uint32_t st = load(s->state);
    const int who = load(s->requester);
    // (An abandoned request's requester stopped waiting: nobody reads it.)
    if ((st != req_free && (who == ::getpid() || ::kill(who, 0) != 0)) || st == req_abandoned) {
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
      store(s->state, static_cast<std::uint32_t>(req_free));
    } else if (st == req_serving) {
      store(s->state, static_cast<std::uint32_t>(req_ready));
    } else if (st == req_free) {
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
    }
  }
  // Images that no registered process refers to (a crash between making one and registering).
  std::vector<std::uint32_t> referenced;
  for (std::uint32_t gid = 0; gid < ctl_->max_groups(); ++gid)
    (void)ctl_->for_each_member(gid, [&](const process_view& p) {
      if (ctl_->group_info(gid)) referenced.push_back(p.image);
    });
  std::vector<std::string> orphans;
  (void)bank_->for_each([&](const block_info& b) {
    if (!b.name.starts_with("__HR_IMG_")) return;
    std::uint32_t k = 0;
    if (!parse_u32(std::string(b.name.substr(9)), k)) return;
    if (!contains(referenced, k)) orphans.emplace_back(b.name);
  });
  for (const auto& n : orphans) (void)bank_->free(hotrestart::detail::internal_access, n);

  // Members recorded as running: alive (adopt, by pid + start time) or gone (report, unless
  // their group is held: its members stay stopped).
  for (std::uint32_t gid = 0; gid < ctl_->max_groups(); ++gid) {
    auto g = ctl_->group_info(gid);
    if (!g || g->terminating) continue;
    const group_slot* gs = rt_.group(gid);
    const std::uint32_t why = gs != nullptr ? load(gs->held) : hold_none;
    std::vector<process_view> members;
    (void)ctl_->for_each_member(gid, [&](const process_view& p) { members.push_back(p); });
    for (const process_view& p : members) {
      proc_slot* s = rt_.proc(p.id);
      if (s == nullptr || p.state != process_state::running) continue;
      const int pid = load(s->pid);
      // Only the run the bank names, alive, and a process of the bank's user: a bank's writer
      // cannot make this supervisor adopt (and later signal) anyone else's process.
      const bool same = load(s->handle) == p.handle && same_process_alive(pid, load(s->start_time));
      const int pfd = same ? open_member_pidfd(pid, load(s->start_time), member_uid()) : -1;
      if (pfd >= 0) {
        runs_[p.id] = run_state{pid, pfd, false, p.handle, gid, now()};
        log("group %u: adopted member %s (pid %d)", gid, name_of(p).c_str(), pid);
        continue;
      }
      if (same && same_process_alive(pid, load(s->start_time)))
        log("group %u: member %s: pid %d does not run as %s: not adopted, never signalled", gid,
            name_of(p).c_str(), pid, as_.name.c_str());
      store(s->pid, std::int32_t{0});
      const bool clean = load(s->clean) == p.handle;
      if (why != hold_none && !clean) {
        log("group %u: member %s is stopped (the group is held)", gid, name_of(p).c_str());
        continue;
      }
      log("group %u: member %s (pid %d) ended while no supervisor ran%s", gid, name_of(p).c_str(),
          pid, clean ? " (cleanly)" : ": treated as a crash");
      if (clean)
        drive(
            [&](auto& sink) { return ctl_->process_exited_cleanly(now(), p.id, p.handle, sink); });
      else
        drive([&](auto& sink) { return ctl_->process_failed(now(), p.id, p.handle, sink); });
    }
    if (!ctl_->group_info(gid)) continue;  // it terminated just now
    bool alive = false;
    for (const run_state& r : runs_) alive = alive || (r.pid > 0 && r.gid == gid);
    // The group's runs (adopted or rerun) keep their sockets: those of a running member.
    if (gs != nullptr && gs->listen_count != 0 && !take_listeners(gid)) {
      if (alive)
        log("group %u: cannot take the listening sockets from its running members; they are "
            "opened again when the group restarts",
            gid);
      else
        reopen_listeners(gid);
    }
    // A stop that the previous supervisor had begun goes on.
    if (why == hold_stopped && alive)
      begin_stop(gid, stop_timeout_of(gid, 0), static_cast<int>(gs->hold_code));
    if (why != hold_none && !alive)
      log("group %u is held (%s): hrctl run -g %u resumes it, hrctl kill -g %u ends it", gid,
          why == hold_gave_up ? "given up on: it kept crashing" : "stopped on request", gid, gid);
    if (why == hold_gave_up)
      for (std::uint32_t id = 0; id < runs_.size(); ++id)
        if (runs_[id].pid > 0 && runs_[id].gid == gid) stop_run(id, SIGKILL);
  }
  if (pending_before) queue_.push_back(action{action_kind::site_restart, no_group});
  // Performed now, before anything is started: a run started first would only be stopped again.
  if (!queue_.empty()) handle_site_restarts();
}

// ---- actions -------------------------------------------------------------------------------

void supervisor::apply(const action& a) {
  switch (a.kind) {
    case action_kind::stop:
      if (a.process < runs_.size() && runs_[a.process].handle == a.handle)
        stop_run(a.process, SIGKILL);
      pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                    [&](const pending_run& p) { return p.id == a.process; }),
                     pending_.end());
      break;
    case action_kind::run: {
      if (stopping_ || held(a.gid)) break;  // a held group's members stay stopped
      group_mem& gm = groups_[a.gid];
      // Never a tight loop: restarts of the same group in quick succession back off (unless
      // the policy itself delays them: backoff).
      std::uint64_t delay = a.delay_ms;
      if (delay == 0 && gm.streak > 1)
        delay += std::min<std::uint64_t>(max_restart_delay_ms, 10ull << std::min(gm.streak, 7u));
      pending_.push_back({now() + delay, a.process, a.gid});
      break;
    }
    case action_kind::group_restarted: {
      group_mem& gm = groups_[a.gid];
      const std::uint64_t t = now();
      gm.streak = t - gm.last_restart_ms < rt_.header().interval_ms ? gm.streak + 1 : 1;
      gm.last_restart_ms = t;
      auto g = ctl_->group_info(a.gid);
      const std::string counter = g ? describe_counter(rt_.header(), g->policy) : std::string("?");
      if (a.delay_ms != 0)
        log("group %u restarted (%s, restarts %u); its members run again in %llu ms", a.gid,
            counter.c_str(), g ? g->restarts : 0, static_cast<unsigned long long>(a.delay_ms));
      else
        log("group %u restarted (%s, restarts %u)", a.gid, counter.c_str(), g ? g->restarts : 0);
      break;
    }
    case action_kind::discard_state:
      log("group %u: persistent state discarded (%u blocks freed)", a.gid, a.count);
      break;
    case action_kind::group_terminated: {
      log("group %u terminated: its process images and %u group-keyed block(s) freed", a.gid,
          a.count);
      if (group_slot* g = rt_.group(a.gid)) {
        const bool killed = load(g->pending_outcome) == outcome_killed;
        reset_group_slot(a.gid);
        store(g->last_outcome, static_cast<std::uint32_t>(killed ? outcome_killed : outcome_clean));
        store(g->terminations, load(g->terminations) + 1);
        if (a.gid == own_) own_outcome_ = killed ? exit_killed : exit_ok;
      }
      stops_.erase(a.gid);
      close_listeners(a.gid);
      drop_memfds(a.gid);
      drop_outputs(a.gid);
      groups_.erase(a.gid);
      break;
    }
    case action_kind::group_blocked: {
      char buf[512];
      if (ctl_->blocked_message(a.gid, buf, sizeof buf)) {
        std::fprintf(stderr, "%s\n", buf);
        std::fflush(stderr);
      }
      break;
    }
    case action_kind::site_restart:
      queue_.push_back(a);  // performed after the current event has been applied
      break;
  }
}

// The site restarts that the last events asked for: one for all of them. An escalation counts
// against its group: a group that escalates more than --max-site-restarts times in a row (each
// within --give-up-window of the one before) is given up on, alone, and its escalation is not
// performed; the other groups go on.
void supervisor::handle_site_restarts() {
  bool requested = false;
  std::vector<std::uint32_t> escalated;
  for (const action& a : queue_) {
    if (a.gid == no_group)
      requested = true;
    else if (!contains(escalated, a.gid))
      escalated.push_back(a.gid);
  }
  queue_.clear();
  std::vector<std::uint32_t> go;
  for (std::uint32_t gid : escalated)
    if (note_escalation(gid)) go.push_back(gid);
  if (!requested && go.empty()) {
    if (ctl_->site_restart_pending())
      drive([&](auto&) { return ctl_->decline_site_restart(now()); });
    return;
  }
  std::string why;
  if (!go.empty()) {
    const auto kind = static_cast<policy_kind>(rt_.header().policy);
    why = kind == policy_kind::window ? "restarts within the period reached the intensity: group"
                                      : "restart counter reached max badness: group";
    for (std::uint32_t gid : go) {
      why += ' ';
      why += std::to_string(gid);
    }
    if (requested) why += "; also requested";
  } else {
    why = "requested";
  }
  log("site restart (%s): every group restarts from persistent memory", why.c_str());
  drive([&](auto& sink) { return ctl_->site_restarted(now(), sink); });
  // Escalations in a row back off: the escalating groups' reruns wait a little longer each time.
  for (pending_run& p : pending_)
    if (contains(go, p.gid))
      if (const group_slot* gs = rt_.group(p.gid))
        p.due_ms += std::min<std::uint64_t>(2000, 250ull * gs->escalations);
}

bool supervisor::note_escalation(std::uint32_t gid) {
  group_slot* gs = rt_.group(gid);
  if (gs == nullptr) return true;
  const std::uint64_t t = ctl_->clock_ms();
  const runtime_header& h = rt_.header();
  if (gs->escalations == 0 || t - gs->last_escalation_ms > h.give_up_window_ms)
    gs->escalations = 1;
  else
    ++gs->escalations;
  gs->last_escalation_ms = t;
  if (h.max_site_restarts == 0 || gs->escalations <= h.max_site_restarts) return true;
  give_up(gid);
  return false;
}

void supervisor::give_up(std::uint32_t gid) {
  const runtime_header& h = rt_.header();
  log("group %u: giving up: %u site restarts did not help (a program crashes on every start?); "
      "its members are stopped and the group is held in the bank with all its blocks; the other "
      "groups go on. Fix the program, then `hrctl upgrade -g %u -- NEW` or `hrctl run -g %u ...` "
      "restarts it, `hrctl kill -g %u` ends it",
      gid, h.max_site_restarts, gid, gid, gid);
  hold(gid, hold_gave_up, exit_gave_up);
  for (std::uint32_t id = 0; id < runs_.size(); ++id)
    if (runs_[id].pid > 0 && runs_[id].gid == gid) stop_run(id, SIGKILL);
  if (gid == own_) own_outcome_ = exit_gave_up;
}

// ---- holds ---------------------------------------------------------------------------------

void supervisor::hold(std::uint32_t gid, std::uint32_t why, int code) {
  if (group_slot* gs = rt_.group(gid)) {
    gs->hold_code = static_cast<std::uint32_t>(code);
    store(gs->held, why);
  }
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const pending_run& p) { return p.gid == gid; }),
                 pending_.end());
}

bool supervisor::held(std::uint32_t gid) const {
  const group_slot* gs = rt_.group(gid);
  return gs != nullptr && load(gs->held) != hold_none;
}

// An operator runs a held group again (hrctl run -g, upgrade): the hold ends and, if
// `restart`, the group restarts (its direct members run again; no failure counted).
void supervisor::resume_held(std::uint32_t gid, bool restart) {
  group_slot* gs = rt_.group(gid);
  if (gs == nullptr || load(gs->held) == hold_none) return;
  log("group %u: resumed (it was held: %s)", gid,
      load(gs->held) == hold_gave_up ? "given up on" : "stopped on request");
  store(gs->held, static_cast<std::uint32_t>(hold_none));
  gs->hold_code = 0;
  gs->escalations = 0;
  stops_.erase(gid);
  if (restart) drive([&](auto& sink) { return ctl_->restart_group(now(), gid, sink); });
}

std::uint64_t supervisor::stop_timeout_of(std::uint32_t gid, std::uint64_t asked) const {
  if (asked != 0) return asked;
  const group_slot* gs = rt_.group(gid);
  return gs != nullptr && gs->stop_timeout_ms != 0 ? gs->stop_timeout_ms : stop_timeout_ms_;
}

// A graceful stop: SIGTERM to every member now, SIGKILL to those left at the deadline
// (check_stops). The group is held from now on: ends are not reported as failures, clean exits
// still count (the group may terminate meanwhile).
void supervisor::begin_stop(std::uint32_t gid, std::uint64_t timeout_ms, int code) {
  hold(gid, hold_stopped, code);
  bool any = false;
  for (const run_state& r : runs_)
    if (r.pid > 0 && r.gid == gid) {
      signal_run(r, SIGTERM);
      any = true;
    }
  if (!any) {
    log("group %u stopped: held in the bank (hrctl run -g %u resumes it)", gid, gid);
    if (gid == own_) own_outcome_ = code;
    return;
  }
  stops_[gid] = stop_state{now() + timeout_ms, false};
  log("group %u: stopping: SIGTERM sent to its members; SIGKILL in %llu ms", gid,
      static_cast<unsigned long long>(timeout_ms));
}

void supervisor::stop_group(std::uint32_t gid, int sig) {
  if (ctl_->group_info(gid)) begin_stop(gid, stop_timeout_of(gid, 0), 128 + sig);
}

void supervisor::check_stops() {
  const std::uint64_t t = now();
  for (auto it = stops_.begin(); it != stops_.end();) {
    const std::uint32_t gid = it->first;
    bool left = false;
    for (std::uint32_t id = 0; id < runs_.size(); ++id) {
      const run_state& r = runs_[id];
      if (r.pid <= 0 || r.gid != gid) continue;
      left = true;
      if (t >= it->second.deadline_ms && !it->second.killed) {
        auto pv = ctl_->process_info(id);
        log("group %u: %s (pid %d) still running after SIGTERM: SIGKILL", gid,
            pv ? name_of(*pv).c_str() : "?", r.pid);
        signal_run(r, SIGKILL);
      }
    }
    if (t >= it->second.deadline_ms) it->second.killed = true;
    if (left) {
      ++it;
      continue;
    }
    const group_slot* gs = rt_.group(gid);
    if (ctl_->group_info(gid) && gs != nullptr && load(gs->held) == hold_stopped) {
      log("group %u stopped: held in the bank (hrctl run -g %u resumes it)", gid, gid);
      if (gid == own_) own_outcome_ = static_cast<int>(gs->hold_code);
    }
    it = stops_.erase(it);
  }
}

// ---- runs ----------------------------------------------------------------------------------

int supervisor::memfd_for(std::uint32_t image, std::uint32_t gid) {
  auto it = memfds_.find(image);
  if (it != memfds_.end()) return it->second.first;
  auto b = bank_->find(image_block_name(image));
  if (!b) return -1;
  const int fd = image_memfd(*b);
  if (fd >= 0) memfds_[image] = {fd, gid};
  return fd;
}

void supervisor::drop_memfds(std::uint32_t gid) {
  for (auto it = memfds_.begin(); it != memfds_.end();) {
    if (it->second.second == gid) {
      ::close(it->second.first);
      it = memfds_.erase(it);
    } else {
      ++it;
    }
  }
}

int supervisor::spawn(std::uint32_t id, std::uint32_t gid, std::uint32_t image,
                      std::uint64_t handle, bool restarted, std::string* err) {
  if (!bank_trusted()) {
    if (err) *err = "the bank may be written by another user: its images are not run";
    return -1;
  }
  auto b = bank_->find(image_block_name(image));
  if (!b) {
    if (err) *err = "the process image is missing from the bank";
    return -1;
  }
  if (!check_image(*b)) {
    if (err) *err = "the process image in the bank is damaged";
    return -1;
  }
  const int mfd = memfd_for(image, gid);
  if (mfd < 0) {
    if (err) *err = std::string("cannot load the image: ") + std::strerror(errno);
    return -1;
  }
  // Sockets that could not be taken from an adopted member are opened again for its restart.
  if (const group_slot* gs = rt_.group(gid);
      gs != nullptr && gs->listen_count != 0 && groups_[gid].listen_fds.empty())
    reopen_listeners(gid);
  const std::vector<std::string> args = image_argv(*b);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  const bool script =
      reinterpret_cast<const image_header*>(b->data)->exe_bytes > 2 &&
      b->data[reinterpret_cast<const image_header*>(b->data)->exe_offset] == std::byte{'#'};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("HR_") || v.starts_with("LISTEN_")) continue;
    // Another user's member gets only the locale, PATH, TZ and TERM of root's environment
    // (which may hold secrets), as sudo does; USER, LOGNAME and HOME are its own.
    if (as_.other &&
        !(v.starts_with("PATH=") || v.starts_with("LANG=") || v.starts_with("LANGUAGE=") ||
          v.starts_with("LC_") || v.starts_with("TZ=") || v.starts_with("TERM=")))
      continue;
    env.emplace_back(v);
  }
  env.push_back(std::string(env_bank) + "=" + bo_.path);
  const std::vector<int>& lfds = groups_[gid].listen_fds;
  const int bank_fd_at = 3 + static_cast<int>(std::min<std::size_t>(lfds.size(), max_listen));
  env.push_back(std::string(env_bank_fd) + "=" + std::to_string(bank_fd_at));
  if (as_.other) {
    env.push_back("USER=" + as_.name);
    env.push_back("LOGNAME=" + as_.name);
    env.push_back("HOME=" + as_.home);
  }
  env.push_back(std::string(env_group) + "=" + std::to_string(gid));
  env.push_back(std::string(env_process) + "=" + std::to_string(id));
  env.push_back(std::string(env_handle) + "=" + std::to_string(handle));
  env.push_back(std::string(env_restarted) + "=" + (restarted ? "1" : "0"));
  if (!lfds.empty()) env.push_back("LISTEN_FDS=" + std::to_string(lfds.size()));
  std::vector<char*> envp;
  envp.reserve(env.size() + 2);
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  envp.push_back(nullptr);  // room for LISTEN_PID, set in the child
  const std::size_t listen_pid_at = envp.size() - 2;

  child_plan plan;
  plan.nl = std::min<std::size_t>(lfds.size(), max_listen);
  std::copy_n(lfds.begin(), plan.nl, plan.lfd);
  plan.mfd = mfd;
  plan.script = script;
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.listen_pid_at = listen_pid_at;
  plan.bank_fd = member_fd_;
  plan.bank_fd_at = bank_fd_at;
  plan.switch_user = as_.other;
  plan.uid = as_.uid;
  plan.gid = as_.gid;
  plan.groups = as_.groups.data();
  plan.ngroups = as_.groups.size();
  const std::string fail_msg = "hrctl: cannot execute the image of " + args[0] + ": ";
  plan.fail_msg = fail_msg.c_str();
  // Output: ours, or the requester's (a delegated run); through prefixing pipes with --prefix.
  auto po = outs_.find(id);
  const int dest_out = po != outs_.end() && po->second.out >= 0 ? po->second.out : 1;
  const int dest_err = po != outs_.end() && po->second.err >= 0 ? po->second.err : 2;
  const bool prefixed = po != outs_.end() ? po->second.prefix : prefix_;
  // Another user's member (--user) never gets this supervisor's descriptors of its output (a
  // terminal it could read or type into, a file it could truncate): it writes into pipes
  // that hrctl reads and writes on, as for --prefix (with an empty prefix unless asked).
  const bool prefix = prefixed || as_.other;
  int pout[2] = {-1, -1}, perr[2] = {-1, -1};
  if (prefix && (::pipe2(pout, O_CLOEXEC) != 0 || ::pipe2(perr, O_CLOEXEC) != 0)) {
    const int e = errno;
    for (int fd : {pout[0], pout[1], perr[0], perr[1]})
      if (fd >= 0) ::close(fd);
    if (err) *err = std::string("pipe: ") + std::strerror(e);
    return -1;
  }
  plan.out = prefix ? pout[1] : dest_out != 1 ? dest_out : -1;
  plan.err = prefix ? perr[1] : dest_err != 2 ? dest_err : -1;
  const int pid = vfork_exec(plan);
  const int vfork_errno = errno;
  if (prefix) {
    ::close(pout[1]);
    ::close(perr[1]);
  }
  if (pid < 0) {
    if (prefix) {
      ::close(pout[0]);
      ::close(perr[0]);
    }
    if (err) *err = std::string("vfork: ") + std::strerror(vfork_errno);
    return -1;
  }
  if (prefix) {
    auto pv = ctl_->process_info(id);
    const std::string tag = !prefixed ? std::string()
                                      : "[" + std::to_string(gid) + " " +
                                            (pv ? name_of(*pv) : std::string("?")) + " " +
                                            std::to_string(pid) + "] ";
    for (auto [fd, dest] : {std::pair{pout[0], dest_out}, std::pair{perr[0], dest_err}}) {
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      streams_.push_back(out_stream{fd, dest, tag, {}});
    }
  }
  run_state& r = runs_[id];
  r = run_state{pid, pidfd_open(pid), true, handle, gid, now()};
  if (proc_slot* s = rt_.proc(id)) {
    store(s->pid, static_cast<std::int32_t>(pid));
    store(s->start_time, process_start_time(pid));
  }
  return pid;
}

// Records the run in the controller and the runtime block, then starts it. Once the
// controller has registered the run, a failure to start it is that run's failure (the
// controller restarts the group as after a crash): exit_ok is returned, *pid is 0 and `err`
// says why, and the member keeps its image.
int supervisor::register_and_run(std::uint32_t gid, std::string_view name, process_kind kind,
                                 std::uint32_t image, std::uint32_t parent, int* pid,
                                 std::string* err, const proc_out* out) {
  if (pid) *pid = 0;
  runtime_header& h = rt_.header();
  const std::uint64_t handle = load(h.run_seq) + 1;
  store(h.run_seq, handle);
  // A first run (not yet registered in its group): its record starts from nothing, even if
  // the process id was another process's before (ids are recycled).
  const bool first_run = !ctl_->find_process(gid, name);
  auto id = ctl_->process_started(now(), {gid, name, kind, handle, image, parent});
  if (!id) {
    if (err) *err = describe(id.error()).text;
    switch (id.error().code) {
      case errc::unknown_group:
      case errc::bad_group_id: return exit_unknown;
      case errc::process_limit: return exit_too_small;
      default: return exit_refused;
    }
  }
  auto pv = ctl_->process_info(*id);
  // Output: a delegated run's goes to its requester; an indirect member's where its parent's
  // goes. Kept for the reruns of this member.
  const proc_out* from = out;
  if (from == nullptr && kind == process_kind::indirect)
    if (auto it = outs_.find(parent); it != outs_.end()) from = &it->second;
  if (from != nullptr) {
    proc_out o{from->out >= 0 ? ::fcntl(from->out, F_DUPFD_CLOEXEC, 3) : -1,
               from->err >= 0 ? ::fcntl(from->err, F_DUPFD_CLOEXEC, 3) : -1, from->prefix, gid};
    if (auto it = outs_.find(*id); it != outs_.end()) {
      if (it->second.out >= 0) ::close(it->second.out);
      if (it->second.err >= 0) ::close(it->second.err);
    }
    outs_[*id] = o;
  }
  proc_slot* s = rt_.proc(*id);
  if (s != nullptr && first_run) store(s->runs, std::uint32_t{0});
  const bool restarted = s != nullptr && load(s->runs) > 0;
  if (s != nullptr) {
    store(s->clean, std::uint64_t{0});
    store(s->heartbeat_ms, std::uint64_t{0});
    store(s->pid, std::int32_t{0});
    s->gid = gid;
    store(s->handle, handle);
    store(s->runs, load(s->runs) + 1);
  }
  std::string why;
  const int p = spawn(*id, gid, pv ? pv->image : image, handle, restarted, &why);
  if (p < 0) {
    log("group %u: cannot start %.*s: %s; counted as a failure of that run", gid,
        static_cast<int>(name.size()), name.data(), why.c_str());
    if (err) *err = "registered, but its start failed: " + why;
    drive([&](auto& sink) { return ctl_->process_failed(now(), *id, handle, sink); });
    return exit_ok;
  }
  if (pid) *pid = p;
  log("group %u: %s %.*s (pid %d)%s", gid, restarted ? "restarted" : "started",
      static_cast<int>(name.size()), name.data(), p,
      kind == process_kind::indirect ? " [indirect]" : "");
  return exit_ok;
}

int supervisor::run_member(std::uint32_t id, std::string* err) {
  auto pv = ctl_->process_info(id);
  if (!pv) return exit_unknown;
  if (pv->state == process_state::running) return exit_ok;  // already rerun
  if (held(pv->gid)) return exit_ok;                        // stays stopped
  // A rerun keeps the parent link only through the controller's record; direct reruns only.
  return register_and_run(pv->gid, pv->name(), process_kind::direct, pv->image, no_process, nullptr,
                          err);
}

void supervisor::stop_run(std::uint32_t id, int sig) {
  run_state& r = runs_[id];
  if (r.pid <= 0) return;
  signal_run(r, sig);
  if (sig != SIGKILL) return;
  // Wait until it is gone, so that two runs of a member never overlap on the bank.
  if (r.child) {
    int st = 0;
    while (::waitpid(r.pid, &st, 0) < 0 && errno == EINTR) {
    }
  } else if (r.pidfd >= 0) {
    pollfd pf{r.pidfd, POLLIN, 0};  // readable once the process has ended
    (void)::poll(&pf, 1, 2000);
    // Then until whoever reaps it (init, a subreaper) has: `kill -0` and ps see no zombie.
    for (int i = 0; i < 2000 && ::kill(r.pid, 0) == 0; ++i) sleep_ms(1);
  }
  if (r.pidfd >= 0) ::close(r.pidfd);
  if (proc_slot* s = rt_.proc(id)) store(s->pid, std::int32_t{0});
  r = run_state{};
}

// A run ended (its pidfd became readable): clean or failure, reported to the controller. The
// end of a member of a held group (being stopped) is reported only if clean.
void supervisor::reap(std::uint32_t id) {
  run_state r = runs_[id];
  int status = 0;
  bool have_status = false;
  if (r.child) {
    const int w = ::waitpid(r.pid, &status, WNOHANG);
    if (w == 0) return;  // not yet
    have_status = w == r.pid;
  }
  if (r.pidfd >= 0) ::close(r.pidfd);
  runs_[id] = run_state{};
  proc_slot* s = rt_.proc(id);
  if (s != nullptr) store(s->pid, std::int32_t{0});
  auto pv = ctl_->process_info(id);
  const std::string name = pv ? name_of(*pv) : std::string("?");
  bool clean = s != nullptr && load(s->clean) == r.handle;
  const group_slot* g = rt_.group(r.gid);
  if (!clean && g != nullptr && (g->flags & group_exit0_clean) != 0 && have_status &&
      WIFEXITED(status) && WEXITSTATUS(status) == 0)
    clean = true;
  if (clean) {
    log("group %u: %s (pid %d) exited cleanly", r.gid, name.c_str(), r.pid);
    drive([&](auto& sink) { return ctl_->process_exited_cleanly(now(), id, r.handle, sink); });
    return;
  }
  if (held(r.gid)) {
    log("group %u: %s (pid %d) stopped", r.gid, name.c_str(), r.pid);
    return;
  }
  if (have_status && WIFSIGNALED(status))
    log("group %u: crash detected: %s (pid %d) killed by %s (signal %d)", r.gid, name.c_str(),
        r.pid, signal_name(WTERMSIG(status)), WTERMSIG(status));
  else if (have_status)
    log("group %u: crash detected: %s (pid %d) exited with status %d without the clean-exit "
        "call",
        r.gid, name.c_str(), r.pid, WEXITSTATUS(status));
  else
    log("group %u: crash detected: %s (pid %d) ended without the clean-exit call", r.gid,
        name.c_str(), r.pid);
  if (stopping_) return;  // left for the next supervisor: the group stays in the bank
  drive([&](auto& sink) { return ctl_->process_failed(now(), id, r.handle, sink); });
}

void supervisor::check_heartbeats() {
  const std::uint64_t t = now();
  for (std::uint32_t id = 0; id < runs_.size(); ++id) {
    const run_state& r = runs_[id];
    if (r.pid <= 0) continue;
    const group_slot* g = rt_.group(r.gid);
    if (g == nullptr || g->heartbeat_ms == 0) continue;
    const proc_slot* s = rt_.proc(id);
    const std::uint64_t last = std::max(r.started_ms, s ? load(s->heartbeat_ms) : 0);
    if (t > last + g->heartbeat_ms) {
      log("group %u: hang detected: pid %d sent no heartbeat for %llu ms; killing it", r.gid, r.pid,
          static_cast<unsigned long long>(t - last));
      signal_run(r, SIGKILL);            // its end is then a failure like any other
      runs_[id].started_ms = t + 60000;  // do not kill it twice while it dies
    }
  }
}

// ---- sockets -------------------------------------------------------------------------------

namespace {
// No SO_REUSEPORT: one socket per port, so nobody else can bind it and take connections, and
// a supervisor that adopts a group takes the running members' sockets (take_listeners) rather
// than opening a second one that the kernel would hand half of the connections.
int listen_on(std::uint32_t addr, std::uint16_t port, std::uint16_t* bound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = addr;
  sa.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 128) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (bound) *bound = ntohs(sa.sin_port);
  return fd;
}

// fd is a listening TCP socket bound to addr:port.
bool is_listener_on(int fd, std::uint32_t addr, std::uint16_t port) {
  int listening = 0;
  socklen_t ol = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || listening == 0)
    return false;
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || sa.sin_family != AF_INET)
    return false;
  return sa.sin_addr.s_addr == addr && ntohs(sa.sin_port) == port;
}

std::string addr_text(std::uint32_t addr) {
  in_addr a{};
  a.s_addr = addr;
  char text[64];
  ::inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}
}  // namespace

int supervisor::open_listeners(std::uint32_t gid, const std::vector<std::uint32_t>& addrs,
                               const std::vector<std::uint16_t>& ports, std::string* err) {
  group_slot* g = rt_.group(gid);
  if (g == nullptr) return exit_unknown;
  if (addrs.size() > max_listen) {
    *err = "at most 4 --listen sockets per group";
    return exit_usage;
  }
  // A group has one set of sockets for its whole life: the one recorded when it got them.
  if (g->listen_count != 0) {
    bool same = addrs.size() == g->listen_count;
    for (std::size_t i = 0; same && i < addrs.size(); ++i)
      same = addrs[i] == g->listen_addr[i] && (ports[i] == 0 || ports[i] == g->listen_port[i]);
    if (!same)
      log("group %u: note: --listen ignored: the group keeps the sockets it was given first "
          "(%u, first %s:%u)",
          gid, g->listen_count, addr_text(g->listen_addr[0]).c_str(), g->listen_port[0]);
    if (groups_[gid].listen_fds.empty()) reopen_listeners(gid);
    return exit_ok;
  }
  for (std::size_t i = 0; i < addrs.size(); ++i)
    if (!may_bind(addrs[i], ports[i])) {
      *err = "refused to listen on " + addr_text(addrs[i]) + ":" + std::to_string(ports[i]) +
             " for the bank of " + as_.name +
             ": a privileged port only from this supervisor's own --listen";
      return exit_refused;
    }
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    std::uint16_t bound = 0;
    const int fd = listen_on(addrs[i], ports[i], &bound);
    if (fd < 0) {
      *err = "cannot listen on " + addr_text(addrs[i]) + ":" + std::to_string(ports[i]) + ": " +
             std::strerror(errno);
      return exit_failure;
    }
    groups_[gid].listen_fds.push_back(fd);
    const std::uint32_t k = g->listen_count++;
    g->listen_addr[k] = addrs[i];
    g->listen_port[k] = bound;
    log("group %u: listening on %s:%u (kept across restarts)", gid, addr_text(addrs[i]).c_str(),
        bound);
  }
  return exit_ok;
}

void supervisor::reopen_listeners(std::uint32_t gid) {
  group_slot* g = rt_.group(gid);
  if (g == nullptr || !groups_[gid].listen_fds.empty()) return;
  std::vector<int> fds;
  for (std::uint32_t i = 0; i < g->listen_count && i < max_listen; ++i) {
    if (!may_bind(g->listen_addr[i], g->listen_port[i])) {
      log("group %u: refused to listen again on %s:%u, as the bank asks: a privileged port for "
          "the bank of %s comes only from this supervisor's own --listen",
          gid, addr_text(g->listen_addr[i]).c_str(), g->listen_port[i], as_.name.c_str());
      for (int f : fds) ::close(f);
      return;
    }
    const int fd = listen_on(g->listen_addr[i], g->listen_port[i], nullptr);
    if (fd < 0) {
      log("group %u: cannot listen again on %s:%u: %s", gid, addr_text(g->listen_addr[i]).c_str(),
          g->listen_port[i], std::strerror(errno));
      for (int f : fds) ::close(f);
      return;
    }
    fds.push_back(fd);
  }
  groups_[gid].listen_fds = fds;
}

// Adoption: the group's listening sockets are those its running members hold (fds 3.. as
// they were given); a copy is taken from the first member that still has them all
// (pidfd_getfd: same user or root), so no connection goes to a second socket.
bool supervisor::take_listeners(std::uint32_t gid) {
  const group_slot* g = rt_.group(gid);
  if (g == nullptr || g->listen_count == 0 || !groups_[gid].listen_fds.empty()) return false;
  const std::uint32_t n = std::min<std::uint32_t>(g->listen_count, max_listen);
  for (const run_state& r : runs_) {
    if (r.pid <= 0 || r.gid != gid || r.pidfd < 0) continue;
    std::vector<int> fds;
    for (std::uint32_t i = 0; i < n; ++i) {
      const int fd = pidfd_getfd(r.pidfd, static_cast<int>(3 + i));
      if (fd < 0) break;
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      if (!is_listener_on(fd, g->listen_addr[i], g->listen_port[i])) {
        ::close(fd);
        break;
      }
      fds.push_back(fd);
    }
    if (fds.size() == n) {
      groups_[gid].listen_fds = fds;
      log("group %u: took over the listening socket(s) of pid %d (%s:%u...)", gid, r.pid,
          addr_text(g->listen_addr[0]).c_str(), g->listen_port[0]);
      return true;
    }
    for (int fd : fds) ::close(fd);
  }
  return false;
}

void supervisor::close_listeners(std::uint32_t gid) {
  auto it = groups_.find(gid);
  if (it == groups_.end()) return;
  for (int fd : it->second.listen_fds) ::close(fd);
  it->second.listen_fds.clear();
}

// ---- groups, requests ----------------------------------------------------------------------

// A group id that starts a new group: nothing of the previous group of that id stays (name,
// flags, sockets, hold, outcome), except the termination count a waiting hrctl run watches.
void supervisor::reset_group_slot(std::uint32_t gid) {
  group_slot* g = rt_.group(gid);
  if (g == nullptr) return;
  g->name_len = 0;
  std::memset(g->name, 0, sizeof g->name);
  g->flags = 0;
  g->heartbeat_ms = 0;
  g->listen_count = 0;
  store(g->pending_outcome, static_cast<std::uint32_t>(outcome_none));
  store(g->held, static_cast<std::uint32_t>(hold_none));
  g->hold_code = 0;
  g->escalations = 0;
  g->last_escalation_ms = 0;
  g->stop_timeout_ms = 0;
}

result<std::uint32_t> supervisor::resolve_group(std::uint32_t gid, std::string_view name,
                                                bool create) {
  if (gid == no_group && !name.empty()) {
    for (std::uint32_t i = 0; i < rt_.max_groups(); ++i) {
      const group_slot* g = rt_.group(i);
      if (ctl_->group_info(i) && std::string_view(g->name, g->name_len) == name) return i;
    }
    if (!create) return fail(errc::unknown_group, "no group of that name");
    auto n = ctl_->new_group(now());
    if (!n) return n;
    reset_group_slot(*n);
    group_slot* g = rt_.group(*n);
    g->name_len = static_cast<std::uint32_t>(std::min<std::size_t>(name.size(), 32));
    std::memcpy(g->name, name.data(), g->name_len);
    return n;
  }
  if (gid == no_group) gid = 0;
  if (!create) {
    auto gi = ctl_->group_info(gid);
    if (!gi) return fail(gi.error());
    return gid;
  }
  auto was = ctl_->group_info(gid);
  auto r = ctl_->open_group(now(), gid);
  if (r && !was) reset_group_slot(gid);
  return r;
}

// Moves the staged image of mailbox slot `slot` to a fresh image number.
int supervisor::take_staged_image(std::uint32_t slot, std::uint32_t& image) {
  for (std::uint32_t k = 0; k < 4u * rt_.max_processes() + 64u; ++k) {
    auto f = bank_->find(image_block_name(k));
    if (f) continue;
    auto r = bank_->replace(hotrestart::detail::internal_access, image_block_name(k),
                            staging_block_name(slot));
    if (!r) return exit_failure;
    image = k;
    return exit_ok;
  }
  return exit_too_small;
}

// The sizing rule (twice the restartable processes) for the images in the bank, plus `add`
// bytes of a new image, minus `remove` of one it replaces. Empty if it holds, else the message.
std::string supervisor::sizing_problem(const std::string& what, std::uint64_t add,
                                       std::uint64_t remove) {
  const std::uint64_t page = bank_->layout().page_size;
  std::uint64_t images = (add + page - 1) / page * page;
  (void)bank_->for_each([&](const block_info& bi) {
    if (bi.name.starts_with("__HR_IMG_")) images += bi.capacity;
  });
  images -= std::min(images, remove);
  const std::uint64_t fixed = fixed_overhead(bo_, static_cast<std::uint32_t>(page));
  const std::uint64_t need = fixed + 2 * images;
  if (need <= bank_->layout().bank_size) return {};
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "bank too small for %s: sizing rule: bank size >= controller + runtime state + 2 x "
      "the size of the restartable processes = %llu + 2 x %llu = %llu bytes, but the bank "
      "has %llu (create it with a larger --bank-size)",
      what.c_str(), static_cast<unsigned long long>(fixed), static_cast<unsigned long long>(images),
      static_cast<unsigned long long>(need),
      static_cast<unsigned long long>(bank_->layout().bank_size));
  return buf;
}

int supervisor::start_direct(const run_options& ro, std::uint32_t& gid) {
  own_ = no_group;
  stop_timeout_ms_ = ro.stop_timeout_ms;
  std::uint32_t g0 = no_group;
  std::uint32_t num = 0;
  std::string gname;
  if (ro.group.empty())
    g0 = 0;
  else if (parse_u32(ro.group, num))
    g0 = num;
  else
    gname = ro.group;
  if (g0 != no_group && g0 >= rt_.max_groups()) {
    std::fprintf(stderr,
                 "hrctl: group %u out of range: this bank has groups 0..%u (--max-groups)\n", g0,
                 rt_.max_groups() - 1);
    return exit_unknown;
  }
  auto r = resolve_group(g0, gname, true);
  if (!r) {
    std::fprintf(stderr, "hrctl: cannot use group %s: %s\n", ro.group.c_str(),
                 describe(r.error()).text);
    return r.error().code == errc::group_limit ? exit_too_small : exit_refused;
  }
  gid = *r;
  own_ = gid;
  group_slot* gs = rt_.group(gid);
  if (ro.exit0_clean) gs->flags |= group_exit0_clean;
  if (ro.heartbeat_ms != 0) gs->heartbeat_ms = ro.heartbeat_ms;
  if (ro.stop_timeout_given) gs->stop_timeout_ms = ro.stop_timeout_ms;
  std::string err;
  if (!ro.listen.empty()) {
    std::vector<std::uint32_t> addrs;
    std::vector<std::uint16_t> ports;
    for (const std::string& spec : ro.listen) {
      std::uint32_t a = 0;
      std::uint16_t p = 0;
      if (std::string e = parse_listen(spec, a, p); !e.empty()) {
        std::fprintf(stderr, "hrctl: %s\n", e.c_str());
        return exit_usage;
      }
      addrs.push_back(a);
      ports.push_back(p);
      own_listens_.emplace_back(a, p);
    }
    if (int e = open_listeners(gid, addrs, ports, &err); e != exit_ok) {
      std::fprintf(stderr, "hrctl: %s\n", err.c_str());
      return e;
    }
  } else if (gs->listen_count != 0 && groups_[gid].listen_fds.empty()) {
    reopen_listeners(gid);
  }
  resume_held(gid, true);  // a held group: this run resumes it (its direct members rerun)
  const std::string name = ro.name.empty() ? basename_of(ro.argv[0]) : ro.name;
  // Already a member? A running one is adopted (a restarted hrctl run), another reruns.
  auto existing = ctl_->find_process(gid, name);
  if (existing) {
    auto pv = ctl_->process_info(*existing);
    if (pv && pv->state == process_state::running) {
      log("group %u: %s is already running (pid %d); supervising it", gid, name.c_str(),
          rt_.proc(*existing) ? load(rt_.proc(*existing)->pid) : 0);
      return exit_ok;
    }
    if (pv && pv->image != no_image && bank_->find(image_block_name(pv->image))) {
      int pid = 0;
      const int rc =
          register_and_run(gid, name, process_kind::direct, pv->image, no_process, &pid, &err);
      if (rc != exit_ok) std::fprintf(stderr, "hrctl: %s\n", err.c_str());
      return rc;
    }
  }
  // A new member: its image into the bank, then its first run.
  program_file f;
  const program_problem pp = open_program(ro.argv[0], f);
  if (pp != program_problem::none) {
    std::fprintf(stderr, "hrctl: %s: %s\n", ro.argv[0].c_str(), describe(pp));
    return exit_program;
  }
  // The sizing rule, checked before the image is made: twice the restartable processes.
  if (std::string e = sizing_problem(ro.argv[0], image_bytes(f.bytes, ro.argv), 0); !e.empty()) {
    ::close(f.fd);
    std::fprintf(stderr, "hrctl: %s\n", e.c_str());
    return exit_too_small;
  }
  std::uint32_t image = 0;
  for (; image < 4u * rt_.max_processes() + 64u; ++image)
    if (!bank_->find(image_block_name(image))) break;
  auto b = bank_->find_or_create(hotrestart::detail::internal_access, image_block_name(image),
                                 image_bytes(f.bytes, ro.argv));
  if (!b) {
    ::close(f.fd);
    std::fprintf(stderr,
                 "hrctl: cannot keep the image of %s (%llu bytes) in the bank: %s\n"
                 "hrctl: sizing rule: the bank must hold at least twice the size of the "
                 "restartable processes (see hrctl run --help)\n",
                 ro.argv[0].c_str(), static_cast<unsigned long long>(f.bytes),
                 describe(b.error()).text);
    return exit_too_small;
  }
  auto w = write_image(*b, f, ro.argv, name);
  ::close(f.fd);
  if (!w) {
    (void)bank_->free(hotrestart::detail::internal_access, image_block_name(image));
    std::fprintf(stderr, "hrctl: cannot image %s: %s\n", ro.argv[0].c_str(),
                 describe(w.error()).text);
    return exit_program;
  }
  int pid = 0;
  const int rc = register_and_run(gid, name, process_kind::direct, image, no_process, &pid, &err);
  if (rc != exit_ok) {
    (void)bank_->free(hotrestart::detail::internal_access,
                      image_block_name(image));  // not registered: not kept
    std::fprintf(stderr, "hrctl: %s\n", err.c_str());
  }
  return rc;
}

void supervisor::answer(request_slot& s, int status, const std::string& msg) {
  if (status != exit_ok) {
    static constexpr const char* kinds[] = {"?",       "hrfexec", "kill -g", "restart",
                                            "upgrade", "run",     "stop"};
    log("refused a request (%s) from pid %d: %s", s.kind < 7 ? kinds[s.kind] : "unknown",
        load(s.requester), msg.c_str());
  }
  answer_request(*bank_, rt_, static_cast<std::uint32_t>(&s - rt_.request(0)), status, msg);
}

void supervisor::serve_requests() {
  for (std::uint32_t i = 0; i < request_slots; ++i) {
    request_slot& s = *rt_.request(i);
    const std::uint32_t st = load(s.state);
    if (st == req_claimed || st == req_done) {
      if (::kill(load(s.requester), 0) != 0 && errno == ESRCH) {
        (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
        store(s.state, static_cast<std::uint32_t>(req_free));
      }
      continue;
    }
    if (st != req_ready) continue;
    // Taken: from now on the requester cannot withdraw it.
    std::uint32_t expect = req_ready;
    if (!std::atomic_ref<std::uint32_t>(s.state).compare_exchange_strong(expect, req_serving,
                                                                         std::memory_order_acq_rel))
      continue;
    // Whoever could write the bank could have written this request (docs/security.md).
    if (!bank_trusted()) {
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
      answer(s, exit_bank_path, "refused: the bank may be written by another user");
      continue;
    }
    const std::string name(s.name, std::min<std::uint32_t>(s.name_len, 32));
    const std::string gname(s.group_name, std::min<std::uint32_t>(s.group_name_len, 32));
    std::string err;
    switch (s.kind) {
      case req_kill_group: {
        auto g = resolve_group(s.gid, gname, false);
        if (!g) {
          answer(s, exit_unknown, describe(g.error()).text);
          break;
        }
        if (group_slot* gs = rt_.group(*g))
          store(gs->pending_outcome, static_cast<std::uint32_t>(outcome_killed));
        log("group %u: killed on request (hrctl kill -g)", *g);
        drive([&](auto& sink) { return ctl_->kill_group(now(), *g, sink); });
        s.result_gid = *g;
        answer(s, exit_ok, "group killed");
        break;
      }
      case req_stop_group: {
        auto g = resolve_group(s.gid, gname, false);
        if (!g) {
          answer(s, exit_unknown, describe(g.error()).text);
          break;
        }
        log("group %u: stop requested (%s)", *g,
            s.stop_signal != 0 ? signal_name(static_cast<int>(s.stop_signal)) : "hrctl stop");
        begin_stop(*g, stop_timeout_of(*g, s.stop_timeout_ms),
                   128 + static_cast<int>(s.stop_signal != 0 ? s.stop_signal : SIGTERM));
        s.result_gid = *g;
        answer(s, exit_ok, "stopping");
        break;
      }
      case req_site_restart:
        drive([&](auto& sink) { return ctl_->request_site_restart(now(), sink); });
        handle_site_restarts();
        answer(s, exit_ok, "site restart performed");
        break;
      case req_spawn_indirect:
      case req_run_direct: {
        const bool direct = s.kind == req_run_direct;
        auto g = direct ? resolve_group(s.gid, gname, true) : resolve_group(s.gid, {}, false);
        if (!g) {
          (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
          answer(s, g.error().code == errc::group_limit ? exit_too_small : exit_unknown,
                 describe(g.error()).text);
          break;
        }
        group_slot* gs = rt_.group(*g);
        if (direct && gs != nullptr) {
          gs->flags |= s.flags & group_exit0_clean;
          if (s.heartbeat_ms) gs->heartbeat_ms = s.heartbeat_ms;
          if (s.stop_timeout_ms) gs->stop_timeout_ms = s.stop_timeout_ms;
          if (s.listen_count != 0) {
            const std::uint32_t n = std::min<std::uint32_t>(s.listen_count, max_listen);
            const std::vector<std::uint32_t> addrs(s.listen_addr, s.listen_addr + n);
            const std::vector<std::uint16_t> ports(s.listen_port, s.listen_port + n);
            if (int e = open_listeners(*g, addrs, ports, &err); e != exit_ok) {
              (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
              answer(s, e, err);
              break;
            }
          }
        }
        if (direct) resume_held(*g, true);
        // A member registered before keeps its first image (as ChorusOS); a new one gets
        // the staged image.
        std::uint32_t image = no_image;
        auto known = ctl_->find_process(*g, name);
        if (known) {
          auto pv = ctl_->process_info(*known);
          if (pv && pv->image != no_image && bank_->find(image_block_name(pv->image)))
            image = pv->image;
        }
        if (image == no_image) {
          auto staged = bank_->find(staging_block_name(i));
          const std::string e = sizing_problem(name, staged ? staged->capacity : 0, 0);
          if (!e.empty()) {
            (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
            answer(s, exit_too_small, e);
            break;
          }
          if (int rc = take_staged_image(i, image); rc != exit_ok) {
            answer(s, rc, "cannot keep the staged image");
            break;
          }
        } else {
          (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
        }
        // A delegated hrctl run: the member writes to the requester's own stdout/stderr,
        // which it handed over through the relay socket (the kernel vouches for who sent them).
        proc_out relay;
        bool relaying = direct && (s.flags & req_relay_output) != 0;
        if (relaying) {
          relay.prefix = (s.flags & req_prefix_output) != 0;
          if (!take_relay(i, load(s.requester), relay)) {
            log("group %u: %s: no output was handed over by hrctl run (pid %d): its output goes "
                "to this supervisor's",
                *g, name.c_str(), load(s.requester));
            relaying = false;
          }
        }
        int pid = 0;
        const int rc = register_and_run(
            *g, name, direct ? process_kind::direct : process_kind::indirect, image,
            direct ? no_process : s.parent, &pid, &err, relaying ? &relay : nullptr);
        if (relay.out >= 0) ::close(relay.out);
        if (relay.err >= 0) ::close(relay.err);
        // Not registered: the image was made for this request only.
        if (rc != exit_ok && !known)
          (void)bank_->free(hotrestart::detail::internal_access, image_block_name(image));
        s.result_pid = pid;
        s.result_gid = *g;
        s.result_terminations = gs ? load(gs->terminations) : 0;
        answer(s, rc, rc != exit_ok ? err : pid != 0 ? std::string("started") : err);
        break;
      }
      case req_upgrade: {
        auto g = resolve_group(s.gid, gname, false);
        if (!g) {
          (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
          answer(s, exit_unknown, describe(g.error()).text);
          break;
        }
        auto id = ctl_->find_process(*g, name);
        auto pv = id ? ctl_->process_info(*id) : result<process_view>(fail(id.error()));
        if (!pv || pv->image == no_image) {
          (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
          answer(s, exit_unknown, "no member of that name in the group: use --name");
          break;
        }
        {
          auto staged = bank_->find(staging_block_name(i));
          auto old = bank_->find(image_block_name(pv->image));
          const std::string e =
              sizing_problem(name, staged ? staged->capacity : 0, old ? old->capacity : 0);
          if (!e.empty()) {
            (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
            answer(s, exit_too_small, e);
            break;
          }
        }
        auto rep = bank_->replace(hotrestart::detail::internal_access, image_block_name(pv->image),
                                  staging_block_name(i));
        if (!rep) {
          answer(s, exit_failure, describe(rep.error()).text);
          break;
        }
        if (auto it = memfds_.find(pv->image); it != memfds_.end()) {
          ::close(it->second.first);
          memfds_.erase(it);
        }
        log("group %u: image of %s upgraded; restarting the group on it", *g, name.c_str());
        resume_held(*g, false);
        // Restart the group on the new image: an upgrade, not a failure (no restart counted).
        drive([&](auto& sink) { return ctl_->restart_group(now(), *g, sink); });
        s.result_gid = *g;
        answer(s, exit_ok, "upgraded");
        break;
      }
      default: answer(s, exit_usage, "unknown request"); break;
    }
  }
}

int supervisor::kill_group_now(std::uint32_t gid, const std::string& name) {
  auto g = resolve_group(gid, name, false);
  if (!g) {
    std::fprintf(stderr, "hrctl kill: %s\n", describe(g.error()).text);
    return exit_unknown;
  }
  // This group's members that still run (no supervisor watches them): killed by the stops.
  (void)ctl_->for_each_member(*g, [&](const process_view& p) {
    const proc_slot* s = rt_.proc(p.id);
    if (s == nullptr || p.state != process_state::running) return;
    const int pid = load(s->pid);
    if (load(s->handle) != p.handle) return;
    const int pfd = open_member_pidfd(pid, load(s->start_time), member_uid());
    if (pfd >= 0) runs_[p.id] = run_state{pid, pfd, false, p.handle, *g, now()};
  });
  if (group_slot* gs = rt_.group(*g))
    store(gs->pending_outcome, static_cast<std::uint32_t>(outcome_killed));
  drive([&](auto& sink) { return ctl_->kill_group(now(), *g, sink); });
  std::printf("group killed\n");
  return exit_ok;
}

// Another group than the own one has members running, reruns due or a stop going on.
bool supervisor::others_active() const {
  for (const run_state& r : runs_)
    if (r.pid > 0 && r.gid != own_) return true;
  for (const pending_run& p : pending_)
    if (p.gid != own_) return true;
  for (const auto& [gid, st] : stops_)
    if (gid != own_) return true;
  return false;
}

// The own group still has something under way that decides how it ends.
bool supervisor::own_busy() const {
  for (const pending_run& p : pending_)
    if (p.gid == own_) return true;
  return stops_.count(own_) != 0;
}

// SIGTERM/SIGINT/SIGHUP: every group with members running (or about to rerun) is stopped
// gracefully and held; waits until they are gone.
void supervisor::shutdown(int sig, std::uint64_t stop_timeout_ms) {
  stopping_ = true;
  std::vector<std::uint32_t> gids;
  for (const run_state& r : runs_)
    if (r.pid > 0 && !contains(gids, r.gid)) gids.push_back(r.gid);
  for (const pending_run& p : pending_)
    if (!contains(gids, p.gid)) gids.push_back(p.gid);
  pending_.clear();
  if (!gids.empty())
    log("stopping: SIGTERM sent to every member; SIGKILL in %llu ms",
        static_cast<unsigned long long>(stop_timeout_ms));
  for (std::uint32_t gid : gids)
    if (ctl_->group_info(gid)) begin_stop(gid, stop_timeout_of(gid, stop_timeout_ms), 128 + sig);
  while (!stops_.empty()) {
    check_stops();
    if (stops_.empty()) break;
    (void)wait_events(20);
  }
}

// ---- output ----------------------------------------------------------------------------

namespace {
// Never blocks the supervisor for long: a reader that stops reading (a full pipe) must not stop
// it from restarting crashed members. Chunks of at most PIPE_BUF once poll() says the fd is
// writable (a pipe then has room for them); after 100 ms without room the rest is dropped.
void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    pollfd pf{fd, POLLOUT, 0};
    const int r = ::poll(&pf, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || (pf.revents & (POLLERR | POLLNVAL)) != 0) return;
    const ssize_t w = ::write(fd, p, std::min<std::size_t>(n, PIPE_BUF));
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) return;  // the reader went away: the output is lost, the member is not
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}
}  // namespace

// Reads what a run wrote and writes it on, each complete line prefixed. At EOF (every writer
// gone), or when `to_eof` is false and nothing more is there, returns; at EOF a last partial line
// is written with a newline added, and the stream is closed (fd = -1).
void supervisor::pump(out_stream& s, bool to_eof) {
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !to_eof) return;
    if (n < 0 && errno == EAGAIN) return;  // a writer (a grandchild?) still holds it: later
    if (n > 0) {
      s.partial.append(buf, static_cast<std::size_t>(n));
      std::string out;
      std::size_t start = 0;
      for (std::size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        out += s.prefix;
        out.append(s.partial, start, nl + 1 - start);
      }
      s.partial.erase(0, start);
      if (!out.empty()) write_all(s.dest, out.data(), out.size());
      continue;
    }
    // EOF or an error: the last partial line, then the stream is done.
    if (!s.partial.empty()) {
      const std::string out = s.prefix + s.partial + "\n";
      write_all(s.dest, out.data(), out.size());
      s.partial.clear();
    }
    ::close(s.fd);
    s.fd = -1;
    return;
  }
}

// Before hrctl exits: what the ended runs wrote and nobody read yet.
void supervisor::drain_streams() {
  for (out_stream& st : streams_)
    if (st.fd >= 0) pump(st, true);
  for (out_stream& st : streams_)
    if (st.fd >= 0 && !st.partial.empty()) {  // a writer is still alive: flush what we have
      const std::string out = st.prefix + st.partial + "\n";
      write_all(st.dest, out.data(), out.size());
      st.partial.clear();
    }
}

void supervisor::drop_outputs(std::uint32_t gid) {
  for (auto it = outs_.begin(); it != outs_.end();) {
    if (it->second.gid == gid) {
      if (it->second.out >= 0) ::close(it->second.out);
      if (it->second.err >= 0) ::close(it->second.err);
      it = outs_.erase(it);
    } else {
      ++it;
    }
  }
}

// One wait: for a run to end, a member's output, a signal, or `timeout_ms`. Output is relayed
// and ended runs are reaped here. Returns the stop signal received (SIGTERM, SIGINT, SIGHUP)
// or 0.
int supervisor::wait_events(long timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<std::uint32_t> ids;
  fds.push_back({sig_fd_, POLLIN, 0});
  for (std::uint32_t id = 0; id < runs_.size(); ++id)
    if (runs_[id].pid > 0 && runs_[id].pidfd >= 0) {
      fds.push_back({runs_[id].pidfd, POLLIN, 0});
      ids.push_back(id);
    }
  const std::size_t first_stream = fds.size();
  for (const out_stream& st : streams_) fds.push_back({st.fd, POLLIN, 0});
  // A connection to the relay socket: an offered output, or a requester's wake-up.
  const std::size_t relay_at = fds.size();
  if (relay_fd_ >= 0 && !light_) fds.push_back({relay_fd_, POLLIN, 0});
  // A run without a pidfd (pidfd_open failed: fds exhausted?) is looked at every 100 ms.
  bool unwatched = false;
  for (const run_state& r : runs_) unwatched = unwatched || (r.pid > 0 && r.pidfd < 0 && r.child);
  if (unwatched) timeout_ms = std::min(timeout_ms, 100L);
  const int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout_ms));
  int stop_sig = 0;
  if (n > 0 && (fds[0].revents & POLLIN) != 0) {
    signalfd_siginfo si{};
    while (::read(sig_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      const int sig = static_cast<int>(si.ssi_signo);
      if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && stop_sig == 0) stop_sig = sig;
      if (sig == SIGUSR1 && !light_) serve_requests();
    }
  }
  if (n > 0) {
    // Output first, so that a member's last lines come before the report of its end.
    for (std::size_t k = first_stream; k < relay_at; ++k)
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
        pump(streams_[k - first_stream], false);
    if (relay_at < fds.size() && (fds[relay_at].revents & POLLIN) != 0) {
      accept_relays();
      serve_requests();
    }
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                  [](const out_stream& st) { return st.fd < 0; }),
                   streams_.end());
    for (std::size_t k = 1; k < first_stream; ++k)
      if ((fds[k].revents & (POLLIN | POLLHUP)) != 0) reap(ids[k - 1]);
  }
  if (unwatched)
    for (std::uint32_t id = 0; id < runs_.size(); ++id)
      if (runs_[id].pid > 0 && runs_[id].pidfd < 0 && runs_[id].child) reap(id);
  return stop_sig;
}

void supervisor::finish() {
  drain_streams();
  if (relay_fd_ >= 0) {
    relay_unlink(bo_.path);
    ::close(relay_fd_);
    relay_fd_ = -1;
  }
  if (!light_ && rt_) {
    std::int32_t me = ::getpid();
    std::atomic_ref<std::int32_t>(rt_.header().supervisor_pid)
        .compare_exchange_strong(me, 0, std::memory_order_acq_rel);
  }
}

int supervisor::serve(std::uint32_t own, std::uint64_t stop_timeout_ms, bool serve_all) {
  own_ = own;
  stop_timeout_ms_ = stop_timeout_ms;
  if (own_ != no_group) {
    // A delegated hrctl run that took over finds its group as it is.
    if (!ctl_->group_info(own_)) {
      const group_slot* gs = rt_.group(own_);
      own_outcome_ =
          gs != nullptr && load(gs->last_outcome) == outcome_killed ? exit_killed : exit_ok;
    } else if (const group_slot* gs = rt_.group(own_);
               gs != nullptr && load(gs->held) != hold_none && stops_.count(own_) == 0) {
      bool alive = false;
      for (const run_state& r : runs_) alive = alive || (r.pid > 0 && r.gid == own_);
      if (!alive) own_outcome_ = static_cast<int>(gs->hold_code);
    }
  }
  std::uint64_t last_tick = 0;
  for (;;) {
    if (!queue_.empty()) handle_site_restarts();
    // Due reruns.
    const std::uint64_t t = now();
    for (std::size_t i = 0; i < pending_.size();) {
      if (pending_[i].due_ms <= t) {
        const std::uint32_t id = pending_[i].id;
        pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
        std::string err;
        (void)run_member(id, &err);
        i = 0;
      } else {
        ++i;
      }
    }
    check_stops();
    if (own_ != no_group && own_outcome_ >= 0 && !own_busy() && queue_.empty()) {
      if (!serve_all || !others_active()) {
        if (others_active())
          log("group %u ended; other groups still run: a waiting hrctl run of theirs takes them "
              "over (or the next hrctl run/serve on the bank adopts them)",
              own_);
        finish();
        return own_outcome_;
      }
    }
    if (t - last_tick >= 250) {
      // The bank is checked on every tick (one fstat): another user may not write it.
      if (!bank_trusted()) {
        shutdown(SIGTERM, stop_timeout_ms);
        finish();
        return exit_bank_path;
      }
      (void)ctl_->tick(t);
      last_tick = t;
      check_heartbeats();
      serve_requests();
      accept_relays();
    }
    long timeout = 100;
    for (const pending_run& p : pending_)
      timeout = std::min<long>(timeout, p.due_ms > t ? static_cast<long>(p.due_ms - t) : 0);
    for (const auto& [gid, st] : stops_)
      if (!st.killed)
        timeout =
            std::min<long>(timeout, st.deadline_ms > t ? static_cast<long>(st.deadline_ms - t) : 0);
    if (const int sig = wait_events(timeout); sig != 0) {
      log("%s received: stopping the group(s) gracefully", signal_name(sig));
      shutdown(sig, stop_timeout_ms);
      finish();
      if (own_ != no_group && own_outcome_ >= 0) return own_outcome_;
      return 128 + sig;
    }
  }
}

}  // namespace hrctl
