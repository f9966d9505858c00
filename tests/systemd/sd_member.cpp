// SPDX-License-Identifier: MIT
// The member and the client of the systemd tests (tests/systemd/).
//
// Member (run by hrctl, LISTEN_FDS=1: the listening socket is fd 3): counts its runs and the
// requests it served in a group-keyed block (so both survive a restart of the member and of
// hrctl), declares itself ready, heart-beats every 100 ms, and answers each connection's line:
//   crash  -> dies by SIGSEGV (hrctl restarts its group hot)
//   hang   -> stops heart-beating and answering (hrctl's --heartbeat deadline restarts it)
//   other  -> "pid=P runs=R served=S\n", served counted first
// Arguments: NAME [READY_DELAY_MS [crash]]: serves from its start, ready (process::ready())
// only after the delay;
// "crash": dies by SIGSEGV when the delay is up, never ready (a group that keeps crashing).
// On SIGTERM it writes "NAME stopped gracefully" to stdout (the journal) and exits 0 (without
// the clean-exit call, so that its state stays for the next start).
//
// Client: sd_member --client PORT LINE      one request; prints the answer; exit 1 if refused
//         sd_member --loop PORT STOPFILE     connects and asks until STOPFILE exists, then prints
//                                            "ok=N refused=M failed=K" (refused: ECONNREFUSED)
//         sd_member --recover PORT PID NEW   SIGKILLs PID, prints the microseconds until a request
//                                            is answered again (NEW=1: by another pid)
// Standalone (not under hrctl: no HR_BANK) the counters live in the process (bench/systemd.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <hotrestart/posix/process.hpp>

using namespace hotrestart;

namespace {
volatile sig_atomic_t g_term = 0;
void on_term(int) {
  g_term = 1;
}

struct counters {
  std::uint64_t runs;
  std::uint64_t served;
};

// Connects to 127.0.0.1:PORT; -1 with errno on failure.
int connect_to(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(s);
    errno = e;
    return -1;
  }
  return s;
}

