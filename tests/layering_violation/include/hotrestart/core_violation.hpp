// A planted violation for the layering check's negative control.
#include <unistd.h>
#include <hotrestart/backends/mmap_file.hpp>
