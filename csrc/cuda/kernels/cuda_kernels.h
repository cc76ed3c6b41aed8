/* cuda_kernels.h -- names and launch geometry of the kernels in cuda_kernels*.cu, shared by the
 * kernel source, the backend that launches them, the test-only fake driver that checks the
 * launches and the CPU emulator that runs them.  Plain #defines (X-macro lists) so CUDA C, C,
 * the fake and the emulator all read the same numbers.
 *
 * Every conv kernel takes (const half *W, const half *X, half *Y, int C, int S):
 * Y[o][s] = sum_i W[o][i] * X[i][s] in fp32, rounded once to fp16; [1,C,1,S] is row-major C x S.
 * The entry point of variant NAME is "anethru_conv_" #NAME.
 */
#ifndef ANETHRU_CUDA_KERNELS_H
#define ANETHRU_CUDA_KERNELS_H

/* Tensor-core (WMMA 16x16x16) variants.  X(name, TM, TN, BK, G):
 *   a block computes a TM x TN output tile (TM output channels, TN spatial columns) with one warp
 *   per 16 x 16 fragment, and G groups of those warps split the input channels (group g takes
 *   BK channels per step, then skips G * BK): blockDim = (32 * TM/16 * TN/16, G),
 *   gridDim = (S / TN, C / TM).  Needs C % TM == 0, S % TN == 0 and C % (BK * G) == 0.
 * Smaller tiles give more blocks (parallelism for small tensors); more groups shorten each
 * block's chain of dependent loads (768 channels: 3 steps with BK * G = 256, 2 with 384); a
 * longer BK means fewer, larger steps. */
#define ANETHRU_CUDA_MMA_VARIANTS(X)      \
    X(mma_32x32_k64_g4, 32, 32, 64, 4)    \
    X(mma_32x32_k64_g2, 32, 32, 64, 2)    \
    X(mma_32x32_k64_g1, 32, 32, 64, 1)    \
    X(mma_32x32_k32_g4, 32, 32, 32, 4)    \
    X(mma_16x16_k64_g4, 16, 16, 64, 4)    \
    X(mma_16x16_k32_g4, 16, 16, 32, 4)    \
    X(mma_16x16_k16_g4, 16, 16, 16, 4)    \
    X(mma_16x16_k32_g8, 16, 16, 32, 8)    \
    X(mma_16x16_k32_g12, 16, 16, 32, 12)  \
    X(mma_32x32_k32_g8, 32, 32, 32, 8)    \
    X(mma_16x32_k64_g4, 16, 32, 64, 4)    \
    X(mma_32x16_k64_g4, 32, 16, 64, 4)    \
    X(mma_64x32_k64_g2, 64, 32, 64, 2)    \
    X(mma_64x64_k32_g1, 64, 64, 32, 1)

/* The same tiles fed by cp.async (sm_80+: Ampere, Hopper) through a ring of STAGES shared-memory
 * stages, so several steps' loads are in flight at once without passing through registers.
 * X(name, TM, TN, BK, G, STAGES); geometry and requirements as above.  These live in a second
 * PTX module (target sm_80) that older GPUs cannot load. */
#define ANETHRU_CUDA_ASYNC_VARIANTS(X)            \
    X(async_32x32_k32_g2_s3, 32, 32, 32, 2, 3)    \
    X(async_32x32_k32_g4_s2, 32, 32, 32, 4, 2)    \
    X(async_16x16_k32_g4_s3, 16, 16, 32, 4, 3)    \
    X(async_16x16_k64_g4_s2, 16, 16, 64, 4, 2)    \
    X(async_16x16_k32_g8_s2, 16, 16, 32, 8, 2)

/* FP32-FMA variant for any C, S: 16 x 16 threads, each 2 x 2 outputs of a 32 x 32 tile,
 * gridDim = (ceil(S / 32), ceil(C / 32)). */
#define ANETHRU_CUDA_FMA_NAME "fma_32x32"
#define ANETHRU_CUDA_FMA_TILE 32
#define ANETHRU_CUDA_FMA_BK 16
#define ANETHRU_CUDA_FMA_THREADS_X 16
#define ANETHRU_CUDA_FMA_THREADS_Y 16

#define ANETHRU_CUDA_ENTRY_PREFIX "anethru_conv_"
/* The oldest compute capability (x10) each PTX module targets. */
#define ANETHRU_CUDA_BASE_SM 75
#define ANETHRU_CUDA_ASYNC_SM 80

/* Empty kernel for eval_null: one block of one thread. */
#define ANETHRU_CUDA_NULL_KERNEL "anethru_null"

#endif
