// SPDX-License-Identifier: MIT
// Conversion of the runtime block from version 2 to version 3, and from 3 to 4 (docs/format.md,
// "Versions"). A version-2 block goes through both, each committed on its own: a crash between
// them leaves a complete version-3 bank.
//
// Version 3 keeps the v2 block "__HR_runtime" where it is, with its size and offsets: the
// members that run keep their pointers into it (their heartbeats and clean-exit records), so
// the groups are adopted hot. What is new uses words v2 reserved (zero): the request id in each
// mailbox slot. What did not fit (the performed-request ring, IPv6 listen addresses) is in a
// second block, "__HR_runtime_x". The conversion:
//   1. frees an "__HR_runtime_x" left by a conversion cut short (the version word still says 2),
//   2. creates it (one bank transaction) and fills it from the v2 fields (each group's and each
//      pending request's IPv4 listen addresses),
//   3. stores 3 in the runtime header's version word: the one aligned store that commits it.
// A crash before step 3 leaves a v2 bank (and an orphan block that step 1 frees next time);
// after it, a complete v3 one. Nothing v2 had is rewritten, so there is no half-converted state.
//
// Version 4 adds the node lease, a block of its own ("__HR_lease"); nothing of the v3 blocks
// changes (the extension block keeps its own layout version, 3). The same three steps: free a
// lease block left by a conversion cut short (the version word still says 3), create it and
// format it free (magic last), store 4 in the version word: the commit.
// The caller holds the bank's supervisor role (no supervisor serves it meanwhile).
#ifndef HOTRESTART_POSIX_CONVERT_HPP
#define HOTRESTART_POSIX_CONVERT_HPP

#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include <hotrestart/posix/layout.hpp>

