/* cuda_bringup.c -- the CUDA backend's bring-up one step at a time, for `anethru doctor --backend
 * cuda` (anethru.h, ANETHRU_CUDA_STEP_*).
 *
 * The first steps are exactly the ones cuda_driver.c takes to load the driver (the same
 * functions), run on a driver of the session's own rather than the process's, so each can fail
 * on its own and say why in the driver's words.  Then the backend's own kernel code
 * (cuda_chain.c, the calls cuda_backend.c compiles and runs a kernel with), one call at a time:
 * its buffers and one launch of the FMA conv, the variant the tuner picks, the chain of that
 * variant captured into a CUDA graph and launched, and the identity chain's output checked bit
 * for bit through the backend's staging copies.  So the doctor cannot pass where the backend's
 * variant computes wrong.  The session keeps what the steps made (its reference to the primary
 * context, the modules, the chain) until it is closed, which undoes all of it; the library
 * stays loaded once cuInit succeeded (NVIDIA does not support unloading an initialised
 * driver).  Which steps depend on which is the caller's business (anethru/bringup/cuda.py); a
 * step whose prerequisite is missing says so.  One thread at a time per session.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cuda/kernels/cuda_kernels.h"
#include "cuda_chain.h"
#include "cuda_driver.h"
#include "cuda_tuner.h"

struct anethru_cuda_bringup {
    int channels, spatial, layers;
    char path[PATH_MAX];        /* the library, as cuda_library_path names it */
    int from_env;
    void *lib;
    int resolved, initialised, have_device;
    cuda_driver drv;            /* filled step by step, as cuda_driver.c fills the backend's */
    CUcontext previous;         /* current on this thread before the context step */
    CUmodule module[CUDA_NMODULES];
    cuda_chain chain;           /* the backend's kernel of identity layers, opened by the launch */
    int launched, tuned;        /* the launch and the variant steps passed */
};

static const int module_sm[CUDA_NMODULES] = {ANETHRU_CUDA_BASE_SM, ANETHRU_CUDA_ASYNC_SM};

int anethru_cuda_module_count(void) { return CUDA_NMODULES; }

int anethru_cuda_module_sm(int index)
{
    return index >= 0 && index < CUDA_NMODULES ? module_sm[index] : -1;
}

anethru_cuda_bringup *anethru_cuda_bringup_open(int channels, int spatial, int layers)
{
    if (channels <= 0 || spatial <= 0 || layers < 2 || channels > 4096 || spatial > 4096 ||
        layers > 64)
        return NULL;
    anethru_cuda_bringup *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->channels = channels, b->spatial = spatial, b->layers = layers;
    return b;
}

void anethru_cuda_bringup_close(anethru_cuda_bringup *b)
{
    if (!b) return;
    const cuda_driver_api *cu = &b->drv.api;
    if (b->drv.ctx) {
        /* Everything below belongs to the primary context: free it there, then give this
         * thread back the context it had and drop the session's reference. */
        cu->cuCtxSetCurrent(b->drv.ctx);
        cuda_chain_close(&b->chain);
        for (int m = 0; m < CUDA_NMODULES; m++)
            if (b->module[m]) cu->cuModuleUnload(b->module[m]);
        cu->cuCtxSetCurrent(b->previous);
        cu->cuDevicePrimaryCtxRelease_v2(b->drv.device);
    }
    if (b->lib && !b->initialised) dlclose(b->lib);
    free(b);
}

/* ------------------------------------------------------------------ helpers */

static int need(int have, const char *what, char *msg, size_t msglen)
{
    if (have) return ANETHRU_OK;
    anethru_set_error(msg, msglen, "needs %s first", what);
    return ANETHRU_E_ARG;
}

/* Magnitudes in [1/16, 1), both signs, never zero: a sum that starts at +0 would turn -0 into
 * +0, and an identity could not return its input bit for bit.  `seed` makes each use differ, so
 * a stale output cannot pass for a fresh one. */
