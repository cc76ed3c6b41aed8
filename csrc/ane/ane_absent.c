/* ane_absent.c -- the "ane" backend in builds without the Objective-C ANE runtime (everything
 * but macOS): still listed, so users learn why it is missing, and the bring-up steps of
 * `anethru doctor` answer with the same reason. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "backend.h"

static int ane_absent_probe(char *err, size_t errlen)
{
    struct utsname u;
    if (uname(&u) != 0) strcpy(u.sysname, "this OS"), strcpy(u.machine, "?");
    anethru_set_error(err, errlen,
                      "the ANE backend needs macOS on Apple Silicon; this is %s %s, so the "
                      "Objective-C ANE runtime was not built into anethru",
                      u.sysname, u.machine);
    return ANETHRU_E_UNAVAILABLE;
}

const anethru_backend anethru_ane_backend = {.name = "ane", .probe = ane_absent_probe};

struct anethru_ane_bringup {
    int unused;
};

anethru_ane_bringup *anethru_ane_bringup_open(int channels, int spatial, int layers)
{
    (void)channels, (void)spatial, (void)layers;
    return calloc(1, sizeof(anethru_ane_bringup));
}

int anethru_ane_bringup_step(anethru_ane_bringup *session, int step, int arg, char *msg,
                             size_t msglen)
{
    (void)session, (void)step, (void)arg;
    return ane_absent_probe(msg, msglen);
}

void anethru_ane_bringup_close(anethru_ane_bringup *session) { free(session); }
