// SPDX-License-Identifier: MIT
// The groups of a configuration file (config.hpp): started by hrctl serve --config as hrctl
// run -g would start them, and applied again by hrctl reload (new groups started, changed
// programs upgraded, removed groups stopped and held). docs/hrctl.md, "Configuration files".
#include "supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "systemd.hpp"

namespace hrctl {

namespace {

// FNV-1a of a program file's bytes (as an image records its executable's).
bool file_checksum(const program_file& f, std::uint32_t& out) {
  std::vector<std::byte> buf(static_cast<std::size_t>(f.bytes));
  if (!read_program(f, buf.data())) return false;
  out = fnv1a(buf.data(), f.bytes);
  return true;
}

}  // namespace

int check_config_groups(const config_file& cf, std::string& err) {
  for (const config_group& g : cf.groups) {
    for (const config_member& m : g.members) {
      program_file f;
      const program_problem pp = open_program(m.argv[0], f);
      if (f.fd >= 0) ::close(f.fd);
      if (pp != program_problem::none) {
        err = cf.path + ":" + std::to_string(m.line) + ": " + m.argv[0] + ": " + describe(pp);
        return exit_program;
      }
    }
    for (const std::string& n : g.sockets) {
      const bool passed = std::any_of(service().fds.begin(), service().fds.end(),
                                      [&](const passed_fd& p) { return p.name == n; });
      if (!passed) {
        std::string have;
        for (const passed_fd& p : service().fds)
          if (!p.name.starts_with("hrctl-g")) have += (have.empty() ? "" : ", ") + p.name;
        err = cf.path + ":" + std::to_string(g.line) + ": group " + g.group + ": no socket named " +
              n + " was passed by the service manager (passed: " +
              (have.empty() ? std::string("none") : have) + ")";
        return exit_usage;
      }
    }
  }
  return exit_ok;
}

std::optional<std::uint32_t> supervisor::configured_gid(const std::string& group) const {
  std::uint32_t n = 0;
  if (parse_u32(group, n)) {
    if (n < ctl_->max_groups() && ctl_->group_info(n)) return n;
    return std::nullopt;
  }
  for (std::uint32_t i = 0; i < rt_.max_groups(); ++i) {
    const group_slot* g = rt_.group(i);
    if (ctl_->group_info(i) && std::string_view(g->name, g->name_len) == group) return i;
  }
  return std::nullopt;
}

bool supervisor::image_differs(std::uint32_t image, const config_member& m, const program_file& f) {
  auto b = bank_->find(image_block_name(image));
  if (!b || !check_image(*b)) return true;
  const auto* h = reinterpret_cast<const image_header*>(b->data);
  const std::string recorded(h->path, std::min<std::size_t>(h->path_len, sizeof h->path));
  if (image_argv(*b) != m.argv) return true;
  if (recorded != f.path.substr(0, sizeof h->path)) return true;
  if (h->exe_bytes != f.bytes) return true;
  std::uint32_t sum = 0;
  return !file_checksum(f, sum) || sum != h->exe_checksum;
}

// One `run` line as hrctl run -g GROUP [--name N] ... -- PROGRAM ARGS would start it, in this
// supervisor (start_direct), which keeps serving every group.
int supervisor::start_configured_member(const config_group& cg, const config_member& m) {
  run_options ro;
  ro.group = cg.group;
  ro.name = m.name;
  ro.argv = m.argv;
  ro.listen = cg.listen;
  ro.exit0_clean = cg.exit0_clean;
  ro.heartbeat_ms = cg.heartbeat_ms;
  ro.stop_timeout_ms = cg.stop_timeout_ms != 0 ? cg.stop_timeout_ms : stop_timeout_ms_;
  ro.stop_timeout_given = cg.stop_timeout_ms != 0;
  ro.standby = cg.standby;
  ro.standby_timeout_ms = cg.standby_timeout_ms;
  const std::uint32_t own = own_;
  const std::uint64_t stop_ms = stop_timeout_ms_;
  std::uint32_t gid = no_group;
  const int rc = start_direct(ro, gid);
  own_ = own;
  stop_timeout_ms_ = stop_ms;
  return rc;
}

// A configured group: its passed sockets, then each member that does not run yet. `reload`:
// a held group stays held (only an upgrade resumes it).
int supervisor::start_configured_group(const config_group& cg, bool reload, reload_tally& t) {
  std::optional<std::uint32_t> gid = configured_gid(cg.group);
  const bool existed = gid.has_value();
  if (!gid) {  // a new group: made first, so that its sockets are in place for its first runs
    std::uint32_t n = 0;
    const bool numeric = parse_u32(cg.group, n);
    if (numeric && n >= rt_.max_groups()) {
      log("configuration: group %s out of range: this bank has groups 0..%u (max-groups)",
          cg.group.c_str(), rt_.max_groups() - 1);
      return exit_unknown;
    }
    auto r = resolve_group(numeric ? n : no_group, numeric ? std::string_view{} : cg.group, true);
    if (!r) {
      log("configuration: cannot make group %s: %s", cg.group.c_str(), describe(r.error()).text);
      return r.error().code == errc::group_limit ? exit_too_small : exit_refused;
    }
    gid = *r;
    ++t.groups_started;
  }
  if (std::string e = listeners_.set_passed(*gid, cg.sockets); !e.empty()) {
    log("configuration: group %s: %s", cg.group.c_str(), e.c_str());
    return exit_usage;
  }
  if (group_slot* gs = rt_.group(*gid)) {
    gs->flags = cg.exit0_clean ? (gs->flags | group_exit0_clean)
                               : (gs->flags & ~std::uint32_t{group_exit0_clean});
    gs->heartbeat_ms = cg.heartbeat_ms;
    if (cg.stop_timeout_ms != 0)
      gs->stop_timeout_ms = static_cast<std::uint32_t>(cg.stop_timeout_ms);
  }
  for (const config_member& m : cg.members) {
    auto id = ctl_->find_process(*gid, m.name);
    // reload: a member the group has is left as it is (the caller upgrades a changed program).
    if (reload && id) {  // (its standby as the configuration says now)
      standby_want(*gid, m.name, cg.standby, cg.standby_timeout_ms);
      continue;
    }
    if (reload && existed && held(*gid)) {
      log("group %u is held: member %s of the configuration is not started (hrctl run -g %u "
          "resumes the group)",
          *gid, m.name.c_str(), *gid);
      continue;
    }
    if (id) {
      auto pv = ctl_->process_info(*id);
      program_file f;
      const bool differs = pv && pv->image != no_image &&
                           open_program(m.argv[0], f) == program_problem::none &&
                           image_differs(pv->image, m, f);
      if (f.fd >= 0) ::close(f.fd);
      if (differs) {
        log("group %u: member %s keeps its image in the bank, which is not what %s:%d runs now "
            "(a restart runs the bank's image): hrctl reload upgrades it",
            *gid, m.name.c_str(), config_.path.c_str(), m.line);
        continue;
      }
    }
    if (!id) ++t.members_started;
    if (const int rc = start_configured_member(cg, m); rc != exit_ok) return rc;
  }
  return exit_ok;
}

int supervisor::start_config(const config_file& cf) {
  config_ = cf;
  configured_ = true;
  reload_tally t;
  for (const config_group& cg : cf.groups)
    if (const int rc = start_configured_group(cg, false, t); rc != exit_ok) {
      log("configuration %s: group %s could not be started: stopping what was started",
          cf.path.c_str(), cg.group.c_str());
      return rc;
    }
  if (!cf.groups.empty())
    log("configuration %s: %zu group%s (%u started now, %u member%s started)", cf.path.c_str(),
        cf.groups.size(), cf.groups.size() == 1 ? "" : "s", t.groups_started, t.members_started,
        t.members_started == 1 ? "" : "s");
  return exit_ok;
}

// hrctl reload: the configuration file read again and applied (docs/hrctl.md, "Reload").
void supervisor::serve_reload(request_slot& s, std::uint32_t slot) {
  (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
  if (!configured_) {
    answer(s, exit_usage, "this supervisor was started without --config: nothing to reload");
    return;
  }
  bank_options nb;
  config_file cf;
  std::string e = load_config(config_.path, nb, &cf);
  if (e.empty()) {
    if (cf.bank != config_.bank || cf.user != config_.user)
      e = config_.path + ": bank or user changed: that needs a restart of the service";
  }
  int code = exit_usage;
  if (e.empty()) code = check_config_groups(cf, e);
  if (!e.empty()) {
    log("reload refused, nothing changed: %s", e.c_str());
    answer(s, code == exit_ok ? exit_usage : code, e);
    return;
  }
  reload_tally t;
  std::string failed;
  int rc = exit_ok;
  for (const config_group& cg : cf.groups) {
    rc = start_configured_group(cg, true, t);
    if (rc != exit_ok) {
      failed = "group " + cg.group + " could not be started";
      break;
    }
    // Members whose program changed: new images, then one restart of the group on them.
    const std::optional<std::uint32_t> gid = configured_gid(cg.group);
    if (!gid) continue;
    bool upgraded = false;
    for (const config_member& m : cg.members) {
      auto id = ctl_->find_process(*gid, m.name);
      auto pv = id ? ctl_->process_info(*id) : result<process_view>(fail(id.error()));
      if (!pv || pv->image == no_image) continue;
      program_file f;
      if (open_program(m.argv[0], f) != program_problem::none) continue;
      if (!image_differs(pv->image, m, f)) {
        ::close(f.fd);
        continue;
      }
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
      auto b = bank_->find_or_create(hotrestart::detail::internal_access, staging_block_name(slot),
                                     image_bytes(f.bytes, m.argv));
      auto w = b ? write_image(*b, f, m.argv, m.name) : result<void>(fail(b.error()));
      ::close(f.fd);
      if (!w) {
        (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
        rc = w.error().code == errc::bank_full || w.error().code == errc::block_table_full
                 ? exit_too_small
                 : exit_failure;
        failed = "cannot make the new image of " + m.name + ": " + describe(w.error()).text;
        break;
      }
      if (rc = replace_image(slot, pv->image, m.name, failed); rc != exit_ok) break;
      log("group %u: image of %s upgraded from %s (reload)", *gid, m.name.c_str(),
          m.argv[0].c_str());
      upgraded = true;
    }
    if (upgraded) {
      ++t.groups_upgraded;
      log("group %u: restarting on its new image(s) (reload; its sockets are kept)", *gid);
      resume_held(*gid, false);
      drive([&](auto& sink) { return ctl_->restart_group(now(), *gid, sink); });
    }
    if (rc != exit_ok) break;
  }
  if (rc == exit_ok) {
    // Groups the previous configuration named and this one does not: stopped and held.
    for (const config_group& old : config_.groups) {
      const bool kept = std::any_of(cf.groups.begin(), cf.groups.end(),
                                    [&](const config_group& g) { return g.group == old.group; });
      if (kept) continue;
      const std::optional<std::uint32_t> gid = configured_gid(old.group);
      if (!gid || held(*gid)) continue;
      log("group %u (%s) is no longer in the configuration: stopped and held, not killed (its "
          "state stays in the bank; hrctl kill -g %u ends it)",
          *gid, old.group.c_str(), *gid);
      begin_stop(*gid, stop_timeout_of(*gid, 0), 128 + SIGTERM);
      ++t.groups_stopped;
    }
    config_ = std::move(cf);
  }
  char msg[112];
  std::snprintf(msg, sizeof msg,
                "reloaded: %u group(s) started, %u member(s) started, %u upgraded, %u stopped",
                t.groups_started, t.members_started, t.groups_upgraded, t.groups_stopped);
  if (rc != exit_ok) {
    log("reload: %s (what was done before stays: %s)", failed.c_str(), msg);
    answer(s, rc, failed);
    return;
  }
  log("%s (configuration %s)", msg, config_.path.c_str());
  answer(s, exit_ok, msg);
}

}  // namespace hrctl
