// SPDX-License-Identifier: MIT
// Writes the seed corpus of the runtime fuzz target (runtime_fuzz.cpp): small banks (64-byte
// pages) holding what hrctl keeps in a bank: the runtime block (header, mailbox, group and
// process slots), the controller block and process images. Real states a supervisor leaves
// (groups running, one held, a request waiting) and damaged copies of them, one field each,
// that the validation must refuse. Also writes the manifest the replay checks:
//   NAME open             validates clean (a supervisor adopts it)
//   NAME refuse corrupt   the validation finds a problem (hrctl run refuses it)
//   NAME refuse ERRC      the runtime or controller block itself is refused with ERRC
//   hr_fuzz_make_runtime_corpus DIR MANIFEST
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <hotrestart/bank.hpp>
#include <hotrestart/controller/controller.hpp>
#include <hotrestart/posix/convert.hpp>
#include <hotrestart/posix/validate.hpp>

namespace {

using namespace hotrestart;
using namespace hotrestart::posix;
using gen_bank = basic_bank<span_backend>;
using gen_controller = basic_controller<runtime_policy, null_block_store>;

constexpr std::uint32_t groups = 4, processes = 4;
alignas(64) std::byte g_mem[1u << 15];
alignas(64) std::byte g_copy[1u << 15];
std::uint64_t g_bytes = 0;
std::string g_dir;
std::FILE* g_manifest = nullptr;
int g_files = 0;

void write(const std::string& name, const std::byte* mem, const char* expect) {
  const std::string path = g_dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(mem, 1, g_bytes, f);
  std::fclose(f);
  std::fprintf(g_manifest, "%s %s\n", name.c_str(), expect);
  ++g_files;
}

void fill_name(char* dst, std::uint32_t& len, std::string_view s) {
  std::memset(dst, 0, 32);
  std::memcpy(dst, s.data(), s.size());
  len = static_cast<std::uint32_t>(s.size());
}

// An image block as hrctl makes it: header, argument strings, 64-aligned executable bytes.
bool make_image(gen_bank& b, std::uint32_t k, std::string_view name) {
  const char argv[] = "prog\0--flag";  // two strings, NUL-terminated
  const std::uint32_t argv_bytes = sizeof argv;
  const char exe[] =
      "\x7f"
      "ELF not really an executable: the fuzz seed's bytes";
  const std::uint64_t off = image_exe_offset(argv_bytes);
  auto blk =
      b.find_or_create(detail::internal_access, image_block_name(k).view(), off + sizeof exe);
  if (!blk) return false;
  image_header h{};
  h.magic = image_magic;
  h.version = image_version;
  h.exe_bytes = sizeof exe;
  h.exe_offset = off;
  h.argc = 2;
  h.argv_bytes = argv_bytes;
  fill_name(h.name, h.name_len, name);
  const char path[] = "/usr/libexec/prog";
  std::memcpy(h.path, path, sizeof path - 1);
  h.path_len = sizeof path - 1;
  std::memcpy(blk->data, &h, sizeof h);
  std::memcpy(blk->data + sizeof h, argv, argv_bytes);
  std::memcpy(blk->data + off, exe, sizeof exe);
  h.exe_checksum = fnv1a(blk->data + off, sizeof exe);
  std::memcpy(blk->data, &h, sizeof h);
  return true;
}

struct made {
  std::uint64_t runtime_off = 0;  // of the runtime block in g_mem
  std::uint64_t ext_off = 0;      // of its extension block (runtime version 3)
  std::uint64_t image1_off = 0;   // of the image block __HR_IMG_1
};

// A bank as a supervisor leaves it: group 0 "web" (alpha, with image 0), group 1 "batch" (beta
// with image 1 and an indirect gamma), runs recorded in the process slots.
bool build(made& m) {
  std::memset(g_mem, 0, sizeof g_mem);
  auto b = gen_bank::create(std::span<std::byte>(g_mem, sizeof g_mem),
                            {.bank_size = 144 * 64, .max_blocks = 8, .page_size = 64});
  if (!b) return false;
  g_bytes = b->layout().file_bytes;
  auto rb = b->find_or_create(detail::internal_access, runtime_block_name,
                              runtime_block_bytes(groups, processes));
  if (!rb) return false;
  m.runtime_off = static_cast<std::uint64_t>(rb->data - g_mem);
  auto* h = reinterpret_cast<runtime_header*>(rb->data);
  h->version = runtime_version;
  h->max_groups = groups;
  h->max_processes = processes;
  h->policy = static_cast<std::uint32_t>(policy_kind::chorus);
  h->interval_ms = 3000;
  h->max_badness = 25;
  h->max_site_restarts = 3;
  h->give_up_window_ms = 300000;
  h->intensity = 5;
  h->period_ms = 10000;
  h->backoff_base_ms = 100;
  h->backoff_cap_ms = 30000;
  h->healthy_ms = 60000;
  h->magic = runtime_magic;
  auto rt = runtime_view::attach(*rb);
  if (!rt) return false;
  auto xb = b->find_or_create(detail::internal_access, runtime_ext_block_name,
                              runtime_ext_block_bytes(groups));
  if (!xb) return false;
  m.ext_off = static_cast<std::uint64_t>(xb->data - g_mem);
  format_runtime_ext(xb->data, xb->capacity, *rt, nullptr);
  if (!rt->attach_ext(*xb)) return false;
  if (!make_lease_block(*b)) return false;  // version 4

  auto cb = b->find_or_create(detail::internal_access, controller_block_name,
                              controller_state_bytes(groups, processes));
  if (!cb) return false;
  null_block_store none;
  auto c = gen_controller::create(std::span<std::byte>(cb->data, cb->capacity), {groups, processes},
                                  policy_from_header(*h), none, 1000);
  if (!c) return false;
  if (!make_image(*b, 0, "alpha") || !make_image(*b, 1, "beta")) return false;
  m.image1_off = static_cast<std::uint64_t>(b->find(image_block_name(1).view())->data - g_mem);

  std::uint64_t handle = 0;
  auto run = [&](std::uint32_t gid, std::string_view name, process_kind kind, std::uint32_t image,
                 std::uint32_t parent, std::int32_t pid) {
    ++handle;
    auto id = c->process_started(1000 + handle, {gid, name, kind, handle, image, parent});
    if (!id) return no_process;
    proc_slot* s = rt->proc(*id);
    s->handle = handle;
    s->pid = pid;
    s->start_time = 100 + handle;
    s->gid = gid;
    s->runs = 1;
    return *id;
  };
  if (!c->open_group(1000, 0) || !c->open_group(1000, 1)) return false;
  fill_name(rt->group(0)->name, rt->group(0)->name_len, "web");
  fill_name(rt->group(1)->name, rt->group(1)->name_len, "batch");
  rt->group(1)->flags = group_exit0_clean;
  if (run(0, "alpha", process_kind::direct, 0, no_process, 4001) == no_process) return false;
  const std::uint32_t beta = run(1, "beta", process_kind::direct, 1, no_process, 4002);
  if (beta == no_process) return false;
  if (run(1, "gamma", process_kind::indirect, no_image, beta, 4003) == no_process) return false;
  h->run_seq = handle;
  h->supervisor_pid = 4000;
  h->supervisor_start = 99;
  return true;
}

runtime_ext_header* ext_in(std::byte* mem, const made& m) {
  return reinterpret_cast<runtime_ext_header*>(mem + m.ext_off);
}
listen_record* listen_in(std::byte* mem, const made& m, std::uint32_t gid, std::uint32_t k) {
  return reinterpret_cast<listen_record*>(mem + m.ext_off + sizeof(runtime_ext_header)) +
         gid * max_listen + k;
}
runtime_header* header_in(std::byte* mem, const made& m) {
  return reinterpret_cast<runtime_header*>(mem + m.runtime_off);
}
group_slot* group_in(std::byte* mem, const made& m, std::uint32_t gid) {
  return reinterpret_cast<group_slot*>(mem + m.runtime_off + sizeof(runtime_header)) + gid;
}
// Group 0 listens on 127.0.0.1:8080 and [::1]:8081 (v3 records, and the v2 words).
void two_listeners(std::byte* p, const made& mm) {
  group_slot* g = group_in(p, mm, 0);
  g->listen_count = 2;
  g->listen_addr[0] = 0x0100007f;
  g->listen_port[0] = 8080;
  g->listen_port[1] = 8081;
  listen_record* a = listen_in(p, mm, 0, 0);
  a->family = AF_INET_family;
  a->port = 8080;
  a->addr[0] = 127;
  a->addr[3] = 1;
  listen_record* b = listen_in(p, mm, 0, 1);
  b->family = AF_INET6_family;
  b->port = 8081;
  b->addr[15] = 1;
}

proc_slot* proc_in(std::byte* mem, const made& m, std::uint32_t id) {
  return reinterpret_cast<proc_slot*>(mem + m.runtime_off + sizeof(runtime_header) +
                                      groups * sizeof(group_slot)) +
         id;
}

// A copy of the clean bank with one change.
template <class F>
const std::byte* changed(const made& m, F f) {
  std::memcpy(g_copy, g_mem, sizeof g_mem);
  f(g_copy, m);
  return g_copy;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 64;
  g_dir = argv[1];
  g_manifest = std::fopen(argv[2], "w");
  if (g_manifest == nullptr) return 2;
  std::fprintf(g_manifest, "# seed  expectation (written by hr_fuzz_make_runtime_corpus)\n");
  made m;
  if (!build(m)) {
    std::fprintf(stderr, "make_runtime_corpus: cannot build the bank\n");
    return 1;
  }
  using M = const made&;
  write("rt-clean", g_mem, "open");
  write("rt-held",
        changed(m,
                [](std::byte* p, M mm) {
                  group_in(p, mm, 1)->held = hold_stopped;
                  group_in(p, mm, 1)->hold_code = 143;
                }),
        "open");
  write("rt-gave-up",
        changed(m, [](std::byte* p, M mm) { group_in(p, mm, 0)->held = hold_gave_up; }), "open");
  write("rt-listen", changed(m, [](std::byte* p, M mm) { two_listeners(p, mm); }), "open");
  // Requests performed (one whose supervisor ended while acting on it), and one in a slot.
  write("rt-performed",
        changed(m,
                [](std::byte* p, M mm) {
                  runtime_ext_header* x = ext_in(p, mm);
                  x->performed[0] = {0x1234, 0, req_site_restart};
                  x->performed[1] = {0x5678, performed_in_progress, req_kill_group};
                  x->performed_next = 2;
                  request_slot& s = header_in(p, mm)->requests[1];
                  s.state = req_serving;
                  s.requester = 5001;
                  s.kind = req_kill_group;
                  s.gid = 0;
                  s.id_lo = 0x5678;
                }),
        "open");
  write("rt-request",
        changed(m,
                [](std::byte* p, M mm) {
                  request_slot& s = header_in(p, mm)->requests[2];
                  s.state = req_ready;
                  s.requester = 5000;
                  s.kind = req_run_direct;
                  s.gid = 0xFFFFFFFFu;
                  s.flags = std::uint32_t{group_exit0_clean} | std::uint32_t{req_relay_output};
                  s.name_len = 3;
                  std::memcpy(s.name, "new", 3);
                }),
        "open");
  write("rt-no-supervisor",
        changed(m,
                [](std::byte* p, M mm) {
                  header_in(p, mm)->supervisor_pid = 0;
                  for (std::uint32_t i = 0; i < 3; ++i) proc_in(p, mm, i)->pid = 0;
                }),
        "open");
  // One damaged field each: the validation must name it.
  write("bad-held", changed(m, [](std::byte* p, M mm) { group_in(p, mm, 0)->held = 7; }),
        "refuse corrupt");
  write("bad-outcome", changed(m, [](std::byte* p, M mm) { group_in(p, mm, 1)->last_outcome = 3; }),
        "refuse corrupt");
  write("bad-pending",
        changed(m, [](std::byte* p, M mm) { group_in(p, mm, 0)->pending_outcome = 9; }),
        "refuse corrupt");
  write("bad-listen", changed(m, [](std::byte* p, M mm) { group_in(p, mm, 0)->listen_count = 5; }),
        "refuse corrupt");
  write("bad-listen-family",
        changed(m,
                [](std::byte* p, M mm) {
                  two_listeners(p, mm);
                  listen_in(p, mm, 0, 1)->family = 7;
                }),
        "refuse corrupt");
  write("bad-listen-unused",
        changed(m, [](std::byte* p, M mm) { listen_in(p, mm, 1, 0)->port = 80; }),
        "refuse corrupt");
  write("bad-performed",
        changed(m,
                [](std::byte* p, M mm) {
                  ext_in(p, mm)->performed[3] = {0x99, 0, 9};
                }),
        "refuse corrupt");
  write("bad-group-name", changed(m, [](std::byte* p, M mm) { group_in(p, mm, 1)->name_len = 33; }),
        "refuse corrupt");
  write("bad-same-names",
        changed(m,
                [](std::byte* p, M mm) {
                  fill_name(group_in(p, mm, 1)->name, group_in(p, mm, 1)->name_len, "web");
                }),
        "refuse corrupt");
  write("bad-flags", changed(m, [](std::byte* p, M mm) { group_in(p, mm, 0)->flags = 0x80; }),
        "refuse corrupt");
  write("bad-proc-gid", changed(m, [](std::byte* p, M mm) { proc_in(p, mm, 0)->gid = 1; }),
        "refuse corrupt");
  write("bad-proc-gid-range", changed(m, [](std::byte* p, M mm) { proc_in(p, mm, 3)->gid = 77; }),
        "refuse corrupt");
  write("bad-pid", changed(m, [](std::byte* p, M mm) { proc_in(p, mm, 1)->pid = -1; }),
        "refuse corrupt");
  write("bad-handle", changed(m, [](std::byte* p, M mm) { proc_in(p, mm, 2)->handle = 1u << 20; }),
        "refuse corrupt");
  write("bad-policy", changed(m, [](std::byte* p, M mm) { header_in(p, mm)->policy = 3; }),
        "refuse corrupt");
  write("bad-request-state",
        changed(m, [](std::byte* p, M mm) { header_in(p, mm)->requests[0].state = 6; }),
        "refuse corrupt");
  write("bad-request-kind",
        changed(m,
                [](std::byte* p, M mm) {
                  request_slot& s = header_in(p, mm)->requests[1];
                  s.state = req_ready;
                  s.requester = 5000;
                  s.kind = 9;
                }),
        "refuse corrupt");
  write("bad-image-name",
        changed(m,
                [](std::byte* p, M mm) {
                  auto* ih = reinterpret_cast<image_header*>(p + mm.image1_off);
                  ih->name[0] = 'X';
                }),
        "refuse corrupt");
  write("bad-image-magic",
        changed(m, [](std::byte* p,
                      M mm) { reinterpret_cast<image_header*>(p + mm.image1_off)->magic = 0; }),
        "refuse corrupt");
  write("bad-image-exe",
        changed(m,
                [](std::byte* p, M mm) {
                  auto* ih = reinterpret_cast<image_header*>(p + mm.image1_off);
                  p[mm.image1_off + ih->exe_offset + 1] = std::byte{'e'};
                }),
        "refuse corrupt");
  // The runtime block itself refused (runtime_view::attach).
  write("refused-runtime-version",
        changed(m, [](std::byte* p, M mm) { header_in(p, mm)->version = runtime_version + 1; }),
        "refuse version_mismatch");
  write("refused-runtime-limits",
        changed(m, [](std::byte* p, M mm) { header_in(p, mm)->max_groups = 0; }), "refuse corrupt");
  std::fclose(g_manifest);
  std::printf("wrote %d seed banks of %llu bytes\n", g_files,
              static_cast<unsigned long long>(g_bytes));
  return 0;
}
