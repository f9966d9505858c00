// SPDX-License-Identifier: MIT
#include "common.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace hrctl {

int report_bank_error(const char* what, const std::string& path, const error& e) {
  std::fprintf(stderr, "hrctl: %s %s: %s\n", what, path.c_str(), describe(e).text);
  switch (e.code) {
    case errc::not_regular_file:
      std::fprintf(stderr, "hrctl: the bank path must be a regular file, not a symbolic link\n");
      return exit_bank_path;
    case errc::io_error:
      if (e.sys_errno == EACCES || e.sys_errno == EROFS || e.sys_errno == EPERM) {
        std::fprintf(stderr, "hrctl: the bank path is not writable by this user\n");
        return exit_bank_path;
      }
      return exit_failure;
    case errc::not_a_bank:
    case errc::version_mismatch:
    case errc::layout_mismatch:
    case errc::truncated:
    case errc::corrupt:
    case errc::tunables_mismatch:
    case errc::creation_interrupted:
      std::fprintf(stderr,
                   "hrctl: refusing this bank (nothing in it was changed); use another --bank path "
                   "or the tunables it was created with\n");
      return exit_bank;
    case errc::bank_full:
    case errc::block_table_full:
    case errc::bad_tunables:
    case errc::group_limit:
    case errc::process_limit:
      return exit_too_small;
    case errc::not_found: return exit_unknown;
    default: return exit_failure;
  }
}

std::uint64_t fixed_overhead(const bank_options& o, std::uint32_t page) {
  auto round = [&](std::uint64_t b) { return (b + page - 1) / page * page; };
  return round(controller_t::state_bytes(o.max_groups, o.max_processes)) +
         round(runtime_block_bytes(o.max_groups, effective_max_processes(o.max_processes)));
}

bool parse_size(const std::string& s, std::uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str()) return false;
  std::uint64_t mul = 1;
  const std::string suffix(end);
  if (suffix.empty()) mul = 1;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") mul = 1ull << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") mul = 1ull << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") mul = 1ull << 30;
  else return false;
  out = v * mul;
  return true;
}

bool parse_u32(const std::string& s, std::uint32_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || v > 0xFFFFFFFFull) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool apply_tunable(const std::string& flag, const std::string& value, bank_options& o,
                   std::string& err) {
  std::uint64_t sz = 0;
  std::uint32_t n = 0;
  auto bad = [&](const char* what) {
    err = "bad value '" + value + "' for " + flag + " (" + what + ")";
    return true;
  };
  auto note = [&] { o.given.push_back(flag); };
  if (flag == "--bank-size") {
    if (!parse_size(value, sz) || sz == 0) return bad("bytes, e.g. 64M");
    o.bank_size = sz;
  } else if (flag == "--max-blocks") {
    if (!parse_u32(value, n) || n == 0) return bad("a count >= 1");
    o.max_blocks = n;
  } else if (flag == "--max-groups") {
    if (!parse_u32(value, n) || n == 0 || n > 65536) return bad("1..65536");
    o.max_groups = n;
  } else if (flag == "--max-processes") {
    if (!parse_u32(value, n) || n == 0) return bad("a count >= 1");
    o.max_processes = n;
  } else if (flag == "--interval") {
    if (!parse_u32(value, n) || n == 0) return bad("milliseconds >= 1");
    o.interval_ms = n;
  } else if (flag == "--max-badness") {
    if (!parse_u32(value, n)) return bad("a count, 0 = never escalate");
    o.max_badness = n;
  } else if (flag == "--max-site-restarts") {
    if (!parse_u32(value, n)) return bad("a count");
    o.max_site_restarts = n;
  } else if (flag == "--policy") {
    if (value != "chorus") return bad("only 'chorus' (the ChorusOS restart counter) is supported");
    o.policy = value;
  } else {
    return false;
  }
  note();
  return true;
}

std::string load_config(const std::string& file, bank_options& o) {
  std::ifstream in(file);
  if (!in) return "cannot read config file " + file;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    auto trim = [](std::string s) {
      const auto b = s.find_first_not_of(" \t\r");
      const auto e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      return file + ":" + std::to_string(lineno) + ": expected key = value";
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "bank") {
      o.path = value;
      continue;
    }
    std::string err;
    if (!apply_tunable("--" + key, value, o, err))
      return file + ":" + std::to_string(lineno) + ": unknown key '" + key + "'";
    if (!err.empty()) return file + ":" + std::to_string(lineno) + ": " + err;
  }
  return {};
}

int take_supervisor_lock(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -2;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string basename_of(const std::string& p) {
  const auto s = p.find_last_of('/');
  std::string b = s == std::string::npos ? p : p.substr(s + 1);
  if (b.size() > 32) b.resize(32);
  return b;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGKILL: return "SIGKILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGPIPE: return "SIGPIPE";
    default: return "signal";
  }
}

}  // namespace hrctl
