/* cuda_driver.c -- find, load and initialise the CUDA driver at run time (see cuda_driver.h).
 *
 * Every step that can fail says which step, so anethru.backends() can tell a user exactly why
 * "cuda" is missing: no libcuda, a driver too old for an entry point, cuInit's error, no GPU,
 * or a driver that rejects anethru's PTX.  The steps are functions of their own (cuda_driver.h)
 * so that `anethru doctor --backend cuda` (cuda_bringup.c) runs the same code one step at a time.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cuda_driver.h"
#include "cuda/kernels/cuda_kernels.h"
#include "cuda/kernels/cuda_kernels_ptx.h"

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

const char *cuda_library_path(int *from_env)
{
    const char *env = getenv("ANETHRU_CUDA_LIBRARY");
    *from_env = env && *env;
    return *from_env ? env : DEFAULT_LIBRARY;
}

int cuda_library_open(const char *path, int from_env, void **lib, char *err, size_t errlen)
{
    *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (*lib) return ANETHRU_OK;
    const char *why = dlerror();
    anethru_set_error(err, errlen, "cannot load the CUDA driver library %s%s: %s", path,
                      from_env ? " (from ANETHRU_CUDA_LIBRARY)"
                               : " (no NVIDIA driver installed? set ANETHRU_CUDA_LIBRARY to its "
                                 "path)",
                      why ? why : "dlopen failed");
    return ANETHRU_E_UNAVAILABLE;
}

int cuda_entry_point_count(int required)
{
    int n = 0;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++)
        n += symbols[i].required == !!required;
    return n;
}

int cuda_missing_entry_points(const cuda_driver *drv, int required, char *buf, size_t buflen)
{
    int n = 0;
    size_t used = 0;
    if (buflen) buf[0] = 0;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *p;
        memcpy(&p, (const char *)&drv->api + symbols[i].offset, sizeof p);
        if (p || symbols[i].required != !!required) continue;
        if (used < buflen) {
            int w = snprintf(buf + used, buflen - used, "%s%s", n ? ", " : "", symbols[i].name);
            if (w > 0) used += (size_t)w;
        }
        n++;
    }
    return n;
}

int cuda_resolve(cuda_driver *drv, void *lib, const char *path, char *err, size_t errlen)
{
    char first_why[256] = "";
    int lacking = 0;
    drv->simulated = dlsym(lib, "anethru_fake_cuda_driver") != NULL;
    drv->no_graphs = NULL;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        dlerror();
        void *p = dlsym(lib, symbols[i].name);
        if (!p && symbols[i].required && !lacking++) {
            const char *why = dlerror();
            snprintf(first_why, sizeof first_why, "%s", why ? why : "not found");
        }
        if (!p && !symbols[i].required && !drv->no_graphs)
            drv->no_graphs = "the CUDA driver has no CUDA graph API (cuGraphLaunch and friends, "
                             "CUDA 11.4+), so the whole chain cannot be submitted as one graph";
        memcpy((char *)&drv->api + symbols[i].offset, &p, sizeof p);
    }
    if (!lacking) return ANETHRU_OK;
    char missing[256];
    cuda_missing_entry_points(drv, 1, missing, sizeof missing);
    anethru_set_error(err, errlen,
                      "the CUDA driver %s lacks the entry point%s %s (driver too old?): %s", path,
                      lacking > 1 ? "s" : "", missing, first_why);
    return ANETHRU_E_UNAVAILABLE;
}

int cuda_init(cuda_driver *drv, const char *path, char *err, size_t errlen)
{
    CUresult r = drv->api.cuInit(0);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    char what[300];
    snprintf(what, sizeof what, "cuInit (driver %s)", path);
    return cuda_fail(drv, ANETHRU_E_UNAVAILABLE, r, what, err, errlen);
}

/* `call`, or return its failure as "<what> failed: ..." (what: a printf format and its args). */
#define CALL(call, ...)                                                        \
    do {                                                                       \
        CUresult r_ = (call);                                                  \
        if (r_ != CUDA_SUCCESS) {                                              \
            char what_[320];                                                   \
            snprintf(what_, sizeof what_, __VA_ARGS__);                        \
            return cuda_fail(drv, ANETHRU_E_UNAVAILABLE, r_, what_, err, errlen); \
        }                                                                      \
    } while (0)

