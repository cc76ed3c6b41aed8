/* ane_mil.h -- the ANE kernel as data: MIL program text and its weight blob (pure C).
 *
 * Experiment I's kernel is a 1x1 conv over x: [1, C, 1, S] fp16 with W: [C, C, 1, 1] fp16.
 * layers > 1 puts that many convs back to back in ONE program (the `chained` test).
 *
 * All weights live in one blob file, "@model_path/weights/weight.bin", in the layout the
 * reference documents for one layer, repeated per layer:
 *   bytes [0, 64)      file header: uint32 chunk count at 0, uint32 2 (version) at 4
 *   per layer i        a 64-byte chunk header at ane_blob_chunk_offset(C, i): uint32 magic
 *                      0xDEADBEEF, uint32 1 (fp16) at +4, uint32 data bytes (C*C*2) at +8,
 *                      uint32 absolute data offset at +16; then the C*C fp16 weights,
 *                      [out][in], padded to a multiple of 64 bytes.
 * For one layer this is byte for byte the reference's blob (count 1, chunk at 64, data at 128).
 * One file rather than a file per layer because the reference only shows the compiler being
 * handed (and reading) that one weights path; several BLOBFILE offsets into it is the form
 * Core ML's own weight files take.
 */
#ifndef ANETHRU_ANE_MIL_H
#define ANETHRU_ANE_MIL_H

#include <stddef.h>
#include <stdint.h>

#define ANE_MIL_WEIGHT_PATH "@model_path/weights/weight.bin"
#define ANE_BLOB_MAGIC 0xDEADBEEFu
#define ANE_BLOB_HEADER_BYTES 64u
#define ANE_BLOB_CHUNK_HEADER_BYTES 64u

/* The MIL text, NUL-terminated, malloc'd (caller frees); NULL if out of memory or the
 * arguments are not positive. */
char *ane_mil_text(int channels, int spatial, int layers);

/* Bytes of the blob for `layers` layers of C x C weights; 0 on overflow or bad arguments. */
size_t ane_blob_size(int channels, int layers);

/* Offset of layer i's chunk header: the BLOBFILE offset the MIL names for that layer. */
size_t ane_blob_chunk_offset(int channels, int layer);

/* Fill blob (ane_blob_size bytes) from weights: layers * C * C fp16 bit patterns,
 * [layer][out][in]. */
void ane_blob_fill(uint8_t *blob, int channels, int layers, const uint16_t *weights);

#endif
