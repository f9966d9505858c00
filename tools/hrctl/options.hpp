// SPDX-License-Identifier: MIT
// hrctl's command line: one table of commands and one of options. The parser, the --help of
// every command, the man page (hrctl.1) and the bash completion are all made from them.
//
// To add a command: a command_id before `count`, a row of `commands` (options.cpp) and a case
// in main.cpp's dispatch. To add an option: a row of `options` (options.cpp) naming the
// commands that take it (a mask of cmd_bit()s), its value kind and where its value goes.
#ifndef HRCTL_OPTIONS_HPP
#define HRCTL_OPTIONS_HPP

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common.hpp"
#include "config.hpp"
#include "inspect.hpp"

namespace hrctl {

enum class command_id : unsigned {
  run,
  serve,
  kill,
  restart,
  upgrade,
  stop,
  status,
  blocks,
  check,
  snapshot,
  restore,
  remove,
  convert,
  version,
  reload,
  count
};

using command_mask = std::uint32_t;
constexpr command_mask cmd_bit(command_id c) {
  return command_mask{1} << static_cast<unsigned>(c);
}
inline constexpr command_mask all_commands = (command_mask{1} << unsigned(command_id::count)) - 1;

/// What follows the options of a command.
enum class operands {
  none,     ///< nothing: any word is a stray argument
  program,  ///< -- PROGRAM [ARGS...] (an image: at most max_image_args words, ...)
  pid,      ///< at most one PID (kill)
  file,     ///< exactly one FILE (snapshot DEST, restore SRC)
};

struct command_spec {
  command_id id;
  const char* name;
  const char* synopsis;     ///< after "hrctl NAME"; lines separated by '\n' (alternatives)
  const char* summary;      ///< one line, for hrctl --help and the man page
  const char* description;  ///< paragraphs separated by "\n\n"; wrapped when printed
  operands takes;
  bool makes_bank;  ///< may create a bank: takes the tunables and --config's tunables
};

/// How a value is checked before it is stored.
enum class value_kind {
  flag,     ///< no value
  text,     ///< any non-empty text
  path,     ///< a file path (non-empty)
  user,     ///< a user name or uid
  name,     ///< a process name: 1..32 bytes
  group,    ///< a group id (0..65535; digits only) or a group name (1..32 bytes, not numeric)
  number,   ///< a decimal count in [min, max] (digits only, overflow refused)
  ms,       ///< milliseconds in [min, max]
  size,     ///< bytes, with K/M/G suffixes; at least min
  listen,   ///< IPV4ADDR:PORT
  tunable,  ///< a bank tunable: checked as a config file's key (apply_tunable, common.cpp)
  service,  ///< a service option: checked as a config file's key (apply_service_option)
};

/// The result of parsing one command line.
struct parsed_args {
  const command_spec* cmd = nullptr;
  bank_options bo;
  bool json = false;
  bool help = false;
  std::string group;
  std::vector<std::string> rest;  ///< the operands: -- PROGRAM ARGS..., or a PID
  run_options ro;
  image_source image;  ///< blocks/check --image
  bool image_given = false;
  int timeout_ms = 30000;  ///< requests: how long to wait for the supervisor's answer
  std::uint32_t freeze_timeout_ms = 5000;  ///< snapshot: how long the processes may take to stop
  bool watch = false;                      ///< status --watch
  bool every_given = false;
  std::uint32_t every_ms = 1000;  ///< status --watch: the interval between two views
  std::string config;
  config_file conf;  ///< --config's group sections (serve, reload)
  std::vector<std::pair<std::string, std::string>> tunables;  ///< flag, value (in order)
  std::string error;            ///< a usage error (or another, see error_code)
  int error_code = exit_usage;  ///< for `error`
};

/// A checked value: its text and, for numbers, sizes and ms, its value.
struct option_value {
  std::string text;
  std::uint64_t number = 0;
};

struct option_spec {
  const char* long_name;   ///< without the dashes: "bank"
  char short_name;         ///< 'g', or 0
  const char* value_name;  ///< "PATH", or nullptr for a flag
  value_kind kind;
  command_mask commands;  ///< the commands that take it
  const char* help;
  std::uint64_t min = 0, max = 0;                              ///< number, ms, size
  void (*store)(parsed_args&, const option_value&) = nullptr;  ///< nullptr: a tunable
};

std::span<const command_spec> command_table();
std::span<const option_spec> option_table();
const command_spec* find_command(std::string_view name);
/// The nearest command or option name within a small edit distance, or "".
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);
/// True if `o` is accepted by `c`.
bool accepts(const command_spec& c, const option_spec& o);

/// Parses argv[first..] for command `c`. Usage errors are in `error` (error_code exit_usage);
/// a bad default bank location has exit_bank_path. Reads --config, resolves --user and the
/// default bank path, as every command needs.
parsed_args parse_command_line(const command_spec& c, int argc, char** argv, int first);

/// Prints "hrctl CMD: ERROR (see hrctl CMD --help)" (usage) or "hrctl CMD: ERROR" and, when
/// `json`, the JSON error object on stdout. Returns `code`.
int usage_error(const std::string& e, const char* cmd, int code = exit_usage, bool json = false);

/// The help texts.
void print_main_help(std::FILE* out);
void print_command_help(const command_spec& c, std::FILE* out);
/// hrctl --version: the project's version, the bank formats it reads, the JSON schema.
int print_version(bool json);
/// The man page (roff) and the bash completion script, generated from the tables.
void write_man_page(std::FILE* out);
void write_bash_completion(std::FILE* out);
/// Every option CMD accepts ("-g", "--group", ...), one a line ("all": of every command).
int list_options(std::string_view cmd);

}  // namespace hrctl

#endif  // HRCTL_OPTIONS_HPP
