/* virtual_backend.c -- "virtual", the test suite's backend: a clock the tests control and a
 * trace of every operation, so a timed block that runs the wrong work fails a test.
 *
 * It computes what the cpu backend computes (each kernel wraps a cpu kernel, with its lock
 * rules), but time is virtual: each operation advances its chain's clock by a fixed cost
 * (anethru_virtual_set_costs), and the harness reads that clock instead of the real one
 * (backend.h: clock_ns, and copy for the tensor copies).  Every block total then has exactly
 * one right value, which tests compute from the costs.  Each operation is also recorded
 * (operation, kernel, port, flags, thread, clock), so tests can compare a pass with the
 * seed's order of operations and see which thread ran each eval.
 *
 * Per chain: kernels compiled for the same anethru_kernel_spec.chain_id share one clock and
 * one trace (a "group"), so chains in one process never see each other's time.  Kernels are
 * numbered in the order the chain compiles them (k0 .. kN-1; the chained program is -1).
 * Never picked by backend="auto" and not listed unless asked (test_only).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef __APPLE__
#include <sys/syscall.h>
#endif

#include "backend.h"

extern const anethru_backend anethru_cpu_backend;
#define INNER (&anethru_cpu_backend)

/* Distinct primes, so that no two different mixes of operations cost the same by accident. */
#define DEFAULT_COSTS                                                                        \
    {.eval = 1009, .lock = 17, .unlock = 19, .copy_byte = 3, .handoff = 101, .chained = 4001, \
     .null_eval = 7}
static const anethru_virtual_costs default_costs = DEFAULT_COSTS;

typedef struct group {
    struct group *next;
    uint64_t chain_id;
    int refs;           /* kernels alive */
    int next_index;     /* one-layer kernels compiled so far: the next one's position */
    pthread_mutex_t mu; /* the caller's and the serial queue's threads both record */
    anethru_virtual_costs costs;
    uint64_t now;          /* the virtual clock, ns */
    uint64_t clock_reader; /* thread that last read the clock; 0 before the first read */
    anethru_trace_entry *trace;
    long trace_cap, trace_len, trace_dropped;
} group;

typedef struct {
    void *inner;     /* the cpu backend's kernel */
    group *g;
    int index;       /* position in the chain; -1: the chained program */
    void *addr[2];   /* each port's buffer, as the last lock returned it */
    int depth[2];    /* locks held on each port (nested locks count) */
} vkernel;

/* Groups alive, and the settings new chains take. */
static pthread_mutex_t groups_mu = PTHREAD_MUTEX_INITIALIZER;
static group *groups;
static anethru_virtual_costs next_costs = DEFAULT_COSTS;
static long next_trace_cap;

static uint64_t thread_id(void)
{
#ifdef __APPLE__
    uint64_t id = 0;
    pthread_threadid_np(NULL, &id);
    return id;
#else
    return (uint64_t)syscall(SYS_gettid);
#endif
}

/* ------------------------------------------------------------------ test hooks */

void anethru_virtual_set_costs(const anethru_virtual_costs *costs, long trace_capacity)
{
    pthread_mutex_lock(&groups_mu);
    next_costs = costs ? *costs : default_costs;
    next_trace_cap = trace_capacity > 0 ? trace_capacity : 0;
    pthread_mutex_unlock(&groups_mu);
}

/* The live group of a chain, with groups_mu held; NULL if none. */
static group *find_group(uint64_t chain_id)
{
    for (group *g = groups; g; g = g->next)
        if (chain_id && g->chain_id == chain_id) return g;
    return NULL;
}

