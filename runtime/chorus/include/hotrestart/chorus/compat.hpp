// SPDX-License-Identifier: MIT
// The ChorusOS hot restart API as free functions and macros in the global namespace, as the
// original headers declared them. One process-wide restartable-process handle, attached on
// first use from the environment hrctl gives (HR_BANK...). Without hrctl every call fails
// with K_ENOTSUPERVISED and says why once on stderr.
#ifndef HOTRESTART_CHORUS_COMPAT_HPP
#define HOTRESTART_CHORUS_COMPAT_HPP

#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The seed programs use printf, strcpy, bzero and exit without including their headers:
// ChorusOS's headers brought them in, so these do too.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotrestart/posix/process.hpp>

typedef unsigned long VmAddr;
typedef unsigned long VmSize;
typedef unsigned long VmOffset;

/// Error codes (negative, as ChorusOS's). Our values; the names are ChorusOS's.
#define K_OK 0
#define K_EFAIL (-1)    /* any other failure */
#define K_EINVAL (-2)   /* bad argument: name, medium, key, size */
#define K_ENOMEM (-3)   /* bank full, block table full */
#define K_EEXIST (-4)   /* exists but smaller than asked */
#define K_EUNKNOWN (-5) /* no such block, group or process */
#define K_EPRIV (-6)    /* not permitted: the group key in pmmFreeAll; hrfexec outside a group */
#define K_ENOTSUPERVISED (-7) /* not started by hrctl run (HR_BANK unset) */
#define K_EBADBANK (-8)       /* the bank is refused: corrupt, other version */

/// PmmName: medium ("RAM") and block name, NUL-terminated.
#define PMM_MEDIUM_SIZE 17
#define PMM_NAME_SIZE 33
typedef struct PmmName {
  char medium[PMM_MEDIUM_SIZE];
  char name[PMM_NAME_SIZE];
} PmmName;

/// Regions (rgnAllocate): only what hot restart programs use.
typedef struct KnCap {
  int pid;
} KnCap;
#define K_MYprocess (static_cast<KnCap*>(nullptr))
#define K_MYACTOR K_MYprocess
#define K_ANYWHERE 0x1UL
#define K_RESERVED 0x2UL /* reserved and inaccessible: any access faults */
#define K_WRITABLE 0x4UL
#define K_FILLZERO 0x8UL
typedef struct KnRgnDesc {
  VmAddr startAddr;
  VmSize size;
  unsigned long options;
  void* opaque1;
  void* opaque2;
} KnRgnDesc;

namespace hotrestart::chorus::detail {

// Output written before a crash must not be lost in a stdio buffer when stdout is a pipe or
// a file: line buffering for restartable programs, set before main().
inline const int stdio_line_buffered = (std::setvbuf(stdout, nullptr, _IOLBF, 0), 0);

inline posix::process* self() {
  static std::optional<posix::process> proc;
  static bool tried = false;
  static int failure = K_OK;
  if (!tried) {
    tried = true;
    auto p = posix::process::attach();
    if (p) {
      proc.emplace(std::move(*p));
    } else {
      failure = p.error().code == errc::not_permitted ? K_ENOTSUPERVISED : K_EBADBANK;
      std::fprintf(stderr, "hotrestart: %s\n", describe(p.error()).text);
    }
  }
  (void)failure;
  return proc ? &*proc : nullptr;
}
inline int not_attached() {
  return posix::identity_from_env() ? K_EBADBANK : K_ENOTSUPERVISED;
}

inline int to_k(const error& e) {
  switch (e.code) {
    case errc::ok: return K_OK;
    case errc::name_empty:
    case errc::name_too_long:
    case errc::name_has_nul:
    case errc::name_reserved:
    case errc::medium_empty:
    case errc::medium_too_long:
    case errc::unknown_medium:
    case errc::key_too_long:
    case errc::bad_size: return K_EINVAL;
    case errc::key_reserved:
    case errc::not_permitted: return K_EPRIV;
    case errc::bank_full:
    case errc::block_table_full: return K_ENOMEM;
    case errc::size_exceeds_block: return K_EEXIST;
    case errc::not_found:
    case errc::unknown_group:
    case errc::unknown_process: return K_EUNKNOWN;
    default: return K_EFAIL;
  }
}

inline std::string_view bounded(const char* s, std::size_t cap) {
  return {s, ::strnlen(s, cap)};
}

}  // namespace hotrestart::chorus::detail

