/* cpu_conv.c -- the CPU's 1x1 conv, Y[o][s] = sum_i W[o][i] * X[i][s], fp32 accumulation.
 *
 * Two kernels with the same numerics contract (fp16 in, fp32 sums over i in order, fp16 out
 * rounded to nearest even): an AVX2/FMA/F16C one picked at run time where the processor has
 * those (x86-64 built by gcc or clang), and a portable one the compiler vectorises.  Weights
 * are packed once, at compile time, into panels of CPU_CONV_PANEL output rows so the inner
 * loop reads them contiguously.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu_conv.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_KERNEL 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define HAVE_AVX2_KERNEL 0
#endif

/* Columns per cache block: a C x 64 fp32 slice of X stays in L2 while every panel sweeps it. */
#define COLUMN_BLOCK 64

/* ------------------------------------------------------------------ fp16 <-> fp32 */

float cpu_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        float mag = (float)mant * 5.9604644775390625e-8f; /* subnormal: mant * 2^-24, exact */
        return sign ? -mag : mag;
    }
    if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t cpu_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00 : 0x7c00); /* NaN, inf */
    if (ax >= 0x477ff000u) return sign | 0x7c00; /* >= 65520 rounds to infinity */
    if (ax < 0x38800000u) {
        /* Below the smallest normal half: adding 0.5f lines the fp32 ulp up with the half
         * subnormal ulp (2^-24), so the hardware's own round-to-nearest-even does the work. */
        float mag;
        memcpy(&mag, &ax, sizeof mag);
        volatile float shifted = mag + 0.5f;
        float s = shifted;
        uint32_t sb;
        memcpy(&sb, &s, sizeof sb);
        return sign | (uint16_t)(sb - 0x3f000000u);
    }
    /* Normal: rebias the exponent (-112 << 23) and round the 13 dropped bits to even. */
    uint32_t odd = (ax >> 13) & 1;
    ax += 0xc8000fffu + odd;
    return sign | (uint16_t)(ax >> 13);
}

/* ------------------------------------------------------------------ kernel choice */

const char *cpu_conv_variant_name(int variant)
{
    return variant == CPU_CONV_AVX2 ? "avx2-fma-f16c" : "portable";
}

int cpu_conv_pick(void)
{
    const char *force = getenv("ANETHRU_CPU_KERNEL");
    if (force && strcmp(force, "portable") == 0) return CPU_CONV_PORTABLE;
#if HAVE_AVX2_KERNEL
    /* F16C is read from CPUID (leaf 1, ECX bit 29): older clangs (clang 14, for one) reject
     * __builtin_cpu_supports("f16c"), and a Mac may have such a clang. */
    unsigned int eax, ebx, ecx, edx;
    int f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c)
        return CPU_CONV_AVX2;
#endif
    return CPU_CONV_PORTABLE;
}

/* ------------------------------------------------------------------ plans */

static int panel_count(int channels) { return (channels + CPU_CONV_PANEL - 1) / CPU_CONV_PANEL; }

int cpu_conv_plan_init(cpu_conv_plan *p, int channels, int spatial, int layers,
                       const uint16_t *weights, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->channels = channels;
    p->spatial = spatial;
    p->layers = layers;
    p->variant = cpu_conv_pick();
    size_t C = (size_t)channels, S = (size_t)spatial;
    p->layer_floats = (size_t)panel_count(channels) * CPU_CONV_PANEL * C;
    if (p->layer_floats / C != (size_t)panel_count(channels) * CPU_CONV_PANEL ||
        p->layer_floats > SIZE_MAX / sizeof(float) / (size_t)layers) {
        anethru_set_error(err, errlen, "%d layers of %dx%d weights do not fit in size_t", layers,
                          channels, channels);
        return ANETHRU_E_ARG;
    }
    p->panels = calloc(p->layer_floats * (size_t)layers, sizeof(float));
    p->x = malloc((C * S + S) * sizeof(float)); /* X, then one row of sums */
    if (!p->panels || !p->x) {
        cpu_conv_plan_free(p);
        anethru_set_error(err, errlen, "cannot allocate fp32 workspace for %d layers of %dx%d",
                          layers, channels, spatial);
        return ANETHRU_E_NOMEM;
    }
    /* panels[layer][panel][i][r] = W[layer][panel * PANEL + r][i]; rows past C stay zero. */
    for (int l = 0; l < layers; l++) {
        const uint16_t *w = weights + (size_t)l * C * C;
        float *dst = p->panels + (size_t)l * p->layer_floats;
        for (size_t o = 0; o < C; o++) {
            size_t panel = o / CPU_CONV_PANEL, r = o % CPU_CONV_PANEL;
            for (size_t i = 0; i < C; i++)
                dst[(panel * C + i) * CPU_CONV_PANEL + r] = cpu_half_to_float(w[o * C + i]);
        }
    }
    return ANETHRU_OK;
}

