// SPDX-License-Identifier: MIT
// hrctl: the hot restart supervisor and CLI (ChorusOS arun -g / akill / restart, on Linux).
// A thin main: the command line is parsed from one table (options.hpp), the requests to a
// running supervisor are the client's (client.hpp), supervising is supervisor.hpp's.
// See docs/hrctl.md.
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client.hpp"
#include "common.hpp"
#include "inspect.hpp"
#include "json.hpp"
#include "options.hpp"
#include "snapshot.hpp"
#include "supervisor.hpp"
#include "systemd.hpp"

using namespace hrctl;

namespace {

int cmd_run(parsed_args& a, bool serve_mode) {
  const char* cmd = serve_mode ? "serve" : "run";
  if (!serve_mode && a.rest.empty())
    return usage_error("missing -- PROGRAM [ARGS...]", cmd, exit_usage, a.json);
  a.ro.argv = a.rest;
  a.ro.group = a.group;
  if (!serve_mode) {
    program_file f;
    if (const int rc = open_program_or_say(a.rest[0], f); rc != exit_ok) return rc;
    ::close(f.fd);
    // A bank this run creates is sized from what it runs unless --bank-size says otherwise.
    if (!a.bo.was_given("--bank-size"))
      a.bo.bank_size = run_bank_size(a.bo, image_bytes(f.bytes, a.rest));
  }
  // serve --config: what the configured groups need is checked before anything is opened.
  if (serve_mode && !a.conf.groups.empty()) {
    std::string err;
    if (const int rc = check_config_groups(a.conf, err); rc != exit_ok) {
      if (rc == exit_usage) return usage_error(err, cmd, rc, a.json);
      std::fprintf(stderr, "hrctl: %s\n", err.c_str());
      return rc;
    }
  }
  // A supervisor that goes away while we hand it the program: try again, as the supervisor.
  for (int attempt = 0;; ++attempt) {
    supervisor s;
    bool busy = false;
    const int rc = s.open(a.bo, a.ro.prefix, a.ro.quiet, &busy);
    if (busy) {
      if (serve_mode) {
        std::fprintf(stderr, "hrctl: another supervisor (pid %d) serves %s\n",
                     s.recorded_supervisor(), a.bo.path.c_str());
        return exit_busy;
      }
      bool retry = false;
      const int drc = run_delegated(a, retry);
      if (!retry || attempt >= 5) {
        if (retry)
          std::fprintf(stderr, "hrctl: the supervisors of %s keep going away\n", a.bo.path.c_str());
        return drc;
      }
      sleep_ms(50);
      continue;
    }
    if (rc != exit_ok) return rc;
    if (serve_mode && !a.config.empty()) {
      // The configured groups: started (or resumed) now; adopted ones were taken by open().
      if (const int e = s.start_config(a.conf); e != exit_ok) {
        s.stop_all(SIGTERM, a.ro.stop_timeout_ms);
        return e;
      }
    }
    std::uint32_t gid = no_group;
    if (!serve_mode) {
      if (int e = s.start_direct(a.ro, gid); e != exit_ok) {
        s.discard_new_bank();  // a bank this run created and started nothing in: not kept
        return e;
      }
    }
    return s.serve(serve_mode ? no_group : gid, a.ro.stop_timeout_ms, a.ro.serve_all);
  }
}

int cmd_read(const parsed_args& a, int (*fn)(const bank_options&, bool)) {
  const char* cmd = a.cmd->name;
  if (a.image_given) {
    if (std::find(a.bo.given.begin(), a.bo.given.end(), "--bank") != a.bo.given.end())
      return usage_error("--image and --bank exclude each other", cmd, exit_usage, a.json);
    return cmd_image(a.image, std::strcmp(cmd, "check") == 0, a.json);
  }
  if (a.image.offset != 0 || a.image.length != 0)
    return usage_error("--offset/--length need --image", cmd, exit_usage, a.json);
  return fn(a.bo, a.json);
}

// Hidden generators (the build runs them): hrctl __man [FILE], hrctl __bash-completion [FILE],
// hrctl __options CMD|all. -1 if `cmd` is none of them.
int generator(const std::string& cmd, int argc, char** argv) {
  const bool man = cmd == "__man", bash = cmd == "__bash-completion";
  if (cmd == "__options") return list_options(argc > 2 ? argv[2] : "all");
  if (!man && !bash) return -1;
  std::FILE* out = stdout;
  if (argc > 2) {
    out = std::fopen(argv[2], "w");
    if (out == nullptr) {
      std::perror(argv[2]);
      return exit_failure;
    }
  }
  if (man)
    write_man_page(out);
  else
    write_bash_completion(out);
  const bool ok = std::fflush(out) == 0 && (out == stdout || std::fclose(out) == 0);
  return ok ? exit_ok : exit_failure;
}

}  // namespace

int main(int argc, char** argv) {
  // Under a service: read the manager's variables and keep them from the members.
  (void)take_service_env();
  if (argc < 2) {
    print_main_help(stdout);
    return exit_usage;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_main_help(stdout);
    return exit_ok;
  }
  if (name == "--version" || name == "-V")
    return print_version(argc > 2 && std::strcmp(argv[2], "--json") == 0);
  if (const int rc = generator(name, argc, argv); rc >= 0) return rc;
  const command_spec* c = find_command(name);
  if (c == nullptr) {
    std::vector<std::string> names;
    for (const command_spec& k : command_table()) names.emplace_back(k.name);
    std::string m = "unknown command '" + name + "'";
    if (const std::string n = nearest(name, names); !n.empty()) m += "; did you mean " + n + "?";
    std::fprintf(stderr, "hrctl: %s (see hrctl --help)\n", m.c_str());
    for (int i = 2; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
      if (std::strcmp(argv[i], "--json") == 0) {
        print_json_error(exit_usage, "usage", m);
        break;
      }
    return exit_usage;
  }
  parsed_args a = parse_command_line(*c, argc, argv, 2);
  if (!a.error.empty()) return usage_error(a.error, c->name, a.error_code, a.json);
  if (a.help) {
    print_command_help(*c, stdout);
    return exit_ok;
  }
  switch (c->id) {
    case command_id::run: return cmd_run(a, false);
    case command_id::serve: return cmd_run(a, true);
    case command_id::kill: return cmd_kill(a);
    case command_id::restart: return cmd_restart(a);
    case command_id::upgrade: return cmd_upgrade(a);
    case command_id::stop: return cmd_stop(a);
    case command_id::status:
      if (a.every_given && !a.watch)
        return usage_error("--every needs --watch", c->name, exit_usage, a.json);
      if (a.watch) return cmd_status_watch(a.bo, a.json, a.every_ms);
      return cmd_read(a, cmd_status);
    case command_id::blocks: return cmd_read(a, cmd_blocks);
    case command_id::check: return cmd_read(a, cmd_check);
    case command_id::snapshot:
    case command_id::restore:
    case command_id::remove: {
      snapshot_options so;
      so.json = a.json;
      so.force = a.bo.force;
      so.freeze_timeout_ms = a.freeze_timeout_ms;
      if (c->id == command_id::snapshot) return cmd_snapshot(a.bo, a.rest[0], so);
      if (c->id == command_id::restore) return cmd_restore(a.bo, a.rest[0], so);
      return cmd_remove(a.bo, so);
    }
    case command_id::convert: return cmd_convert(a.bo, a.json);
    case command_id::version: return print_version(a.json);
    case command_id::reload: return cmd_reload(a);
    case command_id::count: break;
  }
  return exit_failure;
}
