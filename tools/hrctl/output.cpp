// SPDX-License-Identifier: MIT
#include "output.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace hrctl {

namespace {
// Never blocks the supervisor for long: a reader that stops reading (a full pipe) must not stop
// it from restarting crashed members. Chunks of at most PIPE_BUF once poll() says the fd is
// writable (a pipe then has room for them); after 100 ms without room the rest is dropped.
void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    pollfd pf{fd, POLLOUT, 0};
    const int r = ::poll(&pf, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || (pf.revents & (POLLERR | POLLNVAL)) != 0) return;
    const ssize_t w = ::write(fd, p, std::min<std::size_t>(n, PIPE_BUF));
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) return;  // the reader went away: the output is lost, the member is not
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void close_if(int fd) {
  if (fd >= 0) ::close(fd);
}
}  // namespace

void output_relay::listen(const std::string& bank_path, bool light) {
  light_ = light;
  if (light) return;
  std::string why;
  relay_fd_ = relay_listen(bank_path, why);
  if (relay_fd_ < 0)
    log_("note: no output relay for delegated runs (%s): their output comes here", why.c_str());
}

void output_relay::finish(const std::string& bank_path) {
  for (out_stream& st : streams_)
    if (st.fd >= 0) pump(st, true);
  for (out_stream& st : streams_)
    if (st.fd >= 0 && !st.partial.empty()) {  // a writer is still alive: flush what we have
      const std::string out = st.prefix + st.partial + "\n";
      write_all(st.dest, out.data(), out.size());
      st.partial.clear();
    }
  if (relay_fd_ >= 0) {
    relay_unlink(bank_path);
    ::close(relay_fd_);
    relay_fd_ = -1;
  }
}

// Accepts the waiting relay connections and reads the offers that have arrived (never blocks).
// An offer from a user who may not use this bank is refused and logged.
void output_relay::accept() {
  if (relay_fd_ < 0) return;
  for (;;) {
    const int c = ::accept4(relay_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) break;
    conns_.push_back(c);
    if (conns_.size() > 4 * request_slots) {  // connected, never offered anything
      ::close(conns_.front());
      conns_.erase(conns_.begin());
    }
  }
  for (auto it = conns_.begin(); it != conns_.end();) {
    relay_offer o;
    std::string why;
    const int got = relay_read(*it, o, why);
    if (got == 0) {
      ++it;
      continue;
    }
    ::close(*it);
    it = conns_.erase(it);
    if (got < 0) continue;
    if (o.uid != ::geteuid() && o.uid != 0) {  // (the socket is ours, 0600: as the docs say)
      log_("refused an output relay from pid %d: uid %u may not use this bank", o.pid,
           static_cast<unsigned>(o.uid));
      ::close(o.out);
      ::close(o.err);
      continue;
    }
    offers_.push_back(o);
  }
  while (offers_.size() > 2 * request_slots) {  // never matched: their requests went away
    ::close(offers_.front().out);
    ::close(offers_.front().err);
    offers_.erase(offers_.begin());
  }
}

// The output offered for mailbox slot `slot` by the process that posted its request (pid
// `requester`, as the kernel saw it connect).
bool output_relay::take(std::uint32_t slot, int requester, proc_out& into) {
  accept();
  for (auto it = offers_.begin(); it != offers_.end(); ++it)
    if (it->slot == slot && it->pid == requester) {
      into.out = it->out;
      into.err = it->err;
      offers_.erase(it);
      return true;
    }
  return false;
}

void output_relay::assign(std::uint32_t id, std::uint32_t gid, const proc_out* from) {
  if (from == nullptr) return;
  proc_out o{from->out >= 0 ? ::fcntl(from->out, F_DUPFD_CLOEXEC, 3) : -1,
             from->err >= 0 ? ::fcntl(from->err, F_DUPFD_CLOEXEC, 3) : -1, from->prefix, gid};
  if (auto it = outs_.find(id); it != outs_.end()) {
    close_if(it->second.out);
    close_if(it->second.err);
  }
  outs_[id] = o;
}

const proc_out* output_relay::of(std::uint32_t id) const {
  auto it = outs_.find(id);
  return it == outs_.end() ? nullptr : &it->second;
}

void output_relay::drop_group(std::uint32_t gid) {
  for (auto it = outs_.begin(); it != outs_.end();) {
    if (it->second.gid == gid) {
      close_if(it->second.out);
      close_if(it->second.err);
      it = outs_.erase(it);
    } else {
      ++it;
    }
  }
}

