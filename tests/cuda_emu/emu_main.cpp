// emu_main.cpp -- run one kernel variant of csrc/cuda/kernels/cuda_kernels*.cu on the CPU with the launch
// geometry cuda_kernels.h gives it (test only).
//   emu VARIANT C S IN OUT    IN = weights (C*C fp16) then input (C*S fp16); OUT gets C*S fp16
//   emu --list                the variant names, one a line
// Exit 2: bad usage, or a variant that does not fit C x S; 3: the kernel broke a CUDA rule.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "emu_runtime.h"
#include "cuda_kernels.cu"
#include "cuda_kernels_sm80.cu"

typedef void (*conv_fn)(const __half *, const __half *, __half *, int, int);

struct variant {
    const char *name;
    conv_fn fn;
    int tm, tn, bk, groups; // groups == 0: the FMA kernel
};

#define EMU_MMA(name, tm, tn, bk, g) {#name, anethru_conv_##name, tm, tn, bk, g},
#define EMU_ASYNC(name, tm, tn, bk, g, stages) {#name, anethru_conv_##name, tm, tn, bk, g},
static const variant variants[] = {
    ANETHRU_CUDA_MMA_VARIANTS(EMU_MMA) ANETHRU_CUDA_ASYNC_VARIANTS(EMU_ASYNC)
    {ANETHRU_CUDA_FMA_NAME, anethru_conv_fma_32x32, ANETHRU_CUDA_FMA_TILE, ANETHRU_CUDA_FMA_TILE, 0, 0},
};

// One CPU thread per CUDA thread of a block; the same threads run the blocks one after another
// and meet at the block barrier between blocks (so no thread reuses the block's __shared__
// statics before all are done with them).
static void launch(conv_fn fn, emu_dim3 grid, emu_dim3 block, const __half *w, const __half *x,
                   __half *y, int c, int s)
{
    gridDim = grid;
    blockDim = block;
    unsigned n = block.x * block.y;
    emu_block_barrier.emplace((std::ptrdiff_t)n);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < n; t++)
        threads.emplace_back([=] {
            threadIdx = {t % block.x, t / block.x, 1};
            for (unsigned by = 0; by < grid.y; by++)
                for (unsigned bx = 0; bx < grid.x; bx++) {
                    blockIdx = {bx, by, 1};
                    fn(w, x, y, c, s);
                    emu_thread_done();
                    __syncthreads();
                }
        });
    for (auto &th : threads) th.join();
    emu_block_barrier.reset();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (const variant &v : variants) std::printf("%s\n", v.name);
        return 0;
    }
    if (argc != 6) return 2;
    const variant *v = nullptr;
    for (const variant &cand : variants)
        if (!strcmp(cand.name, argv[1])) v = &cand;
    int c = atoi(argv[2]), s = atoi(argv[3]);
    if (!v || c < 1 || s < 1) return 2;
    std::vector<__half> w((size_t)c * c), x((size_t)c * s), y((size_t)c * s, __half{0x7e00});
    FILE *f = fopen(argv[4], "rb");
    if (!f || fread(w.data(), 2, w.size(), f) != w.size() || fread(x.data(), 2, x.size(), f) != x.size())
        return 2;
    fclose(f);
    if (v->groups == 0) {
        const int t = ANETHRU_CUDA_FMA_TILE;
        launch(v->fn, {(unsigned)((s + t - 1) / t), (unsigned)((c + t - 1) / t), 1},
               {ANETHRU_CUDA_FMA_THREADS_X, ANETHRU_CUDA_FMA_THREADS_Y, 1}, w.data(), x.data(),
               y.data(), c, s);
    } else {
        if (c % v->tm || s % v->tn || c % (v->bk * v->groups)) return 2;
        unsigned threads = 32u * (unsigned)(v->tm / 16) * (unsigned)(v->tn / 16);
        launch(v->fn, {(unsigned)(s / v->tn), (unsigned)(c / v->tm), 1},
               {threads, (unsigned)v->groups, 1}, w.data(), x.data(), y.data(), c, s);
    }
    f = fopen(argv[5], "wb");
    if (!f || fwrite(y.data(), 2, y.size(), f) != y.size()) return 2;
    fclose(f);
    return 0;
}
