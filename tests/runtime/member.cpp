// SPDX-License-Identifier: MIT
// A restartable test program for the hrctl end-to-end tests. Counts its runs in a group-keyed
// block, prints "NAME run K restarted=R", then does what its flags say for that run:
//   --crash RUN:MODE   on run RUN: segv | kill | abort | exit (exit 3 without the clean call)
//   --crash-always MODE
//   --wait FILE        before acting, wait until FILE exists (the test drives the timing)
//   --hang RUN         on run RUN: sleep forever without heartbeat
//   --spawn RUN:NAME   on run RUN: start this program again as indirect member NAME (--wait-arg)
//   --child-wait FILE  the spawned indirect member waits for FILE then exits cleanly
//   --serve N          LISTEN_FDS: answer N connections with our pid, then crash (SIGSEGV)
//   --plain            exit 0 without the clean-exit call (for --exit0-clean)
//   --plain-first N    runs 1..N exit 0 without the clean-exit call, later ones cleanly
//   --tally FILE       append a line to FILE on each run (counts runs across a discard)
//   --crash-first N    with --tally: runs 1..N by the tally crash (SIGSEGV) after --wait
//   --helper-wait FILE the indirect member of --spawn waits for FILE ("/": exits at once)
//   --ignore-term      SIGTERM is ignored (a member that must be SIGKILLed)
//   --beat MS FOR      heartbeat every MS ms for FOR ms (process::heartbeat), then exit cleanly
//   --tag TEXT         printed with each run (upgrade test)
//   --block NAME       create a block NAME (16 bytes, no key; any bytes: hrctl blocks escapes them)
//   --ready MS         MS ms after the start of a run, call process::ready() and print
//                      "NAME ready run K at USEC" (CLOCK_MONOTONIC microseconds)
//   --ready-from RUN   --ready only from run RUN on (earlier runs never call it)
//   (--hang RUN with --beat: run RUN hangs before its heartbeats, the others beat)
//   --say-before-attach TEXT  print TEXT before process::attach() (a standby that writes early)
//   --sleep-before-attach MS  in a standby only (HR_STANDBY_FD set): sleep MS ms before
//                      process::attach() (a standby slow to reach its standby point)
//   --wait-run PREFIX  before acting, wait until PREFIX.K exists, K this run (one crash at a time)
//   --env              print "NAME env RUN: ..." with the run's identity: its pid, HR_GROUP,
//                      HR_PROCESS, HR_RESTARTED, LISTEN_FDS, LISTEN_PID == pid, LISTEN_FDNAMES,
//                      whether HR_STANDBY_FD is gone, and what fds 0..2 and 3.. are (kinds)
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fstream>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <hotrestart/posix/process.hpp>

using namespace hotrestart;

namespace {
// Not instrumented by UBSan: "segv" is a real fault (a store through a null pointer) that must
// reach the kernel as SIGSEGV in the sanitizer builds too (ASan's handler is off in e2e.sh).
__attribute__((no_sanitize("undefined"))) void crash(const std::string& mode) {
  std::fflush(nullptr);
  if (mode == "segv") {
    volatile int* p = nullptr;
    *p = 1;
  }
  if (mode == "kill") ::raise(SIGKILL);
  if (mode == "abort") std::abort();
  std::_Exit(3);  // "exit": without the clean-exit call
}
void wait_for(const std::string& file) {
  while (::access(file.c_str(), F_OK) != 0) ::usleep(10000);
}
unsigned long long monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000ull +
         static_cast<unsigned long long>(ts.tv_nsec) / 1000ull;
}

// "pipe", "socket", "file", "null" or "closed": what descriptor fd is (for --env).
std::string fd_kind(int fd) {
  char link[256] = {};
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
  if (n < 0) return "closed";
  const std::string l(link, static_cast<std::size_t>(n));
  if (l.rfind("pipe:", 0) == 0) return "pipe";
  if (l.rfind("socket:", 0) == 0) return "socket";
  if (l == "/dev/null") return "null";
  return "file";
}
std::string env_or(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string("-") : std::string(v);
}
}  // namespace

