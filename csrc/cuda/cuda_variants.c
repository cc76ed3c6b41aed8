/* cuda_variants.c -- the variant table (see cuda_variants.h), built from cuda_kernels.h's lists
 * so that the kernels, the backend, the fake driver and the emulator agree on every name. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "cuda/kernels/cuda_kernels.h"
#include "cuda_variants.h"

#define MMA_ROW(name, tm, tn, bk, g) \
    {#name, ANETHRU_CUDA_ENTRY_PREFIX #name, CUDA_MODULE_BASE, CUDA_VARIANT_MMA, tm, tn, bk, g, 1},
#define ASYNC_ROW(name, tm, tn, bk, g, st) \
    {#name, ANETHRU_CUDA_ENTRY_PREFIX #name, CUDA_MODULE_SM80, CUDA_VARIANT_MMA, tm, tn, bk, g, st},

const cuda_variant cuda_variants[] = {
    ANETHRU_CUDA_MMA_VARIANTS(MMA_ROW) ANETHRU_CUDA_ASYNC_VARIANTS(ASYNC_ROW)
    {ANETHRU_CUDA_FMA_NAME, ANETHRU_CUDA_ENTRY_PREFIX ANETHRU_CUDA_FMA_NAME, CUDA_MODULE_BASE,
     CUDA_VARIANT_FMA, ANETHRU_CUDA_FMA_TILE, ANETHRU_CUDA_FMA_TILE, 0, 0, 0},
};
const int cuda_nvariants = (int)(sizeof cuda_variants / sizeof cuda_variants[0]);
const int cuda_fma_variant = (int)(sizeof cuda_variants / sizeof cuda_variants[0]) - 1;

int cuda_variant_find(const char *name)
{
    for (int i = 0; name && i < cuda_nvariants; i++)
        if (strcmp(cuda_variants[i].name, name) == 0) return i;
    return -1;
}

static unsigned long long ceil_div(long long a, long long b) { return (unsigned long long)((a + b - 1) / b); }

int cuda_variant_fits(const cuda_variant *v, int c, int s, char *why, size_t whylen)
{
    if (v->kind == CUDA_VARIANT_MMA) {
        if (c % v->tm || s % v->tn || c % (v->bk * v->groups)) {
            anethru_set_error(why, whylen,
                              "needs channels %% %d == 0, spatial %% %d == 0 and channels %% %d == 0",
                              v->tm, v->tn, v->bk * v->groups);
            return 0;
        }
    }
    unsigned long long gy = ceil_div(c, v->tm), gx = ceil_div(s, v->tn);
    if (gy > CUDA_MAX_GRID_Y) {
        anethru_set_error(why, whylen,
                          "channels=%d needs %llu blocks in grid y, more than CUDA's limit of %u",
                          c, gy, CUDA_MAX_GRID_Y);
        return 0;
    }
    if (gx > CUDA_MAX_GRID_X) { /* unreachable for an int S; kept so the rule is stated once */
        anethru_set_error(why, whylen,
                          "spatial=%d needs %llu blocks in grid x, more than CUDA's limit of %u",
                          s, gx, CUDA_MAX_GRID_X);
        return 0;
    }
    return 1;
}

void cuda_variant_geometry(const cuda_variant *v, int c, int s, unsigned grid[2], unsigned block[2])
{
    grid[0] = (unsigned)ceil_div(s, v->tn);
    grid[1] = (unsigned)ceil_div(c, v->tm);
    if (v->kind == CUDA_VARIANT_MMA) {
        block[0] = 32u * (unsigned)(v->tm / 16) * (unsigned)(v->tn / 16);
        block[1] = (unsigned)v->groups;
    } else {
        block[0] = ANETHRU_CUDA_FMA_THREADS_X;
        block[1] = ANETHRU_CUDA_FMA_THREADS_Y;
    }
}

void cuda_variant_names(char *buf, size_t buflen)
{
    size_t used = 0;
    if (buflen) buf[0] = 0;
    for (int i = 0; i < cuda_nvariants && used < buflen; i++) {
        int n = snprintf(buf + used, buflen - used, "%s%s", i ? ", " : "", cuda_variants[i].name);
        if (n < 0) break;
        used += (size_t)n;
    }
}
