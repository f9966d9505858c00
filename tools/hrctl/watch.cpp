// SPDX-License-Identifier: MIT
// hrctl status --watch: hrctl status again every interval, and what changed between two views
// (a member restarted, a group restart, a site restart, a group started or terminated). Read
// only, as hrctl status: no lock is taken, nothing in the bank is written.
//
// On a terminal: the screen redrawn (home, the lines, clear to the end) with the last events.
// Otherwise: one full view, then one timestamped line per event (a readable log). --json: one
// JSON object per view and line (JSON Lines): hrctl status --json's with "time" and "events".
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "inspect.hpp"
#include "json.hpp"

namespace hrctl {

namespace {

struct watch_event {
  std::string time;
  const char* kind = "";
  bool has_group = false;
  std::uint32_t gid = 0;
  std::string group;   // the group's name ("" if none)
  std::string member;  // the member's name, for member events
  int pid = 0;
  std::uint32_t runs = 0;
  std::uint64_t count = 0;  // restarts (group_restart) or site restarts (site_restart)
  std::string text;         // the line, without the time
};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string group_label(const status_group& g) {
  std::string s = "group " + std::to_string(g.gid);
  if (!g.name.empty()) s += " (" + printable_name(g.name) + ")";
  return s;
}

const status_group* find_group(const status_sample& s, std::uint32_t gid) {
  for (const status_group& g : s.groups)
    if (g.gid == gid) return &g;
  return nullptr;
}

const status_member* find_member(const status_group& g, std::uint32_t id) {
  for (const status_member& m : g.members)
    if (m.id == id) return &m;
  return nullptr;
}

// What changed from `a` to `b`, in the order a reader wants it: the supervisor, site restarts,
// then group by group.
std::vector<watch_event> changes(const status_sample& a, const status_sample& b,
                                 const std::string& now) {
  std::vector<watch_event> ev;
  auto add = [&](const char* kind, std::string text) -> watch_event& {
    watch_event& e = ev.emplace_back();
    e.time = now;
    e.kind = kind;
    e.text = std::move(text);
    return e;
  };
  if (b.supervisor_alive && (!a.supervisor_alive || a.supervisor_pid != b.supervisor_pid))
    add("supervisor_started", "supervisor started (pid " + std::to_string(b.supervisor_pid) + ")")
        .pid = b.supervisor_pid;
  else if (a.supervisor_alive && !b.supervisor_alive)
    add("supervisor_stopped", "supervisor stopped (pid " + std::to_string(a.supervisor_pid) + ")")
        .pid = a.supervisor_pid;
  if (b.site_restarts > a.site_restarts)
    add("site_restart", "site restart (" + std::to_string(b.site_restarts) + " in all)").count =
        b.site_restarts;
  auto group_event = [&](const char* kind, const status_group& g,
                         const std::string& text) -> watch_event& {
    watch_event& e = add(kind, group_label(g) + ": " + text);
    e.has_group = true;
    e.gid = g.gid;
    e.group = g.name;
    return e;
  };
  auto member_event = [&](const char* kind, const status_group& g, const status_member& m,
                          const std::string& text) {
    watch_event& e = group_event(kind, g, printable_name(m.name) + " " + text);
    e.member = m.name;
    e.pid = m.pid;
    e.runs = m.runs;
  };
  auto run_of = [](const status_member& m) {
    return "(runs " + std::to_string(m.runs) + ", pid " + std::to_string(m.pid) + ")";
  };
  for (const status_group& g : a.groups) {
    const status_group* n = find_group(b, g.gid);
    // Another group under the same id between two views: the old one terminated.
    if (n == nullptr || n->name != g.name) group_event("group_terminated", g, "terminated");
  }
  for (const status_group& g : b.groups) {
    const status_group* o = find_group(a, g.gid);
    if (o != nullptr && o->name != g.name) o = nullptr;
    if (o == nullptr) {
      group_event("group_started", g,
                  "started (" + std::to_string(g.members.size()) +
                      (g.members.size() == 1 ? " member)" : " members)"));
      for (const status_member& m : g.members)
        member_event("member_started", g, m, "started " + run_of(m));
      continue;
    }
    if (g.restarts > o->restarts)
      group_event("group_restart", g, "group restart (restarts " + std::to_string(g.restarts) + ")")
          .count = g.restarts;
    if (g.state != o->state) group_event("group_state", g, "now " + g.state);
    for (const status_member& m : o->members)
      if (find_member(g, m.id) == nullptr) member_event("member_left", g, m, "left the group");
    for (const status_member& m : g.members) {
      const status_member* p = find_member(*o, m.id);
      if (p == nullptr)
        member_event("member_started", g, m, "started " + run_of(m));
      else if (m.pid != 0 && (m.runs != p->runs || m.pid != p->pid))
        member_event("member_restarted", g, m, "restarted " + run_of(m));
      else if (m.state != p->state)
        member_event("member_state", g, m, "now " + m.state);
    }
  }
  return ev;
}

void json_events(json_writer& w, const std::vector<watch_event>& ev) {
  w.key("events").begin_array();
  for (const watch_event& e : ev) {
    w.begin_object().key("time").str(e.time).key("kind").str(e.kind);
    if (e.has_group) w.key("gid").num(e.gid).name_field("group", e.group);
    if (!e.member.empty()) w.name_field("member", e.member).key("runs").num(e.runs);
    if (e.pid != 0 || !e.member.empty()) w.key("pid").snum(e.pid);
    if (e.count != 0) w.key("count").num(e.count);
    w.key("text").str(e.text).end_object();
  }
  w.end_array();
}

// The view of the bank, in memory (a whole frame, or a whole JSON line, is written at once).
int render_to(std::string& text, const bank_options& bo, bool json, status_sample& s,
              const std::function<void(json_writer&)>& json_extra = {}) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* mem = ::open_memstream(&buf, &len);
  if (mem == nullptr) {
    std::perror("hrctl: open_memstream");
    return exit_failure;
  }
  const int rc = render_status(bo, json, mem, &s, json_extra);
  std::fclose(mem);
  text.assign(buf, len);
  std::free(buf);
  return rc;
}

bool write_all(const std::string& s) {
  return std::fwrite(s.data(), 1, s.size(), stdout) == s.size() && std::fflush(stdout) == 0;
}

void on_stop(int) {}

}  // namespace

