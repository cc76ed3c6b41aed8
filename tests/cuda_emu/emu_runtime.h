// emu_runtime.h -- just enough of CUDA's execution model to run csrc/cuda_kernels.cu on the CPU
// (test only).  A block runs as blockDim real threads that meet at __syncthreads (a barrier);
// blocks run one after another, so __shared__ can be a function-local static.  This checks the
// kernels' indexing, tiling, staging and bounds; it cannot check nvcc's code or the hardware.
#ifndef EMU_RUNTIME_H
#define EMU_RUNTIME_H

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

struct emu_dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline thread_local emu_dim3 threadIdx, blockIdx;
inline emu_dim3 blockDim, gridDim;
inline std::barrier<> *emu_block_barrier;

#define __global__
#define __launch_bounds__(n)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }

struct alignas(16) uint4 {
    unsigned x, y, z, w;
};

[[noreturn]] inline void emu_fail(const char *what)
{
    std::fprintf(stderr, "emulated kernel broke a CUDA rule: %s\n", what);
    std::exit(3);
}

#endif
