// SPDX-License-Identifier: MIT
// --on-give-up-run: the command run when hrctl gives up on a group, for engines other than a
// service manager (a cluster manager's hook, a pager). It runs detached: the supervisor forks
// a short-lived child that forks the command's shell and exits at once, so the supervisor
// reaps at once and never waits for the command (a hook that hangs cannot stop the loop). The
// shell is a small wrapper that runs CMD and reports its exit status on hrctl's stderr.
#include "supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace hrctl {

namespace {
// Runs in the grandchild (after fork, single-threaded parent): a clean signal state, stdin
// from /dev/null, stdout to hrctl's stderr, no descriptor of the supervisor's (the bank, its
// lock: a hook that outlives the supervisor must not keep the lock), then the shell.
[[noreturn]] void exec_hook(const char* wrapper, const char* cmd, char* const* envp) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGBUS}) ::signal(s, SIG_DFL);
  ::setsid();
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, 0);
  ::dup2(2, 1);
  ::close_range(3, ~0u, 0);
  const char* argv[] = {"sh", "-c", wrapper, "hrctl-give-up-hook", cmd, nullptr};
  ::execve("/bin/sh", const_cast<char* const*>(argv), envp);
  ::_exit(127);
}
}  // namespace

void supervisor::run_give_up_hook(std::uint32_t gid, const std::string& reason) {
  const std::string& cmd = bo_.service.on_give_up_run;
  if (cmd.empty()) return;
  const group_slot* gs = rt_.group(gid);
  std::string name;
  if (gs != nullptr) name.assign(gs->name, std::min<std::uint32_t>(gs->name_len, sizeof gs->name));
  auto g = ctl_->group_info(gid);
  const std::uint32_t counter = g ? runtime_policy::counter(g->policy) : 0;
  // The environment: hrctl's own, then the hook's variables (they win: set last).
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "HR_", 3) != 0) env.emplace_back(*e);
  env.push_back("HR_GROUP=" + (name.empty() ? std::to_string(gid) : name));
  env.push_back("HR_GROUP_ID=" + std::to_string(gid));
  env.push_back("HR_GROUP_NAME=" + name);
  env.push_back("HR_GIVE_UP_REASON=" + reason);
  env.push_back("HR_RESTART_COUNTER=" + std::to_string(counter));
  env.push_back("HR_RESTARTS=" + std::to_string(g ? g->restarts : 0));
  // The escalation that gave up was not performed: the site restarts in a row are one fewer.
  const std::uint32_t esc = gs != nullptr ? gs->escalations : 0;
  env.push_back("HR_SITE_RESTARTS=" + std::to_string(esc == 0 ? 0 : esc - 1));
  env.push_back("HR_BANK=" + bo_.path);
  env.push_back("HR_NODE=" + node_name_);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // $1: the command; the wrapper's lines are hrctl log lines.
  const std::string wrapper = R"(sh -c "$1" </dev/null; rc=$?; echo "hrctl: group )" +
                              std::to_string(gid) + R"(: give-up hook exited with status $rc" >&2)";
  std::fflush(stderr);
  const pid_t a = ::fork();
  if (a < 0) {
    log.error("group %u: cannot run the give-up hook: fork: %s", gid, std::strerror(errno));
    return;
  }
  if (a == 0) {
    const pid_t b = ::fork();
    if (b == 0) exec_hook(wrapper.c_str(), cmd.c_str(), envp.data());
    ::_exit(b < 0 ? 1 : 0);
  }
  int st = 0;
  while (::waitpid(a, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    log.error("group %u: cannot run the give-up hook: fork failed", gid);
  else
    log("group %u: give-up hook started: %s", gid, cmd.c_str());
}

}  // namespace hrctl