int main(int argc, char** argv) {
  // Before attach(): under a standby, this is before the standby point.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--say-before-attach") == 0) {
      std::printf("%s\n", argv[i + 1]);
      std::fflush(stdout);
    }
    if (std::strcmp(argv[i], "--sleep-before-attach") == 0 &&
        std::getenv("HR_STANDBY_FD") != nullptr)
      ::usleep(static_cast<useconds_t>(std::atol(argv[i + 1]) * 1000));
  }
  auto self = posix::process::attach();
  if (!self) {
    std::fprintf(stderr, "member: %s\n", describe(self.error()).text);
    return 99;
  }
  const char* name = std::getenv("HR_PROCESS");
  std::string me = argv[0];
  std::string tag, wait_file, child_wait, tally, helper_wait, wait_run;
  bool show_env = false;
  std::vector<std::pair<int, std::string>> crashes;
  std::string crash_always;
  int hang = 0, spawn_run = 0, serve = 0, plain_first = 0, crash_first = 0;
  long beat_ms = 0, beat_for_ms = 0, ready_ms = -1;
  int ready_from = 1;
  std::string spawn_name;
  std::vector<std::string> extra_blocks;
  bool plain = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--crash") {
      const std::string v = next();
      crashes.emplace_back(std::atoi(v.c_str()), v.substr(v.find(':') + 1));
    } else if (a == "--crash-always")
      crash_always = next();
    else if (a == "--wait")
      wait_file = next();
    else if (a == "--hang")
      hang = std::atoi(next().c_str());
    else if (a == "--spawn") {
      const std::string v = next();
      spawn_run = std::atoi(v.c_str());
      spawn_name = v.substr(v.find(':') + 1);
    } else if (a == "--child-wait")
      child_wait = next();
    else if (a == "--serve")
      serve = std::atoi(next().c_str());
    else if (a == "--plain")
      plain = true;
    else if (a == "--plain-first")
      plain_first = std::atoi(next().c_str());
    else if (a == "--tally")
      tally = next();
    else if (a == "--crash-first")
      crash_first = std::atoi(next().c_str());
    else if (a == "--helper-wait")
      helper_wait = next();
    else if (a == "--ignore-term")
      ::signal(SIGTERM, SIG_IGN);
    else if (a == "--beat") {
      beat_ms = std::atol(next().c_str());
      beat_for_ms = std::atol(next().c_str());
    } else if (a == "--tag")
      tag = next();
    else if (a == "--block")  // a block of that name (any bytes: hrctl blocks must escape them)
      extra_blocks.push_back(next());
    else if (a == "--ready")
      ready_ms = std::atol(next().c_str());
    else if (a == "--ready-from")
      ready_from = std::atoi(next().c_str());
    else if (a == "--say-before-attach" || a == "--sleep-before-attach")
      (void)next();  // (done above, before attach)
    else if (a == "--wait-run")
      wait_run = next();
    else if (a == "--env")
      show_env = true;
  }
  (void)name;
  for (const std::string& n : extra_blocks)
    if (auto e = self->bank().find_or_create(n, 16); !e)
      std::fprintf(stderr, "member: block: %s\n", describe(e.error()).text);
  // The run counter: a group-keyed block, so it goes with the group.
  auto b =
      self->bank().find_or_create("runs-" + std::to_string(self->id()), sizeof(int), self->key());
  if (!b) {
    std::fprintf(stderr, "member: %s\n", describe(b.error()).text);
    return 98;
  }
  int& runs = *reinterpret_cast<int*>(b->data);
  const int run = ++runs;
  int tallied = 0;
  if (!tally.empty()) {
    { std::ofstream(tally, std::ios::app) << "run\n"; }
    std::ifstream in(tally);
    for (std::string line; std::getline(in, line);) ++tallied;
  }
  std::printf("%s run %d restarted=%d%s%s\n", argv[0], run, self->restarted() ? 1 : 0,
              tag.empty() ? "" : " tag=", tag.c_str());
  std::fflush(stdout);
  if (show_env) {
    const std::string listen_pid = env_or("LISTEN_PID");
    std::string fds;
    for (int fd = 0; fd < 6; ++fd) fds += (fd == 0 ? "" : ",") + fd_kind(fd);
    std::printf(
        "%s env %d: pid=%d HR_GROUP=%s HR_PROCESS=%s HR_RESTARTED=%s LISTEN_FDS=%s "
        "LISTEN_PID=%s LISTEN_FDNAMES=%s HR_STANDBY_FD=%s fds=%s\n",
        argv[0], run, ::getpid(), env_or("HR_GROUP").c_str(), env_or("HR_PROCESS").c_str(),
        env_or("HR_RESTARTED").c_str(), env_or("LISTEN_FDS").c_str(),
        listen_pid == "-" ? "-" : (std::atoi(listen_pid.c_str()) == ::getpid() ? "self" : "other"),
        env_or("LISTEN_FDNAMES").c_str(), env_or("HR_STANDBY_FD").c_str(), fds.c_str());
    std::fflush(stdout);
  }
  if (ready_ms >= 0 && run >= ready_from) {
    ::usleep(static_cast<useconds_t>(ready_ms * 1000));
    // The time of the call is taken before it: ready() wakes the supervisor, whose READY=1 may
    // come before this process runs again.
    const unsigned long long called_at = monotonic_us();
    self->ready();
    std::printf("%s ready run %d at %llu\n", argv[0], run, called_at);
    std::fflush(stdout);
  }
  if (!child_wait.empty()) {  // an indirect member: wait, then end cleanly
    wait_for(child_wait);
    self->exit_cleanly(0);
  }
  if (spawn_run == run) {
    auto r = self->spawn_indirect(
        spawn_name, "/proc/self/exe",
        {spawn_name, "--child-wait", helper_wait.empty() ? wait_file + ".child" : helper_wait});
    std::printf("spawned %s: status %d pid %d %s\n", spawn_name.c_str(), r.status, r.pid,
                r.message.c_str());
    std::fflush(stdout);
  }
  if (serve > 0) {
    const char* fds = std::getenv("LISTEN_FDS");
    const char* pid = std::getenv("LISTEN_PID");
    if (fds == nullptr || pid == nullptr || std::atoi(pid) != ::getpid()) return 97;
    for (int i = 0; i < serve; ++i) {
      const int c = ::accept(3, nullptr, nullptr);
      if (c < 0) continue;
      char msg[32];
      const int n = std::snprintf(msg, sizeof msg, "%d\n", ::getpid());
      (void)::write(c, msg, static_cast<std::size_t>(n));
      ::close(c);
    }
    crash("segv");
  }
  if (beat_ms > 0 && hang == run)
    for (;;) ::pause();
  if (beat_ms > 0) {  // alive past any --heartbeat deadline shorter than FOR, thanks to heartbeat()
    const std::uint64_t until = posix::monotonic_ms() + static_cast<std::uint64_t>(beat_for_ms);
    std::uint64_t beats = 0;
    while (posix::monotonic_ms() < until) {
      self->heartbeat();
      ++beats;
      ::usleep(static_cast<useconds_t>(beat_ms * 1000));
    }
    std::printf("%s: %llu heartbeats over %ld ms\n", argv[0],
                static_cast<unsigned long long>(beats), beat_for_ms);
    std::fflush(stdout);
    self->exit_cleanly(0);
  }
  if (!wait_file.empty()) wait_for(wait_file);
  if (!wait_run.empty()) wait_for(wait_run + "." + std::to_string(run));
  if (hang == run)
    for (;;) ::pause();
  if (crash_first > 0 && tallied <= crash_first) crash("segv");
  if (run <= plain_first) return 0;
  if (!crash_always.empty()) crash(crash_always);
  for (const auto& [r, mode] : crashes)
    if (r == run) crash(mode);
  if (plain) return 0;
  self->exit_cleanly(0);
}