static void fill_input(uint16_t *x, size_t n, uint32_t seed)
{
    uint32_t state = seed;
    for (size_t i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        uint16_t sign = (uint16_t)((state >> 31) << 15);
        uint16_t exponent = (uint16_t)(11 + ((state >> 12) & 3u)); /* 2^-4 .. 2^-1 */
        x[i] = (uint16_t)(sign | exponent << 10 | ((state >> 16) & 0x3ffu));
    }
}

/* ------------------------------------------------------------------ the driver's own steps */

static int step_library(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int rc = need(!b->lib, "a fresh session", msg, msglen);
    if (rc) return rc;
    snprintf(b->path, sizeof b->path, "%s", cuda_library_path(&b->from_env));
    if ((rc = cuda_library_open(b->path, b->from_env, &b->lib, msg, msglen))) return rc;
    b->drv.simulated = dlsym(b->lib, "anethru_fake_cuda_driver") != NULL;
    /* The file the loader found, and the driver's version: cuDriverGetVersion is the one entry
     * point that may be called before anything else (no cuInit), so it is resolved alone here;
     * the next step resolves them all and names any that is missing. */
    PFN_cuDriverGetVersion version_of = (PFN_cuDriverGetVersion)dlsym(b->lib, "cuDriverGetVersion");
    char real[PATH_MAX], file[PATH_MAX + 8] = ""; /* " = <the file>" when it is another name */
    Dl_info info;
    if (version_of && dladdr((void *)version_of, &info) && info.dli_fname) {
        const char *found = realpath(info.dli_fname, real) ? real : info.dli_fname;
        if (strcmp(found, b->path) != 0) snprintf(file, sizeof file, " = %s", found);
    }
    if (!version_of) {
        anethru_set_error(msg, msglen, "%s%s loaded; it has no cuDriverGetVersion, so its "
                          "version is unknown", b->path, file);
        return ANETHRU_OK;
    }
    int version = 0;
    CUresult r = version_of(&version);
    if (r != CUDA_SUCCESS) {
        /* Only these two so far: enough for the driver's name and text of the error. */
        b->drv.api.cuGetErrorName = (PFN_cuGetErrorName)dlsym(b->lib, "cuGetErrorName");
        b->drv.api.cuGetErrorString = (PFN_cuGetErrorString)dlsym(b->lib, "cuGetErrorString");
        char what[PATH_MAX + 64];
        snprintf(what, sizeof what, "cuDriverGetVersion (%s)", b->path);
        return cuda_fail(&b->drv, ANETHRU_E_UNAVAILABLE, r, what, msg, msglen);
    }
    anethru_set_error(msg, msglen, "%s%s%s, CUDA driver %d.%d", b->path, file,
                      b->from_env ? " (from ANETHRU_CUDA_LIBRARY)" : "", version / 1000,
                      version % 1000 / 10);
    return ANETHRU_OK;
}

static int step_entry_points(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int rc = need(b->lib != NULL, "the driver library", msg, msglen);
    if (rc || (rc = cuda_resolve(&b->drv, b->lib, b->path, msg, msglen))) return rc;
    b->resolved = 1;
    char missing[256];
    int required = cuda_entry_point_count(1), optional = cuda_entry_point_count(0);
    if (cuda_missing_entry_points(&b->drv, 0, missing, sizeof missing))
        anethru_set_error(msg, msglen, "all %d required entry points found; the CUDA graph API "
                          "lacks %s (so no `chained`: the graph step fails)", required, missing);
    else
        anethru_set_error(msg, msglen, "all %d entry points found (%d required, %d of the CUDA "
                          "graph API)", required + optional, required, optional);
    return ANETHRU_OK;
}

static int step_init(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int rc = need(b->resolved, "the entry points", msg, msglen);
    if (rc || (rc = cuda_init(&b->drv, b->path, msg, msglen))) return rc;
    b->initialised = 1;
    anethru_set_error(msg, msglen, "cuInit(0) succeeded");
    return ANETHRU_OK;
}

