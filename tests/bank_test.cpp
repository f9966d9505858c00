// SPDX-License-Identifier: MIT
// The conformance suite for the in-memory span backend and the mmap-file backend.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/bank.hpp>

#include "support.hpp"

namespace {

struct span_fixture {
  using bank = hotrestart::basic_bank<hotrestart::span_backend>;
  static constexpr bool has_files = false;
  struct release {
    void operator()(void* p) const { std::free(p); }
  };
  static constexpr std::size_t bytes = 16u << 20;
  std::unique_ptr<void, release> memory{std::aligned_alloc(4096, bytes)};
  span_fixture() { std::memset(memory.get(), 0, bytes); }
  std::span<std::byte> where() { return {static_cast<std::byte*>(memory.get()), bytes}; }
};

struct mmap_fixture {
  using bank = hotrestart::mmap_bank;
  static constexpr bool has_files = true;
  hrtest::scratch_dir dir;
  std::string path = dir.file("conformance.bank");
  const char* where() const { return path.c_str(); }
};

}  // namespace

#define HR_CONFORMANCE_FIXTURES span_fixture, mmap_fixture
#include "conformance.hpp"