namespace hotrestart::posix {

/// What a conversion did.
struct convert_report {
  std::uint32_t from = 0;  ///< the version found (3: nothing to do)
  std::uint32_t groups_with_listeners = 0;
  std::uint32_t listeners = 0;  ///< group listen addresses carried over
  std::uint32_t requests = 0;   ///< pending requests (ready, serving) carried over
};

/// Fills an extension block for the runtime block `rt` (fresh: zero) from its v2 fields.
inline void format_runtime_ext(std::byte* data, std::uint64_t bytes, const runtime_view& rt,
                               convert_report* rep) {
  std::memset(data, 0, bytes);
  auto* x = reinterpret_cast<runtime_ext_header*>(data);
  x->version = runtime_ext_version;
  x->max_groups = rt.max_groups();
  auto* table = reinterpret_cast<listen_record*>(data + sizeof(runtime_ext_header));
  auto v4 = [](listen_record& r, std::uint32_t addr, std::uint16_t port) {
    r.family = AF_INET;
    r.port = port;
    std::memcpy(r.addr, &addr, 4);
  };
  for (std::uint32_t g = 0; g < rt.max_groups(); ++g) {
    const group_slot& gs = *rt.group(g);
    const std::uint32_t n = gs.listen_count < max_listen ? gs.listen_count : max_listen;
    for (std::uint32_t k = 0; k < n; ++k)
      v4(table[g * max_listen + k], gs.listen_addr[k], gs.listen_port[k]);
    if (rep != nullptr && n != 0) {
      ++rep->groups_with_listeners;
      rep->listeners += n;
    }
  }
  for (std::uint32_t i = 0; i < request_slots; ++i) {
    const request_slot& s = *rt.request(i);
    const std::uint32_t st = load(s.state);
    if (st == req_free || st == req_claimed) continue;
    const std::uint32_t n = s.listen_count < max_listen ? s.listen_count : max_listen;
    for (std::uint32_t k = 0; k < n; ++k)
      v4(x->request_listen[i][k], s.listen_addr[k], s.listen_port[k]);
    if (rep != nullptr && (st == req_ready || st == req_serving)) ++rep->requests;
  }
  store(x->magic, runtime_ext_magic);
}

/// Formats a lease block: free, never held (magic last).
inline void format_lease(std::byte* data, std::uint64_t bytes) {
  std::memset(data, 0, bytes);
  store(reinterpret_cast<lease_record*>(data)->magic, lease_magic);
}

/// Creates the lease block (or makes it again: one left by a cut-short step) and formats it.
template <class Bank>
[[nodiscard]] result<void> make_lease_block(Bank& bank) {
  (void)bank.free(hotrestart::detail::internal_access, lease_block_name);
  auto lb = bank.find_or_create(hotrestart::detail::internal_access, lease_block_name,
                                sizeof(lease_record));
  if (!lb) return fail(lb.error());
  format_lease(lb->data, lb->capacity);
  return {};
}

/// Attaches the blocks a runtime block of `version` (3 or 4) has beside it. Errors: corrupt
/// for a missing one, and each block's own.
template <class Bank>
[[nodiscard]] result<void> attach_runtime_blocks(Bank& bank, runtime_view& rt,
                                                 std::uint32_t version) {
  if (version >= 3) {
    auto xb = bank.find(runtime_ext_block_name);
    if (!xb)
      return fail(error(errc::corrupt,
                        "runtime block version 3 or later without its "
                        "extension block (__HR_runtime_x)"));
    if (auto a = rt.attach_ext(*xb); !a) return fail(a.error());
  }
  if (version >= 4) {
    auto lb = bank.find(lease_block_name);
    if (!lb)
      return fail(
          error(errc::corrupt, "runtime block version 4 without its lease block (__HR_lease)"));
    if (auto a = rt.attach_lease(*lb); !a) return fail(a.error());
  }
  return {};
}

/// Brings the bank's runtime block to this version (4), converting a version-2 or version-3
/// one. Errors: not_found (no runtime block), the runtime block's (version_mismatch for other
/// versions, corrupt, truncated), the bank's when creating a block (bank_full...).
template <class Bank>
[[nodiscard]] result<convert_report> convert_runtime(Bank& bank) {
  auto rb = bank.find(runtime_block_name);
  if (!rb) return fail(rb.error());
  convert_report rep;
  if (rb->capacity >= sizeof(runtime_header))
    rep.from = load(reinterpret_cast<const runtime_header*>(rb->data)->version);
  if (rep.from == runtime_version) {
    auto rt = runtime_view::attach(*rb);
    if (!rt) return fail(rt.error());
    if (auto a = attach_runtime_blocks(bank, *rt, runtime_version); !a) return fail(a.error());
    return rep;
  }
  // version_mismatch names both for other versions (refused: older than 2, or newer).
  auto rt = runtime_view::attach(*rb, rep.from == 2 ? 2 : 3);
  if (!rt) return fail(rt.error());
  if (rep.from == 2) {
    (void)bank.free(hotrestart::detail::internal_access, runtime_ext_block_name);  // step 1
    auto xb = bank.find_or_create(hotrestart::detail::internal_access, runtime_ext_block_name,
                                  runtime_ext_block_bytes(rt->max_groups()));
    if (!xb) return fail(xb.error());
    format_runtime_ext(xb->data, xb->capacity, *rt, &rep);  // step 2
    store(rt->header().version, std::uint32_t{3});          // step 3: the commit of 2 -> 3
  } else if (auto a = attach_runtime_blocks(bank, *rt, 3); !a) {
    return fail(a.error());  // a version-3 bank must be whole before it is converted
  }
  // 3 -> 4: the lease block (steps 1 and 2), then the version word (step 3: the commit).
  if (auto l = make_lease_block(bank); !l) return fail(l.error());
  store(rt->header().version, runtime_version);
  return rep;
}

/// Attaches the runtime block and the blocks beside it (extension, lease) of this version.
/// Errors: as runtime_view::attach, and corrupt for a missing or damaged block.
template <class Bank>
[[nodiscard]] result<runtime_view> attach_runtime(Bank& bank) {
  auto rb = bank.find(runtime_block_name);
  if (!rb) return fail(rb.error());
  auto rt = runtime_view::attach(*rb);
  if (!rt) return fail(rt.error());
  if (auto a = attach_runtime_blocks(bank, *rt, runtime_version); !a) return fail(a.error());
  return *rt;
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_CONVERT_HPP