static int step_device(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int count = 0, rc = need(b->initialised, "cuInit", msg, msglen);
    if (rc || (rc = cuda_open_device(&b->drv, b->path, &count, msg, msglen))) return rc;
    b->have_device = 1;
    anethru_set_error(msg, msglen, "device 0 of %d: %s, compute capability %d.%d; %s host "
                      "memory", count, b->drv.device_name, b->drv.cc / 10,
                      b->drv.cc % 10, b->drv.can_map_host ? "can map" : "cannot map");
    return ANETHRU_OK;
}

static int step_context(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int rc = need(b->have_device && !b->drv.ctx, "the device (and no context yet)", msg, msglen);
    if (rc) return rc;
    if (b->drv.api.cuCtxGetCurrent(&b->previous) != CUDA_SUCCESS) b->previous = NULL;
    if ((rc = cuda_retain_context(&b->drv, msg, msglen))) return rc;
    anethru_set_error(msg, msglen, "device 0's primary context retained and made current");
    return ANETHRU_OK;
}

static int step_module(anethru_cuda_bringup *b, int m, char *msg, size_t msglen)
{
    int rc = need(m >= 0 && m < CUDA_NMODULES, "a known module index", msg, msglen);
    if (rc || (rc = need(b->drv.ctx && !b->module[m], "the context (and this module not loaded)",
                         msg, msglen)))
        return rc;
    if ((rc = cuda_make_current(&b->drv, msg, msglen))) return rc;
    int kernels = 0, missing = 0;
    for (int i = 0; i < cuda_nvariants; i++) kernels += cuda_variants[i].module == m;
    rc = cuda_load_module(&b->drv, m, &b->module[m], &missing, msg, msglen);
    if (rc == ANETHRU_E_UNSUPPORTED) {
        /* Not a fault: the backend runs without this module's variants on such a GPU. */
        char why[ANETHRU_ERRLEN];
        snprintf(why, sizeof why, "%s", msg);
        anethru_set_error(msg, msglen, "not loaded, as this GPU cannot take it: %s; its %d conv "
                          "variants are left out and the others run", why, kernels);
        return ANETHRU_OK;
    }
    if (rc) return rc;
    if (missing) {
        int first = -1;
        for (int i = 0; i < cuda_nvariants && first < 0; i++)
            if (cuda_variants[i].module == m && !b->drv.conv[i]) first = i;
        anethru_set_error(msg, msglen, "the sm_%d module loaded, but %d of its %d conv kernels "
                          "are missing (left out of tuning); the first: %s", module_sm[m],
                          missing, kernels, b->drv.unloaded[first]);
        return ANETHRU_E_UNAVAILABLE;
    }
    anethru_set_error(msg, msglen, "the sm_%d module loaded on compute capability %d.%d: all %d "
                      "conv kernels%s found", module_sm[m], b->drv.cc / 10, b->drv.cc % 10, kernels,
                      m == CUDA_MODULE_BASE ? " and " ANETHRU_CUDA_NULL_KERNEL : "");
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ the backend's kernel */

/* layers x C x C fp16 identity weights (1.0 on each diagonal), or NULL without memory. */
static uint16_t *identity_weights(int channels, int layers)
{
    size_t per = (size_t)channels * (size_t)channels;
    uint16_t *w = calloc(per * (size_t)layers, sizeof *w);
    for (int l = 0; w && l < layers; l++)
        for (int i = 0; i < channels; i++)
            w[per * (size_t)l + (size_t)i * (size_t)channels + (size_t)i] = 0x3c00;
    return w;
}

/* The backend's kernel of identity layers opened (its buffers, as a compile allocates them),
 * and one launch of its first layer with the FMA conv, the variant every shape fits. */
static int step_launch(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    cuda_chain *ch = &b->chain;
    int rc = need(b->module[CUDA_MODULE_BASE] && b->drv.conv[cuda_fma_variant] && !ch->drv,
                  "the base PTX module (and no launch yet)", msg, msglen);
    if (rc || (rc = cuda_make_current(&b->drv, msg, msglen))) return rc;
    uint16_t *w = identity_weights(b->channels, b->layers);
    if (!w) {
        anethru_set_error(msg, msglen, "out of memory for %d identity layers", b->layers);
        return ANETHRU_E_NOMEM;
    }
    /* What it opens stays with the session (the next steps use it); close frees it. */
    rc = cuda_chain_open(ch, &b->drv, b->channels, b->spatial, b->layers, 0, w, msg, msglen);
    free(w);
    if (rc) return rc;
    fill_input(ch->host[ANETHRU_PORT_INPUT], ch->bytes / 2, 1u);
    if ((rc = cuda_chain_push(ch, ANETHRU_PORT_INPUT, ANETHRU_E_EVAL, msg, msglen)) ||
        (rc = cuda_chain_run(ch, msg, msglen)))
        return rc;
    b->launched = 1;
    unsigned grid[2], block[2];
    cuda_variant_geometry(&cuda_variants[ch->variant], b->channels, b->spatial, grid, block);
    anethru_set_error(msg, msglen, "%s on %dx%d (grid %ux%u, block %ux%u): cuLaunchKernel and "
                      "cuStreamSynchronize succeeded", cuda_variants[ch->variant].entry,
                      b->channels, b->spatial, grid[0], grid[1], block[0], block[1]);
    return ANETHRU_OK;
}

/* The variant the backend's kernel launches from here on: the tuner's pick for the session's
 * shape, timed on the kernel's stream and buffers (or the one picked earlier in this process,
 * or ANETHRU_CUDA_KERNEL's). */
static int step_variant(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int rc = need(b->launched && !b->chain.graph, "the launch (and no graph yet)", msg, msglen);
    if (rc || (rc = cuda_make_current(&b->drv, msg, msglen))) return rc;
    int before = anethru_cuda_choices_made();
    if ((rc = cuda_chain_tune(&b->chain, msg, msglen))) return rc;
    b->tuned = 1;
    anethru_cuda_choice rec;
    if (anethru_cuda_kernel_choice(b->channels, b->spatial, 0, &rec) != ANETHRU_OK) {
        /* Without memory for the record, the tuner still chose. */
        anethru_set_error(msg, msglen, "%s for %dx%d", cuda_variants[b->chain.variant].name,
                          b->channels, b->spatial);
        return ANETHRU_OK;
    }
    char how[96] = "";
    if (rec.serial <= before)
        snprintf(how, sizeof how, " (chosen earlier in this process)");
    else if (!rec.forced && rec.tuning_ms > 0)
        snprintf(how, sizeof how, " (tuned in %.1f ms%s)", rec.tuning_ms,
                 b->drv.simulated ? "; the fake driver's times, on the CPU" : "");
    anethru_set_error(msg, msglen, "%s for %dx%d%s: %s", rec.kernel, b->channels, b->spatial, how,
                      rec.detail);
    return ANETHRU_OK;
}

/* The layers of the chosen variant captured into one graph by the backend's code, launched. */
static int step_graph(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    int rc = need(b->tuned && !b->chain.graph, "the conv variant (and no graph yet)", msg, msglen);
    if (rc || (rc = cuda_make_current(&b->drv, msg, msglen))) return rc;
    if (b->drv.no_graphs) { /* said with the entry points the driver lacks */
        char missing[256];
        cuda_missing_entry_points(&b->drv, 0, missing, sizeof missing);
        anethru_set_error(msg, msglen, "%s (missing: %s)", b->drv.no_graphs, missing);
        return ANETHRU_E_UNSUPPORTED;
    }
    if ((rc = cuda_chain_capture(&b->chain, msg, msglen)) ||
        (rc = cuda_chain_run(&b->chain, msg, msglen)))
        return rc;
    anethru_set_error(msg, msglen, "%d launches of %s captured into one graph, instantiated, "
                      "launched and synchronized", b->layers, cuda_variants[b->chain.variant].name);
    return ANETHRU_OK;
}

/* What came back against what went in: every value the same, bit for bit. */
static int compare_identity(const anethru_cuda_bringup *b, const uint16_t *in,
                            const uint16_t *out, size_t n, char *msg, size_t msglen)
{
    const char *variant = cuda_variants[b->chain.variant].name;
    size_t bad = 0, first = 0;
    for (size_t i = n; i-- > 0;)
        if (in[i] != out[i]) bad++, first = i;
    if (bad) {
        anethru_set_error(msg, msglen, "%d identity layers of %s: the output differs from the "
                          "input in %zu of %zu values; first at [c=%zu, s=%zu]: 0x%04x, expected "
                          "0x%04x", b->layers, variant, bad, n, first / (size_t)b->spatial,
                          first % (size_t)b->spatial, out[first], in[first]);
        return ANETHRU_E_EVAL;
    }
    anethru_set_error(msg, msglen, "%d identity layers of %s through the graph: output == input, "
                      "bit for bit (%zu fp16 values)", b->layers, variant, n);
    return ANETHRU_OK;
}

/* A fresh input through the graph of identity layers, in and out through the backend's staging
 * copies (as `chained` moves data); the output is cleared first, so what the graph step left
 * there cannot pass for this run. */
static int step_identity(anethru_cuda_bringup *b, char *msg, size_t msglen)
{
    cuda_chain *ch = &b->chain;
    int rc = need(ch->graph != NULL, "the graph", msg, msglen);
    if (rc || (rc = cuda_make_current(&b->drv, msg, msglen))) return rc;
    uint16_t *in = ch->host[ANETHRU_PORT_INPUT], *out = ch->host[ANETHRU_PORT_OUTPUT];
    fill_input(in, ch->bytes / 2, 2u);
    if ((rc = cuda_chain_push(ch, ANETHRU_PORT_INPUT, ANETHRU_E_EVAL, msg, msglen)) ||
        (rc = cuda_chain_clear_output(ch, ANETHRU_E_EVAL, msg, msglen)) ||
        (rc = cuda_chain_run(ch, msg, msglen)) ||
        (rc = cuda_chain_pull(ch, ANETHRU_PORT_OUTPUT, ANETHRU_E_EVAL, msg, msglen)))
        return rc;
    return compare_identity(b, in, out, ch->bytes / 2, msg, msglen);
}

/* ------------------------------------------------------------------ dispatch */

static int run_step(anethru_cuda_bringup *b, int step, int arg, char *msg, size_t msglen)
{
    switch (step) {
    case ANETHRU_CUDA_STEP_LIBRARY: return step_library(b, msg, msglen);
    case ANETHRU_CUDA_STEP_ENTRY_POINTS: return step_entry_points(b, msg, msglen);
    case ANETHRU_CUDA_STEP_INIT: return step_init(b, msg, msglen);
    case ANETHRU_CUDA_STEP_DEVICE: return step_device(b, msg, msglen);
    case ANETHRU_CUDA_STEP_CONTEXT: return step_context(b, msg, msglen);
    case ANETHRU_CUDA_STEP_MODULE: return step_module(b, arg, msg, msglen);
    case ANETHRU_CUDA_STEP_LAUNCH: return step_launch(b, msg, msglen);
    case ANETHRU_CUDA_STEP_GRAPH: return step_graph(b, msg, msglen);
    case ANETHRU_CUDA_STEP_IDENTITY: return step_identity(b, msg, msglen);
    case ANETHRU_CUDA_STEP_VARIANT: return step_variant(b, msg, msglen);
    default: return need(0, "a known step", msg, msglen);
    }
}

int anethru_cuda_bringup_step(anethru_cuda_bringup *b, int step, int arg, char *msg,
                              size_t msglen)
{
    if (!msg || !msglen) return ANETHRU_E_ARG;
    msg[0] = '\0';
    if (!b) {
        anethru_set_error(msg, msglen, "no bring-up session");
        return ANETHRU_E_ARG;
    }
    int rc = run_step(b, step, arg, msg, msglen);
    /* Whatever a step saw through tests/cuda_fake says so: nothing there ran on a GPU. */
    static const char fake[] = "SIMULATED (fake CUDA driver, no GPU): ";
    char *said = b->drv.simulated ? strdup(msg) : NULL;
    if (said) anethru_set_error(msg, msglen, "%s%s", fake, said);
    free(said);
    return rc;
}
