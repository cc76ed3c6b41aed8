/* throughput.m -- every timing loop of anethru, written once against backend.h.
 *
 * Plain C that is also valid (ARC) Objective-C: on macOS it is compiled as Objective-C beside
 * ane_runtime.m and uses GCD and mach_absolute_time; elsewhere anethru/_build.py includes it
 * textually into the C extension (gcc cannot compile a .m file) and it uses a pthread worker
 * and CLOCK_MONOTONIC.  ANETHRU_CHECK_MACOS selects the macOS code for the Linux syntax check.
 *
 * Python calls anethru_chain_measure once per measurement (and once before it to calibrate
 * auto passes per block); everything timed happens here, without the interpreter, and the
 * loops return raw block totals only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anethru.h"
#include "backend.h"

#if defined(__APPLE__) || defined(ANETHRU_CHECK_MACOS)
#define ANETHRU_MACOS 1
#include <dispatch/dispatch.h>
#include <mach/mach_time.h>
#else
#define ANETHRU_MACOS 0
#include <pthread.h>
#include <semaphore.h>
#endif
#include <time.h> /* clock_gettime: CLOCK_MONOTONIC here, CLOCK_THREAD_CPUTIME_ID everywhere */

#ifndef __has_feature
#define __has_feature(x) 0
#endif

/* ------------------------------------------------------------------ status and counters */

static int live_chains, live_kernels;
static uint64_t last_chain_id;

int anethru_live_chains(void) { return __atomic_load_n(&live_chains, __ATOMIC_SEQ_CST); }
int anethru_live_kernels(void) { return __atomic_load_n(&live_kernels, __ATOMIC_SEQ_CST); }

static void status_reset(anethru_status *st)
{
    st->code = ANETHRU_OK;
    st->test = -1;
    st->block = -1;
    st->kernel = -1;
    st->message[0] = '\0';
}

/* Record a failure; the backend has usually written st->message already. */
static int status_fail(anethru_status *st, int code, int test, int kernel)
{
    st->code = code;
    st->test = test;
    st->kernel = kernel;
    if (st->message[0] == '\0') anethru_set_error(st->message, sizeof st->message, "error %d", code);
    return code;
}

/* ------------------------------------------------------------------ clock */

