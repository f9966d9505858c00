// SPDX-License-Identifier: MIT
// The supervisor's story, as the ChorusOS controller's: open the bank and adopt what it keeps;
// then, in one poll loop, a member's end is reported to the controller (crash -> decide), and
// the controller's actions are performed (act: rerun, stop, site restart, terminate).
#include "supervisor.hpp"
#include "validate.hpp"

#include "heartbeat.hpp"
#include "rescue.hpp"
#include "trace.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hrctl {

namespace {
constexpr std::uint64_t max_restart_delay_ms = 1000;

std::string name_of(const process_view& p) {
  return std::string(p.name());
}

bool contains(const std::vector<std::uint32_t>& v, std::uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

std::uint64_t supervisor::now() const {
  return monotonic_ms();
}

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
  log.error(
      "bank %s may now be written by another user (owner uid %u, permissions %s): no request "
      "from it is obeyed and no image from it is run any more; stopping its groups. A bank "
      "that others could write cannot be trusted again: check it before using it",
      bo_.path.c_str(), static_cast<unsigned>(why.uid), perm);
  return false;
}

namespace {
supervisor* fault_owner = nullptr;  // the supervisor whose bank a SIGBUS may come from
}  // namespace

bool supervisor::bank_whole() {
  struct stat st;
  if (!bank_ || ::fstat(bank_->backend().descriptor(), &st) != 0) return true;
  if (static_cast<std::uint64_t>(st.st_size) >= bank_->backend().size()) return true;
  log.error(
      "bank %s was cut short under the supervisor (now %lld bytes; it maps %llu): its state is "
      "lost. Stopping every member; exit %d",
      bo_.path.c_str(), static_cast<long long>(st.st_size),
      static_cast<unsigned long long>(bank_->backend().size()), exit_bank_lost);
  return false;
}

// SIGTERM to every run, SIGKILL to those left after `timeout_ms`; nothing in the bank is read
// or written (it may be gone).
void supervisor::abandon_runs(std::uint64_t timeout_ms) {
  standby_drop_all();
  for (const run_state& r : runs_)
    if (r.pid > 0) signal_run(r, SIGTERM);
  const std::uint64_t deadline = now() + timeout_ms;
  for (;;) {
    bool left = false;
    for (run_state& r : runs_) {
      if (r.pid <= 0) continue;
      int st = 0;
      const bool gone = r.child ? ::waitpid(r.pid, &st, WNOHANG) == r.pid : ::kill(r.pid, 0) != 0;
      if (gone) {
        if (r.pidfd >= 0) ::close(r.pidfd);
        r = run_state{};
      } else {
        left = true;
      }
    }
    if (!left) return;
    if (now() >= deadline) break;
    sleep_ms(10);
  }
  for (run_state& r : runs_)
    if (r.pid > 0) {
      signal_run(r, SIGKILL);
      if (r.child) (void)::waitpid(r.pid, nullptr, 0);
    }
}

// A read or write past the end of the bank file: the file was cut short. Only system calls
// from here (a signal handler): the message made at open, SIGKILL to every run, exit.
void supervisor::on_bank_fault(int sig, siginfo_t* si, void*) {
  supervisor* s = fault_owner;
  const std::byte* base = s != nullptr && s->bank_ ? s->bank_->backend().data() : nullptr;
  const auto* at = static_cast<const std::byte*>(si->si_addr);
  if (base == nullptr || at < base || at >= base + s->bank_->backend().size()) {
    ::signal(sig, SIG_DFL);  // not the bank's: the default action when the access is retried
    return;
  }
  (void)!::write(2, s->fault_msg_.data(), s->fault_msg_.size());
  for (const run_state& r : s->runs_)
    if (r.pid > 0) (void)s->signal_run(r, SIGKILL);
  ::_exit(exit_bank_lost);
}

void supervisor::watch_bank_faults() {
  fault_owner = this;
  fault_msg_ = "hrctl: bank " + bo_.path +
               " was cut short under the supervisor (a read past its end: SIGBUS): its state "
               "is lost; every member is killed; exit " +
               std::to_string(exit_bank_lost) + "\n";
  struct sigaction sa {};
  sa.sa_sigaction = &supervisor::on_bank_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
}

const uid_t* supervisor::member_uid() const {
  return as_.other ? &as_.uid : nullptr;
}

int supervisor::signal_run(const run_state& r, int sig) const {
  if (r.pidfd >= 0) return signal_pidfd(r.pidfd, sig);
  return r.child ? ::kill(r.pid, sig) : -1;  // (a child's pid is ours until we reap it)
}

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
  auto existing = open_bank_converting(bo.where());
  if (!existing && (existing.error().code != errc::not_found || !create))
    return report_bank_error("cannot open bank", bo.path, existing.error(), as_.uid);
  if (!existing) {
    if (bo.bank_size < need || bo.max_blocks < need_blocks) {
      std::fprintf(
          stderr,
          "hrctl: bank too small for what is asked: --bank-size %llu, --max-blocks %u.\n"
          "hrctl: sizing rule: bank size >= controller state + runtime state (%llu bytes "
          "for %u groups and %u processes) + 2 x the size of the restartable processes "
          "(each process image is kept in the bank; at least one page each: %llu bytes); "
          "max blocks >= max processes + %u (%llu): one image per process, the "
          "controller block, the three runtime blocks, %u staged images, one block for the "
          "programs\n",
          static_cast<unsigned long long>(bo.bank_size), bo.max_blocks,
          static_cast<unsigned long long>(fixed), bo.max_groups, bo.max_processes,
          static_cast<unsigned long long>(need), min_extra_blocks,
          static_cast<unsigned long long>(need_blocks), request_slots);
      return exit_too_small;
    }
    auto c = mmap_bank::create(bo.where(), t);
    file_created_ = c.has_value();
    if (!c && c.error().code == errc::already_exists) c = open_bank_converting(bo.where());
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
  launch_.bind(*bank_, as_, bo_.path, member_fd_);
  listeners_.bind(as_);
  return exit_ok;
}

int supervisor::take_node_lease() {
  node_name_ = this_node(bo_.service);
  if (const char* t = std::getenv("HR_TEST_BOOT_ID"); t != nullptr && *t != '\0')
    log.warn("HR_TEST_BOOT_ID is set: this process claims boot id %s (for tests only)", t);
  if (rt_.lease() == nullptr) return exit_ok;  // (open_runtime attaches it: version 4)
  {
    const lease_record& l = *rt_.lease();
    const std::string node(l.node, std::min<std::size_t>(l.node_len, sizeof l.node));
    const std::string boot(l.boot_id, ::strnlen(l.boot_id, sizeof l.boot_id));
    pids_foreign_ = !node.empty() && (node != node_name_ || boot != this_boot_id());
    last_holder_ = "node " + node + " (boot id " + boot + ")";
  }
  if (int rc =
          take_lease(*rt_.lease(), node_name_, bo_.service.lease_ms, bo_.path, log, lease_seq_);
      rc != exit_ok)
    return rc;
  lease_taken_ = true;
  lease_renewed_at_ = now();
  flush_lease();
  return exit_ok;
}

// The lease is released only when no member of this node runs from the bank any more (a member
// left running keeps writing it: the lease then expires, and fencing must stop it).
void supervisor::release_node_lease() {
  if (!lease_taken_ || rt_.lease() == nullptr) return;
  bool running = false;
  for (const run_state& r : runs_) running = running || r.pid > 0;
  if (!running) {
    release_lease(*rt_.lease(), lease_seq_);
    flush_lease();
  }
  lease_taken_ = false;
}

bool supervisor::renew_node_lease(std::uint64_t t) {
  if (!lease_taken_ || rt_.lease() == nullptr) return true;
  if (t - lease_renewed_at_ < bo_.service.lease_ms / 4) return true;
  lease_record& l = *rt_.lease();
  if (!renew_lease(l, lease_seq_, realtime_ms())) {
    lease_taken_ = false;
    log.error(
        "bank %s: the lease was taken over by %s while this supervisor served it (it was not "
        "renewed within its time: this node was paused or cut off?). Two nodes may have used "
        "the bank: stopping every member here without touching the bank; exit %d",
        bo_.path.c_str(), describe_lease(l, realtime_ms()).c_str(), exit_lease);
    return false;
  }
  lease_renewed_at_ = t;
  flush_lease();
  return true;
}

// A bank on storage that other nodes read: the lease's page written out (msync) at once.
void supervisor::flush_lease() {
  if (!bank_ || rt_.lease() == nullptr) return;
  const auto off = static_cast<std::uint64_t>(reinterpret_cast<const std::byte*>(rt_.lease()) -
                                              bank_->backend().data());
  (void)bank_->backend().flush_range(off, sizeof(lease_record));
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
  const bool formatted_now = fresh || fh->magic == 0;
  if (formatted_now) {  // new, or its formatting was cut short (magic written last)
    fh->version = runtime_version;
    fh->max_groups = bo_.max_groups;
    fh->max_processes = effective_max_processes(bo_.max_processes);
    record_policy(bo_, *fh);
    store(fh->magic, runtime_magic);
  }
  // A fresh block (version 4 from the start) gets its extension and lease blocks; a version-2
  // or 3 one is converted (convert.hpp: all or nothing), keeping everything it records.
  if (formatted_now || load(fh->version) == runtime_version) {
    auto v = runtime_view::attach(*rb);
    if (!v) return report_bank_error("refusing the runtime state of bank", bo_.path, v.error());
    const bool has_ext = bank_->find(runtime_ext_block_name).has_value();
    const bool has_lease = bank_->find(lease_block_name).has_value();
    if ((!has_ext || !has_lease) && !formatted_now)
      return report_bank_error(
          "refusing the runtime state of bank", bo_.path,
          error(errc::corrupt, has_ext ? "runtime block version 4 without its lease block"
                                       : "runtime block version 4 without its extension block"));
    if (!has_ext) {
      auto xb = bank_->find_or_create(hotrestart::detail::internal_access, runtime_ext_block_name,
                                      runtime_ext_block_bytes(v->max_groups()));
      if (!xb)
        return report_bank_error("cannot keep the runtime state in bank", bo_.path, xb.error());
      format_runtime_ext(xb->data, xb->capacity, *v, nullptr);
    }
    if (!has_lease)
      if (auto l = make_lease_block(*bank_); !l)
        return report_bank_error("cannot keep the runtime state in bank", bo_.path, l.error());
  } else {
    auto c = convert_runtime(*bank_);
    if (!c)
      return report_bank_error("cannot convert the runtime state of bank", bo_.path, c.error());
    log("bank %s: %s", bo_.path.c_str(), describe_conversion(*c).c_str());
  }
  auto rt = attach_runtime(*bank_);
  if (!rt) return report_bank_error("refusing the runtime state of bank", bo_.path, rt.error());
  rt_ = *rt;
  listeners_.attach(rt_);
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
  log.quiet = quiet;
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
  service_extend_for_bank(bo.path);  // (under a service: a large bank takes a while to check)
  if (int rc = open_bank(bo, true, busy); rc != exit_ok) return rc;
  if (int rc = open_runtime(true); rc != exit_ok) return rc;
  bool created = false;
  if (int rc = open_controller(&created); rc != exit_ok) return rc;
  if (bank_refused_as_corrupt(*bank_, rt_, *ctl_, bo_.path, bo.force)) return exit_bank;
  // The lease once the bank is known sound (a refused bank is left unchanged), before anything
  // in it is acted on.
  if (int rc = take_node_lease(); rc != exit_ok) return rc;
  outputs_.listen(bo_.path, false);
  watch_bank_faults();
  // "group N: ..." and "group N ...": also to group N's delegated runs.
  log.tee = [this](std::string_view line) {
    if (!line.starts_with("group ")) return;
    std::uint32_t gid = 0;
    std::size_t k = 6;
    for (; k < line.size() && line[k] >= '0' && line[k] <= '9' && k < 16; ++k)
      gid = gid * 10 + static_cast<std::uint32_t>(line[k] - '0');
    if (k > 6 && k < line.size() && (line[k] == ':' || line[k] == ' ')) outputs_.tee(gid, line);
  };
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
    std::uint32_t groups = 0;
    for (std::uint32_t gid = 0; gid < ctl_->max_groups(); ++gid)
      if (ctl_->group_info(gid)) ++groups;
    if (groups == 0)
      log("bank %s: opened (no group in it)", bo_.path.c_str());
    else
      log("bank %s: adopting the %u group%s it keeps", bo_.path.c_str(), groups,
          groups == 1 ? "" : "s");
    adopt();
  } else {
    log("bank %s: %s (%llu bytes for blocks, max %u blocks, %u groups, %u processes; policy %s)",
        bo_.path.c_str(),
        file_created_ ? "created" : "an existing bank without hrctl's state: that state set up",
        static_cast<unsigned long long>(bank_->layout().bank_size), bank_->layout().max_blocks,
        h.max_groups, h.max_processes, describe_policy(h).c_str());
  }
  // Sockets of the fd store that no group took back: their groups ended meanwhile.
  listeners_.drop_unclaimed_stored();
  return exit_ok;
}

