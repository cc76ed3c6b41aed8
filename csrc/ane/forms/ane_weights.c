/* ane_weights.c -- see ane_weights.h. */
#include <string.h>

#include "ane_weights.h"

static size_t blob_data_bytes(int channels)
{
    return (size_t)channels * (size_t)channels * 2u;
}

/* A blob and the padding that brings the next one to a 64-byte boundary. */
static size_t blob_stride(int channels)
{
    return ANE_WEIGHTS_BLOB_HEADER_BYTES + (blob_data_bytes(channels) + 63u) / 64u * 64u;
}

size_t ane_weights_file_size(int channels, int nblobs)
{
    if (channels <= 0 || nblobs <= 0) return 0;
    /* C*C*2 and nblobs strides must fit size_t (and the uint64 fields): C <= 2^31 keeps C*C*2
     * below 2^63; the product below is checked by division. */
    size_t stride = blob_stride(channels);
    size_t head = ANE_WEIGHTS_HEADER_BYTES + ANE_WEIGHTS_BLOB_HEADER_BYTES;
    if ((size_t)(nblobs - 1) > (SIZE_MAX - head - blob_data_bytes(channels)) / stride) return 0;
    return head + (size_t)(nblobs - 1) * stride + blob_data_bytes(channels);
}

size_t ane_weights_blob_offset(int channels, int index)
{
    return ANE_WEIGHTS_HEADER_BYTES + (size_t)index * blob_stride(channels);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void ane_weights_fill(uint8_t *file, int channels, int nblobs, const uint16_t *weights)
{
    size_t data = blob_data_bytes(channels);
    memset(file, 0, ane_weights_file_size(channels, nblobs));
    put_le(file + 0, (uint64_t)nblobs, 4);
    put_le(file + 4, 2, 4);
    for (int i = 0; i < nblobs; i++) {
        size_t off = ane_weights_blob_offset(channels, i);
        uint8_t *meta = file + off;
        put_le(meta + 0, ANE_WEIGHTS_MAGIC, 4);
        put_le(meta + 4, ANE_WEIGHTS_FP16, 4);
        put_le(meta + 8, data, 8);
        put_le(meta + 16, off + ANE_WEIGHTS_BLOB_HEADER_BYTES, 8);
        /* fp16 bit patterns are stored little-endian, as on every Apple Silicon Mac. */
        const uint16_t *w = weights + (size_t)i * (size_t)channels * (size_t)channels;
        uint8_t *dst = meta + ANE_WEIGHTS_BLOB_HEADER_BYTES;
        for (size_t k = 0; k < data / 2; k++) put_le(dst + 2 * k, w[k], 2);
    }
}