/// vmPageSize(2K): the bank's block granule (the host page).
inline VmSize vmPageSize() {
  return static_cast<VmSize>(::sysconf(_SC_PAGESIZE));
}

/// rgnAllocate(2K) for the calling process. K_ANYWHERE | K_RESERVED: an address range that
/// is reserved and inaccessible (any access faults, as in ChorusOS with VIRTUAL_ADDRESS_SPACE).
/// Otherwise readable and writable, zero-filled. K_EINVAL for another process or size 0.
inline int rgnAllocate(KnCap* actor, KnRgnDesc* rgn) {
  if (rgn == nullptr || rgn->size == 0 || (actor != nullptr && actor->pid != ::getpid()))
    return K_EINVAL;
  const int prot = (rgn->options & K_RESERVED) != 0 ? PROT_NONE : PROT_READ | PROT_WRITE;
  void* hint = (rgn->options & K_ANYWHERE) != 0 ? nullptr : reinterpret_cast<void*>(rgn->startAddr);
  void* p = ::mmap(hint, rgn->size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return K_ENOMEM;
  rgn->startAddr = reinterpret_cast<VmAddr>(p);
  return K_OK;
}

/// pmmAllocate(2RESTART): allocates the block `name` (zero-filled, `size` rounded up to whole
/// pages) or retrieves it, and stores its address in *addr. `key`/`keysize` (bytes, NUL
/// included if counted) is its deletion key (pmmFreeAll; HR_GROUP_KEY: freed with the group).
inline int pmmAllocate(VmAddr* addr, PmmName* name, VmSize size, const void* key,
                       unsigned long keysize) {
  using namespace hotrestart::chorus::detail;
  if (addr == nullptr || name == nullptr || (key == nullptr && keysize != 0)) return K_EINVAL;
  auto* p = self();
  if (p == nullptr) return not_attached();
  const hotrestart::block_name n{bounded(name->medium, PMM_MEDIUM_SIZE),
                                 bounded(name->name, PMM_NAME_SIZE)};
  const std::string_view k(static_cast<const char*>(key), keysize);
  auto b = p->bank().find_or_create(n, size, k);
  if (!b) return to_k(b.error());
  const VmAddr a = reinterpret_cast<VmAddr>(b->data);
  std::memcpy(addr, &a, sizeof a);  // the caller's variable may be any pointer type
  return K_OK;
}

/// pmmFree(2RESTART): frees the block `name`. K_EUNKNOWN if there is none.
inline int pmmFree(PmmName* name) {
  using namespace hotrestart::chorus::detail;
  if (name == nullptr) return K_EINVAL;
  auto* p = self();
  if (p == nullptr) return not_attached();
  auto r = p->bank().free(hotrestart::block_name{bounded(name->medium, PMM_MEDIUM_SIZE),
                                                 bounded(name->name, PMM_NAME_SIZE)});
  return r ? K_OK : to_k(r.error());
}

/// pmmFreeAll(2RESTART): frees every block of deletion key `key`. K_EPRIV for the group key.
inline int pmmFreeAll(const void* key, unsigned long keysize) {
  using namespace hotrestart::chorus::detail;
  if (key == nullptr) return K_EINVAL;
  auto* p = self();
  if (p == nullptr) return not_attached();
  auto r = p->bank().free_all(std::string_view(static_cast<const char*>(key), keysize));
  return r ? K_OK : to_k(r.error());
}

/// The clean-exit call: HR_EXIT_HDL(); exit(status). An exit without it is a failure.
inline void hrExitHandler() {
  if (auto* p = hotrestart::chorus::detail::self()) p->mark_clean_exit();
  std::fflush(nullptr);
}
#define HR_EXIT_HDL() hrExitHandler()

/// The deletion key of the caller's restart group (blocks freed when the group terminates).
inline const char* hrGroupKey() {
  static hotrestart::group_key k(0);
  if (auto* p = hotrestart::chorus::detail::self()) k = p->key();
  return k.bytes;
}
inline unsigned long hrGroupKeySize() {
  auto* p = hotrestart::chorus::detail::self();
  return p != nullptr ? p->key().size : hotrestart::group_key(0).size;
}
#define HR_GROUP_KEY hrGroupKey()
#define HR_GROUP_KEYSIZE hrGroupKeySize()

/// hrfexecve(2RESTART): starts `path` as an indirect member `baseName` of the caller's group
/// (the supervisor runs it from an image in the bank, with the supervisor's environment:
/// `envp` is not used). Returns its pid, or K_EPRIV (not a restartable process), K_EUNKNOWN
/// (no such program), K_EFAIL.
inline int hrfexecve(const char* baseName, const char* path, char* const argv[],
                     char* const envp[]) {
  (void)envp;
  using namespace hotrestart::chorus::detail;
  auto* p = self();
  if (p == nullptr) return K_EPRIV;
  if (baseName == nullptr || path == nullptr) return K_EINVAL;
  std::vector<std::string> args;
  for (std::size_t i = 0; argv != nullptr && argv[i] != nullptr; ++i) args.emplace_back(argv[i]);
  if (args.empty()) args.emplace_back(path);
  auto r = p->spawn_indirect(baseName, path, args);
  if (r.status == hotrestart::posix::request_ok) return r.pid;
  std::fprintf(stderr, "hrfexec %s: %s\n", baseName, r.message.c_str());
  if (r.status == hotrestart::posix::request_bad_program ||
      r.status == hotrestart::posix::request_unknown)
    return K_EUNKNOWN;
  if (r.status == hotrestart::posix::request_refused) return K_EPRIV;
  return K_EFAIL;
}

/// hrfexecl(2RESTART): hrfexecve with the arguments listed, ending with a null pointer.
inline int hrfexecl(const char* baseName, const char* path, const char* arg0, ...) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(arg0 != nullptr ? arg0 : path));
  if (arg0 != nullptr) {
    va_list ap;
    va_start(ap, arg0);
    while (const char* a = va_arg(ap, const char*)) argv.push_back(const_cast<char*>(a));
    va_end(ap);
  }
  argv.push_back(nullptr);
  return hrfexecve(baseName, path, argv.data(), nullptr);
}

