// SPDX-License-Identifier: MIT
// A bank in POSIX shared memory, through Boost.Interprocess (`shared_memory_object` and
// `mapped_region`), with a robust process-shared mutex as the writer lock (the mmap backend's).
// Lives until it is removed or the machine reboots. Needs exceptions: Boost.Interprocess
// reports errors by throwing; this backend catches them and returns `result<T>` like the rest.
#ifndef HOTRESTART_BACKENDS_SHM_HPP
#define HOTRESTART_BACKENDS_SHM_HPP

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <hotrestart/backend.hpp>
#include <hotrestart/backends/file_trust.hpp>
#include <hotrestart/backends/posix_lock.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/bank_format.hpp>
#include <hotrestart/error.hpp>

namespace hotrestart {

namespace detail::shm {
namespace bip = boost::interprocess;

inline error from_boost(const bip::interprocess_exception& e, const char* what) {
  switch (e.get_error_code()) {
    case bip::not_found_error: return error(errc::not_found, "no shared memory bank of that name");
    case bip::already_exists_error:
      return error(errc::already_exists, "a shared memory object of that name exists");
    case bip::out_of_memory_error:
    case bip::out_of_space_error:
      return error(errc::io_error, "no room for the shared memory bank")
          .with_errno(e.get_native_error());
    default: return error(errc::io_error, what).with_errno(e.get_native_error());
  }
}

inline void sleep_1ms() {
  timespec ts{0, 1000000};
  ::nanosleep(&ts, nullptr);
}
}  // namespace detail::shm

/// A bank in a named POSIX shared memory object ("/name" or "name"). `create` makes the
/// object with mode 0600, sizes it, initialises the lock and formats the bank; if anything
/// fails the object is removed again. An opener that finds the object while its creator is
/// still formatting it (state word 0 or "initialising") waits up to `open_wait_ms` for the
/// bank to be ready; after that the bank's header check reports `creation_interrupted` (a
/// creator died: `remove` the object and create it again).
class shm_backend {
 public:
  /// The object's name, "/name" or "name" (as shm_open takes it).
  using location = const char*;
  /// An object that is there but holds no valid bank is reported, never formatted.
  static constexpr bool reformats_foreign_memory = false;
  /// How long `open` waits for a creator that is still formatting the object.
  static constexpr std::uint32_t open_wait_ms = 2000;

  /// The host's page size (Boost's `mapped_region::get_page_size()`).
  static std::uint32_t native_page_size() {
    return static_cast<std::uint32_t>(boost::interprocess::mapped_region::get_page_size());
  }

  /// Makes the object (mode 0600) of `bytes` bytes, initialises the lock, formats it with
  /// `init`; removes it again on any failure. Errors: already_exists, io_error (with errno:
  /// no room, permissions), lock_failed (the mutex), the formatter's.
  [[nodiscard]] static result<shm_backend> create(location name, std::uint64_t bytes,
                                                  region_init init) {
    namespace bip = boost::interprocess;
    if (name == nullptr || *name == '\0') return fail(errc::io_error, "empty shared memory name");
    bool made = false;
    try {
      bip::permissions owner_only(0600);
      bip::shared_memory_object shm(bip::create_only, name, bip::read_write, owner_only);
      made = true;
      shm.truncate(static_cast<bip::offset_t>(bytes));
      bip::mapped_region region(shm, bip::read_write, 0, static_cast<std::size_t>(bytes));
      auto* base = static_cast<std::byte*>(region.get_address());
      if (const int rc = detail::init_robust_mutex(base + bank_format::lock_area); rc != 0) {
        bip::shared_memory_object::remove(name);
        return fail(error(errc::lock_failed, "cannot initialise the bank's mutex").with_errno(rc));
      }
      if (auto r = init(base, bytes); !r) {
        bip::shared_memory_object::remove(name);
        return fail(r.error());
      }
      return shm_backend(std::move(region));
    } catch (const bip::interprocess_exception& e) {
      if (made) bip::shared_memory_object::remove(name);
      return fail(detail::shm::from_boost(e, "cannot create the shared memory bank"));
    }
  }

