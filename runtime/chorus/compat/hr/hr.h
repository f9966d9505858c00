/* SPDX-License-Identifier: MIT */
/* ChorusOS 5.0 hot restart API (HR_EXIT_HDL, HR_GROUP_KEY, hrfexecl, hrfexecve, hrKillGroup,
 * hrGetActorGroup). C and C++; the calls come from the library hotrestart_chorus. See
 * runtime/chorus/README.md. */
#ifndef HOTRESTART_COMPAT_HR_HR_H
#define HOTRESTART_COMPAT_HR_HR_H

#include <hotrestart_chorus.h>

#endif /* HOTRESTART_COMPAT_HR_HR_H */