void supervisor::discard_new_bank() {
  if (!file_created_ || !bank_) return;
  outputs_.finish(bo_.path);
  if (::unlink(bo_.path.c_str()) == 0)
    log("bank %s removed: this run created it and started nothing in it", bo_.path.c_str());
  file_created_ = false;
}

int supervisor::open_light(const bank_options& bo, bool* busy) {
  log.quiet = true;
  light_ = true;
  stopping_ = true;  // no run is started: the next supervisor performs what is left
  if (int rc = open_bank(bo, false, busy); rc != exit_ok) return rc;
  if (int rc = open_runtime(false); rc != exit_ok) return rc;
  if (int rc = take_node_lease(); rc != exit_ok) return rc;
  bool created = false;
  if (int rc = open_controller(&created); rc != exit_ok) return rc;
  drive([&](auto& sink) { return ctl_->resume(now(), sink); });
  queue_.clear();  // a pending site restart stays pending in the controller
  return exit_ok;
}

void supervisor::adopt() {
  standby_forget_recorded();
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

  if (pids_foreign_)
    log("bank %s: last served by %s, another node or boot: the pids it records are another "
        "kernel's; every member recorded running is treated as ended while no supervisor ran",
        bo_.path.c_str(), last_holder_.c_str());
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
      // (A pid another node or boot recorded names nothing here: never adopted or signalled.)
      const bool same = !pids_foreign_ && load(s->handle) == p.handle &&
                        same_process_alive(pid, load(s->start_time));
      const int pfd = same ? open_image_pidfd(pid, load(s->start_time), member_uid()) : -1;
      if (pfd >= 0) {
        runs_[p.id] = run_state{pid, pfd, false, p.handle, gid, now()};
        log("group %u: adopted member %s (pid %d)", gid, name_of(p).c_str(), pid);
        continue;
      }
      if (same && same_process_alive(pid, load(s->start_time))) {
        if (member_uid() != nullptr && process_uid(pid) != static_cast<long>(*member_uid()))
          log("group %u: member %s: pid %d does not run as %s: not adopted, never signalled", gid,
              name_of(p).c_str(), pid, as_.name.c_str());
        else
          log("group %u: member %s: pid %d does not run one of the bank's images: not adopted, "
              "never signalled",
              gid, name_of(p).c_str(), pid);
      }
      store(s->pid, std::int32_t{0});
      const bool clean = load(s->clean) == p.handle;
      if (why != hold_none && !clean) {
        log("group %u: member %s is stopped (the group is held)", gid, name_of(p).c_str());
        continue;
      }
      if (clean)
        log("group %u: member %s (pid %d) ended while no supervisor ran (cleanly)", gid,
            name_of(p).c_str(), pid);
      else
        log.warn("group %u: member %s (pid %d) ended while no supervisor ran: treated as a crash",
                 gid, name_of(p).c_str(), pid);
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
    if (gs != nullptr && gs->listen_count != 0 && !listeners_.take(*gs, gid, runs_of(gid))) {
      if (alive)
        log("group %u: cannot take the listening sockets from its running members; they are "
            "opened again when the group restarts",
            gid);
      else
        listeners_.reopen(*gs, gid);
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
  service_begin();
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
    // --on-give-up exit: the service ends, and its manager decides (Restart=, OnFailure=).
    if (give_up_exit_) {
      log.error(
          "a group was given up on and --on-give-up is exit: stopping every other group "
          "gracefully, then exit %d",
          exit_gave_up);
      shutdown(SIGTERM, stop_timeout_ms);
      finish();
      return exit_gave_up;
    }
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
      if (!bank_whole()) {
        service_stopping();
        abandon_runs(stop_timeout_ms);
        outputs_.finish(bo_.path);
        return exit_bank_lost;
      }
      // The lease, renewed every quarter of its time; lost: another node took the bank over.
      if (!renew_node_lease(t)) {
        service_stopping();
        abandon_runs(stop_timeout_ms);
        outputs_.finish(bo_.path);
        return exit_lease;
      }
      // The bank is checked on every tick (one fstat): another user may not write it.
      if (!bank_trusted()) {
        shutdown(SIGTERM, stop_timeout_ms);
        finish();
        return exit_bank_path;
      }
      (void)ctl_->tick(t);
      last_tick = t;
      serve_requests();
      outputs_.accept();
    }
    // Hangs are looked for on every pass, and no wait lasts past the next one's deadline.
    long timeout = static_cast<long>(check_heartbeats(100));
    for (const pending_run& p : pending_)
      timeout = std::min<long>(timeout, p.due_ms > t ? static_cast<long>(p.due_ms - t) : 0);
    for (const auto& [gid, st] : stops_)
      if (!st.killed)
        timeout =
            std::min<long>(timeout, st.deadline_ms > t ? static_cast<long>(st.deadline_ms - t) : 0);
    // Under a service: READY=1, STATUS=, and the watchdog's ping, which no wait delays.
    timeout = standby_pass(now(), timeout);
    service_pass(now());
    timeout = service_wait(now(), timeout);
    if (const int sig = wait_events(timeout); sig != 0) {
      log("%s received: stopping the group(s) gracefully", signal_name(sig));
      shutdown(sig, stop_timeout_ms);
      finish();
      const int rc = own_ != no_group && own_outcome_ >= 0 ? own_outcome_ : 128 + sig;
      // `systemctl stop` (SIGTERM) of a service ends in success once the stop was graceful.
      if (service().under_service() && sig == SIGTERM && rc == 128 + SIGTERM) return exit_ok;
      return rc;
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
  // The runs' output, and connections to the relay socket (an offered output, or a
  // requester's wake-up).
  const std::size_t first_output = fds.size();
  outputs_.add_pollfds(fds);
  const std::size_t first_standby = fds.size();
  std::vector<std::uint32_t> standby_ids;
  standby_add_pollfds(fds, standby_ids);
  // A run without a pidfd (pidfd_open failed: fds exhausted?) is looked at every 100 ms.
  bool unwatched = false;
  for (const run_state& r : runs_) unwatched = unwatched || (r.pid > 0 && r.pidfd < 0 && r.child);
  if (unwatched) timeout_ms = std::min(timeout_ms, 100L);
  trace::idle();
  const int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout_ms));
  const std::uint64_t woke = trace::on() ? trace::now_ns() : 0;
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
    if (outputs_.on_poll(fds.data() + first_output)) serve_requests();
    for (std::size_t k = 1; k < first_output; ++k)
      if ((fds[k].revents & (POLLIN | POLLHUP)) != 0) {
        trace::mark_at(woke, "wake", ids[k - 1], runs_[ids[k - 1]].pid);
        reap(ids[k - 1]);
      }
    standby_on_poll(fds.data() + first_standby, standby_ids);
  }
  if (unwatched)
    for (std::uint32_t id = 0; id < runs_.size(); ++id)
      if (runs_[id].pid > 0 && runs_[id].pidfd < 0 && runs_[id].child) reap(id);
  return stop_sig;
}