long anethru_virtual_trace(uint64_t chain_id, long start, anethru_trace_entry *out, long cap,
                           long *dropped)
{
    pthread_mutex_lock(&groups_mu);
    group *g = find_group(chain_id);
    long len = -1;
    if (g) {
        pthread_mutex_lock(&g->mu);
        len = g->trace_len;
        if (dropped) *dropped = g->trace_dropped;
        for (long i = 0; out && start >= 0 && i < cap && start + i < len; i++)
            out[i] = g->trace[start + i];
        pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_unlock(&groups_mu);
    return len;
}

void anethru_virtual_trace_clear(uint64_t chain_id)
{
    pthread_mutex_lock(&groups_mu);
    group *g = find_group(chain_id);
    if (g) {
        pthread_mutex_lock(&g->mu);
        g->trace_len = g->trace_dropped = 0;
        pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_unlock(&groups_mu);
}

/* ------------------------------------------------------------------ groups */

/* The group of chain_id, created with the current settings if new; one more reference. */
static group *group_join(uint64_t chain_id)
{
    pthread_mutex_lock(&groups_mu);
    group *g = find_group(chain_id);
    if (!g) {
        g = calloc(1, sizeof *g);
        anethru_trace_entry *trace =
            next_trace_cap ? calloc((size_t)next_trace_cap, sizeof *trace) : NULL;
        if (!g || (next_trace_cap && !trace)) {
            free(g);
            free(trace);
            pthread_mutex_unlock(&groups_mu);
            return NULL;
        }
        g->chain_id = chain_id;
        g->costs = next_costs;
        g->trace = trace;
        g->trace_cap = next_trace_cap;
        pthread_mutex_init(&g->mu, NULL);
        g->next = groups;
        groups = g;
    }
    g->refs++;
    pthread_mutex_unlock(&groups_mu);
    return g;
}

static void group_leave(group *g)
{
    pthread_mutex_lock(&groups_mu);
    if (--g->refs == 0) {
        for (group **p = &groups; *p; p = &(*p)->next)
            if (*p == g) {
                *p = g->next;
                break;
            }
        pthread_mutex_destroy(&g->mu);
        free(g->trace);
        free(g);
    }
    pthread_mutex_unlock(&groups_mu);
}

/* Advance the clock by `cost` and record the operation, with g->mu held. */
static void record(group *g, uint64_t cost, anethru_trace_entry e)
{
    g->now += cost;
    e.clock_ns = g->now;
    if (g->trace_len < g->trace_cap) g->trace[g->trace_len++] = e;
    else if (g->trace_cap) g->trace_dropped++;
}

static anethru_trace_entry entry(int op, int kernel, uint64_t thread)
{
    anethru_trace_entry e = {op, kernel, -1, -1, -1, -1, 0, thread, 0};
    return e;
}

/* ------------------------------------------------------------------ the backend */

static int virtual_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return ANETHRU_OK;
}

static int virtual_describe(char *buf, size_t buflen)
{
    anethru_set_error(buf, buflen,
                      "SIMULATED virtual clock (test backend): the cpu backend's numerics; "
                      "every time is a sum of configured costs, not a measurement");
    return ANETHRU_OK;
}

static int virtual_compile(const anethru_kernel_spec *spec, void **out, char *err, size_t errlen)
{
    *out = NULL;
    vkernel *k = calloc(1, sizeof *k);
    group *g = k ? group_join(spec->chain_id) : NULL;
    if (!g) {
        free(k);
        anethru_set_error(err, errlen, "cannot allocate a virtual kernel and its trace");
        return ANETHRU_E_NOMEM;
    }
    int rc = INNER->compile(spec, &k->inner, err, errlen);
    if (rc) {
        group_leave(g);
        free(k);
        return rc;
    }
    k->g = g;
    pthread_mutex_lock(&g->mu);
    k->index = spec->layers > 1 ? -1 : g->next_index++;
    pthread_mutex_unlock(&g->mu);
    *out = k;
    return ANETHRU_OK;
}

/* An eval (or null eval) costs `cost`, plus the hand-off when it runs on a thread other than
 * the one that reads the clock: the serial queue's worker. */
static int timed_eval(vkernel *k, int op, uint64_t cost, int rc)
{
    if (rc) return rc;
    uint64_t self = thread_id();
    pthread_mutex_lock(&k->g->mu);
    if (k->g->clock_reader && self != k->g->clock_reader) cost += k->g->costs.handoff;
    record(k->g, cost, entry(op, k->index, self));
    pthread_mutex_unlock(&k->g->mu);
    return ANETHRU_OK;
}

static int virtual_eval(void *kernel, char *err, size_t errlen)
{
    vkernel *k = kernel;
    int rc = INNER->eval(k->inner, err, errlen);
    return timed_eval(k, ANETHRU_TRACE_EVAL, k->index < 0 ? k->g->costs.chained : k->g->costs.eval,
                      rc);
}

static int virtual_eval_null(void *kernel, char *err, size_t errlen)
{
    vkernel *k = kernel;
    int rc = INNER->eval_null(k->inner, err, errlen);
    return timed_eval(k, ANETHRU_TRACE_EVAL_NULL, k->g->costs.null_eval, rc);
}

static int virtual_lock(void *kernel, int port, int flags, void **addr, char *err, size_t errlen)
{
    vkernel *k = kernel;
    int rc = INNER->lock(k->inner, port, flags, addr, err, errlen);
    if (rc) return rc;
    anethru_trace_entry e = entry(ANETHRU_TRACE_LOCK, k->index, thread_id());
    e.port = port;
    e.flags = flags;
    pthread_mutex_lock(&k->g->mu);
    k->addr[port] = *addr;
    k->depth[port]++;
    record(k->g, k->g->costs.lock, e);
    pthread_mutex_unlock(&k->g->mu);
    return ANETHRU_OK;
}

static int virtual_unlock(void *kernel, int port, int flags, char *err, size_t errlen)
{
    vkernel *k = kernel;
    int rc = INNER->unlock(k->inner, port, flags, err, errlen);
    if (rc) return rc;
    anethru_trace_entry e = entry(ANETHRU_TRACE_UNLOCK, k->index, thread_id());
    e.port = port;
    e.flags = flags;
    pthread_mutex_lock(&k->g->mu);
    k->depth[port]--;
    record(k->g, k->g->costs.unlock, e);
    pthread_mutex_unlock(&k->g->mu);
    return ANETHRU_OK;
}

/* Which locked port of k holds `p`; -1 if none (a copy to or from an unlocked buffer). */
static int locked_port(const vkernel *k, const void *p)
{
    for (int port = 0; port < 2; port++)
        if (k->depth[port] > 0 && k->addr[port] == p) return port;
    return -1;
}

static void virtual_copy(void *dst_kernel, void *dst, void *src_kernel, const void *src,
                         size_t bytes)
{
    vkernel *d = dst_kernel, *s = src_kernel;
    memcpy(dst, src, bytes);
    anethru_trace_entry e = entry(ANETHRU_TRACE_COPY, d->index, thread_id());
    pthread_mutex_lock(&d->g->mu);
    e.port = locked_port(d, dst);
    e.src_kernel = s->index;
    e.src_port = locked_port(s, src);
    e.bytes = bytes;
    record(d->g, d->g->costs.copy_byte * (uint64_t)bytes, e);
    pthread_mutex_unlock(&d->g->mu);
}

static uint64_t virtual_clock_ns(void *kernel)
{
    vkernel *k = kernel;
    uint64_t self = thread_id();
    pthread_mutex_lock(&k->g->mu);
    k->g->clock_reader = self;
    record(k->g, 0, entry(ANETHRU_TRACE_CLOCK, -1, self));
    uint64_t now = k->g->now;
    pthread_mutex_unlock(&k->g->mu);
    return now;
}

static void virtual_release(void *kernel)
{
    vkernel *k = kernel;
    INNER->release(k->inner);
    group_leave(k->g);
    free(k);
}

const anethru_backend anethru_virtual_backend = {
    .name = "virtual",
    .probe = virtual_probe,
    .describe = virtual_describe,
    .compile = virtual_compile,
    .eval = virtual_eval,
    .lock = virtual_lock,
    .unlock = virtual_unlock,
    .release = virtual_release,
    .eval_null = virtual_eval_null,
    .test_only = 1,
    .clock_ns = virtual_clock_ns,
    .clock_name = "virtual (the virtual backend's configured costs, not a measurement)",
    .copy = virtual_copy,
};
