/* SPDX-License-Identifier: MIT */
/* The Conan package's C test: a C program on the ChorusOS API, linked through hotrestart::chorus.
 * Run outside `hrctl run` (HR_BANK unset), pmmAllocate must answer K_ENOTSUPERVISED. */
#include <pmm/chPmm.h>

int main(void) {
  PmmName name;
  VmAddr addr = 0;
  int rc;
  bzero(&name, sizeof name);
  strcpy(name.medium, "RAM");
  strcpy(name.name, "conan");
  unsetenv("HR_BANK");
  rc = pmmAllocate(&addr, &name, 64, "conan", 6);
  printf("hotrestart test_package (C): pmmAllocate outside hrctl -> %d (K_ENOTSUPERVISED is %d)\n",
         rc, K_ENOTSUPERVISED);
  return rc == K_ENOTSUPERVISED ? 0 : 1;
}
