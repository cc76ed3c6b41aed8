/* probe_main.c -- asks the ANE backend, built WITHOUT the simulation define, why there is no
 * ANE here: the real code's own answer on Linux (test-only). */
#include <stdio.h>

#include "ane_runtime.h"

int main(void)
{
    char why[ANETHRU_ERRLEN] = "";
    int rc = anethru_ane_backend.probe(why, sizeof why);
    printf("%d %s\n", rc, why);
    return 0;
}
