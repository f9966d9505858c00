// SPDX-License-Identifier: MIT
#include "common.hpp"
#include "systemd.hpp"

#include <hotrestart/posix/validate.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace hrctl {

namespace {
std::string user_name(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid))
    return std::string(pw->pw_name) + " (uid " + std::to_string(uid) + ")";
  return "uid " + std::to_string(uid);
}

std::string octal(mode_t m) {
  char b[16];
  std::snprintf(b, sizeof b, "%04o", static_cast<unsigned>(m & 07777));
  return b;
}

// For a refused bank: looks again at what was refused and says what it is, whose, with which
// permissions, and how to fix it (as sshd's StrictModes messages do).
void explain_untrusted(const std::string& path, uid_t owner) {
  trust_problem why;
  auto dir = trust::open_dir(path.c_str(), owner, &why);
  if (dir) {
    const fd_guard d(*dir);
    const fd_guard f(::openat(d.fd, path.c_str() + trust::base_offset(path.c_str()),
                              O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    struct stat st;
    if (f.fd < 0 || ::fstat(f.fd, &st) != 0 || trust::check_file(st, owner, path.c_str(), &why))
      return;  // it changed meanwhile: the error above is all there is
  }
  const std::string who = user_name(why.uid), want = user_name(why.expected);
  switch (why.what) {
    case trust_problem::kind::file_owner:
      std::fprintf(stderr,
                   "hrctl: %s belongs to %s, not to %s: whoever owns a bank can make its "
                   "supervisor run code. Use another --bank path, or `chown %s %s` if it is "
                   "yours%s\n",
                   why.path, who.c_str(), want.c_str(), want.substr(0, want.find(' ')).c_str(),
                   why.path, why.uid != ::geteuid() ? "" : " (or run with --user)");
      break;
    case trust_problem::kind::file_mode:
      std::fprintf(stderr,
                   "hrctl: %s has permissions %s: its group or others may write it, and whoever "
                   "can write a bank can make its supervisor run code. `chmod 600 %s` (and "
                   "check who wrote it meanwhile: a bank once writable by others cannot be "
                   "trusted), or use another --bank path\n",
                   why.path, octal(why.mode).c_str(), why.path);
      break;
    case trust_problem::kind::dir_owner:
      std::fprintf(stderr,
                   "hrctl: the bank's directory %s belongs to %s, who could replace the bank: "
                   "use a directory of %s or root's (the default location is one)\n",
                   why.path, who.c_str(), want.c_str());
      break;
    case trust_problem::kind::dir_mode:
      std::fprintf(stderr,
                   "hrctl: the bank's directory %s has permissions %s: other users may replace "
                   "the bank in it. `chmod go-w %s`, or `chmod +t %s` (sticky, as /tmp), or use "
                   "another directory\n",
                   why.path, octal(why.mode).c_str(), why.path, why.path);
      break;
    case trust_problem::kind::dir_symlink:
      std::fprintf(stderr,
                   "hrctl: the bank's directory %s is a symbolic link: give the path of the "
                   "directory it points to\n",
                   why.path);
      break;
    case trust_problem::kind::file_links:
      std::fprintf(stderr,
                   "hrctl: %s has other names (hard links): another name could be another "
                   "user's way to point hrctl at it. Remove the other names (find / -samefile "
                   "%s), or copy the bank\n",
                   why.path, why.path);
      break;
    case trust_problem::kind::none: break;
  }
}
}  // namespace

namespace {
// The command-line flag that sets a tunable, or null when hrctl has none for it.
const char* flag_of(std::string_view tunable) {
  if (tunable == "bank_size") return "--bank-size";
  if (tunable == "max_blocks") return "--max-blocks";
  if (tunable == "max_groups") return "--max-groups";
  if (tunable == "max_processes") return "--max-processes";
  return nullptr;
}

// The first detail of `kind`, or null.
const error_detail* first_of(const error& e, detail_kind kind) {
  for (std::size_t i = 0; i < e.detail_count && i < error::max_details; ++i)
    if (e.kinds[i] == kind) return &e.details[i];
  return nullptr;
}

// One tunable that differs: what the bank has, what was given, and how to adopt the bank's.
void explain_tunable(const error& e, std::size_t i) {
  const error_detail& d = e.details[i];
  const char* name = d.field != nullptr ? d.field : "a tunable";
  if (e.kinds[i] == detail_kind::given_recorded) {
    const char* flag = flag_of(name);
    std::fprintf(stderr, "hrctl:   %s: the bank has %llu, %llu was given", name,
                 static_cast<unsigned long long>(d.b), static_cast<unsigned long long>(d.a));
    if (flag != nullptr)
      std::fprintf(stderr, " (%s): drop %s to adopt the bank's value\n", flag, flag);
    else
      std::fprintf(stderr, ": leave it unset to adopt the bank's value\n");
  } else if (e.kinds[i] == detail_kind::names && i + 1 < e.detail_count) {
    std::fprintf(stderr,
                 "hrctl:   medium: the bank has \"%s\", \"%s\" was given: leave it unset "
                 "to adopt the bank's\n",
                 name_of(e.details[i + 1]).text, name_of(d).text);
  }
}

// What to do about a bank refused as what it is; `path` is a bank file, or an image file when
// `image` (hrctl check --image).
void advise_refused(const std::string& path, const error& e, bool image) {
  const char* p = path.c_str();
  const char* other = image ? "another --image file" : "another --bank path";
  std::fprintf(stderr,
               "hrctl: refusing this %s (nothing in it was changed): ", image ? "image" : "bank");
  switch (e.code) {
    case errc::version_mismatch:
      if (const error_detail* v = first_of(e, detail_kind::expected_found);
          v != nullptr && v->field != nullptr && std::string_view(v->field) == "format version" &&
          v->b == bank_format::previous_version && v->a == bank_format::version) {
        std::fprintf(stderr,
                     "%s is bank format %u; this hrctl converts it to %u in place when no "
                     "supervisor serves it (hrctl convert, or a supervisor of this version "
                     "adopting it)\n",
                     p, bank_format::previous_version, bank_format::version);
        break;
      }
      if (const error_detail* v = first_of(e, detail_kind::expected_found))
        std::fprintf(stderr, "%s has %s %llu, this hrctl supports %llu. ", p,
                     v->field != nullptr ? v->field : "version",
                     static_cast<unsigned long long>(v->b), static_cast<unsigned long long>(v->a));
      else
        std::fprintf(stderr, "%s was written by another version. ", p);
      std::fprintf(stderr,
                   "hrctl converts only a runtime block of the previous versions (2 and 3, as "
                   "`hrctl convert` does), not this: use the hrctl that made it, or %s\n",
                   other);
      break;
    case errc::layout_mismatch:
      std::fprintf(stderr,
                   "%s was made by a build with another layout (other policies or limits, or "
                   "another architecture). Use it with the build that made it, on its "
                   "architecture, or use %s\n",
                   p, other);
      break;
    case errc::not_a_bank:
      std::fprintf(stderr,
                   "%s is not a bank file at all (no bank header where one should start); hrctl "
                   "never formats over it. Give the path of a bank, or %s\n",
                   p, other);
      break;
    case errc::truncated:
      if (const error_detail* b = first_of(e, detail_kind::expected_found))
        std::fprintf(stderr, "%s has %llu bytes where its header says %llu: ", p,
                     static_cast<unsigned long long>(b->b), static_cast<unsigned long long>(b->a));
      else
        std::fprintf(stderr, "%s is shorter than its header says: ", p);
      std::fprintf(stderr,
                   "the file was cut (a copy that did not finish, a full disk?). Restore it from "
                   "a copy, or use %s\n",
                   other);
      break;
    case errc::corrupt:
      std::fprintf(stderr,
                   "%s is damaged. `hrctl check %s %s` lists the problems; restore the bank "
                   "from a copy, or use %s\n",
                   p, image ? "--image" : "--bank", p, other);
      break;
    case errc::tunables_mismatch: {
      std::fprintf(stderr, "%s was created with other tunables:\n", p);
      for (std::size_t i = 0; i < e.detail_count && i < error::max_details; ++i)
        explain_tunable(e, i);
      if (e.details_dropped)
        std::fprintf(stderr, "hrctl:   (and more: compare with `hrctl status --bank %s`)\n", p);
      std::fprintf(stderr, "hrctl: or use %s for a bank with these tunables\n", other);
      break;
    }
    case errc::creation_interrupted:
      std::fprintf(stderr,
                   "the creation of %s died half-way and left no usable bank. Remove the file "
                   "(rm %s) and create the bank again\n",
                   p, p);
      break;
    default: std::fprintf(stderr, "use %s\n", other); break;
  }
}
}  // namespace

int report_bank_error(const char* what, const std::string& path, const error& e, uid_t owner,
                      bank_source source) {
  // (The first line carries the priority when stderr is the journal: an error.)
  std::fprintf(stderr, "%shrctl: %s %s: %s\n", priority_prefix(priority::err).data(), what,
               path.c_str(), describe(e).text);
  switch (e.code) {
    case errc::untrusted_file: explain_untrusted(path, owner); return exit_bank_path;
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
      advise_refused(path, e, source == bank_source::image);
      return exit_bank;
    case errc::bank_full:
    case errc::block_table_full:
    case errc::bad_tunables:
    case errc::group_limit:
    case errc::process_limit: return exit_too_small;
    case errc::not_found: return exit_unknown;
    default: return exit_failure;
  }
}

std::uint64_t fixed_overhead(const bank_options& o, std::uint32_t page) {
  auto round = [&](std::uint64_t b) { return (b + page - 1) / page * page; };
  return round(controller_t::state_bytes(o.max_groups, o.max_processes)) +
         round(runtime_block_bytes(o.max_groups, effective_max_processes(o.max_processes))) +
         round(runtime_ext_block_bytes(o.max_groups)) + round(sizeof(lease_record));
}

namespace {
// Leading decimal digits of `s` (at least one; no sign, no space) into `v`; their count, or 0
// on none or on an overflow of 64 bits.
std::size_t leading_digits(const std::string& s, std::uint64_t& v) {
  v = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  return i;
}
}  // namespace

bool parse_size(const std::string& s, std::uint64_t& out) {
  std::uint64_t v = 0;
  const std::size_t n = leading_digits(s, v);
  if (n == 0) return false;
  const std::string_view suffix = std::string_view(s).substr(n);
  unsigned shift = 0;
  if (suffix.empty())
    shift = 0;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB")
    shift = 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB")
    shift = 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB")
    shift = 30;
  else
    return false;
  if (shift != 0 && v > (UINT64_MAX >> shift)) return false;
  out = v << shift;
  return true;
}

bool parse_u32(const std::string& s, std::uint32_t& out) {
  std::uint64_t v = 0;
  if (leading_digits(s, v) != s.size() || s.empty() || v > 0xFFFFFFFFull) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool parse_u64(const std::string& s, std::uint64_t& out) {
  std::uint64_t v = 0;
  if (s.empty() || leading_digits(s, v) != s.size()) return false;
  out = v;
  return true;
}

bool apply_tunable(const std::string& flag, const std::string& value, bank_options& o,
                   std::string& err) {
  auto bad = [&](const char* what) {
    err = "bad value '" + value + "' for " + flag + " (" + what + ")";
    return true;
  };
  // Counts: {flag, field, smallest, largest, what a good value is}.
  struct count_flag {
    const char* flag;
    std::uint32_t* field;
    std::uint32_t min, max;
    const char* what;
  };
  const count_flag counts[] = {
      {"--max-blocks", &o.max_blocks, 1, 0xFFFFFFFFu, "a count >= 1"},
      {"--max-groups", &o.max_groups, 1, 65536, "1..65536"},
      {"--max-processes", &o.max_processes, 1, 0xFFFFFFFFu, "a count >= 1"},
      {"--max-badness", &o.max_badness, 0, 0xFFFFFFFFu, "a count, 0 = never escalate"},
      {"--max-site-restarts", &o.max_site_restarts, 0, 0xFFFFFFFFu, "a count, 0 = never give up"},
      {"--intensity", &o.intensity, 1, sliding_window::max_intensity, "1..8"},
      {"--discard-after", &o.discard_after, 0, 0xFFFFFFFFu,
       "a count of restarts in a row, 0 = never"},
  };
  // Periods in milliseconds, >= 1.
  const std::pair<const char*, std::uint64_t*> periods[] = {
      {"--interval", &o.interval_ms},       {"--give-up-window", &o.give_up_window_ms},
      {"--period", &o.period_ms},           {"--backoff-base", &o.backoff_base_ms},
      {"--backoff-cap", &o.backoff_cap_ms}, {"--healthy", &o.healthy_ms},
  };
  std::uint32_t n = 0;
  bool known = false;
  for (const count_flag& c : counts)
    if (flag == c.flag) {
      if (!parse_u32(value, n) || n < c.min || n > c.max) return bad(c.what);
      *c.field = n;
      known = true;
    }
  for (const auto& [name, field] : periods)
    if (flag == name) {
      if (!parse_u32(value, n) || n == 0) return bad("milliseconds >= 1");
      *field = n;
      known = true;
    }
  if (flag == "--bank-size") {
    std::uint64_t sz = 0;
    if (!parse_size(value, sz) || sz == 0) return bad("bytes, e.g. 64M");
    o.bank_size = sz;
    known = true;
  } else if (flag == "--policy") {
    if (!parse_policy(value, o.policy))
      return bad(
          "chorus (the ChorusOS restart counter), window (at most --intensity restarts in "
          "--period) or backoff (exponential delays)");
    known = true;
  }
  if (known) o.given.push_back(flag);
  return known;
}

bool apply_service_option(const std::string& flag, const std::string& value, service_options& o,
                          std::string& err) {
  auto bad = [&](const char* what) {
    err = "bad value '" + value + "' for " + flag + " (" + what + ")";
    return true;
  };
  if (flag == "--ready") {
    if (value == "call")
      o.ready = ready_when::call;
    else if (value == "started")
      o.ready = ready_when::started;
    else
      return bad(
          "call: a member is ready when it calls ready() or has run --ready-after ms; "
          "started: as soon as it is started");
    return true;
  }
  if (flag == "--ready-after") {
    std::uint32_t n = 0;
    if (!parse_u32(value, n) || n > 86400000) return bad("milliseconds, 0..86400000");
    o.ready_after_ms = n;
    return true;
  }
  if (flag == "--on-give-up") {
    if (value == "hold")
      o.on_give_up = give_up_action::hold;
    else if (value == "exit")
      o.on_give_up = give_up_action::exit;
    else
      return bad("hold: the group is held and the others go on; exit: stop every group, exit 8");
    return true;
  }
  if (flag == "--node") {
    if (value.empty() || value.size() > 64 || value.find_first_of(" \t\n\r") != std::string::npos)
      return bad("a node name: 1 to 64 bytes, no blanks");
    o.node = value;
    return true;
  }
  if (flag == "--lease-time") {
    std::uint32_t n = 0;
    if (!parse_u32(value, n) || n < 1000 || n > 86400000)
      return bad("milliseconds, 1000..86400000");
    o.lease_ms = n;
    return true;
  }
  if (flag == "--on-give-up-run") {
    if (value.empty()) return bad("a shell command (run with sh -c)");
    o.on_give_up_run = value;
    return true;
  }
  return false;
}

std::uint64_t run_bank_size(const bank_options& o, std::uint64_t image) {
  constexpr std::uint64_t mib = 1ull << 20;
  const std::uint32_t page = mmap_file_backend::native_page_size();
  const std::uint64_t pages = (image + page - 1) / page * page;
  const std::uint64_t want = 16 * mib + 4 * pages + fixed_overhead(o, page);
  return (want + mib - 1) / mib * mib;
}

int open_program_or_say(const std::string& given, program_file& f) {
  const program_problem pp = open_program(given, f);
  if (pp == program_problem::none) return exit_ok;
  std::fprintf(stderr, "hrctl: %s: %s\n", given.c_str(), describe(pp));
  return exit_program;
}

bool bank_options::was_given(const char* flag) const {
  return std::find(given.begin(), given.end(), flag) != given.end();
}

void record_policy(const bank_options& o, runtime_header& h) {
  h.policy = static_cast<std::uint32_t>(o.policy);
  h.interval_ms = o.interval_ms;
  h.max_badness = o.max_badness;
  h.max_site_restarts = o.max_site_restarts;
  h.give_up_window_ms = o.give_up_window_ms;
  h.intensity = o.intensity;
  h.period_ms = o.period_ms;
  h.backoff_base_ms = o.backoff_base_ms;
  h.backoff_cap_ms = o.backoff_cap_ms;
  h.healthy_ms = o.healthy_ms;
  h.discard_after = o.discard_after;
}

runtime_policy policy_of(const runtime_header& h) {
  return policy_from_header(h);
}

std::string describe_policy(const runtime_header& h) {
  char buf[256];
  switch (static_cast<policy_kind>(h.policy)) {
    case policy_kind::window:
      std::snprintf(buf, sizeof buf, "window (site restart at %u restarts within %llu ms)",
                    h.intensity, static_cast<unsigned long long>(h.period_ms));
      break;
    case policy_kind::backoff:
      std::snprintf(buf, sizeof buf,
                    "backoff (delays %llu ms doubling up to %llu ms, reset after %llu ms without a "
                    "restart; never a site restart)",
                    static_cast<unsigned long long>(h.backoff_base_ms),
                    static_cast<unsigned long long>(h.backoff_cap_ms),
                    static_cast<unsigned long long>(h.healthy_ms));
      break;
    default:
      std::snprintf(buf, sizeof buf, "chorus (interval %llu ms, max badness %u)",
                    static_cast<unsigned long long>(h.interval_ms), h.max_badness);
      break;
  }
  std::string s = buf;
  if (h.discard_after != 0)
    s += ", discard the group's state after " + std::to_string(h.discard_after) +
         " restarts in a row";
  return s;
}

std::string describe_counter(const runtime_header& h, policy_cspan state) {
  const std::uint32_t c = runtime_policy::counter(state);
  std::string s;
  switch (static_cast<policy_kind>(h.policy)) {
    case policy_kind::window:
      s = "restarts in the period " + std::to_string(c) + "/" + std::to_string(h.intensity);
      break;
    case policy_kind::backoff: s = "restarts in a row " + std::to_string(c); break;
    default:
      s = "restart counter " + std::to_string(c) + "/" + std::to_string(h.max_badness);
      break;
  }
  if (h.discard_after != 0)
    s += ", toward a discard " + std::to_string(runtime_policy::consecutive(state)) + "/" +
         std::to_string(h.discard_after);
  return s;
}

std::string parse_listen(const std::string& spec, std::vector<listen_record>& out) {
  const auto colon = spec.rfind(':');
  std::uint32_t p = 0;
  std::string bad = "bad --listen '" + spec +
                    "': expected IPV4ADDR:PORT, [IPV6ADDR]:PORT, HOSTNAME:PORT or :PORT "
                    "(PORT 0: any free port)";
  if (colon == std::string::npos || !parse_u32(spec.substr(colon + 1), p) || p > 65535) return bad;
  std::string host = spec.substr(0, colon);
  listen_record r{};
  r.port = static_cast<std::uint16_t>(p);
  auto add = [&](const listen_record& x) {
    for (const listen_record& o : out)
      if (o.family == x.family && o.port == x.port && std::memcmp(o.addr, x.addr, 16) == 0 &&
          x.port != 0)
        return;
    out.push_back(x);
  };
  if (host.empty()) {  // :PORT: every IPv4 address
    r.family = AF_INET;
    add(r);
    return {};
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad;
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) != 1) return bad;
    r.family = AF_INET6;
    std::memcpy(r.addr, &a6, 16);
    add(r);
    return {};
  }
  if (host.find(':') != std::string::npos) return bad + ": an IPv6 address goes in brackets";
  in_addr a{};
  if (::inet_pton(AF_INET, host.c_str(), &a) == 1) {
    r.family = AF_INET;
    std::memcpy(r.addr, &a, 4);
    add(r);
    return {};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int e = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); e != 0)
    return "bad --listen '" + spec + "': cannot resolve " + host + ": " + ::gai_strerror(e);
  std::vector<listen_record> found;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    listen_record x = r;
    if (ai->ai_family == AF_INET) {
      x.family = AF_INET;
      std::memcpy(x.addr, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
    } else if (ai->ai_family == AF_INET6) {
      x.family = AF_INET6;
      std::memcpy(x.addr, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    bool seen = false;
    for (const listen_record& o : found)
      seen = seen || (o.family == x.family && std::memcmp(o.addr, x.addr, 16) == 0);
    if (!seen) found.push_back(x);
  }
  ::freeaddrinfo(res);
  if (found.empty()) return "bad --listen '" + spec + "': " + host + " has no IPv4 or IPv6 address";
  for (const listen_record& x : found) add(x);
  return {};
}

std::string describe_conversion(const convert_report& c) {
  if (c.from == runtime_version)
    return "runtime block already version " + std::to_string(runtime_version) +
           ": nothing converted";
  std::string s = "runtime block converted from version " + std::to_string(c.from) + " to " +
                  std::to_string(runtime_version) + " in place (";
  if (c.from < 3)
    s += "request ids, the performed-request ring and IPv6-capable listen records in the new "
         "block " +
         std::string(runtime_ext_block_name) + "; ";
  s += "the node lease in the new block " + std::string(lease_block_name) + ", free)";
  if (c.from < 3)
    s += ": " + std::to_string(c.listeners) + " listen address(es) of " +
         std::to_string(c.groups_with_listeners) + " group(s) and " + std::to_string(c.requests) +
         " pending request(s) carried over";
  return s + "; groups, members, holds and counters kept as they were";
}

std::vector<listen_record> group_listeners(const runtime_view& rt, std::uint32_t gid) {
  std::vector<listen_record> out;
  const group_slot* g = rt.group(gid);
  if (g == nullptr) return out;
  for (std::uint32_t k = 0; k < g->listen_count && k < max_listen; ++k) {
    if (rt.ext() != nullptr) {
      if (const listen_record* r = rt.group_listen(gid, k)) out.push_back(*r);
      continue;
    }
    listen_record r{};
    r.family = AF_INET;
    r.port = g->listen_port[k];
    std::memcpy(r.addr, &g->listen_addr[k], 4);
    out.push_back(r);
  }
  return out;
}

std::string listen_address(const listen_record& r) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (r.family == AF_INET || r.family == AF_INET6) ::inet_ntop(r.family, r.addr, text, sizeof text);
  return text;
}

