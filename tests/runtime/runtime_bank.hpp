// SPDX-License-Identifier: MIT
// A real bank file with a hand-made runtime block (2 groups, 4 processes), for the tests that
// play one side of hrctl's protocol themselves (mailbox_test, process_ready_test).
#ifndef HR_TESTS_RUNTIME_BANK_HPP
#define HR_TESTS_RUNTIME_BANK_HPP

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include <hotrestart/posix/convert.hpp>
#include <hotrestart/posix/mailbox.hpp>

#include "../support.hpp"

namespace hrtest {

struct runtime_bank {
  scratch_dir dir;
  std::string path;
  std::optional<hotrestart::mmap_bank> bank;
  hotrestart::posix::runtime_view rt;

  /// `file`: the bank's name in the scratch directory. `fill(header)` sets what a test needs
  /// beyond the magic, version and limits (the supervisor's pid, the run sequence...).
  template <class Fill>
  runtime_bank(const char* file, Fill&& fill) {
    using namespace hotrestart;
    using namespace hotrestart::posix;
    path = dir.file(file);
    auto b = mmap_bank::create(path.c_str(), {.bank_size = 1 << 20, .max_blocks = 16});
    REQUIRE(b);
    bank.emplace(std::move(*b));
    auto blk = bank->find_or_create(hotrestart::detail::internal_access, runtime_block_name,
                                    runtime_block_bytes(2, 4));
    REQUIRE(blk);
    auto* h = reinterpret_cast<runtime_header*>(blk->data);
    h->magic = runtime_magic;
    h->version = runtime_version;
    h->max_groups = 2;
    h->max_processes = 4;
    fill(*h);
    auto v = runtime_view::attach(*blk);
    REQUIRE(v);
    auto xb = bank->find_or_create(hotrestart::detail::internal_access, runtime_ext_block_name,
                                   runtime_ext_block_bytes(2));
    REQUIRE(xb);
    format_runtime_ext(xb->data, xb->capacity, *v, nullptr);
    REQUIRE(v->attach_ext(*xb));
    REQUIRE(make_lease_block(*bank));  // version 4
    auto lb = bank->find(lease_block_name);
    REQUIRE(lb);
    REQUIRE(v->attach_lease(*lb));
    rt = *v;
  }
};

}  // namespace hrtest

#endif  // HR_TESTS_RUNTIME_BANK_HPP
