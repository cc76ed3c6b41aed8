/* ane_weights.h -- Apple's MIL weight file, the format a BLOBFILE(path, offset) reads (pure C).
 *
 * The layout is the one coremltools' _BlobStorageWriter writes (checked byte for byte by
 * tests/test_ane_programs.py):
 *   [0, 64)     file header: uint32 number of blobs, uint32 version 2, the rest zero
 *   per blob    a 64-byte metadata block at ane_weights_blob_offset(): uint32 0xDEADBEEF,
 *               uint32 data type (1 = fp16), uint64 data bytes at +8, uint64 absolute offset of
 *               the data at +16, the rest zero; then the data.  The next blob starts at the next
 *               64-byte boundary; the file ends with the last blob's data (no padding after it).
 * A BLOBFILE's offset is that of its blob's metadata block.  One fp16 C x C blob is byte for
 * byte the research program's weight.bin (count 1, metadata at 64, data at 128).
 */
#ifndef ANETHRU_ANE_WEIGHTS_H
#define ANETHRU_ANE_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#define ANE_WEIGHTS_HEADER_BYTES 64u
#define ANE_WEIGHTS_BLOB_HEADER_BYTES 64u
#define ANE_WEIGHTS_MAGIC 0xDEADBEEFu
#define ANE_WEIGHTS_FP16 1u

/* Bytes of a file of nblobs fp16 blobs of C x C each; 0 if the arguments are not positive or
 * the size overflows. */
size_t ane_weights_file_size(int channels, int nblobs);

/* Offset of blob i's metadata block: the offset its BLOBFILE names. */
size_t ane_weights_blob_offset(int channels, int index);

/* Fill file (ane_weights_file_size bytes) with nblobs blobs taken in order from weights:
 * nblobs * C * C fp16 bit patterns, each blob [out][in]. */
void ane_weights_fill(uint8_t *file, int channels, int nblobs, const uint16_t *weights);

#endif
