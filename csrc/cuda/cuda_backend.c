/* cuda_backend.c -- the "cuda" backend: Experiment I's kernel on an NVIDIA GPU.
 *
 * What each contract call means here (docs/cuda.md has the table users read):
 *   eval            one kernel launch on the kernel's stream, then cuStreamSynchronize.
 *   lock(output)    cuMemcpyDtoH of the device output into a pinned host buffer; its address.
 *   lock(input)     the pinned input staging buffer (it always mirrors the device input, which
 *                   only the CPU writes), no copy.
 *   unlock(rw)      cuMemcpyHtoD of the staging buffer into the device buffer; unlock(ro) copies
 *                   nothing.  So `sequential` moves data device -> pinned host -> device.
 *   layers > 1      a CUDA graph of the N launches, ping-ponging through device buffers, launched
 *                   and synchronized once per eval (`chained`).
 *   eval_null       an empty kernel launch, then cuStreamSynchronize.
 * With ANETHRU_OPT_CUDA_MAPPED the kernel's input and output are mapped pinned host memory that
 * the kernels read and write directly: lock waits for GPU work still in flight (none after a
 * synchronous eval) and unlock only fences the CPU's stores, so no copy is ever made.
 * Which conv variant the launches use is cuda_tuner.c's choice for the shape.  The buffers, the
 * launches and the graph are cuda_chain.c's, which the doctor (cuda_bringup.c) checks.
 * Locks follow the CPU backend (IOSurface rules): same-flag nesting, mismatches are
 * ANETHRU_E_LOCK, and eval refuses to run while a lock is held.
 */
#include <stdint.h> /* SIZE_MAX */
#include <stdlib.h>

#include "backend.h"
#include "common/port_lock.h"
#include "cuda/kernels/cuda_kernels.h"
#include "cuda_chain.h"
#include "cuda_tuner.h"

/* Launches anethru captures into one CUDA graph (the `chained` kernel).  anethru's own bound,
 * not CUDA's: it keeps the graph's capture and instantiation (which grow with its nodes)
 * short next to the timings it serves. */
#define CUDA_MAX_GRAPH_LAUNCHES 4096

typedef struct {
    cuda_chain ch;           /* its buffers, variant and graph (cuda_chain.h) */
    int in_flight;           /* work launched and not yet synchronized */
    port_lock lock[2];
} cuda_kernel;

/* ------------------------------------------------------------------ contract: probe/describe */

static int cuda_probe(char *err, size_t errlen)
{
    const cuda_driver *drv;
    return cuda_driver_get(&drv, err, errlen);
}

static int cuda_describe(char *buf, size_t buflen)
{
    const cuda_driver *drv;
    int rc = cuda_driver_get(&drv, buf, buflen);
    if (rc == ANETHRU_OK) anethru_set_error(buf, buflen, "%s", drv->description);
    return rc;
}

/* ------------------------------------------------------------------ compile/release */

static void kernel_free(cuda_kernel *k)
{
    cuda_chain_close(&k->ch);
    free(k);
}

/* Shapes the backend cannot take, each with the limit it hits (before anything is allocated). */
static int check_spec(const cuda_driver *drv, const anethru_kernel_spec *spec, char *err,
                      size_t errlen)
{
    if (spec->channels < 1 || spec->spatial < 1 || spec->layers < 1) {
        anethru_set_error(err, errlen, "bad CUDA kernel spec: channels=%d spatial=%d layers=%d "
                          "(each must be >= 1)", spec->channels, spec->spatial, spec->layers);
        return ANETHRU_E_ARG;
    }
    size_t c = (size_t)spec->channels, s = (size_t)spec->spatial, l = (size_t)spec->layers;
    if (c > SIZE_MAX / 2 / s || c > SIZE_MAX / 2 / c / l) {
        anethru_set_error(err, errlen, "a %dx%d chain of %d layers does not fit in size_t",
                          spec->channels, spec->spatial, spec->layers);
        return ANETHRU_E_LIMIT;
    }
    if (spec->layers > CUDA_MAX_GRAPH_LAUNCHES) { /* only a chained kernel has layers > 1 */
        anethru_set_error(err, errlen,
                          "chaining %d kernels needs a CUDA graph of %d launches; anethru captures "
                          "at most %d launches per graph", spec->layers, spec->layers,
                          CUDA_MAX_GRAPH_LAUNCHES);
        return ANETHRU_E_UNSUPPORTED;
    }
    char why[256];
    if (!cuda_any_variant_fits(drv, spec->channels, spec->spatial, why, sizeof why)) {
        anethru_set_error(err, errlen, "no CUDA kernel can run %dx%d: %s", spec->channels,
                          spec->spatial, why);
        return ANETHRU_E_LIMIT;
    }
    if ((spec->options & ANETHRU_OPT_CUDA_MAPPED) && !drv->can_map_host) {
        anethru_set_error(err, errlen, "cuda_memory='mapped': this GPU cannot map host memory "
                          "(CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY is 0); use 'device'");
        return ANETHRU_E_UNSUPPORTED;
    }
    return ANETHRU_OK;
}

