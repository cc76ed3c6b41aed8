/* fake_libcuda.c -- a test-only stand-in for libcuda.so.1, so the cuda backend's real code runs
 * in CI without a GPU.  Built by tests/cuda_fake/build.py into a shared library that the backend
 * loads through ANETHRU_CUDA_LIBRARY.
 *
 * It implements, on the CPU, just the driver-API subset in csrc/cuda/cuda_api.h: "device" memory is
 * malloc'd blocks (bounds-checked on every copy and launch), streams run work at once, a launch
 * of any of anethru's conv kernel variants computes the conv (with the real kernels' arithmetic:
 * every product, so 0 * inf is NaN) after checking the launch geometry against cuda_kernels.h,
 * stream capture records launches into a graph that cuGraphLaunch replays.  Host memory
 * allocated with CU_MEMHOSTALLOC_DEVICEMAP is mapped: kernels may read and write it through the
 * pointer cuMemHostGetDevicePointer returns (the same address, as under unified addressing);
 * other host memory is refused to kernels.  PTX modules are accepted when they declare a
 * .version and a .target the fake GPU can run (sm_90 unless told otherwise).
 * Like the real driver, it refuses work on a thread without a current context.
 *
 * Knobs (environment, read at cuInit):
 *   FAKE_CUDA_INIT_ERROR=n     cuInit returns CUresult n
 *   FAKE_CUDA_DEVICE_COUNT=n   number of devices (default 1)
 *   FAKE_CUDA_MODULE_ERROR=n   cuModuleLoadData returns n
 *   FAKE_CUDA_FAIL_LAUNCH=k    the k-th kernel run (1-based; direct or inside a graph) fails
 *                              with CUDA_ERROR_LAUNCH_FAILED
 *   FAKE_CUDA_FAIL_AT_SYNC=1   ... reported by the next cuStreamSynchronize instead, as real
 *                              asynchronous faults are
 *   FAKE_CUDA_FAIL_CAPTURE=1   launches recorded by stream capture fail (as an invalid launch
 *                              would), so building a chained kernel's graph fails
 *   FAKE_CUDA_FAIL_ALLOC=k     the k-th allocation (cuMemAlloc, cuMemAllocHost or
 *                              cuMemHostAlloc) runs out of memory
 *   FAKE_CUDA_COMPUTE_CAPABILITY=n   the GPU's compute capability x 10 (default 90)
 *   FAKE_CUDA_REJECT_TARGET=sm_XY    cuModuleLoadData of PTX for that target fails
 *                                    (CUDA_ERROR_INVALID_PTX), as a driver's JIT may
 *   FAKE_CUDA_MISSING_FUNCTION=e     cuModuleGetFunction does not find entry point e
 *   FAKE_CUDA_FAIL_KERNEL=e          every launch of entry point e fails with
 *                                    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (as a block too large
 *                                    for the GPU would)
 *   FAKE_CUDA_FAST_KERNEL=e          every other conv kernel spins FAKE_CUDA_SLOW_US
 *                                    (default 200) more per run, so e is the fastest
 *   FAKE_CUDA_NO_MAP_HOST=1          the GPU cannot map host memory
 *   FAKE_CUDA_CONTEXT_ERROR=n        cuDevicePrimaryCtxRetain returns CUresult n
 *   FAKE_CUDA_CORRUPT=1              every conv kernel run adds 1 to the bits of its first
 *                                    output value (one ulp off, as a faulty GPU might be)
 *   FAKE_CUDA_CORRUPT_KERNEL=e       the same, for the runs of entry point e only
 *   FAKE_CUDA_VERSION_ERROR=n        cuDriverGetVersion returns CUresult n (read at each call:
 *                                    it may be called before cuInit)
 * Dropping a symbol cannot be an environment knob (dlsym sees what the library exports), so
 * build.py links variants with a version script that hides the named symbol.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda/cuda_api.h"
#include "cuda/kernels/cuda_kernels.h"
#include "fake_half.h"

#define EXPORT __attribute__((visibility("default")))

/* The backend looks for this to label its results SIMULATED. */
EXPORT const int anethru_fake_cuda_driver = 1;

/* ------------------------------------------------------------------ bookkeeping */

typedef struct {
    unsigned char *base;
    size_t size;
    int pinned; /* host memory (cuMemAllocHost, cuMemHostAlloc) rather than cuMemAlloc */
    int mapped; /* host memory that kernels may address (CU_MEMHOSTALLOC_DEVICEMAP) */
} block;

