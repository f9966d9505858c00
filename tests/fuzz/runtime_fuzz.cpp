// SPDX-License-Identifier: MIT
// Untrusted runtime state: opens arbitrary bytes as a bank and, when they hold hrctl's runtime
// and controller blocks, drives them through what hrctl does with them:
//   - check: validate_runtime (posix/validate.hpp) over the runtime block, the controller and
//     the images, every problem formatted;
//   - status: the walk `hrctl status` makes (groups, their slots and holds, members, pids);
//   - adoption: the decisions `hrctl run` makes when it adopts a bank (mailbox slots reclaimed
//     or served again, images kept or freed, members adopted and signalled, listening
//     sockets), with a stub signaller: no signal is ever sent, the stub records the pid.
// Nothing may crash or trip a sanitizer on any input. And the promise of the validation: a
// bank it passes is one whose every value the status and adoption walks read is one they
// know (a hold reason, an outcome, a listen count, a name length, a pid of the group's member,
// an image of that name). A bank the validation passed that breaks this traps, which
// libFuzzer and the replay report.
//
// Built as a libFuzzer target with clang (-DHOTRESTART_FUZZ=ON, .ci/jobs/10-fuzz.sh) and in
// every build as a replay over the seed corpus runtime_corpus/ (ctest fuzz_runtime_replay).
// Negative control: HOTRESTART_VALIDATE_PLANTED_FAULT removes the validation's check of the
// `held` word; the replay must trap on the seed bad-held (ctest
// fuzz_runtime_negative_control).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include <hotrestart/bank.hpp>
#include <hotrestart/posix/convert.hpp>
#include <hotrestart/posix/image.hpp>
#include <hotrestart/posix/validate.hpp>

#include "fuzz_outcome.hpp"

