// SPDX-License-Identifier: MIT
// ChorusOS 5.0 Persistent Memory Manager API (pmmAllocate, pmmFree, pmmFreeAll, PmmName) and
// the few kernel calls its examples use (vmPageSize, rgnAllocate, KnRgnDesc), over hotrestart's
// POSIX runtime. C++ only. See runtime/chorus/README.md for the mapping and the error codes.
#ifndef HOTRESTART_COMPAT_PMM_CHPMM_H
#define HOTRESTART_COMPAT_PMM_CHPMM_H

#include <hotrestart/chorus/compat.hpp>

#endif  // HOTRESTART_COMPAT_PMM_CHPMM_H
