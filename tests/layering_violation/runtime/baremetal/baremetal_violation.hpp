// Planted violations for the layering check's negative control: an OS header and another
// backend in the bare-metal runtime.
#include <unistd.h>
#include <hotrestart/backends/mmap_file.hpp>
