// SPDX-License-Identifier: MIT
// The ChorusOS hot restart API (hotrestart_chorus.h) over the POSIX runtime: the library
// hotrestart_chorus, built static and shared. One process-wide restartable-process handle,
// attached on first use from the environment hrctl gives (HR_BANK, HR_GROUP, HR_PROCESS,
// HR_HANDLE). Without hrctl every call fails with K_ENOTSUPERVISED and says why once on stderr.
// Only the API's names are exported (hidden visibility by default, HR_CHORUS_API on the
// declarations); nothing of the C++ runtime below leaks into a C program's namespace. Every
// call is noexcept: an exception (std::bad_alloc in hrfexec*) ends the program rather than
// unwinding through the C caller's frames.
#include <hotrestart_chorus.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hotrestart/posix/process.hpp>

namespace {

using namespace hotrestart;

// What a program prints before a crash must not be lost in a stdio buffer when stdout is a pipe
// or a file: line buffering, set when the library is loaded (before main).
__attribute__((constructor)) void line_buffered_stdout() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

posix::process* self() {
  static std::optional<posix::process> proc;
  static bool tried = false;
  if (!tried) {
    tried = true;
    auto p = posix::process::attach();
    if (p)
      proc.emplace(std::move(*p));
    else
      std::fprintf(stderr, "hotrestart: %s\n", describe(p.error()).text);
  }
  return proc ? &*proc : nullptr;
}

// Why self() is null: no hrctl (HR_BANK unset), or a bank that was refused.
int not_attached() {
  return posix::identity_from_env() ? K_EBADBANK : K_ENOTSUPERVISED;
}

int to_k(const error& e) {
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

std::string_view bounded(const char* s, std::size_t cap) {
  return {s, ::strnlen(s, cap)};
}

block_name name_of(const PmmName& n) {
  return block_name{bounded(n.medium, PMM_MEDIUM_SIZE), bounded(n.name, PMM_NAME_SIZE)};
}

}  // namespace

extern "C" {

VmSize vmPageSize(void) noexcept {
  return static_cast<VmSize>(::sysconf(_SC_PAGESIZE));
}

int rgnAllocate(KnCap* actor, KnRgnDesc* rgn) noexcept {
  if (rgn == nullptr || rgn->size == 0 || (actor != nullptr && actor->pid != ::getpid()))
    return K_EINVAL;
  const int prot = (rgn->options & K_RESERVED) != 0 ? PROT_NONE : PROT_READ | PROT_WRITE;
  void* hint = (rgn->options & K_ANYWHERE) != 0 ? nullptr : reinterpret_cast<void*>(rgn->startAddr);
  void* p = ::mmap(hint, rgn->size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return K_ENOMEM;
  rgn->startAddr = reinterpret_cast<VmAddr>(p);
  return K_OK;
}

int pmmAllocate(VmAddr* addr, PmmName* name, VmSize size, const void* key,
                unsigned long keysize) noexcept {
  if (addr == nullptr || name == nullptr || (key == nullptr && keysize != 0)) return K_EINVAL;
  auto* p = self();
  if (p == nullptr) return not_attached();
  const std::string_view k(static_cast<const char*>(key), keysize);
  auto b = p->bank().find_or_create(name_of(*name), size, k);
  if (!b) return to_k(b.error());
  const VmAddr a = reinterpret_cast<VmAddr>(b->data);
  std::memcpy(addr, &a, sizeof a);  // the caller's variable may be any pointer type
  return K_OK;
}

int pmmFree(PmmName* name) noexcept {
  if (name == nullptr) return K_EINVAL;
  auto* p = self();
  if (p == nullptr) return not_attached();
  auto r = p->bank().free(name_of(*name));
  return r ? K_OK : to_k(r.error());
}

int pmmFreeAll(const void* key, unsigned long keysize) noexcept {
  if (key == nullptr) return K_EINVAL;
  auto* p = self();
  if (p == nullptr) return not_attached();
  auto r = p->bank().free_all(std::string_view(static_cast<const char*>(key), keysize));
  return r ? K_OK : to_k(r.error());
}

void hrExitHandler(void) noexcept {
  if (auto* p = self()) p->mark_clean_exit();
  std::fflush(nullptr);
}

const char* hrGroupKey(void) noexcept {
  static group_key k(0);
  if (auto* p = self()) k = p->key();
  return k.bytes;
}

unsigned long hrGroupKeySize(void) noexcept {
  auto* p = self();
  return p != nullptr ? p->key().size : group_key(0).size;
}

int hrfexecve(const char* baseName, const char* path, char* const argv[],
              char* const envp[]) noexcept {
  (void)envp;
  auto* p = self();
  if (p == nullptr) return K_EPRIV;
  if (baseName == nullptr || path == nullptr) return K_EINVAL;
  std::vector<std::string> args;
  for (std::size_t i = 0; argv != nullptr && argv[i] != nullptr; ++i) args.emplace_back(argv[i]);
  if (args.empty()) args.emplace_back(path);
  auto r = p->spawn_indirect(baseName, path, args);
  if (r.status == posix::request_ok) return r.pid;
  std::fprintf(stderr, "hrfexec %s: %s\n", baseName, r.message.c_str());
  if (r.status == posix::request_bad_program || r.status == posix::request_unknown)
    return K_EUNKNOWN;
  if (r.status == posix::request_refused) return K_EPRIV;
  return K_EFAIL;
}

int hrfexecl(const char* baseName, const char* path, const char* arg0, ...) noexcept {
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

int hrKillGroup(int gid) noexcept {
  auto* p = self();
  if (p == nullptr) return not_attached();
  if (gid < 0) return K_EINVAL;
  posix::request_in in;
  in.kind = posix::req_kill_group;
  in.gid = static_cast<std::uint32_t>(gid);
  auto r = posix::submit_request(p->bank(), p->runtime(), in, 30000);
  if (!r) return K_EFAIL;
  return r->status == posix::request_ok        ? K_OK
         : r->status == posix::request_unknown ? K_EUNKNOWN
                                               : K_EFAIL;
}

int hrGetActorGroup(KnCap* actor) noexcept {
  auto* p = self();
  if (p == nullptr) return not_attached();
  if (actor == nullptr || actor->pid == ::getpid()) return static_cast<int>(p->group());
  const auto& rt = p->runtime();
  for (std::uint32_t id = 0; id < rt.max_processes(); ++id) {
    const auto* s = rt.proc(id);
    if (posix::load(s->pid) == actor->pid) return static_cast<int>(s->gid);
  }
  return K_EUNKNOWN;
}

}  // extern "C"
