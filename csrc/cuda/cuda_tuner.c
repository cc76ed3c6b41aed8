/* cuda_tuner.c -- choose the conv variant per shape (see cuda_tuner.h), and report the choice
 * to Python (anethru_cuda_kernel_choice in anethru.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "cuda_tuner.h"

/* Launches per timed graph, and timed replays of it (after one untimed): enough to see a
 * kernel of a few microseconds above the launch of the graph, short enough that tuning all
 * variants stays in the milliseconds. */
#define TUNE_LAUNCHES 8
#define TUNE_ROUNDS 3

typedef struct choice {
    struct choice *next;
    int channels, spatial, mapped;
    anethru_cuda_choice rec;
    int variant;
} choice;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static choice *g_choices; /* the last choice per shape and memory mode */
static int g_serial;

/* fork() while another thread tunes would leave the child a lock nobody will release (and a
 * record half written): fork waits for the tuning to end, and the child starts unlocked. */
static void fork_prepare(void) { pthread_mutex_lock(&g_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&g_mu); }
static void fork_child(void) { pthread_mutex_init(&g_mu, NULL); }
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }

static void tuner_lock(void)
{
    pthread_once(&g_atfork_once, register_atfork);
    pthread_mutex_lock(&g_mu);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Append printf output to a fixed buffer, truncating quietly. */
static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static int usable(const cuda_driver *drv, int i, int c, int s, char *why, size_t whylen)
{
    if (!cuda_variant_fits(&cuda_variants[i], c, s, why, whylen)) return 0;
    if (!drv->conv[i]) {
        anethru_set_error(why, whylen, "not loaded: %s", drv->unloaded[i]);
        return 0;
    }
    return 1;
}

int cuda_any_variant_fits(const cuda_driver *drv, int c, int s, char *why, size_t whylen)
{
    char ignored[200];
    for (int i = 0; i < cuda_nvariants; i++)
        if (usable(drv, i, c, s, ignored, sizeof ignored)) return 1;
    /* Every shape fits the FMA kernel's tiling, so what stopped it is a launch limit. */
    cuda_variant_fits(&cuda_variants[cuda_fma_variant], c, s, why, whylen);
    return 0;
}

CUresult cuda_launch_variant(const cuda_driver *drv, int i, const cuda_bench *b)
{
    unsigned grid[2], block[2];
    cuda_variant_geometry(&cuda_variants[i], b->channels, b->spatial, grid, block);
    CUdeviceptr w = b->weights, x = b->in, y = b->out;
    int c = b->channels, s = b->spatial;
    void *params[] = {&w, &x, &y, &c, &s};
    return drv->api.cuLaunchKernel(drv->conv[i], grid[0], grid[1], 1, block[0], block[1], 1, 0,
                                   b->stream, params, NULL);
}

/* Microseconds per launch of variant i (best of TUNE_ROUNDS), or < 0 with why in `why` when it
 * cannot be launched (it is then skipped).  A failure the GPU reports while running is not
 * skippable (the context may be lost): *fatal is set and `why` says what failed. */
static double time_variant(const cuda_driver *drv, int i, const cuda_bench *b, int *fatal,
                           char *why, size_t whylen)
{
    const cuda_driver_api *cu = &drv->api;
    CUgraphExec exec = NULL;
    CUresult r = CUDA_SUCCESS;
    char what[128];
    if (!drv->no_graphs) {
        CUgraph graph = NULL;
        if ((r = cu->cuStreamBeginCapture_v2(b->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)))
            return cuda_fail(drv, 0, r, "cuStreamBeginCapture", why, whylen), -1;
        CUresult rl = CUDA_SUCCESS;
        for (int n = 0; n < TUNE_LAUNCHES && rl == CUDA_SUCCESS; n++)
            rl = cuda_launch_variant(drv, i, b);
        r = cu->cuStreamEndCapture(b->stream, &graph); /* always: the stream must leave capture */
        if (rl != CUDA_SUCCESS || r != CUDA_SUCCESS) {
            if (graph) cu->cuGraphDestroy(graph);
            snprintf(what, sizeof what, rl ? "cuLaunchKernel(%s)" : "cuStreamEndCapture",
                     cuda_variants[i].entry);
            return cuda_fail(drv, 0, rl ? rl : r, what, why, whylen), -1;
        }
        r = cu->cuGraphInstantiateWithFlags(&exec, graph, 0);
        cu->cuGraphDestroy(graph);
        if (r != CUDA_SUCCESS) return cuda_fail(drv, 0, r, "cuGraphInstantiate", why, whylen), -1;
    }
    double best = -1;
    for (int round = 0; round <= TUNE_ROUNDS; round++) { /* round 0 is untimed */
        double t0 = now_ms();
        if (exec) {
            r = cu->cuGraphLaunch(exec, b->stream);
            snprintf(what, sizeof what, "cuGraphLaunch(%s x %d)", cuda_variants[i].entry,
                     TUNE_LAUNCHES);
        } else {
            for (int n = 0; n < TUNE_LAUNCHES && r == CUDA_SUCCESS; n++)
                r = cuda_launch_variant(drv, i, b);
            snprintf(what, sizeof what, "cuLaunchKernel(%s)", cuda_variants[i].entry);
        }
        if (r != CUDA_SUCCESS) break;
        r = cu->cuStreamSynchronize(b->stream);
        if (r != CUDA_SUCCESS) {
            snprintf(what, sizeof what, "cuStreamSynchronize after timing %s",
                     cuda_variants[i].entry);
            *fatal = 1;
            break;
        }
        double us = (now_ms() - t0) * 1e3 / TUNE_LAUNCHES;
        if (round > 0 && (best < 0 || us < best)) best = us;
    }
    if (exec) cu->cuGraphExecDestroy(exec);
    if (r != CUDA_SUCCESS) return cuda_fail(drv, 0, r, what, why, whylen), -1;
    return best;
}

/* Time every usable variant and keep the fastest; rec gets the record. */
static int tune(const cuda_driver *drv, const cuda_bench *b, choice *out, char *err,
                size_t errlen)
{
    anethru_cuda_choice *rec = &out->rec;
    int c = b->channels, s = b->spatial, candidates = 0, only = -1;
    char why[256];
    for (int i = 0; i < cuda_nvariants; i++)
        if (usable(drv, i, c, s, why, sizeof why)) candidates++, only = i;
    if (candidates == 0) {
        cuda_any_variant_fits(drv, c, s, why, sizeof why);
        anethru_set_error(err, errlen, "no CUDA kernel variant can run %dx%d: %s", c, s, why);
        return ANETHRU_E_LIMIT;
    }
    if (candidates == 1) {
        out->variant = only;
        snprintf(rec->detail, sizeof rec->detail, "%s: the only variant for %dx%d",
                 cuda_variants[only].name, c, s);
        return ANETHRU_OK;
    }
    double t0 = now_ms(), best = -1;
    char first_failure[320] = "";
    for (int i = 0; i < cuda_nvariants; i++) {
        if (!cuda_variant_fits(&cuda_variants[i], c, s, why, sizeof why)) continue;
        if (!usable(drv, i, c, s, why, sizeof why)) {
            append(rec->detail, sizeof rec->detail, "%s%s: skipped, %s", rec->detail[0] ? "; " : "",
                   cuda_variants[i].name, why);
            continue;
        }
        int fatal = 0;
        double us = time_variant(drv, i, b, &fatal, why, sizeof why);
        if (fatal) {
            anethru_set_error(err, errlen, "tuning the CUDA kernel for %dx%d: %s", c, s, why);
            return ANETHRU_E_COMPILE;
        }
        if (us < 0) {
            append(rec->detail, sizeof rec->detail, "%s%s: skipped, %s", rec->detail[0] ? "; " : "",
                   cuda_variants[i].name, why);
            if (!first_failure[0])
                snprintf(first_failure, sizeof first_failure, "%.40s: %.250s", cuda_variants[i].name, why);
        }
        else
            append(rec->detail, sizeof rec->detail, "%s%s %.2f us", rec->detail[0] ? "; " : "",
                   cuda_variants[i].name, us);
        if (us >= 0 && (best < 0 || us < best)) best = us, out->variant = i;
    }
    rec->tuning_ms = now_ms() - t0;
    if (best < 0) {
        anethru_set_error(err, errlen, "none of the %d CUDA kernel variants for %dx%d could be "
                          "launched; the first: %s", candidates, c, s, first_failure);
        return ANETHRU_E_COMPILE;
    }
    return ANETHRU_OK;
}

/* The variant ANETHRU_CUDA_KERNEL names, checked against this shape and GPU. */
static int forced(const cuda_driver *drv, const char *name, int c, int s, int *variant,
                  char *err, size_t errlen)
{
    int i = cuda_variant_find(name);
    char why[256];
    if (i < 0) {
        char names[1024];
        cuda_variant_names(names, sizeof names);
        anethru_set_error(err, errlen, "ANETHRU_CUDA_KERNEL=%s names no CUDA kernel variant; "
                          "choose one of: %s", name, names);
        return ANETHRU_E_ARG;
    }
    if (!cuda_variant_fits(&cuda_variants[i], c, s, why, sizeof why)) {
        anethru_set_error(err, errlen, "ANETHRU_CUDA_KERNEL=%s cannot run %dx%d: it %s", name, c,
                          s, why);
        return ANETHRU_E_ARG;
    }
    if (!drv->conv[i]) {
        anethru_set_error(err, errlen, "ANETHRU_CUDA_KERNEL=%s is unavailable on this GPU: %s",
                          name, drv->unloaded[i]);
        return ANETHRU_E_UNSUPPORTED;
    }
    *variant = i;
    return ANETHRU_OK;
}

static choice *find(int c, int s, int mapped)
{
    for (choice *e = g_choices; e; e = e->next)
        if (e->channels == c && e->spatial == s && e->mapped == mapped) return e;
    return NULL;
}

int cuda_choose_variant(const cuda_driver *drv, const cuda_bench *b, int *variant, char *err,
                        size_t errlen)
{
    const char *env = getenv("ANETHRU_CUDA_KERNEL");
    int c = b->channels, s = b->spatial, rc = ANETHRU_OK;
    tuner_lock(); /* one tuning at a time; later compiles of the shape reuse it */
    choice *e = find(c, s, b->mapped);
    if (e && !e->rec.forced && !(env && *env)) {
        *variant = e->variant;
        pthread_mutex_unlock(&g_mu);
        return ANETHRU_OK;
    }
    choice fresh;
    memset(&fresh, 0, sizeof fresh);
    if (env && *env) {
        rc = forced(drv, env, c, s, &fresh.variant, err, errlen);
        fresh.rec.forced = 1;
        snprintf(fresh.rec.detail, sizeof fresh.rec.detail, "forced by ANETHRU_CUDA_KERNEL");
    } else {
        rc = tune(drv, b, &fresh, err, errlen);
    }
    if (rc == ANETHRU_OK) {
        if (!e && (e = calloc(1, sizeof *e)) != NULL) {
            e->next = g_choices;
            g_choices = e;
        }
        if (e) { /* without memory for the record, the choice still stands; it is just not kept */
            choice *next = e->next;
            *e = fresh;
            e->next = next;
            e->channels = c;
            e->spatial = s;
            e->mapped = b->mapped;
            snprintf(e->rec.kernel, sizeof e->rec.kernel, "%s", cuda_variants[fresh.variant].name);
            e->rec.serial = ++g_serial;
        }
        *variant = fresh.variant;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int anethru_cuda_kernel_choice(int channels, int spatial, int mapped, anethru_cuda_choice *out)
{
    if (!out) return ANETHRU_E_ARG;
    tuner_lock();
    choice *e = find(channels, spatial, mapped ? 1 : 0);
    if (e) *out = e->rec;
    pthread_mutex_unlock(&g_mu);
    return e ? ANETHRU_OK : ANETHRU_E_ARG;
}

int anethru_cuda_choices_made(void)
{
    tuner_lock();
    int n = g_serial;
    pthread_mutex_unlock(&g_mu);
    return n;
}
