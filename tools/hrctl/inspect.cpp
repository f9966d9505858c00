// SPDX-License-Identifier: MIT
// hrctl status, blocks, check: read-only views of a bank. They never drive the controller:
// they copy its block and read the copy (an event half-applied by the live supervisor is
// undone in the copy, so the view is the state before or after it, never between).
#include "inspect.hpp"
#include "lease.hpp"

#include "json.hpp"
#include "validate.hpp"

#include <hotrestart/tools/bank_image.hpp>

#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hrctl {

namespace {
// A member's warm standby as the bank records it (tools/hrctl/standby.cpp).
struct standby_view {
  bool wanted = false;
  const char* state = "none";  ///< none, starting, parked, disabled
  int pid = 0;
  std::uint64_t rss_kb = 0, pss_kb = 0;  ///< /proc/PID/smaps_rollup; 0 if unreadable
  std::uint32_t promotions = 0;
};

standby_view standby_of(const proc_slot* s, bool supervised) {
  standby_view v;
  if (s == nullptr) return v;
  const std::uint32_t f = load(s->standby_flags);
  v.wanted = (f & standby_wanted) != 0;
  v.promotions = load(s->standby_promotions);
  const std::uint32_t st = (f & standby_state_mask) >> standby_state_shift;
  v.pid = supervised && st != standby_none ? load(s->standby_pid) : 0;
  if ((f & standby_disabled) != 0)
    v.state = "disabled";
  else if (v.pid > 0)
    v.state = st == standby_parked ? "parked" : "starting";
  if (v.pid <= 0) return v;
  // Its memory: what it holds resident (RSS) and its share of pages it shares with the member
  // (PSS: the image and libraries are mostly shared).
  if (std::FILE* f =
          std::fopen(("/proc/" + std::to_string(v.pid) + "/smaps_rollup").c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      unsigned long long kb = 0;
      if (std::sscanf(line, "Rss: %llu kB", &kb) == 1) v.rss_kb = kb;
      if (std::sscanf(line, "Pss: %llu kB", &kb) == 1) v.pss_kb = kb;
    }
    std::fclose(f);
  }
  return v;
}
using snapshot_controller = basic_controller<runtime_policy, null_block_store>;
// A bank made by another runtime (the firmware's controller uses the ChorusOS counter alone).
using chorus_snapshot = basic_controller<chorus_counter, null_block_store>;

const char* state_name(process_state s) {
  switch (s) {
    case process_state::running: return "running";
    case process_state::exited_clean: return "exited_clean";
    case process_state::failed: return "failed";
    case process_state::stopped: return "stopped";
    case process_state::not_rerun: return "not_rerun";
  }
  return "?";
}

// A name for a terminal: printable ASCII and valid UTF-8 as they are; a backslash, NUL,
// control bytes and bytes that are not UTF-8 as C-style escapes (\\, \0, \n, \t, \r, \xHH).
std::string printable(std::string_view s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x80) {
      // A valid UTF-8 sequence (json_is_text accepts it alone) passes through.
      std::size_t n = (u >> 5) == 0x6 ? 2 : (u >> 4) == 0xE ? 3 : (u >> 3) == 0x1E ? 4 : 0;
      if (n != 0 && i + n <= s.size() && json_is_text(s.substr(i, n))) {
        o.append(s, i, n);
        i += n;
        continue;
      }
    }
    char b[8];
    switch (u) {
      case '\\': o += "\\\\"; break;
      case '\0': o += "\\0"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (u < 0x20 || u >= 0x7f) {
          std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned>(u));
          o += b;
        } else {
          o += static_cast<char>(u);
        }
    }
    ++i;
  }
  return o;
}

