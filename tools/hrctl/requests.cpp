// SPDX-License-Identifier: MIT
// The request mailbox (mailbox.hpp): hrctl run (delegated), kill -g, stop, restart, upgrade
// and hrfexec, each served by a function of its own; every request is refused once the bank
// may be written by another user (docs/security.md).
#include "supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hrctl {

void supervisor::answer(request_slot& s, int status, const std::string& msg) {
  if (status != exit_ok) {
    static constexpr const char* kinds[] = {"?",       "hrfexec", "kill -g", "restart",
                                            "upgrade", "run",     "stop",    "reload"};
    log.warn("refused a request (%s) from pid %d: %s", s.kind < 8 ? kinds[s.kind] : "unknown",
             load(s.requester), msg.c_str());
  }
  // The status goes into the request's record before the answer: a supervisor that ends in
  // between leaves it for the retry of the request.
  if (performed_record* p = performed(request_id(s))) {
    store(p->status, static_cast<std::int32_t>(status));
    // Test hook (tests/runtime/request_id_test.sh): end here, the request performed and
    // recorded but not answered, as a supervisor killed at that instant. Only for a bank of
    // the end-to-end tests.
    const char* die = std::getenv("HR_TEST_DIE_BEFORE_ANSWER");
    if (die != nullptr && std::strcmp(die, "1") == 0 && bo_.path.starts_with("/dev/shm/hr-e2e-") &&
        load(p->status) != performed_in_progress && !answering_again_)
      ::_exit(70);
  }
  answer_request(*bank_, rt_, static_cast<std::uint32_t>(&s - rt_.request(0)), status, msg);
}

performed_record* supervisor::performed(std::uint64_t id) {
  runtime_ext_header* x = rt_.ext();
  if (x == nullptr || id == 0) return nullptr;
  for (performed_record& p : x->performed)
    if (load(p.id) == id) return &p;
  return nullptr;
}

// The entry is emptied (id 0) before it is rewritten and its id stored last: a crash in
// between leaves an empty entry, never another request's status under this id.
void supervisor::record_performed(std::uint64_t id, std::uint32_t kind) {
  runtime_ext_header* x = rt_.ext();
  if (x == nullptr || id == 0) return;
  const std::uint32_t at = load(x->performed_next) % performed_slots;
  performed_record& p = x->performed[at];
  store(p.id, std::uint64_t{0});
  store(p.status, performed_in_progress);
  store(p.kind, kind);
  store(p.id, id);
  store(x->performed_next, (at + 1) % performed_slots);
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
    // Performed already (a retry with the same id, or the slot of a supervisor that ended
    // before answering): answered with the recorded status, not performed again.
    const std::uint64_t id = request_id(s);
    if (const performed_record* p = performed(id)) {
      static constexpr const char* kinds[] = {"?",       "hrfexec", "kill -g", "restart",
                                              "upgrade", "run",     "stop",    "reload"};
      const std::int32_t st = load(p->status);
      char msg[112];
      std::snprintf(
          msg, sizeof msg, "request %016llx (%s) was performed already%s: not again",
          static_cast<unsigned long long>(id), p->kind < 8 ? kinds[p->kind] : "?",
          st == performed_in_progress ? " (its supervisor ended while acting on it)" : "");
      log("request %016llx from pid %d: performed already (status %d): answered, not performed "
          "again",
          static_cast<unsigned long long>(id), load(s.requester), st);
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(i));
      answering_again_ = true;
      answer(s, st == performed_in_progress ? exit_ok : st, msg);
      answering_again_ = false;
      continue;
    }
    record_performed(id, s.kind);
    const std::string name(s.name, std::min<std::uint32_t>(s.name_len, 32));
    const std::string gname(s.group_name, std::min<std::uint32_t>(s.group_name_len, 32));
    switch (s.kind) {
      case req_kill_group: serve_kill_group(s, gname); break;
      case req_stop_group: serve_stop_group(s, gname); break;
      case req_site_restart: serve_site_restart(s); break;
      case req_spawn_indirect:
      case req_run_direct: serve_run(s, i, name, gname); break;
      case req_upgrade: serve_upgrade(s, i, name, gname); break;
      case req_reload: serve_reload(s, i); break;
      default: answer(s, exit_usage, "unknown request"); break;
    }
  }
}

