/* cuda_driver.h -- the CUDA driver as cuda_backend.c sees it: loaded with dlopen at first use,
 * entry points resolved with dlsym, one device's primary context, anethru's kernels loaded from
 * embedded PTX.  Nothing here needs CUDA headers or libraries at build time.
 */
#ifndef ANETHRU_CUDA_DRIVER_H
#define ANETHRU_CUDA_DRIVER_H

#include <stddef.h>

#include "cuda_api.h"
#include "cuda_variants.h"

typedef struct {
    PFN_cuInit cuInit;
    PFN_cuDriverGetVersion cuDriverGetVersion;
    PFN_cuGetErrorName cuGetErrorName;
    PFN_cuGetErrorString cuGetErrorString;
    PFN_cuDeviceGetCount cuDeviceGetCount;
    PFN_cuDeviceGet cuDeviceGet;
    PFN_cuDeviceGetName cuDeviceGetName;
    PFN_cuDeviceGetAttribute cuDeviceGetAttribute;
    PFN_cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRetain;
    PFN_cuDevicePrimaryCtxRelease_v2 cuDevicePrimaryCtxRelease_v2;
    PFN_cuCtxGetCurrent cuCtxGetCurrent;
    PFN_cuCtxSetCurrent cuCtxSetCurrent;
    PFN_cuModuleLoadData cuModuleLoadData;
    PFN_cuModuleUnload cuModuleUnload;
    PFN_cuModuleGetFunction cuModuleGetFunction;
    PFN_cuStreamCreate cuStreamCreate;
    PFN_cuStreamDestroy_v2 cuStreamDestroy_v2;
    PFN_cuStreamSynchronize cuStreamSynchronize;
    PFN_cuMemAlloc_v2 cuMemAlloc_v2;
    PFN_cuMemFree_v2 cuMemFree_v2;
    PFN_cuMemAllocHost_v2 cuMemAllocHost_v2;
    PFN_cuMemFreeHost cuMemFreeHost;
    PFN_cuMemHostAlloc cuMemHostAlloc;
    PFN_cuMemHostGetDevicePointer_v2 cuMemHostGetDevicePointer_v2;
    PFN_cuMemcpyHtoDAsync_v2 cuMemcpyHtoDAsync_v2;
    PFN_cuMemcpyDtoHAsync_v2 cuMemcpyDtoHAsync_v2;
    PFN_cuLaunchKernel cuLaunchKernel;
    /* Graph entry points: optional (NULL when the driver lacks them; only `chained` needs them). */
    PFN_cuStreamBeginCapture_v2 cuStreamBeginCapture_v2;
    PFN_cuStreamEndCapture cuStreamEndCapture;
    PFN_cuGraphInstantiateWithFlags cuGraphInstantiateWithFlags;
    PFN_cuGraphLaunch cuGraphLaunch;
    PFN_cuGraphExecDestroy cuGraphExecDestroy;
    PFN_cuGraphDestroy cuGraphDestroy;
} cuda_driver_api;

typedef struct {
    cuda_driver_api api;
    CUcontext ctx;                        /* device 0's primary context, retained for good */
    CUfunction conv[CUDA_NVARIANTS];      /* per cuda_variants[] entry; NULL: not loaded ... */
    char unloaded[CUDA_NVARIANTS][200];   /* ... and why */
    CUfunction null;                      /* the empty kernel */
    CUdevice device;                      /* device 0 */
    char device_name[128];
    int version;                          /* cuDriverGetVersion's (12080 for CUDA 12.8) */
    int cc;                               /* compute capability x 10 (90 for 9.0) */
    int can_map_host;                     /* CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY */
    int simulated;                        /* the library is tests/cuda_fake, not NVIDIA's */
    const char *no_graphs;                /* NULL, or why CUDA graphs are unavailable */
    char description[256];
} cuda_driver;

/* Load and initialise once per process (thread-safe); ANETHRU_OK and the driver, or the code
 * with the reason (the same every call) in err.  Env ANETHRU_CUDA_LIBRARY names the library to
 * load instead of libcuda.so.1; it is read on the first call only. */
int cuda_driver_get(const cuda_driver **drv, char *err, size_t errlen);

/* The steps cuda_driver_get takes, in order, each on a driver the caller owns; `anethru doctor
 * --backend cuda` (cuda_bringup.c) runs them one at a time on its own.  Each returns ANETHRU_OK,
 * or a code with why in err (the driver's error name and text where it gave one), and leaves
 * nothing of its own half done. */

/* The library to load: ANETHRU_CUDA_LIBRARY if set, else libcuda.so.1 (*from_env says which). */
const char *cuda_library_path(int *from_env);
/* dlopen it; ANETHRU_E_UNAVAILABLE with dlerror()'s text. */
int cuda_library_open(const char *path, int from_env, void **lib, char *err, size_t errlen);
/* dlsym every entry point into drv->api; ANETHRU_E_UNAVAILABLE naming each required one the
 * library lacks.  A missing graph entry point only sets drv->no_graphs.  Sets drv->simulated. */
int cuda_resolve(cuda_driver *drv, void *lib, const char *path, char *err, size_t errlen);
/* How many entry points drv->api has (required ones, or the optional graph ones), and which of
 * them are NULL in drv->api (", "-joined into buf; returns how many). */
int cuda_entry_point_count(int required);
int cuda_missing_entry_points(const cuda_driver *drv, int required, char *buf, size_t buflen);
/* cuInit(0). */
int cuda_init(cuda_driver *drv, const char *path, char *err, size_t errlen);
/* Device 0: drv->version, device, device_name, cc and can_map_host; *count (may be NULL) gets
 * how many devices the driver sees.  ANETHRU_E_UNAVAILABLE when there is none. */
int cuda_open_device(cuda_driver *drv, const char *path, int *count, char *err, size_t errlen);
/* Retain device 0's primary context into drv->ctx and make it current on this thread. */
int cuda_retain_context(cuda_driver *drv, char *err, size_t errlen);
/* Load PTX module `module` (CUDA_MODULE_*) into *mod and its variants' entry points into
 * drv->conv (the base module: also the empty kernel).  ANETHRU_OK once it is loaded with the
 * kernels the backend cannot do without (the FMA and empty ones); each other variant it lacks
 * gets its reason in drv->unloaded and counts in *missing (may be NULL).  Else nothing stays
 * loaded, every variant of the module gets the reason in drv->unloaded, and the code is
 * ANETHRU_E_UNSUPPORTED when the GPU is older than the module's target (nothing was tried),
 * ANETHRU_E_UNAVAILABLE when the driver rejects the module or a needed kernel is missing. */
int cuda_load_module(cuda_driver *drv, int module, CUmodule *mod, int *missing, char *err,
                     size_t errlen);

/* Make the primary context current on the calling thread (each entry point calls this: the
 * harness evaluates on worker threads too). */
int cuda_make_current(const cuda_driver *drv, char *err, size_t errlen);

/* Write "<what> failed: CUDA_ERROR_X (code: text)" into err and return `code`. */
int cuda_fail(const cuda_driver *drv, int code, CUresult r, const char *what, char *err,
              size_t errlen);

#endif