// "1 member", "2 members".
std::string count_of(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// A failed --json command prints the error object on stdout (its message went to stderr).
int json_failure(bool json, int rc, const std::string& message) {
  if (json) print_json_error(rc, json_error_kind(rc), message);
  return rc;
}
int bank_failure(bool json, const char* what, const std::string& path, const error& e,
                 uid_t owner = ::geteuid(), bank_source src = bank_source::bank) {
  const int rc = report_bank_error(what, path, e, owner, src);
  return json_failure(json, rc, std::string(what) + " " + path + ": " + describe(e).text);
}

struct opened {
  attached_bank a;
  std::vector<std::byte> copy;
  null_block_store store;
};

int open_bank(const bank_options& bo, std::optional<opened>& out, bool need_runtime, bool json) {
  const std::string& path = bo.path;
  auto b = open_bank_converting(bo.where());
  if (!b) return bank_failure(json, "cannot open bank", path, b.error(), bo.as.uid);
  auto blk = b->find(runtime_block_name);
  runtime_view rt;
  if (blk) {
    // A block of an earlier version (2, 3) is read as it is (converted only by a supervisor or
    // hrctl convert).
    auto v = runtime_view::attach(*blk);
    std::uint32_t version = runtime_version;
    if (!v && v.error().code == errc::version_mismatch) {
      const std::uint32_t found = load(reinterpret_cast<const runtime_header*>(blk->data)->version);
      if (found == 2 || found == 3) {
        v = runtime_view::attach(*blk, found);
        version = found;
      }
    }
    if (!v) return bank_failure(json, "refusing the runtime state of bank", path, v.error());
    rt = *v;
    if (auto x = attach_runtime_blocks(*b, rt, version); !x)
      return bank_failure(json, "refusing the runtime state of bank", path, x.error());
  } else if (need_runtime) {
    const std::string msg = path + " is a bank, but hrctl never supervised it (no runtime state)";
    std::fprintf(stderr, "hrctl: %s\n", msg.c_str());
    return json_failure(json, exit_unknown, msg);
  }
  out.emplace(opened{attached_bank{std::move(*b), rt}, {}, {}});
  return exit_ok;
}
}  // namespace

