/* SPDX-License-Identifier: MIT */
/* A C program that takes the ChorusOS API from the package (find_package's hotrestart::chorus
 * or hotrestart::chorus_static, or pkg-config's hotrestart-chorus): it compiles as C, links the
 * library and calls it. Not started by hrctl, every bank call must say so (K_ENOTSUPERVISED)
 * and vmPageSize must be the page size.
 *   c_consumer [ANY]   (the argument the package tests pass is ignored) */
#define _DEFAULT_SOURCE
#include <hr/hr.h>
#include <pmm/chPmm.h>

#include <unistd.h>

int main(void) {
  PmmName name;
  int* p = NULL;
  int r;
  bzero(&name, sizeof(name));
  strcpy(name.medium, "RAM");
  strcpy(name.name, "PKG");
  r = pmmAllocate((VmAddr*)&p, &name, sizeof(int), HR_GROUP_KEY, HR_GROUP_KEYSIZE);
  if (r != K_ENOTSUPERVISED) {
    fprintf(stderr, "c_consumer: pmmAllocate outside hrctl gave %d, not K_ENOTSUPERVISED\n", r);
    return 1;
  }
  if (vmPageSize() != (VmSize)sysconf(_SC_PAGESIZE)) {
    fprintf(stderr, "c_consumer: vmPageSize %lu\n", vmPageSize());
    return 1;
  }
  printf("c_consumer: the ChorusOS API linked and answered K_ENOTSUPERVISED outside hrctl\n");
  return 0;
}
