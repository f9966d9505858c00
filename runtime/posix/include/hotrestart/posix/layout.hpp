// SPDX-License-Identifier: MIT
// The POSIX runtime's own state in the bank, shared by the supervisor (hrctl) and the
// programs it runs: the block "__HR_runtime" (header, request mailbox, one record per group
// and per process) and the layout of a process image block ("__HR_IMG_<n>").
//
// Writers: the supervisor writes everything but the fields marked "child"; a restartable
// process writes only its own process record's `clean` and `heartbeat_ms`, and the request
// slot it has claimed. Shared fields are accessed through std::atomic_ref.
#ifndef HOTRESTART_POSIX_LAYOUT_HPP
#define HOTRESTART_POSIX_LAYOUT_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include <hotrestart/bank.hpp>
#include <hotrestart/controller/bank_store.hpp>
#include <hotrestart/controller/controller.hpp>

namespace hotrestart::posix {

inline constexpr std::string_view runtime_block_name = "__HR_runtime";
inline constexpr std::uint32_t runtime_magic = 0x54524848u;  // "HHRT"
/// 2: policies, holds, listen in requests; 3: request ids, the performed-request ring and
/// IPv4/IPv6 listen addresses (in the extension block "__HR_runtime_x"); 4: the node lease
/// (the block "__HR_lease": which node's supervisor uses the bank).
inline constexpr std::uint32_t runtime_version = 4;
inline constexpr std::uint32_t request_slots = 8;
inline constexpr std::uint32_t max_listen = 4;
/// Version 3's second block: what did not fit in the v2 block's reserved words (the v2 block
/// keeps its size and offsets, so running members keep writing their records where they are).
inline constexpr std::string_view runtime_ext_block_name = "__HR_runtime_x";
inline constexpr std::uint32_t runtime_ext_magic = 0x58524848u;  // "HHRX"
/// The extension block's own layout version: 3 (made by runtime version 3, unchanged since).
inline constexpr std::uint32_t runtime_ext_version = 3;
/// Version 4's block: the node lease (lease_record).
inline constexpr std::string_view lease_block_name = "__HR_lease";
inline constexpr std::uint32_t lease_magic = 0x4C524848u;  // "HHRL"
inline constexpr std::uint32_t performed_slots = 32;

/// The environment a supervised process receives.
inline constexpr const char* env_bank = "HR_BANK";
inline constexpr const char* env_bank_fd = "HR_BANK_FD";  ///< the bank, open (the supervisor's)
inline constexpr const char* env_group = "HR_GROUP";
inline constexpr const char* env_process = "HR_PROCESS";      ///< controller process id
inline constexpr const char* env_handle = "HR_HANDLE";        ///< run handle (changes each run)
inline constexpr const char* env_restarted = "HR_RESTARTED";  ///< "1" on a rerun
/// A warm standby's channel to its supervisor (standby.hpp); unset in a run.
inline constexpr const char* env_standby_fd = "HR_STANDBY_FD";

/// One per controller process id (64 bytes).
inline std::uint32_t load_u32(const std::uint32_t& f) {
  return __atomic_load_n(&f, __ATOMIC_ACQUIRE);
}

struct proc_slot {
  std::uint64_t handle;        ///< run handle of the current run (supervisor)
  std::uint64_t clean;         ///< child: its handle, written by the clean-exit call
  std::uint64_t heartbeat_ms;  ///< child: CLOCK_MONOTONIC ms of its last heartbeat
  std::uint64_t start_time;    ///< /proc/PID/stat starttime of the run (supervisor)
  std::int32_t pid;            ///< pid of the current run, 0 if none (supervisor)
  std::uint32_t gid;
  std::uint32_t runs;  ///< runs of this member so far
  /// child: the `runs` value of the run that called process::ready() (0: no run did). Only
  /// the value equal to `runs` means "ready": a previous run's value does not count.
  std::uint32_t ready_run;
  // The warm standby (supervisor; docs/hrctl.md, "Warm standby"). These words were reserved
  // (zero) in every earlier bank of this version: zero means "no standby", so no bump.
  std::uint32_t standby_flags;       ///< standby_flag bits, and its state (standby_state_*)
  std::uint32_t standby_timeout_ms;  ///< time to reach the standby point; 0: the default
  std::int32_t standby_pid;          ///< the standby's pid, 0 if none
  std::uint32_t standby_promotions;  ///< runs of this member started from a standby
};
static_assert(sizeof(proc_slot) == 64 && std::is_trivially_copyable_v<proc_slot>);
static_assert(offsetof(proc_slot, ready_run) == 44);  // docs/format.md
static_assert(offsetof(proc_slot, standby_flags) == 48);

/// proc_slot::standby_flags: bit 0 wanted, bit 1 disabled (it failed), bits 4-5 the state.
enum standby_flag : std::uint32_t {
  standby_wanted = 1,
  standby_disabled = 2,
  standby_state_shift = 4,
  standby_state_mask = 3u << standby_state_shift,
};
enum standby_state : std::uint32_t { standby_none = 0, standby_starting = 1, standby_parked = 2 };
/// How long a standby has to reach its standby point unless the member says (ms).
inline constexpr std::uint32_t standby_default_timeout_ms = 5000;

enum group_flags : std::uint32_t { group_exit0_clean = 1 };
/// Flags of a delegated `hrctl run` request, beside its group_flags (never stored in a group):
/// send the member's output to the requester's stdout/stderr; prefix its lines.
/// req_standby: keep a warm standby of the member (hrctl run --standby).
enum request_flags : std::uint32_t {
  req_relay_output = 1u << 16,
  req_prefix_output = 1u << 17,
  req_standby = 1u << 18,
};
/// How a group ended (group_slot::last_outcome), for the hrctl run waiting for it.
enum group_outcome : std::uint32_t { outcome_none = 0, outcome_clean = 1, outcome_killed = 2 };
/// Why a group is held: its members are stopped and not restarted until an operator runs it
/// again (`hrctl run -g`, `hrctl upgrade`) or ends it (`hrctl kill -g`). The group stays in the
/// bank with its blocks.
enum group_hold : std::uint32_t {
  hold_none = 0,
  hold_stopped = 1,  ///< stopped on request (SIGTERM/SIGINT of its hrctl run, hrctl stop)
  hold_gave_up = 2,  ///< kept crashing after --max-site-restarts escalations
};

/// One per group id (128 bytes): what hrctl run was told about the group, and the
/// supervisor's own per-group state.
struct group_slot {
  char name[32];
  std::uint32_t name_len;
  std::uint32_t flags;         ///< group_flags
  std::uint64_t heartbeat_ms;  ///< hang deadline, 0 = no heartbeat required
  std::uint32_t terminations;  ///< +1 each time the group ends (clean or killed)
  std::uint32_t last_outcome;  ///< group_outcome of the last end (written only when it ends)
  std::uint32_t listen_count;
  std::uint32_t listen_addr[max_listen];  ///< IPv4, network byte order
  std::uint16_t listen_port[max_listen];  ///< host byte order (the bound port)
  std::uint32_t pending_outcome;          ///< group_outcome to record when the group ends (kill -g)
  std::uint32_t held;                     ///< group_hold
  std::uint32_t escalations;              ///< escalations in a row (each within the give-up window)
  std::uint64_t last_escalation_ms;       ///< controller clock of the last one
  std::uint64_t stop_timeout_ms;          ///< SIGTERM to SIGKILL when stopped; 0: the supervisor's
  std::uint32_t hold_code;                ///< exit code for the hrctl run waiting for a held group
  std::uint32_t reserved[3];
};
static_assert(sizeof(group_slot) == 128 && std::is_trivially_copyable_v<group_slot>);

enum request_state : std::uint32_t {
  req_free = 0,
  req_claimed = 1,
  req_ready = 2,
  req_done = 3,
  req_serving = 4,    ///< the supervisor took it (a requester can no longer withdraw it)
  req_abandoned = 5,  ///< taken, then its requester stopped waiting: the answerer frees it
};
enum request_kind : std::uint32_t {
  req_spawn_indirect = 1,  ///< hrfexec: staged image, name, parent
  req_kill_group = 2,
  req_site_restart = 3,
  req_upgrade = 4,     ///< staged image replaces member `name`'s image, then the group restarts
  req_run_direct = 5,  ///< hrctl run delegated to the serving supervisor
  req_stop_group = 6,  ///< stop the group's members gracefully and hold the group
  req_reload = 7,      ///< read the supervisor's configuration file again and apply it
};

/// A mailbox slot (320 bytes). A requester claims it (CAS free->claimed), fills it, stages an
/// image in the block "__HR_REQ_<slot>" if the request needs one, sets ready and signals the
/// supervisor (SIGUSR1). The supervisor takes it (CAS ready->serving), answers (status,
/// result) and sets done; the requester reads and frees. A requester that gives up waiting
/// withdraws a slot still ready (CAS ready->free), and abandons one the supervisor took (CAS
/// serving->abandoned: the supervisor frees it when it answers). A slot claimed by a dead requester is
/// reclaimed by the supervisor; a ready slot survives a supervisor crash and is served by the
/// next one.
struct request_slot {
  std::uint32_t state;
  std::int32_t requester;
  std::uint32_t kind;
  std::uint32_t gid;     ///< group id, or 0xFFFFFFFF: by name (group_name) or new
  std::uint32_t parent;  ///< spawn: controller id of the requesting member
  std::uint32_t flags;   ///< run: group_flags | request_flags
  std::uint64_t heartbeat_ms;
  std::int32_t status;  ///< answer: 0 ok, else an hrctl exit code
  std::int32_t result_pid;
  std::uint32_t result_gid;
  std::uint32_t result_terminations;
  std::uint32_t name_len;
  char name[32];
  std::uint32_t group_name_len;
  char group_name[32];
  char message[112];
  std::uint32_t listen_count;             ///< run: sockets for the group (--listen)
  std::uint32_t listen_addr[max_listen];  ///< IPv4, network byte order
  std::uint16_t listen_port[max_listen];  ///< host byte order, 0: any free port
  std::uint32_t stop_timeout_ms;          ///< run, stop: SIGTERM to SIGKILL; 0: default
  std::uint32_t stop_signal;              ///< stop: the signal that asked for it (exit 128+N)
  /// v3: the request's id (two words: the slot has no 8-aligned room), 0 from a v2 requester
  /// (never deduplicated). A requester retries with the same id; the supervisor records the
  /// ids it performs (runtime_ext_header::performed) and performs an id once.
  std::uint32_t id_lo;
  std::uint32_t id_hi;
  std::uint32_t standby_timeout_ms;  ///< run with req_standby: --standby-timeout; 0: default
  std::uint32_t reserved[9];
};
static_assert(sizeof(request_slot) == 320 && std::is_trivially_copyable_v<request_slot>);
static_assert(offsetof(request_slot, id_lo) == 268 && offsetof(request_slot, id_hi) == 272);

inline std::uint64_t request_id(const request_slot& s) {
  return std::uint64_t{load_u32(s.id_hi)} << 32 | load_u32(s.id_lo);
}

/// runtime_header::policy: the restart policy the bank was created with (policies/runtime_policy.hpp).
struct runtime_header {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t max_groups;
  std::uint32_t max_processes;
  std::int32_t supervisor_pid;  ///< 0 when none
  std::uint32_t policy;         ///< policy_kind: 0 chorus, 1 window, 2 backoff
  std::uint64_t supervisor_start;
  std::uint64_t run_seq;            ///< last run handle given
  std::uint64_t interval_ms;        ///< chorus: decay period
  std::uint32_t max_badness;        ///< chorus: escalation threshold, 0 = never
  std::uint32_t max_site_restarts;  ///< escalations of a group in a row before giving up on it
  std::uint32_t intensity;          ///< window: restarts in `period_ms` that escalate
  std::uint32_t discard_after;      ///< consecutive restarts before the state is discarded, 0 never
  std::uint64_t period_ms;          ///< window: the period
  std::uint64_t backoff_base_ms;    ///< backoff: first delay
  std::uint64_t backoff_cap_ms;     ///< backoff: largest delay
  std::uint64_t healthy_ms;         ///< backoff and discard: a restart-free period resets them
  std::uint64_t give_up_window_ms;  ///< escalations further apart start the count again
  std::uint32_t reserved[6];
  request_slot requests[request_slots];
};
static_assert(sizeof(runtime_header) % 64 == 0 && std::is_trivially_copyable_v<runtime_header>);
static_assert(sizeof(runtime_header) == 128 + request_slots * sizeof(request_slot));

/// v3: one listening socket (24 bytes): family AF_INET (address in addr[0..3]) or AF_INET6,
/// 0 when unused; the address in network byte order, the port in host byte order.
struct listen_record {
  std::uint16_t family;
  std::uint16_t port;
  std::uint32_t reserved;
  std::uint8_t addr[16];
};
static_assert(sizeof(listen_record) == 24 && std::is_trivially_copyable_v<listen_record>);

/// performed_record::status of a request being acted on (its supervisor ended before its status
/// was known, if it stays so).
inline constexpr std::int32_t performed_in_progress = -1;

/// v3: a request the supervisor performed (16 bytes), recorded before it acts (status
/// performed_in_progress), its status stored once it is known, before the answer.
struct performed_record {
  std::uint64_t id;  ///< 0: empty
  std::int32_t status;
  std::uint32_t kind;
};
static_assert(sizeof(performed_record) == 16);

/// v3: head of the extension block "__HR_runtime_x" (1,344 bytes), followed by max_groups x
/// max_listen listen_records (the groups' sockets). Written by the supervisor only, except
/// request_listen[i], written by the requester that claimed slot i.
struct runtime_ext_header {
  std::uint32_t magic;
  std::uint32_t version;         ///< runtime_version
  std::uint32_t max_groups;      ///< the runtime header's
  std::uint32_t performed_next;  ///< next ring entry to write (< performed_slots)
  std::uint32_t reserved[12];
  performed_record performed[performed_slots];
  listen_record request_listen[request_slots][max_listen];
};
static_assert(sizeof(runtime_ext_header) == 64 + 512 + 768);

enum lease_state : std::uint32_t {
  lease_free = 0,  ///< never held, or released by a supervisor that ended
  lease_held = 1,  ///< a supervisor of `node` uses the bank; it renews `renewed_ms`
};

/// v4: the node lease, the whole block "__HR_lease" (256 bytes). Written only by the supervisor
/// that holds the bank's supervisor lock on its node; read by any hrctl. Times are
/// CLOCK_REALTIME ms (nodes compare them: their clocks must agree to well within lease_ms).
struct lease_record {
  std::uint32_t magic;     ///< lease_magic, written last when the block is formatted
  std::uint32_t state;     ///< lease_state
  std::uint32_t lease_ms;  ///< the holder's lease time: stale once now >= renewed_ms + lease_ms
  std::int32_t pid;        ///< the holder's supervisor pid (on its node)
  std::uint64_t seq;       ///< +1 at each acquisition: a holder that finds another seq lost it
  std::uint64_t acquired_ms;
  std::uint64_t renewed_ms;
  std::uint32_t node_len;  ///< bytes of `node` (1..64 while held)
  std::uint32_t reserved0;
  char boot_id[40];  ///< the holder's kernel boot id (36 characters, NUL-padded)
  char node[64];     ///< the holder's node name (not NUL-terminated)
  std::uint32_t reserved[26];
};
static_assert(sizeof(lease_record) == 256 && std::is_trivially_copyable_v<lease_record>);
static_assert(offsetof(lease_record, renewed_ms) == 32 && offsetof(lease_record, node) == 88);

constexpr std::uint64_t runtime_ext_block_bytes(std::uint32_t max_groups) {
  return sizeof(runtime_ext_header) +
         std::uint64_t{max_groups} * max_listen * sizeof(listen_record);
}

constexpr std::uint64_t runtime_block_bytes(std::uint32_t max_groups, std::uint32_t max_processes) {
  return sizeof(runtime_header) + std::uint64_t{max_groups} * sizeof(group_slot) +
         std::uint64_t{max_processes} * sizeof(proc_slot);
}

/// A view of the runtime block, validated once (nothing in a bank is trusted unchecked) and then indexed with bounds checks.
class runtime_view {
 public:
  runtime_view() = default;
  /// Checks magic, version, limits and the block's capacity. Errors: corrupt,
  /// version_mismatch, truncated.
  [[nodiscard]] static result<runtime_view> attach(const block& b,
                                                   std::uint32_t version = runtime_version) {
    if (b.capacity < sizeof(runtime_header))
      return fail(error(errc::truncated, "runtime block smaller than its header")
                      .with_minimum("bytes", b.capacity, sizeof(runtime_header)));
    auto* h = reinterpret_cast<runtime_header*>(b.data);
    if (h->magic != runtime_magic)
      return fail(error(errc::corrupt, "runtime block: bad magic")
                      .with_expected_hex("magic", runtime_magic, h->magic));
    if (h->version != version)
      return fail(error(errc::version_mismatch, "runtime block written by another hrctl version")
                      .with_expected("runtime block version", version, h->version));
    if (h->max_groups == 0 || h->max_groups > 65536)
      return fail(error(errc::corrupt, "runtime block: max_groups out of range")
                      .with_range("max_groups", h->max_groups, 1, 65536));
    if (h->max_processes == 0 || h->max_processes > 65536)
      return fail(error(errc::corrupt, "runtime block: max_processes out of range")
                      .with_range("max_processes", h->max_processes, 1, 65536));
    if (b.capacity < runtime_block_bytes(h->max_groups, h->max_processes))
      return fail(error(errc::truncated, "runtime block smaller than its tables")
                      .with_minimum("bytes", b.capacity,
                                    runtime_block_bytes(h->max_groups, h->max_processes)));
    runtime_view v;
    v.h_ = h;
    return v;
  }
  /// Attaches the extension block (v3). Errors: corrupt, truncated.
  [[nodiscard]] result<void> attach_ext(const block& b) {
    if (b.capacity < sizeof(runtime_ext_header))
      return fail(error(errc::truncated, "runtime extension block smaller than its header")
                      .with_minimum("bytes", b.capacity, sizeof(runtime_ext_header)));
    auto* x = reinterpret_cast<runtime_ext_header*>(b.data);
    if (x->magic != runtime_ext_magic)
      return fail(error(errc::corrupt, "runtime extension block: bad magic")
                      .with_expected_hex("magic", runtime_ext_magic, x->magic));
    if (x->version != runtime_ext_version)
      return fail(error(errc::corrupt, "runtime extension block: another version")
                      .with_expected("version", runtime_ext_version, x->version));
    if (x->max_groups != h_->max_groups)
      return fail(error(errc::corrupt, "runtime extension block: max_groups differs")
                      .with_expected("max_groups", h_->max_groups, x->max_groups));
    if (b.capacity < runtime_ext_block_bytes(x->max_groups))
      return fail(error(errc::truncated, "runtime extension block smaller than its table")
                      .with_minimum("bytes", b.capacity, runtime_ext_block_bytes(x->max_groups)));
    x_ = x;
    return {};
  }
  /// The extension block (null if not attached).
  runtime_ext_header* ext() const { return x_; }
  /// Attaches the lease block (v4). Errors: corrupt, truncated.
  [[nodiscard]] result<void> attach_lease(const block& b) {
    if (b.capacity < sizeof(lease_record))
      return fail(error(errc::truncated, "lease block smaller than its record")
                      .with_minimum("bytes", b.capacity, sizeof(lease_record)));
    auto* l = reinterpret_cast<lease_record*>(b.data);
    if (l->magic != lease_magic)
      return fail(error(errc::corrupt, "lease block: bad magic")
                      .with_expected_hex("magic", lease_magic, l->magic));
    if (l->node_len > sizeof l->node)
      return fail(error(errc::corrupt, "lease block: node name length out of range")
                      .with_range("node_len", l->node_len, 0, sizeof l->node));
    l_ = l;
    return {};
  }
  /// The lease block (null if not attached).
  lease_record* lease() const { return l_; }
  /// Listener k of group gid (null without the extension block or out of range).
  listen_record* group_listen(std::uint32_t gid, std::uint32_t k) const {
    if (x_ == nullptr || gid >= h_->max_groups || k >= max_listen) return nullptr;
    return reinterpret_cast<listen_record*>(reinterpret_cast<std::byte*>(x_) +
                                            sizeof(runtime_ext_header)) +
           std::uint64_t{gid} * max_listen + k;
  }
  listen_record* request_listen(std::uint32_t i, std::uint32_t k) const {
    if (x_ == nullptr || i >= request_slots || k >= max_listen) return nullptr;
    return &x_->request_listen[i][k];
  }

