// cuda_fp16.h (test-only stand-in) -- __half as its bit pattern, conversions rounding to nearest
// even like the device intrinsics.
#ifndef EMU_CUDA_FP16_H
#define EMU_CUDA_FP16_H

#include <cstring>

extern "C" {
#include "fake_half.h"
}

struct __half {
    unsigned short bits;
};
struct alignas(4) __half2 {
    __half x, y;
};

inline float __half2float(__half h) { return fake_half_to_float(h.bits); }
inline __half __float2half_rn(float f) { return __half{fake_float_to_half(f)}; }
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }

#endif