void supervisor::serve_kill_group(request_slot& s, const std::string& gname) {
  auto g = resolve_group(s.gid, gname, false);
  if (!g) {
    answer(s, exit_unknown, describe(g.error()).text);
    return;
  }
  if (group_slot* gs = rt_.group(*g))
    store(gs->pending_outcome, static_cast<std::uint32_t>(outcome_killed));
  log("group %u: killed on request (hrctl kill -g)", *g);
  drive([&](auto& sink) { return ctl_->kill_group(now(), *g, sink); });
  s.result_gid = *g;
  answer(s, exit_ok, "group killed");
}

void supervisor::serve_stop_group(request_slot& s, const std::string& gname) {
  auto g = resolve_group(s.gid, gname, false);
  if (!g) {
    answer(s, exit_unknown, describe(g.error()).text);
    return;
  }
  log("group %u: stop requested (%s)", *g,
      s.stop_signal != 0 ? signal_name(static_cast<int>(s.stop_signal)) : "hrctl stop");
  begin_stop(*g, stop_timeout_of(*g, s.stop_timeout_ms),
             128 + static_cast<int>(s.stop_signal != 0 ? s.stop_signal : SIGTERM));
  s.result_gid = *g;
  answer(s, exit_ok, "stopping");
}

void supervisor::serve_site_restart(request_slot& s) {
  drive([&](auto& sink) { return ctl_->request_site_restart(now(), sink); });
  handle_site_restarts();
  answer(s, exit_ok, "site restart performed");
}

