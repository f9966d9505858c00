// SPDX-License-Identifier: MIT
#include "config.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <string_view>

namespace hrctl {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && blank(s[b])) ++b;
  while (e > b && blank(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// The line without its comment: a '#' outside double quotes ends it.
std::string_view uncommented(std::string_view line) {
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '\\' && i + 1 < line.size()) {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == '#' && !quoted) return line.substr(0, i);
  }
  return line;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A group as -g takes it: an id 0..65535, or a name of 1..32 bytes that is not a number.
std::string check_group_name(std::string_view g) {
  if (g.empty()) return "a group needs a NAME: [group NAME]";
  if (all_digits(g)) {
    std::uint32_t n = 0;
    if (!parse_u32(std::string(g), n) || n > 65535)
      return "group id " + std::string(g) + " out of range (0..65535)";
    return {};
  }
  if (g.size() > 32) return "group name longer than 32 bytes: '" + std::string(g) + "'";
  for (const char c : g)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"' || c == '#')
      return "bad group name '" + std::string(g) + "'";
  return {};
}

// An FDNAME as systemd takes it: 1..255 characters, no ':' and no control character.
bool valid_fdname(std::string_view n) {
  if (n.empty() || n.size() > 255) return false;
  return std::none_of(n.begin(), n.end(), [](char c) {
    return c == ':' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// A key that names a tunable (accepted before the first section).
bool is_tunable_key(const std::string& key) {
  bank_options scratch;
  std::string err;
  return apply_tunable("--" + key, "1", scratch, err);
}

// A key that names a service option (accepted before the first section).
bool is_service_key(const std::string& key) {
  service_options scratch;
  std::string err;
  return apply_service_option("--" + key, "", scratch, err);
}

}  // namespace

std::string split_words(const std::string& value, std::vector<std::string>& words) {
  words.clear();
  std::string word;
  bool in_word = false, quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (c == '"') {
        quoted = false;
      } else if (c == '\\') {
        if (i + 1 >= value.size() || (value[i + 1] != '"' && value[i + 1] != '\\'))
          return "a backslash in double quotes stands only before \" or \\";
        word.push_back(value[++i]);
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (blank(c)) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '"') {
      quoted = true;
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (quoted) return "a double quote is not closed";
  if (in_word) words.push_back(word);
  return {};
}

std::string load_config(const std::string& file, bank_options& o, config_file* out) {
  std::ifstream in(file);
  if (!in) return "cannot read config file " + file;
  config_file cf;
  cf.path = file;
  std::map<std::string, int> seen_top;       // key -> line
  std::map<std::string, int> seen_in_group;  // key -> line (the current section)
  std::map<std::string, int> groups_seen;    // group -> line
  std::map<std::string, int> members_seen;   // member name -> line (the current section)
  std::string pending_name;                  // a `name` waiting for its `run`
  int pending_name_line = 0;
  config_group* g = nullptr;
  std::string line;
  int lineno = 0;
  auto at = [&](int n, std::string_view what) {
    std::string m = file;
    m.append(":").append(std::to_string(n)).append(": ").append(what);
    return m;
  };
  auto bad_value = [&](std::string_view value, std::string_view key, std::string_view allowed) {
    return at(lineno, std::string("bad value '")
                          .append(value)
                          .append("' for ")
                          .append(key)
                          .append(" (")
                          .append(allowed)
                          .append(")"));
  };
  // The end of a section: what it still lacks.
  auto close_group = [&]() -> std::string {
    if (g == nullptr) return {};
    if (!pending_name.empty())
      return at(pending_name_line, "name = " + pending_name + " is not followed by a run line");
    if (g->members.empty()) return at(g->line, "group " + g->group + " has no run line");
    return {};
  };
  while (std::getline(in, line)) {
    ++lineno;
    const std::string text = trim(uncommented(line));
    if (text.empty()) continue;
    if (text.front() == '[') {
      if (text.back() != ']') return at(lineno, "a section header ends with ]: '" + text + "'");
      const std::string inner = trim(std::string_view(text).substr(1, text.size() - 2));
      std::size_t sp = 0;
      while (sp < inner.size() && !blank(inner[sp])) ++sp;
      const std::string kind = inner.substr(0, sp), name = trim(inner.substr(sp));
      if (kind != "group")
        return at(lineno, "unknown section '[" + inner + "]' (only [group NAME])");
      if (std::string e = check_group_name(name); !e.empty()) return at(lineno, e);
      if (std::any_of(name.begin(), name.end(), blank))
        return at(lineno, "a group name has no blanks: '" + name + "'");
      if (std::string e = close_group(); !e.empty()) return e;
      if (auto it = groups_seen.find(name); it != groups_seen.end())
        return at(lineno, "group " + name + " is already at line " + std::to_string(it->second));
      groups_seen[name] = lineno;
      cf.groups.push_back(config_group{});
      g = &cf.groups.back();
      g->group = name;
      g->line = lineno;
      seen_in_group.clear();
      members_seen.clear();
      pending_name.clear();
      continue;
    }
    const auto eq = text.find('=');
    if (eq == std::string::npos) return at(lineno, "expected key = value or [group NAME]");
    const std::string key = trim(std::string_view(text).substr(0, eq));
    const std::string value = trim(std::string_view(text).substr(eq + 1));
    if (key.empty()) return at(lineno, "a key before the =");
    if (g == nullptr) {
      if (key == "run" || key == "name" || key == "listen" || key == "socket" ||
          key == "heartbeat" || key == "exit0-clean" || key == "stop-timeout" || key == "standby" ||
          key == "standby-timeout")
        return at(lineno, "'" + key + "' belongs in a [group NAME] section");
      if (auto it = seen_top.find(key); it != seen_top.end())
        return at(lineno, "'" + key + "' is already set at line " + std::to_string(it->second));
      seen_top[key] = lineno;
      if (key == "bank" || key == "user") {
        if (value.empty()) return at(lineno, "'" + key + "' needs a value");
        (key == "bank" ? o.path : o.user) = value;
        (key == "bank" ? cf.bank : cf.user) = value;
        continue;
      }
      std::string err;
      // A service option (ready, ready-after, on-give-up); set by its flag too: the flag wins.
      if (apply_service_option("--" + key, value, o.service, err)) {
        if (!err.empty()) return at(lineno, err);
        continue;
      }
      if (!apply_tunable("--" + key, value, o, err)) return at(lineno, "unknown key '" + key + "'");
      if (!err.empty()) return at(lineno, err);
      continue;
    }
    // In a [group NAME] section.
    const bool repeatable = key == "run" || key == "listen" || key == "socket";
    if (!repeatable && key != "name") {
      if (auto it = seen_in_group.find(key); it != seen_in_group.end())
        return at(lineno, "'" + key + "' is already set for group " + g->group + " at line " +
                              std::to_string(it->second));
      seen_in_group[key] = lineno;
    }
    if (key == "run") {
      config_member m;
      m.line = lineno;
      if (std::string e = split_words(value, m.argv); !e.empty()) return at(lineno, e);
      if (m.argv.empty() || m.argv[0].empty()) return at(lineno, "run needs PROGRAM [ARGS...]");
      std::uint64_t bytes = 0;
      for (const std::string& w : m.argv) bytes += w.size() + 1;
      if (m.argv.size() > max_image_args || bytes > max_image_argv_bytes)
        return at(lineno, "too many or too long arguments: an image holds at most " +
                              std::to_string(max_image_args) + " words and " +
                              std::to_string(max_image_argv_bytes) + " bytes of them");
      m.name = pending_name.empty() ? basename_of(m.argv[0]) : pending_name;
      const std::size_t slash = m.argv[0].rfind('/');
      const std::size_t base_len =
          slash == std::string::npos ? m.argv[0].size() : m.argv[0].size() - slash - 1;
      if (pending_name.empty() && (base_len == 0 || base_len > 32))
        return at(lineno,
                  "the program's file name is not a process name (1..32 bytes): give it "
                  "a name line");
      if (auto it = members_seen.find(m.name); it != members_seen.end())
        return at(lineno, "group " + g->group + " already has a member " + m.name + " (line " +
                              std::to_string(it->second) +
                              "): a name line before this run gives it another");
      members_seen[m.name] = lineno;
      pending_name.clear();
      g->members.push_back(std::move(m));
    } else if (key == "name") {
      if (!pending_name.empty())
        return at(lineno, "name = " + pending_name + " (line " + std::to_string(pending_name_line) +
                              ") is not followed by a run line");
      if (value.empty() || value.size() > 32)
        return at(lineno, "a process name has 1..32 bytes: '" + value + "'");
      pending_name = value;
      pending_name_line = lineno;
    } else if (key == "listen") {
      std::vector<listen_record> r;
      if (std::string e = parse_listen(value, r); !e.empty()) return at(lineno, e);
      g->listen.push_back(value);
      if (g->listen.size() > max_listen)
        return at(lineno, "at most " + std::to_string(max_listen) + " listen lines per group");
    } else if (key == "socket") {
      if (!valid_fdname(value))
        return at(lineno, "bad socket name '" + value +
                              "': 1..255 characters, no ':' and no control character");
      if (std::find(g->sockets.begin(), g->sockets.end(), value) != g->sockets.end())
        return at(lineno, "socket " + value + " is already given to group " + g->group);
      g->sockets.push_back(value);
      if (g->sockets.size() > max_listen)
        return at(lineno, "at most " + std::to_string(max_listen) + " socket lines per group");
    } else if (key == "heartbeat" || key == "stop-timeout" || key == "standby-timeout") {
      std::uint64_t ms = 0;
      if (!parse_u64(value, ms) || ms == 0 || ms > 86400000)
        return bad_value(value, key, "milliseconds, 1..86400000");
      if (key == "standby-timeout")
        g->standby_timeout_ms = static_cast<std::uint32_t>(ms);
      else
        (key == "heartbeat" ? g->heartbeat_ms : g->stop_timeout_ms) = ms;
    } else if (key == "exit0-clean" || key == "standby") {
      if (value != "yes" && value != "no") return bad_value(value, key, "yes or no");
      (key == "standby" ? g->standby : g->exit0_clean) = value == "yes";
    } else {
      if (key == "bank" || key == "user" || is_tunable_key(key) || is_service_key(key))
        return at(lineno, "'" + key + "' belongs before the first section");
      return at(lineno,
                "unknown key '" + key + "' in [group " + g->group +
                    "] (run, name, listen, socket, heartbeat, exit0-clean, stop-timeout, standby, "
                    "standby-timeout)");
    }
  }
  if (std::string e = close_group(); !e.empty()) return e;
  if (out != nullptr) *out = std::move(cf);
  return {};
}

}  // namespace hrctl
