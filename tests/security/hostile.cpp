// SPDX-License-Identifier: MIT
// The other user of tests/security: writes into a bank straight through its own mapping of the
// file (a raw mmap, no owner or permission check: the library's backends would refuse a bank
// that is not this user's), as anyone who can write the file could.
//
//   hostile request BANK OWNER_UID KIND GROUP NAME [PROGRAM [--listen PORT]]
//       posts a request (KIND: upgrade | run | kill | reload) into the bank's mailbox and prints the
//       answer's status and message; exit 0 if it was answered
//   hostile ready BANK OWNER_UID
//       exits 0 once a request waits in the mailbox (ready, not yet taken), 1 after 60 s
//   hostile forge-supervisor BANK OWNER_UID PID
//       makes the bank name PID as its supervisor, and holds the supervisor lock (an OFD lock on
//       byte 0 of the file) until killed, so that every hrctl takes the bank for supervised
//   hostile forge-pid BANK OWNER_UID GROUP PID
//       makes group GROUP's first member record name process PID (pid and start time), as if
//       it were that member's run
//
// OWNER_UID is unused (kept so that the command lines name whose bank is attacked).
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <hotrestart/posix/mailbox.hpp>

using namespace hotrestart;
using namespace hotrestart::posix;

namespace {
// The bank's own robust mutex, in its lock area (posix_lock.hpp's layout).
struct area_mutex {
  static pthread_mutex_t* m(std::byte* a) { return reinterpret_cast<pthread_mutex_t*>(a); }
  static void init(std::byte* a) { (void)hotrestart::detail::init_robust_mutex(a); }
  static result<lock_outcome> lock(std::byte* a) {
    const int rc = pthread_mutex_lock(m(a));
    if (rc == EOWNERDEAD) return lock_outcome::owner_died;
    if (rc != 0) return fail(errc::lock_failed, "lock");
    return lock_outcome::acquired;
  }
  static void repaired(std::byte* a) { pthread_mutex_consistent(m(a)); }
  static void unlock(std::byte* a) { pthread_mutex_unlock(m(a)); }
};
using raw_bank = basic_bank<basic_span_backend<area_mutex>>;
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fputs("usage: hostile request|forge-pid BANK OWNER_UID ...\n", stderr);
    return 2;
  }
  const std::string mode = argv[1];
  const int fd = ::open(argv[2], O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::printf("cannot open %s for writing: %s\n", argv[2], std::strerror(errno));
    return 3;
  }
  void* map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return 3;
  auto bank = raw_bank::open(
      std::span<std::byte>(static_cast<std::byte*>(map), static_cast<std::size_t>(st.st_size)));
  if (!bank) {
    std::printf("not a bank: %s\n", describe(bank.error()).text);
    return 3;
  }
  auto view = attach_runtime(*bank);  // the runtime block and its extension block
  if (!view) {
    std::printf("no runtime block: %s\n", describe(view.error()).text);
    return 3;
  }
  struct {
    raw_bank& bank;
    runtime_view rt;
  } a_{*bank, *view};
  auto* a = &a_;
  if (mode == "ready") {
    for (int i = 0; i < 6000; ++i) {
      for (std::uint32_t k = 0; k < request_slots; ++k)
        if (load(a->rt.request(k)->state) == req_ready) return 0;
      sleep_ms(10);
    }
    return 1;
  }
  if (mode == "forge-supervisor" && argc == 5) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
      std::printf("cannot take the supervisor lock: %s\n", std::strerror(errno));
      return 4;
    }
    const int pid = std::atoi(argv[4]);
    store(a->rt.header().supervisor_pid, static_cast<std::int32_t>(pid));
    store(a->rt.header().supervisor_start, process_start_time(pid));
    std::printf("supervisor forged: pid %d\n", pid);
    std::fflush(stdout);
    for (;;) ::pause();
  }
  if (mode == "forge-pid" && argc == 6) {
    const auto gid = static_cast<std::uint32_t>(std::strtoul(argv[4], nullptr, 10));
    const int pid = std::atoi(argv[5]);
    for (std::uint32_t id = 0; id < a->rt.max_processes(); ++id) {
      proc_slot* s = a->rt.proc(id);
      if (s->gid != gid || s->handle == 0) continue;
      store(s->pid, static_cast<std::int32_t>(pid));
      store(s->start_time, process_start_time(pid));
      std::printf("process record %u now names pid %d\n", id, pid);
      return 0;
    }
    std::puts("no member record of that group");
    return 4;
  }
  if (mode != "request" || argc < 7) return 2;
  const std::string kind = argv[4];
  request_in in;
  in.kind = kind == "upgrade"  ? req_upgrade
            : kind == "run"    ? req_run_direct
            : kind == "reload" ? req_reload
                               : req_kill_group;
  in.gid = static_cast<std::uint32_t>(std::strtoul(argv[5], nullptr, 10));
  in.name = argv[6];
  program_file f;
  if (argc >= 8) {
    if (open_program(argv[7], f) != program_problem::none) {
      std::printf("cannot read %s\n", argv[7]);
      return 2;
    }
    in.program = &f;
    in.argv = {argv[7]};
    in.flags = group_exit0_clean;
  }
  if (argc >= 10 && std::strcmp(argv[8], "--listen") == 0) {
    listen_record r{};
    r.family = AF_INET;
    r.port = static_cast<std::uint16_t>(std::atoi(argv[9]));
    r.addr[0] = 127;
    r.addr[3] = 1;
    in.listen.push_back(r);
  }
  auto r = submit_request(a->bank, a->rt, in, 10000);
  if (!r) {
    std::printf("no answer: %s\n", describe(r.error()).text);
    return 5;
  }
  std::printf("answer %d: %s\n", r->status, r->message.c_str());
  return 0;
}
