// cuda_mma_tile.cuh -- the tensor-core 1x1-conv kernel as a template over its tile shape, shared
// by cuda_kernels.cu (sm_75 module: loads staged through registers) and cuda_kernels_sm80.cu
// (sm_80 module: loads through cp.async).  Geometry and requirements: cuda_kernels.h.
//
// A block's time on these small problems (768 x 768 x 256 is ~0.3 GFLOP) is mostly the latency
// of its chain of dependent load steps, not arithmetic, so the variants trade tile size (blocks
// in flight), groups (G groups of warps split the input channels: G-fold fewer steps, then the G
// partial tiles are summed in shared memory) and step length BK.  Every variant accumulates in
// fp32 and rounds once to fp16; group g sums its channels in order, then group 0 adds the G
// partial tiles in group order (tests/cuda_emu reproduces this bit for bit).
#ifndef ANETHRU_CUDA_MMA_TILE_CUH
#define ANETHRU_CUDA_MMA_TILE_CUH

#include <cuda_fp16.h>
#include <mma.h>

#include "cuda_kernels.h"

namespace anethru {

template <int TM, int TN, int BK, int G, int STAGES>
struct Tile {
    static_assert(TM % 16 == 0 && TN % 16 == 0 && BK % 16 == 0, "whole 16x16x16 fragments");
    static constexpr int WARPS_N = TN / 16;
    static constexpr int WARPS = (TM / 16) * WARPS_N;  // one 16 x 16 fragment each
    static constexpr int GT = 32 * WARPS;              // threads per group
    static constexpr int THREADS = GT * G;
    // Rows padded (in elements) so the warps' shared-memory reads spread over banks; each padded
    // row stays a multiple of 16 bytes (uint4 stores, cp.async) and every fragment origin and
    // group/stage offset a multiple of 32 bytes (WMMA).
    static constexpr int A_LD = BK + 8, B_LD = TN + 8, C_LD = TN + 4;
    static constexpr int A_BYTES = TM * A_LD * 2, B_BYTES = BK * B_LD * 2;
    static constexpr int STAGE_BYTES = G * (A_BYTES + B_BYTES);
    static constexpr int C_BYTES = G * TM * C_LD * 4;  // the partial tiles, after the last step
    static constexpr int SMEM = STAGES * STAGE_BYTES > C_BYTES ? STAGES * STAGE_BYTES : C_BYTES;
    // 16-byte vectors of W (TM x BK) and X (BK x TN) a group stages per step, and per thread.
    static constexpr int A_VECS = TM * BK / 8, B_VECS = BK * TN / 8;
    static constexpr int A_PER = (A_VECS + GT - 1) / GT, B_PER = (B_VECS + GT - 1) / GT;
    static_assert(THREADS <= 1024, "CUDA allows 1024 threads per block");
    static_assert(SMEM <= 48 * 1024, "static shared memory is limited to 48 KB");
    static_assert(A_BYTES % 32 == 0 && B_BYTES % 32 == 0 && (TM * C_LD * 4) % 32 == 0,
                  "group and stage offsets keep WMMA's 32-byte alignment");
    static_assert(TM * TN / 8 == GT, "the epilogue gives each thread of group 0 one vector");