typedef struct {
    CUfunction fn;
    unsigned grid[3], block[3];
    CUdeviceptr w, x, y;
    int c, s;
} launch_rec;

struct CUgraph_st {
    launch_rec *nodes;
    int n, cap;
};
struct CUgraphExec_st {
    launch_rec *nodes;
    int n;
};
struct CUstream_st {
    CUgraph capture; /* non-NULL while capturing */
    CUresult pending; /* an asynchronous fault for the next synchronize */
};
struct CUmod_st {
    int loaded;
    const char *image;
};
struct CUctx_st {
    int refs;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static block *blocks; /* sorted by base address, so lookups are a binary search */
static size_t nblocks, capblocks;
static int live_objects; /* memory blocks, streams, graphs and executable graphs */
static long kernel_runs, fail_at, fail_at_sync, allocs, fail_alloc, fail_capture, slow_us, corrupt;
static int initialised, device_count = 1, compute_capability = 90, can_map_host = 1;
static CUresult init_error, module_error, context_error;
static const char *reject_target, *missing_function, *fail_kernel, *fast_kernel, *corrupt_kernel;
static struct CUctx_st primary;
#define MAX_MODULES 4
static struct CUmod_st modules[MAX_MODULES];

/* Every kernel the fake can run: anethru's conv variants (geometry from cuda_kernels.h), then
 * kernels that do nothing (benchmarks/cuda_floor's included). */
enum { KIND_MMA, KIND_FMA, KIND_EMPTY };
struct CUfunc_st {
    const char *name;
    int kind, tm, tn, bk, groups;
};
#define FAKE_MMA(name, tm, tn, bk, g) {ANETHRU_CUDA_ENTRY_PREFIX #name, KIND_MMA, tm, tn, bk, g},
#define FAKE_ASYNC(name, tm, tn, bk, g, st) FAKE_MMA(name, tm, tn, bk, g)
static struct CUfunc_st functions[] = {
    ANETHRU_CUDA_MMA_VARIANTS(FAKE_MMA) ANETHRU_CUDA_ASYNC_VARIANTS(FAKE_ASYNC)
    {ANETHRU_CUDA_ENTRY_PREFIX ANETHRU_CUDA_FMA_NAME, KIND_FMA, ANETHRU_CUDA_FMA_TILE,
     ANETHRU_CUDA_FMA_TILE, 0, 0},
    {ANETHRU_CUDA_NULL_KERNEL, KIND_EMPTY, 0, 0, 0, 0},
    {"floor_null", KIND_EMPTY, 0, 0, 0, 0},
};
#define N_FUNCTIONS (sizeof functions / sizeof functions[0])
#define IS_EMPTY_KERNEL(fn) ((fn)->kind == KIND_EMPTY)
static __thread CUcontext current;

/* Test hooks (read with ctypes from the same loaded library). */
EXPORT int fake_cuda_live_objects(void)
{
    pthread_mutex_lock(&mu);
    int n = live_objects;
    pthread_mutex_unlock(&mu);
    return n;
}
EXPORT long fake_cuda_kernel_runs(void) { return __atomic_load_n(&kernel_runs, __ATOMIC_SEQ_CST); }
/* Modules loaded and references to the primary context held (what a bring-up must give back). */
EXPORT int fake_cuda_loaded_modules(void);
EXPORT int fake_cuda_context_refs(void);
static long copies;
/* Host<->device copies made so far (mapped memory must need none). */
EXPORT long fake_cuda_copies(void) { return __atomic_load_n(&copies, __ATOMIC_SEQ_CST); }

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

#define NEED_INIT()                                    \
    do {                                               \
        if (!initialised) return CUDA_ERROR_NOT_INITIALIZED; \
    } while (0)
#define NEED_CTX()                                     \
    do {                                               \
        NEED_INIT();                                   \
        if (current != &primary) return CUDA_ERROR_INVALID_CONTEXT; \
    } while (0)

/* Index of the last block whose base is <= p, or -1.  Caller holds mu. */
static long block_at_or_below(const void *p)
{
    long lo = 0, hi = (long)nblocks - 1, found = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if ((const void *)blocks[mid].base <= p) found = mid, lo = mid + 1;
        else hi = mid - 1;
    }
    return found;
}

