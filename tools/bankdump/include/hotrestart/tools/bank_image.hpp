// SPDX-License-Identifier: MIT
// Inspecting a bank from a raw memory image: the bytes of a device's bank section as a
// debugger's memory dump or QEMU's pmemsave writes them, or a copy of a host bank. The image is
// opened through the span backend, so one tool serves hosts and boards. Host-side code: it may
// allocate and print; the core it calls does neither.
#ifndef HOTRESTART_TOOLS_BANK_IMAGE_HPP
#define HOTRESTART_TOOLS_BANK_IMAGE_HPP

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <hotrestart/backend.hpp>
#include <hotrestart/backends/file_trust.hpp>
#include <hotrestart/bank.hpp>
#include <hotrestart/baremetal/record_format.hpp>
#include <hotrestart/error.hpp>

namespace hotrestart::tools {

/// An image file read into 64-byte aligned memory (the span backend requires the alignment).
class bank_image {
 public:
  /// Reads `path` from byte `offset` to its end (or `length` bytes if not 0). The file must be
  /// this user's and writable by no one else, as a bank must (docs/security.md): an image is
  /// a bank's bytes, and what the tools print of it is acted upon. Errors: io_error (with
  /// errno), untrusted_file, truncated (empty or shorter than asked).
  [[nodiscard]] static result<bank_image> read(const char* path, std::uint64_t offset = 0,
                                               std::uint64_t length = 0) {
    std::FILE* f = std::fopen(path, "rb");
    if (f == nullptr)
      return fail(error(errc::io_error, "cannot open the image file").with_errno(errno));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, &std::fclose);
    struct stat st;
    if (::fstat(::fileno(f), &st) != 0)
      return fail(error(errc::io_error, "cannot stat the image file").with_errno(errno));
    if (auto t = trust::check_file(st, ::geteuid(), path); !t) return fail(t.error());
    if (std::fseek(f, 0, SEEK_END) != 0)
      return fail(error(errc::io_error, "cannot seek in the image file").with_errno(errno));
    const long end = std::ftell(f);
    if (end < 0) return fail(error(errc::io_error, "cannot size the image file").with_errno(errno));
    const auto total = static_cast<std::uint64_t>(end);
    if (offset >= total)
      return fail(error(errc::truncated, "image ends before the offset")
                      .with_value("offset", offset)
                      .with_value("image bytes", total));
    const std::uint64_t n = length != 0 ? length : total - offset;
    if (offset + n > total)
      return fail(error(errc::truncated, "image shorter than asked")
                      .with_requested("bytes", offset + n, total, "in the image"));
    bank_image img;
    img.size_ = static_cast<std::size_t>(n);
    img.mem_.reset(static_cast<std::byte*>(std::aligned_alloc(64, (img.size_ + 63) / 64 * 64)));
    if (!img.mem_) return fail(errc::io_error, "out of memory for the image");
    if (std::fseek(f, static_cast<long>(offset), SEEK_SET) != 0 ||
        std::fread(img.mem_.get(), 1, img.size_, f) != img.size_)
      return fail(error(errc::io_error, "cannot read the image file").with_errno(errno));
    return img;
  }

  /// The image's bytes, 64-byte aligned (a location for the span backend).
  std::span<std::byte> bytes() const { return {mem_.get(), size_}; }

