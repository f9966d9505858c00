// SPDX-License-Identifier: MIT
// The request mailbox in the runtime block: how a restartable process (hrfexec) and the hrctl
// commands (kill -g, restart, upgrade, a delegated run) ask the one supervisor of a bank to act.
// The controller stays single-writer: only the supervisor drives it. See layout.hpp for the
// protocol; a crash of either side loses no request (docs/hrctl.md, "Requests").
#ifndef HOTRESTART_POSIX_MAILBOX_HPP
#define HOTRESTART_POSIX_MAILBOX_HPP

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/posix/convert.hpp>
#include <hotrestart/posix/image.hpp>
#include <hotrestart/posix/layout.hpp>
#include <hotrestart/posix/relay.hpp>

namespace hotrestart::posix {

/// The `status` of a request's answer is an hrctl exit code (tools/hrctl/exit_codes.hpp is the
/// one table of their names and meanings). The requesters in this runtime (hrfexec, the ChorusOS
/// calls) tell these apart:
inline constexpr int request_ok = 0;           ///< done
inline constexpr int request_failed = 1;       ///< internal or I/O error
inline constexpr int request_bad_program = 3;  ///< PROGRAM missing or not executable
inline constexpr int request_unknown = 4;      ///< unknown group or process
inline constexpr int request_refused = 13;     ///< the controller refused

/// What a requester asks. `program`/`argv` are set when the request carries an image.
struct request_in {
  request_kind kind = req_kill_group;
  std::uint32_t gid = 0xFFFFFFFFu;
  std::uint32_t parent = 0xFFFFFFFFu;
  std::uint32_t flags = 0;
  std::uint64_t heartbeat_ms = 0;
  std::uint32_t stop_timeout_ms = 0;
  std::uint32_t stop_signal = 0;
  std::uint32_t standby_timeout_ms = 0;  ///< run with req_standby
  std::vector<listen_record> listen;     ///< run: the group's sockets (family, address, port)
  /// The request's id (new_request_id()): a request retried with the same id after its
  /// supervisor went away is performed once. 0: a new one is drawn by submit_request.
  std::uint64_t id = 0;
  std::string name;
  std::string group_name;
  const program_file* program = nullptr;
  std::vector<std::string> argv;
  /// A delegated run whose output comes back (req_relay_output): these descriptors are handed
  /// to the supervisor through the relay socket of the bank at `bank_path` (relay.hpp).
  int relay_out = -1;
  int relay_err = -1;
  std::string bank_path;
};

struct request_out {
  int status = request_ok;
  int pid = 0;
  std::uint32_t gid = 0;
  std::uint32_t terminations = 0;
  std::string message;
  std::string relay_problem;  ///< why the output could not be handed over (it then goes to
                              ///< the supervisor's), empty if it was or none was asked
};

/// A fresh request id: 64 random bits (getrandom), else pid, time and a counter. Never 0.
inline std::uint64_t new_request_id() {
  std::uint64_t id = 0;
  if (::getrandom(&id, sizeof id, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof id) || id == 0) {
    static std::atomic<std::uint32_t> counter{0};
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    id = (std::uint64_t{static_cast<std::uint32_t>(::getpid())} << 40) ^
         (static_cast<std::uint64_t>(ts.tv_sec) << 20) ^ static_cast<std::uint64_t>(ts.tv_nsec) ^
         (std::uint64_t{counter.fetch_add(1)} << 52);
  }
  return id == 0 ? 1 : id;
}

inline void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/// True while the supervisor recorded in the runtime header is alive (pid and start time).
inline bool recorded_supervisor_alive(const runtime_view& rt) {
  return same_process_alive(load(rt.header().supervisor_pid), load(rt.header().supervisor_start));
}

/// True if a process of group `gid` still runs (a proc record of the group with a live pid).
inline bool group_has_live_members(const runtime_view& rt, std::uint32_t gid) {
  for (std::uint32_t id = 0; id < rt.max_processes(); ++id) {
    const proc_slot* s = rt.proc(id);
    const int pid = load(s->pid);
    if (s->gid == gid && pid > 0 && same_process_alive(pid, load(s->start_time))) return true;
  }
  return false;
}

/// Posts a request and waits for the answer (up to `timeout_ms`). Errors: the bank's
/// (bank_full, block_table_full) when staging an image; `io_error` when no slot is free or no
/// answer came in time (a request still waiting is withdrawn: it will not be performed; one
/// the supervisor has begun may still be, and its slot is freed when it is answered);
/// `not_found` when no supervisor serves the bank (any more): a request still waiting is
/// withdrawn, one the dead supervisor had begun is served again by the next one.
template <class Bank>
[[nodiscard]] result<request_out> submit_request(Bank& bank, const runtime_view& rt,
                                                 const request_in& in, std::uint64_t timeout_ms) {
  const std::uint64_t id = in.id != 0 ? in.id : new_request_id();
  request_slot* slot = nullptr;
  std::uint32_t index = 0;
  const std::uint64_t deadline = monotonic_ms() + timeout_ms;
  auto gone = [&](std::uint32_t& misses) {
    // Twice in a row, 50 ms apart at least: a supervisor taking over writes its pid first.
    if (recorded_supervisor_alive(rt))
      misses = 0;
    else
      ++misses;
    return misses >= 2;
  };
  std::uint32_t misses = 0;
  std::uint64_t next_check = monotonic_ms() + 50;
  while (slot == nullptr) {
    for (std::uint32_t i = 0; i < request_slots && slot == nullptr; ++i) {
      std::uint32_t expect = req_free;
      if (std::atomic_ref<std::uint32_t>(rt.request(i)->state)
              .compare_exchange_strong(expect, req_claimed, std::memory_order_acq_rel)) {
        slot = rt.request(i);
        index = i;
      }
    }
    if (slot == nullptr) {
      if (monotonic_ms() > deadline)
        return fail(errc::io_error, "every mailbox slot is busy: is the supervisor running?");
      if (monotonic_ms() >= next_check) {
        next_check = monotonic_ms() + 50;
        if (gone(misses)) return fail(errc::not_found, "no supervisor serves the bank");
      }
      sleep_ms(5);
    }
  }
  store(slot->requester, static_cast<std::int32_t>(::getpid()));
  const staging_block_name stg(index);
  auto release = [&] { store(slot->state, static_cast<std::uint32_t>(req_free)); };
  if (in.program != nullptr) {
    (void)bank.free(hotrestart::detail::internal_access, stg);  // a stale one from a dead requester
    auto b = bank.find_or_create(hotrestart::detail::internal_access, stg,
                                 image_bytes(in.program->bytes, in.argv));
    if (!b) {
      release();
      return fail(b.error());
    }
    if (auto w = write_image(*b, *in.program, in.argv, in.name); !w) {
      (void)bank.free(hotrestart::detail::internal_access, stg);
      release();
      return fail(w.error());
    }
  }
  slot->kind = in.kind;
  slot->gid = in.gid;
  slot->parent = in.parent;
  slot->flags = in.flags;
  request_out out;
  if ((in.flags & req_relay_output) != 0) {
    out.relay_problem = relay_offer_fds(in.bank_path, load(rt.header().supervisor_pid), index,
                                        in.relay_out, in.relay_err);
    if (!out.relay_problem.empty()) slot->flags &= ~std::uint32_t{req_relay_output};
  }
  slot->heartbeat_ms = in.heartbeat_ms;
  slot->stop_timeout_ms = in.stop_timeout_ms;
  slot->stop_signal = in.stop_signal;
  slot->standby_timeout_ms = in.standby_timeout_ms;
  slot->listen_count = 0;
  for (std::uint32_t i = 0; i < max_listen; ++i) {
    slot->listen_addr[i] = 0;
    slot->listen_port[i] = 0;
    if (listen_record* r = rt.request_listen(index, i)) *r = listen_record{};
  }
  for (std::size_t i = 0; i < in.listen.size() && i < max_listen; ++i) {
    listen_record* r = rt.request_listen(index, static_cast<std::uint32_t>(i));
    if (r == nullptr) break;
    *r = in.listen[i];
    // The v2 words too (an IPv4 address), as v2 readers of a request slot knew them.
    if (in.listen[i].family == AF_INET) std::memcpy(&slot->listen_addr[i], in.listen[i].addr, 4);
    slot->listen_port[i] = in.listen[i].port;
    slot->listen_count = static_cast<std::uint32_t>(i + 1);
  }
  slot->id_lo = static_cast<std::uint32_t>(id);
  slot->id_hi = static_cast<std::uint32_t>(id >> 32);
  slot->status = 0;
  slot->result_pid = 0;
  slot->name_len = static_cast<std::uint32_t>(in.name.size() < 32 ? in.name.size() : 32);
  std::memcpy(slot->name, in.name.data(), slot->name_len);
  slot->group_name_len =
      static_cast<std::uint32_t>(in.group_name.size() < 32 ? in.group_name.size() : 32);
  std::memcpy(slot->group_name, in.group_name.data(), slot->group_name_len);
  std::memset(slot->message, 0, sizeof slot->message);
  store(slot->state, static_cast<std::uint32_t>(req_ready));
  // Wake the supervisor: an offered relay already did (it polls the relay socket). Otherwise
  // SIGUSR1 to the pid the bank records, but only if the bank is this user's own: a pid read
  // from another user's bank (root's hrctl on a --user bank) is never signalled; a poke on
  // the relay socket, whose peer the kernel vouches for, wakes it instead (or its next tick).
  if ((in.flags & req_relay_output) == 0 || !out.relay_problem.empty()) {
    const int sup = load(rt.header().supervisor_pid);
    bool own = false;
    if constexpr (requires { bank.backend().descriptor(); }) {
      struct stat st;
      own = ::fstat(bank.backend().descriptor(), &st) == 0 && st.st_uid == ::geteuid();
    }
    if (own && sup > 0)
      ::kill(sup, SIGUSR1);
    else if (!in.bank_path.empty())
      (void)relay_poke(in.bank_path, sup);
  }
  // Withdraws a request the supervisor has not taken yet; false if it has.
  auto withdraw = [&] {
    std::uint32_t expect = req_ready;
    if (!std::atomic_ref<std::uint32_t>(slot->state)
             .compare_exchange_strong(expect, req_claimed, std::memory_order_acq_rel))
      return false;
    if (in.program != nullptr) (void)bank.free(hotrestart::detail::internal_access, stg);
    release();
    return true;
  };
  misses = 0;
  next_check = monotonic_ms() + 50;
  while (load(slot->state) != req_done) {
    if (monotonic_ms() > deadline) {
      if (withdraw()) return fail(errc::io_error, "the supervisor did not answer in time");
      // Taken: hand the slot to the supervisor, which frees it when it answers; if the answer
      // came meanwhile, take it after all.
      std::uint32_t expect = req_serving;
      if (std::atomic_ref<std::uint32_t>(slot->state)
              .compare_exchange_strong(expect, req_abandoned, std::memory_order_acq_rel))
        return fail(errc::io_error, "the supervisor did not answer in time (it is serving it)");
      continue;  // done: read below
    }
    if (monotonic_ms() >= next_check) {
      next_check = monotonic_ms() + 50;
      if (gone(misses)) {
        (void)withdraw();  // one it took is served again by the next supervisor
        return fail(errc::not_found, "the supervisor went away before answering");
      }
    }
    sleep_ms(1);
  }
  out.status = slot->status;
  out.pid = slot->result_pid;
  out.gid = slot->result_gid;
  out.terminations = slot->result_terminations;
  out.message.assign(slot->message, ::strnlen(slot->message, sizeof slot->message));
  release();
  return out;
}

/// The supervisor's side, for the request in slot `index` that it took (serving): writes the
/// answer and sets done. If its requester stopped waiting meanwhile (abandoned), nobody will
/// read the answer: the slot and its staging block are freed instead.
template <class Bank>
void answer_request(Bank& bank, const runtime_view& rt, std::uint32_t index, int status,
                    std::string_view msg) {
  request_slot& s = *rt.request(index);
  s.status = status;
  std::memset(s.message, 0, sizeof s.message);
  std::memcpy(s.message, msg.data(), std::min(msg.size(), sizeof s.message - 1));
  std::uint32_t expect = req_serving;
  if (std::atomic_ref<std::uint32_t>(s.state).compare_exchange_strong(expect, req_done,
                                                                      std::memory_order_acq_rel))
    return;
  if (expect == req_abandoned) {
    (void)bank.free(hotrestart::detail::internal_access, staging_block_name(index));
    store(s.state, static_cast<std::uint32_t>(req_free));
    return;
  }
  store(s.state, static_cast<std::uint32_t>(req_done));
}

/// Opens the bank at `where` (a path and its expected owner, or a descriptor) and its runtime
/// block. Errors: the bank's (untrusted_file: another user could write it), not_found (no
/// runtime block: hrctl never ran on this bank), the runtime block's.
struct attached_bank {
  mmap_bank bank;
  runtime_view rt;
};
[[nodiscard]] inline result<attached_bank> attach_bank(const mmap_location& where) {
  auto b = mmap_bank::open(where);
  if (!b) return fail(b.error());
  auto rt = attach_runtime(*b);
  if (!rt) return fail(rt.error());
  return attached_bank{std::move(*b), *rt};
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_MAILBOX_HPP
