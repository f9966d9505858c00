// SPDX-License-Identifier: MIT
// hrctl status, blocks, check: read-only views of a bank. They never drive the controller:
// they copy its block and read the copy (an event half-applied by the live supervisor is
// undone in the copy, so the view is the state before or after it, never between).
#include "inspect.hpp"

#include <hotrestart/tools/bank_image.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace hrctl {

namespace {
using snapshot_controller = basic_controller<runtime_policy, null_block_store>;
// A bank made by another runtime (the firmware's controller uses the ChorusOS counter alone).
using chorus_snapshot = basic_controller<chorus_counter, null_block_store>;

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  return n;
}

// A JSON string. Bytes that are not UTF-8 (names are bytes) become \u00XX: the output is
// always valid JSON.
std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const std::size_t n = utf8_len(s, i);
    if (n == 0 || static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      o += b;
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') o += '\\';
    o.append(s, i, n);
    i += n;
  }
  return o + "\"";
}

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

struct opened {
  attached_bank a;
  std::vector<std::byte> copy;
  null_block_store store;
};

int open_bank(const bank_options& bo, std::optional<opened>& out, bool need_runtime) {
  const std::string& path = bo.path;
  auto b = mmap_bank::open(bo.where());
  if (!b) return report_bank_error("cannot open bank", path, b.error(), bo.as.uid);
  auto blk = b->find(runtime_block_name);
  runtime_view rt;
  if (blk) {
    auto v = runtime_view::attach(*blk);
    if (!v) return report_bank_error("refusing the runtime state of bank", path, v.error());
    rt = *v;
  } else if (need_runtime) {
    std::fprintf(stderr, "hrctl: %s is a bank, but hrctl never supervised it (no runtime state)\n",
                 path.c_str());
    return exit_unknown;
  }
  out.emplace(opened{attached_bank{std::move(*b), rt}, {}, {}});
  return exit_ok;
}
}  // namespace