    // Where vector v of a step lands: W row, column; X row, column.
    __device__ static int a_row(int v) { return v / (BK / 8); }
    __device__ static int a_col(int v) { return (v % (BK / 8)) * 8; }
    __device__ static int b_row(int v) { return v / (TN / 8); }
    __device__ static int b_col(int v) { return (v % (TN / 8)) * 8; }
};

// One step's math for this warp: BK/16 fragment products from the staged As/Bs.
template <class T, int BK>
__device__ __forceinline__ void mma_step(
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> &acc,
    const __half (*As)[T::A_LD], const __half (*Bs)[T::B_LD], int wr, int wc)
{
    using namespace nvcuda;
    for (int kk = 0; kk < BK; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> b;
        wmma::load_matrix_sync(a, &As[wr * 16][kk], T::A_LD);
        wmma::load_matrix_sync(b, &Bs[kk][wc * 16], T::B_LD);
        wmma::mma_sync(acc, a, b, acc);
    }
}

// After the last step: every group parks its partial tile in shared memory (over the staging
// bytes), then group 0 sums them in group order and writes 8 consecutive fp16 per thread.
template <class T, int TM, int TN, int G>
__device__ __forceinline__ void mma_epilogue(
    const nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> &acc,
    unsigned char *smem, __half *__restrict__ Y, int S, int o0, int s0, int g, int tid, int wr,
    int wc)
{
    using namespace nvcuda;
    float(*Cs)[T::C_LD] = reinterpret_cast<float(*)[T::C_LD]>(smem) + g * TM;
    wmma::store_matrix_sync(&Cs[wr * 16][wc * 16], acc, T::C_LD, wmma::mem_row_major);
    __syncthreads();
    if (g != 0) return;
    const float(*Cg)[T::C_LD] = reinterpret_cast<const float(*)[T::C_LD]>(smem);
    const int r = tid / (TN / 8), c = (tid % (TN / 8)) * 8;
    float sum[8];
    for (int j = 0; j < 8; j++) sum[j] = Cg[r][c + j];
    for (int h = 1; h < G; h++)
        for (int j = 0; j < 8; j++) sum[j] += Cg[h * TM + r][c + j];
    __align__(16) __half2 out[4];
    for (int j = 0; j < 4; j++) out[j] = __floats2half2_rn(sum[2 * j], sum[2 * j + 1]);
    *reinterpret_cast<uint4 *>(Y + (size_t)(o0 + r) * S + s0 + c) = *reinterpret_cast<uint4 *>(out);
}

// Loads staged through registers: the next step's global loads are issued before this step's
// math, so they overlap it (works on every tensor-core GPU, sm_70+).
template <int TM, int TN, int BK, int G>
__device__ __forceinline__ void conv_mma(const __half *__restrict__ W,
                                         const __half *__restrict__ X, __half *__restrict__ Y,
                                         int C, int S)
{
    using T = Tile<TM, TN, BK, G, 1>;
    __shared__ __align__(128) unsigned char smem[T::SMEM];
    const int g = threadIdx.y, tid = threadIdx.x, warp = tid / 32;
    const int wr = warp / T::WARPS_N, wc = warp % T::WARPS_N;
    __half(*As)[T::A_LD] = reinterpret_cast<__half(*)[T::A_LD]>(smem + g * T::A_BYTES);
    __half(*Bs)[T::B_LD] =
        reinterpret_cast<__half(*)[T::B_LD]>(smem + G * T::A_BYTES + g * T::B_BYTES);
    const int o0 = blockIdx.y * TM, s0 = blockIdx.x * TN;

    uint4 ra[T::A_PER], rb[T::B_PER];
    auto fetch = [&](int k0) {
        for (int j = 0; j < T::A_PER; j++) {
            int v = tid + j * T::GT;
            if (v < T::A_VECS)
                ra[j] = *reinterpret_cast<const uint4 *>(W + (size_t)(o0 + T::a_row(v)) * C + k0 +
                                                         T::a_col(v));
        }
        for (int j = 0; j < T::B_PER; j++) {
            int v = tid + j * T::GT;
            if (v < T::B_VECS)
                rb[j] = *reinterpret_cast<const uint4 *>(X + (size_t)(k0 + T::b_row(v)) * S + s0 +
                                                         T::b_col(v));
        }
    };

    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> acc;
    nvcuda::wmma::fill_fragment(acc, 0.0f);
    const int step = BK * G;  // C % step == 0: every group runs the same number of steps
    fetch(g * BK);
    for (int k0 = g * BK; k0 < C; k0 += step) {
        for (int j = 0; j < T::A_PER; j++) {
            int v = tid + j * T::GT;
            if (v < T::A_VECS) *reinterpret_cast<uint4 *>(&As[T::a_row(v)][T::a_col(v)]) = ra[j];
        }
        for (int j = 0; j < T::B_PER; j++) {
            int v = tid + j * T::GT;
            if (v < T::B_VECS) *reinterpret_cast<uint4 *>(&Bs[T::b_row(v)][T::b_col(v)]) = rb[j];
        }
        __syncthreads();
        if (k0 + step < C) fetch(k0 + step);
        mma_step<T, BK>(acc, As, Bs, wr, wc);
        __syncthreads();  // also: every group is done with As/Bs before the epilogue reuses them
    }
    mma_epilogue<T, TM, TN, G>(acc, smem, Y, S, o0, s0, g, tid, wr, wc);
}

}  // namespace anethru

#endif
