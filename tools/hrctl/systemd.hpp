// SPDX-License-Identifier: MIT
// The service manager's protocol, spoken directly (no libsystemd): sd_notify(3) datagrams to
// $NOTIFY_SOCKET (with descriptors for the fd store), the watchdog's $WATCHDOG_USEC, the
// sockets of $LISTEN_FDS/$LISTEN_FDNAMES, and $JOURNAL_STREAM. Outside a service (none of
// these set) every call here does nothing, so hrctl behaves as it always did.
//
// take_service_env() reads these variables once, at start, and removes NOTIFY_SOCKET,
// WATCHDOG_* and LISTEN_* from the environment, so the members hrctl starts inherit none of
// them (a member must not notify systemd as if it were the service, nor take hrctl's sockets).
#ifndef HRCTL_SYSTEMD_HPP
#define HRCTL_SYSTEMD_HPP

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hrctl {

/// One socket passed by the service manager (fds 3.. in order), with its name
/// ($LISTEN_FDNAMES; "unknown" when systemd gave none; the FDNAME= it was stored under for
/// fd-store entries).
struct passed_fd {
  int fd = -1;
  std::string name;
};

struct service_env {
  std::string notify_socket;        ///< $NOTIFY_SOCKET ("" = not under a notify service)
  std::uint64_t watchdog_usec = 0;  ///< $WATCHDOG_USEC meant for this process, 0 = no watchdog
  std::vector<passed_fd> fds;       ///< $LISTEN_FDS meant for this process (close-on-exec)
  bool journal_stderr = false;      ///< $JOURNAL_STREAM names this process's stderr
  bool under_service() const { return !notify_socket.empty(); }
};

/// Reads (once; later calls return the first result) and unsets the variables above.
const service_env& take_service_env();
/// The result of the first take_service_env() (empty if it was never called).
const service_env& service();

/// Sends `state` ("READY=1\nSTATUS=...") to the service manager. Returns false when not
/// under a notify service or the send failed (errno kept); never blocks.
bool sd_notify_state(std::string_view state);
/// The same with descriptors (SCM_RIGHTS), e.g. "FDSTORE=1\nFDNAME=listen-0".
bool sd_notify_fds(std::string_view state, std::span<const int> fds);

/// A message priority prefix for stderr ("<3>" for errors ... "<6>" for information) when
/// stderr is the journal, "" otherwise (sd-daemon(3)'s SD_ERR ... SD_INFO); always NUL-terminated.
enum class priority { err = 3, warning = 4, notice = 5, info = 6 };
std::string_view priority_prefix(priority p);

}  // namespace hrctl

#endif  // HRCTL_SYSTEMD_HPP