/// hrKillGroup(2RESTART): akill -g: the group's members are killed and not restarted, its
/// group-keyed blocks are freed. K_EUNKNOWN for a group that does not exist.
inline int hrKillGroup(int gid) {
  using namespace hotrestart::chorus::detail;
  auto* p = self();
  if (p == nullptr) return not_attached();
  if (gid < 0) return K_EINVAL;
  hotrestart::posix::request_in in;
  in.kind = hotrestart::posix::req_kill_group;
  in.gid = static_cast<std::uint32_t>(gid);
  auto r = hotrestart::posix::submit_request(p->bank(), p->runtime(), in, 30000);
  if (!r) return K_EFAIL;
  return r->status == hotrestart::posix::request_ok        ? K_OK
         : r->status == hotrestart::posix::request_unknown ? K_EUNKNOWN
                                                           : K_EFAIL;
}

/// hrGetActorGroup(2RESTART): the restart group of a process (K_MYprocess: the caller), or
/// K_EUNKNOWN if it is not a running restartable process.
inline int hrGetActorGroup(KnCap* actor) {
  using namespace hotrestart::chorus::detail;
  auto* p = self();
  if (p == nullptr) return not_attached();
  if (actor == nullptr || actor->pid == ::getpid()) return static_cast<int>(p->group());
  const auto& rt = p->runtime();
  for (std::uint32_t id = 0; id < rt.max_processes(); ++id) {
    const auto* s = rt.proc(id);
    if (hotrestart::posix::load(s->pid) == actor->pid) return static_cast<int>(s->gid);
  }
  return K_EUNKNOWN;
}

#endif  // HOTRESTART_CHORUS_COMPAT_HPP
