// SPDX-License-Identifier: MIT
// process::ready() on a real bank, with the supervisor's side played by this test: the call
// writes the slot's `runs` into `ready_run` (the run that is ready), a later run is not ready
// until it calls again, and a stale run (the slot's handle is another run's) writes nothing.
// hrctl's validation accepts a ready_run up to runs and reports one beyond it.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

#include <hotrestart/controller/controller.hpp>
#include <hotrestart/policies/runtime_policy.hpp>
#include <hotrestart/posix/convert.hpp>
#include <hotrestart/posix/process.hpp>
#include <hotrestart/posix/validate.hpp>

#include "../support.hpp"

using namespace hotrestart;
using namespace hotrestart::posix;

namespace {

struct fixture {
  hrtest::scratch_dir dir;
  std::string path = dir.file("ready.bank");
  std::optional<mmap_bank> bank;
  runtime_view rt;
  fixture() {
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
    h->run_seq = 10;
    auto v = runtime_view::attach(*blk);
    REQUIRE(v);
    auto xb = bank->find_or_create(hotrestart::detail::internal_access, runtime_ext_block_name,
                                   runtime_ext_block_bytes(2));
    REQUIRE(xb);
    format_runtime_ext(xb->data, xb->capacity, *v, nullptr);
    REQUIRE(v->attach_ext(*xb));
    rt = *v;
  }
  // What the supervisor does before it starts run `runs` of process `id` (hrctl's
  // register_and_run), then the environment that run is given.
  void start_run(std::uint32_t id, std::uint64_t handle, std::uint32_t runs) {
    proc_slot* s = rt.proc(id);
    REQUIRE(s != nullptr);
    if (s == nullptr) return;  // (for the compiler's flow analysis)
    store(s->ready_run, std::uint32_t{0});
    s->gid = 1;
    store(s->handle, handle);
    store(s->runs, runs);
    ::setenv(env_bank, path.c_str(), 1);
    ::unsetenv(env_bank_fd);
    ::setenv(env_group, "1", 1);
    ::setenv(env_process, std::to_string(id).c_str(), 1);
    ::setenv(env_handle, std::to_string(handle).c_str(), 1);
  }
  // The validation's sentences about ready_run (this hand-made block has other problems: no
  // controller, no policy).
  std::vector<std::string> problems() {
    std::vector<std::string> out;
    using no_controller = basic_controller<runtime_policy, null_block_store>;
    (void)validate_runtime<no_controller>(rt, nullptr, *bank, [&](std::string_view s) {
      if (s.find("ready_run") != s.npos) out.emplace_back(s);
    });
    return out;
  }
};

}  // namespace

TEST_CASE("ready() records the run that called it; a later run must call it again") {
  fixture f;
  f.start_run(2, 5, 1);
  auto p = process::attach();
  REQUIRE(p);
  CHECK(load(f.rt.proc(2)->ready_run) == 0);
  p->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 1);
  CHECK(f.problems().empty());

  // The next run (a restart): not ready until it calls ready() itself.
  f.start_run(2, 6, 2);
  CHECK(load(f.rt.proc(2)->ready_run) == 0);
  auto q = process::attach();
  REQUIRE(q);
  q->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 2);

  // The first run's object is stale now (the slot names run 6): its call writes nothing.
  store(f.rt.proc(2)->ready_run, std::uint32_t{0});
  p->ready();
  CHECK(load(f.rt.proc(2)->ready_run) == 0);
}

TEST_CASE("validation reports a ready_run beyond the slot's runs") {
  fixture f;
  f.start_run(1, 7, 3);
  store(f.rt.proc(1)->ready_run, std::uint32_t{3});
  CHECK(f.problems().empty());
  store(f.rt.proc(1)->ready_run, std::uint32_t{4});
  const auto problems = f.problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("ready_run 4 is beyond its runs (3)") != std::string::npos);
}
