// SPDX-License-Identifier: MIT
// Runs the fuzz target over files and directories (the seed corpus) without libFuzzer, so
// that every compiler and sanitizer preset replays the corpus. With --manifest FILE, every
// seed the manifest names must be there and must still do what it says:
//   NAME open            opens, and check() finds nothing at open (a real bank)
//   NAME refuse ERRC     is refused with that error code (a damaged or foreign bank)
// so a format change that silently turns the real banks into foreign bytes fails the replay.
//   hr_fuzz_replay [--manifest FILE] DIR|FILE...
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_outcome.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

struct expectation {
  bool open = false;
  std::string refuse;  // errc name when !open
  bool seen = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, expectation> manifest;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--manifest") == 0 && i + 1 < argc) {
      std::ifstream m(argv[++i]);
      if (!m) {
        std::fprintf(stderr, "replay: cannot read the manifest %s\n", argv[i]);
        return 2;
      }
      std::string line;
      while (std::getline(m, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string name, what, code;
        words >> name >> what >> code;
        if (what == "open") {
          manifest[name] = {true, {}, false};
        } else if (what == "refuse" && !code.empty()) {
          manifest[name] = {false, code, false};
        } else {
          std::fprintf(stderr, "replay: bad manifest line: %s\n", line.c_str());
          return 2;
        }
      }
    } else {
      inputs.push_back(argv[i]);
    }
  }
  std::size_t files = 0, opened = 0;
  int broken = 0;
  auto one = [&](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++files;
    const hr_fuzz_outcome& o = *hr_fuzz_last_outcome();
    if (o.opened) ++opened;
    auto m = manifest.find(p.filename().string());
    if (m == manifest.end()) return;
    m->second.seen = true;
    const expectation& e = m->second;
    if (e.open && (!o.opened || o.problems_at_open != 0)) {
      std::fprintf(stderr, "replay: seed %s is a real bank but %s%s\n", p.filename().c_str(),
                   o.opened ? "check() finds problems in it" : "it is refused: ",
                   o.opened ? "" : hotrestart::to_string(o.refused));
      ++broken;
    } else if (!e.open && (o.opened || e.refuse != hotrestart::to_string(o.refused))) {
      std::fprintf(stderr, "replay: seed %s must be refused with %s, but %s%s\n",
                   p.filename().c_str(), e.refuse.c_str(), o.opened ? "it opens" : "got ",
                   o.opened ? "" : hotrestart::to_string(o.refused));
      ++broken;
    }
  };
  for (const std::string& in : inputs) {
    if (std::filesystem::is_directory(in)) {
      for (const auto& e : std::filesystem::directory_iterator(in))
        if (e.is_regular_file()) one(e.path());
    } else {
      one(in);
    }
  }
  for (const auto& [name, e] : manifest)
    if (!e.seen) {
      std::fprintf(stderr, "replay: seed %s named in the manifest is missing\n", name.c_str());
      ++broken;
    }
  std::printf("replayed %zu inputs (%zu opened); manifest: %zu seeds, %d broken\n", files, opened,
              manifest.size(), broken);
  if (broken != 0)
    std::fprintf(stderr,
                 "replay: if the bank format changed on purpose, regenerate the seeds:\n"
                 "  hr_fuzz_make_corpus tests/fuzz/corpus tests/fuzz/corpus.manifest\n");
  return files > 0 && broken == 0 ? 0 : 1;
}