  /// Maps an existing object, waiting up to `open_wait_ms` for a creator still formatting it;
  /// a mutex of another boot or C library is made again. Errors: not_found, truncated (smaller
  /// than a header after the wait), io_error (with errno).
  [[nodiscard]] static result<shm_backend> open(location name) {
    namespace bip = boost::interprocess;
    if (name == nullptr || *name == '\0') return fail(errc::io_error, "empty shared memory name");
    try {
      bip::shared_memory_object shm(bip::open_only, name, bip::read_write);
      // Whoever can write the object owns the bank (docs/security.md): ours, 0600 or stricter.
      struct stat st;
      if (::fstat(shm.get_mapping_handle().handle, &st) != 0)
        return fail(error(errc::io_error, "cannot stat the shared memory bank").with_errno(errno));
      if (auto t = trust::check_file(st, ::geteuid(), name); !t) return fail(t.error());
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(open_wait_ms);
      for (;;) {
        bip::offset_t size = 0;
        if (!shm.get_size(size)) return fail(errc::io_error, "cannot size the shared memory bank");
        const bool late = std::chrono::steady_clock::now() >= deadline;
        if (static_cast<std::uint64_t>(size) < bank_format::header_size) {
          if (late)
            return fail(
                error(errc::truncated, "shared memory object too small to hold a bank header")
                    .with_minimum("bytes", static_cast<std::uint64_t>(size),
                                  bank_format::header_size));
          detail::shm::sleep_1ms();
          continue;
        }
        bip::mapped_region region(shm, bip::read_write);
        auto* base = static_cast<std::byte*>(region.get_address());
        const std::uint32_t state = detail::load32_acquire(base, bank_format::state);
        const bool creating = state == static_cast<std::uint32_t>(bank_state::initialising) ||
                              (state == 0 && detail::load32(base, bank_format::magic0) == 0);
        if (creating && !late) {
          detail::shm::sleep_1ms();
          continue;
        }
        // Adopt the lock as the mmap backend does: a mutex of another boot or libc is made
        // again (under flock), and only in an object that carries our magic.
        if (detail::load32(base, bank_format::magic0) == bank_format::magic0_value &&
            detail::load32(base, bank_format::magic1) == bank_format::magic1_value) {
          auto r = detail::adopt_robust_mutex(shm.get_mapping_handle().handle,
                                              base + bank_format::lock_area);
          if (!r) return fail(r.error());
        }
        return shm_backend(std::move(region));
      }
    } catch (const bip::interprocess_exception& e) {
      return fail(detail::shm::from_boost(e, "cannot open the shared memory bank"));
    }
  }

  /// Removes the named object (shm_unlink); mappings stay valid until they are closed.
  /// `not_found` if there is none.
  [[nodiscard]] static result<void> remove(location name) {
    if (!boost::interprocess::shared_memory_object::remove(name))
      return fail(errc::not_found, "no shared memory bank of that name");
    return {};
  }

  /// Moves the mapping (the moved-from backend maps nothing).
  shm_backend(shm_backend&&) noexcept = default;
  /// Moves the mapping, unmapping this one's.
  shm_backend& operator=(shm_backend&&) noexcept = default;

  /// The mapping's first byte (the bank's header).
  std::byte* data() const { return static_cast<std::byte*>(region_.get_address()); }
  /// The mapping's size in bytes.
  std::uint64_t size() const { return region_.get_size(); }

  /// Takes the robust mutex: `acquired`, `owner_died` (its holder died: the bank repairs),
  /// `lock_failed` with errno otherwise.
  [[nodiscard]] result<lock_outcome> lock() const noexcept {
    const int rc = detail::lock_robust_mutex(mutex());
    if (rc == 0) return lock_outcome::acquired;
    if (rc == EOWNERDEAD) return lock_outcome::owner_died;
    return fail(error(errc::lock_failed, "cannot take the bank's lock").with_errno(rc));
  }
  /// After `owner_died`: marks the mutex consistent.
  void repaired() const noexcept { pthread_mutex_consistent(mutex()); }
  /// Releases the mutex.
  void unlock() const noexcept { pthread_mutex_unlock(mutex()); }

 private:
  explicit shm_backend(boost::interprocess::mapped_region&& r) : region_(std::move(r)) {}
  pthread_mutex_t* mutex() const {
    return reinterpret_cast<pthread_mutex_t*>(data() + bank_format::lock_area);
  }

  boost::interprocess::mapped_region region_;
};

static_assert(bank_backend<shm_backend>);

/// A bank in POSIX shared memory with the default policies.
using shm_bank = basic_bank<shm_backend>;

}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_SHM_HPP
