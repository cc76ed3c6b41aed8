/* ane_bringup.m -- the ANE backend's bring-up one step at a time, for `anethru doctor`
 * (anethru.h, ANETHRU_ANE_STEP_*).
 *
 * Each step does exactly one thing the backend does when it compiles and runs a kernel, with
 * the same code (ane_kernel.m), and says what it saw in one line: the framework's own message
 * when it fails.  The session keeps what the steps made (one model per 1-layer form, the
 * surfaces and request of the first form that loaded) until it is closed, which undoes all of
 * it: unload, surfaces released, temp directories removed.  Which steps depend on which is the
 * caller's business (anethru/bringup/ane.py); a step whose prerequisite is missing says so.
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ane_internal.h"
#include "ane_tmpdir.h"

#define MAX_FORMS 8

struct anethru_ane_bringup {
    int channels, spatial, layers;
    void *forms[MAX_FORMS]; /* retained ANEThruKernel per 1-layer form, or NULL */
    int chosen;             /* the form whose kernel goes on to surfaces, request and evals */
    BOOL compiled;          /* some 1-layer form compiled at this session's shape */
};

static ANEThruKernel *form_kernel(anethru_ane_bringup *b, int form)
{
    return form >= 0 && form < MAX_FORMS && b->forms[form] ? (__bridge ANEThruKernel *)b->forms[form]
                                                            : nil;
}

static void drop_form(anethru_ane_bringup *b, int form)
{
    if (!b->forms[form]) return;
    ANEThruKernel *k = (__bridge_transfer ANEThruKernel *)b->forms[form];
    b->forms[form] = NULL;
    ane_kernel_teardown(k);
    if (b->chosen == form) b->chosen = -1;
}

anethru_ane_bringup *anethru_ane_bringup_open(int channels, int spatial, int layers)
{
    if (channels <= 0 || spatial <= 0 || layers < 2) return NULL;
    anethru_ane_bringup *b = calloc(1, sizeof *b);
    if (b) *b = (anethru_ane_bringup){channels, spatial, layers, {NULL}, -1, NO};
    return b;
}

void anethru_ane_bringup_close(anethru_ane_bringup *b)
{
    if (!b) return;
    @autoreleasepool {
        ane_process_lock();
        @try {
            for (int f = 0; f < MAX_FORMS; f++) drop_form(b, f);
        } @catch (id ex) {
            (void)ex; /* teardown guards the framework call; nothing to report to */
        }
        ane_process_unlock();
    }
    free(b);
}

/* ------------------------------------------------------------------ helpers */

/* Identity weights for `layers` layers of C x C. */
static uint16_t *identity_weights(int channels, int layers)
{
    size_t per = (size_t)channels * (size_t)channels;
    uint16_t *w = calloc(per * (size_t)layers, sizeof *w);
    if (!w) return NULL;
    for (int l = 0; l < layers; l++)
        for (int i = 0; i < channels; i++) w[per * (size_t)l + (size_t)i * channels + i] = 0x3c00;
    return w;
}

/* One eval of k (its current path) that must write the output, of a fresh input: output ==
 * input, bit for bit. */
static int identity_check(ANEThruKernel *k, char *msg, size_t msglen)
{
    size_t n = (size_t)k->channels * (size_t)k->spatial;
    uint16_t *in = malloc(n * 2), *out = malloc(n * 2);
    int rc = in && out ? ANETHRU_OK : ANETHRU_E_NOMEM;
    if (rc) anethru_set_error(msg, msglen, "out of memory");
    if (rc == ANETHRU_OK) rc = ane_kernel_eval_fresh(k, in, out, msg, msglen);
    if (rc == ANETHRU_OK) {
        size_t bad = 0, first = 0;
        for (size_t i = n; i-- > 0;)
            if (in[i] != out[i]) bad++, first = i;
        if (bad) {
            anethru_set_error(msg, msglen, "the output differs from the input in %zu of %zu "
                              "values; first at [c=%zu, s=%zu]: 0x%04x, expected 0x%04x",
                              bad, n, first / (size_t)k->spatial, first % (size_t)k->spatial,
                              out[first], in[first]);
            rc = ANETHRU_E_EVAL;
        } else {
            anethru_set_error(msg, msglen, "output == input, bit for bit (%zu fp16 values)", n);
        }
    }
    free(in);
    free(out);
    return rc;
}

