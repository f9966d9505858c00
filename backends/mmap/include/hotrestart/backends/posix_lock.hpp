// SPDX-License-Identifier: MIT
// The bank's writer lock for the POSIX backends (mmap file, shared memory): a robust,
// process-shared pthread mutex in the header's lock area, stamped with the C library's mutex
// size and the boot it was made in, so that a mutex of another boot (a disk bank after a
// reboot) or another C library is made again instead of trusted.
#ifndef HOTRESTART_BACKENDS_POSIX_LOCK_HPP
#define HOTRESTART_BACKENDS_POSIX_LOCK_HPP

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>  // FUTEX_TID_MASK
#endif

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <hotrestart/bank_format.hpp>
#include <hotrestart/detail/words.hpp>
#include <hotrestart/error.hpp>

namespace hotrestart::detail {
// Layout of the lock area for this backend (opaque to the format).
inline constexpr std::size_t pmutex_bytes = 64;
inline constexpr std::uint32_t pmutex_stamp = 0x584D5450u;  // "PTMX"
static_assert(sizeof(pthread_mutex_t) <= pmutex_bytes);
static_assert(bank_format::lock_area % alignof(pthread_mutex_t) == 0);
inline constexpr std::size_t boot_id_offset = 72, boot_id_bytes = 36;
// How long a writer watches a held mutex before it sleeps on it (lock_robust_mutex).
inline constexpr int spin_pauses = 2000;
static_assert(boot_id_offset + boot_id_bytes <= bank_format::lock_area_bytes);

// The kernel's id of this boot: a mutex left locked by a previous boot is garbage. Read once
// per process (a process never outlives its boot), so that opening a bank costs no extra file.
//
// HR_TEST_BOOT_ID, for tests only: this process claims that boot id instead (its first 36
// bytes). Tests use it to play a second node (another kernel) on one machine: a mutex locked
// under another id is made again, as on a node that takes over a shared disk's bank. Never set
// it otherwise: a process of this boot that claims another id would make a live mutex again.
struct boot_id {
  char text[boot_id_bytes] = {};
  boot_id() {
    if (const char* t = std::getenv("HR_TEST_BOOT_ID"); t != nullptr && *t != '\0') {
      for (std::size_t i = 0; i < boot_id_bytes && t[i] != '\0'; ++i) text[i] = t[i];
      return;
    }
    const int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const ssize_t n = ::read(fd, text, sizeof text);
    (void)n;
    ::close(fd);
  }
};
inline const char* this_boot() {
  static const boot_id id;
  return id.text;
}

inline int init_robust_mutex(std::byte* area) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  std::memset(area, 0, bank_format::lock_area_bytes);
  const int rc = pthread_mutex_init(reinterpret_cast<pthread_mutex_t*>(area), &attr);
  pthread_mutexattr_destroy(&attr);
  const std::uint32_t stamp[2] = {pmutex_stamp,
                                  static_cast<std::uint32_t>(sizeof(pthread_mutex_t))};
  std::memcpy(area + pmutex_bytes, stamp, sizeof stamp);
  std::memcpy(area + boot_id_offset, this_boot(), boot_id_bytes);
  return rc;
}

inline bool robust_mutex_current(const std::byte* area) {
  std::uint32_t stamp[2];
  std::memcpy(stamp, area + pmutex_bytes, sizeof stamp);
  return stamp[0] == pmutex_stamp && stamp[1] == sizeof(pthread_mutex_t) &&
         std::memcmp(area + boot_id_offset, this_boot(), boot_id_bytes) == 0;
}

/// Takes the bank's robust mutex; pthread_mutex_lock's answers (0, EOWNERDEAD, ...). A bank's
/// critical sections are short (a create or a free: a few hundred nanoseconds), so a mutex
/// another process holds is first waited for by watching its owner word, a bounded number of
/// pauses (a few microseconds), and taken when it reads free. Sleeping in the kernel at once
/// costs a futex wait here and a wake in the holder's unlock, microseconds on each side: with
/// two writers the pair rate fell to a third of one writer's. A holder that died is found by
/// the first trylock after the kernel cleared its id from the word (EOWNERDEAD), and one that
/// is preempted is slept on once the pauses run out.
inline int lock_robust_mutex(pthread_mutex_t* m) {
  int rc = pthread_mutex_trylock(m);
  if (rc != EBUSY) return rc;
#if defined(__GLIBC__) && defined(__linux__)
  // With one CPU the holder cannot run while we watch: sleep at once.
  static const bool one_cpu = ::sysconf(_SC_NPROCESSORS_ONLN) <= 1;
  // glibc keeps the owner's thread id in the first word's low bits, beside the kernel's flags
  // (waiters; owner died, which the kernel sets as it clears the id of a dead owner). No id:
  // free, or its owner died: the trylock takes it either way (0 or EOWNERDEAD).
  std::atomic_ref<int> word(m->__data.__lock);
  for (int pauses = 0; !one_cpu && pauses < spin_pauses; ++pauses) {
    if ((static_cast<unsigned>(word.load(std::memory_order_relaxed)) & FUTEX_TID_MASK) == 0) {
      rc = pthread_mutex_trylock(m);
      if (rc != EBUSY) return rc;
    }
    cpu_relax();
  }
#endif
  return pthread_mutex_lock(m);
}

inline tl::unexpected<error> sys_fail(errc c, const char* msg, int e) {
  return tl::unexpected(error(c, msg).with_errno(e));
}

/// Makes the mutex in `area` again if it is from another boot or another C library, under
/// flock on `fd` so that two openers do not both do it (the mmap file's and the shm object's
/// open, once the header is known to be a bank's).
[[nodiscard]] inline result<void> adopt_robust_mutex(int fd, std::byte* area) {
  if (robust_mutex_current(area)) return {};
  ::flock(fd, LOCK_EX);
  int rc = 0;
  if (!robust_mutex_current(area)) rc = init_robust_mutex(area);
  ::flock(fd, LOCK_UN);
  if (rc != 0) return sys_fail(errc::lock_failed, "cannot initialise the bank's mutex", rc);
  return {};
}
}  // namespace hotrestart::detail

#endif  // HOTRESTART_BACKENDS_POSIX_LOCK_HPP