// Sends LINE, reads the answer into OUT until EOF; false on any error.
bool ask(int s, const std::string& line, std::string& out) {
  const std::string msg = line + "\n";
  if (::write(s, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return false;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(s, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return !out.empty();
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::uint64_t now_us() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(t.tv_nsec) / 1000u;
}

// --recover: asks once (the pid that answers), SIGKILLs VICTIM, then asks every 0.5 ms until an
// answer comes (NEW=1: from another pid than before); prints the microseconds from the kill.
int recover(int port, pid_t victim, bool want_new) {
  std::string first;
  const int s0 = connect_to(port);
  if (s0 < 0 || !ask(s0, "hello", first)) return 2;
  ::close(s0);
  const std::string old_pid = first.substr(0, first.find(' '));
  const std::uint64_t t0 = now_us();
  if (::kill(victim, SIGKILL) != 0) return 3;
  for (;;) {
    const int s = connect_to(port);
    std::string out;
    if (s >= 0 && ask(s, "hello", out) && (!want_new || out.substr(0, out.find(' ')) != old_pid)) {
      std::printf("%llu\n", static_cast<unsigned long long>(now_us() - t0));
      return 0;
    }
    if (s >= 0) ::close(s);
    if (now_us() - t0 > 60000000u) return 4;
    ::usleep(500);
  }
}

int client(int port, const std::string& line) {
  const int s = connect_to(port);
  if (s < 0) {
    std::printf("connect: %s\n", std::strerror(errno));
    return 1;
  }
  std::string out;
  const bool ok = ask(s, line, out);
  ::close(s);
  std::printf("%s", out.c_str());
  return ok ? 0 : 2;
}

int loop(int port, const std::string& stop_file) {
  unsigned long ok = 0, refused = 0, failed = 0;
  while (::access(stop_file.c_str(), F_OK) != 0) {
    const int s = connect_to(port);
    if (s < 0) {
      if (errno == ECONNREFUSED)
        ++refused;
      else
        ++failed;
      ::usleep(2000);
      continue;
    }
    std::string out;
    if (ask(s, "hello", out))
      ++ok;
    else
      ++failed;
    ::close(s);
    ::usleep(2000);
  }
  std::printf("ok=%lu refused=%lu failed=%lu\n", ok, refused, failed);
  return 0;
}

// Reads one line from a connection (a short deadline: a silent client is dropped).
std::string read_line(int c) {
  std::string line;
  char ch = 0;
  pollfd p{c, POLLIN, 0};
  while (line.size() < 64 && ::poll(&p, 1, 1000) == 1 && ::read(c, &ch, 1) == 1 && ch != '\n')
    line += ch;
  return line;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--client") return client(std::atoi(argv[2]), argv[3]);
  if (argc == 4 && std::string(argv[1]) == "--loop") return loop(std::atoi(argv[2]), argv[3]);
  if (argc == 5 && std::string(argv[1]) == "--recover")
    return recover(std::atoi(argv[2]), static_cast<pid_t>(std::atol(argv[3])), argv[4][0] == '1');

  const char* fds = std::getenv("LISTEN_FDS");
  if (fds == nullptr || std::atoi(fds) < 1) {
    std::fprintf(stderr, "sd_member: no listening socket (LISTEN_FDS)\n");
    return 97;
  }
  // Under hrctl the counters live in a group-keyed block of the bank. Standalone (no HR_BANK:
  // the benchmark's plain Restart=always unit) they live in this process and die with it.
  counters local{};
  counters* c = &local;
  auto self = posix::process::attach();
  if (self) {
    auto b = self->bank().find_or_create("sd-" + std::to_string(self->id()), sizeof(counters),
                                         self->key());
    if (!b) {
      std::fprintf(stderr, "sd_member: %s\n", describe(b.error()).text);
      return 98;
    }
    c = reinterpret_cast<counters*>(b->data);
  } else if (std::getenv("HR_BANK") != nullptr) {
    std::fprintf(stderr, "sd_member: %s\n", describe(self.error()).text);
    return 99;
  }
  ++c->runs;
  const std::string name = argc > 1 ? argv[1] : "sd_member";
  std::printf("%s run %llu served %llu restarted=%d\n", name.c_str(),
              static_cast<unsigned long long>(c->runs), static_cast<unsigned long long>(c->served),
              self && self->restarted() ? 1 : 0);
  std::fflush(stdout);

  struct sigaction sa {};
  sa.sa_handler = on_term;
  ::sigaction(SIGTERM, &sa, nullptr);

  // It serves from its start; it declares itself ready (process::ready(), where this hrctl
  // has it; else hrctl's --ready-after delay stands in) only after READY_DELAY_MS, so a test
  // sees a service that answers and is still activating. "crash": dies when the delay is up.
  const long delay_ms = argc > 2 ? std::atol(argv[2]) : 0;
  const bool crash_at_ready = argc > 3 && std::string(argv[3]) == "crash";
  const std::uint64_t ready_at = (now_us() / 1000) + static_cast<std::uint64_t>(delay_ms);
  bool ready = false;
  auto become_ready = [&] {
    if (ready || (now_us() / 1000) < ready_at) return;
    ready = true;
    if (crash_at_ready) {
      std::fflush(nullptr);
      ::raise(SIGSEGV);
    }
    if (self)
      [](auto& p) {
        if constexpr (requires { p.ready(); }) p.ready();
      }(*self);
  };
  become_ready();

  while (g_term == 0) {
    if (self) self->heartbeat();
    become_ready();
    pollfd p{3, POLLIN, 0};
    if (::poll(&p, 1, ready ? 100 : 10) != 1) continue;
    const int conn = ::accept4(3, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    const std::string line = read_line(conn);
    if (line == "crash") {
      ::close(conn);
      std::fflush(nullptr);
      ::raise(SIGSEGV);
    }
    if (line == "hang") {
      ::close(conn);
      for (;;) ::pause();  // no heartbeat any more: hrctl's deadline decides
    }
    ++c->served;
    char msg[96];
    const int n = std::snprintf(msg, sizeof msg, "pid=%d runs=%llu served=%llu\n", ::getpid(),
                                static_cast<unsigned long long>(c->runs),
                                static_cast<unsigned long long>(c->served));
    (void)::write(conn, msg, static_cast<std::size_t>(n));
    ::close(conn);
  }
  std::printf("%s stopped gracefully (served %llu)\n", name.c_str(),
              static_cast<unsigned long long>(c->served));
  std::fflush(stdout);
  // Not exit_cleanly(): that would end the group and free its state. A plain exit during
  // hrctl's graceful stop leaves the group held with its blocks, resumed at the next start.
  return 0;
}