static anethru_ane_program *identity_program(anethru_ane_bringup *b, int form, int layers,
                                             char *msg, size_t msglen)
{
    uint16_t *w = identity_weights(b->channels, layers);
    anethru_ane_program *p =
        w ? anethru_ane_program_new(form, b->channels, b->spatial, layers, w) : NULL;
    free(w);
    if (!p) anethru_set_error(msg, msglen, "cannot build form %d of a %d-layer %dx%d program",
                              form, layers, b->channels, b->spatial);
    return p;
}

static int need(BOOL have, const char *what, char *msg, size_t msglen)
{
    if (have) return ANETHRU_OK;
    anethru_set_error(msg, msglen, "needs %s first", what);
    return ANETHRU_E_ARG;
}

/* ------------------------------------------------------------------ the steps */

static int step_framework(char *msg, size_t msglen)
{
    char why[ANETHRU_ERRLEN] = "";
    int rc = ane_framework_load(why, sizeof why);
    if (ane_framework_opened()) {
        anethru_set_error(msg, msglen, "dlopen of AppleNeuralEngine.framework succeeded");
        return ANETHRU_OK;
    }
    anethru_set_error(msg, msglen, "%s", why);
    return rc ? rc : ANETHRU_E_UNAVAILABLE;
}

static int step_class(int index, char *msg, size_t msglen)
{
    const char *name = anethru_ane_class_name(index);
    if (!name) return need(NO, "a known class index", msg, msglen);
    if (ane_class(index)) {
        anethru_set_error(msg, msglen, "%s found", name);
        return ANETHRU_OK;
    }
    anethru_set_error(msg, msglen, "NSClassFromString(@\"%s\") returned nil: this macOS's "
                      "AppleNeuralEngine.framework has no such class%s", name,
                      anethru_ane_class_required(index) ? ""
                          : " (only the realtime and direct eval paths need it)");
    return ANETHRU_E_UNAVAILABLE;
}

static int step_selectors(int client, char *msg, size_t msglen)
{
    if (client && !ane_class(ANE_CLASS_CLIENT)) return need(NO, "_ANEClient", msg, msglen);
    char missing[ANETHRU_ERRLEN] = "";
    ane_missing_selectors(client, missing, sizeof missing);
    int checked = 0;
    for (int i = 0; i < ANE_NMESSAGES; i++) {
        int id = ane_message_signatures[i].class_id;
        checked += ane_class(id) && (id == ANE_CLASS_CLIENT) == (client != 0);
    }
    if (missing[0]) {
        for (char *p = missing; *p; p++)
            if (*p == '\n') *p = ',';
        anethru_set_error(msg, msglen, "the framework does not respond to %s", missing);
        return ANETHRU_E_UNAVAILABLE;
    }
    anethru_set_error(msg, msglen, "all %d messages answered", checked);
    return ANETHRU_OK;
}

static int step_tmpdir(char *msg, size_t msglen)
{
    NSString *base = NSTemporaryDirectory();
    NSString *dir = [base stringByAppendingPathComponent:
                              [NSString stringWithFormat:@"anethru-doctor-%d", (int)getpid()]];
    const char *path = [dir fileSystemRepresentation];
    if (!base || !path) {
        anethru_set_error(msg, msglen, "NSTemporaryDirectory() gave no usable directory");
        return ANETHRU_E_UNAVAILABLE;
    }
    static const char probe[] = "anethru doctor";
    ane_tmpdir_file files[] = {{"model.mil", probe, sizeof probe}, {"weights/weight.bin", probe, sizeof probe}};
    char why[ANETHRU_ERRLEN] = "";
    if (ane_tmpdir_acquire(path, files, 2, why, sizeof why) != 0) {
        anethru_set_error(msg, msglen, "%s", why);
        return ANETHRU_E_UNAVAILABLE;
    }
    ane_tmpdir_release(path);
    anethru_set_error(msg, msglen, "%s: a private (0700) kernel directory was written and removed",
                      [base fileSystemRepresentation]);
    return ANETHRU_OK;
}

