// SPDX-License-Identifier: MIT
// NEGATIVE CONTROL (examples/firmware/semihosting.hpp includes this when it is on the include
// path): every semihosting call is made whatever the link, the HardFault handler's too. Without
// a debugger the core locks up, which the test must see.
#ifndef HR_FW_NEG_UNGUARDED_HPP
#define HR_FW_NEG_UNGUARDED_HPP

inline constexpr bool guarded = false;

#endif  // HR_FW_NEG_UNGUARDED_HPP
