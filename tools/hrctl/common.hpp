// SPDX-License-Identifier: MIT
// hrctl: shared options, bank opening with clear errors, and output helpers.
#ifndef HRCTL_COMMON_HPP
#define HRCTL_COMMON_HPP

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>
#include <hotrestart/policies/runtime_policy.hpp>
#include <hotrestart/posix/location.hpp>
#include <hotrestart/posix/mailbox.hpp>
#include <hotrestart/posix/standby.hpp>

#include "exit_codes.hpp"

namespace hrctl {

using namespace hotrestart;
using namespace hotrestart::posix;
using store_t = bank_block_store<mmap_bank>;
using controller_t = basic_controller<runtime_policy, store_t>;

/// The user whose bank this is and who runs its members (--user; default: this process's).
/// A root supervisor given --user NAME uses a bank that belongs to NAME and runs everything
/// from it as NAME (docs/security.md).
struct run_as {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups (initgroups)
  std::string home;
  bool other = false;  ///< not this process's own user (a root supervisor's --user)
};
/// Fills `out` for --user NAME (a name or a number); "" is this process's user. Returns an
/// empty string or the problem (unknown user; --user of another user without root).
std::string resolve_user(const std::string& name, run_as& out);

/// Blocks a bank needs beyond one image per process: the controller block, the three runtime
/// blocks (runtime, extension, lease), a staged image per mailbox slot, and at least one block
/// for the programs themselves.
inline constexpr std::uint32_t min_extra_blocks = 4 + request_slots + 1;

/// Tunables fixed when the bank is created (flags or config file).
/// What a supervisor (run, serve) does under a service manager: when it sends READY=1, and
/// what giving up on a group does. Set by --ready, --ready-after, --on-give-up or the config
/// keys of the same names (flags win).
enum class ready_when {
  call,     ///< a member is ready when it called process::ready() in its current run, or has
            ///< run for ready_after_ms (0: only the call counts)
  started,  ///< a member is ready once started
};
enum class give_up_action {
  hold,  ///< the group is held; the supervisor goes on (hrctl run: its own group's ends it, 8)
  exit,  ///< every other group is stopped gracefully, then the supervisor exits 8
};
struct service_options {
  ready_when ready = ready_when::call;
  std::uint64_t ready_after_ms = 1000;
  give_up_action on_give_up = give_up_action::hold;
  /// --on-give-up-run: a shell command run (sh -c, not waited for) at each give-up; empty: none.
  std::string on_give_up_run;
  /// --node: this node's name in the bank's lease; empty: uname's nodename (lease.hpp).
  std::string node;
  /// --lease-time: how long the lease stays live without a renewal (lease.hpp).
  std::uint64_t lease_ms = 10000;
};
/// Applies one service option ("--ready", "--ready-after", "--on-give-up") to `o`. Returns
/// false for another flag; `err` says why a value is bad.
bool apply_service_option(const std::string& flag, const std::string& value, service_options& o,
                          std::string& err);

struct bank_options {
  std::string path;  ///< --bank; empty: the default location (set_default_path)
  bool path_defaulted = false;
  std::string user;  ///< --user NAME, or the config's `user`
  run_as as;
  std::uint64_t bank_size = 64ull << 20;
  std::uint32_t max_blocks = 128;
  std::uint32_t max_groups = 32;
  std::uint32_t max_processes = 32;
  std::uint64_t interval_ms = 3000;
  std::uint32_t max_badness = 25;
  std::uint32_t max_site_restarts = 3;
  std::uint64_t give_up_window_ms = 300000;
  policy_kind policy = policy_kind::chorus;
  std::uint32_t intensity = 5;      ///< window
  std::uint64_t period_ms = 10000;  ///< window
  std::uint64_t backoff_base_ms = 100;
  std::uint64_t backoff_cap_ms = 30000;
  std::uint64_t healthy_ms = 60000;  ///< backoff and discard
  std::uint32_t discard_after = 0;   ///< 0: never
  std::vector<std::string> given;    ///< tunables the user set explicitly (for mismatch notes)
  bool force = false;       ///< --force: run/serve adopt a bank that hrctl check finds corrupt
  service_options service;  ///< run, serve: under a service manager (not a bank tunable)
  bool was_given(const char* flag) const;
  /// The bank's location: its path, and the user it must belong to.
  mmap_location where() const { return mmap_location(path.c_str(), as.uid); }
};

/// Sets `o.path` to the default location when no --bank was given (location.hpp; its
/// directory is made when `make_dir`). Returns an empty string or why it cannot be used.
std::string set_default_path(bank_options& o, bool make_dir);

/// Writes the policy tunables of `o` into a new runtime header.
void record_policy(const bank_options& o, runtime_header& h);
/// The policy a bank was created with, from its runtime header.
runtime_policy policy_of(const runtime_header& h);
/// "chorus (interval 3000 ms, max badness 25)" and the like, for status and notes.
std::string describe_policy(const runtime_header& h);
/// A group's policy state: "restart counter 2/25", "restarts in the period 1/5", ...
std::string describe_counter(const runtime_header& h, policy_cspan state);

/// Sockets a run gets at fds 3..: its group's own (--listen, at most max_listen) and those
/// passed by the service manager (`socket =` in a configuration file).
inline constexpr std::size_t max_member_sockets = 8;
static_assert(max_member_sockets + 2 <= standby_max_fds);  // a promotion hands them all over

/// One `hrctl run` (or a delegated one).
struct run_options {
  std::string group;                ///< GID or name; empty: 0
  std::string name;                 ///< process name; empty: basename of PROGRAM
  std::vector<std::string> argv;    ///< PROGRAM ARGS...
  std::vector<std::string> listen;  ///< ADDR:PORT
  bool exit0_clean = false;
  std::uint64_t heartbeat_ms = 0;
  bool prefix = false;
  bool quiet = false;
  std::uint64_t stop_timeout_ms = 5000;
  bool stop_timeout_given = false;
  bool serve_all = false;  ///< keep serving the bank's other groups after this one ended
  bool standby = false;    ///< keep a warm standby of the member (--standby)
  std::uint32_t standby_timeout_ms = 0;  ///< --standby-timeout; 0: the default
};

/// Parses one --listen: IPV4ADDR:PORT, [IPV6ADDR]:PORT, HOSTNAME:PORT (resolved here with
/// getaddrinfo: every address it resolves to, each once, in the resolver's order) or :PORT
/// (0.0.0.0); PORT 0: any free port. Appends the sockets to `out`. Returns an empty string or
/// the problem.
std::string parse_listen(const std::string& spec, std::vector<listen_record>& out);
/// What a runtime conversion did, in a sentence ("runtime block converted from version 2 to 3:
/// ...").
std::string describe_conversion(const convert_report& c);
/// The sockets the bank records for group `gid`: the extension block's records (v3), or the
/// v2 words (IPv4) of a block not converted yet.
std::vector<listen_record> group_listeners(const runtime_view& rt, std::uint32_t gid);
/// "127.0.0.1:41234", "[::1]:41235".
std::string listen_text(const listen_record& r);
/// The address alone: "127.0.0.1", "::1".
std::string listen_address(const listen_record& r);

/// Where a refused bank came from: a bank file (--bank), or an image file (check --image).
enum class bank_source { bank, image };

/// Maps a bank error to hrctl's exit code and prints it with the path; a bank refused as
/// untrusted_file is explained (whose, which permissions, the fix) against its expected owner,
/// and each other refusal (another version or layout, not a bank, cut short, damaged, other
/// tunables, a creation that died) with its own advice.
int report_bank_error(const char* what, const std::string& path, const error& e,
                      uid_t owner = ::geteuid(), bank_source source = bank_source::bank);

/// The bank size `hrctl run` creates a bank with when --bank-size is not given: 16 MiB for
/// blocks, room for the program's image (`image` bytes) four times (the image, a staged
/// upgrade of it, and as much for another member), and the state its limits need, in MiB.
std::uint64_t run_bank_size(const bank_options& o, std::uint64_t image);

/// The sizing rule (docs/hrctl.md): bytes the bank needs for these limits before any image.
std::uint64_t fixed_overhead(const bank_options& o, std::uint32_t page);

/// Parses "64M", "4096", "1G". false on garbage.
bool parse_size(const std::string& s, std::uint64_t& out);
bool parse_u32(const std::string& s, std::uint32_t& out);
/// Digits only, within 64 bits (as parse_u32). false on anything else.
bool parse_u64(const std::string& s, std::uint64_t& out);

/// Applies a tunable flag (--bank-size ...) if `flag` is one; true if consumed. `err` set on a
/// bad value.
bool apply_tunable(const std::string& flag, const std::string& value, bank_options& o,
                   std::string& err);

/// Exclusive supervisor lock on the open bank (an OFD lock on byte 0 of the file, through an
/// open file description of its own: independent of the backend's flock and of the
/// descriptors members inherit). Returns the fd holding it, -1 if another process holds it,
/// -2 on error (errno set).
int take_supervisor_lock(const mmap_bank& b);
/// Opens a bank as hrctl does: a bank of the previous bank format (2) is converted in place
/// (bank.hpp) unless a supervisor serves it, which would be one of an earlier hrctl (an hrctl of
/// this version converts at open): then `version_mismatch`, saying so, and nothing written.
result<mmap_bank> open_bank_converting(const mmap_location& where);
/// True if a supervisor holds the lock of the open bank.
bool supervisor_alive(const mmap_bank& b);

/// Opens PROGRAM for imaging (image.hpp); on a problem, says it ("hrctl: PROGRAM: why") and
/// returns exit_program, else exit_ok.
int open_program_or_say(const std::string& given, program_file& f);

std::string basename_of(const std::string& p);
const char* signal_name(int sig);

}  // namespace hrctl

#endif  // HRCTL_COMMON_HPP
