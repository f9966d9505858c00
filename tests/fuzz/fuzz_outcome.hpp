// SPDX-License-Identifier: MIT
// What the fuzz target made of its last input, for the corpus replay: did the bytes open as a
// bank, what error refused them, how many problems check() found at open.
#ifndef HOTRESTART_TESTS_FUZZ_OUTCOME_HPP
#define HOTRESTART_TESTS_FUZZ_OUTCOME_HPP

#include <cstdint>

#include <hotrestart/error.hpp>

struct hr_fuzz_outcome {
  bool opened = false;
  hotrestart::errc refused = hotrestart::errc::ok;
  std::uint32_t problems_at_open = 0;
};

extern "C" const hr_fuzz_outcome* hr_fuzz_last_outcome();

#endif  // HOTRESTART_TESTS_FUZZ_OUTCOME_HPP
