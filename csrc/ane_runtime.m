/* ane_runtime.m -- the Apple Neural Engine as an anethru backend (backend.h).
 *
 * A kernel is compiled from the first program form (ane_forms.h) the framework accepts: a
 * form it rejects (descriptor nil, or compile NO) is recorded and the next one tried; only
 * when every form is rejected is there a CompileError, listing each form with the framework's
 * message.  Compiles spent on rejected forms count toward the per-process limit.  What worked
 * for a configuration is remembered for the process, so the other kernels of a chain start
 * from that form instead of spending compiles on forms known to fail.
 *
 * Eval paths: the standard eval on the model, and, when asked for at compile time, the
 * realtime and direct evals on _ANEClient, each probed with one eval right after compile and
 * usable only if that probe succeeded (set_eval_path says why not, with the framework's
 * message).  Nothing falls back silently from one path to another.
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>

#include <stdlib.h>
#include <string.h>

#include "ane/forms/ane_forms.h"
#include "ane/ane_internal.h"
#include "ane/forms/ane_weights.h"

/* ------------------------------------------------------------------ forms remembered */

/* Per configuration: the first form to try, and why the ones before it were rejected. */
typedef struct {
    int channels, spatial, chained;
    int start;
    char *rejected; /* "form: message" lines, or NULL */
} form_memory;

static form_memory *memory; /* guarded by the process lock */
static int nmemory;

static form_memory *recall(int channels, int spatial, int chained)
{
    for (int i = 0; i < nmemory; i++)
        if (memory[i].channels == channels && memory[i].spatial == spatial &&
            memory[i].chained == chained)
            return &memory[i];
    return NULL;
}

static void remember(int channels, int spatial, int chained, int start, const char *rejected)
{
    form_memory *m = recall(channels, spatial, chained);
    if (!m) {
        form_memory *grown = realloc(memory, (size_t)(nmemory + 1) * sizeof *memory);
        if (!grown) return; /* only an optimisation: forgetting costs compiles, not correctness */
        memory = grown;
        m = &memory[nmemory++];
        *m = (form_memory){channels, spatial, chained, 0, NULL};
    }
    m->start = start;
    free(m->rejected);
    m->rejected = rejected && *rejected ? strdup(rejected) : NULL;
}

/* "form: message" lines as one line, "; " between them (for messages and notes). */
static NSString *one_line(const char *lines)
{
    NSString *s = @(lines ? lines : "");
    while ([s hasSuffix:@"\n"]) s = [s substringToIndex:[s length] - 1];
    return [s stringByReplacingOccurrencesOfString:@"\n" withString:@"; "];
}

/* ------------------------------------------------------------------ compile */

static int check_spec(const anethru_kernel_spec *spec, void **kernel, char *err, size_t errlen)
{
    if (!spec || !kernel || !spec->weights || spec->channels <= 0 || spec->spatial <= 0 ||
        spec->layers <= 0) {
        anethru_set_error(err, errlen, "bad ANE kernel spec");
        return ANETHRU_E_ARG;
    }
    size_t cs = (size_t)spec->channels * (size_t)spec->spatial;
    if (cs / (size_t)spec->channels != (size_t)spec->spatial || cs > SIZE_MAX / 4 ||
        ane_weights_file_size(spec->channels, spec->layers) == 0) {
        anethru_set_error(err, errlen, "a %dx%d ANE kernel of %d layers is too large",
                          spec->channels, spec->spatial, spec->layers);
        return ANETHRU_E_ARG;
    }
    return ANETHRU_OK;
}

static void describe_kernel(char *buf, size_t buflen, const anethru_kernel_spec *spec)
{
    snprintf(buf, buflen, "a %dx%d kernel (%d layer%s)", spec->channels, spec->spatial,
             spec->layers, spec->layers == 1 ? "" : "s");
}

/* Form `index` all the way to a loaded program with its request; ANE_REJECTED when the
 * framework turned the form down.  k is torn down on any failure; *stage names the step. */
static int compile_form(ANEThruKernel *k, int index, const anethru_kernel_spec *spec,
                        const char **stage, char *err, size_t errlen)
{
    *stage = "compile";
    anethru_ane_program *p = anethru_ane_program_new(index, spec->channels, spec->spatial,
                                                     spec->layers, spec->weights);
    if (!p) {
        anethru_set_error(err, errlen, "out of memory building the ANE program");
        return ANETHRU_E_NOMEM;
    }
    k->channels = spec->channels, k->spatial = spec->spatial, k->layers = spec->layers;
    int rc = ane_kernel_stage(k, p, err, errlen);
    anethru_ane_program_free(p);
    if (rc == ANETHRU_OK) rc = ane_kernel_compile(k, err, errlen);
    if (rc == ANETHRU_OK) *stage = "load", rc = ane_kernel_load(k, err, errlen);
    if (rc == ANETHRU_OK) *stage = "setup", rc = ane_kernel_make_surfaces(k, err, errlen);
    if (rc == ANETHRU_OK) rc = ane_kernel_make_request(k, err, errlen);
    if (rc) ane_kernel_teardown(k);
    return rc;
}