static int cuda_compile(const anethru_kernel_spec *spec, void **kernel, char *err, size_t errlen)
{
    const cuda_driver *drv;
    int rc = cuda_driver_get(&drv, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    if (!spec || !kernel || !spec->weights) {
        anethru_set_error(err, errlen, "bad CUDA kernel spec: no spec, weights or result pointer");
        return ANETHRU_E_ARG;
    }
    if ((rc = check_spec(drv, spec, err, errlen)) != ANETHRU_OK) return rc;
    if ((rc = cuda_make_current(drv, err, errlen)) != ANETHRU_OK) return ANETHRU_E_COMPILE;

    cuda_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        anethru_set_error(err, errlen, "cannot allocate a CUDA kernel");
        return ANETHRU_E_NOMEM;
    }
    rc = cuda_chain_open(&k->ch, drv, spec->channels, spec->spatial, spec->layers,
                         (spec->options & ANETHRU_OPT_CUDA_MAPPED) != 0, spec->weights, err,
                         errlen);
    if (rc == ANETHRU_OK) rc = cuda_chain_tune(&k->ch, err, errlen);
    if (rc == ANETHRU_OK && spec->layers > 1) rc = cuda_chain_capture(&k->ch, err, errlen);
    /* Tuning wrote the output: clear it, so a kernel's output reads as zeros until its first
     * eval, as without tuning. */
    if (rc == ANETHRU_OK) rc = cuda_chain_clear_output(&k->ch, ANETHRU_E_COMPILE, err, errlen);
    if (rc != ANETHRU_OK) {
        kernel_free(k);
        return rc;
    }
    *kernel = k;
    return ANETHRU_OK;
}

static void cuda_release(void *kernel)
{
    if (kernel) kernel_free(kernel);
}

/* ------------------------------------------------------------------ eval */

static int cuda_eval(void *kernel, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    if (k->lock[0].state || k->lock[1].state) {
        anethru_set_error(err, errlen, "eval while the CPU holds a lock on the kernel's %s buffer",
                          k->lock[0].state ? "input" : "output");
        return ANETHRU_E_EVAL;
    }
    int rc = cuda_make_current(k->ch.drv, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    k->in_flight = 1; /* until a synchronize succeeds (a failed launch may have queued work) */
    if ((rc = cuda_chain_run(&k->ch, err, errlen)) == ANETHRU_OK) k->in_flight = 0;
    return rc;
}

static int cuda_eval_null(void *kernel, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    const cuda_driver *drv = k->ch.drv;
    int rc = cuda_make_current(drv, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    k->in_flight = 1;
    CUresult r = drv->api.cuLaunchKernel(drv->null, 1, 1, 1, 1, 1, 1, 0, k->ch.stream, NULL, NULL);
    if (r != CUDA_SUCCESS)
        return cuda_fail(drv, ANETHRU_E_EVAL, r, "cuLaunchKernel(" ANETHRU_CUDA_NULL_KERNEL ")",
                         err, errlen);
    if ((rc = cuda_chain_sync(&k->ch, ANETHRU_CUDA_NULL_KERNEL, err, errlen)) == ANETHRU_OK)
        k->in_flight = 0;
    return rc;
}

/* ------------------------------------------------------------------ lock/unlock */

/* Mapped memory: the CPU may touch the buffers once no GPU work is in flight.  eval returns
 * only after its work completed, so this waits only after a failed eval. */
static int mapped_lock_wait(cuda_kernel *k, char *err, size_t errlen)
{
    if (k->in_flight) {
        if (cuda_make_current(k->ch.drv, err, errlen) != ANETHRU_OK) return ANETHRU_E_LOCK;
        CUresult r = k->ch.drv->api.cuStreamSynchronize(k->ch.stream);
        if (r != CUDA_SUCCESS)
            return cuda_fail(k->ch.drv, ANETHRU_E_LOCK, r,
                             "cuStreamSynchronize(before the CPU touches mapped memory)", err,
                             errlen);
        k->in_flight = 0;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the GPU's writes before the CPU's reads */
    return ANETHRU_OK;
}

static int cuda_lock_port(void *kernel, int port, int flags, void **addr, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    port_lock *l = &k->lock[port & 1];
    int rc = port_lock_check(l, port, flags, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    if (!l->state && k->ch.mapped) {
        if ((rc = mapped_lock_wait(k, err, errlen)) != ANETHRU_OK) return rc;
    } else if (!l->state && port == ANETHRU_PORT_OUTPUT) {
        /* Only the GPU writes the output, so only it needs reading back, once per outer lock. */
        if (cuda_make_current(k->ch.drv, err, errlen) != ANETHRU_OK) return ANETHRU_E_LOCK;
        if ((rc = cuda_chain_pull(&k->ch, port, ANETHRU_E_LOCK, err, errlen)) != ANETHRU_OK)
            return rc;
    }
    port_lock_take(l, flags);
    *addr = k->ch.host[port];
    return ANETHRU_OK;
}

static int cuda_unlock_port(void *kernel, int port, int flags, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    port_lock *l = &k->lock[port & 1];
    int rc = port_unlock_check(l, port, flags, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    if (k->ch.mapped) {
        /* Nothing to copy: the CPU's stores must only precede the next launch's reads. */
        if (l->depth == 1 && flags == ANETHRU_LOCK_READWRITE) __atomic_thread_fence(__ATOMIC_RELEASE);
    } else if (l->depth == 1 && flags == ANETHRU_LOCK_READWRITE) {
        /* The CPU may have written: push the staging buffer to the device at the outer unlock. */
        if (cuda_make_current(k->ch.drv, err, errlen) != ANETHRU_OK) return ANETHRU_E_LOCK;
        if ((rc = cuda_chain_push(&k->ch, port, ANETHRU_E_LOCK, err, errlen)) != ANETHRU_OK)
            return rc;
    }
    port_lock_release(l, flags);
    return ANETHRU_OK;
}

const anethru_backend anethru_cuda_backend = {
    .name = "cuda",
    .probe = cuda_probe,
    .describe = cuda_describe,
    .compile = cuda_compile,
    .eval = cuda_eval,
    .lock = cuda_lock_port,
    .unlock = cuda_unlock_port,
    .release = cuda_release,
    .eval_null = cuda_eval_null,
};