int cmd_status(const bank_options& bo, bool json) {
  const std::string& path = bo.path;
  std::optional<opened> o;
  if (int rc = open_bank(bo, o, true); rc != exit_ok) return rc;
  const runtime_view& rt = o->a.rt;
  const runtime_header& h = rt.header();
  auto cb = o->a.bank.find(controller_block_name);
  if (!cb) return report_bank_error("no controller state in bank", path, cb.error());
  const runtime_policy pol = policy_of(h);
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
  if (!ctl) return report_bank_error("cannot read the controller state of bank", path, last);
  int sup = 0;
  const bool alive = supervisor_alive(o->a.bank);
  if (alive) sup = load(h.supervisor_pid);
  if (json) {
    std::printf(
        "{\"bank\":%s,\"supervisor\":%d,\"site_restarts\":%u,\"policy\":{\"kind\":\"%s\","
        "\"interval\":%llu,\"max_badness\":%u,\"intensity\":%u,\"period\":%llu,"
        "\"backoff_base\":%llu,\"backoff_cap\":%llu,\"healthy\":%llu,"
        "\"discard_after\":%u,\"max_site_restarts\":%u,\"give_up_window\":%llu},"
        "\"groups\":[",
        json_str(path).c_str(), alive ? sup : 0, ctl->site_restarts(),
        policy_name(static_cast<policy_kind>(h.policy)),
        static_cast<unsigned long long>(h.interval_ms), h.max_badness, h.intensity,
        static_cast<unsigned long long>(h.period_ms),
        static_cast<unsigned long long>(h.backoff_base_ms),
        static_cast<unsigned long long>(h.backoff_cap_ms),
        static_cast<unsigned long long>(h.healthy_ms), h.discard_after, h.max_site_restarts,
        static_cast<unsigned long long>(h.give_up_window_ms));
  } else {
    std::printf("bank %s: supervisor %s", path.c_str(), alive ? "running" : "not running");
    if (alive) std::printf(" (pid %d)", sup);
    std::printf(
        ", %u site restart(s)\npolicy %s; gives up on a group after %u site restarts in "
        "a row\n",
        ctl->site_restarts(), describe_policy(h).c_str(), h.max_site_restarts);
  }
  bool first_group = true;
  std::uint32_t shown = 0;
  for (std::uint32_t gid = 0; gid < ctl->max_groups(); ++gid) {
    auto g = ctl->group_info(gid);
    if (!g) continue;
    ++shown;
    const group_slot* gs = rt.group(gid);
    const std::string gname =
        gs ? std::string(gs->name, std::min<std::uint32_t>(gs->name_len, 32)) : "";
    const std::uint32_t hold = gs ? load(gs->held) : hold_none;
    const char* hold_text = hold == hold_gave_up   ? "gave_up"
                            : hold == hold_stopped ? "stopped"
                                                   : "";
    const char* state = g->terminating        ? "terminating"
                        : hold != hold_none   ? "held"
                        : g->blocked_reported ? "blocked"
                                              : "running";
    if (json) {
      std::printf(
          "%s{\"gid\":%u,\"name\":%s,\"state\":\"%s\",\"restarts\":%u,\"counter\":%u,"
          "\"consecutive\":%u,\"hold\":\"%s\",\"escalations\":%u,\"epoch\":%u,\"members\":[",
          first_group ? "" : ",", gid, json_str(gname).c_str(), state, g->restarts,
          runtime_policy::counter(g->policy), runtime_policy::consecutive(g->policy), hold_text,
          gs ? gs->escalations : 0, g->epoch);
    } else {
      std::printf("group %u%s%s%s: %s%s%s%s, %u member(s), %u restart(s), %s\n", gid,
                  gname.empty() ? "" : " (", gname.c_str(), gname.empty() ? "" : ")", state,
                  hold != hold_none ? " (" : "",
                  hold == hold_gave_up   ? "given up on: it kept crashing"
                  : hold == hold_stopped ? "stopped on request"
                                         : "",
                  hold != hold_none ? "; hrctl run -g resumes it)" : "", g->members, g->restarts,
                  describe_counter(h, g->policy).c_str());
    }
    first_group = false;
    bool first = true;
    (void)ctl->for_each_member(gid, [&](const process_view& p) {
      const proc_slot* s = rt.proc(p.id);
      const int pid = s && p.state == process_state::running ? load(s->pid) : 0;
      const std::uint32_t runs = s ? load(s->runs) : 0;
      // A member of a held group that no longer runs: stopped (the controller still has the
      // run it was stopped in; the group restarts when it is resumed).
      const bool stopped = hold != hold_none && p.state == process_state::running &&
                           (s == nullptr || !same_process_alive(pid, load(s->start_time)));
      const char* pstate = stopped ? "stopped" : state_name(p.state);
      if (json)
        std::printf(
            R"(%s{"id":%u,"name":%s,"kind":"%s","state":"%s","pid":%d,"runs":%u,"image":%u})",
            first ? "" : ",", p.id, json_str(p.name()).c_str(),
            p.kind == process_kind::direct ? "direct" : "indirect", pstate, stopped ? 0 : pid, runs,
            p.image);
      else
        std::printf("  %-32.*s %-8s %-12s pid %-7d runs %u\n", static_cast<int>(p.name().size()),
                    p.name().data(), p.kind == process_kind::direct ? "direct" : "indirect", pstate,
                    stopped ? 0 : pid, runs);
      first = false;
    });
    if (json) std::printf("]}");
    if (!json && g->blocked_reported) {
      char buf[512];
      if (ctl->blocked_message(gid, buf, sizeof buf)) std::printf("  %s\n", buf);
    }
  }
  if (json)
    std::printf("]}\n");
  else if (shown == 0)
    std::printf("no groups\n");
  return exit_ok;
}