/* The first form the framework accepts, from the one remembered for this configuration. */
static int compile_forms(const anethru_kernel_spec *spec, ANEThruKernel **out, char *err,
                         size_t errlen)
{
    int chained = spec->layers > 1, n = anethru_ane_form_count(spec->layers);
    form_memory *m = recall(spec->channels, spec->spatial, chained);
    int start = m ? m->start : 0;
    NSMutableString *rejected = [NSMutableString stringWithUTF8String:m && m->rejected ? m->rejected : ""];
    char what[96];
    describe_kernel(what, sizeof what, spec);
    for (int i = start; i < n; i++) {
        int rc = ane_check_limits(err, errlen);
        if (rc) return rc;
        ANEThruKernel *k = [[ANEThruKernel alloc] init];
        char why[ANETHRU_ERRLEN] = "";
        const char *stage;
        @try {
            rc = compile_form(k, i, spec, &stage, why, sizeof why);
        } @catch (id ex) { /* the caller reports it; what this form made goes first */
            ane_kernel_teardown(k);
            @throw;
        }
        if (rc == ANE_REJECTED) {
            [rejected appendFormat:@"%s: %s\n", anethru_ane_form_name(spec->layers, i), why];
            continue;
        }
        if (rc == ANETHRU_E_COMPILE) /* a failure that says nothing about the form: final */
            anethru_set_error(err, errlen, "ANE %s of %s failed (form %s): %s", stage, what,
                              anethru_ane_form_name(spec->layers, i), why);
        else if (rc)
            anethru_set_error(err, errlen, "%s", why);
        if (rc) return rc;
        k->rejected = [rejected length] ? strdup([rejected UTF8String]) : NULL;
        remember(spec->channels, spec->spatial, chained, i, [rejected UTF8String]);
        *out = k;
        return ANETHRU_OK;
    }
    /* Every form rejected: remembered too, so the process does not spend compiles again. */
    remember(spec->channels, spec->spatial, chained, n, [rejected UTF8String]);
    NSString *list = one_line([rejected UTF8String]);
    ane_copy_text(err, errlen, [NSString stringWithFormat:@"ANE compile of %s: this chip rejected "
                                                          @"every program form for %dx%d%@: %@",
                                                          what, spec->channels, spec->spatial,
                                                          start == n ? @" (rejected earlier in "
                                                                       @"this process, not tried "
                                                                       @"again)" : @"",
                                                          list]);
    return ANETHRU_E_COMPILE;
}

static int ane_compile(const anethru_kernel_spec *spec, void **kernel, char *err, size_t errlen)
{
    int rc = check_spec(spec, kernel, err, errlen);
    if (rc) return rc;
    *kernel = NULL;
    if ((rc = ane_probe(err, errlen))) return rc;
    if (err && errlen) err[0] = '\0'; /* drop the simulated build's probe note */
    @autoreleasepool {
        ANEThruKernel *k = nil;
        ane_process_lock();
        @try {
            rc = compile_forms(spec, &k, err, errlen);
            /* The non-standard eval paths asked for: a failed probe only marks that path. */
            if (rc == ANETHRU_OK && (spec->options & ANETHRU_OPT_ANE_REALTIME))
                ane_kernel_setup_path(k, ANETHRU_EVAL_REALTIME, NULL, 0);
            if (rc == ANETHRU_OK && (spec->options & ANETHRU_OPT_ANE_DIRECT))
                ane_kernel_setup_path(k, ANETHRU_EVAL_DIRECT, NULL, 0);
        } @catch (id ex) {
            ane_copy_exception(err, errlen, "ANE compile", ex);
            rc = ANETHRU_E_INTERNAL;
        }
        if (rc && k) ane_kernel_teardown(k);
        ane_process_unlock();
        if (rc == ANETHRU_OK) *kernel = (__bridge_retained void *)k;
    }
    return rc;
}

/* ------------------------------------------------------------------ eval paths, forms, notes */

static int ane_eval(void *kernel, char *err, size_t errlen)
{
    if (!kernel) {
        anethru_set_error(err, errlen, "eval of a NULL ANE kernel");
        return ANETHRU_E_ARG;
    }
    return ane_kernel_eval((__bridge ANEThruKernel *)kernel, err, errlen);
}

static int ane_set_eval_path(void *kernel, int path, char *err, size_t errlen)
{
    if (!kernel || path < 0 || path >= ANETHRU_NEVAL_PATHS) {
        anethru_set_error(err, errlen, "bad eval path request (path %d)", path);
        return ANETHRU_E_ARG;
    }
    ANEThruKernel *k = (__bridge ANEThruKernel *)kernel;
    int rc = ANETHRU_OK;
    pthread_mutex_lock(&k->evalLock);
    if (k->pathWhy[path]) {
        anethru_set_error(err, errlen, "%s", k->pathWhy[path]);
        rc = ANETHRU_E_UNSUPPORTED;
    } else {
        k->path = path;
        if (k->pathClient[path]) /* which client this path evaluates through */
            anethru_set_error(err, errlen, "through %s", k->pathClient[path]);
    }
    pthread_mutex_unlock(&k->evalLock);
    return rc;
}

