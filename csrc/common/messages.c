/* messages.c -- the one way native code writes an error message for its caller. */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"

void anethru_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
