/* cuda_driver.c -- find, load and initialise the CUDA driver at run time (see cuda_driver.h).
 *
 * Every step that can fail says which step, so anethru.backends() can tell a user exactly why
 * "cuda" is missing: no libcuda, a driver too old for an entry point, cuInit's error, no GPU,
 * or a driver that rejects anethru's PTX.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cuda_driver.h"
#include "cuda_kernels.h"
#include "cuda_kernels_ptx.h"

#define DEFAULT_LIBRARY "libcuda.so.1"

static cuda_driver g_drv;
static int g_status = ANETHRU_E_INTERNAL;
static char g_reason[ANETHRU_ERRLEN];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Offsets rather than pointers so the table can be const and name each slot once. */
#define REQUIRED(fn) {#fn, offsetof(cuda_driver_api, fn), 1}
#define OPTIONAL(fn) {#fn, offsetof(cuda_driver_api, fn), 0}
static const struct {
    const char *name;
    size_t offset;
    int required;
} symbols[] = {
    REQUIRED(cuGetErrorName),   /* first: the later failures use them for their text */
    REQUIRED(cuGetErrorString),
    REQUIRED(cuInit),
    REQUIRED(cuDriverGetVersion),
    REQUIRED(cuDeviceGetCount),
    REQUIRED(cuDeviceGet),
    REQUIRED(cuDeviceGetName),
    REQUIRED(cuDeviceGetAttribute),
    REQUIRED(cuDevicePrimaryCtxRetain),
    REQUIRED(cuDevicePrimaryCtxRelease_v2),
    REQUIRED(cuCtxGetCurrent),
    REQUIRED(cuCtxSetCurrent),
    REQUIRED(cuModuleLoadData),
    REQUIRED(cuModuleUnload),
    REQUIRED(cuModuleGetFunction),
    REQUIRED(cuStreamCreate),
    REQUIRED(cuStreamDestroy_v2),
    REQUIRED(cuStreamSynchronize),
    REQUIRED(cuMemAlloc_v2),
    REQUIRED(cuMemFree_v2),
    REQUIRED(cuMemAllocHost_v2),
    REQUIRED(cuMemFreeHost),
    REQUIRED(cuMemHostAlloc),
    REQUIRED(cuMemHostGetDevicePointer_v2),
    REQUIRED(cuMemcpyHtoDAsync_v2),
    REQUIRED(cuMemcpyDtoHAsync_v2),
    REQUIRED(cuLaunchKernel),
    OPTIONAL(cuStreamBeginCapture_v2),
    OPTIONAL(cuStreamEndCapture),
    OPTIONAL(cuGraphInstantiateWithFlags),
    OPTIONAL(cuGraphLaunch),
    OPTIONAL(cuGraphExecDestroy),
    OPTIONAL(cuGraphDestroy),
};

int cuda_fail(const cuda_driver *drv, int code, CUresult r, const char *what, char *err,
              size_t errlen)
{
    const char *name = NULL, *text = NULL;
    if (drv->api.cuGetErrorName && drv->api.cuGetErrorName(r, &name) != CUDA_SUCCESS) name = NULL;
    if (drv->api.cuGetErrorString && drv->api.cuGetErrorString(r, &text) != CUDA_SUCCESS)
        text = NULL;
    anethru_set_error(err, errlen, "%s failed: %s (%u: %s)", what,
                      name ? name : "unknown CUresult", r, text ? text : "no description");
    return code;
}

int cuda_make_current(const cuda_driver *drv, char *err, size_t errlen)
{
    CUcontext cur = NULL;
    /* Reading first keeps the common case (already current) to one cheap call. */
    if (drv->api.cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur == drv->ctx) return ANETHRU_OK;
    CUresult r = drv->api.cuCtxSetCurrent(drv->ctx);
    if (r != CUDA_SUCCESS)
        return cuda_fail(drv, ANETHRU_E_EVAL, r, "cuCtxSetCurrent(primary context)", err, errlen);
    return ANETHRU_OK;
}