 private:
  struct release {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, release> mem_;
  std::size_t size_ = 0;
};

/// A bare-metal reboot record (hotrestart_retained.ld puts it right before the bank, so a dump
/// from hotrestart_record_start holds the record at byte 0 and the bank at byte 128).
struct image_record {
  baremetal::record_view view;  ///< the record, checked (absent, lost or valid)
  std::uint64_t offset = 0;     ///< where it is in the image file, in bytes
};

/// Reads the 128 bytes of a reboot record at `offset` of the image file `path`.
[[nodiscard]] inline result<image_record> read_record(const char* path, std::uint64_t offset) {
  auto img = bank_image::read(path, offset, baremetal::rec::bytes);
  if (!img) return fail(img.error());
  const auto bytes = img->bytes();
  return image_record{baremetal::decode(std::span<const std::byte, baremetal::rec::bytes>(
                          bytes.data(), baremetal::rec::bytes)),
                      offset};
}

/// True when the image file starts with a reboot record's magic (its little-endian bytes).
[[nodiscard]] inline bool starts_with_record(const char* path) {
  auto img = bank_image::read(path, 0, 4);
  if (!img) return false;
  std::uint32_t w = 0;
  for (std::size_t k = 0; k < 4; ++k) w |= static_cast<std::uint32_t>(img->bytes()[k]) << (8 * k);
  return w == baremetal::rec::magic_value;
}

/// The record as lines of text: the status, then (valid only) its counters, the first event of
/// the current crash loop, the latest event and the watchdog's attribution.
inline std::vector<std::string> record_lines(const image_record& r) {
  namespace rec = baremetal::rec;
  const baremetal::record_view& v = r.view;
  std::vector<std::string> out;
  char buf[200];
  if (v.status == baremetal::record_status::absent) {
    std::snprintf(buf, sizeof buf, "reboot record: absent (no record magic at image offset %llu)",
                  static_cast<unsigned long long>(r.offset));
    out.emplace_back(buf);
    return out;
  }
  if (v.status == baremetal::record_status::lost) {
    std::snprintf(buf, sizeof buf, "reboot record: lost (%s: stored 0x%08x, computed 0x%08x)",
                  v.why, v.stored_crc, v.computed_crc);
    out.emplace_back(buf);
    return out;
  }
  auto task = [](std::uint32_t t) {
    return t == rec::no_task ? std::string("none") : "task " + std::to_string(t);
  };
  std::snprintf(buf, sizeof buf, "reboot record: valid (version %u at image offset %llu)",
                v[rec::version_bytes] & 0xFFFFu, static_cast<unsigned long long>(r.offset));
  out.emplace_back(buf);
  std::snprintf(
      buf, sizeof buf, "  boots %u, crashes %u, loop %u, site restarts in a row %u, discards %u",
      v[rec::boots], v[rec::crashes], v[rec::loop], v[rec::site_in_row], v[rec::discards]);
  out.emplace_back(buf);
  std::snprintf(buf, sizeof buf, "  last boot's cause: %s",
                baremetal::to_string(v.cause(rec::last_cause)));
  out.emplace_back(buf);
  if (v[rec::loop] != 0) {
    std::snprintf(buf, sizeof buf, "  first of this loop: %s in %s at pc 0x%08x (boot %u)",
                  baremetal::to_string(v.cause(rec::first_cause)), task(v[rec::first_task]).c_str(),
                  v[rec::first_pc], v[rec::first_boot]);
    out.emplace_back(buf);
  }
  if (v[rec::crashes] != 0) {
    std::snprintf(buf, sizeof buf,
                  "  latest event: %s pc 0x%08x lr 0x%08x xpsr 0x%08x cfsr 0x%08x hfsr 0x%08x",
                  task(v[rec::task]).c_str(), v[rec::pc], v[rec::lr], v[rec::xpsr], v[rec::cfsr],
                  v[rec::hfsr]);
    out.emplace_back(buf);
  }
  if (v[rec::wd_missing] != 0) {
    std::snprintf(buf, sizeof buf, "  watchdog: missing check-ins 0x%08x, last fed by %s",
                  v[rec::wd_missing], task(v[rec::wd_last_fed]).c_str());
    out.emplace_back(buf);
  }
  return out;
}

/// How `inspect` prints.
struct inspect_options {
  std::size_t show_bytes = 0;  ///< print the first N bytes of each block in hex
};

/// What `inspect` found.
struct inspect_summary {
  std::uint32_t blocks = 0;    ///< blocks listed
  std::uint32_t problems = 0;  ///< from the bank's full check (0: consistent)
};

/// Opens the bank in `image` (a copy: a repair of an interrupted operation changes only the
/// copy), prints its header, every block (name, size, capacity, key, offset) and every
/// problem the bank's `check` finds, each as one line to `out(const char*)`. Errors: the
/// bank's open errors (not_a_bank, version_mismatch, layout_mismatch, corrupt, truncated...).
template <class Bank = basic_bank<span_backend>, class Out>
[[nodiscard]] result<inspect_summary> inspect(std::span<std::byte> image, Out&& out,
                                              const inspect_options& opt = {}) {
  auto b = Bank::open(image);
  if (!b) return fail(b.error());
  const bank_layout& l = b->layout();
  std::string line = "bank: medium " + std::string(b->medium()) + ", page " +
                     std::to_string(l.page_size) + ", bank_size " + std::to_string(l.bank_size) +
                     ", max_blocks " + std::to_string(l.max_blocks) + ", overhead " +
                     std::to_string(l.overhead_bytes()) + ", image " +
                     std::to_string(image.size()) + " bytes";
  out(line.c_str());
  inspect_summary s;
  auto n = b->for_each([&](const block_info& i) {
    char hex[3];
    line = "block " + std::string(i.name) + " size=" + std::to_string(i.size) +
           " capacity=" + std::to_string(i.capacity) +
           " key=" + (i.key.empty() ? std::string("-") : std::string(i.key)) + " offset=0x";
    char off[17];
    std::snprintf(off, sizeof off, "%llx", static_cast<unsigned long long>(i.offset));
    line += off;
    if (opt.show_bytes != 0) {
      line += " bytes=";
      const std::uint64_t shown = opt.show_bytes < i.size ? opt.show_bytes : i.size;
      for (std::uint64_t k = 0; k < shown; ++k) {
        std::snprintf(hex, sizeof hex, "%02x",
                      static_cast<unsigned>(b->backend().data()[i.offset + k]));
        line += hex;
      }
    }
    out(line.c_str());
  });
  if (!n) return fail(n.error());
  s.blocks = *n;
  line = "blocks: " + std::to_string(s.blocks);
  out(line.c_str());
  auto c = b->check([&](const error& e) {
    line = std::string("problem: ") + describe(e).text;
    out(line.c_str());
  });
  if (!c) return fail(c.error());
  s.problems = *c;
  line = "check: " + std::to_string(s.problems) + " problems";
  out(line.c_str());
  return s;
}

}  // namespace hotrestart::tools

#endif  // HOTRESTART_TOOLS_BANK_IMAGE_HPP
