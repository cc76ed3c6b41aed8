// emu_runtime.h -- just enough of CUDA's execution model to run csrc/cuda/kernels/cuda_kernels*.cu on the CPU
// (test only).  A block runs as blockDim real threads that meet at __syncthreads (a barrier);
// blocks run one after another, so __shared__ can be a function-local static.  This checks the
// kernels' indexing, tiling, staging, pipelining and bounds; it cannot check nvcc's code or the
// hardware.
#ifndef EMU_RUNTIME_H
#define EMU_RUNTIME_H

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

// The kernels pick the stand-ins below (cp.async) instead of inline PTX.
#define ANETHRU_CUDA_EMULATED 1

struct emu_dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline thread_local emu_dim3 threadIdx, blockIdx;
inline emu_dim3 blockDim, gridDim;
// The running block's barrier.  Owned here (emplaced per block, between blocks when no thread
// runs) rather than pointing at a launcher's local, so nothing can dangle.
inline std::optional<std::barrier<>> emu_block_barrier;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
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

// cp.async: each thread's copies are only recorded when issued and happen when that thread
// waits for their commit group, so a kernel that reads shared memory before waiting (or, most
// of the time, before the barrier after another thread's wait) reads stale bytes and fails.
struct emu_copy {
    void *dst;
    const void *src;
};
inline thread_local std::vector<emu_copy> emu_open_group;
inline thread_local std::vector<std::vector<emu_copy>> emu_committed;

inline void emu_cp_async16(void *dst, const void *src)
{
    if ((uintptr_t)dst % 16 || (uintptr_t)src % 16) emu_fail("cp.async of 16 bytes not 16-byte aligned");
    emu_open_group.push_back({dst, src});
}

inline void emu_cp_async_commit()
{
    emu_committed.push_back(emu_open_group);
    emu_open_group.clear();
}

inline void emu_cp_async_wait(int pending)
{
    while ((int)emu_committed.size() > pending) {
        for (const emu_copy &c : emu_committed.front()) std::memcpy(c.dst, c.src, 16);
        emu_committed.erase(emu_committed.begin());
    }
}

// A kernel must not end with copies in flight (their bytes would land in the next block).
inline void emu_thread_done()
{
    if (!emu_open_group.empty()) emu_fail("cp.async issued but never committed");
    for (const auto &g : emu_committed)
        if (!g.empty()) emu_fail("kernel ended with cp.async copies in flight");
    emu_committed.clear();
}

#endif
