/* SPDX-License-Identifier: MIT */
/* The ChorusOS 5.0 hot restart API, as C declarations: the Persistent Memory Manager
 * (pmmAllocate, pmmFree, pmmFreeAll, PmmName), the hot restart calls (HR_EXIT_HDL, HR_GROUP_KEY,
 * hrfexecl, hrfexecve, hrKillGroup, hrGetActorGroup) and the few kernel calls their examples use
 * (vmPageSize, rgnAllocate, KnRgnDesc). Valid C99, C11 and C++; the calls have C linkage and
 * come from the library hotrestart_chorus (CMake target hotrestart::chorus, pkg-config
 * hotrestart-chorus). pmm/chPmm.h and hr/hr.h include this header, as ChorusOS's did its base
 * headers. See runtime/chorus/README.md for the mapping and the error codes. */
#ifndef HOTRESTART_CHORUS_H
#define HOTRESTART_CHORUS_H

/* ChorusOS's headers brought in what its programs use without including it (the seed's hello
 * world calls printf, bzero, strcpy and exit with only stdio.h of its own): these do too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(HOTRESTART_CHORUS_BUILD) && defined(__GNUC__)
#define HR_CHORUS_API __attribute__((visibility("default")))
#else
#define HR_CHORUS_API
#endif

#ifdef __cplusplus
#define HR_CHORUS_NOEXCEPT noexcept
extern "C" {
#else
#define HR_CHORUS_NOEXCEPT
#endif

typedef unsigned long VmAddr;
typedef unsigned long VmSize;
typedef unsigned long VmOffset;

/* Error codes: ChorusOS's names, our values (all negative; K_OK is 0). */
#define K_OK 0
#define K_EFAIL (-1)    /* any other failure (no answer from the supervisor, I/O) */
#define K_EINVAL (-2)   /* bad argument: name, medium, key, size 0, negative group */
#define K_ENOMEM (-3)   /* bank full, block table full */
#define K_EEXIST (-4)   /* the block exists but is smaller than asked */
#define K_EUNKNOWN (-5) /* no such block, group, process or program */
#define K_EPRIV (-6)    /* not permitted: pmmFreeAll of the group key; hrfexec* outside a group */
#define K_ENOTSUPERVISED (-7) /* not started by `hrctl run` (HR_BANK unset) */
#define K_EBADBANK (-8)       /* the bank named by HR_BANK is refused (corrupt, another version) */

/* A block's name: the medium ("RAM") and the name, each NUL-terminated. */
#define PMM_MEDIUM_SIZE 17
#define PMM_NAME_SIZE 33
typedef struct PmmName {
  char medium[PMM_MEDIUM_SIZE];
  char name[PMM_NAME_SIZE];
} PmmName;

/* A process capability: here its pid. */
typedef struct KnCap {
  int pid;
} KnCap;
#ifdef __cplusplus
#define K_MYprocess (static_cast<KnCap*>(nullptr))
#else
#define K_MYprocess ((KnCap*)0)
#endif
#define K_MYACTOR K_MYprocess

/* Regions (rgnAllocate): what hot restart programs use. */
#define K_ANYWHERE 0x1UL
#define K_RESERVED 0x2UL /* reserved and inaccessible: any access faults */
#define K_WRITABLE 0x4UL
#define K_FILLZERO 0x8UL
typedef struct KnRgnDesc {
  VmAddr startAddr;
  VmSize size;
  unsigned long options;
  void* opaque1;
  void* opaque2;
} KnRgnDesc;

/* vmPageSize: the bank's block granule (the host's page). */
HR_CHORUS_API VmSize vmPageSize(void) HR_CHORUS_NOEXCEPT;

/* rgnAllocate for the calling process. K_ANYWHERE | K_RESERVED: an address range that is
 * reserved and inaccessible (any access faults, as under ChorusOS with VIRTUAL_ADDRESS_SPACE);
 * otherwise readable, writable and zero-filled. K_EINVAL for another process or size 0,
 * K_ENOMEM when the system has no room. */
HR_CHORUS_API int rgnAllocate(KnCap* actor, KnRgnDesc* rgn) HR_CHORUS_NOEXCEPT;

/* pmmAllocate: allocates the block `name` (zero-filled, `size` rounded up to whole pages) or
 * finds it, and stores its address in *addr. `key`/`keysize` (bytes, a counted NUL included) is
 * its deletion key: pmmFreeAll(key) frees it; HR_GROUP_KEY frees it with its restart group. */
HR_CHORUS_API int pmmAllocate(VmAddr* addr, PmmName* name, VmSize size, const void* key,
                              unsigned long keysize) HR_CHORUS_NOEXCEPT;

/* pmmFree: frees the block `name`. K_EUNKNOWN if there is none. */
HR_CHORUS_API int pmmFree(PmmName* name) HR_CHORUS_NOEXCEPT;

/* pmmFreeAll: frees every block of deletion key `key`. K_EPRIV for the group key (those go with
 * their group only). */
HR_CHORUS_API int pmmFreeAll(const void* key, unsigned long keysize) HR_CHORUS_NOEXCEPT;

/* The clean-exit call, then exit(status): records that this run ends cleanly and flushes
 * stdio. An exit without it is a failure, as a crash is. */
HR_CHORUS_API void hrExitHandler(void) HR_CHORUS_NOEXCEPT;
#define HR_EXIT_HDL() hrExitHandler()

/* The deletion key of the caller's restart group: blocks with it are freed when the group
 * terminates. */
HR_CHORUS_API const char* hrGroupKey(void) HR_CHORUS_NOEXCEPT;
HR_CHORUS_API unsigned long hrGroupKeySize(void) HR_CHORUS_NOEXCEPT;
#define HR_GROUP_KEY hrGroupKey()
#define HR_GROUP_KEYSIZE hrGroupKeySize()

/* hrfexecve: starts `path` as the indirect member `baseName` of the caller's group; the
 * supervisor runs it from an image in the bank, with the supervisor's environment (`envp` is
 * not used). Returns its pid, or K_EPRIV (the caller is not a restartable process), K_EINVAL,
 * K_EUNKNOWN (no such program) or K_EFAIL. */
HR_CHORUS_API int hrfexecve(const char* baseName, const char* path, char* const argv[],
                            char* const envp[]) HR_CHORUS_NOEXCEPT;

/* hrfexecl: hrfexecve with the arguments listed, the last one a null pointer. */
HR_CHORUS_API int hrfexecl(const char* baseName, const char* path, const char* arg0,
                           ...) HR_CHORUS_NOEXCEPT;

/* hrKillGroup: the group's members are killed and not restarted, its group-keyed blocks freed.
 * K_EUNKNOWN for a group that does not exist, K_EINVAL for a negative id. */
HR_CHORUS_API int hrKillGroup(int gid) HR_CHORUS_NOEXCEPT;

/* hrGetActorGroup: the restart group of a process (K_MYprocess: the caller), or K_EUNKNOWN if
 * it is not a running restartable process. */
HR_CHORUS_API int hrGetActorGroup(KnCap* actor) HR_CHORUS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* HOTRESTART_CHORUS_H */