uint64_t anethru_clock_ns(void)
{
#if ANETHRU_MACOS
    mach_timebase_info_data_t tb;
    mach_timebase_info(&tb);
    return mach_absolute_time() * tb.numer / tb.denom;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

const char *anethru_clock_name(void)
{
    return ANETHRU_MACOS ? "mach_absolute_time" : "clock_gettime(CLOCK_MONOTONIC)";
}

/* ------------------------------------------------------------------ Ctrl-C */

/* The handler only sets a flag (a lock-free atomic store: async-signal-safe); it runs in
 * whichever thread the kernel picks, so the flag is process-wide.  Only the thread that armed it
 * (Python's main thread) acts on it: a measurement running on another thread at the same time is
 * not cancelled.  Arm and disarm are called by that one thread. */
static int sigint_seen;
static int sigint_armed;
static struct sigaction sigint_previous;
static _Thread_local int sigint_watcher;

static void on_sigint(int sig)
{
    (void)sig;
    __atomic_store_n(&sigint_seen, 1, __ATOMIC_RELAXED);
}

int anethru_interrupt_arm(void)
{
    if (sigint_armed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    __atomic_store_n(&sigint_seen, 0, __ATOMIC_RELAXED);
    if (sigaction(SIGINT, &sa, &sigint_previous) != 0) return 0;
    if (!(sigint_previous.sa_flags & SA_SIGINFO) && sigint_previous.sa_handler == SIG_IGN) {
        sigaction(SIGINT, &sigint_previous, NULL); /* the process chose to ignore Ctrl-C */
        return 0;
    }
    sigint_armed = 1;
    sigint_watcher = 1;
    return 1;
}

int anethru_interrupt_disarm(void)
{
    if (!sigint_armed) return 0;
    sigaction(SIGINT, &sigint_previous, NULL);
    sigint_armed = 0;
    sigint_watcher = 0;
    return __atomic_exchange_n(&sigint_seen, 0, __ATOMIC_RELAXED) != 0;
}

static int interrupt_requested(char *msg)
{
    if (!(sigint_watcher && __atomic_load_n(&sigint_seen, __ATOMIC_RELAXED))) return 0;
    anethru_set_error(msg, ANETHRU_ERRLEN, "interrupted (SIGINT)");
    return 1;
}

/* ------------------------------------------------------------------ backends */

int anethru_backend_test_only(int index)
{
    const anethru_backend *b = anethru_backend_at(index);
    return b && b->test_only ? 1 : 0;
}

int anethru_backend_probe(const char *name, anethru_status *st)
{
    status_reset(st);
    const anethru_backend *b = anethru_backend_find(name);
    if (!b) {
        anethru_set_error(st->message, sizeof st->message, "unknown backend '%s'", name ? name : "");
        return status_fail(st, ANETHRU_E_ARG, -1, -1);
    }
    int rc = b->probe(st->message, sizeof st->message);
    return rc ? status_fail(st, rc, -1, -1) : ANETHRU_OK;
}

int anethru_backend_describe(const char *name, char *buf, size_t buflen)
{
    const anethru_backend *b = anethru_backend_find(name);
    if (!b || !b->describe || !buf || buflen == 0) return ANETHRU_E_UNSUPPORTED;
    return b->describe(buf, buflen);
}

/* ------------------------------------------------------------------ chains */

struct anethru_chain {
    const anethru_backend *backend;
    uint64_t id;     /* unique in the process; the backends' anethru_kernel_spec.chain_id */
    int channels, spatial, kernels;
    size_t tensor_bytes;
    void **kernel;   /* kernels one-layer kernels */
    void *chained;   /* the whole chain as one unit, or NULL (see chained_reason) */
    char chained_reason[ANETHRU_ERRLEN];
    int eval_path;   /* ANETHRU_EVAL_*: how every kernel evaluates now */
};

/* The clock of a chain's timed blocks: the monotonic clock, or the backend's own (the test
 * backend's virtual clock, see backend.h). */
static uint64_t chain_clock(const anethru_chain *c)
{
    return c->backend->clock_ns ? c->backend->clock_ns(c->kernel[0]) : anethru_clock_ns();
}

static void chain_free(anethru_chain *c)
{
    if (!c) return;
    if (c->chained) {
        c->backend->release(c->chained);
        __atomic_fetch_sub(&live_kernels, 1, __ATOMIC_SEQ_CST);
    }
    for (int k = 0; k < c->kernels; k++) {
        if (!c->kernel[k]) continue;
        c->backend->release(c->kernel[k]);
        __atomic_fetch_sub(&live_kernels, 1, __ATOMIC_SEQ_CST);
    }
    free(c->kernel);
    free(c);
}

static int compile_one(anethru_chain *c, const uint16_t *weights, int layers, unsigned options,
                       void **out, anethru_status *st)
{
    anethru_kernel_spec spec = {c->channels, c->spatial, layers, weights, options, c->id};
    st->message[0] = '\0';
    int rc = c->backend->compile(&spec, out, st->message, sizeof st->message);
    if (rc == ANETHRU_OK) __atomic_fetch_add(&live_kernels, 1, __ATOMIC_SEQ_CST);
    else *out = NULL;
    return rc;
}

int anethru_chain_open(const char *backend, int channels, int spatial, int kernels,
                       const uint16_t *weights, unsigned options, int with_chained,
                       anethru_chain **out, anethru_status *st)
{
    status_reset(st);
    if (!out) return status_fail(st, ANETHRU_E_ARG, -1, -1);
    *out = NULL;
    /* Python validates first; these guard the C API on its own. */
    if (channels <= 0 || spatial <= 0 || kernels < 2 || !weights) {
        anethru_set_error(st->message, sizeof st->message,
                          "bad chain: channels=%d spatial=%d kernels=%d (need > 0, > 0, >= 2)",
                          channels, spatial, kernels);
        return status_fail(st, ANETHRU_E_ARG, -1, -1);
    }
    size_t cs = (size_t)channels * (size_t)spatial;
    if (cs / (size_t)channels != (size_t)spatial || cs > SIZE_MAX / 2) {
        anethru_set_error(st->message, sizeof st->message,
                          "a %dx%d fp16 tensor does not fit in size_t", channels, spatial);
        return status_fail(st, ANETHRU_E_ARG, -1, -1);
    }
    int rc = anethru_backend_probe(backend, st);
    if (rc) return rc;

    anethru_chain *c = calloc(1, sizeof *c);
    void **ks = calloc((size_t)kernels, sizeof *ks);
    if (!c || !ks) {
        free(c);
        free(ks);
        anethru_set_error(st->message, sizeof st->message, "cannot allocate a chain of %d kernels",
                          kernels);
        return status_fail(st, ANETHRU_E_NOMEM, -1, -1);
    }
    c->backend = anethru_backend_find(backend);
    c->id = __atomic_add_fetch(&last_chain_id, 1, __ATOMIC_SEQ_CST);
    c->channels = channels;
    c->spatial = spatial;
    c->kernels = kernels;
    c->tensor_bytes = cs * 2;
    c->kernel = ks;

    size_t per_kernel = (size_t)channels * (size_t)channels;
    for (int k = 0; k < kernels; k++) {
        /* Ctrl-C between compiles: a chain of thousands of kernels takes seconds to compile */
        rc = interrupt_requested(st->message) ? ANETHRU_E_INTERRUPTED
             : compile_one(c, weights + per_kernel * (size_t)k, 1, options, &c->kernel[k], st);
        if (rc) {
            status_fail(st, rc, -1, k);
            chain_free(c);
            return rc;
        }
    }
    if (with_chained) {
        rc = interrupt_requested(st->message) ? ANETHRU_E_INTERRUPTED
             : compile_one(c, weights, kernels, options, &c->chained, st);
        if (rc == ANETHRU_E_UNSUPPORTED) {
            /* Not an error: the report says the backend cannot chain, and why. */
            snprintf(c->chained_reason, sizeof c->chained_reason, "%s", st->message);
            st->message[0] = '\0';
        } else if (rc) {
            status_fail(st, rc, ANETHRU_TEST_CHAINED, -1);
            chain_free(c);
            return rc;
        }
    } else {
        snprintf(c->chained_reason, sizeof c->chained_reason, "the chained test was not requested");
    }
    __atomic_fetch_add(&live_chains, 1, __ATOMIC_SEQ_CST);
    *out = c;
    return ANETHRU_OK;
}

void anethru_chain_close(anethru_chain *chain)
{
    if (!chain) return;
    chain_free(chain);
    __atomic_fetch_sub(&live_chains, 1, __ATOMIC_SEQ_CST);
}

uint64_t anethru_chain_id(anethru_chain *chain) { return chain ? chain->id : 0; }

const char *anethru_chain_clock_name(anethru_chain *chain)
{
    if (chain && chain->backend->clock_ns && chain->backend->clock_name)
        return chain->backend->clock_name;
    return anethru_clock_name();
}

int anethru_chain_supports(anethru_chain *c, int test, char *why, size_t whylen)
{
    if (!c || test < 0 || test >= ANETHRU_NTESTS) {
        anethru_set_error(why, whylen, "unknown test id %d", test);
        return 0;
    }
    if (test == ANETHRU_TEST_CHAINED && !c->chained) {
        anethru_set_error(why, whylen, "%s", c->chained_reason);
        return 0;
    }
    if (test == ANETHRU_TEST_NULL_EVAL && !c->backend->eval_null) {
        anethru_set_error(why, whylen, "the %s backend has no null-work submission",
                          c->backend->name);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ eval paths, forms, notes */

/* Every compiled unit of the chain: kernel 0..N-1, then the chained program (if any). */
static void *chain_unit(anethru_chain *c, int i)
{
    return i < c->kernels ? c->kernel[i] : c->chained;
}

int anethru_chain_set_eval_path(anethru_chain *c, int path, anethru_status *st)
{
    status_reset(st);
    if (!c || path < 0 || path >= ANETHRU_NEVAL_PATHS) {
        anethru_set_error(st->message, sizeof st->message, "unknown eval path %d", path);
        return status_fail(st, ANETHRU_E_ARG, -1, -1);
    }
    if (!c->backend->set_eval_path) {
        if (path == ANETHRU_EVAL_STANDARD) return ANETHRU_OK;
        anethru_set_error(st->message, sizeof st->message,
                          "the %s backend has only the standard eval path", c->backend->name);
        return status_fail(st, ANETHRU_E_UNSUPPORTED, -1, -1);
    }
    int units = c->kernels + (c->chained ? 1 : 0);
    for (int i = 0; i < units; i++) {
        int rc = c->backend->set_eval_path(chain_unit(c, i), path, st->message, sizeof st->message);
        if (rc == ANETHRU_OK) continue;
        /* All or nothing: put back the units already switched. */
        for (int j = 0; j < i; j++)
            c->backend->set_eval_path(chain_unit(c, j), c->eval_path, NULL, 0);
        return status_fail(st, rc, i < c->kernels ? -1 : ANETHRU_TEST_CHAINED,
                           i < c->kernels ? i : -1);
    }
    c->eval_path = path;
    return ANETHRU_OK;
}

int anethru_chain_form(anethru_chain *c, int chained, char *form, size_t formlen, char *rejected,
                       size_t rejectedlen)
{
    void *unit = !c ? NULL : chained ? c->chained : c->kernel[0];
    if (!unit || !c->backend->kernel_form) return 0;
    return c->backend->kernel_form(unit, form, formlen, rejected, rejectedlen) == ANETHRU_OK;
}

int anethru_backend_notes(const char *name, char *buf, size_t buflen)
{
    const anethru_backend *b = anethru_backend_find(name);
    if (!b || !b->notes || !buf || buflen == 0) return ANETHRU_E_UNSUPPORTED;
    return b->notes(buf, buflen);
}

/* ------------------------------------------------------------------ one pass of each test */

static int eval_kernel(anethru_chain *c, int k, char *msg)
{
    return c->backend->eval(c->kernel[k], msg, ANETHRU_ERRLEN);
}

/* The CPU round trip between neighbours, in the seed's order: lock out_i read-only, lock
 * in_{i+1} for writing, memcpy, unlock in_{i+1}, unlock out_i.  *kernel gets the culprit. */
static int copy_to_next(anethru_chain *c, int i, char *msg, int *kernel)
{
    const anethru_backend *b = c->backend;
    void *src = NULL, *dst = NULL;
    int rc = b->lock(c->kernel[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &src, msg,
                     ANETHRU_ERRLEN);
    if (rc) return *kernel = i, rc;
    rc = b->lock(c->kernel[i + 1], ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, &dst, msg,
                 ANETHRU_ERRLEN);
    if (rc) {
        b->unlock(c->kernel[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, NULL, 0);
        return *kernel = i + 1, rc;
    }
    if (b->copy) b->copy(c->kernel[i + 1], dst, c->kernel[i], src, c->tensor_bytes);
    else memcpy(dst, src, c->tensor_bytes);
    rc = b->unlock(c->kernel[i + 1], ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, msg,
                   ANETHRU_ERRLEN);
    int rc2 = b->unlock(c->kernel[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY,
                        rc ? NULL : msg, rc ? 0 : ANETHRU_ERRLEN);
    if (rc) return *kernel = i + 1, rc;
    if (rc2) return *kernel = i, rc2;
    return ANETHRU_OK;
}

static int pass_sequential(anethru_chain *c, char *msg, int *kernel)
{
    int rc;
    for (int i = 0; i < c->kernels - 1; i++) {
        if ((rc = eval_kernel(c, i, msg))) return *kernel = i, rc;
        if ((rc = copy_to_next(c, i, msg, kernel))) return rc;
    }
    int last = c->kernels - 1;
    if ((rc = eval_kernel(c, last, msg))) return *kernel = last, rc;
    return ANETHRU_OK;
}

static int pass_run_only(anethru_chain *c, char *msg, int *kernel)
{
    for (int i = 0; i < c->kernels; i++) {
        int rc = eval_kernel(c, i, msg);
        if (rc) return *kernel = i, rc;
    }
    return ANETHRU_OK;
}

static int pass_memcpy_only(anethru_chain *c, char *msg, int *kernel)
{
    for (int i = 0; i < c->kernels - 1; i++) {
        int rc = copy_to_next(c, i, msg, kernel);
        if (rc) return rc;
    }
    return ANETHRU_OK;
}

static int pass_chained(anethru_chain *c, char *msg, int *kernel)
{
    int rc = c->backend->eval(c->chained, msg, ANETHRU_ERRLEN);
    if (rc) *kernel = -1;
    return rc;
}

static int pass_null_eval(anethru_chain *c, char *msg, int *kernel)
{
    for (int i = 0; i < c->kernels; i++) {
        int rc = c->backend->eval_null(c->kernel[i], msg, ANETHRU_ERRLEN);
        if (rc) return *kernel = i, rc;
    }
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ the serial queue */

/* What the worker shares with the posting thread for one pass.  Jobs run one after another
 * on the queue, so only the posting thread's wait needs synchronising (the semaphore). */
typedef struct serial_queue serial_queue;
typedef struct {
    anethru_chain *chain;
    int index;
    int rc;
    int kernel;
    char *msg;
    serial_queue *queue;
} queued_pass;

typedef struct {
    queued_pass *pass;
    int index;
} queued_eval;

#if ANETHRU_MACOS
/* GCD objects kept as retained void pointers, so this struct stays plain C under ARC. */
struct serial_queue {
    void *queue;
    void *last_done;
};
#if __has_feature(objc_arc)
#define GCD_KEEP(obj) ((__bridge_retained void *)(obj))
#define GCD_USE(type, ptr) ((__bridge type)(ptr))
#define GCD_DROP(type, ptr) do { type dropped_ = (__bridge_transfer type)(ptr); (void)dropped_; } while (0)
#else
#define GCD_KEEP(obj) ((void *)(obj))
#define GCD_USE(type, ptr) ((type)(ptr))
#define GCD_DROP(type, ptr) dispatch_release((type)(ptr))
#endif

static int sq_open(serial_queue *q, int capacity)
{
    (void)capacity;
    dispatch_queue_t dq = dispatch_queue_create("anethru.serial_queue", DISPATCH_QUEUE_SERIAL);
    dispatch_semaphore_t sem = dispatch_semaphore_create(0);
    if (!dq || !sem) return ANETHRU_E_NOMEM;
    q->queue = GCD_KEEP(dq);
    q->last_done = GCD_KEEP(sem);
    return ANETHRU_OK;
}

static void sq_close(serial_queue *q)
{
    if (q->queue) GCD_DROP(dispatch_queue_t, q->queue);
    if (q->last_done) GCD_DROP(dispatch_semaphore_t, q->last_done);
    q->queue = q->last_done = NULL;
}

static void sq_post(serial_queue *q, void (*fn)(void *), void *ctx)
{
    dispatch_async_f(GCD_USE(dispatch_queue_t, q->queue), ctx, fn);
}

static void sq_signal_last(serial_queue *q)
{
    dispatch_semaphore_signal(GCD_USE(dispatch_semaphore_t, q->last_done));
}

static void sq_wait_last(serial_queue *q)
{
    dispatch_semaphore_wait(GCD_USE(dispatch_semaphore_t, q->last_done), DISPATCH_TIME_FOREVER);
}
#else
/* One worker thread draining a FIFO of (fn, ctx): the portable stand-in for a GCD queue. */
struct serial_queue {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t has_work;
    sem_t last_done;
    void (**fns)(void *);
    void **ctxs;
    int capacity, head, count, stopping, started;
};

static void *sq_worker(void *arg)
{
    serial_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (q->count == 0 && !q->stopping) pthread_cond_wait(&q->has_work, &q->mu);
        if (q->count == 0) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        void (*fn)(void *) = q->fns[q->head];
        void *ctx = q->ctxs[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        pthread_mutex_unlock(&q->mu);
        fn(ctx);
    }
}

static int sq_open(serial_queue *q, int capacity)
{
    memset(q, 0, sizeof *q);
    q->capacity = capacity;
    q->fns = calloc((size_t)capacity, sizeof *q->fns);
    q->ctxs = calloc((size_t)capacity, sizeof *q->ctxs);
    if (!q->fns || !q->ctxs) goto fail;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->has_work, NULL);
    sem_init(&q->last_done, 0, 0);
    if (pthread_create(&q->thread, NULL, sq_worker, q) != 0) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->has_work);
        sem_destroy(&q->last_done);
        goto fail;
    }
    q->started = 1;
    return ANETHRU_OK;
fail:
    free(q->fns);
    free(q->ctxs);
    q->fns = NULL;
    q->ctxs = NULL;
    return ANETHRU_E_NOMEM;
}

static void sq_close(serial_queue *q)
{
    if (!q->started) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->has_work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->has_work);
    sem_destroy(&q->last_done);
    free(q->fns);
    free(q->ctxs);
    q->started = 0;
}

static void sq_post(serial_queue *q, void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&q->mu);
    int tail = (q->head + q->count) % q->capacity; /* capacity = kernels: one pass at a time */
    q->fns[tail] = fn;
    q->ctxs[tail] = ctx;
    q->count++;
    pthread_cond_signal(&q->has_work);
    pthread_mutex_unlock(&q->mu);
}

static void sq_signal_last(serial_queue *q) { sem_post(&q->last_done); }

static void sq_wait_last(serial_queue *q)
{
    while (sem_wait(&q->last_done) != 0) { /* EINTR: wait again */ }
}
#endif

static void queued_eval_run(void *ctx)
{
    queued_eval *job = ctx;
    queued_pass *p = job->pass;
    anethru_chain *c = p->chain;
    if (p->rc == ANETHRU_OK) { /* after a failure the rest of the pass is skipped */
        int rc = eval_kernel(c, job->index, p->msg);
        if (rc) {
            p->rc = rc;
            p->kernel = job->index;
        }
    }
    if (job->index == c->kernels - 1) sq_signal_last(p->queue);
}

static int pass_serial_queue(anethru_chain *c, queued_pass *p, queued_eval *jobs, char *msg,
                             int *kernel)
{
    p->rc = ANETHRU_OK;
    p->kernel = -1;
    p->msg = msg;
    for (int i = 0; i < c->kernels; i++) sq_post(p->queue, queued_eval_run, &jobs[i]);
    sq_wait_last(p->queue);
    if (p->rc) *kernel = p->kernel;
    return p->rc;
}

/* ------------------------------------------------------------------ measurement */

typedef struct {
    anethru_chain *chain;
    serial_queue queue;
    queued_pass queued;
    queued_eval *jobs;
} runner;

static int run_pass(runner *r, int test, char *msg, int *kernel)
{
    anethru_chain *c = r->chain;
    if (interrupt_requested(msg)) return ANETHRU_E_INTERRUPTED; /* between passes: no lock held */
    switch (test) {
    case ANETHRU_TEST_SEQUENTIAL: return pass_sequential(c, msg, kernel);
    case ANETHRU_TEST_RUN_ONLY: return pass_run_only(c, msg, kernel);
    case ANETHRU_TEST_MEMCPY_ONLY: return pass_memcpy_only(c, msg, kernel);
    case ANETHRU_TEST_SERIAL_QUEUE: return pass_serial_queue(c, &r->queued, r->jobs, msg, kernel);
    case ANETHRU_TEST_CHAINED: return pass_chained(c, msg, kernel);
    case ANETHRU_TEST_NULL_EVAL: return pass_null_eval(c, msg, kernel);
    default: return ANETHRU_E_ARG;
    }
}

static int runner_open(runner *r, anethru_chain *c, int need_queue, anethru_status *st)
{
    memset(r, 0, sizeof *r);
    r->chain = c;
    if (!need_queue) return ANETHRU_OK;
    r->jobs = calloc((size_t)c->kernels, sizeof *r->jobs);
    if (!r->jobs || sq_open(&r->queue, c->kernels) != ANETHRU_OK) {
        free(r->jobs);
        r->jobs = NULL;
        anethru_set_error(st->message, sizeof st->message, "cannot start the serial queue");
        return status_fail(st, ANETHRU_E_NOMEM, ANETHRU_TEST_SERIAL_QUEUE, -1);
    }
    r->queued.chain = c;
    r->queued.queue = &r->queue;
    for (int i = 0; i < c->kernels; i++) {
        r->jobs[i].pass = &r->queued;
        r->jobs[i].index = i;
    }
    return ANETHRU_OK;
}

static void runner_close(runner *r)
{
    if (!r->jobs) return;
    sq_close(&r->queue);
    free(r->jobs);
    r->jobs = NULL;
}

static int check_schedule(anethru_chain *c, const int *schedule, int nblocks, const int *iters,
                          int warmup, anethru_status *st)
{
    if (!schedule || !iters || nblocks <= 0 || warmup < 0) {
        anethru_set_error(st->message, sizeof st->message,
                          "bad measurement: nblocks=%d warmup=%d", nblocks, warmup);
        return status_fail(st, ANETHRU_E_ARG, -1, -1);
    }
    for (int b = 0; b < nblocks; b++) {
        int t = schedule[b];
        char why[ANETHRU_ERRLEN];
        if (!anethru_chain_supports(c, t, why, sizeof why)) {
            anethru_set_error(st->message, sizeof st->message, "%s", why);
            return status_fail(st, t >= 0 && t < ANETHRU_NTESTS ? ANETHRU_E_UNSUPPORTED
                                                               : ANETHRU_E_ARG, t, -1);
        }
        if (iters[t] <= 0) {
            anethru_set_error(st->message, sizeof st->message, "iters for test %d is %d", t,
                              iters[t]);
            return status_fail(st, ANETHRU_E_ARG, t, -1);
        }
    }
    return ANETHRU_OK;
}

/* Untimed warm-up of test t: the clock is read only around timed blocks. */
static int warm_up(runner *r, int t, int warmup, anethru_status *st)
{
    int kernel = -1, rc = ANETHRU_OK;
    for (int p = 0; p < warmup && rc == ANETHRU_OK; p++) rc = run_pass(r, t, st->message, &kernel);
    return rc ? status_fail(st, rc, t, kernel) : ANETHRU_OK;
}

int anethru_chain_measure(anethru_chain *c, const int *schedule, int nblocks,
                          const int *iters, int warmup, uint64_t *block_ns, anethru_status *st)
{
    status_reset(st);
    if (!c || !block_ns) return status_fail(st, ANETHRU_E_ARG, -1, -1);
    int rc = check_schedule(c, schedule, nblocks, iters, warmup, st);
    if (rc) return rc;

    int need_queue = 0;
    for (int b = 0; b < nblocks; b++) need_queue |= schedule[b] == ANETHRU_TEST_SERIAL_QUEUE;
    runner r;
    if ((rc = runner_open(&r, c, need_queue, st))) return rc;

    /* Warm-up of every scheduled test, in the order the schedule first names them. */
    int warmed[ANETHRU_NTESTS] = {0};
    for (int b = 0; b < nblocks && rc == ANETHRU_OK; b++) {
        int t = schedule[b];
        if (warmed[t]) continue;
        warmed[t] = 1;
        rc = warm_up(&r, t, warmup, st);
    }
    /* Timed blocks: the clock stops only after the last pass has completed (eval is
     * synchronous), and the first failure ends the run. */
    int kernel = -1;
    for (int b = 0; b < nblocks && rc == ANETHRU_OK; b++) {
        int t = schedule[b];
        int n = iters[t];
        uint64_t t0 = chain_clock(c);
        for (int p = 0; p < n; p++) {
            rc = run_pass(&r, t, st->message, &kernel);
            if (rc) break;
        }
        uint64_t t1 = chain_clock(c);
        if (rc) {
            status_fail(st, rc, t, kernel);
            st->block = b;
            break;
        }
        block_ns[b] = t1 - t0;
    }
    runner_close(&r);
    return rc;
}

/* The calling thread's CPU time: what the passes cost the CPU that ran them, without the time
 * the thread waited for the scheduler (on the CPU backend the work is this thread's). */
uint64_t anethru_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *anethru_thread_cpu_clock_name(void) { return "clock_gettime(CLOCK_THREAD_CPUTIME_ID)"; }

int anethru_chain_measure_passes(anethru_chain *c, const int *tests, int npasses,
                                 uint64_t *wall_ns, uint64_t *cpu_ns, anethru_status *st)
{
    status_reset(st);
    if (!c || !wall_ns) return status_fail(st, ANETHRU_E_ARG, -1, -1);
    int iters[ANETHRU_NTESTS];
    for (int t = 0; t < ANETHRU_NTESTS; t++) iters[t] = 1;
    int rc = check_schedule(c, tests, npasses, iters, 0, st);
    if (rc) return rc;
    int need_queue = 0;
    for (int i = 0; i < npasses; i++) need_queue |= tests[i] == ANETHRU_TEST_SERIAL_QUEUE;
    runner r;
    if ((rc = runner_open(&r, c, need_queue, st))) return rc;
    int kernel = -1;
    for (int i = 0; i < npasses; i++) {
        /* CPU clock inside the wall clock: the wall time of a pass includes both reads' cost
         * equally for every test, so it cancels in a difference. */
        uint64_t w0 = chain_clock(c);
        uint64_t c0 = cpu_ns ? anethru_thread_cpu_ns() : 0;
        rc = run_pass(&r, tests[i], st->message, &kernel);
        uint64_t c1 = cpu_ns ? anethru_thread_cpu_ns() : 0;
        uint64_t w1 = chain_clock(c);
        if (rc) {
            status_fail(st, rc, tests[i], kernel);
            st->block = i;
            break;
        }
        wall_ns[i] = w1 - w0;
        if (cpu_ns) cpu_ns[i] = c1 - c0;
    }
    runner_close(&r);
    return rc;
}

/* ------------------------------------------------------------------ the correctness pass */

static int write_input(anethru_chain *c, void *kernel, const uint16_t *input, char *msg)
{
    void *dst = NULL;
    int rc = c->backend->lock(kernel, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, &dst, msg,
                              ANETHRU_ERRLEN);
    if (rc) return rc;
    memcpy(dst, input, c->tensor_bytes);
    return c->backend->unlock(kernel, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, msg,
                              ANETHRU_ERRLEN);
}

static int read_output(anethru_chain *c, void *kernel, uint16_t *output, char *msg)
{
    void *src = NULL;
    int rc = c->backend->lock(kernel, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &src, msg,
                              ANETHRU_ERRLEN);
    if (rc) return rc;
    memcpy(output, src, c->tensor_bytes);
    return c->backend->unlock(kernel, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, msg,
                              ANETHRU_ERRLEN);
}

/* Fill a kernel's output with ANETHRU_POISON_FP16, so the check can tell an eval that wrote
 * nothing from one that wrote what an earlier eval left there. */
static int poison_output(anethru_chain *c, void *kernel, char *msg)
{
    uint16_t *dst = NULL;
    int rc = c->backend->lock(kernel, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READWRITE, (void **)&dst,
                              msg, ANETHRU_ERRLEN);
    if (rc) return rc;
    for (size_t i = 0; i < c->tensor_bytes / 2; i++) dst[i] = ANETHRU_POISON_FP16;
    return c->backend->unlock(kernel, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READWRITE, msg,
                              ANETHRU_ERRLEN);
}

int anethru_chain_roundtrip(anethru_chain *c, int test, const uint16_t *input, uint16_t *output,
                            anethru_status *st)
{
    status_reset(st);
    if (!c || !input || !output) return status_fail(st, ANETHRU_E_ARG, test, -1);
    if (test != ANETHRU_TEST_SEQUENTIAL && test != ANETHRU_TEST_CHAINED) {
        anethru_set_error(st->message, sizeof st->message,
                          "only the sequential and chained tests carry data through the chain");
        return status_fail(st, ANETHRU_E_ARG, test, -1);
    }
    char why[ANETHRU_ERRLEN];
    if (!anethru_chain_supports(c, test, why, sizeof why)) {
        anethru_set_error(st->message, sizeof st->message, "%s", why);
        return status_fail(st, ANETHRU_E_UNSUPPORTED, test, -1);
    }
    int chained = test == ANETHRU_TEST_CHAINED;
    void *first = chained ? c->chained : c->kernel[0];
    void *last = chained ? c->chained : c->kernel[c->kernels - 1];
    int kernel = chained ? -1 : 0, rc = ANETHRU_OK;
    for (int i = 0; rc == ANETHRU_OK && i < (chained ? 1 : c->kernels); i++)
        rc = poison_output(c, chained ? c->chained : c->kernel[kernel = i], st->message);
    if (rc) return status_fail(st, rc, test, kernel);
    kernel = chained ? -1 : 0;
    rc = write_input(c, first, input, st->message);
    if (rc) return status_fail(st, rc, test, kernel);
    rc = chained ? pass_chained(c, st->message, &kernel) : pass_sequential(c, st->message, &kernel);
    if (rc) return status_fail(st, rc, test, kernel);
    rc = read_output(c, last, output, st->message);
    if (rc) return status_fail(st, rc, test, chained ? -1 : c->kernels - 1);
    return ANETHRU_OK;
}