namespace {

using namespace hotrestart;
using namespace hotrestart::posix;
using fuzz_bank = basic_bank<span_backend>;
using snapshot = basic_controller<runtime_policy, null_block_store>;

constexpr std::size_t max_input = 1u << 20;
alignas(4096) std::byte g_mem[max_input];
std::vector<std::byte> g_ctl;
hr_fuzz_outcome g_outcome;
volatile unsigned g_sink = 0;

[[noreturn]] void violated(const char* what, std::uint64_t a = 0, std::uint64_t b = 0) {
  std::fprintf(stderr, "runtime_fuzz: a bank the validation passed: %s (%llu, %llu)\n", what,
               static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  std::fflush(stderr);
  __builtin_trap();
}

// The adoption seam: records what would be signalled, sends nothing.
struct stub_signaller {
  std::uint32_t sent = 0;
  void signal(std::int32_t pid, int sig, bool trusted, std::uint32_t gid, const proc_slot& s) {
    if (trusted) {
      if (pid <= 0)
        violated("a signal for a pid that is not a process", gid, static_cast<std::uint64_t>(sig));
      if (pid == ::getpid())
        violated("a signal for the supervisor itself", gid, static_cast<std::uint64_t>(sig));
      if (s.gid != gid) violated("a signal for a member of another group", gid, s.gid);
    }
    ++sent;
  }
};

// What `hrctl status` reads. `trusted`: the validation passed.
void status_walk(const runtime_view& rt, const snapshot& c, bool trusted) {
  const runtime_header& h = rt.header();
  if (trusted && h.policy > 2) violated("policy kind", h.policy);
  unsigned sum = 0;
  for (std::uint32_t gid = 0; gid < c.max_groups(); ++gid) {
    auto g = c.group_info(gid);
    if (!g) continue;
    const group_slot* gs = rt.group(gid);
    if (gs == nullptr) {
      if (trusted) violated("a group of the controller has no slot", gid);
      continue;
    }
    if (trusted && gs->name_len > sizeof gs->name) violated("group name length", gid, gs->name_len);
    const std::uint32_t n = gs->name_len < 32 ? gs->name_len : 32;
    for (std::uint32_t k = 0; k < n; ++k) sum += static_cast<unsigned char>(gs->name[k]);
    const char* hold = hold_name(load(gs->held));
    if (hold == nullptr && trusted) violated("held word", gid, load(gs->held));
    if (hold != nullptr) sum += static_cast<unsigned char>(hold[0]);
    (void)c.for_each_member(gid, [&](const process_view& p) {
      const proc_slot* s = rt.proc(p.id);
      if (s == nullptr) {
        if (trusted) violated("a process of the controller has no slot", p.id);
        return;
      }
      sum += static_cast<unsigned>(load(s->pid)) + load(s->runs);
      for (char ch : p.name()) sum += static_cast<unsigned char>(ch);
    });
  }
  g_sink = g_sink + sum;
}

// The decisions of supervisor::adopt, with the stub signaller.
void adoption_walk(const runtime_view& rt, const snapshot& c, fuzz_bank& bank, bool trusted) {
  stub_signaller sig;
  // Mailbox: every slot's state decides reclaim, serve again or leave.
  for (std::uint32_t i = 0; i < request_slots; ++i) {
    const request_slot& s = *rt.request(i);
    const std::uint32_t st = load(s.state);
    if (trusted && !valid_request_state(st)) violated("request state", i, st);
    if (trusted && (st == req_ready || st == req_serving || st == req_done)) {
      if (!valid_request_kind(s.kind)) violated("request kind", i, s.kind);
      if (s.name_len > 32 || s.group_name_len > 32) violated("request name length", i);
      if (s.listen_count > max_listen) violated("request listen count", i, s.listen_count);
    }
  }
  // Images referenced by the members of live groups.
  std::vector<std::uint32_t> referenced;
  for (std::uint32_t gid = 0; gid < c.max_groups(); ++gid)
    (void)c.for_each_member(gid, [&](const process_view& p) {
      if (c.group_info(gid)) referenced.push_back(p.image);
    });
  for (std::uint32_t k : referenced) {
    if (k == no_image) continue;
    auto b = bank.find(image_block_name(k).view());
    if (!b) {
      if (trusted) violated("an image a member runs from is missing", k);
      continue;
    }
    auto img = check_image(*b);
    if (!img) {
      if (trusted) violated("an image a member runs from fails check_image", k);
      continue;
    }
    if (trusted && fnv1a(b->data + (*img)->exe_offset, (*img)->exe_bytes) != (*img)->exe_checksum)
      violated("an image's checksum", k);
  }
  // Members recorded as running: adopted (signalled later) or reported gone.
  for (std::uint32_t gid = 0; gid < c.max_groups(); ++gid) {
    auto g = c.group_info(gid);
    if (!g || g->terminating) continue;
    const group_slot* gs = rt.group(gid);
    if (gs == nullptr) continue;
    const std::uint32_t why = load(gs->held);
    if (trusted && hold_name(why) == nullptr) violated("held word at adoption", gid, why);
    (void)c.for_each_member(gid, [&](const process_view& p) {
      const proc_slot* s = rt.proc(p.id);
      if (s == nullptr || p.state != process_state::running) return;
      if (trusted && p.image != no_image) {
        auto b = bank.find(image_block_name(p.image).view());
        if (!b) violated("a member's image is missing", p.id, p.image);
        auto img = check_image(*b);
        if (!img || std::string_view((*img)->name, (*img)->name_len) != p.name())
          violated("a member's image is of another process", p.id, p.image);
      }
      const std::int32_t pid = load(s->pid);
      // As open_member_pidfd: only a pid adoptable_pid accepts (never the supervisor's own).
      const bool same_run = load(s->handle) == p.handle && adoptable_pid(pid);
      if (same_run) sig.signal(pid, 9, trusted, gid, *s);  // a gave-up group's members: SIGKILL
    });
    // Listening sockets to take or open again: listen_count entries of the arrays.
    const std::uint32_t lc = gs->listen_count;
    if (trusted && lc > max_listen) violated("listen count", gid, lc);
    unsigned sum = 0;
    for (std::uint32_t k = 0; k < lc && k < max_listen; ++k)
      sum += gs->listen_addr[k] + gs->listen_port[k];
    g_sink = g_sink + sum;
    if (why == hold_stopped && trusted && gs->hold_code > 255) violated("hold code", gid);
  }
  g_sink = g_sink + sig.sent;
}

}  // namespace

extern "C" const hr_fuzz_outcome* hr_fuzz_last_outcome() {
  return &g_outcome;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > max_input) return -1;
  g_outcome = {};
  if (size != 0) std::memcpy(g_mem, data, size);
  auto bank = fuzz_bank::open(std::span<std::byte>(g_mem, size));
  if (!bank) {
    g_outcome.refused = bank.error().code;
    return 0;
  }
  auto rb = bank->find(runtime_block_name);
  if (!rb) {
    g_outcome.refused = rb.error().code;
    return 0;
  }
  auto rt = attach_runtime(*bank);  // the runtime block and its extension block (v3)
  if (!rt) {
    g_outcome.refused = rt.error().code;
    return 0;
  }
  auto cb = bank->find(controller_block_name);
  if (!cb) {
    g_outcome.refused = cb.error().code;
    return 0;
  }
  // The controller is read from a copy, as hrctl status and check do.
  g_ctl.assign(cb->data, cb->data + cb->capacity);
  null_block_store none;
  runtime_policy pol = policy_from_header(rt->header());
  if (!pol.valid()) pol = runtime_policy{};
  auto c = snapshot::open(g_ctl, pol, none);
  // check: with or without the controller, every problem formatted.
  std::uint32_t problems = 0;
  unsigned chars = 0;
  auto count = [&](std::string_view s) {
    ++problems;
    for (char ch : s) chars += static_cast<unsigned char>(ch);
  };
  if (c) {
    (void)validate_runtime(*rt, &*c, *bank, count);
  } else {
    (void)validate_runtime<snapshot>(*rt, nullptr, *bank, count);
    g_outcome.refused = c.error().code;
    return 0;
  }
  g_sink = g_sink + chars;
  const bool trusted = problems == 0;
  // What hrctl run does with a bank check finds corrupt: refuses it (unless --force).
  g_outcome.opened = trusted;
  if (!trusted) g_outcome.refused = errc::corrupt;
  g_outcome.problems_at_open = problems;
  // status and adoption run on every bank (--force adopts a corrupt one): nothing may crash;
  // on a validated bank nothing may be out of range.
  status_walk(*rt, *c, trusted);
  adoption_walk(*rt, *c, *bank, trusted);
  return 0;
}