// hrctl run handed to this supervisor (direct), or hrfexec (an indirect member).
void supervisor::serve_run(request_slot& s, std::uint32_t slot, const std::string& name,
                           const std::string& gname) {
  std::string err;
  const bool direct = s.kind == req_run_direct;
  auto g = direct ? resolve_group(s.gid, gname, true) : resolve_group(s.gid, {}, false);
  if (!g) {
    (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
    answer(s, g.error().code == errc::group_limit ? exit_too_small : exit_unknown,
           describe(g.error()).text);
    return;
  }
  group_slot* gs = rt_.group(*g);
  if (direct && gs != nullptr) {
    gs->flags |= s.flags & group_exit0_clean;
    if (s.heartbeat_ms) gs->heartbeat_ms = s.heartbeat_ms;
    if (s.stop_timeout_ms) gs->stop_timeout_ms = s.stop_timeout_ms;
    if (s.listen_count != 0) {
      const std::uint32_t n = std::min<std::uint32_t>(s.listen_count, max_listen);
      std::vector<listen_record> want;
      for (std::uint32_t k = 0; k < n; ++k)
        if (const listen_record* r = rt_.request_listen(slot, k)) want.push_back(*r);
      if (int e = listeners_.open(*gs, *g, want, &err); e != exit_ok) {
        (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
        answer(s, e, err);
        return;
      }
    }
  }
  // A member registered before keeps its first image (as ChorusOS); a new one gets
  // the staged image. A delegated run of another program under a member's name is refused,
  // and a member that exited cleanly stays exited (as for hrctl run: runs.cpp).
  std::uint32_t image = no_image;
  auto known = ctl_->find_process(*g, name);
  if (known && direct) {
    auto pv = ctl_->process_info(*known);
    auto staged = bank_->find(staging_block_name(slot));
    if (pv && pv->image != no_image && runs_[*known].pid <= 0 && staged && check_image(*staged)) {
      const auto* sh = reinterpret_cast<const image_header*>(staged->data);
      const std::string path(sh->path, std::min<std::size_t>(sh->path_len, sizeof sh->path));
      if (std::string other = other_program(pv->image, image_argv(*staged), path); !other.empty()) {
        (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
        log("group %u: member %s keeps its image, which runs %s", *g, name.c_str(), other.c_str());
        answer(s, exit_refused,
               "member " + name +
                   " runs another program: hrctl upgrade replaces it; --name adds "
                   "a member");
        return;
      }
    }
    if (pv && pv->state == process_state::exited_clean) {
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
      s.result_pid = 0;
      s.result_gid = *g;
      s.result_terminations = gs ? load(gs->terminations) : 0;
      answer(s, exit_ok, "it exited cleanly before: it stays exited");
      return;
    }
  }
  if (direct) resume_held(*g, true);
  if (known) {
    auto pv = ctl_->process_info(*known);
    if (pv && pv->image != no_image && bank_->find(image_block_name(pv->image))) image = pv->image;
  }
  if (image == no_image) {
    auto staged = bank_->find(staging_block_name(slot));
    const std::string e = sizing_problem(name, staged ? staged->capacity : 0, 0);
    if (!e.empty()) {
      (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
      answer(s, exit_too_small, e);
      return;
    }
    if (int rc = take_staged_image(slot, image); rc != exit_ok) {
      answer(s, rc, "cannot keep the staged image");
      return;
    }
  } else {
    (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
  }
  // A delegated hrctl run: the member writes to the requester's own stdout/stderr,
  // which it handed over through the relay socket (the kernel vouches for who sent them).
  proc_out relay;
  bool relaying = direct && (s.flags & req_relay_output) != 0;
  if (relaying) {
    relay.prefix = (s.flags & req_prefix_output) != 0;
    if (!outputs_.take(slot, load(s.requester), relay)) {
      log("group %u: %s: no output was handed over by hrctl run (pid %d): its output goes "
          "to this supervisor's",
          *g, name.c_str(), load(s.requester));
      relaying = false;
    }
  }
  int pid = 0;
  const int rc =
      register_and_run(*g, name, direct ? process_kind::direct : process_kind::indirect, image,
                       direct ? no_process : s.parent, &pid, &err, relaying ? &relay : nullptr);
  if (relay.out >= 0) ::close(relay.out);
  if (relay.err >= 0) ::close(relay.err);
  if (direct && rc == exit_ok)
    standby_want(*g, name, (s.flags & req_standby) != 0, load(s.standby_timeout_ms));
  // Not registered: the image was made for this request only.
  if (rc != exit_ok && !known)
    (void)bank_->free(hotrestart::detail::internal_access, image_block_name(image));
  s.result_pid = pid;
  s.result_gid = *g;
  s.result_terminations = gs ? load(gs->terminations) : 0;
  answer(s, rc, rc != exit_ok ? err : pid != 0 ? std::string("started") : err);
}

// hrctl upgrade: the staged image replaces the member's, then the group restarts on it.
void supervisor::serve_upgrade(request_slot& s, std::uint32_t slot, const std::string& name,
                               const std::string& gname) {
  auto g = resolve_group(s.gid, gname, false);
  if (!g) {
    (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
    answer(s, exit_unknown, describe(g.error()).text);
    return;
  }
  auto id = ctl_->find_process(*g, name);
  auto pv = id ? ctl_->process_info(*id) : result<process_view>(fail(id.error()));
  if (!pv || pv->image == no_image) {
    (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
    answer(s, exit_unknown, "no member of that name in the group: use --name");
    return;
  }
  std::string e;
  if (const int rc = replace_image(slot, pv->image, name, e); rc != exit_ok) {
    answer(s, rc, e);
    return;
  }
  log("group %u: image of %s upgraded; restarting the group on it", *g, name.c_str());
  resume_held(*g, false);
  // Restart the group on the new image: an upgrade, not a failure (no restart counted).
  drive([&](auto& sink) { return ctl_->restart_group(now(), *g, sink); });
  s.result_gid = *g;
  answer(s, exit_ok, "upgraded");
}

// The staged image of mailbox slot `slot` replaces image `image` (member `name`'s), in one step
// (the bank's replace), once the sizing rule allows it. exit_ok, or the exit code with `err`;
// the staging block is freed on failure.
int supervisor::replace_image(std::uint32_t slot, std::uint32_t image, const std::string& name,
                              std::string& err) {
  auto staged = bank_->find(staging_block_name(slot));
  auto old = bank_->find(image_block_name(image));
  err = sizing_problem(name, staged ? staged->capacity : 0, old ? old->capacity : 0);
  int rc = exit_too_small;
  if (err.empty()) {
    auto rep = bank_->replace(hotrestart::detail::internal_access, image_block_name(image),
                              staging_block_name(slot));
    if (rep) {
      launch_.forget_image(image);
      standby_image_replaced(image);
      return exit_ok;
    }
    err = describe(rep.error()).text;
    rc = exit_failure;
  }
  (void)bank_->free(hotrestart::detail::internal_access, staging_block_name(slot));
  return rc;
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

}  // namespace hrctl