static int step_descriptor(anethru_ane_bringup *b, int form, char *msg, size_t msglen)
{
    if (form < 0 || form >= anethru_ane_form_count(1) || form >= MAX_FORMS)
        return need(NO, "a known 1-layer form", msg, msglen);
    drop_form(b, form);
    anethru_ane_program *p = identity_program(b, form, 1, msg, msglen);
    if (!p) return ANETHRU_E_NOMEM;
    ANEThruKernel *k = [[ANEThruKernel alloc] init];
    k->channels = b->channels, k->spatial = b->spatial, k->layers = 1;
    int rc;
    @try {
        rc = ane_kernel_stage(k, p, msg, msglen);
    } @catch (id ex) {
        anethru_ane_program_free(p);
        ane_kernel_teardown(k);
        @throw;
    }
    anethru_ane_program_free(p);
    if (rc) {
        ane_kernel_teardown(k);
        return rc == ANE_REJECTED ? ANETHRU_E_COMPILE : rc;
    }
    b->forms[form] = (__bridge_retained void *)k;
    anethru_set_error(msg, msglen, "descriptor and in-memory model made; model.mil and the "
                      "weights written to %s", k->dir);
    return ANETHRU_OK;
}

static int step_compile(anethru_ane_bringup *b, int form, char *msg, size_t msglen)
{
    ANEThruKernel *k = form_kernel(b, form);
    int rc = need(k != nil, "this form's descriptor", msg, msglen);
    if (rc == ANETHRU_OK) rc = ane_kernel_compile(k, msg, msglen);
    if (rc == ANE_REJECTED) rc = ANETHRU_E_COMPILE;
    if (rc == ANETHRU_OK) anethru_set_error(msg, msglen, "compileWithQoS: succeeded");
    if (rc == ANETHRU_OK) b->compiled = YES;
    if (rc && k) drop_form(b, form);
    return rc;
}

static int step_load(anethru_ane_bringup *b, int form, char *msg, size_t msglen)
{
    ANEThruKernel *k = form_kernel(b, form);
    int rc = need(k != nil, "this form's compile", msg, msglen);
    if (rc == ANETHRU_OK) rc = ane_kernel_load(k, msg, msglen);
    if (rc == ANETHRU_OK) {
        if (b->chosen < 0) b->chosen = form;
        anethru_set_error(msg, msglen, "loadWithQoS: succeeded%s",
                          b->chosen == form ? "; the next steps use this form" : "");
    } else if (k) {
        drop_form(b, form);
    }
    return rc;
}

static int step_chained(anethru_ane_bringup *b, int form, char *msg, size_t msglen)
{
    if (form < 0 || form >= anethru_ane_form_count(b->layers))
        return need(NO, "a known chained form", msg, msglen);
    anethru_ane_program *p = identity_program(b, form, b->layers, msg, msglen);
    if (!p) return ANETHRU_E_NOMEM;
    ANEThruKernel *k = [[ANEThruKernel alloc] init];
    k->channels = b->channels, k->spatial = b->spatial, k->layers = b->layers;
    const char *stage = "descriptor";
    int rc;
    @try {
        rc = ane_kernel_stage(k, p, msg, msglen);
        if (rc == ANETHRU_OK) stage = "compile", rc = ane_kernel_compile(k, msg, msglen);
        if (rc == ANETHRU_OK) stage = "load", rc = ane_kernel_load(k, msg, msglen);
        if (rc == ANETHRU_OK) stage = "surfaces", rc = ane_kernel_make_surfaces(k, msg, msglen);
        if (rc == ANETHRU_OK) stage = "request", rc = ane_kernel_make_request(k, msg, msglen);
        if (rc == ANETHRU_OK) stage = "eval", rc = identity_check(k, msg, msglen);
    } @catch (id ex) {
        anethru_ane_program_free(p);
        ane_kernel_teardown(k);
        @throw;
    }
    anethru_ane_program_free(p);
    if (rc == ANE_REJECTED) rc = ANETHRU_E_COMPILE;
    if (rc) {
        char why[ANETHRU_ERRLEN];
        snprintf(why, sizeof why, "%s", msg);
        anethru_set_error(msg, msglen, "%s: %s", stage, why);
    } else {
        char what[ANETHRU_ERRLEN];
        snprintf(what, sizeof what, "%s", msg);
        anethru_set_error(msg, msglen, "%d layers compiled, loaded and run: %s", b->layers, what);
    }
    ane_kernel_teardown(k);
    return rc;
}

