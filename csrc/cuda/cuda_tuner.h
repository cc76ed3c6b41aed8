/* cuda_tuner.h -- which conv variant a cuda kernel runs: the one ANETHRU_CUDA_KERNEL names, or
 * the fastest of those that fit its shape, timed on the GPU at compile time (a few launches of
 * each inside a CUDA graph, so launch cost does not drown the kernel) and cached per shape and
 * memory mode for the life of the process (one device per process: see cuda_driver.h). */
#ifndef ANETHRU_CUDA_TUNER_H
#define ANETHRU_CUDA_TUNER_H

#include <stddef.h>

#include "cuda_driver.h"

/* What the candidates run on while they are timed: the compiling kernel's own stream and
 * buffers (so mapped memory is timed as mapped memory). */
typedef struct {
    CUstream stream;
    CUdeviceptr weights, in, out;
    int channels, spatial, mapped;
} cuda_bench;

/* ANETHRU_OK and the variant index for a kernel of bench's shape, or the code and why:
 * ANETHRU_E_ARG for an ANETHRU_CUDA_KERNEL that names no variant or one that cannot compute
 * this shape, ANETHRU_E_UNSUPPORTED for one this GPU could not load, ANETHRU_E_LIMIT when no
 * variant fits CUDA's launch limits, ANETHRU_E_COMPILE when the GPU fails while timing. */
int cuda_choose_variant(const cuda_driver *drv, const cuda_bench *bench, int *variant, char *err,
                        size_t errlen);

/* One launch of variant i (loaded, and fitting bench's shape) on bench's stream and buffers,
 * with its geometry for that shape. */
CUresult cuda_launch_variant(const cuda_driver *drv, int i, const cuda_bench *bench);

/* Variants that fit C x S and loaded, without timing anything: nonzero if at least one. */
int cuda_any_variant_fits(const cuda_driver *drv, int c, int s, char *why, size_t whylen);

#endif