namespace {
// blocks and check over any bank: a live one (mmap) or a raw memory image (span backend).
template <class Bank>
int blocks_of(Bank& bank, const std::string& path, bool json) {
  auto st = bank.stats();
  if (!st) return report_bank_error("cannot read bank", path, st.error());
  struct row {
    std::string name, key, owner;
    std::uint64_t size, capacity;
  };
  std::vector<row> rows;
  (void)bank.for_each([&](const block_info& b) {
    std::string owner = "user";
    if (b.name == controller_block_name)
      owner = "controller";
    else if (b.name == runtime_block_name)
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
    std::printf(
        "{\"bank\":%s,\"bank_size\":%llu,\"used\":%llu,\"free\":%llu,\"blocks\":%u,"
        "\"max_blocks\":%u,\"page_size\":%u,\"list\":[",
        json_str(path).c_str(), static_cast<unsigned long long>(st->bank_size),
        static_cast<unsigned long long>(st->used), static_cast<unsigned long long>(st->free),
        st->blocks, st->max_blocks, st->page_size);
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::printf(R"(%s{"name":%s,"size":%llu,"capacity":%llu,"key":%s,"owner":%s})", i ? "," : "",
                  json_str(rows[i].name).c_str(), static_cast<unsigned long long>(rows[i].size),
                  static_cast<unsigned long long>(rows[i].capacity), json_str(rows[i].key).c_str(),
                  json_str(rows[i].owner).c_str());
    std::printf("]}\n");
    return exit_ok;
  }
  std::printf("bank %s: %u of %u blocks, %llu of %llu bytes used, page %u\n", path.c_str(),
              st->blocks, st->max_blocks, static_cast<unsigned long long>(st->used),
              static_cast<unsigned long long>(st->bank_size), st->page_size);
  std::printf("%-32s %12s %12s  %-20s %s\n", "NAME", "SIZE", "CAPACITY", "KEY", "OWNER");
  for (const row& r : rows) {
    std::string key;
    for (char c : r.key) key += (c == '\0') ? std::string("\\0") : std::string(1, c);
    std::printf("%-32s %12llu %12llu  %-20s %s\n", r.name.c_str(),
                static_cast<unsigned long long>(r.size),
                static_cast<unsigned long long>(r.capacity), key.empty() ? "-" : key.c_str(),
                r.owner.c_str());
  }
  return exit_ok;
}

template <class Bank>
int check_of(Bank& bank, const std::string& path, bool json) {
  null_block_store none;
  runtime_view rt;
  std::vector<std::string> problems;
  if (auto rb = bank.find(runtime_block_name)) {
    if (auto v = runtime_view::attach(*rb))
      rt = *v;
    else
      problems.push_back(std::string("runtime block: ") + describe(v.error()).text);
  }
  auto n = bank.check([&](const error& e) { problems.emplace_back(describe(e).text); });
  if (!n) problems.emplace_back(describe(n.error()).text);
  // The runtime's own blocks.
  auto cb = bank.find(controller_block_name);
  if (cb) {
    std::vector<std::byte> copy(cb->data, cb->data + cb->capacity);
    std::vector<std::uint32_t> images;
    auto collect = [&](const auto& c) {
      for (std::uint32_t gid = 0; gid < c.max_groups(); ++gid)
        (void)c.for_each_member(gid, [&](const process_view& p) {
          if (c.group_info(gid)) images.push_back(p.image);
        });
    };
    // hrctl's policy (tunables from its runtime block), else the ChorusOS counter alone (a
    // controller made by the firmware runtime).
    runtime_policy pol;
    if (rt) pol = policy_of(rt.header());
    auto c = snapshot_controller::open(copy, pol, none);
    if (c) {
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
            "image block " + std::string(b.name) +
            " belongs to no registered process (freed when a supervisor adopts the bank)");
    });
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
  if (json) {
    std::printf(R"({"bank":%s,"problems":[)", json_str(path).c_str());
    for (std::size_t i = 0; i < problems.size(); ++i)
      std::printf("%s%s", i ? "," : "", json_str(problems[i]).c_str());
    std::printf("]}\n");
  } else if (problems.empty()) {
    std::printf("bank %s: consistent\n", path.c_str());
  } else {
    std::printf("bank %s: %zu problem(s)\n", path.c_str(), problems.size());
    for (const auto& p : problems) std::printf("  %s\n", p.c_str());
  }
  return problems.empty() ? exit_ok : exit_check;
}
}  // namespace

int cmd_blocks(const bank_options& bo, bool json) {
  std::optional<opened> o;
  if (int rc = open_bank(bo, o, false); rc != exit_ok) return rc;
  return blocks_of(o->a.bank, bo.path, json);
}

int cmd_check(const bank_options& bo, bool json) {
  std::optional<opened> o;
  if (int rc = open_bank(bo, o, false); rc != exit_ok) return rc;
  return check_of(o->a.bank, bo.path, json);
}

int cmd_image(const image_source& src, bool check, bool json) {
  auto img = tools::bank_image::read(src.path.c_str(), src.offset, src.length);
  if (!img)
    return report_bank_error("cannot read the image", src.path, img.error(), ::geteuid(),
                             bank_source::image);
  // The image is a copy: opening it may repair an interrupted operation in the copy only.
  auto bank = basic_bank<span_backend>::open(img->bytes());
  if (!bank)
    return report_bank_error("no bank in the image", src.path, bank.error(), ::geteuid(),
                             bank_source::image);
  const std::string label = src.path + (src.offset != 0 ? "@" + std::to_string(src.offset) : "");
  return check ? check_of(*bank, label, json) : blocks_of(*bank, label, json);
}

}  // namespace hrctl
