/* cuda_kernels.h -- names and launch geometry of the kernels in cuda_kernels.cu, shared by the
 * kernel source, the backend that launches them and the test-only fake driver that checks the
 * launches.  Plain #defines so CUDA C, C and the fake all read the same numbers.
 *
 * Every kernel takes (const half *W, const half *X, half *Y, int C, int S):
 * Y[o][s] = sum_i W[o][i] * X[i][s] in fp32, rounded once to fp16; [1,C,1,S] is row-major C x S.
 */
#ifndef ANETHRU_CUDA_KERNELS_H
#define ANETHRU_CUDA_KERNELS_H

/* Tensor-core kernel (WMMA, sm_75+ PTX): used when C % MMA_BK == 0 and C, S % MMA_TILE == 0.
 * Block (MMA_THREADS, groups): each group of 4 warps takes its own MMA_BK input channels per
 * step (split-K inside the block), so a block runs C / (MMA_BK * groups) dependent steps. */
#define ANETHRU_CUDA_MMA_KERNEL "anethru_conv1x1_mma"
#define ANETHRU_CUDA_MMA_TILE 32      /* a block computes a 32 x 32 output tile */
#define ANETHRU_CUDA_MMA_BK 64        /* input channels a group stages per step */
#define ANETHRU_CUDA_MMA_THREADS 128  /* 4 warps per group, one 16 x 16 fragment each */
#define ANETHRU_CUDA_MMA_MAX_GROUPS 4
/* Groups for C input channels: as many as divide C into whole MMA_BK slices, up to 4. */
#define ANETHRU_CUDA_MMA_GROUPS(c)                                         \
    ((c) % (4 * ANETHRU_CUDA_MMA_BK) == 0 ? 4 : (c) % (2 * ANETHRU_CUDA_MMA_BK) == 0 ? 2 : 1)

/* FP32-FMA kernel for any C, S: 16 x 16 threads, each 2 x 2 outputs of a 32 x 32 tile. */
#define ANETHRU_CUDA_FMA_KERNEL "anethru_conv1x1_fma"
#define ANETHRU_CUDA_FMA_TILE 32
#define ANETHRU_CUDA_FMA_BK 16
#define ANETHRU_CUDA_FMA_THREADS_X 16
#define ANETHRU_CUDA_FMA_THREADS_Y 16

/* Empty kernel for eval_null: one block of one thread. */
#define ANETHRU_CUDA_NULL_KERNEL "anethru_null"

#endif