int cuda_open_device(cuda_driver *drv, const char *path, int *count, char *err, size_t errlen)
{
    cuda_driver_api *cu = &drv->api;
    int n = 0, major = 0, minor = 0;
    CALL(cu->cuDriverGetVersion(&drv->version), "cuDriverGetVersion");
    CALL(cu->cuDeviceGetCount(&n), "cuDeviceGetCount");
    if (count) *count = n;
    if (n < 1) {
        anethru_set_error(err, errlen,
                          "no CUDA device: driver %d.%d (%s) sees 0 GPUs (check "
                          "CUDA_VISIBLE_DEVICES and nvidia-smi)",
                          drv->version / 1000, drv->version % 1000 / 10, path);
        return ANETHRU_E_UNAVAILABLE;
    }
    CALL(cu->cuDeviceGet(&drv->device, 0), "cuDeviceGet(0)");
    snprintf(drv->device_name, sizeof drv->device_name, "?");
    CALL(cu->cuDeviceGetName(drv->device_name, (int)sizeof drv->device_name, drv->device),
         "cuDeviceGetName");
    drv->device_name[sizeof drv->device_name - 1] = 0;
    CUdevice dev = drv->device;
    CALL(cu->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
         "cuDeviceGetAttribute(compute capability)");
    CALL(cu->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev),
         "cuDeviceGetAttribute(compute capability)");
    drv->cc = major * 10 + minor;
    CALL(cu->cuDeviceGetAttribute(&drv->can_map_host, CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, dev),
         "cuDeviceGetAttribute(can map host memory)");
    return ANETHRU_OK;
}

int cuda_retain_context(cuda_driver *drv, char *err, size_t errlen)
{
    cuda_driver_api *cu = &drv->api;
    CALL(cu->cuDevicePrimaryCtxRetain(&drv->ctx, drv->device), "cuDevicePrimaryCtxRetain(%s)",
         drv->device_name);
    CUresult r = cu->cuCtxSetCurrent(drv->ctx);
    if (r == CUDA_SUCCESS) return ANETHRU_OK;
    cu->cuDevicePrimaryCtxRelease_v2(drv->device);
    drv->ctx = NULL;
    char what[200];
    snprintf(what, sizeof what, "cuCtxSetCurrent(primary context of %s)", drv->device_name);
    return cuda_fail(drv, ANETHRU_E_UNAVAILABLE, r, what, err, errlen);
}
#undef CALL

/* The kernels of the base module that the backend cannot do without: the FMA kernel fits every
 * shape, and the empty one is eval_null. */
static CUresult needed_kernels(cuda_driver *drv, CUmodule mod, char *what, size_t whatlen)
{
    const char *fma = cuda_variants[cuda_fma_variant].entry;
    CUresult r = drv->api.cuModuleGetFunction(&drv->conv[cuda_fma_variant], mod, fma);
    snprintf(what, whatlen, "cuModuleGetFunction(%s)", fma);
    if (r != CUDA_SUCCESS) return r;
    r = drv->api.cuModuleGetFunction(&drv->null, mod, ANETHRU_CUDA_NULL_KERNEL);
    snprintf(what, whatlen, "cuModuleGetFunction(" ANETHRU_CUDA_NULL_KERNEL ")");
    return r;
}