static int step_path(anethru_ane_bringup *b, int path, char *msg, size_t msglen)
{
    ANEThruKernel *k = form_kernel(b, b->chosen);
    int rc = need(k && k->request, "a kernel with its request", msg, msglen);
    if (rc == ANETHRU_OK) rc = ane_kernel_setup_path(k, path, msg, msglen);
    if (rc == ANETHRU_OK) {
        k->path = path;
        rc = identity_check(k, msg, msglen);
        k->path = ANETHRU_EVAL_STANDARD;
    }
    if (rc == ANETHRU_OK) { /* which client worked, for the report */
        char what[ANETHRU_ERRLEN];
        snprintf(what, sizeof what, "%s", msg);
        anethru_set_error(msg, msglen, "%s; through %s", what, k->pathClient[path]);
    }
    return rc;
}

/* Stage and compile a 1-layer identity program of one form at C x S, then undo it all. */
static int compile_only(int form, int channels, int spatial, char *msg, size_t msglen)
{
    uint16_t *w = identity_weights(channels, 1);
    anethru_ane_program *p = w ? anethru_ane_program_new(form, channels, spatial, 1, w) : NULL;
    free(w);
    if (!p) {
        anethru_set_error(msg, msglen, "cannot build form %d of a %dx%d program", form, channels, spatial);
        return ANETHRU_E_NOMEM;
    }
    ANEThruKernel *k = [[ANEThruKernel alloc] init];
    k->channels = channels, k->spatial = spatial, k->layers = 1;
    int rc;
    @try {
        rc = ane_kernel_stage(k, p, msg, msglen);
        if (rc == ANETHRU_OK) rc = ane_kernel_compile(k, msg, msglen);
    } @catch (id ex) {
        anethru_ane_program_free(p);
        ane_kernel_teardown(k);
        @throw;
    }
    anethru_ane_program_free(p);
    ane_kernel_teardown(k);
    return rc;
}

/* When no 1-layer form compiled at this shape: the shape or the chip?  A chip that compiles
 * the known-good 512x64 refuses the shape (an M3 Pro compiled only 512 channels among 52
 * counts, maderix's benchmark report); one that compiles nothing cannot compile at all here. */
static int step_shape(anethru_ane_bringup *b, char *msg, size_t msglen)
{
    const int C = ANETHRU_ANE_KNOWN_CHANNELS, S = ANETHRU_ANE_KNOWN_SPATIAL;
    if (b->compiled) {
        anethru_set_error(msg, msglen, "not needed: a program compiled at %dx%d", b->channels, b->spatial);
        return ANETHRU_OK;
    }
    char all[ANETHRU_ERRLEN] = "";
    for (int f = 0; f < anethru_ane_form_count(1); f++) {
        char why[ANETHRU_ERRLEN] = "";
        int rc = compile_only(f, C, S, why, sizeof why);
        if (rc == ANETHRU_OK) {
            anethru_set_error(msg, msglen, "the shape is the cause: this chip rejected every program "
                              "form for %dx%d, but compiled %dx%d (form %s); try other channel "
                              "counts, and a spatial size that is a multiple of 16 and at least 32",
                              b->channels, b->spatial, C, S, anethru_ane_form_name(1, f));
            return ANETHRU_E_COMPILE;
        }
        if (rc != ANE_REJECTED) { /* a limit or a failure that says nothing about the chip */
            anethru_set_error(msg, msglen, "%s", why);
            return rc;
        }
        size_t used = strlen(all);
        snprintf(all + used, sizeof all - used, "%s%s: %s", used ? "; " : "",
                 anethru_ane_form_name(1, f), why);
    }
    anethru_set_error(msg, msglen, "this ANE cannot compile anything: this chip rejected every "
                      "program form for %dx%d, and for %dx%d too: %s", b->channels, b->spatial, C, S, all);
    return ANETHRU_E_COMPILE;
}

