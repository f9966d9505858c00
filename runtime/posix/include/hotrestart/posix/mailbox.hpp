// SPDX-License-Identifier: MIT
// The request mailbox in the runtime block: how a restartable process (hrfexec) and the hrctl
// commands (kill -g, restart, upgrade, a delegated run) ask the one supervisor of a bank to act.
// The controller stays single-writer: only the supervisor drives it. See layout.hpp for the
// protocol; a crash of either side loses no request (docs/hrctl.md, "Requests").
#ifndef HOTRESTART_POSIX_MAILBOX_HPP
#define HOTRESTART_POSIX_MAILBOX_HPP

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/posix/image.hpp>
#include <hotrestart/posix/layout.hpp>

namespace hotrestart::posix {

/// hrctl's exit codes; also the `status` of a request's answer. Documented in docs/hrctl.md.
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,       ///< internal or I/O error
  exit_usage = 2,         ///< bad command line or config file
  exit_program = 3,       ///< PROGRAM missing, not a regular file, not executable
  exit_unknown = 4,       ///< unknown group or process
  exit_bank = 5,          ///< not a bank, another version/layout, corrupt, other tunables
  exit_bank_path = 6,     ///< bank path is a symlink, not a regular file, or not writable
  exit_too_small = 7,     ///< bank too small / limits too low for what is asked
  exit_gave_up = 8,       ///< the group kept crashing: escalations exhausted, hrctl stopped
  exit_busy = 9,          ///< another supervisor serves this bank
  exit_no_supervisor = 10,  ///< the command needs a running supervisor and there is none
  exit_check = 11,        ///< hrctl check found problems
  exit_killed = 12,       ///< hrctl run: the group was killed (hrctl kill -g)
  exit_refused = 13,      ///< the controller refused (limits, duplicate name, not permitted)
  exit_timeout = 14,      ///< the supervisor did not answer in time
};

/// What a requester asks. `program`/`argv` are set when the request carries an image.
struct request_in {
  request_kind kind = req_kill_group;
  std::uint32_t gid = 0xFFFFFFFFu;
  std::uint32_t parent = 0xFFFFFFFFu;
  std::uint32_t flags = 0;
  std::uint64_t heartbeat_ms = 0;
  std::string name;
  std::string group_name;
  const program_file* program = nullptr;
  std::vector<std::string> argv;
};

struct request_out {
  int status = exit_ok;
  int pid = 0;
  std::uint32_t gid = 0;
  std::uint32_t terminations = 0;
  std::string message;
};

inline void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/// Posts a request and waits for the answer (up to `timeout_ms`). The bank's errors
/// (bank_full, block_table_full) when staging an image; `io_error` "no free mailbox slot".
inline result<request_out> submit_request(mmap_bank& bank, const runtime_view& rt,
                                          const request_in& in, std::uint64_t timeout_ms) {
  request_slot* slot = nullptr;
  std::uint32_t index = 0;
  const std::uint64_t deadline = monotonic_ms() + timeout_ms;
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
      sleep_ms(5);
    }
  }
  store(slot->requester, static_cast<std::int32_t>(::getpid()));
  auto release = [&] { store(slot->state, static_cast<std::uint32_t>(req_free)); };
  if (in.program != nullptr) {
    const staging_block_name stg(index);
    (void)bank.free(internal_access, stg);  // a stale one from a dead requester
    auto b = bank.find_or_create(internal_access, stg, image_bytes(in.program->bytes, in.argv));
    if (!b) {
      release();
      return fail(b.error());
    }
    if (auto w = write_image(*b, *in.program, in.argv, in.name); !w) {
      (void)bank.free(internal_access, stg);
      release();
      return fail(w.error());
    }
  }
  slot->kind = in.kind;
  slot->gid = in.gid;
  slot->parent = in.parent;
  slot->flags = in.flags;
  slot->heartbeat_ms = in.heartbeat_ms;
  slot->status = 0;
  slot->result_pid = 0;
  slot->name_len = static_cast<std::uint32_t>(in.name.size() < 32 ? in.name.size() : 32);
  std::memcpy(slot->name, in.name.data(), slot->name_len);
  slot->group_name_len =
      static_cast<std::uint32_t>(in.group_name.size() < 32 ? in.group_name.size() : 32);
  std::memcpy(slot->group_name, in.group_name.data(), slot->group_name_len);
  std::memset(slot->message, 0, sizeof slot->message);
  store(slot->state, static_cast<std::uint32_t>(req_ready));
  const int sup = load(rt.header().supervisor_pid);
  if (sup > 0) ::kill(sup, SIGUSR1);
  while (load(slot->state) != req_done) {
    if (monotonic_ms() > deadline)
      return fail(errc::io_error, "the supervisor did not answer in time");
    sleep_ms(1);
  }
  request_out out;
  out.status = slot->status;
  out.pid = slot->result_pid;
  out.gid = slot->result_gid;
  out.terminations = slot->result_terminations;
  out.message.assign(slot->message, ::strnlen(slot->message, sizeof slot->message));
  release();
  return out;
}

/// Opens the bank at `path` and its runtime block. Errors: the bank's, not_found (no runtime
/// block: hrctl never ran on this bank), the runtime block's.
struct attached_bank {
  mmap_bank bank;
  runtime_view rt;
};
inline result<attached_bank> attach_bank(const char* path) {
  auto b = mmap_bank::open(path);
  if (!b) return fail(b.error());
  auto blk = b->find(runtime_block_name);
  if (!blk) return fail(blk.error());
  auto rt = runtime_view::attach(*blk);
  if (!rt) return fail(rt.error());
  return attached_bank{std::move(*b), *rt};
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_MAILBOX_HPP