int cmd_status_watch(const bank_options& bo, bool json, std::uint32_t every_ms) {
  // SIGINT/SIGTERM end the watch: blocked, and taken by sigtimedwait as the pause between two
  // views. A handler in place of an inherited SIG_IGN (a background job's SIGINT).
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  sigset_t stop;
  ::sigemptyset(&stop);
  ::sigaddset(&stop, SIGINT);
  ::sigaddset(&stop, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &stop, nullptr);

  const bool tty = !json && ::isatty(STDOUT_FILENO) == 1;
  std::deque<watch_event> recent;  // the terminal's last events
  constexpr std::size_t recent_max = 10;
  status_sample prev;
  bool first = true;
  if (tty) write_all("\x1b[H\x1b[2J");
  for (;;) {
    const std::string now = utc_now();
    status_sample cur;
    std::vector<watch_event> ev;
    if (json) {
      // The events are known once the view is: they are added at the end of its object.
      std::string line;
      const int rc = render_to(line, bo, true, cur, [&](json_writer& w) {
        if (!first) ev = changes(prev, cur, now);
        w.key("time").str(now);
        json_events(w, ev);
      });
      if (!write_all(line)) return exit_failure;
      if (rc != exit_ok) return rc;
    } else {
      std::string text;
      const int rc = render_to(text, bo, false, cur);
      if (rc != exit_ok) return rc;
      if (!first) ev = changes(prev, cur, now);
      std::string frame;
      if (tty) {
        for (watch_event& e : ev) recent.push_back(e);
        while (recent.size() > recent_max) recent.pop_front();
        frame = "\x1b[H";
        const std::string sup = cur.supervisor_alive
                                    ? "supervisor pid " + std::to_string(cur.supervisor_pid)
                                    : std::string("supervisor not running");
        std::string body = printable_name(bo.path);
        body.append("  ").append(sup).append("  ").append(now).append("  (every ");
        body.append(std::to_string(every_ms)).append(" ms; Ctrl-C ends)\n").append(text);
        body.append("\nrecent events:\n");
        if (recent.empty()) body += "  (none yet)\n";
        for (const watch_event& e : recent) body += "  " + e.time + " " + e.text + "\n";
        // Each line clears what the previous frame left after it; the end clears the rest.
        for (char c : body) {
          if (c == '\n') frame += "\x1b[K";
          frame += c;
        }
        frame += "\x1b[J";
      } else if (first) {
        // One full view, each line with the time, then only the changes.
        std::size_t start = 0;
        while (start < text.size()) {
          std::size_t nl = text.find('\n', start);
          if (nl == std::string::npos) nl = text.size();
          frame += now + " " + text.substr(start, nl - start) + "\n";
          start = nl + 1;
        }
      } else {
        for (const watch_event& e : ev) frame += e.time + " " + e.text + "\n";
      }
      if (!write_all(frame)) return exit_failure;
    }
    prev = std::move(cur);
    first = false;
    const timespec ts{static_cast<time_t>(every_ms / 1000),
                      static_cast<long>(every_ms % 1000) * 1000000L};
    siginfo_t si;
    if (::sigtimedwait(&stop, &si, &ts) > 0) return exit_ok;
  }
}

}  // namespace hrctl
