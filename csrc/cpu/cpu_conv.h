/* cpu_conv.h -- the CPU's 1x1 conv: fp16 [C, S] in, fp32 accumulation, fp16 [C, S] out. */
#ifndef ANETHRU_CPU_CONV_H
#define ANETHRU_CPU_CONV_H

#include <stddef.h>
#include <stdint.h>

enum { CPU_CONV_PORTABLE = 0, CPU_CONV_AVX2 = 1 };

/* Output rows computed together by the matrix kernel; packed weights are padded to this. */
#define CPU_CONV_PANEL 6

typedef struct {
    int channels, spatial, layers;
    int variant;       /* CPU_CONV_* chosen at plan time */
    float *panels;     /* per layer: ceil(C / PANEL) panels of C x PANEL fp32 weights */
    size_t layer_floats;
    float *x;          /* fp32 copy of the input tensor (C x S), then S floats of scratch */
} cpu_conv_plan;

/* Which kernel this processor runs (ANETHRU_CPU_KERNEL=portable forces the portable one). */
int cpu_conv_pick(void);
const char *cpu_conv_variant_name(int variant);

int cpu_conv_plan_init(cpu_conv_plan *p, int channels, int spatial, int layers,
                       const uint16_t *weights, char *err, size_t errlen);
void cpu_conv_plan_free(cpu_conv_plan *p);
/* dst = W[layer] @ src; src and dst are distinct C x S fp16 tensors. */
void cpu_conv_run(cpu_conv_plan *p, int layer, const uint16_t *src, uint16_t *dst);

float cpu_half_to_float(uint16_t h);
uint16_t cpu_float_to_half(float f);

#endif
