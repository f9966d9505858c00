// A planted violation for the layering check's negative control.
#include <pmm/chPmm.h>