int render_status(const bank_options& bo, bool json, std::FILE* out, status_sample* sample,
                  const std::function<void(json_writer&)>& json_extra) {
  const std::string& path = bo.path;
  std::optional<opened> o;
  if (int rc = open_bank(bo, o, true, json); rc != exit_ok) return rc;
  const runtime_view& rt = o->a.rt;
  const runtime_header& h = rt.header();
  auto cb = o->a.bank.find(controller_block_name);
  if (!cb) return bank_failure(json, "no controller state in bank", path, cb.error());
  // A policy word or tunables that are not usable (hrctl check names them): the controller's
  // state is read with the default policy, and status says the bank's is invalid.
  const runtime_policy pol = policy_of(h).valid() ? policy_of(h) : runtime_policy{};
  std::optional<snapshot_controller> ctl;
  error last;
  for (int attempt = 0; attempt < 50 && !ctl; ++attempt) {
    o->copy.assign(cb->data, cb->data + cb->capacity);
    auto c = snapshot_controller::open(o->copy, pol, o->store);
    if (c)
      ctl.emplace(*c);  // trivially copyable: a view over the copy
    else
      last = c.error();
  }
  if (!ctl) return bank_failure(json, "cannot read the controller state of bank", path, last);
  int sup = 0;
  const bool alive = supervisor_alive(o->a.bank);
  if (alive) sup = load(h.supervisor_pid);
  const char* kind = policy_name(static_cast<policy_kind>(h.policy));
  const bool kind_ok = policy_of(h).valid();
  if (sample) *sample = {alive, alive ? sup : 0, ctl->site_restarts(), {}};
  json_writer w;
  if (json) {
    w.begin_object().schema().key("bank").str(path).key("supervisor").snum(alive ? sup : 0);
    w.key("site_restarts").num(ctl->site_restarts()).key("policy").begin_object();
    w.key("kind").str(kind_ok ? kind : "invalid");
    if (!kind_ok) w.key("kind_value").num(h.policy);
    w.key("interval").num(h.interval_ms).key("max_badness").num(h.max_badness);
    w.key("intensity").num(h.intensity).key("period").num(h.period_ms);
    w.key("backoff_base").num(h.backoff_base_ms).key("backoff_cap").num(h.backoff_cap_ms);
    w.key("healthy").num(h.healthy_ms).key("discard_after").num(h.discard_after);
    w.key("max_site_restarts").num(h.max_site_restarts);
    w.key("give_up_window").num(h.give_up_window_ms).end_object();
    // The node lease (runtime block 4; null for an earlier block read as it is).
    w.key("lease");
    if (const lease_record* l = rt.lease()) {
      const std::uint64_t t = realtime_ms();
      const bool held = load(l->state) == lease_held;
      w.begin_object().key("state").str(held ? "held" : "free");
      w.key("live").boolean(lease_live(*l, t));
      w.key("node").str(std::string(l->node, std::min<std::size_t>(l->node_len, sizeof l->node)));
      w.key("boot_id").str(std::string(l->boot_id, ::strnlen(l->boot_id, sizeof l->boot_id)));
      w.key("pid").snum(load(l->pid)).key("lease_time").num(load(l->lease_ms));
      w.key("renewed_ago")
          .snum(static_cast<std::int64_t>(t) - static_cast<std::int64_t>(load(l->renewed_ms)));
      w.key("this_node")
          .boolean(std::string(l->node, std::min<std::size_t>(l->node_len, sizeof l->node)) ==
                   this_node(bo.service));
      w.end_object();
    } else {
      w.null();
    }
    w.key("groups").begin_array();
  } else {
    std::fprintf(out, "bank %s: supervisor %s", printable(path).c_str(),
                 alive ? "running" : "not running");
    if (alive) std::fprintf(out, " (pid %d)", sup);
    const std::string policy =
        kind_ok ? describe_policy(h)
                : "(invalid value " + std::to_string(h.policy) + ": run hrctl check)";
    std::fprintf(out,
                 ", %s\npolicy %s; gives up on a group after %u site restarts in "
                 "a row\n",
                 count_of(ctl->site_restarts(), "site restart", "site restarts").c_str(),
                 policy.c_str(), h.max_site_restarts);
    // The lease, while held (a free lease says nothing more than "no supervisor").
    if (const lease_record* l = rt.lease(); l != nullptr && load(l->state) == lease_held) {
      const std::uint64_t t = realtime_ms();
      std::fprintf(out, "lease %s: %s\n", lease_live(*l, t) ? "live" : "expired",
                   printable(describe_lease(*l, t)).c_str());
    }
  }
  std::uint32_t shown = 0;
  for (std::uint32_t gid = 0; gid < ctl->max_groups(); ++gid) {
    auto g = ctl->group_info(gid);
    if (!g) continue;
    ++shown;
    const group_slot* gs = rt.group(gid);
    const std::string gname =
        gs ? std::string(gs->name, std::min<std::uint32_t>(gs->name_len, 32)) : "";
    const std::uint32_t hold = gs ? load(gs->held) : hold_none;
    const char* hname = hold_name(hold);  // nullptr: not a hold reason (hrctl check says so)
    const char* state = g->terminating        ? "terminating"
                        : hold != hold_none   ? "held"
                        : g->blocked_reported ? "blocked"
                                              : "running";
    if (sample) sample->groups.push_back({gid, gname, state, g->restarts, {}});
    if (json) {
      w.begin_object().key("gid").num(gid).name_field("name", gname).key("state").str(state);
      w.key("restarts").num(g->restarts).key("counter").num(runtime_policy::counter(g->policy));
      w.key("consecutive").num(runtime_policy::consecutive(g->policy));
      w.key("hold").str(hname == nullptr ? "invalid" : hold == hold_none ? "" : hname);
      if (hname == nullptr) w.key("hold_value").num(hold);
      w.key("escalations").num(gs ? gs->escalations : 0).key("epoch").num(g->epoch);
      w.key("listening").begin_array();
      for (const listen_record& r : group_listeners(rt, gid))
        w.begin_object()
            .key("address")
            .str(listen_address(r))
            .key("port")
            .num(r.port)
            .key("family")
            .str(r.family == AF_INET6 ? "ipv6" : "ipv4")
            .end_object();
      w.end_array();
      w.key("members").begin_array();
    } else {
      const std::string why =
          hname == nullptr       ? " (invalid value " + std::to_string(hold) + ": run hrctl check)"
          : hold == hold_gave_up ? " (given up on: it kept crashing; hrctl run -g resumes it)"
          : hold == hold_stopped ? " (stopped on request; hrctl run -g resumes it)"
                                 : "";
      const std::string shown_name = printable(gname);
      std::fprintf(out, "group %u%s%s%s: %s%s, %s, %s, %s\n", gid, gname.empty() ? "" : " (",
                   shown_name.c_str(), gname.empty() ? "" : ")", state, why.c_str(),
                   count_of(g->members, "member", "members").c_str(),
                   count_of(g->restarts, "restart", "restarts").c_str(),
                   kind_ok ? describe_counter(h, g->policy).c_str() : "policy invalid");
      std::string listening;
      for (const listen_record& r : group_listeners(rt, gid))
        listening += (listening.empty() ? "" : ", ") + listen_text(r);
      if (!listening.empty()) std::fprintf(out, "  listening: %s\n", listening.c_str());
    }
    (void)ctl->for_each_member(gid, [&](const process_view& p) {
      const proc_slot* s = rt.proc(p.id);
      const int pid = s && p.state == process_state::running ? load(s->pid) : 0;
      const std::uint32_t runs = s ? load(s->runs) : 0;
      const bool gone = p.state == process_state::running &&
                        (s == nullptr || !same_process_alive(pid, load(s->start_time)));
      // A member of a held group that no longer runs: stopped (the controller still has the
      // run it was stopped in; the group restarts when it is resumed).
      const bool stopped = hold != hold_none && gone;
      // A member recorded as running while no supervisor runs, and that is gone: the next
      // supervisor reports its end when it adopts the bank.
      const bool down = !stopped && !alive && gone;
      const char* pstate = stopped ? "stopped" : state_name(p.state);
      const int shown_pid = stopped ? 0 : pid;
      if (sample)
        sample->groups.back().members.push_back(
            {p.id, std::string(p.name()), down ? "down" : pstate, shown_pid, runs});
      if (json) {
        // "state" is the controller's; "alive" says whether the run it records still runs.
        w.begin_object().key("id").num(p.id).name_field("name", p.name());
        w.key("kind").str(p.kind == process_kind::direct ? "direct" : "indirect");
        w.key("state").str(pstate).key("pid").snum(shown_pid).key("runs").num(runs);
        w.key("alive").boolean(p.state == process_state::running && !gone);
        w.key("image").num(p.image);
        const standby_view sb = standby_of(s, alive);
        w.key("standby").begin_object().key("wanted").boolean(sb.wanted).key("state").str(sb.state);
        w.key("pid").snum(sb.pid).key("rss_kb").num(sb.rss_kb).key("pss_kb").num(sb.pss_kb);
        w.key("promotions").num(sb.promotions).end_object();
        w.end_object();
      } else if (down) {
        std::fprintf(out, "  %-32s %-8s not running (supervisor down), last pid %d, runs %u\n",
                     printable(p.name()).c_str(),
                     p.kind == process_kind::direct ? "direct" : "indirect", pid, runs);
      } else {
        const standby_view sb = standby_of(s, alive);
        std::string standby;
        if (sb.wanted)
          standby = std::string("  standby ") + sb.state +
                    (sb.pid > 0 ? " " + std::to_string(sb.pid) : std::string()) + ", promoted " +
                    std::to_string(sb.promotions);
        std::fprintf(out, "  %-32s %-8s %-12s pid %-7d runs %u%s\n", printable(p.name()).c_str(),
                     p.kind == process_kind::direct ? "direct" : "indirect", pstate, shown_pid,
                     runs, standby.c_str());
      }
    });
    if (json) w.end_array().end_object();
    if (!json && g->blocked_reported) {
      char buf[512];
      if (ctl->blocked_message(gid, buf, sizeof buf))
        std::fprintf(out, "  %s\n", printable(buf).c_str());
    }
  }
  if (json) {
    w.end_array();
    if (json_extra) json_extra(w);
    w.end_object();
    std::fprintf(out, "%s\n", w.text().c_str());
  } else if (shown == 0) {
    std::fprintf(out, "no groups\n");
  }
  return exit_ok;
}

