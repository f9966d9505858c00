// SPDX-License-Identifier: MIT
// Field by field validation of the POSIX runtime's state in a bank: the runtime block
// (layout.hpp: header, request slots, group and process slots) against the controller block
// (controller.hpp: groups, processes) and the process images they name.
//
// runtime_view::attach checks what is needed to index the runtime block safely (magic,
// version, limits, size) and the controller's open checks its own tables; this checks every
// other field: enums (a hold reason, an outcome, a policy kind, request states and kinds),
// ranges (name lengths, listen counts, pids, run handles) and the cross-references (a process
// slot names the group the controller has the process in, a process's image block exists,
// passes check_image, belongs to a process of that name and matches its checksum).
//
// Core style: no exceptions, no heap. Each problem is one sentence naming the record and the
// field, handed to a sink (`void(std::string_view)`) from a fixed buffer.
#ifndef HOTRESTART_POSIX_VALIDATE_HPP
#define HOTRESTART_POSIX_VALIDATE_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/policies/runtime_policy.hpp>

#include "layout.hpp"

namespace hotrestart::posix {

/// The address families of a listen record (Linux's AF_INET, AF_INET6).
inline constexpr std::uint16_t AF_INET_family = 2;
inline constexpr std::uint16_t AF_INET6_family = 10;

/// The restart policy recorded in a runtime header (its kind and tunables; may be invalid:
/// see `runtime_policy::valid`).
inline runtime_policy policy_from_header(const runtime_header& h) {
  runtime_policy p;
  p.kind = static_cast<policy_kind>(h.policy);
  p.chorus.interval_ms = h.interval_ms;
  p.chorus.max_badness = h.max_badness;
  p.window.intensity = h.intensity;
  p.window.period_ms = h.period_ms;
  p.backoff.base_ms = h.backoff_base_ms;
  p.backoff.cap_ms = h.backoff_cap_ms;
  p.backoff.healthy_ms = h.healthy_ms;
  p.discard_threshold = h.discard_after;
  p.healthy_ms = h.healthy_ms;
  return p;
}

/// "none", "stopped", "gave_up"; nullptr for a word that is not a group_hold.
constexpr const char* hold_name(std::uint32_t held) {
  switch (held) {
    case hold_none: return "none";
    case hold_stopped: return "stopped";
    case hold_gave_up: return "gave_up";
    default: return nullptr;
  }
}
/// "none", "clean", "killed"; nullptr for a word that is not a group_outcome.
constexpr const char* outcome_name(std::uint32_t o) {
  switch (o) {
    case outcome_none: return "none";
    case outcome_clean: return "clean";
    case outcome_killed: return "killed";
    default: return nullptr;
  }
}
constexpr bool valid_request_state(std::uint32_t s) {
  return s <= req_abandoned;
}
constexpr bool valid_request_kind(std::uint32_t k) {
  return k >= req_spawn_indirect && k <= req_reload;
}
inline constexpr std::uint32_t known_group_flags = group_exit0_clean;
inline constexpr std::uint32_t known_request_flags = std::uint32_t{group_exit0_clean} |
                                                     std::uint32_t{req_relay_output} |
                                                     std::uint32_t{req_prefix_output};

namespace validate_detail {

// One sentence in a fixed buffer (truncated, never overrun).
class sentence {
 public:
  sentence& text(std::string_view s) {
    for (char c : s) put(c);
    return *this;
  }
  sentence& num(std::uint64_t v) {
    char d[24];
    int n = 0;
    do {
      d[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(d[--n]);
    return *this;
  }
  sentence& snum(std::int64_t v) {
    if (v < 0) {
      put('-');
      return num(static_cast<std::uint64_t>(-(v + 1)) + 1);
    }
    return num(static_cast<std::uint64_t>(v));
  }
  sentence& hex(std::uint64_t v) {
    char d[20];
    int n = 0;
    do {
      d[n++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v != 0);
    text("0x");
    while (n > 0) put(d[--n]);
    return *this;
  }
  /// A name, quoted, with C-style escapes for quotes, backslashes and bytes that are not
  /// printable ASCII (`\n`, `\t`, `\xHH`).
  sentence& name(std::string_view s) {
    put('"');
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        put('\\');
        put(c);
      } else if (c == '\n') {
        text("\\n");
      } else if (c == '\t') {
        text("\\t");
      } else if (u < 0x20 || u >= 0x7f) {
        put('\\');
        put('x');
        put("0123456789abcdef"[u >> 4]);
        put("0123456789abcdef"[u & 15]);
      } else {
        put(c);
      }
    }
    put('"');
    return *this;
  }
  std::string_view view() const { return {buf_, n_}; }

 private:
  void put(char c) {
    if (n_ < sizeof buf_) buf_[n_++] = c;
  }
  char buf_[320] = {};
  std::size_t n_ = 0;
};

inline std::string_view bounded(const char* p, std::uint32_t len, std::uint32_t cap) {
  return {p, len < cap ? len : cap};
}

}  // namespace validate_detail

/// Validates the runtime block `rt` field by field and against the controller `ctl` (nullptr:
/// the controller block could not be opened; the caller reports why, and only the runtime
/// block is checked) and the image blocks of `bank` (anything with `find(name) ->
/// result<block>`). Calls `sink(std::string_view sentence)` for each problem; returns how
/// many. A bank with none can be adopted: every value a supervisor or `hrctl status` reads
/// from these blocks is one they know.
template <class Controller, class Bank, class Sink>
std::uint32_t validate_runtime(const runtime_view& rt, const Controller* ctl, Bank& bank,
                               Sink&& sink) {
  using validate_detail::bounded;
  using validate_detail::sentence;
  std::uint32_t count = 0;
  auto report = [&](const sentence& s) {
    ++count;
    sink(s.view());
  };
  const runtime_header& h = rt.header();
  // The last run handle given, read after the handle it bounds: the supervisor stores it
  // before a new handle, so a check beside a live supervisor sees no handle beyond it.
  auto run_seq_now = [&] { return load(h.run_seq); };

  // The header.
  if (h.policy > static_cast<std::uint32_t>(policy_kind::backoff)) {
    report(sentence()
               .text("runtime header: policy word ")
               .num(h.policy)
               .text(" is not a restart policy (0 chorus, 1 window, 2 backoff)"));
  } else if (!policy_from_header(h).valid()) {
    report(sentence().text(
        "runtime header: the restart policy's tunables are not usable (backoff cap below its "
        "base, intensity outside 1..8, or a period of 0 ms)"));
  }
  if (const std::int32_t sp = load(h.supervisor_pid); sp < 0)
    report(sentence()
               .text("runtime header: supervisor_pid ")
               .snum(sp)
               .text(" is not a process id (0 none, or a pid)"));
  if (ctl != nullptr && ctl->max_groups() != h.max_groups)
    report(sentence()
               .text("runtime header: max_groups ")
               .num(h.max_groups)
               .text(" differs from the controller's ")
               .num(ctl->max_groups()));
  if (ctl != nullptr && ctl->max_processes() != h.max_processes)
    report(sentence()
               .text("runtime header: max_processes ")
               .num(h.max_processes)
               .text(" differs from the controller's ")
               .num(ctl->max_processes()));

  // The request mailbox.
  for (std::uint32_t i = 0; i < request_slots; ++i) {
    const request_slot& s = *rt.request(i);
    const std::uint32_t state = load(s.state);
    auto at = [&] { return sentence().text("request slot ").num(i).text(": "); };
    if (!valid_request_state(state)) {
      report(at().text("state word ")
                 .num(state)
                 .text(" is not a request state (0 free, 1 claimed, 2 ready, 3 done, 4 serving, "
                       "5 abandoned)"));
      continue;
    }
    if (state == req_free) continue;
    if (const std::int32_t who = load(s.requester); who <= 0)
      report(at().text("requester ").snum(who).text(" is not a process id"));
    if (state != req_claimed && !valid_request_kind(s.kind))
      report(at().text("kind word ")
                 .num(s.kind)
                 .text(" is not a request kind (1 spawn, 2 kill group, 3 site restart, 4 "
                       "upgrade, 5 run, 6 stop, 7 reload)"));
    if (state == req_claimed) continue;  // its requester is still filling it
    if (s.name_len > sizeof s.name)
      report(at().text("name length ").num(s.name_len).text(" is over 32"));
    if (s.group_name_len > sizeof s.group_name)
      report(at().text("group name length ").num(s.group_name_len).text(" is over 32"));
    if (s.listen_count > max_listen)
      report(at().text("listen_count ").num(s.listen_count).text(" is over 4"));
    if ((s.flags & ~known_request_flags) != 0)
      report(at().text("flags word ")
                 .hex(s.flags)
                 .text(" has unknown bits (known: 0x1 exit0-clean, 0x10000 relay output, "
                       "0x20000 prefix output)"));
  }

  // Group slots.
  for (std::uint32_t gid = 0; gid < rt.max_groups(); ++gid) {
    const group_slot& g = *rt.group(gid);
    auto at = [&] { return sentence().text("group ").num(gid).text(": "); };
    [[maybe_unused]] const std::uint32_t held = load(g.held);
    if (g.name_len > sizeof g.name)
      report(at().text("name length ").num(g.name_len).text(" is over 32"));
    for (std::uint32_t k = 0; k < g.name_len && k < sizeof g.name; ++k)
      if (g.name[k] == '\0') {
        report(at().text("name contains a NUL byte (at ").num(k).text(")"));
        break;
      }
    if ((g.flags & ~known_group_flags) != 0)
      report(
          at().text("flags word ").hex(g.flags).text(" has unknown bits (known: 0x1 exit0-clean)"));
    if (outcome_name(load(g.last_outcome)) == nullptr)
      report(at().text("last_outcome word ")
                 .num(load(g.last_outcome))
                 .text(" is not a group outcome (0 none, 1 clean, 2 killed)"));
    if (outcome_name(load(g.pending_outcome)) == nullptr)
      report(at().text("pending_outcome word ")
                 .num(load(g.pending_outcome))
                 .text(" is not a group outcome (0 none, 1 clean, 2 killed)"));
#ifndef HOTRESTART_VALIDATE_PLANTED_FAULT  // the fuzzer's negative control removes this check
    if (hold_name(held) == nullptr)
      report(at().text("held word ")
                 .num(held)
                 .text(" is not a hold reason (0 none, 1 stopped, 2 gave up)"));
#endif
    if (g.listen_count > max_listen)
      report(at().text("listen_count ").num(g.listen_count).text(" is over 4"));
    if (g.hold_code > 255)
      report(at().text("hold_code ").num(g.hold_code).text(" is not an exit code (0 to 255)"));
    if (ctl == nullptr) continue;
    // Names are unique among the groups the controller has.
    if (!ctl->group_info(gid) || g.name_len == 0 || g.name_len > sizeof g.name) continue;
    for (std::uint32_t other = 0; other < gid; ++other) {
      const group_slot& o = *rt.group(other);
      if (!ctl->group_info(other) || o.name_len != g.name_len ||
          std::string_view(o.name, o.name_len) != std::string_view(g.name, g.name_len))
        continue;
      report(at().text("name ")
                 .name(bounded(g.name, g.name_len, sizeof g.name))
                 .text(" is also the name of group ")
                 .num(other));
      break;
    }
  }

  // Process slots, and their cross-references with the controller's processes.
  for (std::uint32_t id = 0; id < rt.max_processes(); ++id) {
    const proc_slot& s = *rt.proc(id);
    auto at = [&] { return sentence().text("process slot ").num(id).text(": "); };
    const std::int32_t pid = load(s.pid);
    const std::uint64_t handle = load(s.handle);
    if (pid < 0)
      report(at().text("pid ").snum(pid).text(" is not a process id (0 none, or a pid)"));
    if (s.gid >= rt.max_groups())
      report(at().text("gid ")
                 .num(s.gid)
                 .text(" is not a group id (max_groups ")
                 .num(rt.max_groups())
                 .text(")"));
    // The warm standby words (docs/format.md): known flag bits, a state only with a pid.
    if (const std::uint32_t f = load(s.standby_flags);
        (f & ~std::uint32_t{standby_wanted | standby_disabled | standby_state_mask}) != 0 ||
        (f & standby_state_mask) == standby_state_mask)
      report(at().text("standby_flags ").num(f).text(" has unknown bits or state"));
    else if ((f & standby_state_mask) != 0 && load(s.standby_pid) <= 0)
      report(at().text("a standby state without a standby pid"));
    // ready_run names a run of this slot (process::ready()): never one beyond its runs.
    if (const std::uint32_t ready = load(s.ready_run), runs = load(s.runs); ready > runs)
      report(at().text("ready_run ").num(ready).text(" is beyond its runs (").num(runs).text(")"));
    if (const std::uint64_t run_seq = run_seq_now(); handle > run_seq)
      report(at().text("run handle ")
                 .num(handle)
                 .text(" is beyond the last one given (")
                 .num(run_seq)
                 .text(")"));
    if (ctl == nullptr) continue;
    auto p = ctl->process_info(id);
    if (!p || !ctl->group_info(p->gid)) continue;
    // The slot describes the controller's current run of this process once its handle is
    // written (the supervisor writes the gid first).
    if (handle == p->handle && s.gid != p->gid)
      report(at().text("gid ")
                 .num(s.gid)
                 .text(", but the controller has process ")
                 .num(id)
                 .text(" (")
                 .name(p->name())
                 .text(") of that run in group ")
                 .num(p->gid));
    if (const std::uint64_t run_seq = run_seq_now(); p->handle > run_seq)
      report(sentence()
                 .text("process ")
                 .num(id)
                 .text(" (")
                 .name(p->name())
                 .text(") of group ")
                 .num(p->gid)
                 .text(": controller run handle ")
                 .num(p->handle)
                 .text(" is beyond the last one the runtime gave (")
                 .num(run_seq)
                 .text(")"));
  }

  // The controller's processes and their images.
  if (ctl != nullptr)
    for (std::uint32_t gid = 0; gid < ctl->max_groups(); ++gid) {
      if (!ctl->group_info(gid)) continue;
      auto members = ctl->for_each_member(gid, [&](const process_view& p) {
        auto at = [&] {
          return sentence()
              .text("process ")
              .num(p.id)
              .text(" (")
              .name(p.name())
              .text(") of group ")
              .num(gid)
              .text(": ");
        };
        if (p.image == no_image) return;
        const image_block_name ib(p.image);
        auto b = bank.find(ib.view());
        if (!b) {
          report(at().text("its image block ").text(ib.view()).text(" is missing from the bank"));
          return;
        }
        auto img = check_image(*b);
        if (!img) {
          report(at().text("image block ")
                     .text(ib.view())
                     .text(": ")
                     .text(describe(img.error()).text));
          return;
        }
        const image_header& ih = **img;
        if (std::string_view(ih.name, ih.name_len) != p.name())
          report(at().text("image block ")
                     .text(ib.view())
                     .text(" is the image of a process named ")
                     .name(std::string_view(ih.name, ih.name_len)));
        if (fnv1a(b->data + ih.exe_offset, ih.exe_bytes) != ih.exe_checksum)
          report(at().text("image block ")
                     .text(ib.view())
                     .text(": checksum mismatch (the executable is not the bytes recorded)"));
      });
      if (!members)
        report(sentence().text("group ").num(gid).text(": the controller's member list is broken"));
    }

  // Version 3: the extension block (attached by the caller: attach_runtime, or attach_ext).
  if (const runtime_ext_header* x = rt.ext()) {
    if (x->performed_next >= performed_slots)
      report(sentence()
                 .text("runtime extension: performed_next ")
                 .num(x->performed_next)
                 .text(" is over the ring's last entry (31)"));
    for (std::uint32_t e = 0; e < performed_slots; ++e) {
      const performed_record& p = x->performed[e];
      if (p.id != 0 && !valid_request_kind(p.kind))
        report(sentence()
                   .text("performed request ")
                   .num(e)
                   .text(": kind word ")
                   .num(p.kind)
                   .text(" is not a request kind"));
      if (p.id != 0 && (p.status < performed_in_progress || p.status > 255))
        report(sentence()
                   .text("performed request ")
                   .num(e)
                   .text(": status ")
                   .snum(p.status)
                   .text(" is not an exit code (0 to 255, or -1: in progress)"));
    }
    // A listen record: unused (all zero) past the count, AF_INET or AF_INET6 below it, an
    // IPv4 address with nothing in the 12 bytes after it.
    auto check_listen = [&](const listen_record& r, bool used, auto&& at) {
      if (!used) {
        if (r.family != 0 || r.port != 0)
          report(at().text("unused, but its family or port is set"));
        return;
      }
      if (r.family != AF_INET_family && r.family != AF_INET6_family) {
        report(
            at().text("family ").num(r.family).text(" is neither AF_INET (2) nor AF_INET6 (10)"));
        return;
      }
      if (r.reserved != 0) report(at().text("reserved word is not zero"));
      if (r.family == AF_INET_family)
        for (int b = 4; b < 16; ++b)
          if (r.addr[b] != 0) {
            report(at().text("an IPv4 address with bytes set after its 4"));
            break;
          }
    };
    for (std::uint32_t gid = 0; gid < rt.max_groups(); ++gid) {
      const group_slot& g = *rt.group(gid);
      for (std::uint32_t k = 0; k < max_listen; ++k)
        check_listen(*rt.group_listen(gid, k), k < g.listen_count, [&] {
          return sentence().text("group ").num(gid).text(": listen record ").num(k).text(": ");
        });
    }
    for (std::uint32_t i = 0; i < request_slots; ++i) {
      const request_slot& s = *rt.request(i);
      const std::uint32_t st = load(s.state);
      if (st == req_free || st == req_claimed || st == req_done) continue;
      for (std::uint32_t k = 0; k < max_listen && k < s.listen_count; ++k)
        check_listen(*rt.request_listen(i, k), true, [&] {
          return sentence().text("request slot ").num(i).text(": listen record ").num(k).text(": ");
        });
    }
  }
  // Version 4: the lease block (attached by the caller).
  if (const lease_record* l = rt.lease()) {
    const std::uint32_t st = load(l->state);
    if (st != lease_free && st != lease_held)
      report(sentence().text("lease: state ").num(st).text(" is neither free (0) nor held (1)"));
    if (st == lease_held && (l->node_len == 0 || l->lease_ms == 0 || l->pid <= 0))
      report(sentence().text(
          "lease: held, but its node name, lease time or pid is empty (a lease half written?)"));
    if (st == lease_held && l->renewed_ms < l->acquired_ms)
      report(sentence().text("lease: renewed before it was acquired"));
  }
  return count;
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_VALIDATE_HPP