static int resolve_symbols(void *lib, const char *path)
{
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        dlerror();
        void *p = dlsym(lib, symbols[i].name);
        if (!p && symbols[i].required) {
            const char *why = dlerror();
            anethru_set_error(g_reason, sizeof g_reason,
                              "the CUDA driver %s lacks the entry point %s (driver too old?): %s",
                              path, symbols[i].name, why ? why : "not found");
            return ANETHRU_E_UNAVAILABLE;
        }
        if (!p && !g_drv.no_graphs)
            g_drv.no_graphs = "the CUDA driver has no CUDA graph API (cuGraphLaunch and friends, "
                              "CUDA 11.4+), so the whole chain cannot be submitted as one graph";
        memcpy((char *)&g_drv.api + symbols[i].offset, &p, sizeof p);
    }
    return ANETHRU_OK;
}

/* The variants other than the FMA kernel: each one that cannot be loaded is left out with its
 * reason (the tuner and ANETHRU_CUDA_KERNEL report it), and the backend still works. */
static void load_optional_variants(CUmodule base, const char *gpu)
{
    cuda_driver_api *cu = &g_drv.api;
    CUmodule sm80 = NULL;
    char sm80_missing[sizeof g_drv.unloaded[0]] = "";
    if (g_drv.cc < ANETHRU_CUDA_ASYNC_SM) {
        snprintf(sm80_missing, sizeof sm80_missing,
                 "needs compute capability %d.%d+ (cp.async), and %.100s is %d.%d",
                 ANETHRU_CUDA_ASYNC_SM / 10, ANETHRU_CUDA_ASYNC_SM % 10, gpu, g_drv.cc / 10,
                 g_drv.cc % 10);
    } else {
        CUresult r = cu->cuModuleLoadData(&sm80, anethru_cuda_ptx_sm80);
        if (r != CUDA_SUCCESS) {
            cuda_fail(&g_drv, 0, r, "loading the sm_80 PTX module", sm80_missing,
                      sizeof sm80_missing);
            sm80 = NULL;
        }
    }
    for (int i = 0; i < cuda_nvariants; i++) {
        const cuda_variant *v = &cuda_variants[i];
        if (i == cuda_fma_variant) continue;
        if (v->module == CUDA_MODULE_SM80 && !sm80) {
            snprintf(g_drv.unloaded[i], sizeof g_drv.unloaded[i], "%s", sm80_missing);
            continue;
        }
        CUresult r = cu->cuModuleGetFunction(&g_drv.conv[i], v->module == CUDA_MODULE_SM80 ? sm80 : base,
                                             v->entry);
        if (r != CUDA_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "cuModuleGetFunction(%s)", v->entry);
            cuda_fail(&g_drv, 0, r, what, g_drv.unloaded[i], sizeof g_drv.unloaded[i]);
            g_drv.conv[i] = NULL;
        }
    }
}

/* Everything after cuInit: pick device 0, retain its primary context, load the kernels. */
static int open_device(const char *path)
{
    cuda_driver_api *cu = &g_drv.api;
    char what[320];
    int version = 0, count = 0, major = 0, minor = 0;
    CUdevice dev = 0;
    CUmodule mod = NULL;
    char name[128] = "?";
    CUresult r;

#define STEP(call, ...)                                                             \
    do {                                                                            \
        if ((r = (call)) != CUDA_SUCCESS) {                                         \
            snprintf(what, sizeof what, __VA_ARGS__);                               \
            cuda_fail(&g_drv, ANETHRU_E_UNAVAILABLE, r, what, g_reason, sizeof g_reason); \
            goto fail;                                                              \
        }                                                                           \
    } while (0)

    STEP(cu->cuDriverGetVersion(&version), "cuDriverGetVersion");
    STEP(cu->cuDeviceGetCount(&count), "cuDeviceGetCount");
    if (count < 1) {
        anethru_set_error(g_reason, sizeof g_reason,
                          "no CUDA device: driver %d.%d (%s) sees 0 GPUs (check "
                          "CUDA_VISIBLE_DEVICES and nvidia-smi)",
                          version / 1000, version % 1000 / 10, path);
        return ANETHRU_E_UNAVAILABLE;
    }
    STEP(cu->cuDeviceGet(&dev, 0), "cuDeviceGet(0)");
    STEP(cu->cuDeviceGetName(name, (int)sizeof name, dev), "cuDeviceGetName");
    name[sizeof name - 1] = 0;
    STEP(cu->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
         "cuDeviceGetAttribute(compute capability)");
    STEP(cu->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev),
         "cuDeviceGetAttribute(compute capability)");
    STEP(cu->cuDevicePrimaryCtxRetain(&g_drv.ctx, dev), "cuDevicePrimaryCtxRetain(%s)", name);
    STEP(cu->cuCtxSetCurrent(g_drv.ctx), "cuCtxSetCurrent(primary context of %s)", name);
    STEP(cu->cuDeviceGetAttribute(&g_drv.can_map_host, CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY,
                                  dev),
         "cuDeviceGetAttribute(can map host memory)");
    g_drv.cc = major * 10 + minor;
    /* The driver JIT-compiles the PTX here; a GPU older than sm_75 or a driver older than
     * PTX ISA 7.0 (CUDA 11.0) fails now rather than at the first eval. */
    STEP(cu->cuModuleLoadData(&mod, anethru_cuda_ptx),
         "loading anethru's PTX (sm_75+, PTX ISA 7.0) on %s (compute capability %d.%d, driver "
         "%d.%d)", name, major, minor, version / 1000, version % 1000 / 10);
    /* The FMA kernel fits every shape and the empty one is null_eval: both are needed. */
    STEP(cu->cuModuleGetFunction(&g_drv.conv[cuda_fma_variant], mod,
                                 cuda_variants[cuda_fma_variant].entry),
         "cuModuleGetFunction(%s)", cuda_variants[cuda_fma_variant].entry);
    STEP(cu->cuModuleGetFunction(&g_drv.null, mod, ANETHRU_CUDA_NULL_KERNEL),
         "cuModuleGetFunction(" ANETHRU_CUDA_NULL_KERNEL ")");
