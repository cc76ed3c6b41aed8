/* ane_runtime.h -- the Apple Neural Engine as one anethru backend (ane_runtime.m and the
 * files beside it, see ane_internal.h).
 *
 * Built only on macOS (and, for tests, against a simulated framework on Linux); elsewhere
 * ane_absent.c defines anethru_ane_backend, which says why there is no ANE.
 */
#ifndef ANETHRU_ANE_RUNTIME_H
#define ANETHRU_ANE_RUNTIME_H

#include "backend.h"

extern const anethru_backend anethru_ane_backend;

/* Per-process limits of the ANE runtime, with a margin: research saw compiles fail after
 * about 119 per process (the runtime leaks; only a new process recovers); community reports
 * (unverified) give about 128 programs loaded at once (unloading frees a slot).  Past these anethru refuses with
 * ANETHRU_E_LIMIT instead of failing mysteriously. */
#define ANETHRU_ANE_MAX_COMPILES 115
/* Overridable so the simulated build can reach it: here compiles always run out first. */
#ifndef ANETHRU_ANE_MAX_LOADED
#define ANETHRU_ANE_MAX_LOADED 120
#endif

#endif
