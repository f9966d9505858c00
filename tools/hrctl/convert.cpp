// SPDX-License-Identifier: MIT
// hrctl convert: brings a bank's format (at open: bank.hpp) and its runtime block (convert.hpp)
// to this hrctl's versions, holding the bank's supervisor lock so that no supervisor serves it
// meanwhile.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common.hpp"
#include "inspect.hpp"
#include "json.hpp"

namespace hrctl {

int cmd_convert(const bank_options& bo, bool json) {
  auto b = open_bank_converting(bo.where());
  if (!b) return report_bank_error("cannot open bank", bo.path, b.error(), bo.as.uid);
  const int lock = take_supervisor_lock(*b);
  if (lock == -1) {
    std::fprintf(stderr,
                 "hrctl convert: a supervisor serves %s: it converted the bank when it adopted "
                 "it\n",
                 bo.path.c_str());
    return exit_busy;
  }
  if (lock < 0) {
    std::fprintf(stderr, "hrctl convert: cannot lock %s\n", bo.path.c_str());
    return exit_failure;
  }
  auto c = convert_runtime(*b);
  ::close(lock);
  if (!c) return report_bank_error("cannot convert the runtime state of bank", bo.path, c.error());
  std::string what = describe_conversion(*c);
  // The bank format itself was converted by the open above (bank.hpp, convert()).
  const std::uint32_t format_from = b->converted_from();
  if (format_from != 0)
    what = "bank format " + std::to_string(format_from) + " converted to " +
           std::to_string(bank_format::version) + " (index rebuilt in place); " + what;
  if (json) {
    json_writer w;
    w.begin_object().schema().key("bank").str(bo.path).key("from").num(c->from);
    w.key("to").num(runtime_version).key("converted").boolean(c->from != runtime_version);
    w.key("format_from").num(format_from != 0 ? format_from : bank_format::version);
    w.key("format_to").num(bank_format::version);
    w.key("listeners").num(c->listeners).key("groups_with_listeners").num(c->groups_with_listeners);
    w.key("requests").num(c->requests).key("message").str(what).end_object().print();
  } else {
    std::printf("bank %s: %s\n", bo.path.c_str(), what.c_str());
  }
  return exit_ok;
}

}  // namespace hrctl
