/* fake_half.h -- IEEE binary16 <-> binary32 for the fake driver's CPU conv (round to nearest
 * even, as the GPU kernels' __float2half_rn does). */
#ifndef FAKE_HALF_H
#define FAKE_HALF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fake_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in fp32 */
        float v = (float)mant * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 31) bits = sign | 0x7f800000 | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t fake_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;
    if (ax >= 0x7f800000) return sign | (ax > 0x7f800000 ? 0x7e00 : 0x7c00); /* NaN, inf */
    if (ax >= 0x477ff000) return sign | 0x7c00; /* >= 65520 rounds to inf */
    if (ax < 0x38800000) /* below 2^-14: a multiple of 2^-24, rounded to nearest even */
        return sign | (uint16_t)nearbyintf(fabsf(f) * 16777216.0f);
    /* Rebias the exponent, then round the 13 dropped bits to nearest even (carries ripple into
     * the exponent correctly). */
    return sign | (uint16_t)((ax - 0x38000000 + 0x0fff + ((ax >> 13) & 1)) >> 13);
}

#endif
