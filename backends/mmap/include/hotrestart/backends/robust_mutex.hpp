// SPDX-License-Identifier: MIT
// A robust, process-shared mutex that users place inside their own blocks: the same owner-death
// recovery the bank's own lock has. POSIX only (a pthread robust mutex).
//
//   struct shared { hotrestart::robust_mutex m; int balance; };
//   auto blk = bank->find_or_create("account", sizeof(shared));
//   auto* s = reinterpret_cast<shared*>(blk->data);
//   if (blk->created) s->m.init();                 // once, when the block is new
//   auto g = s->m.lock();
//   if (!g) ...                                     // lock_failed (e.g. never initialised)
//   if (g->owner_died()) { repair(*s); g->mark_consistent(); }
//   s->balance += 1;                                // unlocked when `g` goes out of scope
//
// The layout is fixed (64 bytes, trivially copyable, no pointers), so it can live in a bank
// and be found again after a restart. Zero bytes (a block just created) are "not initialised"
// and lock() refuses them. A bank kept on disk across a reboot may hold a mutex locked by a
// process of the previous boot: call init() again at startup, while no other process uses it.
// If the previous owner died and the caller unlocks without mark_consistent(), the mutex
// becomes unusable (every later lock fails with lock_failed), as POSIX specifies: data that
// was not repaired stays fenced off.
#ifndef HOTRESTART_BACKENDS_ROBUST_MUTEX_HPP
#define HOTRESTART_BACKENDS_ROBUST_MUTEX_HPP

#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <hotrestart/error.hpp>

namespace hotrestart {

class robust_mutex;

/// Holds a robust_mutex; unlocks it when destroyed.
class robust_lock {
 public:
  robust_lock(robust_lock&& o) noexcept : m_(std::exchange(o.m_, nullptr)), died_(o.died_) {}
  robust_lock& operator=(robust_lock&&) = delete;
  ~robust_lock() { unlock(); }

  /// True when the previous owner died holding the lock: the protected data may be half
  /// updated. Repair it, then call mark_consistent().
  bool owner_died() const { return died_; }
  /// Declares the protected data repaired (pthread_mutex_consistent).
  void mark_consistent();
  void unlock();

 private:
  friend class robust_mutex;
  robust_lock(robust_mutex* m, bool died) : m_(m), died_(died) {}
  robust_mutex* m_;
  bool died_;
};

/// A mutex for inside a block. Zero-filled bytes are "not initialised": call init() once, when
/// the block is created (block::created), before any process locks it.
class robust_mutex {
 public:
  static constexpr std::uint32_t stamp_value = 0x584D5255u;  // "URMX"

  /// Initialises the mutex in place. Returns lock_failed with the errno on failure.
  [[nodiscard]] result<void> init() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    std::memset(storage_, 0, sizeof storage_);
    const int rc = pthread_mutex_init(native(), &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0)
      return tl::unexpected(
          error(errc::lock_failed, "cannot initialise a robust mutex").with_errno(rc));
    stamp_ = stamp_value;
    native_size_ = static_cast<std::uint32_t>(sizeof(pthread_mutex_t));
    return {};
  }

  /// True when init() ran on these bytes with this C library's mutex size.
  bool initialised() const {
    return stamp_ == stamp_value && native_size_ == sizeof(pthread_mutex_t);
  }

  /// Takes the mutex. `owner_died()` on the guard says whether the previous owner died holding
  /// it. Errors: lock_failed (not initialised, or unrecoverable because an earlier owner-death
  /// was not marked consistent; errno in the error).
  [[nodiscard]] result<robust_lock> lock() {
    if (!initialised()) return fail(errc::lock_failed, "robust mutex not initialised");
    const int rc = pthread_mutex_lock(native());
    if (rc == 0) return robust_lock(this, false);
    if (rc == EOWNERDEAD) return robust_lock(this, true);
    return tl::unexpected(error(errc::lock_failed, "cannot take a robust mutex").with_errno(rc));
  }

  /// Like lock(), but returns lock_failed with EBUSY at once when another owner holds it.
  [[nodiscard]] result<robust_lock> try_lock() {
    if (!initialised()) return fail(errc::lock_failed, "robust mutex not initialised");
    const int rc = pthread_mutex_trylock(native());
    if (rc == 0) return robust_lock(this, false);
    if (rc == EOWNERDEAD) return robust_lock(this, true);
    return tl::unexpected(error(errc::lock_failed, "cannot take a robust mutex").with_errno(rc));
  }

 private:
  friend class robust_lock;
  pthread_mutex_t* native() { return reinterpret_cast<pthread_mutex_t*>(storage_); }

  alignas(8) unsigned char storage_[56] = {};
  std::uint32_t stamp_ = 0;
  std::uint32_t native_size_ = 0;
};

static_assert(sizeof(pthread_mutex_t) <= 56, "pthread_mutex_t does not fit robust_mutex");
static_assert(sizeof(robust_mutex) == 64);
static_assert(std::is_trivially_copyable_v<robust_mutex>);
static_assert(std::is_standard_layout_v<robust_mutex>);

inline void robust_lock::mark_consistent() {
  if (m_ != nullptr && died_) {
    pthread_mutex_consistent(m_->native());
    died_ = false;
  }
}

inline void robust_lock::unlock() {
  if (m_ != nullptr) pthread_mutex_unlock(std::exchange(m_, nullptr)->native());
}

}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_ROBUST_MUTEX_HPP