int cmd_status(const bank_options& bo, bool json) {
  return render_status(bo, json, stdout, nullptr);
}

std::string printable_name(std::string_view s) {
  return printable(s);
}

namespace {
// blocks and check over any bank: a live one (mmap) or a raw memory image (span backend).
// A reboot record found in an image: printed before the bank's view, and in its JSON object.
void record_json(json_writer& w, const tools::image_record& r) {
  namespace rec = baremetal::rec;
  const baremetal::record_view& v = r.view;
  w.key("record").begin_object().key("status").str(baremetal::to_string(v.status));
  w.key("offset").num(r.offset);
  if (v.status == baremetal::record_status::lost)
    w.key("why")
        .str(v.why)
        .key("stored_crc")
        .num(v.stored_crc)
        .key("computed_crc")
        .num(v.computed_crc);
  if (v.status == baremetal::record_status::valid) {
    w.key("boots").num(v[rec::boots]).key("crashes").num(v[rec::crashes]);
    w.key("loop").num(v[rec::loop]).key("site_restarts_in_a_row").num(v[rec::site_in_row]);
    w.key("discards").num(v[rec::discards]);
    w.key("last_cause").str(baremetal::to_string(v.cause(rec::last_cause)));
    w.key("first_cause").str(baremetal::to_string(v.cause(rec::first_cause)));
    w.key("first_task").num(v[rec::first_task]).key("first_pc").num(v[rec::first_pc]);
    w.key("first_boot").num(v[rec::first_boot]).key("task").num(v[rec::task]);
    w.key("pc").num(v[rec::pc]).key("lr").num(v[rec::lr]).key("xpsr").num(v[rec::xpsr]);
    w.key("cfsr").num(v[rec::cfsr]).key("hfsr").num(v[rec::hfsr]);
    w.key("watchdog_missing")
        .num(v[rec::wd_missing])
        .key("watchdog_last_fed")
        .num(v[rec::wd_last_fed]);
  }
  w.end_object();
}
void record_text(const tools::image_record* r) {
  if (r == nullptr) return;
  for (const std::string& l : tools::record_lines(*r)) std::printf("%s\n", l.c_str());
}

template <class Bank>
int blocks_of(Bank& bank, const std::string& path, bool json,
              const tools::image_record* record = nullptr) {
  auto st = bank.stats();
  if (!st) return bank_failure(json, "cannot read bank", path, st.error());
  struct row {
    std::string name, key, owner;
    std::uint64_t size, capacity;
  };
  std::vector<row> rows;
  (void)bank.for_each([&](const block_info& b) {
    std::string owner = "user";
    if (b.name == controller_block_name)
      owner = "controller";
    else if (b.name == runtime_block_name || b.name == runtime_ext_block_name ||
             b.name == lease_block_name)
      owner = "hrctl runtime";
    else if (b.name.starts_with("__HR_IMG_"))
      owner = "process image";
    else if (b.name.starts_with("__HR_REQ_"))
      owner = "staged image";
    else if (b.key.starts_with("__HR_GROUP_"))
      owner = "group " + std::string(b.key.substr(11));
    rows.push_back({std::string(b.name), std::string(b.key), owner, b.size, b.capacity});
  });
  // Images: name the process they belong to.
  for (row& r : rows) {
    if (r.owner != "process image") continue;
    auto f = bank.find(r.name);
    if (!f) continue;
    if (auto h = check_image(*f)) r.owner = "image of " + std::string((*h)->name, (*h)->name_len);
  }
  if (json) {
    json_writer w;
    w.begin_object().schema().key("bank").str(path).key("bank_size").num(st->bank_size);
    if (record != nullptr) record_json(w, *record);
    w.key("used").num(st->used).key("free").num(st->free).key("blocks").num(st->blocks);
    w.key("max_blocks").num(st->max_blocks).key("page_size").num(st->page_size);
    w.key("list").begin_array();
    for (const row& r : rows) {
      w.begin_object().name_field("name", r.name).key("size").num(r.size);
      w.key("capacity").num(r.capacity).name_field("key", r.key).name_field("owner", r.owner);
      w.end_object();
    }
    w.end_array().end_object().print();
    return exit_ok;
  }
  record_text(record);
  std::printf("bank %s: %u of %u blocks, %llu of %llu bytes used, page %u\n",
              printable(path).c_str(), st->blocks, st->max_blocks,
              static_cast<unsigned long long>(st->used),
              static_cast<unsigned long long>(st->bank_size), st->page_size);
  std::printf("%-32s %12s %12s  %-20s %s\n", "NAME", "SIZE", "CAPACITY", "KEY", "OWNER");
  for (const row& r : rows)
    std::printf("%-32s %12llu %12llu  %-20s %s\n", printable(r.name).c_str(),
                static_cast<unsigned long long>(r.size),
                static_cast<unsigned long long>(r.capacity),
                r.key.empty() ? "-" : printable(r.key).c_str(), printable(r.owner).c_str());
  return exit_ok;
}

template <class Bank>
int check_of(Bank& bank, const std::string& path, bool json,
             const tools::image_record* record = nullptr) {
  null_block_store none;
  runtime_view rt;
  std::vector<std::string> problems;
  if (auto rb = bank.find(runtime_block_name)) {
    if (auto v = runtime_view::attach(*rb))
      rt = *v;
    else
      problems.push_back(std::string("runtime block: ") + describe(v.error()).text);
    if (rt)
      if (auto x = attach_runtime_blocks(bank, rt, runtime_version); !x)
        problems.push_back(std::string("runtime block: ") + describe(x.error()).text);
  }
  auto n = bank.check([&](const error& e) { problems.emplace_back(describe(e).text); });
  if (!n) problems.emplace_back(describe(n.error()).text);
  // The runtime's own blocks.
  auto cb = bank.find(controller_block_name);
  std::vector<std::byte> copy;
  std::optional<snapshot_controller> ctl;
  std::vector<std::uint32_t> images;
  if (cb) {
    copy.assign(cb->data, cb->data + cb->capacity);
    auto collect = [&](const auto& c) {
      for (std::uint32_t gid = 0; gid < c.max_groups(); ++gid)
        (void)c.for_each_member(gid, [&](const process_view& p) {
          if (c.group_info(gid)) images.push_back(p.image);
        });
    };
    // hrctl's policy (tunables from its runtime block), else the ChorusOS counter alone (a
    // controller made by the firmware runtime).
    runtime_policy pol;
    if (rt && policy_of(rt.header()).valid()) pol = policy_of(rt.header());
    auto c = snapshot_controller::open(copy, pol, none);
    if (c) {
      ctl.emplace(*c);
      collect(*c);
    } else if (c.error().code == errc::layout_mismatch) {
      copy.assign(cb->data, cb->data + cb->capacity);
      auto cc = chorus_snapshot::open(copy, chorus_counter{}, none);
      if (cc)
        collect(*cc);
      else
        problems.push_back(std::string("controller state: ") + describe(cc.error()).text);
    } else {
      problems.push_back(std::string("controller state: ") + describe(c.error()).text);
    }
    (void)bank.for_each([&](const block_info& b) {
      if (!b.name.starts_with("__HR_IMG_")) return;
      std::uint32_t k = 0;
      if (!parse_u32(std::string(b.name.substr(9)), k) ||
          std::find(images.begin(), images.end(), k) == images.end())
        problems.push_back(
            "image block " + printable(b.name) +
            " belongs to no registered process (freed when a supervisor adopts the bank)");
    });
  }
  if (rt) {
    // Every field of the runtime block, against the controller and the images.
    for (std::string& p : runtime_problems(rt, ctl ? &*ctl : nullptr, bank))
      problems.push_back(std::move(p));
  } else {
    for (std::uint32_t k : images) {
      if (k == no_image) continue;
      auto ib = bank.find(image_block_name(k));
      if (!ib)
        problems.push_back("process image " + std::to_string(k) + " is missing from the bank");
      else if (auto h = check_image(*ib); !h)
        problems.push_back("process image " + std::to_string(k) + ": " + describe(h.error()).text);
      else if (fnv1a(ib->data + (*h)->exe_offset, (*h)->exe_bytes) != (*h)->exe_checksum)
        problems.push_back("process image " + std::to_string(k) + ": checksum mismatch");
    }
  }
  // A record that was found or asked for and is not valid is a finding: the crash history is lost.
  if (record != nullptr && record->view.status != baremetal::record_status::valid)
    problems.push_back(tools::record_lines(*record).front());
  if (json) {
    json_writer w;
    w.begin_object().schema().key("bank").str(path).key("consistent").boolean(problems.empty());
    if (record != nullptr) record_json(w, *record);
    w.key("problems").begin_array();
    for (const std::string& p : problems) w.str(p);
    w.end_array().end_object().print();
  } else if (problems.empty()) {
    record_text(record);
    std::printf("bank %s: consistent\n", printable(path).c_str());
  } else {
    record_text(record);
    std::printf("bank %s: %s\n", printable(path).c_str(),
                count_of(problems.size(), "problem", "problems").c_str());
    for (const auto& p : problems) std::printf("  %s\n", p.c_str());  // names escaped already
  }
  return problems.empty() ? exit_ok : exit_check;
}
}  // namespace

