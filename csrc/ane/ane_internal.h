/* ane_internal.h -- what the ANE backend's Objective-C files share (not an interface):
 *
 *   ane_framework.m  the host check, the framework and its classes, messages from NSError and
 *                    exceptions, probe and describe
 *   ane_kernel.m     one compiled program: staging, compile, load, surfaces, request, eval
 *                    paths, teardown; the process-wide compile and load counts
 *   ane_runtime.m    the backend: program forms tried in order, eval, lock, release
 *   ane_bringup.m    the same steps one at a time, for `anethru doctor`
 *
 * Everything here runs under ARC with -fobjc-arc-exceptions; no Objective-C exception leaves
 * the backend's entry points.
 */
#ifndef ANETHRU_ANE_INTERNAL_H
#define ANETHRU_ANE_INTERNAL_H

#include <pthread.h>

#include "ane_msg.h" /* Foundation, IOSurface, objc_msgSend */
#include "ane_runtime.h"
#include "anethru.h"

/* The QoS every piece of research code passed to compile, load, evaluate and unload. */
#define ANE_QOS 21u

/* A form the framework rejected (descriptor nil, or compile NO): the next form may be tried.
 * Internal only; the backend never returns it. */
#define ANE_REJECTED (-2)

/* ------------------------------------------------------------------ ane_framework.m */

/* Why this host cannot run the ANE (not macOS, not arm64, Rosetta); ANETHRU_OK if it can. */
int ane_host_check(char *why, size_t whylen);
/* Open the framework and look up its classes, once per process; the status, with why. */
int ane_framework_load(char *why, size_t whylen);
/* Whether dlopen itself succeeded (the framework may still lack a class). */
int ane_framework_opened(void);
/* A class of ane_classes.h, or Nil when the framework or the class is missing. */
Class ane_class(int class_id);
/* The messages of ane_msg.h the framework's classes do not answer to, one per line as
 * "-[Class selector]"; "" when all do.  client: 0 for the four required classes (the standard
 * path), 1 for _ANEClient (the realtime and direct paths).  Missing classes are not counted. */
void ane_missing_selectors(int client, char *buf, size_t buflen);

/* The backend's probe and describe (the simulated build says SIMULATED in both). */
int ane_probe(char *err, size_t errlen);
int ane_describe(char *buf, size_t buflen);

void ane_copy_text(char *err, size_t errlen, NSString *msg);
void ane_copy_exception(char *err, size_t errlen, const char *during, id ex);
void ane_copy_nserror(char *err, size_t errlen, const char *what, NSError *e);

/* ------------------------------------------------------------------ ane_kernel.m */

@interface ANEThruKernel : NSObject {
  @public
    id model;                   /* _ANEInMemoryModel */
    id request;                 /* _ANERequest naming the two surfaces */
    id client[ANETHRU_NEVAL_PATHS];  /* per non-standard path: its _ANEClient, once probed */
    NSDictionary *evalOptions;  /* made once, so timed evals allocate nothing */
    IOSurfaceRef surface[2];    /* ANETHRU_PORT_INPUT, ANETHRU_PORT_OUTPUT; owned (+1) */
    char *dir;                  /* the temp directory this kernel holds, or NULL */
    BOOL loaded;
    int channels, spatial, layers;
    const char *form;           /* the program form it was compiled as (a static name) */
    char *rejected;             /* forms rejected before it, one per line; malloc'd, or NULL */
    int path;                   /* ANETHRU_EVAL_*: how ane_kernel_eval evaluates */
    char *pathWhy[ANETHRU_NEVAL_PATHS]; /* why a path is unusable (malloc'd), NULL if usable */
    const char *pathClient[ANETHRU_NEVAL_PATHS]; /* the _ANEClient a usable path evaluates
                                                    through, as its constructor (static) */
    pthread_mutex_t evalLock;   /* evals of one kernel share its surfaces: one at a time */
}
@end

/* The lock that serialises compiles, loads and releases (never timed) and guards the counts. */
void ane_process_lock(void);
void ane_process_unlock(void);
int ane_compiles_done(void);
int ane_compiles_rejected(void);
/* ANETHRU_E_LIMIT, with the message, when one more compile or load would pass the limits. */
int ane_check_limits(char *err, size_t errlen);

/* The steps of a compile, each under the process lock; ANETHRU_OK, ANE_REJECTED, or a code. */
int ane_kernel_stage(ANEThruKernel *k, const anethru_ane_program *p, char *err, size_t errlen);
int ane_kernel_compile(ANEThruKernel *k, char *err, size_t errlen);
int ane_kernel_load(ANEThruKernel *k, char *err, size_t errlen);
int ane_kernel_make_surfaces(ANEThruKernel *k, char *err, size_t errlen);
int ane_kernel_make_request(ANEThruKernel *k, char *err, size_t errlen);
/* Set up a non-standard eval path and probe it with one eval; on failure the path stays
 * unusable and pathWhy says why. */
int ane_kernel_setup_path(ANEThruKernel *k, int path, char *err, size_t errlen);
/* One eval through k->path that must prove it wrote the output: the output poisoned
 * (ANETHRU_POISON_FP16), a fresh input written (a new one per call), the eval, the output read
 * back.  ANETHRU_E_EVAL, saying the output was not written, if any value still holds the
 * poison.  in and out hold channels * spatial values. */
int ane_kernel_eval_fresh(ANEThruKernel *k, uint16_t *in, uint16_t *out, char *err, size_t errlen);
/* One eval through k->path (takes the kernel's eval lock). */
int ane_kernel_eval(ANEThruKernel *k, char *err, size_t errlen);
/* Unload, release the surfaces and the temp directory; safe at any stage.  Process lock held. */
void ane_kernel_teardown(ANEThruKernel *k);
/* Write input to / read output from a kernel's surfaces (bring-up and its checks). */
int ane_kernel_write_input(ANEThruKernel *k, const void *data, size_t bytes, char *err,
                           size_t errlen);
int ane_kernel_read_output(ANEThruKernel *k, void *data, size_t bytes, char *err, size_t errlen);

#endif
