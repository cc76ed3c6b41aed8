/* probe_main.c -- asks the ANE backend, built WITHOUT the simulation define, why there is no
 * ANE here: the real code's own answer on Linux (test-only). */
#include <stdarg.h>
#include <stdio.h>

#include "ane_runtime.h"

/* throughput.m's helper, which this small program does not link. */
void anethru_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int main(void)
{
    char why[ANETHRU_ERRLEN] = "";
    int rc = anethru_ane_backend.probe(why, sizeof why);
    printf("%d %s\n", rc, why);
    return 0;
}