int cuda_load_module(cuda_driver *drv, int module, CUmodule *out, int *missing, char *err,
                     size_t errlen)
{
    const cuda_driver_api *cu = &drv->api;
    const int base = module == CUDA_MODULE_BASE;
    const int sm = base ? ANETHRU_CUDA_BASE_SM : ANETHRU_CUDA_ASYNC_SM;
    char why[ANETHRU_ERRLEN] = "", what[320];
    CUmodule mod = NULL;
    CUresult r;
    int rc = ANETHRU_OK, lacking = 0;
    *out = NULL;
    if (!base && drv->cc < sm) {
        snprintf(why, sizeof why, "needs compute capability %d.%d+ (cp.async), and %.100s is %d.%d",
                 sm / 10, sm % 10, drv->device_name, drv->cc / 10, drv->cc % 10);
        rc = ANETHRU_E_UNSUPPORTED;
    } else if ((r = cu->cuModuleLoadData(&mod, base ? anethru_cuda_ptx : anethru_cuda_ptx_sm80)) !=
               CUDA_SUCCESS) {
        /* The driver JIT-compiles the PTX here: a GPU older than sm_75 or a driver older than
         * PTX ISA 7.0 (CUDA 11.0) fails now rather than at the first eval. */
        if (base)
            snprintf(what, sizeof what, "loading anethru's PTX (sm_75+, PTX ISA 7.0) on %.100s "
                     "(compute capability %d.%d, driver %d.%d)", drv->device_name, drv->cc / 10,
                     drv->cc % 10, drv->version / 1000, drv->version % 1000 / 10);
        else
            snprintf(what, sizeof what, "loading the sm_80 PTX module");
        rc = cuda_fail(drv, ANETHRU_E_UNAVAILABLE, r, what, why, sizeof why);
        mod = NULL;
    } else if (base && (r = needed_kernels(drv, mod, what, sizeof what)) != CUDA_SUCCESS) {
        rc = cuda_fail(drv, ANETHRU_E_UNAVAILABLE, r, what, why, sizeof why);
        cu->cuModuleUnload(mod);
        mod = NULL;
        drv->conv[cuda_fma_variant] = drv->null = NULL;
    }
    /* The other variants: each one that cannot be had is left out with its reason (the tuner
     * and ANETHRU_CUDA_KERNEL report it), and the backend still works. */
    for (int i = 0; i < cuda_nvariants; i++) {
        const cuda_variant *v = &cuda_variants[i];
        if (v->module != module || i == cuda_fma_variant) continue;
        drv->conv[i] = NULL;
        if (!mod) {
            anethru_set_error(drv->unloaded[i], sizeof drv->unloaded[i], "%s", why);
            continue;
        }
        r = cu->cuModuleGetFunction(&drv->conv[i], mod, v->entry);
        if (r != CUDA_SUCCESS) {
            snprintf(what, sizeof what, "cuModuleGetFunction(%s)", v->entry);
            cuda_fail(drv, 0, r, what, drv->unloaded[i], sizeof drv->unloaded[i]);
            drv->conv[i] = NULL;
            lacking++;
        }
    }
    if (missing) *missing = lacking;
    if (rc != ANETHRU_OK) anethru_set_error(err, errlen, "%s", why);
    *out = mod;
    return rc;
}

/* Everything after cuInit: device 0, its primary context, the kernels. */
static int open_device(const char *path)
{
    CUmodule base, sm80;
    char ignored[8];
    int rc = cuda_open_device(&g_drv, path, NULL, g_reason, sizeof g_reason);
    if (rc == ANETHRU_OK) rc = cuda_retain_context(&g_drv, g_reason, sizeof g_reason);
    if (rc != ANETHRU_OK) return rc;
    rc = cuda_load_module(&g_drv, CUDA_MODULE_BASE, &base, NULL, g_reason, sizeof g_reason);
    if (rc != ANETHRU_OK) {
        g_drv.api.cuDevicePrimaryCtxRelease_v2(g_drv.device);
        g_drv.ctx = NULL;
        return ANETHRU_E_UNAVAILABLE;
    }
    /* Optional: its variants are left out, each with the reason, when it cannot be loaded. */
    cuda_load_module(&g_drv, CUDA_MODULE_SM80, &sm80, NULL, ignored, sizeof ignored);
    /* The modules and context stay loaded for the life of the process, like libcuda itself. */
    snprintf(g_drv.description, sizeof g_drv.description,
             "%s%s, compute capability %d.%d, CUDA driver %d.%d (%s)",
             g_drv.simulated ? "SIMULATED (fake CUDA driver, no GPU): " : "", g_drv.device_name,
             g_drv.cc / 10, g_drv.cc % 10, g_drv.version / 1000, g_drv.version % 1000 / 10, path);
    return ANETHRU_OK;
}

static void open_once(void)
{
    int from_env;
    const char *path = cuda_library_path(&from_env);
    void *lib;
    g_status = cuda_library_open(path, from_env, &lib, g_reason, sizeof g_reason);
    if (g_status != ANETHRU_OK) return;
    if ((g_status = cuda_resolve(&g_drv, lib, path, g_reason, sizeof g_reason)) != ANETHRU_OK ||
        (g_status = cuda_init(&g_drv, path, g_reason, sizeof g_reason)) != ANETHRU_OK) {
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