static int ane_kernel_form(void *kernel, char *form, size_t formlen, char *rejected,
                           size_t rejectedlen)
{
    if (!kernel) return ANETHRU_E_ARG;
    ANEThruKernel *k = (__bridge ANEThruKernel *)kernel;
    anethru_set_error(form, formlen, "%s", k->form ? k->form : "");
    anethru_set_error(rejected, rejectedlen, "%s", k->rejected ? k->rejected : "");
    return ANETHRU_OK;
}

static int ane_notes(char *buf, size_t buflen)
{
    @autoreleasepool {
        NSMutableString *notes = [NSMutableString string];
        ane_process_lock();
        for (int i = 0; i < nmemory; i++) {
            const form_memory *m = &memory[i];
            if (!m->rejected) continue;
            int layers = m->chained ? 2 : 1, n = anethru_ane_form_count(layers);
            NSString *used = m->start < n ? [NSString stringWithFormat:@"compiled as %s",
                                                                       anethru_ane_form_name(layers, m->start)]
                                          : @"no form compiled";
            [notes appendFormat:@"%dx%d %@: %@ after the framework rejected %@\n", m->channels,
                                m->spatial, m->chained ? @"chained program" : @"kernels", used,
                                one_line(m->rejected)];
        }
        ane_process_unlock();
        ane_copy_text(buf, buflen, notes);
    }
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ lock, unlock, release */

/* lock and unlock call only IOSurface's C API: nothing is autoreleased and nothing can raise,
 * so they skip the pool and @try that would otherwise add to the timed memcpy test. */
static int surface_for(void *kernel, int port, int flags, IOSurfaceRef *s,
                       IOSurfaceLockOptions *opts, char *err, size_t errlen)
{
    if (!kernel || (port != ANETHRU_PORT_INPUT && port != ANETHRU_PORT_OUTPUT) ||
        (flags != ANETHRU_LOCK_READWRITE && flags != ANETHRU_LOCK_READONLY)) {
        anethru_set_error(err, errlen, "bad lock request (port %d, flags %d)", port, flags);
        return ANETHRU_E_ARG;
    }
    ANEThruKernel *k = (__bridge ANEThruKernel *)kernel;
    *s = k->surface[port];
    *opts = flags == ANETHRU_LOCK_READONLY ? kIOSurfaceLockReadOnly : 0;
    return ANETHRU_OK;
}

static int ane_lock(void *kernel, int port, int flags, void **addr, char *err, size_t errlen)
{
    IOSurfaceRef s;
    IOSurfaceLockOptions opts;
    int rc = surface_for(kernel, port, flags, &s, &opts, err, errlen);
    if (rc) return rc;
    kern_return_t kr = IOSurfaceLock(s, opts, NULL);
    if (kr != KERN_SUCCESS) {
        anethru_set_error(err, errlen, "IOSurfaceLock(%s, %s) failed: 0x%x",
                          port ? "output" : "input", flags ? "read-only" : "read-write", kr);
        return ANETHRU_E_LOCK;
    }
    if (addr) *addr = IOSurfaceGetBaseAddress(s);
    return ANETHRU_OK;
}

static int ane_unlock(void *kernel, int port, int flags, char *err, size_t errlen)
{
    IOSurfaceRef s;
    IOSurfaceLockOptions opts;
    int rc = surface_for(kernel, port, flags, &s, &opts, err, errlen);
    if (rc) return rc;
    kern_return_t kr = IOSurfaceUnlock(s, opts, NULL);
    if (kr != KERN_SUCCESS) {
        anethru_set_error(err, errlen, "IOSurfaceUnlock(%s, %s) failed: 0x%x",
                          port ? "output" : "input", flags ? "read-only" : "read-write", kr);
        return ANETHRU_E_LOCK;
    }
    return ANETHRU_OK;
}

static void ane_release(void *kernel)
{
    if (!kernel) return;
    @autoreleasepool {
        ANEThruKernel *k = (__bridge_transfer ANEThruKernel *)kernel;
        ane_process_lock();
        @try {
            ane_kernel_teardown(k);
        } @catch (id ex) {
            (void)ex; /* release cannot report; teardown already guards the framework call */
        }
        ane_process_unlock();
        k = nil;
    }
}

const anethru_backend anethru_ane_backend = {
    .name = "ane",
    .probe = ane_probe,
    .describe = ane_describe,
    .compile = ane_compile,
    .eval = ane_eval,
    .lock = ane_lock,
    .unlock = ane_unlock,
    .release = ane_release,
    .eval_null = NULL, /* the ANE has no empty submission: null_eval reports unsupported */
    .set_eval_path = ane_set_eval_path,
    .kernel_form = ane_kernel_form,
    .notes = ane_notes,
};
