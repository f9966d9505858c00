// SPDX-License-Identifier: MIT
// A restart group of two processes: a direct "coordinator" (hrctl run) and an indirect
// "worker" it starts with hrfexec (spawn_indirect). The coordinator's run counter lives in a
// group-keyed block; what it does depends on the run (see run.sh for the story).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <hotrestart/posix/process.hpp>

using namespace hotrestart;

int main(int argc, char** argv) {
  auto self = posix::process::attach();
  if (!self) {
    std::fprintf(stderr, "group_demo: %s\n", describe(self.error()).text);
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc > 1 && std::strcmp(argv[1], "worker") == 0) {
    std::printf("  worker (pid %d): working, then exiting cleanly\n", ::getpid());
    ::usleep(200000);
    self->exit_cleanly(0);
  }
  auto b = self->bank().find_or_create("coordinator.runs", sizeof(int), self->key());
  if (!b) return 3;
  int& runs = *reinterpret_cast<int*>(b->data);
  const int run = ++runs;
  std::printf("  coordinator (pid %d): run %d%s\n", ::getpid(), run,
              self->restarted() ? " (restarted)" : "");
  auto spawn = [&] {
    auto r = self->spawn_indirect("worker", "/proc/self/exe", {"worker", "worker"});
    std::printf("  coordinator: started indirect member worker (pid %d)\n", r.pid);
  };
  if (run == 1) {
    spawn();
    ::usleep(100000);
  }
  if (run == 2) ::usleep(2500000);  // long enough for the restart counter to decay
  if (run <= 4) {
    std::printf("  coordinator: crashing (SIGSEGV)\n");
    std::fflush(stdout);
    volatile int* p = nullptr;
    *p = run;
  }
  spawn();  // the worker was not rerun by the restarts: start it again so the group can end
  ::usleep(500000);
  std::printf("  coordinator: done, exiting cleanly\n");
  self->exit_cleanly(0);
}
