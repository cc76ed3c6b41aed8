/* backends.c -- the registry: which backends this build contains, in order of preference for
 * backend="auto" (the first one whose probe succeeds wins; "cpu" always does).  Test-only
 * backends come last and "auto" skips them. */
#include <string.h>
#include <stdio.h>

#include "backend.h"

extern const anethru_backend anethru_cpu_backend;
extern const anethru_backend anethru_cuda_backend;
extern const anethru_backend anethru_virtual_backend;
/* ane_runtime.m on macOS; ane_absent.c (which says why) everywhere else. */
extern const anethru_backend anethru_ane_backend;

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
