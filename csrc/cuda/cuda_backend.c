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
 * Which conv variant the launches use is cuda_tuner.c's choice for the shape.
 * Locks follow the CPU backend (IOSurface rules): same-flag nesting, mismatches are
 * ANETHRU_E_LOCK, and eval refuses to run while a lock is held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cuda_driver.h"
#include "cuda/kernels/cuda_kernels.h"
#include "cuda_tuner.h"
#include "common/port_lock.h"

/* Launches anethru captures into one CUDA graph (the `chained` kernel).  anethru's own bound,
 * not CUDA's: it keeps the graph's capture and instantiation (which grow with its nodes)
 * short next to the timings it serves. */
#define CUDA_MAX_GRAPH_LAUNCHES 4096

typedef struct {
    const cuda_driver *drv;
    int channels, spatial, layers;
    size_t bytes;            /* one C x S fp16 tensor */
    int mapped;              /* ANETHRU_OPT_CUDA_MAPPED */
    int in_flight;           /* work launched and not yet synchronized */
    CUstream stream;
    CUdeviceptr weights;     /* layers x C x C fp16 */
    CUdeviceptr port[2];     /* input and output as the kernels address them */
    CUdeviceptr between[2];  /* ping-pong intermediates of a chained kernel */
    void *host[2];           /* pinned staging (device mode) or the mapped buffers themselves */
    CUfunction fn;
    const char *fn_name;
    unsigned grid[2], block[2];
    CUgraphExec graph;       /* layers > 1 only */
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

/* ------------------------------------------------------------------ launching */

static int launch_layer(cuda_kernel *k, int layer, CUdeviceptr in, CUdeviceptr out, char *err,
                        size_t errlen)
{
    CUdeviceptr w = k->weights + (CUdeviceptr)layer * (CUdeviceptr)k->channels *
                                         (CUdeviceptr)k->channels * 2;
    void *params[] = {&w, &in, &out, &k->channels, &k->spatial};
    CUresult r = k->drv->api.cuLaunchKernel(k->fn, k->grid[0], k->grid[1], 1, k->block[0],
                                            k->block[1], 1, 0, k->stream, params, NULL);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    char what[160];
    snprintf(what, sizeof what, "cuLaunchKernel(%s, layer %d, grid %ux%u)", k->fn_name, layer,
             k->grid[0], k->grid[1]);
    return cuda_fail(k->drv, ANETHRU_E_EVAL, r, what, err, errlen);
}

/* The conv variant for C x S (tuned on this kernel's stream and buffers), and its geometry. */
static int plan_launch(cuda_kernel *k, char *err, size_t errlen)
{
    cuda_bench bench = {k->stream, k->weights, k->port[0], k->port[1], k->channels, k->spatial,
                        k->mapped};
    int variant, rc = cuda_choose_variant(k->drv, &bench, &variant, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    k->fn = k->drv->conv[variant];
    k->fn_name = cuda_variants[variant].entry;
    cuda_variant_geometry(&cuda_variants[variant], k->channels, k->spatial, k->grid, k->block);
    return ANETHRU_OK;
}

/* Capture the N launches on the kernel's stream into one executable graph. */
static int build_graph(cuda_kernel *k, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &k->drv->api;
    if (k->drv->no_graphs) {
        anethru_set_error(err, errlen, "%s", k->drv->no_graphs);
        return ANETHRU_E_UNSUPPORTED;
    }
    CUresult r = cu->cuStreamBeginCapture_v2(k->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    if (r != CUDA_SUCCESS)
        return cuda_fail(k->drv, ANETHRU_E_UNSUPPORTED, r, "cuStreamBeginCapture", err, errlen);
    int rc = ANETHRU_OK;
    CUdeviceptr src = k->port[0];
    for (int l = 0; l < k->layers && rc == ANETHRU_OK; l++) {
        CUdeviceptr dst = l == k->layers - 1 ? k->port[1] : k->between[l % 2];
        rc = launch_layer(k, l, src, dst, err, errlen);
        src = dst;
    }
    CUgraph graph = NULL;
    /* End the capture even after a failed launch, or the stream stays unusable. */
    r = cu->cuStreamEndCapture(k->stream, &graph);
    if (rc != ANETHRU_OK || r != CUDA_SUCCESS) {
        if (graph) cu->cuGraphDestroy(graph);
        if (rc != ANETHRU_OK) return ANETHRU_E_COMPILE; /* the launch's message is in err */
        return cuda_fail(k->drv, ANETHRU_E_COMPILE, r, "cuStreamEndCapture", err, errlen);
    }
    r = cu->cuGraphInstantiateWithFlags(&k->graph, graph, 0);
    cu->cuGraphDestroy(graph); /* the executable graph does not need its template */
    if (r != CUDA_SUCCESS) {
        k->graph = NULL;
        return cuda_fail(k->drv, ANETHRU_E_COMPILE, r, "cuGraphInstantiate", err, errlen);
    }
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ compile/release */

static void kernel_free(cuda_kernel *k)
{
    const cuda_driver_api *cu = &k->drv->api;
    char ignored[8];
    cuda_make_current(k->drv, ignored, sizeof ignored);
    if (k->stream) cu->cuStreamSynchronize(k->stream); /* nothing in flight uses what we free */
    if (k->graph) cu->cuGraphExecDestroy(k->graph);
    /* Mapped ports are aliases of host[]: freed with them below. */
    CUdeviceptr dev[] = {k->weights, k->mapped ? 0 : k->port[0], k->mapped ? 0 : k->port[1],
                         k->between[0], k->between[1]};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (dev[i]) cu->cuMemFree_v2(dev[i]);
    for (int i = 0; i < 2; i++)
        if (k->host[i]) cu->cuMemFreeHost(k->host[i]);
    if (k->stream) cu->cuStreamDestroy_v2(k->stream);
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
    const cuda_driver_api *cu = &drv->api;
    k->drv = drv;
    k->channels = spec->channels;
    k->spatial = spec->spatial;
    k->layers = spec->layers;
    k->mapped = (spec->options & ANETHRU_OPT_CUDA_MAPPED) != 0;
    k->bytes = (size_t)spec->channels * (size_t)spec->spatial * 2;
    size_t wbytes = (size_t)spec->layers * (size_t)spec->channels * (size_t)spec->channels * 2;

    CUresult r;
    const char *what = "";
#define TRY(call, label)                       \
    do {                                       \
        what = label;                          \
        if ((r = (call)) != CUDA_SUCCESS) goto cuda_failed; \
    } while (0)
    TRY(cu->cuStreamCreate(&k->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    TRY(cu->cuMemAlloc_v2(&k->weights, wbytes), "cuMemAlloc(weights)");
    if (k->mapped) {
        TRY(cu->cuMemHostAlloc(&k->host[0], k->bytes, CU_MEMHOSTALLOC_DEVICEMAP),
            "cuMemHostAlloc(mapped input)");
        TRY(cu->cuMemHostAlloc(&k->host[1], k->bytes, CU_MEMHOSTALLOC_DEVICEMAP),
            "cuMemHostAlloc(mapped output)");
        TRY(cu->cuMemHostGetDevicePointer_v2(&k->port[0], k->host[0], 0),
            "cuMemHostGetDevicePointer(mapped input)");
        TRY(cu->cuMemHostGetDevicePointer_v2(&k->port[1], k->host[1], 0),
            "cuMemHostGetDevicePointer(mapped output)");
    } else {
        TRY(cu->cuMemAlloc_v2(&k->port[0], k->bytes), "cuMemAlloc(input)");
        TRY(cu->cuMemAlloc_v2(&k->port[1], k->bytes), "cuMemAlloc(output)");
    }
    for (int i = 0; i < 2 && k->layers > 1; i++)
        TRY(cu->cuMemAlloc_v2(&k->between[i], k->bytes), "cuMemAlloc(intermediate)");
    if (!k->mapped) {
        TRY(cu->cuMemAllocHost_v2(&k->host[0], k->bytes), "cuMemAllocHost(input staging)");
        TRY(cu->cuMemAllocHost_v2(&k->host[1], k->bytes), "cuMemAllocHost(output staging)");
    }
    /* Zeroed input on both sides: the staging buffer mirrors the device input from here on
     * (mapped: these are the buffers the kernels use). */
    memset(k->host[0], 0, k->bytes);
    memset(k->host[1], 0, k->bytes);
    TRY(cu->cuMemcpyHtoDAsync_v2(k->weights, spec->weights, wbytes, k->stream),
        "cuMemcpyHtoD(weights)");
    if (!k->mapped) {
        TRY(cu->cuMemcpyHtoDAsync_v2(k->port[0], k->host[0], k->bytes, k->stream),
            "cuMemcpyHtoD(input)");
        TRY(cu->cuMemcpyHtoDAsync_v2(k->port[1], k->host[1], k->bytes, k->stream),
            "cuMemcpyHtoD(output)");
    }
    TRY(cu->cuStreamSynchronize(k->stream), "cuStreamSynchronize(upload)");
#undef TRY
    if ((rc = plan_launch(k, err, errlen)) != ANETHRU_OK ||
        (k->layers > 1 && (rc = build_graph(k, err, errlen)) != ANETHRU_OK)) {
        kernel_free(k);
        return rc;
    }
    /* Tuning wrote the output: clear it, so a kernel's output reads as zeros until its first
     * eval, as without tuning. */
    if (k->mapped) {
        memset(k->host[1], 0, k->bytes);
    } else if ((r = cu->cuMemcpyHtoDAsync_v2(k->port[1], k->host[1], k->bytes, k->stream)) !=
                   CUDA_SUCCESS ||
               (r = cu->cuStreamSynchronize(k->stream)) != CUDA_SUCCESS) {
        what = "cuMemcpyHtoD(output, after tuning)";
        goto cuda_failed;
    }
    *kernel = k;
    return ANETHRU_OK;

cuda_failed:
    rc = cuda_fail(drv, r == CUDA_ERROR_OUT_OF_MEMORY ? ANETHRU_E_NOMEM : ANETHRU_E_COMPILE, r,
                   what, err, errlen);
    kernel_free(k);
    return rc;
}

static void cuda_release(void *kernel)
{
    if (kernel) kernel_free(kernel);
}

/* ------------------------------------------------------------------ eval */

static int sync_stream(cuda_kernel *k, const char *after, char *err, size_t errlen)
{
    CUresult r = k->drv->api.cuStreamSynchronize(k->stream);
    if (r == CUDA_SUCCESS) {
        k->in_flight = 0;
        return ANETHRU_OK;
    }
    char what[160];
    snprintf(what, sizeof what, "cuStreamSynchronize after %s", after);
    return cuda_fail(k->drv, ANETHRU_E_EVAL, r, what, err, errlen);
}

static int cuda_eval(void *kernel, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    if (k->lock[0].state || k->lock[1].state) {
        anethru_set_error(err, errlen, "eval while the CPU holds a lock on the kernel's %s buffer",
                          k->lock[0].state ? "input" : "output");
        return ANETHRU_E_EVAL;
    }
    int rc = cuda_make_current(k->drv, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    k->in_flight = 1; /* until a synchronize succeeds (a failed launch may have queued work) */
    if (k->graph) {
        CUresult r = k->drv->api.cuGraphLaunch(k->graph, k->stream);
        if (r != CUDA_SUCCESS)
            return cuda_fail(k->drv, ANETHRU_E_EVAL, r, "cuGraphLaunch(chain)", err, errlen);
        return sync_stream(k, "the chain's graph", err, errlen);
    }
    if ((rc = launch_layer(k, 0, k->port[0], k->port[1], err, errlen)) != ANETHRU_OK) return rc;
    return sync_stream(k, k->fn_name, err, errlen);
}

static int cuda_eval_null(void *kernel, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    int rc = cuda_make_current(k->drv, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    k->in_flight = 1;
    CUresult r = k->drv->api.cuLaunchKernel(k->drv->null, 1, 1, 1, 1, 1, 1, 0, k->stream, NULL,
                                            NULL);
    if (r != CUDA_SUCCESS)
        return cuda_fail(k->drv, ANETHRU_E_EVAL, r, "cuLaunchKernel(" ANETHRU_CUDA_NULL_KERNEL ")",
                         err, errlen);
    return sync_stream(k, ANETHRU_CUDA_NULL_KERNEL, err, errlen);
}

/* ------------------------------------------------------------------ lock/unlock */

/* Mapped memory: the CPU may touch the buffers once no GPU work is in flight.  eval returns
 * only after its work completed, so this waits only after a failed eval. */
static int mapped_lock_wait(cuda_kernel *k, char *err, size_t errlen)
{
    if (k->in_flight) {
        if (cuda_make_current(k->drv, err, errlen) != ANETHRU_OK) return ANETHRU_E_LOCK;
        CUresult r = k->drv->api.cuStreamSynchronize(k->stream);
        if (r != CUDA_SUCCESS)
            return cuda_fail(k->drv, ANETHRU_E_LOCK, r,
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
    if (!l->state && k->mapped) {
        if ((rc = mapped_lock_wait(k, err, errlen)) != ANETHRU_OK) return rc;
    } else if (!l->state && port == ANETHRU_PORT_OUTPUT) {
        /* Only the GPU writes the output, so only it needs reading back, once per outer lock. */
        if (cuda_make_current(k->drv, err, errlen) != ANETHRU_OK) return ANETHRU_E_LOCK;
        CUresult r = k->drv->api.cuMemcpyDtoHAsync_v2(k->host[1], k->port[1], k->bytes,
                                                      k->stream);
        if (r == CUDA_SUCCESS) r = k->drv->api.cuStreamSynchronize(k->stream);
        if (r != CUDA_SUCCESS)
            return cuda_fail(k->drv, ANETHRU_E_LOCK, r, "cuMemcpyDtoH(output into pinned host)",
                             err, errlen);
    }
    port_lock_take(l, flags);
    *addr = k->host[port];
    return ANETHRU_OK;
}

static int cuda_unlock_port(void *kernel, int port, int flags, char *err, size_t errlen)
{
    cuda_kernel *k = kernel;
    port_lock *l = &k->lock[port & 1];
    int rc = port_unlock_check(l, port, flags, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    if (k->mapped) {
        /* Nothing to copy: the CPU's stores must only precede the next launch's reads. */
        if (l->depth == 1 && flags == ANETHRU_LOCK_READWRITE) __atomic_thread_fence(__ATOMIC_RELEASE);
    } else if (l->depth == 1 && flags == ANETHRU_LOCK_READWRITE) {
        /* The CPU may have written: push the staging buffer to the device at the outer unlock. */
        if (cuda_make_current(k->drv, err, errlen) != ANETHRU_OK) return ANETHRU_E_LOCK;
        CUresult r = k->drv->api.cuMemcpyHtoDAsync_v2(k->port[port], k->host[port], k->bytes,
                                                      k->stream);
        if (r == CUDA_SUCCESS) r = k->drv->api.cuStreamSynchronize(k->stream);
        if (r != CUDA_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "cuMemcpyHtoD(pinned host into %s)", port_name(port));
            return cuda_fail(k->drv, ANETHRU_E_LOCK, r, what, err, errlen);
        }
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