std::string listen_text(const listen_record& r) {
  const std::string a = listen_address(r);
  return (r.family == AF_INET6 ? "[" + a + "]" : a) + ":" + std::to_string(r.port);
}

int take_supervisor_lock(const mmap_bank& b) {
  const int fd = reopen_descriptor(b.backend().descriptor(), O_RDWR);
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

result<mmap_bank> open_bank_converting(const mmap_location& where) {
  auto b = mmap_bank::open(where, false);
  const bool previous = !b && b.error().code == errc::version_mismatch &&
                        b.error().detail_count > 0 &&
                        b.error().details[0].b == bank_format::previous_version;
  if (!previous) return b;
  // The supervisor lock (an OFD lock on the file's first byte: take_supervisor_lock) held means
  // a supervisor of an earlier hrctl serves the bank: converting under it would break it.
  const int fd = where.fd >= 0 ? ::fcntl(where.fd, F_DUPFD_CLOEXEC, 0)
                               : ::open(where.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    const bool held = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::close(fd);
    if (held)
      return fail(error(errc::version_mismatch,
                        "bank of format 2 served by a supervisor of an earlier hrctl: stop it, "
                        "then this hrctl converts the bank when it adopts it")
                      .with_expected("format version", bank_format::version,
                                     bank_format::previous_version));
  }
  return mmap_bank::open(where, true);
}

bool supervisor_alive(const mmap_bank& b) {
  const int fd = take_supervisor_lock(b);
  if (fd >= 0) ::close(fd);
  return fd == -1;
}

std::string resolve_user(const std::string& name, run_as& out) {
  out = run_as{};
  out.uid = ::geteuid();
  out.gid = ::getegid();
  const passwd* pw = nullptr;
  if (!name.empty()) {
    pw = ::getpwnam(name.c_str());
    std::uint32_t n = 0;
    if (pw == nullptr && parse_u32(name, n)) pw = ::getpwuid(static_cast<uid_t>(n));
    if (pw == nullptr) return "--user " + name + ": no such user";
  } else {
    pw = ::getpwuid(out.uid);
  }
  if (pw == nullptr) {  // this process's uid has no passwd entry: fine, nothing to switch
    out.name = std::to_string(out.uid);
    return {};
  }
  out.name = pw->pw_name;
  out.home = pw->pw_dir != nullptr ? pw->pw_dir : "/";
  if (pw->pw_uid == ::geteuid()) return {};
  if (::geteuid() != 0)
    return "--user " + name + ": only root runs programs as another user (this is uid " +
           std::to_string(::geteuid()) + ")";
  out.uid = pw->pw_uid;
  out.gid = pw->pw_gid;
  out.other = true;
  int n = 64;
  out.groups.resize(static_cast<std::size_t>(n));
  if (::getgrouplist(pw->pw_name, pw->pw_gid, out.groups.data(), &n) < 0) {
    out.groups.resize(static_cast<std::size_t>(n));
    ::getgrouplist(pw->pw_name, pw->pw_gid, out.groups.data(), &n);
  }
  out.groups.resize(static_cast<std::size_t>(n));
  return {};
}

std::string set_default_path(bank_options& o, bool make_dir) {
  if (!o.path.empty()) return {};
  const default_location d =
      default_bank_location(make_dir, o.as.other ? o.as.name + ".bank" : default_bank_file);
  o.path = d.path;
  o.path_defaulted = true;
  return d.problem;
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
