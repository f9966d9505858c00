// SPDX-License-Identifier: MIT
// hrctl's read-only commands.
#ifndef HRCTL_INSPECT_HPP
#define HRCTL_INSPECT_HPP

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

namespace hrctl {

int cmd_status(const bank_options& bo, bool json);

/// A name for a terminal (C-style escapes for control bytes and bytes that are not UTF-8).
std::string printable_name(std::string_view s);

class json_writer;
/// What one status view showed (hrctl status --watch compares two of them).
struct status_member {
  std::uint32_t id = 0;
  std::string name;
  std::string state;  ///< as shown: running, failed, stopped, ..., or "down" (supervisor down)
  int pid = 0;
  std::uint32_t runs = 0;
};
struct status_group {
  std::uint32_t gid = 0;
  std::string name;
  std::string state;  ///< running, held, blocked, terminating
  std::uint64_t restarts = 0;
  std::vector<status_member> members;
};
struct status_sample {
  bool supervisor_alive = false;
  int supervisor_pid = 0;
  std::uint64_t site_restarts = 0;
  std::vector<status_group> groups;
};
/// hrctl status's view, written to `out` (the text, or the JSON object and a newline). Errors
/// go to stderr (and, with `json`, the error object to stdout), as for hrctl status. `sample`,
/// if given, gets what the view showed; `json_extra` adds fields to the JSON object.
int render_status(const bank_options& bo, bool json, std::FILE* out, status_sample* sample,
                  const std::function<void(json_writer&)>& json_extra = {});
/// hrctl status --watch: a view every `every_ms` until SIGINT/SIGTERM (exit 0) or an error
/// reading the bank (its exit code). docs/hrctl.md, status.
int cmd_status_watch(const bank_options& bo, bool json, std::uint32_t every_ms);
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
  bool offset_given = false;
  /// --record-offset: a bare-metal reboot record is at this byte of the image. Without it and
  /// without --offset, a record at byte 0 (its magic) is found by itself, the bank then at 128.
  std::optional<std::uint64_t> record_offset;
};
/// hrctl blocks|check --image: the same views on an image, through the bankdump library.
int cmd_image(const image_source& src, bool check, bool json);

}  // namespace hrctl

#endif  // HRCTL_INSPECT_HPP
