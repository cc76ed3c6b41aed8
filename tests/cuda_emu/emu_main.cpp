// emu_main.cpp -- run one kernel of csrc/cuda_kernels.cu on the CPU with the launch geometry the
// backend uses (test only).
//   emu KERNEL C S IN OUT     KERNEL: mma | fma; IN = weights (C*C fp16) then input (C*S fp16)
#include <cstring>
#include <thread>
#include <vector>

#include "emu_runtime.h"
#include "cuda_kernels.cu"

typedef void (*conv_fn)(const __half *, const __half *, __half *, int, int);

static void launch(conv_fn fn, emu_dim3 grid, emu_dim3 block, const __half *w, const __half *x,
                   __half *y, int c, int s)
{
    gridDim = grid;
    blockDim = block;
    unsigned n = block.x * block.y;
    for (unsigned by = 0; by < grid.y; by++)
        for (unsigned bx = 0; bx < grid.x; bx++) {
            std::barrier<> bar((std::ptrdiff_t)n);
            emu_block_barrier = &bar;
            std::vector<std::thread> threads;
            for (unsigned t = 0; t < n; t++)
                threads.emplace_back([=] {
                    blockIdx = {bx, by, 1};
                    threadIdx = {t % block.x, t / block.x, 1};
                    fn(w, x, y, c, s);
                });
            for (auto &th : threads) th.join();
        }
}

int main(int argc, char **argv)
{
    if (argc != 6) return 2;
    int c = atoi(argv[2]), s = atoi(argv[3]);
    std::vector<__half> w((size_t)c * c), x((size_t)c * s), y((size_t)c * s, __half{0x7e00});
    FILE *f = fopen(argv[4], "rb");
    if (!f || fread(w.data(), 2, w.size(), f) != w.size() || fread(x.data(), 2, x.size(), f) != x.size())
        return 2;
    fclose(f);
    if (!strcmp(argv[1], "mma")) {
        if (c % ANETHRU_CUDA_MMA_BK || c % ANETHRU_CUDA_MMA_TILE || s % ANETHRU_CUDA_MMA_TILE) return 2;
        launch(anethru_conv1x1_mma, {(unsigned)(s / MT), (unsigned)(c / MT), 1},
               {ANETHRU_CUDA_MMA_THREADS, (unsigned)ANETHRU_CUDA_MMA_GROUPS(c), 1}, w.data(), x.data(), y.data(), c, s);
    } else {
        launch(anethru_conv1x1_fma, {(unsigned)((s + FT - 1) / FT), (unsigned)((c + FT - 1) / FT), 1},
               {FTX, FTY, 1}, w.data(), x.data(), y.data(), c, s);
    }
    f = fopen(argv[5], "wb");
    if (!f || fwrite(y.data(), 2, y.size(), f) != y.size()) return 2;
    fclose(f);
    return 0;
}
