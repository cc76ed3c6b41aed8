/* floor.c -- the dispatch floor of a plain CUDA C program: launch an empty kernel and wait for
 * it, ITERS times per block, BLOCKS blocks; prints per-iteration microseconds.  This is the
 * yardstick for anethru's null_eval on the same GPU (issue 4: within 1.3x).  It does what
 * anethru's eval_null does (driver API, one non-blocking stream, cuStreamSynchronize) with no
 * harness, no vtable and no Python around it.  See README.md to build and run it.
 *
 *   ./floor [ITERS=1000] [BLOCKS=15]
 * Output: one line per block "block_us_per_iter X", then
 *         "floor_us median M min N max X iters I blocks B device NAME".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef FLOOR_OWN_DECLS
/* A GPU machine without the CUDA toolkit has libcuda but no cuda.h: use anethru's declarations
 * (same ABI; checked against cuda.h by tests/test_cuda.py). */
#include "cuda/cuda_api.h"
CUresult cuInit(unsigned int);
CUresult cuDeviceGet(CUdevice *, int);
CUresult cuDeviceGetName(char *, int, CUdevice);
CUresult cuDevicePrimaryCtxRetain(CUcontext *, CUdevice);
CUresult cuCtxSetCurrent(CUcontext);
CUresult cuModuleLoadData(CUmodule *, const void *);
CUresult cuModuleGetFunction(CUfunction *, CUmodule, const char *);
CUresult cuStreamCreate(CUstream *, unsigned int);
CUresult cuStreamSynchronize(CUstream);
CUresult cuLaunchKernel(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
                        unsigned int, unsigned int, unsigned int, CUstream, void **, void **);
CUresult cuGetErrorName(CUresult, const char **);
#else
#include <cuda.h>
#endif

/* An empty kernel in PTX, so no nvcc is needed; the driver JIT-compiles it. */
static const char null_ptx[] =
    ".version 7.0\n"
    ".target sm_52\n"
    ".address_size 64\n"
    ".visible .entry floor_null()\n"
    "{\n"
    "\tret;\n"
    "}\n";

static void check(CUresult r, const char *what)
{
    if (r == CUDA_SUCCESS) return;
    const char *name = NULL;
    cuGetErrorName(r, &name);
    fprintf(stderr, "floor: %s failed: %s (%d)\n", what, name ? name : "?", (int)r);
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 1000, blocks = argc > 2 ? atoi(argv[2]) : 15;
    if (iters < 1 || blocks < 1 || blocks > 1000) {
        fprintf(stderr, "usage: floor [ITERS] [BLOCKS<=1000]\n");
        return 2;
    }
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fn;
    CUstream stream;
    char name[128] = "?";
    check(cuInit(0), "cuInit");
    check(cuDeviceGet(&dev, 0), "cuDeviceGet");
    check(cuDeviceGetName(name, sizeof name, dev), "cuDeviceGetName");
    check(cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
    check(cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    check(cuModuleLoadData(&mod, null_ptx), "cuModuleLoadData");
    check(cuModuleGetFunction(&fn, mod, "floor_null"), "cuModuleGetFunction");
    check(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");

    for (int i = 0; i < iters; i++) { /* warm-up: first launches pay for lazy setup */
        check(cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, stream, NULL, NULL), "cuLaunchKernel");
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }
    double per[1000];
    for (int b = 0; b < blocks; b++) {
        double t0 = now_us();
        for (int i = 0; i < iters; i++) {
            check(cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, stream, NULL, NULL), "cuLaunchKernel");
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
        per[b] = (now_us() - t0) / iters;
        printf("block_us_per_iter %.3f\n", per[b]);
    }
    qsort(per, (size_t)blocks, sizeof per[0], by_value);
    double median = blocks % 2 ? per[blocks / 2] : (per[blocks / 2 - 1] + per[blocks / 2]) / 2;
    printf("floor_us median %.3f min %.3f max %.3f iters %d blocks %d device %s\n", median,
           per[0], per[blocks - 1], iters, blocks, name);
    return 0;
}
