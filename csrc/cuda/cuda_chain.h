/* cuda_chain.h -- one cuda kernel's work on the GPU: `layers` convs of C x S, their buffers, the
 * conv variant they launch and their CUDA graph.  Internal to csrc/cuda/: cuda_backend.c
 * compiles and runs every kernel with these functions, and `anethru doctor --backend cuda`
 * (cuda_bringup.c) takes the same calls one step at a time, so the doctor checks the backend's
 * code rather than a copy of it.  Every function needs the primary context current, and
 * returns ANETHRU_OK or a code with the failing CUDA call's name and the driver's words in err.
 */
#ifndef ANETHRU_CUDA_CHAIN_H
#define ANETHRU_CUDA_CHAIN_H

#include <stddef.h>

#include "cuda_driver.h"

typedef struct {
    const cuda_driver *drv;
    int channels, spatial, layers;
    size_t bytes;            /* one C x S fp16 tensor */
    int mapped;              /* the ports are mapped pinned host memory */
    CUstream stream;
    CUdeviceptr weights;     /* layers x C x C fp16 */
    CUdeviceptr port[2];     /* input and output as the kernels address them */
    CUdeviceptr between[2];  /* ping-pong intermediates (layers > 1) */
    void *host[2];           /* pinned staging of each port, or (mapped) the port itself */
    int variant;             /* the cuda_variants[] entry every launch uses */
    CUgraphExec graph;       /* the layers' launches, once captured */
} cuda_chain;

/* Allocate everything for C x S x layers, upload `weights` (layers x C x C fp16) and zero both
 * ports on both sides (the staging buffers mirror the device's from here on).  The variant is
 * the FMA kernel (it fits every shape) until cuda_chain_tune.  On failure nothing stays
 * allocated. */
int cuda_chain_open(cuda_chain *ch, const cuda_driver *drv, int channels, int spatial,
                    int layers, int mapped, const void *weights, char *err, size_t errlen);
/* Free all of it, after waiting for its stream; a chain never opened (or closed) is left alone. */
void cuda_chain_close(cuda_chain *ch);

/* Launch the variant cuda_tuner.c chooses for this shape and memory from now on (timed on this
 * chain's stream and buffers, which leaves the output written: cuda_chain_clear_output).  Call
 * it before cuda_chain_capture, whose graph keeps the variant it captured. */
int cuda_chain_tune(cuda_chain *ch, char *err, size_t errlen);

/* One launch of layer `layer`'s conv, src -> dst, with the chain's variant (ANETHRU_E_EVAL). */
int cuda_chain_launch_layer(const cuda_chain *ch, int layer, CUdeviceptr src, CUdeviceptr dst,
                            char *err, size_t errlen);
/* The layers' launches (input -> intermediates -> output) captured, once, into one executable
 * graph (ANETHRU_E_UNSUPPORTED without the graph API, else ANETHRU_E_COMPILE). */
int cuda_chain_capture(cuda_chain *ch, char *err, size_t errlen);
/* One eval: the graph (layer 0 from input to output while none is captured), then
 * cuStreamSynchronize (ANETHRU_E_EVAL). */
int cuda_chain_run(const cuda_chain *ch, char *err, size_t errlen);
/* cuStreamSynchronize, saying what ran before it on failure (ANETHRU_E_EVAL). */
int cuda_chain_sync(const cuda_chain *ch, const char *after, char *err, size_t errlen);

/* Device memory only: a port's staging buffer copied to the device, or back, then
 * synchronized; `code` on failure. */
int cuda_chain_push(const cuda_chain *ch, int port, int code, char *err, size_t errlen);
int cuda_chain_pull(const cuda_chain *ch, int port, int code, char *err, size_t errlen);
/* The output zeroed on both sides (after tuning, or before a check); `code` on failure. */
int cuda_chain_clear_output(const cuda_chain *ch, int code, char *err, size_t errlen);

#endif