// SIGTERM/SIGINT/SIGHUP: every group with members running (or about to rerun) is stopped
// gracefully and held; waits until they are gone.
void supervisor::shutdown(int sig, std::uint64_t stop_timeout_ms) {
  service_stopping();
  stopping_ = true;
  standby_drop_all();
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
    service_pass(now());  // (the watchdog, through a long graceful stop)
    (void)wait_events(service_wait(now(), 20));
  }
  service_pass(now(), true);  // the last STATUS=: what the stop left
}

void supervisor::finish() {
  trace::idle();
  standby_drop_all();
  outputs_.finish(bo_.path);
  release_node_lease();
  if (!light_ && rt_) {
    std::int32_t me = ::getpid();
    std::atomic_ref<std::int32_t>(rt_.header().supervisor_pid)
        .compare_exchange_strong(me, 0, std::memory_order_acq_rel);
  }
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
  trace::mark("reaped", id, r.pid);
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
    standby_drop(id);  // a clean exit is final: no next instance
    drive([&](auto& sink) { return ctl_->process_exited_cleanly(now(), id, r.handle, sink); });
    return;
  }
  if (held(r.gid)) {
    log("group %u: %s (pid %d) stopped", r.gid, name.c_str(), r.pid);
    return;
  }
  last_crash_ = group_label(r.gid) + "/" + name;
  if (have_status && WIFSIGNALED(status)) {
    log.warn("group %u: crash detected: %s (pid %d) killed by %s (signal %d)", r.gid, name.c_str(),
             r.pid, signal_name(WTERMSIG(status)), WTERMSIG(status));
    last_crash_ += std::string(" killed by ") + signal_name(WTERMSIG(status));
  } else if (have_status) {
    log.warn(
        "group %u: crash detected: %s (pid %d) exited with status %d without the "
        "clean-exit call",
        r.gid, name.c_str(), r.pid, WEXITSTATUS(status));
    last_crash_ += " exited " + std::to_string(WEXITSTATUS(status));
  } else {
    log.warn("group %u: crash detected: %s (pid %d) ended without the clean-exit call", r.gid,
             name.c_str(), r.pid);
    last_crash_ += " ended";
  }
  if (stopping_) return;  // left for the next supervisor: the group stays in the bank
  drive([&](auto& sink) { return ctl_->process_failed(now(), id, r.handle, sink); });
  trace::mark("booked", id, r.pid);
}

