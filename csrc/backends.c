/* backends.c -- the registry: which backends this build contains, in order of preference for
 * backend="auto" (the first one whose probe succeeds wins; "cpu" always does).  Test-only
 * backends come last and "auto" skips them. */
#include <string.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "backend.h"

extern const anethru_backend anethru_cpu_backend;
extern const anethru_backend anethru_cuda_backend;
extern const anethru_backend anethru_virtual_backend;

#ifdef ANETHRU_WITH_ANE
#include "ane_runtime.h"
#else
/* Builds without the Objective-C sources still list "ane", so users learn why it is missing. */
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
static const anethru_backend anethru_ane_backend = {.name = "ane", .probe = ane_absent_probe};
#endif

static const anethru_backend *const registry[] = {
    &anethru_ane_backend,
    &anethru_cuda_backend,
    &anethru_cpu_backend,
    &anethru_virtual_backend, /* test_only */
};

int anethru_backend_count(void) { return (int)(sizeof registry / sizeof registry[0]); }

const anethru_backend *anethru_backend_at(int index)
{
    if (index < 0 || index >= anethru_backend_count()) return NULL;
    return registry[index];
}

const char *anethru_backend_name(int index)
{
    const anethru_backend *b = anethru_backend_at(index);
    return b ? b->name : NULL;
}

const anethru_backend *anethru_backend_find(const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < anethru_backend_count(); i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
