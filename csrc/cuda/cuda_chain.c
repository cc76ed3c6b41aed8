/* cuda_chain.c -- one cuda kernel's buffers, launches and graph (see cuda_chain.h), for the
 * backend and its doctor alike. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "common/port_lock.h"
#include "cuda_chain.h"
#include "cuda_tuner.h"

/* ------------------------------------------------------------------ allocation */

/* A failed allocation or upload: out of memory says so, anything else is a failed compile. */
static int failed(const cuda_chain *ch, CUresult r, const char *what, char *err, size_t errlen)
{
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    return cuda_fail(ch->drv, r == CUDA_ERROR_OUT_OF_MEMORY ? ANETHRU_E_NOMEM : ANETHRU_E_COMPILE,
                     r, what, err, errlen);
}

/* Port p in device memory, or in mapped pinned host memory that the kernels address directly
 * (its own staging buffer then). */
static int alloc_port(cuda_chain *ch, int p, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &ch->drv->api;
    char what[96];
    if (!ch->mapped) {
        snprintf(what, sizeof what, "cuMemAlloc(%s)", port_name(p));
        return failed(ch, cu->cuMemAlloc_v2(&ch->port[p], ch->bytes), what, err, errlen);
    }
    snprintf(what, sizeof what, "cuMemHostAlloc(mapped %s)", port_name(p));
    int rc = failed(ch, cu->cuMemHostAlloc(&ch->host[p], ch->bytes, CU_MEMHOSTALLOC_DEVICEMAP),
                    what, err, errlen);
    if (rc != ANETHRU_OK) return rc;
    snprintf(what, sizeof what, "cuMemHostGetDevicePointer(mapped %s)", port_name(p));
    return failed(ch, cu->cuMemHostGetDevicePointer_v2(&ch->port[p], ch->host[p], 0), what, err,
                  errlen);
}