bool output_relay::prepare(std::uint32_t id, bool prefix_default, bool pipes_always, run_output& o,
                           std::string* err) {
  const proc_out* po = of(id);
  o.dest_out = po != nullptr && po->out >= 0 ? po->out : 1;
  o.dest_err = po != nullptr && po->err >= 0 ? po->err : 2;
  o.prefixed = po != nullptr ? po->prefix : prefix_default;
  if (!o.prefixed && !pipes_always) {
    o.child_out = o.dest_out != 1 ? o.dest_out : -1;
    o.child_err = o.dest_err != 2 ? o.dest_err : -1;
    return true;
  }
  int pout[2] = {-1, -1}, perr[2] = {-1, -1};
  if (::pipe2(pout, O_CLOEXEC) != 0 || ::pipe2(perr, O_CLOEXEC) != 0) {
    const int e = errno;
    for (int fd : {pout[0], pout[1], perr[0], perr[1]}) close_if(fd);
    if (err) *err = std::string("pipe: ") + std::strerror(e);
    return false;
  }
  o.child_out = pout[1];
  o.child_err = perr[1];
  o.read_out = pout[0];
  o.read_err = perr[0];
  return true;
}

void output_relay::started(run_output& o, int pid, const std::string& tag) {
  if (o.read_out < 0) return;  // no pipes: the child's ends are descriptors we keep
  ::close(o.child_out);
  ::close(o.child_err);
  if (pid < 0) {
    ::close(o.read_out);
    ::close(o.read_err);
    return;
  }
  const std::string prefix = o.prefixed ? tag : std::string();
  for (auto [fd, dest] : {std::pair{o.read_out, o.dest_out}, std::pair{o.read_err, o.dest_err}}) {
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    streams_.push_back(out_stream{fd, dest, prefix, {}});
  }
}

void output_relay::tee(std::uint32_t gid, std::string_view line) {
  std::vector<std::pair<dev_t, ino_t>> done;
  const std::string text = "hrctl: " + std::string(line) + "\n";
  for (const auto& [id, o] : outs_) {
    struct stat st;
    if (o.gid != gid || o.err < 0 || ::fstat(o.err, &st) != 0) continue;
    if (std::find(done.begin(), done.end(), std::pair{st.st_dev, st.st_ino}) != done.end())
      continue;
    done.emplace_back(st.st_dev, st.st_ino);
    write_all(o.err, text.data(), text.size());
  }
}

void output_relay::add_pollfds(std::vector<pollfd>& fds) const {
  for (const out_stream& st : streams_) fds.push_back({st.fd, POLLIN, 0});
  if (relay_fd_ >= 0 && !light_) fds.push_back({relay_fd_, POLLIN, 0});
}

bool output_relay::on_poll(const pollfd* fds) {
  bool knocked = false;
  const std::size_t n = streams_.size();
  for (std::size_t k = 0; k < n; ++k)
    if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0) pump(streams_[k], false);
  if (relay_fd_ >= 0 && !light_ && (fds[n].revents & POLLIN) != 0) {
    accept();
    knocked = true;
  }
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](const out_stream& st) { return st.fd < 0; }),
                 streams_.end());
  return knocked;
}

// Reads what a run wrote and writes it on, each complete line prefixed. At EOF (every writer
// gone), or when `to_eof` is false and nothing more is there, returns; at EOF a last partial line
// is written with a newline added, and the stream is closed (fd = -1).
void output_relay::pump(out_stream& s, bool to_eof) {
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !to_eof) return;
    if (n < 0 && errno == EAGAIN) return;  // a writer (a grandchild?) still holds it: later
    if (n > 0) {
      s.partial.append(buf, static_cast<std::size_t>(n));
      std::string out;
      std::size_t start = 0;
      for (std::size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        out += s.prefix;
        out.append(s.partial, start, nl + 1 - start);
      }
      s.partial.erase(0, start);
      if (!out.empty()) write_all(s.dest, out.data(), out.size());
      continue;
    }
    // EOF or an error: the last partial line, then the stream is done.
    if (!s.partial.empty()) {
      const std::string out = s.prefix + s.partial + "\n";
      write_all(s.dest, out.data(), out.size());
      s.partial.clear();
    }
    ::close(s.fd);
    s.fd = -1;
    return;
  }
}

}  // namespace hrctl
