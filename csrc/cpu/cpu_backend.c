/* cpu_backend.c -- the portable backend: Experiment I's kernel computed on the CPU.
 *
 * Same contract as the ANE: a 1x1 conv over a [1, C, 1, S] fp16 tensor with C x C fp16 weights,
 * fp32 accumulation and fp16 output (round to nearest even), on page-aligned buffers that the
 * CPU may touch only between lock and unlock.  Locks keep IOSurface's single-process rules
 * (matching flags, no write lock over a read lock, a seed bumped by every write unlock), and an
 * eval refuses to run while the CPU holds a lock on its buffers.
 *
 * "Compiling" packs the weights into fp32 panels for the matrix kernel; the chained form
 * (layers > 1) runs the layers back to back through fp16 intermediates, so its output is
 * bit-identical to the sequential chain's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cpu_conv.h"
#include "common/port_lock.h"

typedef struct {
    cpu_conv_plan plan;
    int layers;
    size_t bytes;
    uint16_t *port[2];     /* input, output: page-aligned, lockable */
    uint16_t *between[2];  /* fp16 intermediates of a chained kernel */
    port_lock lock[2];
    /* Injected faults (tests only). */
    int fault;
    long fault_after, fault_calls;
} cpu_kernel;

/* ------------------------------------------------------------------ test hooks */

static struct {
    int kind, kernel;
    long after;
    int compiles; /* compiles since the fault was injected */
} injected;

static int live_buffers;

void anethru_cpu_inject_fault(int kind, int kernel, long after)
{
    injected.kind = kind;
    injected.kernel = kernel;
    injected.after = after;
    injected.compiles = 0;
}

int anethru_cpu_live_buffers(void) { return __atomic_load_n(&live_buffers, __ATOMIC_SEQ_CST); }

const char *anethru_cpu_kernel_variant(void) { return cpu_conv_variant_name(cpu_conv_pick()); }

/* True when the injected fault `kind` fires on this call of kernel k. */
static int fault_fires(cpu_kernel *k, int kind)
{
    if (k->fault != kind) return 0;
    return k->fault_calls++ >= k->fault_after;
}

/* ------------------------------------------------------------------ buffers */

static void *buffer_alloc(size_t bytes)
{
    void *p = NULL;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    if (posix_memalign(&p, (size_t)page, bytes ? bytes : 1) != 0) return NULL;
    memset(p, 0, bytes);
    __atomic_fetch_add(&live_buffers, 1, __ATOMIC_SEQ_CST);
    return p;
}

static void buffer_free(void *p)
{
    if (!p) return;
    free(p);
    __atomic_fetch_sub(&live_buffers, 1, __ATOMIC_SEQ_CST);
}

static void kernel_free(cpu_kernel *k)
{
    if (!k) return;
    for (int i = 0; i < 2; i++) {
        buffer_free(k->port[i]);
        buffer_free(k->between[i]);
    }
    cpu_conv_plan_free(&k->plan);
    free(k);
}

/* ------------------------------------------------------------------ the backend */

static int cpu_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return ANETHRU_OK;
}

static int cpu_describe(char *buf, size_t buflen)
{
    anethru_set_error(buf, buflen, "CPU, %s kernel, one thread",
                      cpu_conv_variant_name(cpu_conv_pick()));
    return ANETHRU_OK;
}

