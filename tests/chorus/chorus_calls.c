/* SPDX-License-Identifier: MIT */
/* A restartable program in C (C99) written against the ChorusOS API only (pmm/chPmm.h,
 * hr/hr.h), linked with the library hotrestart_chorus: every call of runtime/chorus/README.md
 * with each error code it can return, in a real program under `hrctl run` (the end-to-end cases
 * chorus_calls, standalone, chorus_bad_bank and chorus_no_supervisor in tests/runtime/e2e.sh).
 * Each check prints one line that the test looks for.
 *   chorus_calls DIR [KILL_GID]   the main program (a group member, run by hrctl run)
 *   chorus_calls --helper DIR     an indirect member (hrfexecl / hrfexecve): waits for DIR/release
 *   chorus_calls --standalone     not under hrctl (or with a refused bank): what every call says
 *   chorus_calls --orphan DIR     a member whose supervisor the test kills once it is ready */
#define _DEFAULT_SOURCE /* POSIX 2008 and bzero (a strict _POSIX_C_SOURCE hides it in glibc) */
#include <hr/hr.h>
#include <pmm/chPmm.h>

#include <time.h>
#include <unistd.h>

extern char** environ;

#define APPKEY "APPKEY"
#define KEEPKEY "KEEPKEY"

/* A block's name, NUL-terminated and zero-padded as ChorusOS programs make it. */
static PmmName make_name(const char* medium, const char* block) {
  PmmName name;
  bzero(&name, sizeof(name));
  strncpy(name.medium, medium, sizeof(name.medium) - 1);
  strncpy(name.name, block, sizeof(name.name) - 1);
  return name;
}

static int allocate_sized(const char* medium, const char* block, void* p, VmSize size,
                          const void* key, unsigned long keysize) {
  PmmName name = make_name(medium, block);
  return pmmAllocate((VmAddr*)p, &name, size, key, keysize);
}

static int allocate(const char* block, int** p, const void* key, unsigned long keysize) {
  return allocate_sized("RAM", block, p, sizeof(int), key, keysize);
}

static int free_block(const char* block) {
  PmmName name = make_name("RAM", block);
  return pmmFree(&name);
}

static void path_in(char* out, size_t cap, const char* dir, const char* file) {
  snprintf(out, cap, "%s/%s", dir, file);
}

static void wait_file(const char* dir, const char* file) {
  char f[4096];
  const struct timespec tick = {0, 10 * 1000 * 1000};
  path_in(f, sizeof f, dir, file);
  while (access(f, F_OK) != 0) nanosleep(&tick, NULL);
}

static void touch(const char* dir, const char* file) {
  char f[4096];
  FILE* h;
  path_in(f, sizeof f, dir, file);
  h = fopen(f, "w");
  if (h != NULL) fclose(h);
}

static int standalone(void) {
  int* p = NULL;
  printf("standalone pmmAllocate %d\n", allocate("PM1", &p, APPKEY, sizeof(APPKEY)));
  printf("standalone pmmFree %d\n", free_block("PM1"));
  printf("standalone pmmFreeAll %d\n", pmmFreeAll(APPKEY, sizeof(APPKEY)));
  printf("standalone hrGetActorGroup %d\n", hrGetActorGroup(K_MYprocess));
  printf("standalone hrfexecl %d\n", hrfexecl("helper", "/bin/true", "true", (char*)NULL));
  printf("standalone hrKillGroup %d\n", hrKillGroup(0));
  printf("standalone vmPageSize %s\n",
         vmPageSize() == (VmSize)sysconf(_SC_PAGESIZE) ? "ok" : "wrong");
  HR_EXIT_HDL();
  return 0;
}

/* The calls' argument checks and the regions: no bank state involved. */
static void argument_errors(void) {
  int* p = NULL;
  PmmName long_name;
  KnRgnDesc rgn;
  KnCap init = {1};
  PmmName* no_name = NULL;
  /* A name that fills its field with no NUL: 33 bytes, one over the limit. */
  bzero(&long_name, sizeof(long_name));
  strcpy(long_name.medium, "RAM");
  memset(long_name.name, 'n', sizeof(long_name.name));
  printf("pmmAllocate empty name %d\n", allocate("", &p, APPKEY, sizeof(APPKEY)));
  printf("pmmAllocate empty medium %d\n", allocate_sized("", "X", &p, 4, APPKEY, sizeof(APPKEY)));
  printf("pmmAllocate unknown medium %d\n",
         allocate_sized("FLASH", "X", &p, 4, APPKEY, sizeof(APPKEY)));
  printf("pmmAllocate size 0 %d\n", allocate_sized("RAM", "X", &p, 0, APPKEY, sizeof(APPKEY)));
  printf("pmmAllocate no address %d\n", pmmAllocate(NULL, no_name, 4, APPKEY, sizeof(APPKEY)));
  printf("pmmAllocate key NULL with a size %d\n", allocate_sized("RAM", "X", &p, 4, NULL, 3));
  printf("pmmFree NULL %d\n", pmmFree(NULL));
  printf("pmmFreeAll NULL %d\n", pmmFreeAll(NULL, 0));
  printf("hrfexecl no name %d\n", hrfexecl(NULL, "/bin/true", "true", (char*)NULL));
  printf("vmPageSize %s\n", vmPageSize() == (VmSize)sysconf(_SC_PAGESIZE) ? "ok" : "wrong");
  bzero(&rgn, sizeof(rgn));
  rgn.options = K_ANYWHERE | K_WRITABLE | K_FILLZERO;
  rgn.size = vmPageSize();
  printf("rgnAllocate writable %d", rgnAllocate(K_MYprocess, &rgn));
  printf(" zero %d", ((volatile long*)rgn.startAddr)[0] == 0);
  ((volatile long*)rgn.startAddr)[0] = 7;
  printf(" reads %ld\n", ((volatile long*)rgn.startAddr)[0]);
  rgn.size = 0;
  printf("rgnAllocate size 0 %d\n", rgnAllocate(K_MYprocess, &rgn));
  rgn.size = vmPageSize();
  printf("rgnAllocate another process %d\n", rgnAllocate(&init, &rgn));
  printf("pmmAllocate long name %d\n",
         pmmAllocate((VmAddr*)&p, &long_name, 4, APPKEY, sizeof(APPKEY)));
}

