// SPDX-License-Identifier: MIT
// A restartable program written against the ChorusOS API only (pmm/chPmm.h, hr/hr.h), for the
// end-to-end case `chorus_calls`: the compatibility calls beyond the hello world, in a real
// program under hrctl run. Each check prints one line that the test looks for.
//   chorus_calls DIR [KILL_GID]   the main program (group member, run by hrctl run)
//   chorus_calls --helper DIR     an indirect member (hrfexecl / hrfexecve): waits for DIR/release
//   chorus_calls --standalone     not under hrctl: every call says so
#include <hr/hr.h>
#include <pmm/chPmm.h>

#include <unistd.h>

#include <string>

extern char** environ;

namespace {
int allocate(const char* block, int** p, const void* key, unsigned long keysize) {
  PmmName name;
  bzero(&name, sizeof(name));
  strcpy(name.medium, "RAM");
  strcpy(name.name, block);
  return pmmAllocate(reinterpret_cast<VmAddr*>(p), &name, sizeof(int), key, keysize);
}

void wait_file(const std::string& f) {
  while (access(f.c_str(), F_OK) != 0) usleep(10000);
}

#define APPKEY "APPKEY"
#define KEEPKEY "KEEPKEY"
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--standalone") == 0) {
    int* p = nullptr;
    printf("standalone pmmAllocate %d\n", allocate("PM1", &p, APPKEY, sizeof(APPKEY)));
    printf("standalone pmmFreeAll %d\n", pmmFreeAll(APPKEY, sizeof(APPKEY)));
    printf("standalone hrGetActorGroup %d\n", hrGetActorGroup(K_MYprocess));
    printf("standalone hrfexecl %d\n", hrfexecl("helper", "/bin/true", "true", nullptr));
    printf("standalone hrKillGroup %d\n", hrKillGroup(0));
    HR_EXIT_HDL();
    exit(0);
  }
  if (argc > 2 && strcmp(argv[1], "--helper") == 0) {
    printf("helper %s: group %d\n", argv[0], hrGetActorGroup(K_MYprocess));
    wait_file(std::string(argv[2]) + "/release");
    HR_EXIT_HDL();
    exit(0);
  }
  if (argc < 2) return 2;
  const std::string dir = argv[1];
  const int me = hrGetActorGroup(K_MYprocess);
  printf("chorus group %d\n", me);
  int* counter = nullptr;
  int res = allocate("STATE", &counter, HR_GROUP_KEY, HR_GROUP_KEYSIZE);
  if (res != K_OK) {
    printf("pmmAllocate STATE failed: %d\n", res);
    HR_EXIT_HDL();
    exit(1);
  }
  const int run = ++*counter;
  printf("chorus run %d\n", run);
  if (run == 1) {
    int *app1 = nullptr, *app2 = nullptr, *keep = nullptr;
    allocate("APP1", &app1, APPKEY, sizeof(APPKEY));
    allocate("APP2", &app2, APPKEY, sizeof(APPKEY));
    allocate("KEEP", &keep, KEEPKEY, sizeof(KEEPKEY));
    *app1 = 42;
    *app2 = 7;
    *keep = 99;
    printf("pmmFreeAll APPKEY %d\n", pmmFreeAll(APPKEY, sizeof(APPKEY)));
    allocate("APP1", &app1, APPKEY, sizeof(APPKEY));
    printf("APP1 after pmmFreeAll %d\n", *app1);
    printf("pmmFreeAll HR_GROUP_KEY %d\n", pmmFreeAll(HR_GROUP_KEY, HR_GROUP_KEYSIZE));
    printf("STATE after refused pmmFreeAll %d\n", *counter);
    const int h1 =
        hrfexecl("helper1", "/proc/self/exe", "helper1", "--helper", dir.c_str(), nullptr);
    char* const args[] = {const_cast<char*>("helper2"), const_cast<char*>("--helper"),
                          const_cast<char*>(dir.c_str()), nullptr};
    const int h2 = hrfexecve("helper2", "/proc/self/exe", args, environ);
    printf("hrfexecl %s, hrfexecve %s\n", h1 > 0 ? "pid" : "failed", h2 > 0 ? "pid" : "failed");
    KnCap c1{h1}, c2{h2}, init{1};
    printf("hrGetActorGroup helpers %d %d, pid 1 %d\n", hrGetActorGroup(&c1), hrGetActorGroup(&c2),
           hrGetActorGroup(&init));
    printf("hrfexecl missing program %d\n", hrfexecl("nope", "/nonexistent/prog", "nope", nullptr));
    if (argc > 2) {
      wait_file(dir + "/victim");  // the test has started that group
      printf("hrKillGroup %s %d\n", argv[2], hrKillGroup(atoi(argv[2])));
    }
    printf("hrKillGroup unknown %d, negative %d\n", hrKillGroup(30), hrKillGroup(-1));
    fflush(stdout);
    // The helpers end cleanly before the crash, so the group can terminate after its restart
    // without them (their clean exits stand).
    FILE* f = fopen((dir + "/release").c_str(), "w");
    if (f != nullptr) fclose(f);
    wait_file(dir + "/crash");
    KnRgnDesc rgn;
    bzero(&rgn, sizeof(rgn));
    rgn.options = K_ANYWHERE | K_RESERVED;
    rgn.size = vmPageSize();
    rgnAllocate(K_MYprocess, &rgn);
    *reinterpret_cast<long*>(rgn.startAddr) = 0xDeadBeef;
  }
  int* keep = nullptr;
  allocate("KEEP", &keep, KEEPKEY, sizeof(KEEPKEY));
  printf("restarted: STATE %d KEEP %d\n", *counter, *keep);
  HR_EXIT_HDL();
  exit(0);
}
