/* cuda_variants.h -- the conv kernel variants of cuda_kernels.h as a table the backend can
 * search: which PTX module and entry point each lives in, what C x S it can compute, and its
 * launch geometry.  The tuner (cuda_tuner.c) picks one per shape among those that fit. */
#ifndef ANETHRU_CUDA_VARIANTS_H
#define ANETHRU_CUDA_VARIANTS_H

#include <stddef.h>

#include "cuda/kernels/cuda_kernels.h"

enum { CUDA_MODULE_BASE = 0, CUDA_MODULE_SM80 = 1, CUDA_NMODULES = 2 };
enum { CUDA_VARIANT_MMA, CUDA_VARIANT_FMA };

typedef struct {
    const char *name;   /* what ANETHRU_CUDA_KERNEL and the report call it */
    const char *entry;  /* its PTX entry point */
    int module;         /* CUDA_MODULE_* */
    int kind;           /* CUDA_VARIANT_* */
    int tm, tn, bk, groups, stages; /* see cuda_kernels.h (FMA: tm = tn = 32, the rest 0) */
} cuda_variant;

/* How many: one per list entry of cuda_kernels.h, plus the FMA kernel. */
#define CUDA_VARIANT_ONE_(...) +1
#define CUDA_NVARIANTS                                                  \
    (ANETHRU_CUDA_MMA_VARIANTS(CUDA_VARIANT_ONE_)                       \
         ANETHRU_CUDA_ASYNC_VARIANTS(CUDA_VARIANT_ONE_) + 1)

extern const cuda_variant cuda_variants[];
extern const int cuda_nvariants;
/* The FMA kernel: fits every shape, so the backend needs it (the others are optional). */
extern const int cuda_fma_variant;

/* CUDA's launch limits the geometry must respect. */
#define CUDA_MAX_GRID_X 2147483647u
#define CUDA_MAX_GRID_Y 65535u

/* The variant index named `name`, or -1. */
int cuda_variant_find(const char *name);
/* 1 if variant v can compute C x S; else 0 and one line saying why (the rule it breaks). */
int cuda_variant_fits(const cuda_variant *v, int c, int s, char *why, size_t whylen);
/* Its launch geometry for C x S (call only when it fits). */
void cuda_variant_geometry(const cuda_variant *v, int c, int s, unsigned grid[2],
                           unsigned block[2]);
/* "name1, name2, ..." of every variant, for error messages. */
void cuda_variant_names(char *buf, size_t buflen);

#endif