/* pmmAllocate's bank errors: smaller than asked, bank full. */
static void bank_errors(void) {
  int* small = NULL;
  int* again = NULL;
  void* huge = NULL;
  int r = allocate_sized("RAM", "SMALL", &small, 4, APPKEY, sizeof(APPKEY));
  *small = 5;
  printf("pmmAllocate SMALL %d\n", r);
  r = allocate_sized("RAM", "SMALL", &again, 4, APPKEY, sizeof(APPKEY));
  printf("pmmAllocate SMALL again %d same %d value %d\n", r, again == small, *again);
  printf("pmmAllocate SMALL larger %d\n",
         allocate_sized("RAM", "SMALL", &again, 64 * vmPageSize(), APPKEY, sizeof(APPKEY)));
  printf("pmmAllocate HUGE %d\n",
         allocate_sized("RAM", "HUGE", &huge, (VmSize)1 << 40, APPKEY, sizeof(APPKEY)));
  printf("pmmFree SMALL %d\n", free_block("SMALL"));
  printf("pmmFree SMALL again %d\n", free_block("SMALL"));
}

static int orphan(const char* dir) {
  printf("orphan group %d\n", hrGetActorGroup(K_MYprocess));
  fflush(stdout);
  wait_file(dir, "go"); /* the test has killed the supervisor */
  printf("orphan hrKillGroup %d\n", hrKillGroup(0));
  printf("orphan hrfexecl %d\n", hrfexecl("late", "/bin/true", "true", (char*)NULL));
  HR_EXIT_HDL();
  return 0;
}

int main(int argc, char** argv) {
  const char* dir;
  int me;
  int run;
  int* counter = NULL;
  int* keep = NULL;
  int res;
  if (argc > 1 && strcmp(argv[1], "--standalone") == 0) exit(standalone());
  if (argc > 2 && strcmp(argv[1], "--orphan") == 0) exit(orphan(argv[2]));
  if (argc > 2 && strcmp(argv[1], "--helper") == 0) {
    printf("helper %s: group %d\n", argv[0], hrGetActorGroup(K_MYprocess));
    wait_file(argv[2], "release");
    HR_EXIT_HDL();
    exit(0);
  }
  if (argc < 2) return 2;
  dir = argv[1];
  me = hrGetActorGroup(K_MYprocess);
  printf("chorus group %d\n", me);
  res = allocate("STATE", &counter, HR_GROUP_KEY, HR_GROUP_KEYSIZE);
  if (res != K_OK) {
    printf("pmmAllocate STATE failed: %d\n", res);
    HR_EXIT_HDL();
    exit(1);
  }
  run = ++*counter;
  printf("chorus run %d\n", run);
  if (run == 1) {
    int* app1 = NULL;
    int* app2 = NULL;
    int h1;
    int h2;
    char* args[4];
    KnCap c1;
    KnCap c2;
    KnCap init = {1};
    KnRgnDesc rgn;
    argument_errors();
    bank_errors();
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
    h1 = hrfexecl("helper1", "/proc/self/exe", "helper1", "--helper", dir, (char*)NULL);
    args[0] = "helper2";
    args[1] = "--helper";
    args[2] = (char*)dir;
    args[3] = NULL;
    h2 = hrfexecve("helper2", "/proc/self/exe", args, environ);
    printf("hrfexecl %s, hrfexecve %s\n", h1 > 0 ? "pid" : "failed", h2 > 0 ? "pid" : "failed");
    c1.pid = h1;
    c2.pid = h2;
    printf("hrGetActorGroup helpers %d %d, pid 1 %d\n", hrGetActorGroup(&c1), hrGetActorGroup(&c2),
           hrGetActorGroup(&init));
    printf("hrfexecl missing program %d\n",
           hrfexecl("nope", "/nonexistent/prog", "nope", (char*)NULL));
    if (argc > 2) {
      wait_file(dir, "victim"); /* the test has started that group */
      printf("hrKillGroup %s %d\n", argv[2], hrKillGroup(atoi(argv[2])));
    }
    printf("hrKillGroup unknown %d, negative %d\n", hrKillGroup(30), hrKillGroup(-1));
    fflush(stdout);
    /* The helpers end cleanly before the crash, so the group can terminate after its restart
     * without them (their clean exits stand). */
    touch(dir, "release");
    wait_file(dir, "crash");
    bzero(&rgn, sizeof(rgn));
    rgn.options = K_ANYWHERE | K_RESERVED;
    rgn.size = vmPageSize();
    rgnAllocate(K_MYprocess, &rgn);
    *(volatile long*)rgn.startAddr = 0xDeadBeef; /* reserved: this faults, hrctl restarts us */
  }
  allocate("KEEP", &keep, KEEPKEY, sizeof(KEEPKEY));
  printf("restarted: STATE %d KEEP %d\n", *counter, *keep);
  HR_EXIT_HDL();
  exit(0);
}
