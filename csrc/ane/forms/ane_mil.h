/* ane_mil.h -- the MIL program text of the ANE kernel (pure C).
 *
 * Experiment I's kernel is a 1x1 conv over x: [1, C, 1, S] fp16 with W: [C, C, 1, 1] fp16,
 * fp16 in and out.  layers > 1 puts that many convs back to back in ONE program (the `chained`
 * test), each reading its weights through its own BLOBFILE(path, offset).
 *
 * Two dialects of the same program, as observed in research code that ran on real Macs:
 *   ANE_MIL_IOS16  program(1.0), func main<ios16>, scalars written as tensor<string, []>,
 *                  tensor<int32, []>, tensor<uint64, []>: the research program's own text.
 *   ANE_MIL_IOS18  program(1.3), func main<ios18>, scalars written plainly (string, int32,
 *                  uint64) and coremltools 9.0's buildInfo: the form of the later training
 *                  kernels.
 * One layer keeps the research program's names (W, y, conv); a chain numbers them (W0, y0,
 * conv0, ...), the last output named y.
 */
#ifndef ANETHRU_ANE_MIL_H
#define ANETHRU_ANE_MIL_H

#include <stddef.h>

enum { ANE_MIL_IOS16 = 0, ANE_MIL_IOS18 = 1 };

/* Where layer i's weights are: the BLOBFILE path (as the MIL names it) and offset. */
typedef struct {
    const char *path;
    size_t offset;
} ane_mil_weight_ref;

/* The MIL text, NUL-terminated, malloc'd (caller frees); NULL if out of memory or the
 * arguments are bad.  refs has one entry per layer. */
char *ane_mil_text(int dialect, int channels, int spatial, int layers,
                   const ane_mil_weight_ref *refs);

#endif
