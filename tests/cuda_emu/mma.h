// mma.h (test-only stand-in) -- nvcuda::wmma for 16x16x16 tiles.  Lane 0 of each warp holds
// the whole tile in its fragment (the real one spreads it over the warp) and does the warp's
// loads, products and stores; the other lanes only check the API's rules (32-byte aligned
// pointers, ldm a multiple of 16 bytes) on the same arguments, so the warp-collective results
// land once.  mma_sync adds products in k order in fp32.
#ifndef EMU_MMA_H
#define EMU_MMA_H

#include <cstdint>

#include "cuda_fp16.h"

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "the stand-in knows 16x16x16 only");
    T x[16 * 16];
};

inline void check_rules(const void *p, unsigned ldm, unsigned elem)
{
    if ((uintptr_t)p % 32) emu_fail("WMMA pointer not 32-byte aligned");
    if (ldm * elem % 16) emu_fail("WMMA ldm not a multiple of 16 bytes");
}

inline bool warp_leader() { return threadIdx.x % 32 == 0; }

template <class Use, class T, class L>
void fill_fragment(fragment<Use, 16, 16, 16, T, L> &f, T v)
{
    for (auto &e : f.x) e = v;
}

template <class Use>
void load_matrix_sync(fragment<Use, 16, 16, 16, __half, row_major> &f, const __half *p,
                      unsigned ldm)
{
    check_rules(p, ldm, sizeof(__half));
    if (!warp_leader()) return;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) f.x[r * 16 + c] = p[r * ldm + c];
}

inline void mma_sync(fragment<accumulator, 16, 16, 16, float> &d,
                     const fragment<matrix_a, 16, 16, 16, __half, row_major> &a,
                     const fragment<matrix_b, 16, 16, 16, __half, row_major> &b,
                     const fragment<accumulator, 16, 16, 16, float> &c)
{
    if (!warp_leader()) return;
    float out[256];
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float s = c.x[m * 16 + n];
            for (int k = 0; k < 16; k++)
                s += __half2float(a.x[m * 16 + k]) * __half2float(b.x[k * 16 + n]);
            out[m * 16 + n] = s;
        }
    for (int i = 0; i < 256; i++) d.x[i] = out[i];
}

inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float> &f,
                              unsigned ldm, layout_t layout)
{
    check_rules(p, ldm, sizeof(float));
    if (layout != mem_row_major) emu_fail("stand-in stores row-major only");
    if (!warp_leader()) return;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) p[r * ldm + c] = f.x[r * 16 + c];
}
}  // namespace wmma
}  // namespace nvcuda

#endif