/* The stream, then every buffer, in the order tests/test_cuda.py's allocation failures count. */
static int alloc_all(cuda_chain *ch, size_t wbytes, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &ch->drv->api;
    char what[96];
    int rc = failed(ch, cu->cuStreamCreate(&ch->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate",
                    err, errlen);
    if (rc == ANETHRU_OK)
        rc = failed(ch, cu->cuMemAlloc_v2(&ch->weights, wbytes), "cuMemAlloc(weights)", err,
                    errlen);
    for (int p = 0; p < 2 && rc == ANETHRU_OK; p++) rc = alloc_port(ch, p, err, errlen);
    for (int i = 0; i < 2 && ch->layers > 1 && rc == ANETHRU_OK; i++)
        rc = failed(ch, cu->cuMemAlloc_v2(&ch->between[i], ch->bytes), "cuMemAlloc(intermediate)",
                    err, errlen);
    for (int p = 0; p < 2 && !ch->mapped && rc == ANETHRU_OK; p++) {
        snprintf(what, sizeof what, "cuMemAllocHost(%s staging)", port_name(p));
        rc = failed(ch, cu->cuMemAllocHost_v2(&ch->host[p], ch->bytes), what, err, errlen);
    }
    return rc;
}

/* The weights, and zeroed ports on both sides. */
static int upload(cuda_chain *ch, const void *weights, size_t wbytes, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &ch->drv->api;
    char what[96];
    memset(ch->host[0], 0, ch->bytes);
    memset(ch->host[1], 0, ch->bytes);
    int rc = failed(ch, cu->cuMemcpyHtoDAsync_v2(ch->weights, weights, wbytes, ch->stream),
                    "cuMemcpyHtoD(weights)", err, errlen);
    for (int p = 0; p < 2 && !ch->mapped && rc == ANETHRU_OK; p++) {
        snprintf(what, sizeof what, "cuMemcpyHtoD(%s)", port_name(p));
        rc = failed(ch, cu->cuMemcpyHtoDAsync_v2(ch->port[p], ch->host[p], ch->bytes, ch->stream),
                    what, err, errlen);
    }
    if (rc == ANETHRU_OK)
        rc = failed(ch, cu->cuStreamSynchronize(ch->stream), "cuStreamSynchronize(upload)", err,
                    errlen);
    return rc;
}

int cuda_chain_open(cuda_chain *ch, const cuda_driver *drv, int channels, int spatial,
                    int layers, int mapped, const void *weights, char *err, size_t errlen)
{
    memset(ch, 0, sizeof *ch);
    ch->drv = drv;
    ch->channels = channels;
    ch->spatial = spatial;
    ch->layers = layers;
    ch->mapped = mapped;
    ch->bytes = (size_t)channels * (size_t)spatial * 2;
    ch->variant = cuda_fma_variant; /* the one every shape fits, until a choice is made */
    size_t wbytes = (size_t)layers * (size_t)channels * (size_t)channels * 2;
    int rc = alloc_all(ch, wbytes, err, errlen);
    if (rc == ANETHRU_OK) rc = upload(ch, weights, wbytes, err, errlen);
    if (rc != ANETHRU_OK) cuda_chain_close(ch);
    return rc;
}

void cuda_chain_close(cuda_chain *ch)
{
    if (!ch->drv) return;
    const cuda_driver_api *cu = &ch->drv->api;
    char ignored[8];
    cuda_make_current(ch->drv, ignored, sizeof ignored);
    if (ch->stream) cu->cuStreamSynchronize(ch->stream); /* nothing in flight uses what we free */
    if (ch->graph) cu->cuGraphExecDestroy(ch->graph);
    /* Mapped ports are aliases of host[]: freed with them below. */
    CUdeviceptr dev[] = {ch->weights, ch->mapped ? 0 : ch->port[0], ch->mapped ? 0 : ch->port[1],
                         ch->between[0], ch->between[1]};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (dev[i]) cu->cuMemFree_v2(dev[i]);
    for (int i = 0; i < 2; i++)
        if (ch->host[i]) cu->cuMemFreeHost(ch->host[i]);
    if (ch->stream) cu->cuStreamDestroy_v2(ch->stream);
    memset(ch, 0, sizeof *ch);
}

/* ------------------------------------------------------------------ the variant */

int cuda_chain_tune(cuda_chain *ch, char *err, size_t errlen)
{
    cuda_bench bench = {ch->stream, ch->weights, ch->port[0], ch->port[1], ch->channels,
                        ch->spatial, ch->mapped};
    return cuda_choose_variant(ch->drv, &bench, &ch->variant, err, errlen);
}

/* ------------------------------------------------------------------ launching */

int cuda_chain_launch_layer(const cuda_chain *ch, int layer, CUdeviceptr src, CUdeviceptr dst,
                            char *err, size_t errlen)
{
    CUdeviceptr w = ch->weights + (CUdeviceptr)layer * (CUdeviceptr)ch->channels *
                                      (CUdeviceptr)ch->channels * 2;
    cuda_bench on = {ch->stream, w, src, dst, ch->channels, ch->spatial, ch->mapped};
    CUresult r = cuda_launch_variant(ch->drv, ch->variant, &on);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    unsigned grid[2], block[2];
    cuda_variant_geometry(&cuda_variants[ch->variant], ch->channels, ch->spatial, grid, block);
    char what[160];
    snprintf(what, sizeof what, "cuLaunchKernel(%s, layer %d, grid %ux%u)",
             cuda_variants[ch->variant].entry, layer, grid[0], grid[1]);
    return cuda_fail(ch->drv, ANETHRU_E_EVAL, r, what, err, errlen);
}

int cuda_chain_capture(cuda_chain *ch, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &ch->drv->api;
    if (ch->drv->no_graphs) {
        anethru_set_error(err, errlen, "%s", ch->drv->no_graphs);
        return ANETHRU_E_UNSUPPORTED;
    }
    CUresult r = cu->cuStreamBeginCapture_v2(ch->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    if (r != CUDA_SUCCESS)
        return cuda_fail(ch->drv, ANETHRU_E_UNSUPPORTED, r, "cuStreamBeginCapture", err, errlen);
    int rc = ANETHRU_OK;
    CUdeviceptr src = ch->port[0];
    for (int l = 0; l < ch->layers && rc == ANETHRU_OK; l++) {
        CUdeviceptr dst = l == ch->layers - 1 ? ch->port[1] : ch->between[l % 2];
        rc = cuda_chain_launch_layer(ch, l, src, dst, err, errlen);
        src = dst;
    }
    CUgraph graph = NULL;
    /* End the capture even after a failed launch, or the stream stays unusable. */
    r = cu->cuStreamEndCapture(ch->stream, &graph);
    if (rc != ANETHRU_OK || r != CUDA_SUCCESS) {
        if (graph) cu->cuGraphDestroy(graph);
        if (rc != ANETHRU_OK) return ANETHRU_E_COMPILE; /* the launch's message is in err */
        return cuda_fail(ch->drv, ANETHRU_E_COMPILE, r, "cuStreamEndCapture", err, errlen);
    }
    r = cu->cuGraphInstantiateWithFlags(&ch->graph, graph, 0);
    cu->cuGraphDestroy(graph); /* the executable graph does not need its template */
    if (r != CUDA_SUCCESS) {
        ch->graph = NULL;
        return cuda_fail(ch->drv, ANETHRU_E_COMPILE, r, "cuGraphInstantiate", err, errlen);
    }
    return ANETHRU_OK;
}

int cuda_chain_sync(const cuda_chain *ch, const char *after, char *err, size_t errlen)
{
    CUresult r = ch->drv->api.cuStreamSynchronize(ch->stream);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    char what[160];
    snprintf(what, sizeof what, "cuStreamSynchronize after %s", after);
    return cuda_fail(ch->drv, ANETHRU_E_EVAL, r, what, err, errlen);
}

int cuda_chain_run(const cuda_chain *ch, char *err, size_t errlen)
{
    if (!ch->graph) {
        int rc = cuda_chain_launch_layer(ch, 0, ch->port[0], ch->port[1], err, errlen);
        return rc != ANETHRU_OK ? rc : cuda_chain_sync(ch, cuda_variants[ch->variant].entry, err,
                                                       errlen);
    }
    CUresult r = ch->drv->api.cuGraphLaunch(ch->graph, ch->stream);
    if (r != CUDA_SUCCESS)
        return cuda_fail(ch->drv, ANETHRU_E_EVAL, r, "cuGraphLaunch(chain)", err, errlen);
    return cuda_chain_sync(ch, "the chain's graph", err, errlen);
}

/* ------------------------------------------------------------------ staging copies */

int cuda_chain_push(const cuda_chain *ch, int port, int code, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &ch->drv->api;
    CUresult r = cu->cuMemcpyHtoDAsync_v2(ch->port[port], ch->host[port], ch->bytes, ch->stream);
    if (r == CUDA_SUCCESS) r = cu->cuStreamSynchronize(ch->stream);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    char what[96];
    snprintf(what, sizeof what, "cuMemcpyHtoD(pinned host into %s)", port_name(port));
    return cuda_fail(ch->drv, code, r, what, err, errlen);
}

int cuda_chain_pull(const cuda_chain *ch, int port, int code, char *err, size_t errlen)
{
    const cuda_driver_api *cu = &ch->drv->api;
    CUresult r = cu->cuMemcpyDtoHAsync_v2(ch->host[port], ch->port[port], ch->bytes, ch->stream);
    if (r == CUDA_SUCCESS) r = cu->cuStreamSynchronize(ch->stream);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    char what[96];
    snprintf(what, sizeof what, "cuMemcpyDtoH(%s into pinned host)", port_name(port));
    return cuda_fail(ch->drv, code, r, what, err, errlen);
}

int cuda_chain_clear_output(const cuda_chain *ch, int code, char *err, size_t errlen)
{
    memset(ch->host[ANETHRU_PORT_OUTPUT], 0, ch->bytes);
    if (ch->mapped) return ANETHRU_OK; /* that was the buffer the kernels write */
    return cuda_chain_push(ch, ANETHRU_PORT_OUTPUT, code, err, errlen);
}