static int step_compiles_left(char *msg, size_t msglen)
{
    int done = ane_compiles_done(), left = ANETHRU_ANE_MAX_COMPILES - done;
    anethru_set_error(msg, msglen, "%d of %d compiles left in this process (%d made, %d of them "
                      "rejected by the framework)", left > 0 ? left : 0, ANETHRU_ANE_MAX_COMPILES,
                      done, ane_compiles_rejected());
    return left > 0 ? ANETHRU_OK : ANETHRU_E_LIMIT;
}

static int run_step(anethru_ane_bringup *b, int step, int arg, char *msg, size_t msglen)
{
    ANEThruKernel *k = form_kernel(b, b->chosen);
    int rc;
    switch (step) {
    case ANETHRU_ANE_STEP_PLATFORM:
        rc = ane_host_check(msg, msglen);
        if (rc == ANETHRU_OK) anethru_set_error(msg, msglen, "macOS, an arm64 process (not Rosetta)");
        return rc;
    case ANETHRU_ANE_STEP_FRAMEWORK: return step_framework(msg, msglen);
    case ANETHRU_ANE_STEP_CLASS: return step_class(arg, msg, msglen);
    case ANETHRU_ANE_STEP_SELECTORS: return step_selectors(arg, msg, msglen);
    case ANETHRU_ANE_STEP_TMPDIR: return step_tmpdir(msg, msglen);
    case ANETHRU_ANE_STEP_DESCRIPTOR: return step_descriptor(b, arg, msg, msglen);
    case ANETHRU_ANE_STEP_COMPILE: return step_compile(b, arg, msg, msglen);
    case ANETHRU_ANE_STEP_LOAD: return step_load(b, arg, msg, msglen);
    case ANETHRU_ANE_STEP_SURFACES:
        if ((rc = need(k != nil, "a loaded program", msg, msglen))) return rc;
        if ((rc = ane_kernel_make_surfaces(k, msg, msglen))) return rc;
        anethru_set_error(msg, msglen, "two IOSurfaces of %zu bytes", IOSurfaceGetAllocSize(k->surface[0]));
        return ANETHRU_OK;
    case ANETHRU_ANE_STEP_REQUEST:
        if ((rc = need(k && k->surface[1], "the surfaces", msg, msglen))) return rc;
        if ((rc = ane_kernel_make_request(k, msg, msglen))) return rc;
        anethru_set_error(msg, msglen, "_ANEIOSurfaceObject wrappers and an _ANERequest made");
        return ANETHRU_OK;
    case ANETHRU_ANE_STEP_EVAL:
        if ((rc = need(k && k->request, "the request", msg, msglen))) return rc;
        if ((rc = ane_kernel_eval(k, msg, msglen))) return rc;
        anethru_set_error(msg, msglen, "evaluateWithQoS: succeeded");
        return ANETHRU_OK;
    case ANETHRU_ANE_STEP_IDENTITY:
        if ((rc = need(k && k->request, "the request", msg, msglen))) return rc;
        return identity_check(k, msg, msglen);
    case ANETHRU_ANE_STEP_CHAINED: return step_chained(b, arg, msg, msglen);
    case ANETHRU_ANE_STEP_REALTIME: return step_path(b, ANETHRU_EVAL_REALTIME, msg, msglen);
    case ANETHRU_ANE_STEP_DIRECT: return step_path(b, ANETHRU_EVAL_DIRECT, msg, msglen);
    case ANETHRU_ANE_STEP_COMPILES_LEFT: return step_compiles_left(msg, msglen);
    case ANETHRU_ANE_STEP_SHAPE: return step_shape(b, msg, msglen);
    default: return need(NO, "a known step", msg, msglen);
    }
}

int anethru_ane_bringup_step(anethru_ane_bringup *b, int step, int arg, char *msg, size_t msglen)
{
    if (!b) {
        anethru_set_error(msg, msglen, "no bring-up session");
        return ANETHRU_E_ARG;
    }
    if (msg && msglen) msg[0] = '\0';
    int rc;
    @autoreleasepool {
        ane_process_lock();
        @try {
            rc = run_step(b, step, arg, msg, msglen);
        } @catch (id ex) {
            ane_copy_exception(msg, msglen, "ANE bring-up", ex);
            rc = ANETHRU_E_INTERNAL;
        }
        ane_process_unlock();
    }
    return rc;
}