static int cpu_compile(const anethru_kernel_spec *spec, void **out, char *err, size_t errlen)
{
    *out = NULL;
    /* Atomic: chains may compile on several threads at once. */
    int ordinal = __atomic_fetch_add(&injected.compiles, 1, __ATOMIC_SEQ_CST);
    if (injected.kind == ANETHRU_FAULT_COMPILE && ordinal == injected.kernel) {
        anethru_set_error(err, errlen, "injected compile failure (compile #%d)", ordinal);
        return ANETHRU_E_COMPILE;
    }
    cpu_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        anethru_set_error(err, errlen, "cannot allocate a CPU kernel");
        return ANETHRU_E_NOMEM;
    }
    k->layers = spec->layers;
    k->bytes = (size_t)spec->channels * (size_t)spec->spatial * 2;
    int rc = cpu_conv_plan_init(&k->plan, spec->channels, spec->spatial, spec->layers,
                                spec->weights, err, errlen);
    if (rc) {
        free(k);
        return rc;
    }
    int nbetween = spec->layers > 2 ? 2 : spec->layers - 1;
    for (int i = 0; i < 2; i++) {
        k->port[i] = buffer_alloc(k->bytes);
        if (i < nbetween) k->between[i] = buffer_alloc(k->bytes);
        if (!k->port[i] || (i < nbetween && !k->between[i])) {
            anethru_set_error(err, errlen, "cannot allocate %zu bytes for a %dx%d tensor buffer",
                              k->bytes, spec->channels, spec->spatial);
            kernel_free(k);
            return ANETHRU_E_NOMEM;
        }
    }
    if (injected.kind != ANETHRU_FAULT_NONE && injected.kind != ANETHRU_FAULT_COMPILE &&
        ordinal == injected.kernel) {
        k->fault = injected.kind;
        k->fault_after = injected.after;
    }
    *out = k;
    return ANETHRU_OK;
}

static int cpu_eval(void *kernel, char *err, size_t errlen)
{
    cpu_kernel *k = kernel;
    if (k->lock[0].state || k->lock[1].state) {
        anethru_set_error(err, errlen, "eval while the CPU holds a lock on the kernel's %s buffer",
                          k->lock[0].state ? "input" : "output");
        return ANETHRU_E_EVAL;
    }
    if (fault_fires(k, ANETHRU_FAULT_EVAL)) {
        anethru_set_error(err, errlen, "injected eval failure (eval #%ld of this kernel)",
                          k->fault_calls);
        return ANETHRU_E_EVAL;
    }
    /* Layer l reads the previous layer's fp16 output: port[0] -> between[0] -> between[1]
     * -> between[0] ... -> port[1]. */
    const uint16_t *src = k->port[0];
    for (int l = 0; l < k->layers; l++) {
        uint16_t *dst = l == k->layers - 1 ? k->port[1] : k->between[l % 2];
        cpu_conv_run(&k->plan, l, src, dst);
        src = dst;
    }
    if (k->fault == ANETHRU_FAULT_WRONG) k->port[1][0] ^= 0x0400; /* flip an exponent bit */
    return ANETHRU_OK;
}

static int cpu_eval_null(void *kernel, char *err, size_t errlen)
{
    cpu_kernel *k = kernel;
    if (fault_fires(k, ANETHRU_FAULT_EVAL)) {
        anethru_set_error(err, errlen, "injected eval failure (null eval)");
        return ANETHRU_E_EVAL;
    }
    /* Keep the call from being folded away: the floor is a real call that returns a status. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return ANETHRU_OK;
}

static int cpu_lock_port(void *kernel, int port, int flags, void **addr, char *err, size_t errlen)
{
    cpu_kernel *k = kernel;
    int rc = port_lock_check(&k->lock[port & 1], port, flags, err, errlen);
    if (rc) return rc;
    if (fault_fires(k, ANETHRU_FAULT_LOCK)) {
        anethru_set_error(err, errlen, "injected lock failure on the %s buffer", port_name(port));
        return ANETHRU_E_LOCK;
    }
    port_lock_take(&k->lock[port], flags);
    *addr = k->port[port];
    return ANETHRU_OK;
}

static int cpu_unlock_port(void *kernel, int port, int flags, char *err, size_t errlen)
{
    cpu_kernel *k = kernel;
    int rc = port_unlock_check(&k->lock[port & 1], port, flags, err, errlen);
    if (rc) return rc;
    port_lock_release(&k->lock[port], flags);
    return ANETHRU_OK;
}

static void cpu_release(void *kernel) { kernel_free(kernel); }

const anethru_backend anethru_cpu_backend = {
    .name = "cpu",
    .probe = cpu_probe,
    .describe = cpu_describe,
    .compile = cpu_compile,
    .eval = cpu_eval,
    .lock = cpu_lock_port,
    .unlock = cpu_unlock_port,
    .release = cpu_release,
    .eval_null = cpu_eval_null,
};
