// SPDX-License-Identifier: MIT
// The bare-metal runtime in one include: the reboot record, the runtime (controller, ladder,
// tick, watchdog attribution) and, on Cortex-M, the chip's registers.
#ifndef HOTRESTART_BAREMETAL_HPP
#define HOTRESTART_BAREMETAL_HPP

#include <hotrestart/baremetal/cortex_m.hpp>  // (the registers only on Cortex-M)
#include <hotrestart/baremetal/record.hpp>
#include <hotrestart/baremetal/record_format.hpp>
#include <hotrestart/baremetal/runtime.hpp>
#include <hotrestart/baremetal/tick.hpp>
#include <hotrestart/baremetal/watchdog.hpp>
#endif  // HOTRESTART_BAREMETAL_HPP