/* The block holding [p, p + n), or NULL.  Caller holds mu. */
static block *find_block(const void *p, size_t n, int pinned)
{
    long i = block_at_or_below(p);
    if (i < 0) return NULL;
    block *b = &blocks[i];
    const unsigned char *q = p;
    if (b->pinned == pinned && n <= b->size && (size_t)(q - b->base) <= b->size - n) return b;
    return NULL;
}

/* What a kernel may address: device memory, or mapped host memory.  Caller holds mu. */
static int kernel_can_reach(CUdeviceptr p, size_t n)
{
    block *b = find_block((void *)(uintptr_t)p, n, 0);
    if (!b) b = find_block((void *)(uintptr_t)p, n, 1);
    return b && (!b->pinned || b->mapped);
}

/* ------------------------------------------------------------------ errors, init, device */

static const struct {
    CUresult code;
    const char *name, *text;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {CUDA_ERROR_UNSUPPORTED_PTX_VERSION, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
     "the provided PTX was compiled with an unsupported toolchain."},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
};

EXPORT CUresult cuGetErrorName(CUresult err, const char **name)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err) return *name = errors[i].name, CUDA_SUCCESS;
    *name = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult err, const char **text)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err) return *text = errors[i].text, CUDA_SUCCESS;
    *text = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuInit(unsigned int flags)
{
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    init_error = (CUresult)env_long("FAKE_CUDA_INIT_ERROR", 0);
    if (init_error) return init_error;
    device_count = (int)env_long("FAKE_CUDA_DEVICE_COUNT", 1);
    module_error = (CUresult)env_long("FAKE_CUDA_MODULE_ERROR", 0);
    fail_at = env_long("FAKE_CUDA_FAIL_LAUNCH", 0);
    fail_at_sync = env_long("FAKE_CUDA_FAIL_AT_SYNC", 0);
    fail_alloc = env_long("FAKE_CUDA_FAIL_ALLOC", 0);
    fail_capture = env_long("FAKE_CUDA_FAIL_CAPTURE", 0);
    compute_capability = (int)env_long("FAKE_CUDA_COMPUTE_CAPABILITY", 90);
    can_map_host = !env_long("FAKE_CUDA_NO_MAP_HOST", 0);
    context_error = (CUresult)env_long("FAKE_CUDA_CONTEXT_ERROR", 0);
    corrupt = env_long("FAKE_CUDA_CORRUPT", 0);
    slow_us = env_long("FAKE_CUDA_SLOW_US", 200);
    reject_target = getenv("FAKE_CUDA_REJECT_TARGET");
    missing_function = getenv("FAKE_CUDA_MISSING_FUNCTION");
    fail_kernel = getenv("FAKE_CUDA_FAIL_KERNEL");
    fast_kernel = getenv("FAKE_CUDA_FAST_KERNEL");
    corrupt_kernel = getenv("FAKE_CUDA_CORRUPT_KERNEL");
    initialised = 1;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int *version)
{
    CUresult r = (CUresult)env_long("FAKE_CUDA_VERSION_ERROR", 0);
    if (r) return r;
    *version = 13000;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int *count)
{
    NEED_INIT();
    *count = device_count;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice *dev, int ordinal)
{
    NEED_INIT();
    if (ordinal < 0 || ordinal >= device_count) return CUDA_ERROR_INVALID_VALUE;
    *dev = ordinal;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    NEED_INIT();
    if (dev != 0 || len < 1) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "Fake GPU (tests/cuda_fake)");
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int *value, unsigned int attrib, CUdevice dev)
{
    NEED_INIT();
    if (dev != 0) return CUDA_ERROR_INVALID_VALUE;
    if (attrib == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) *value = compute_capability / 10;
    else if (attrib == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR) *value = compute_capability % 10;
    else if (attrib == CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY) *value = can_map_host;
    else return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev)
{
    NEED_INIT();
    if (dev != 0) return CUDA_ERROR_INVALID_VALUE;
    if (context_error) return context_error;
    __atomic_add_fetch(&primary.refs, 1, __ATOMIC_SEQ_CST);
    *ctx = &primary;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    NEED_INIT();
    if (dev != 0 || primary.refs < 1) return CUDA_ERROR_INVALID_VALUE;
    __atomic_sub_fetch(&primary.refs, 1, __ATOMIC_SEQ_CST);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(CUcontext *ctx)
{
    NEED_INIT();
    *ctx = current;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext ctx)
{
    NEED_INIT();
    if (ctx && (ctx != &primary || primary.refs < 1)) return CUDA_ERROR_INVALID_CONTEXT;
    current = ctx;
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------ modules */

/* Accepts PTX text with a .version and a .target this GPU runs; finds only the entry points
 * the text declares. */
EXPORT CUresult cuModuleLoadData(CUmodule *mod, const void *image)
{
    NEED_CTX();
    if (module_error) return module_error;
    const char *text = image, *target = text ? strstr(text, "\n.target sm_") : NULL;
    if (!text || !strstr(text, ".version ") || !target) return CUDA_ERROR_INVALID_PTX;
    int sm = atoi(target + strlen("\n.target sm_"));
    char name[32];
    snprintf(name, sizeof name, "sm_%d", sm);
    if (sm > compute_capability || (reject_target && strcmp(reject_target, name) == 0))
        return CUDA_ERROR_INVALID_PTX;
    for (int i = 0; i < MAX_MODULES; i++)
        if (!modules[i].loaded) {
            modules[i].loaded = 1;
            modules[i].image = text;
            *mod = &modules[i];
            return CUDA_SUCCESS;
        }
    return CUDA_ERROR_OUT_OF_MEMORY;
}

EXPORT int fake_cuda_loaded_modules(void)
{
    int n = 0;
    for (int i = 0; i < MAX_MODULES; i++) n += modules[i].loaded;
    return n;
}

EXPORT int fake_cuda_context_refs(void) { return __atomic_load_n(&primary.refs, __ATOMIC_SEQ_CST); }

static int is_module(CUmodule mod)
{
    return mod >= &modules[0] && mod < &modules[MAX_MODULES] && mod->loaded;
}

EXPORT CUresult cuModuleUnload(CUmodule mod)
{
    NEED_INIT();
    if (!is_module(mod)) return CUDA_ERROR_INVALID_HANDLE;
    mod->loaded = 0;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(CUfunction *fn, CUmodule mod, const char *name)
{
    NEED_CTX();
    if (!is_module(mod)) return CUDA_ERROR_INVALID_HANDLE;
    char entry[128];
    snprintf(entry, sizeof entry, ".entry %s(", name);
    if (!strstr(mod->image, entry)) return CUDA_ERROR_NOT_FOUND;
    if (missing_function && strcmp(missing_function, name) == 0) return CUDA_ERROR_NOT_FOUND;
    for (size_t i = 0; i < N_FUNCTIONS; i++)
        if (strcmp(functions[i].name, name) == 0) return *fn = &functions[i], CUDA_SUCCESS;
    return CUDA_ERROR_NOT_FOUND; /* in the PTX, but the fake cannot run it */
}

/* ------------------------------------------------------------------ memory */

static CUresult alloc_block(void **p, size_t bytes, int pinned, int mapped)
{
    if (!p || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    if (__atomic_add_fetch(&allocs, 1, __ATOMIC_SEQ_CST) == fail_alloc) return CUDA_ERROR_OUT_OF_MEMORY;
    unsigned char *base = malloc(bytes);
    if (!base) return CUDA_ERROR_OUT_OF_MEMORY;
    memset(base, 0xA5, bytes); /* garbage, as fresh device memory is */
    pthread_mutex_lock(&mu);
    if (nblocks == capblocks) {
        size_t cap = capblocks ? 2 * capblocks : 64;
        block *grown = realloc(blocks, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&mu);
            free(base);
            return CUDA_ERROR_OUT_OF_MEMORY;
        }
        blocks = grown;
        capblocks = cap;
    }
    size_t at = (size_t)(block_at_or_below(base) + 1);
    memmove(&blocks[at + 1], &blocks[at], (nblocks - at) * sizeof *blocks);
    blocks[at] = (block){base, bytes, pinned, mapped};
    nblocks++;
    live_objects++;
    pthread_mutex_unlock(&mu);
    *p = base;
    return CUDA_SUCCESS;
}

static CUresult free_block(void *p, int pinned)
{
    pthread_mutex_lock(&mu);
    long i = block_at_or_below(p);
    if (i < 0 || blocks[i].base != p || blocks[i].pinned != pinned) {
        pthread_mutex_unlock(&mu);
        return CUDA_ERROR_INVALID_VALUE;
    }
    memmove(&blocks[i], &blocks[i + 1], (nblocks - (size_t)i - 1) * sizeof *blocks);
    nblocks--;
    live_objects--;
    pthread_mutex_unlock(&mu);
    free(p);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes)
{
    NEED_CTX();
    void *p = NULL;
    CUresult r = alloc_block(&p, bytes, 0, 0);
    if (r == CUDA_SUCCESS) *ptr = (CUdeviceptr)(uintptr_t)p;
    return r;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr ptr)
{
    NEED_CTX();
    return free_block((void *)(uintptr_t)ptr, 0);
}

EXPORT CUresult cuMemAllocHost_v2(void **ptr, size_t bytes)
{
    NEED_CTX();
    return alloc_block(ptr, bytes, 1, 0);
}

EXPORT CUresult cuMemHostAlloc(void **ptr, size_t bytes, unsigned int flags)
{
    NEED_CTX();
    if (flags & ~0x7u) return CUDA_ERROR_INVALID_VALUE; /* PORTABLE | DEVICEMAP | WRITECOMBINED */
    if ((flags & CU_MEMHOSTALLOC_DEVICEMAP) && !can_map_host) return CUDA_ERROR_NOT_SUPPORTED;
    return alloc_block(ptr, bytes, 1, (flags & CU_MEMHOSTALLOC_DEVICEMAP) != 0);
}

/* Unified addressing: a mapped host buffer has the same address on the device. */
EXPORT CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *dptr, void *p, unsigned int flags)
{
    NEED_CTX();
    if (!dptr || flags) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&mu);
    block *b = find_block(p, 1, 1);
    int ok = b && b->mapped;
    pthread_mutex_unlock(&mu);
    if (!ok) return CUDA_ERROR_INVALID_VALUE;
    *dptr = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void *ptr)
{
    NEED_CTX();
    return free_block(ptr, 1);
}

static CUresult check_stream(CUstream s)
{
    if (!s) return CUDA_ERROR_INVALID_HANDLE; /* the backend always uses its own stream */
    if (s->capture) return CUDA_ERROR_NOT_SUPPORTED; /* copies are not captured here */
    return CUDA_SUCCESS;
}

/* Host side may be pageable or pinned; device side must lie inside one device block. */
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, CUstream s)
{
    NEED_CTX();
    CUresult r = check_stream(s);
    if (r != CUDA_SUCCESS) return r;
    pthread_mutex_lock(&mu);
    block *b = find_block((void *)(uintptr_t)dst, bytes, 0);
    pthread_mutex_unlock(&mu);
    if (!b || !src) return CUDA_ERROR_INVALID_VALUE;
    __atomic_add_fetch(&copies, 1, __ATOMIC_SEQ_CST);
    memcpy((void *)(uintptr_t)dst, src, bytes);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, CUstream s)
{
    NEED_CTX();
    CUresult r = check_stream(s);
    if (r != CUDA_SUCCESS) return r;
    pthread_mutex_lock(&mu);
    block *b = find_block((void *)(uintptr_t)src, bytes, 0);
    pthread_mutex_unlock(&mu);
    if (!b || !dst) return CUDA_ERROR_INVALID_VALUE;
    __atomic_add_fetch(&copies, 1, __ATOMIC_SEQ_CST);
    memcpy(dst, (void *)(uintptr_t)src, bytes);
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------ streams */

EXPORT CUresult cuStreamCreate(CUstream *s, unsigned int flags)
{
    NEED_CTX();
    if (flags & ~(unsigned)CU_STREAM_NON_BLOCKING) return CUDA_ERROR_INVALID_VALUE;
    *s = calloc(1, sizeof **s);
    if (!*s) return CUDA_ERROR_OUT_OF_MEMORY;
    __atomic_add_fetch(&live_objects, 1, __ATOMIC_SEQ_CST);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamDestroy_v2(CUstream s)
{
    NEED_CTX();
    if (!s) return CUDA_ERROR_INVALID_HANDLE;
    free(s);
    __atomic_sub_fetch(&live_objects, 1, __ATOMIC_SEQ_CST);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(CUstream s)
{
    NEED_CTX();
    if (!s) return CUDA_ERROR_INVALID_HANDLE;
    if (s->capture) return CUDA_ERROR_NOT_SUPPORTED;
    CUresult r = s->pending;
    s->pending = CUDA_SUCCESS;
    return r;
}

/* ------------------------------------------------------------------ kernels */

/* Checks a launch exactly as the real kernels need it, so wrong geometry in the backend fails.
 * The geometry rules are restated here from cuda_kernels.h, not shared with the backend. */
static CUresult check_launch(const launch_rec *l)
{
    const struct CUfunc_st *f = l->fn;
    if (IS_EMPTY_KERNEL(f)) return CUDA_SUCCESS; /* any geometry runs */
    int c = l->c, s = l->s;
    if (c < 1 || s < 1 || l->grid[2] != 1 || l->block[2] != 1) return CUDA_ERROR_INVALID_VALUE;
    if (f->kind == KIND_MMA) {
        unsigned warps = (unsigned)(f->tm / 16) * (unsigned)(f->tn / 16);
        if (c % f->tm || s % f->tn || c % (f->bk * f->groups) || l->block[0] != 32 * warps ||
            l->block[1] != (unsigned)f->groups || l->grid[0] != (unsigned)(s / f->tn) ||
            l->grid[1] != (unsigned)(c / f->tm))
            return CUDA_ERROR_INVALID_VALUE;
    } else if (l->block[0] != ANETHRU_CUDA_FMA_THREADS_X ||
               l->block[1] != ANETHRU_CUDA_FMA_THREADS_Y ||
               l->grid[0] != (unsigned)((s + ANETHRU_CUDA_FMA_TILE - 1) / ANETHRU_CUDA_FMA_TILE) ||
               l->grid[1] != (unsigned)((c + ANETHRU_CUDA_FMA_TILE - 1) / ANETHRU_CUDA_FMA_TILE)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (l->grid[1] > 65535) return CUDA_ERROR_INVALID_VALUE; /* CUDA's grid y limit */
    size_t cc = (size_t)c * c * 2, cs = (size_t)c * s * 2;
    pthread_mutex_lock(&mu);
    /* Weights live in device memory; input and output may be mapped host memory too. */
    int ok = find_block((void *)(uintptr_t)l->w, cc, 0) && kernel_can_reach(l->x, cs) &&
             kernel_can_reach(l->y, cs);
    pthread_mutex_unlock(&mu);
    return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* Y = W X in fp32, rounded once to fp16: what every real kernel computes.  Every product is
 * added, zeros included, as the kernels do (0 * inf is NaN there, so it is here); the sum runs
 * over input channels in order. */
static void run_conv(const launch_rec *l)
{
    const uint16_t *w = (const uint16_t *)(uintptr_t)l->w, *x = (const uint16_t *)(uintptr_t)l->x;
    uint16_t *y = (uint16_t *)(uintptr_t)l->y;
    float *acc = calloc((size_t)l->s, sizeof *acc);
    if (!acc) abort(); /* test-only code; a failed small malloc here is not worth a path */
    for (int o = 0; o < l->c; o++) {
        memset(acc, 0, (size_t)l->s * sizeof *acc);
        for (int i = 0; i < l->c; i++) {
            float wv = fake_half_to_float(w[(size_t)o * l->c + i]);
            const uint16_t *xr = x + (size_t)i * l->s;
            for (int s = 0; s < l->s; s++) acc[s] += wv * fake_half_to_float(xr[s]);
        }
        for (int s = 0; s < l->s; s++) y[(size_t)o * l->s + s] = fake_float_to_half(acc[s]);
    }
    free(acc);
}

/* FAKE_CUDA_FAST_KERNEL: make every other conv kernel slower by spinning. */
static void spin_unless_fast(const struct CUfunc_st *f)
{
    if (!fast_kernel || f->kind == KIND_EMPTY || strcmp(f->name, fast_kernel) == 0) return;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < slow_us);
}

/* Runs one kernel now; the injected fault is returned or parked on the stream. */
static CUresult run_kernel(const launch_rec *l, CUstream s)
{
    long n = __atomic_add_fetch(&kernel_runs, 1, __ATOMIC_SEQ_CST);
    if (fail_at && n == fail_at) {
        if (!fail_at_sync) return CUDA_ERROR_LAUNCH_FAILED;
        s->pending = CUDA_ERROR_LAUNCH_FAILED;
        return CUDA_SUCCESS;
    }
    if (!IS_EMPTY_KERNEL(l->fn)) {
        spin_unless_fast(l->fn);
        run_conv(l);
        if (corrupt || (corrupt_kernel && strcmp(l->fn->name, corrupt_kernel) == 0))
            ((uint16_t *)(uintptr_t)l->y)[0]++;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuLaunchKernel(CUfunction fn, unsigned int gx, unsigned int gy, unsigned int gz,
                               unsigned int bx, unsigned int by, unsigned int bz,
                               unsigned int shared_bytes, CUstream s, void **params, void **extra)
{
    NEED_CTX();
    if (!s) return CUDA_ERROR_INVALID_HANDLE;
    if (fn < &functions[0] || fn >= &functions[N_FUNCTIONS] || extra || shared_bytes || !gx || !gy || !gz ||
        !bx || !by || !bz)
        return CUDA_ERROR_INVALID_VALUE;
    if (fail_kernel && strcmp(fn->name, fail_kernel) == 0) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
    launch_rec l = {fn, {gx, gy, gz}, {bx, by, bz}, 0, 0, 0, 0, 0};
    if (!IS_EMPTY_KERNEL(fn)) {
        if (!params) return CUDA_ERROR_INVALID_VALUE;
        /* Parameters as the kernels declare them: (W, X, Y, C, S). */
        l.w = *(CUdeviceptr *)params[0];
        l.x = *(CUdeviceptr *)params[1];
        l.y = *(CUdeviceptr *)params[2];
        l.c = *(int *)params[3];
        l.s = *(int *)params[4];
    }
    CUresult r = check_launch(&l);
    if (r != CUDA_SUCCESS) return r;
    if (s->capture) { /* recorded, run at each cuGraphLaunch */
        CUgraph g = s->capture;
        if (fail_capture) return CUDA_ERROR_INVALID_VALUE;
        if (g->n == g->cap) {
            int cap = g->cap ? 2 * g->cap : 8;
            launch_rec *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
            if (!nodes) return CUDA_ERROR_OUT_OF_MEMORY;
            g->nodes = nodes;
            g->cap = cap;
        }
        g->nodes[g->n++] = l;
        return CUDA_SUCCESS;
    }
    return run_kernel(&l, s);
}

/* ------------------------------------------------------------------ graphs */

EXPORT CUresult cuStreamBeginCapture_v2(CUstream s, unsigned int mode)
{
    NEED_CTX();
    if (!s || s->capture || mode > 2) return CUDA_ERROR_INVALID_VALUE;
    s->capture = calloc(1, sizeof *s->capture);
    if (!s->capture) return CUDA_ERROR_OUT_OF_MEMORY;
    __atomic_add_fetch(&live_objects, 1, __ATOMIC_SEQ_CST);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamEndCapture(CUstream s, CUgraph *graph)
{
    NEED_CTX();
    if (!s || !s->capture) return CUDA_ERROR_INVALID_VALUE;
    *graph = s->capture;
    s->capture = NULL;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuGraphDestroy(CUgraph g)
{
    NEED_INIT();
    if (!g) return CUDA_ERROR_INVALID_VALUE;
    free(g->nodes);
    free(g);
    __atomic_sub_fetch(&live_objects, 1, __ATOMIC_SEQ_CST);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuGraphInstantiateWithFlags(CUgraphExec *exec, CUgraph g, unsigned long long flags)
{
    NEED_CTX();
    if (!g || flags) return CUDA_ERROR_INVALID_VALUE;
    CUgraphExec e = calloc(1, sizeof *e);
    if (!e) return CUDA_ERROR_OUT_OF_MEMORY;
    e->n = g->n;
    e->nodes = malloc((size_t)(g->n ? g->n : 1) * sizeof *e->nodes);
    if (!e->nodes) {
        free(e);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    memcpy(e->nodes, g->nodes, (size_t)g->n * sizeof *e->nodes);
    __atomic_add_fetch(&live_objects, 1, __ATOMIC_SEQ_CST);
    *exec = e;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuGraphLaunch(CUgraphExec e, CUstream s)
{
    NEED_CTX();
    if (!e || !s || s->capture) return CUDA_ERROR_INVALID_VALUE;
    for (int i = 0; i < e->n; i++) {
        CUresult r = check_launch(&e->nodes[i]); /* buffers freed since capture are caught */
        if (r == CUDA_SUCCESS) r = run_kernel(&e->nodes[i], s);
        if (r != CUDA_SUCCESS) return r;
        if (s->pending) break; /* a fault stops the rest of the graph */
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuGraphExecDestroy(CUgraphExec e)
{
    NEED_INIT();
    if (!e) return CUDA_ERROR_INVALID_VALUE;
    free(e->nodes);
    free(e);
    __atomic_sub_fetch(&live_objects, 1, __ATOMIC_SEQ_CST);
    return CUDA_SUCCESS;
}
