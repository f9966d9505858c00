// SPDX-License-Identifier: MIT
#include "rescue.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.hpp"

namespace hrctl {

namespace {
constexpr std::string_view image_prefix = "/memfd:hr:";

std::string link_of(const std::string& path) {
  char buf[512];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// "/memfd:hr:NAME (deleted)" -> NAME
bool image_name(const std::string& target, std::string* name) {
  if (!target.starts_with(image_prefix)) return false;
  if (name != nullptr) {
    std::string n = target.substr(image_prefix.size());
    if (const auto sp = n.rfind(" (deleted)"); sp != std::string::npos) n.erase(sp);
    *name = n;
  }
  return true;
}

// The HR_BANK and HR_GROUP of process `pid` (false if it has none or they cannot be read).
bool member_env(int pid, std::string& bank, std::uint32_t& gid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/environ";
  const fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) return false;
  std::string env;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd.fd, buf, sizeof buf)) > 0 && env.size() < (1u << 20);)
    env.append(buf, static_cast<std::size_t>(n));
  bool have_bank = false, have_group = false;
  for (std::size_t at = 0; at < env.size();) {
    std::size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    const std::string_view v(env.data() + at, end - at);
    if (v.starts_with("HR_BANK=")) {
      bank = std::string(v.substr(8));
      have_bank = true;
    } else if (v.starts_with("HR_GROUP=")) {
      have_group = parse_u32(std::string(v.substr(9)), gid);
    }
    at = end + 1;
  }
  return have_bank && have_group;
}
}  // namespace

bool runs_bank_image(int pid, std::string* name) {
  const std::string proc = "/proc/" + std::to_string(pid);
  if (image_name(link_of(proc + "/exe"), name)) return true;
  // A script member: its interpreter reads the image from a descriptor (fd 99, see launcher).
  DIR* d = ::opendir((proc + "/fd").c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (image_name(link_of(proc + "/fd/" + e->d_name), name)) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

int open_image_pidfd(int pid, std::uint64_t start_time, const uid_t* uid) {
  const int fd = open_member_pidfd(pid, start_time, uid);
  if (fd >= 0 && !runs_bank_image(pid)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::vector<bank_process> find_bank_processes(const std::string& bank_path, uid_t uid) {
  std::vector<bank_process> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    std::uint32_t pid = 0;
    if (!parse_u32(e->d_name, pid) || pid == 0 || static_cast<int>(pid) == ::getpid()) continue;
    if (process_uid(static_cast<int>(pid)) != static_cast<long>(uid)) continue;
    std::string bank;
    bank_process p;
    p.pid = static_cast<int>(pid);
    if (!member_env(p.pid, bank, p.gid) || bank != bank_path) continue;
    if (!runs_bank_image(p.pid, &p.image)) continue;
    p.start_time = process_start_time(p.pid);
    if (p.start_time != 0) out.push_back(p);
  }
  ::closedir(d);
  return out;
}

int rescue_kill_group(const std::string& bank_path, uid_t uid, std::uint32_t gid,
                      const std::string& why) {
  std::fprintf(stderr,
               "hrctl kill: the bank is refused (%s); looking for the members of group %u among "
               "the processes of uid %u that run its images\n",
               why.c_str(), gid, static_cast<unsigned>(uid));
  unsigned killed = 0;
  for (const bank_process& p : find_bank_processes(bank_path, uid)) {
    if (p.gid != gid) continue;
    // The pidfd first, then the checks again: it is that process, still running an image.
    const fd_guard pfd(open_image_pidfd(p.pid, p.start_time, &uid));
    if (pfd.fd < 0) continue;
    if (signal_pidfd(pfd.fd, SIGKILL) == 0) {
      std::printf("killed %s (pid %d) of group %u\n", p.image.c_str(), p.pid, gid);
      ++killed;
    }
  }
  if (killed == 0) {
    std::fprintf(stderr, "hrctl kill: no member of group %u of %s is running\n", gid,
                 bank_path.c_str());
    return exit_unknown;
  }
  std::printf("%u member%s of group %u killed; the bank itself is left as it is\n", killed,
              killed == 1 ? "" : "s", gid);
  return exit_ok;
}

}  // namespace hrctl