void cpu_conv_plan_free(cpu_conv_plan *p)
{
    free(p->panels);
    free(p->x);
    p->panels = NULL;
    p->x = NULL;
}

/* ------------------------------------------------------------------ portable kernel */

static void run_portable(cpu_conv_plan *p, const float *w, const uint16_t *src, uint16_t *dst)
{
    int C = p->channels, S = p->spatial;
    size_t n = (size_t)C * S;
    float *acc = p->x + n; /* one output row of fp32 sums */
    for (size_t i = 0; i < n; i++) p->x[i] = cpu_half_to_float(src[i]);
    for (int o = 0; o < C; o++) {
        const float *wp = w + (size_t)(o / CPU_CONV_PANEL) * C * CPU_CONV_PANEL + o % CPU_CONV_PANEL;
        for (int j = 0; j < S; j++) acc[j] = 0.0f;
        /* Row-wise so the inner loop is contiguous and vectorises; each sum still runs over i
         * in order. */
        for (int i = 0; i < C; i++) {
            float wi = wp[(size_t)i * CPU_CONV_PANEL];
            const float *xi = p->x + (size_t)i * S;
            for (int j = 0; j < S; j++) acc[j] += wi * xi[j];
        }
        for (int j = 0; j < S; j++) dst[(size_t)o * S + j] = cpu_float_to_half(acc[j]);
    }
}

/* ------------------------------------------------------------------ AVX2 kernel */

#if HAVE_AVX2_KERNEL
#define AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
/* An integer constant expression: clang (every Mac's compiler) requires one for the F16C
 * conversion's rounding argument; a const int variable is not one. */
#define AVX2_ROUND_NEAREST_EVEN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* One output element past the vector kernel's columns: the same sum in the same order. */
static float column_sum(const cpu_conv_plan *p, const float *w, int o, int j)
{
    int C = p->channels, S = p->spatial;
    const float *wp = w + (size_t)(o / CPU_CONV_PANEL) * C * CPU_CONV_PANEL + o % CPU_CONV_PANEL;
    float acc = 0.0f;
    for (int i = 0; i < C; i++) acc = fmaf(wp[(size_t)i * CPU_CONV_PANEL], p->x[(size_t)i * S + j], acc);
    return acc;
}

/* 6 output rows x 16 columns of accumulators: 12 of the 16 ymm registers. */
AVX2_TARGET static void panel_block(const float *wp, const float *x, int C, int S, int rows,
                                    uint16_t *dst)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int i = 0; i < C; i++) {
        const float *xi = x + (size_t)i * S;
        const float *wi = wp + (size_t)i * CPU_CONV_PANEL;
        __m256 b0 = _mm256_loadu_ps(xi), b1 = _mm256_loadu_ps(xi + 8), a;
        a = _mm256_broadcast_ss(wi + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(wi + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(wi + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(wi + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(wi + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(wi + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    const __m256 acc[CPU_CONV_PANEL][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                           {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < rows; r++) {
        _mm_storeu_si128((__m128i *)(dst + (size_t)r * S),
                         _mm256_cvtps_ph(acc[r][0], AVX2_ROUND_NEAREST_EVEN));
        _mm_storeu_si128((__m128i *)(dst + (size_t)r * S + 8),
                         _mm256_cvtps_ph(acc[r][1], AVX2_ROUND_NEAREST_EVEN));
    }
}

AVX2_TARGET static void run_avx2(cpu_conv_plan *p, const float *w, const uint16_t *src,
                                 uint16_t *dst)
{
    int C = p->channels, S = p->spatial;
    size_t n = (size_t)C * S, i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(p->x + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) p->x[i] = cpu_half_to_float(src[i]);

    int S16 = S - S % 16, panels = panel_count(C);
    for (int j0 = 0; j0 < S16; j0 += COLUMN_BLOCK) {
        int j1 = j0 + COLUMN_BLOCK < S16 ? j0 + COLUMN_BLOCK : S16;
        for (int pn = 0; pn < panels; pn++) {
            int row0 = pn * CPU_CONV_PANEL;
            int rows = C - row0 < CPU_CONV_PANEL ? C - row0 : CPU_CONV_PANEL;
            const float *wp = w + (size_t)pn * C * CPU_CONV_PANEL;
            for (int j = j0; j < j1; j += 16)
                panel_block(wp, p->x + j, C, S, rows, dst + (size_t)row0 * S + j);
        }
    }
    for (int o = 0; o < C && S16 < S; o++)
        for (int j = S16; j < S; j++) dst[(size_t)o * S + j] = cpu_float_to_half(column_sum(p, w, o, j));
}
#endif

void cpu_conv_run(cpu_conv_plan *p, int layer, const uint16_t *src, uint16_t *dst)
{
    const float *w = p->panels + (size_t)layer * p->layer_floats;
#if HAVE_AVX2_KERNEL
    if (p->variant == CPU_CONV_AVX2) {
        run_avx2(p, w, src, dst);
        return;
    }
#endif
    run_portable(p, w, src, dst);
}
