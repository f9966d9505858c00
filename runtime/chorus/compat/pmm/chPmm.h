/* SPDX-License-Identifier: MIT */
/* ChorusOS 5.0 Persistent Memory Manager API (pmmAllocate, pmmFree, pmmFreeAll, PmmName) and
 * the kernel calls its examples use (vmPageSize, rgnAllocate, KnRgnDesc). C and C++; the calls
 * come from the library hotrestart_chorus. See runtime/chorus/README.md. */
#ifndef HOTRESTART_COMPAT_PMM_CHPMM_H
#define HOTRESTART_COMPAT_PMM_CHPMM_H

#include <hotrestart_chorus.h>

#endif /* HOTRESTART_COMPAT_PMM_CHPMM_H */