  runtime_header& header() const { return *h_; }
  std::uint32_t max_groups() const { return h_->max_groups; }
  std::uint32_t max_processes() const { return h_->max_processes; }
  group_slot* group(std::uint32_t gid) const {
    if (gid >= h_->max_groups) return nullptr;
    return reinterpret_cast<group_slot*>(reinterpret_cast<std::byte*>(h_) +
                                         sizeof(runtime_header)) +
           gid;
  }
  proc_slot* proc(std::uint32_t id) const {
    if (id >= h_->max_processes) return nullptr;
    return reinterpret_cast<proc_slot*>(reinterpret_cast<std::byte*>(h_) + sizeof(runtime_header) +
                                        std::uint64_t{h_->max_groups} * sizeof(group_slot)) +
           id;
  }
  request_slot* request(std::uint32_t i) const {
    return i < request_slots ? &h_->requests[i] : nullptr;
  }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  runtime_header* h_ = nullptr;
  runtime_ext_header* x_ = nullptr;
  lease_record* l_ = nullptr;
};

/// An acquire load of a field shared with another process (a const field too: the __atomic
/// builtin, since std::atomic_ref cannot wrap a const object before C++26).
template <class T>
inline T load(const T& field) {
  return __atomic_load_n(&field, __ATOMIC_ACQUIRE);
}
template <class T>
inline void store(T& field, T v) {
  std::atomic_ref<T>(field).store(v, std::memory_order_release);
}

/// Name of the staging block of mailbox slot `i` ("__HR_REQ_<i>").
struct staging_block_name {
  char bytes[16] = {};
  std::size_t size = 0;
  constexpr explicit staging_block_name(std::uint32_t i) {
    for (char c : std::string_view("__HR_REQ_")) bytes[size++] = c;
    bytes[size++] = static_cast<char>('0' + i % 10);
  }
  constexpr std::string_view view() const { return {bytes, size}; }
  constexpr operator std::string_view() const { return view(); }
};

// ---- process images ----------------------------------------------------------------------

inline constexpr std::uint32_t image_magic = 0x4D495248u;  // "HRIM"
inline constexpr std::uint32_t image_version = 1;
inline constexpr std::size_t max_image_args = 256;
inline constexpr std::size_t max_image_argv_bytes = 64 * 1024;

/// Head of an image block: the program's name and arguments, then the executable's bytes.
struct image_header {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint64_t exe_bytes;   ///< size of the executable
  std::uint64_t exe_offset;  ///< from the start of the block, 64-aligned
  std::uint32_t argc;        ///< arguments including argv[0]
  std::uint32_t argv_bytes;  ///< NUL-terminated strings right after this header
  std::uint32_t name_len;    ///< process name (unique in the group)
  char name[32];
  std::uint32_t path_len;  ///< where the executable was read from (for status only)
  char path[256];
  std::uint32_t exe_checksum;  ///< FNV-1a of the executable's bytes
  std::uint32_t reserved[3];
};
static_assert(std::is_trivially_copyable_v<image_header>);

constexpr std::uint64_t image_exe_offset(std::uint64_t argv_bytes) {
  return (sizeof(image_header) + argv_bytes + 63) / 64 * 64;
}

inline std::uint32_t fnv1a(const std::byte* p, std::uint64_t n) {
  std::uint32_t h = 2166136261u;
  for (std::uint64_t i = 0; i < n; ++i) {
    h ^= static_cast<std::uint32_t>(p[i]);
    h *= 16777619u;
  }
  return h;
}

/// Validates an image block's header against its capacity (nothing in a bank is trusted unchecked). Errors: corrupt.
[[nodiscard]] inline result<const image_header*> check_image(const block& b) {
  if (b.capacity < sizeof(image_header))
    return fail(error(errc::corrupt, "image block smaller than its header")
                    .with_minimum("bytes", b.capacity, sizeof(image_header)));
  const auto* h = reinterpret_cast<const image_header*>(b.data);
  if (h->magic != image_magic)
    return fail(error(errc::corrupt, "image block: bad magic")
                    .with_expected_hex("magic", image_magic, h->magic));
  if (h->version != image_version)
    return fail(error(errc::corrupt, "image block: another version")
                    .with_expected("image version", image_version, h->version));
  if (h->argc == 0 || h->argc > max_image_args || h->argv_bytes > max_image_argv_bytes ||
      h->name_len == 0 || h->name_len > 32 || h->path_len > sizeof h->path ||
      h->exe_offset != image_exe_offset(h->argv_bytes) || h->exe_bytes > b.capacity ||
      h->exe_offset > b.capacity - h->exe_bytes)
    return fail(error(errc::corrupt, "image block: sizes out of range")
                    .with_value("exe bytes", h->exe_bytes)
                    .with_value("block bytes", b.capacity));
  // The argument strings: exactly argc NUL-terminated strings in argv_bytes.
  const char* a = reinterpret_cast<const char*>(b.data + sizeof(image_header));
  std::uint32_t strings = 0;
  for (std::uint32_t i = 0; i < h->argv_bytes; ++i)
    if (a[i] == '\0') ++strings;
  if (strings != h->argc || (h->argv_bytes != 0 && a[h->argv_bytes - 1] != '\0'))
    return fail(error(errc::corrupt, "image block: argument strings malformed")
                    .with_expected("argument strings", h->argc, strings));
  return h;
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_LAYOUT_HPP
