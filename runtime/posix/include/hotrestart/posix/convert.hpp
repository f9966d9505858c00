// SPDX-License-Identifier: MIT
// Conversion of the runtime block from version 2 to version 3 (docs/format.md, "Versions").
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
  x->version = runtime_version;
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

/// Brings the bank's runtime block to this version (3), converting a version-2 one. Errors:
/// not_found (no runtime block), the runtime block's (version_mismatch for other versions,
/// corrupt, truncated), the bank's when creating the extension block (bank_full...).
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
    auto xb = bank.find(runtime_ext_block_name);
    if (!xb)
      return fail(error(errc::corrupt, "runtime block version 3 without its extension block"));
    if (auto a = rt->attach_ext(*xb); !a) return fail(a.error());
    return rep;
  }
  auto rt = runtime_view::attach(*rb, 2);  // version_mismatch names both for other versions
  if (!rt) return fail(rt.error());
  (void)bank.free(hotrestart::detail::internal_access, runtime_ext_block_name);  // step 1
  auto xb = bank.find_or_create(hotrestart::detail::internal_access, runtime_ext_block_name,
                                runtime_ext_block_bytes(rt->max_groups()));
  if (!xb) return fail(xb.error());
  format_runtime_ext(xb->data, xb->capacity, *rt, &rep);  // step 2
  store(rt->header().version, runtime_version);           // step 3: the commit
  return rep;
}

/// Attaches the runtime block and its extension block of this version. Errors: as
/// runtime_view::attach, and corrupt for a missing or damaged extension block.
template <class Bank>
[[nodiscard]] result<runtime_view> attach_runtime(Bank& bank) {
  auto rb = bank.find(runtime_block_name);
  if (!rb) return fail(rb.error());
  auto rt = runtime_view::attach(*rb);
  if (!rt) return fail(rt.error());
  auto xb = bank.find(runtime_ext_block_name);
  if (!xb) return fail(error(errc::corrupt, "runtime block version 3 without its extension block"));
  if (auto a = rt->attach_ext(*xb); !a) return fail(a.error());
  return *rt;
}

}  // namespace hotrestart::posix

#endif  // HOTRESTART_POSIX_CONVERT_HPP
