// SPDX-License-Identifier: MIT
// A restart group of two processes: a direct "coordinator" (hrctl run) and an indirect
// "worker" it starts with hrfexec (spawn_indirect). The coordinator's run counter lives in a
// group-keyed block; what it does depends on the run (run.sh tells the story and drives the
// timing through files in DIR):
//   run 1: starts the worker, waits until it works, crashes: the group restarts (counter 1),
//          the worker is stopped with it and not rerun
//   run 2: tells run.sh (DIR/run2), waits until run.sh has seen the counter decay to 0
//          (DIR/decayed), crashes (counter 1)
//   runs 3 and 4: crash at once (counter 2, then 3 = max badness: a site restart)
//   run 5: starts the worker again (the group could not terminate without it) and both exit
//          cleanly: the group terminates.
// Usage: group_demo DIR (as the coordinator); group_demo worker DIR (as the worker).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <hotrestart/posix/process.hpp>

using namespace hotrestart;

namespace {
void touch(const std::string& f) {
  if (FILE* p = std::fopen(f.c_str(), "w")) std::fclose(p);
}
void wait_file(const std::string& f) {
  while (::access(f.c_str(), F_OK) != 0) ::usleep(10000);
}
[[noreturn]] void crash(int run) {
  std::printf("  coordinator: crashing (SIGSEGV)\n");
  std::fflush(stdout);
  volatile int* p = nullptr;
  *p = run;
  __builtin_trap();
}
}  // namespace

int main(int argc, char** argv) {
  auto self = posix::process::attach();
  if (!self) {
    std::fprintf(stderr, "group_demo: %s\n", describe(self.error()).text);
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc > 2 && std::strcmp(argv[1], "worker") == 0) {
    const std::string dir = argv[2];
    if (self->restarted()) {
      std::printf("  worker (pid %d): started again, working, then exiting cleanly\n", ::getpid());
      self->exit_cleanly(0);
    }
    std::printf("  worker (pid %d): working (until the group restarts)\n", ::getpid());
    touch(dir + "/worker.started");
    for (;;) ::pause();
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: group_demo DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  auto b = self->bank().find_or_create("coordinator.runs", sizeof(int), self->key());
  if (!b) return 3;
  int& runs = *reinterpret_cast<int*>(b->data);
  const int run = ++runs;
  std::printf("  coordinator (pid %d): run %d%s\n", ::getpid(), run,
              self->restarted() ? " (restarted)" : "");
  auto spawn = [&] {
    auto r = self->spawn_indirect("worker", "/proc/self/exe", {"worker", "worker", dir});
    std::printf("  coordinator: started indirect member worker (pid %d)\n", r.pid);
  };
  if (run == 1) {
    spawn();
    wait_file(dir + "/worker.started");
    crash(run);
  }
  if (run == 2) {
    std::printf("  coordinator: waiting for the restart counter to decay\n");
    touch(dir + "/run2");
    wait_file(dir + "/decayed");
    crash(run);
  }
  if (run <= 4) crash(run);
  spawn();  // the worker was not rerun by the restarts: start it again so the group can end
  std::printf("  coordinator: done, exiting cleanly\n");
  self->exit_cleanly(0);
}
