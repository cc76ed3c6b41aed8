/* ane_mil.c -- MIL text and weight blob of the ANE kernel (see ane_mil.h for the layout). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane_mil.h"

/* A growing string; any failure leaves ok = 0 and the text is dropped. */
typedef struct {
    char *s;
    size_t len, cap;
    int ok;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (!t->ok) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) { t->ok = 0; return; }
        if ((size_t)n < t->cap - t->len) { t->len += (size_t)n; return; }
        size_t cap = t->cap * 2 + (size_t)n;
        char *s = realloc(t->s, cap);
        if (!s) { t->ok = 0; return; }
        t->s = s;
        t->cap = cap;
    }
}

/* The header and constants follow the research code's program (ios16, program 1.0, the
 * coremlc buildInfo): the one form verified on M1-M5. */
char *ane_mil_text(int channels, int spatial, int layers)
{
    if (channels <= 0 || spatial <= 0 || layers <= 0) return NULL;
    if (ane_blob_size(channels, layers) == 0) return NULL;
    text t = {malloc(4096), 0, 4096, 1};
    if (!t.s) return NULL;
    const int C = channels, S = spatial;
    put(&t, "program(1.0)\n"
            "[buildInfo = dict<tensor<string, []>, tensor<string, []>>"
            "({{\"coremlc-version\", \"3505.4.1\"}})]\n"
            "{\n"
            "    func main<ios16>(tensor<fp16, [1, %d, 1, %d]> x) {\n", C, S);
    put(&t, "        tensor<string, []> pt = const()[name=tensor<string, []>(\"pt\"), "
            "val=tensor<string, []>(\"valid\")];\n"
            "        tensor<int32, [2]> st = const()[name=tensor<string, []>(\"st\"), "
            "val=tensor<int32, [2]>([1,1])];\n"
            "        tensor<int32, [4]> pd = const()[name=tensor<string, []>(\"pd\"), "
            "val=tensor<int32, [4]>([0,0,0,0])];\n"
            "        tensor<int32, [2]> dl = const()[name=tensor<string, []>(\"dl\"), "
            "val=tensor<int32, [2]>([1,1])];\n"
            "        tensor<int32, []> gr = const()[name=tensor<string, []>(\"gr\"), "
            "val=tensor<int32, []>(1)];\n");
    /* One layer keeps the research program's names (W, y, conv); a chain numbers them and
     * feeds each conv's output to the next, the last one named y. */
    char prev[32] = "x";
    for (int i = 0; i < layers; i++) {
        char w[32], y[32], op[32];
        if (layers == 1) {
            strcpy(w, "W"), strcpy(y, "y"), strcpy(op, "conv");
        } else {
            snprintf(w, sizeof w, "W%d", i);
            if (i == layers - 1) strcpy(y, "y");
            else snprintf(y, sizeof y, "y%d", i);
            snprintf(op, sizeof op, "conv%d", i);
        }
        put(&t, "        tensor<fp16, [%d, %d, 1, 1]> %s = const()[name=tensor<string, []>(\"%s\"), "
                "val=tensor<fp16, [%d, %d, 1, 1]>(BLOBFILE(path=tensor<string, []>(\"%s\"), "
                "offset=tensor<uint64, []>(%zu)))];\n",
            C, C, w, w, C, C, ANE_MIL_WEIGHT_PATH, ane_blob_chunk_offset(C, i));
        put(&t, "        tensor<fp16, [1, %d, 1, %d]> %s = conv(dilations=dl,groups=gr,pad=pd,"
                "pad_type=pt,strides=st,weight=%s,x=%s)[name=tensor<string, []>(\"%s\")];\n",
            C, S, y, w, prev, op);
        strcpy(prev, y);
    }
    put(&t, "    } -> (y);\n}\n");
    if (!t.ok) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

/* Bytes of one layer's chunk: its header plus the weights padded to 64. */
static size_t chunk_bytes(int channels)
{
    size_t data = (size_t)channels * (size_t)channels * 2u;
    return ANE_BLOB_CHUNK_HEADER_BYTES + (data + 63u) / 64u * 64u;
}

size_t ane_blob_size(int channels, int layers)
{
    if (channels <= 0 || layers <= 0 || channels > 46340) return 0; /* C*C*2 fits uint32 */
    size_t chunk = chunk_bytes(channels);
    /* The headers hold 32-bit offsets: the whole file must stay under 4 GiB. */
    if ((size_t)layers > (UINT32_MAX - ANE_BLOB_HEADER_BYTES) / chunk) return 0;
    return ANE_BLOB_HEADER_BYTES + (size_t)layers * chunk;
}

size_t ane_blob_chunk_offset(int channels, int layer)
{
    return ANE_BLOB_HEADER_BYTES + (size_t)layer * chunk_bytes(channels);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

void ane_blob_fill(uint8_t *blob, int channels, int layers, const uint16_t *weights)
{
    size_t data = (size_t)channels * (size_t)channels * 2u;
    memset(blob, 0, ane_blob_size(channels, layers));
    put_u32(blob + 0, (uint32_t)layers);
    put_u32(blob + 4, 2);
    for (int i = 0; i < layers; i++) {
        size_t off = ane_blob_chunk_offset(channels, i);
        uint8_t *h = blob + off;
        put_u32(h + 0, ANE_BLOB_MAGIC);
        put_u32(h + 4, 1);
        put_u32(h + 8, (uint32_t)data);
        put_u32(h + 16, (uint32_t)(off + ANE_BLOB_CHUNK_HEADER_BYTES));
        /* fp16 bit patterns are stored little-endian, as on every Apple Silicon Mac. */
        memcpy(h + ANE_BLOB_CHUNK_HEADER_BYTES, weights + (size_t)i * channels * channels, data);
    }
}