int cmd_blocks(const bank_options& bo, bool json) {
  std::optional<opened> o;
  if (int rc = open_bank(bo, o, false, json); rc != exit_ok) return rc;
  return blocks_of(o->a.bank, bo.path, json);
}

int cmd_check(const bank_options& bo, bool json) {
  std::optional<opened> o;
  if (int rc = open_bank(bo, o, false, json); rc != exit_ok) return rc;
  return check_of(o->a.bank, bo.path, json);
}

int cmd_image(const image_source& src_in, bool check, bool json) {
  image_source src = src_in;
  // A dump from hotrestart_record_start: the record at byte 0, the bank at byte 128.
  if (!src.record_offset && !src.offset_given && tools::starts_with_record(src.path.c_str())) {
    src.record_offset = 0;
    src.offset = baremetal::rec::bytes;
  }
  std::optional<tools::image_record> record;
  if (src.record_offset) {
    auto r = tools::read_record(src.path.c_str(), *src.record_offset);
    if (!r)
      return bank_failure(json, "cannot read the reboot record", src.path, r.error(), ::geteuid(),
                          bank_source::image);
    record = *r;
  }
  const tools::image_record* rp = record ? &*record : nullptr;
  auto img = tools::bank_image::read(src.path.c_str(), src.offset, src.length);
  if (!img)
    return bank_failure(json, "cannot read the image", src.path, img.error(), ::geteuid(),
                        bank_source::image);
  // The image is a copy: opening it may repair an interrupted operation in the copy only.
  auto bank = basic_bank<span_backend>::open(img->bytes());
  if (!bank)
    return bank_failure(json, "no bank in the image", src.path, bank.error(), ::geteuid(),
                        bank_source::image);
  const std::string label = src.path + (src.offset != 0 ? "@" + std::to_string(src.offset) : "");
  return check ? check_of(*bank, label, json, rp) : blocks_of(*bank, label, json, rp);
}

}  // namespace hrctl