#undef STEP
    load_optional_variants(mod, name);
    /* The modules and context stay loaded for the life of the process, like libcuda itself. */
    snprintf(g_drv.description, sizeof g_drv.description,
             "%s%s, compute capability %d.%d, CUDA driver %d.%d (%s)",
             g_drv.simulated ? "SIMULATED (fake CUDA driver, no GPU): " : "", name, major, minor,
             version / 1000, version % 1000 / 10, path);
    return ANETHRU_OK;

fail:
    if (mod) cu->cuModuleUnload(mod);
    if (g_drv.ctx) cu->cuDevicePrimaryCtxRelease_v2(dev);
    g_drv.ctx = NULL;
    return ANETHRU_E_UNAVAILABLE;
}

static void open_once(void)
{
    const char *env = getenv("ANETHRU_CUDA_LIBRARY");
    const char *path = env && *env ? env : DEFAULT_LIBRARY;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        anethru_set_error(g_reason, sizeof g_reason,
                          "cannot load the CUDA driver library %s%s: %s", path,
                          env && *env ? " (from ANETHRU_CUDA_LIBRARY)"
                                      : " (no NVIDIA driver installed? set ANETHRU_CUDA_LIBRARY "
                                        "to its path)",
                          why ? why : "dlopen failed");
        g_status = ANETHRU_E_UNAVAILABLE;
        return;
    }
    g_drv.simulated = dlsym(lib, "anethru_fake_cuda_driver") != NULL;
    if ((g_status = resolve_symbols(lib, path)) != ANETHRU_OK) {
        dlclose(lib);
        memset(&g_drv, 0, sizeof g_drv);
        return;
    }
    CUresult r = g_drv.api.cuInit(0);
    if (r != CUDA_SUCCESS) {
        char what[300];
        snprintf(what, sizeof what, "cuInit (driver %s)", path);
        g_status = cuda_fail(&g_drv, ANETHRU_E_UNAVAILABLE, r, what, g_reason, sizeof g_reason);
        dlclose(lib); /* the reason is already formatted; nothing else uses the library */
        memset(&g_drv, 0, sizeof g_drv);
        return;
    }
    /* After a successful cuInit the library stays loaded even if a later step fails:
     * unloading an initialised driver is not supported by NVIDIA. */
    g_status = open_device(path);
}

int cuda_driver_get(const cuda_driver **drv, char *err, size_t errlen)
{
    pthread_once(&g_once, open_once);
    if (g_status != ANETHRU_OK) {
        anethru_set_error(err, errlen, "%s", g_reason);
        *drv = NULL;
        return g_status;
    }
    *drv = &g_drv;
    return ANETHRU_OK;
}
