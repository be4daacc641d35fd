/* run.c: being written. */
#include "roster_impl.h"
typedef int roster__run_placeholder;