std::vector<std::pair<int, int>> supervisor::runs_of(std::uint32_t gid) const {
  std::vector<std::pair<int, int>> v;
  for (const run_state& r : runs_)
    if (r.pid > 0 && r.gid == gid) v.emplace_back(r.pid, r.pidfd);
  return v;
}

// Kills the runs that are hung (heartbeat.hpp); returns how long the loop may wait before the
// next one would be (at most `cap`).
std::uint64_t supervisor::check_heartbeats(std::uint64_t cap) {
  const std::uint64_t t = now();
  std::vector<hang_watch> watched;
  for (std::uint32_t id = 0; id < runs_.size(); ++id) {
    const run_state& r = runs_[id];
    if (r.pid <= 0) continue;
    const group_slot* g = rt_.group(r.gid);
    if (g == nullptr || g->heartbeat_ms == 0) continue;
    const proc_slot* s = rt_.proc(id);
    const hang_watch w{std::max(r.started_ms, s ? load(s->heartbeat_ms) : 0), g->heartbeat_ms};
    if (hung(w, t)) {
      log.warn(
          "group %u: hang detected: pid %d sent no heartbeat for %llu ms (deadline %llu ms); "
          "killing it",
          r.gid, r.pid, static_cast<unsigned long long>(t - w.last_ms),
          static_cast<unsigned long long>(w.deadline_ms));
      signal_run(r, SIGKILL);            // its end is then a failure like any other
      runs_[id].started_ms = t + 60000;  // do not kill it twice while it dies
      continue;
    }
    watched.push_back(w);
  }
  return wait_before_hang(watched, t, cap);
}

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
      log("group %u: persistent state discarded (%u block%s freed)", a.gid, a.count,
          a.count == 1 ? "" : "s");
      break;
    case action_kind::group_terminated: {
      log("group %u terminated: its process images and %u group-keyed block%s freed", a.gid,
          a.count, a.count == 1 ? "" : "s");
      if (group_slot* g = rt_.group(a.gid)) {
        const bool killed = load(g->pending_outcome) == outcome_killed;
        reset_group_slot(a.gid);
        store(g->last_outcome, static_cast<std::uint32_t>(killed ? outcome_killed : outcome_clean));
        store(g->terminations, load(g->terminations) + 1);
        if (a.gid == own_) own_outcome_ = killed ? exit_killed : exit_ok;
      }
      stops_.erase(a.gid);
      standby_drop_group(a.gid);
      listeners_.close(a.gid);
      launch_.drop_group(a.gid);
      outputs_.drop_group(a.gid);
      groups_.erase(a.gid);
      break;
    }
    case action_kind::group_blocked: {
      char buf[512];
      if (ctl_->blocked_message(a.gid, buf, sizeof buf)) {
        std::fprintf(stderr, "%s%s\n", priority_prefix(priority::warning).data(), buf);
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
  log.warn("site restart (%s): every group restarts from persistent memory", why.c_str());
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
  log.error(
      "group %u: giving up: %u site restarts did not help (a program crashes on every start?); "
      "its members are stopped and the group is held in the bank with all its blocks; the other "
      "groups go on. Fix the program, then `hrctl upgrade -g %u -- NEW` or `hrctl run -g %u ...` "
      "restarts it, `hrctl kill -g %u` ends it",
      gid, h.max_site_restarts, gid, gid, gid);
  // The hook first (it is not waited for): it sees the group's counts as they were.
  run_give_up_hook(gid, "kept crashing: " + std::to_string(h.max_site_restarts) +
                            " site restarts in a row did not help");
  hold(gid, hold_gave_up, exit_gave_up);
  for (std::uint32_t id = 0; id < runs_.size(); ++id)
    if (runs_[id].pid > 0 && runs_[id].gid == gid) stop_run(id, SIGKILL);
  if (gid == own_) own_outcome_ = exit_gave_up;
  if (bo_.service.on_give_up == give_up_action::exit) give_up_exit_ = true;
}

}  // namespace hrctl
