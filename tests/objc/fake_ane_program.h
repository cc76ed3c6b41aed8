/* fake_ane_program.h -- the simulated ANE compiler's back end (test-only, pure C): reads the
 * MIL text anethru generates, fetches each conv's weights from the blob at the offset its
 * BLOBFILE names, and runs the program on the CPU (fp16 in/out, fp32 accumulation, fp16
 * between layers).  Anything it does not understand is a compile error, as on the ANE. */
#ifndef FAKE_ANE_PROGRAM_H
#define FAKE_ANE_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int channels, spatial, layers;
    float *weights; /* layers * C * C, [layer][out][in] */
} fake_program;

/* Returns the bytes of the weight file the MIL calls `path`, or NULL if there is none. */
typedef const uint8_t *(*fake_weight_lookup)(void *ctx, const char *path, size_t *len);

int fake_program_parse(const char *mil, fake_weight_lookup lookup, void *ctx, fake_program *p,
                       char *err, size_t errlen);
void fake_program_free(fake_program *p);
/* in and out: C * S fp16 each ([1, C, 1, S]); they may not overlap.  0, or -1 without memory. */
int fake_program_run(const fake_program *p, const uint16_t *in, uint16_t *out);

float fake_half_to_float(uint16_t h);
uint16_t fake_float_to_half(float f);

#endif
