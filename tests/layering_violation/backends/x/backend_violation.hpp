// A planted violation for the layering check's negative control.
#include <hotrestart/posix/process.hpp>
