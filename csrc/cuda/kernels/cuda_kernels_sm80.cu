// cuda_kernels_sm80.cu -- the sm_80 PTX module of the cuda backend: the tensor-core tiles of
// cuda_mma_tile.cuh fed by cp.async (Ampere, Hopper and newer) through a ring of STAGES
// shared-memory stages, so several steps' loads are in flight without passing through
// registers.  A GPU older than sm_80 cannot load this module; the backend then skips these
// variants and says why.  Turned into PTX by tools/gen_cuda_ptx.py like cuda_kernels.cu.
#include <cuda_fp16.h>

#include "cuda_kernels.h"
#include "cuda_mma_tile.cuh"

namespace anethru {

// cp.async of 16 bytes global -> shared, and its group bookkeeping.  tests/cuda_emu stands in
// for them with copies deferred to the wait, so a read before the wait sees stale data there.
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem)
{
#ifdef ANETHRU_CUDA_EMULATED
    emu_cp_async16(smem, gmem);
#else
    unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem) : "memory");
#endif
}

__device__ __forceinline__ void cp_async_commit()
{
#ifdef ANETHRU_CUDA_EMULATED
    emu_cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// Wait until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait()
{
#ifdef ANETHRU_CUDA_EMULATED
    emu_cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

template <int TM, int TN, int BK, int G, int STAGES>
__device__ __forceinline__ void conv_mma_async(const __half *__restrict__ W,
                                               const __half *__restrict__ X,
                                               __half *__restrict__ Y, int C, int S)
{
    static_assert(STAGES >= 2, "a ring needs two stages");
    using T = Tile<TM, TN, BK, G, STAGES>;
    __shared__ __align__(128) unsigned char smem[T::SMEM];
    const int g = threadIdx.y, tid = threadIdx.x, warp = tid / 32;
    const int wr = warp / T::WARPS_N, wc = warp % T::WARPS_N;
    const int o0 = blockIdx.y * TM, s0 = blockIdx.x * TN;
    const int step = BK * G, steps = C / step;  // C % step == 0: every group runs `steps`

    auto as_of = [&](int stage) {
        return reinterpret_cast<__half(*)[T::A_LD]>(smem + stage * T::STAGE_BYTES + g * T::A_BYTES);
    };
    auto bs_of = [&](int stage) {
        return reinterpret_cast<__half(*)[T::B_LD]>(smem + stage * T::STAGE_BYTES +
                                                    G * T::A_BYTES + g * T::B_BYTES);
    };
    // Start the loads of step i (this group's channels k0 = g*BK + i*step) into its stage.
    auto issue = [&](int i) {
        const int k0 = g * BK + i * step, stage = i % STAGES;
        __half(*As)[T::A_LD] = as_of(stage);
        __half(*Bs)[T::B_LD] = bs_of(stage);
        for (int j = 0; j < T::A_PER; j++) {
            int v = tid + j * T::GT;
            if (v < T::A_VECS)
                cp_async16(&As[T::a_row(v)][T::a_col(v)],
                           W + (size_t)(o0 + T::a_row(v)) * C + k0 + T::a_col(v));
        }
        for (int j = 0; j < T::B_PER; j++) {
            int v = tid + j * T::GT;
            if (v < T::B_VECS)
                cp_async16(&Bs[T::b_row(v)][T::b_col(v)],
                           X + (size_t)(k0 + T::b_row(v)) * S + s0 + T::b_col(v));
        }
    };

    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> acc;
    nvcuda::wmma::fill_fragment(acc, 0.0f);
    // Prologue: steps 0 .. STAGES-2 in flight, one commit group each (empty groups keep the
    // count uniform, so "wait until STAGES-1 remain" always means "step i has landed").
    for (int i = 0; i < STAGES - 1; i++) {
        if (i < steps) issue(i);
        cp_async_commit();
    }
    for (int i = 0; i < steps; i++) {
        // The stage step i+STAGES-1 refills was last read at step i-1, which every thread
        // finished before the barrier that ended it.
        if (i + STAGES - 1 < steps) issue(i + STAGES - 1);
        cp_async_commit();
        cp_async_wait<STAGES - 1>();
        __syncthreads();  // every thread's copies of step i are visible to the whole block
        mma_step<T, BK>(acc, as_of(i % STAGES), bs_of(i % STAGES), wr, wc);
        __syncthreads();
    }
    cp_async_wait<0>();  // only empty groups remain; the epilogue reuses the stage bytes
    mma_epilogue<T, TM, TN, G>(acc, smem, Y, S, o0, s0, g, tid, wr, wc);
}

}  // namespace anethru

#define ANETHRU_DEFINE_ASYNC(name, tm, tn, bk, g, stages)                                      \
    extern "C" __global__ void __launch_bounds__(anethru::Tile<tm, tn, bk, g, stages>::THREADS) \
        anethru_conv_##name(const __half *__restrict__ W, const __half *__restrict__ X,        \
                            __half *__restrict__ Y, int C, int S)                              \
    {                                                                                          \
        anethru::conv_mma_async<tm, tn, bk, g, stages>(W, X, Y, C, S);                         \
    }
ANETHRU_CUDA_ASYNC_VARIANTS(ANETHRU_DEFINE_ASYNC)
#undef ANETHRU_DEFINE_ASYNC
