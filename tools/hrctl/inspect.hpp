// SPDX-License-Identifier: MIT
// hrctl's read-only commands.
#ifndef HRCTL_INSPECT_HPP
#define HRCTL_INSPECT_HPP

#include <optional>
#include <string>

#include "common.hpp"

namespace hrctl {

int cmd_status(const bank_options& bo, bool json);
int cmd_blocks(const bank_options& bo, bool json);
int cmd_check(const bank_options& bo, bool json);
/// hrctl convert --bank B: the runtime block of the previous version converted to this one's.
int cmd_convert(const bank_options& bo, bool json);

/// A raw memory image of a device's bank (QEMU pmemsave, a debugger's dump, a copy of a bank
/// file): the bytes from `offset`, `length` of them (0: to the end of the file).
struct image_source {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
/// hrctl blocks|check --image: the same views on an image, through the bankdump library.
int cmd_image(const image_source& src, bool check, bool json);

}  // namespace hrctl

#endif  // HRCTL_INSPECT_HPP
