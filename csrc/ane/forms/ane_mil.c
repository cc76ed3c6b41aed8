/* ane_mil.c -- MIL text of the ANE kernel in each dialect (see ane_mil.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane_mil.h"

/* How a dialect spells the program header and its scalar types.  A scalar value is written
 * TYPE(value) in both dialects; only TYPE differs. */
typedef struct {
    const char *header;      /* program line, buildInfo and the opening brace */
    const char *target;      /* func main<target> */
    const char *string_t;    /* a scalar string */
    const char *int32_t_;    /* a scalar int32 */
    const char *uint64_t_;   /* a scalar uint64 */
} dialect_spelling;

static const dialect_spelling spellings[] = {
    [ANE_MIL_IOS16] = {
        "program(1.0)\n"
        "[buildInfo = dict<tensor<string, []>, tensor<string, []>>"
        "({{\"coremlc-version\", \"3505.4.1\"}})]\n"
        "{\n",
        "ios16", "tensor<string, []>", "tensor<int32, []>", "tensor<uint64, []>"},
    [ANE_MIL_IOS18] = {
        "program(1.3)\n"
        "[buildInfo = dict<string, string>({{\"coremlc-component-MIL\", \"3510.2.1\"}, "
        "{\"coremlc-version\", \"3505.4.1\"}, {\"coremltools-component-milinternal\", \"\"}, "
        "{\"coremltools-version\", \"9.0\"}})]\n"
        "{\n",
        "ios18", "string", "int32", "uint64"},
};

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

/* The five conv parameters, each a const named as in the research program. */
static void put_constants(text *t, const dialect_spelling *d)
{
    const char *s = d->string_t;
    put(t, "        %s pt = const()[name=%s(\"pt\"), val=%s(\"valid\")];\n", s, s, s);
    put(t, "        tensor<int32, [2]> st = const()[name=%s(\"st\"), val=tensor<int32, [2]>([1,1])];\n", s);
    put(t, "        tensor<int32, [4]> pd = const()[name=%s(\"pd\"), "
           "val=tensor<int32, [4]>([0,0,0,0])];\n", s);
    put(t, "        tensor<int32, [2]> dl = const()[name=%s(\"dl\"), val=tensor<int32, [2]>([1,1])];\n", s);
    put(t, "        %s gr = const()[name=%s(\"gr\"), val=%s(1)];\n", d->int32_t_, s, d->int32_t_);
}

/* The shapes of W and y.  The research program that compiled and ran on an M4 Max wrote them
 * without spaces ("[64,64,1,1]"); its 1-layer ios16 text is reproduced byte for byte, so that
 * form uses its spelling.  The other forms keep anethru's own ("[64, 64, 1, 1]"). */
static void shapes(char *w, char *y, size_t len, int compact, int C, int S)
{
    const char *sep = compact ? "," : ", ";
    snprintf(w, len, "[%d%s%d%s1%s1]", C, sep, C, sep, sep);
    snprintf(y, len, "[1%s%d%s1%s%d]", sep, C, sep, sep, S);
}

char *ane_mil_text(int dialect, int channels, int spatial, int layers,
                   const ane_mil_weight_ref *refs)
{
    if (dialect != ANE_MIL_IOS16 && dialect != ANE_MIL_IOS18) return NULL;
    if (channels <= 0 || spatial <= 0 || layers <= 0 || !refs) return NULL;
    const dialect_spelling *d = &spellings[dialect];
    const char *s = d->string_t;
    const int C = channels, S = spatial;
    const int compact = dialect == ANE_MIL_IOS16 && layers == 1;
    text t = {malloc(4096), 0, 4096, 1};
    if (!t.s) return NULL;
    put(&t, "%s    func main<%s>(tensor<fp16, [1, %d, 1, %d]> x) {\n", d->header, d->target, C, S);
    put_constants(&t, d);
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
        char wshape[48], yshape[48];
        shapes(wshape, yshape, sizeof wshape, compact, C, S);
        put(&t, "        tensor<fp16, %s> %s = const()[name=%s(\"%s\"), "
                "val=tensor<fp16, %s>(BLOBFILE(path=%s(\"%s\"), offset=%s(%zu)))];\n",
            wshape, w, s, w, wshape, s, refs[i].path, d->uint64_t_, refs[i].offset);
        put(&t, "        tensor<fp16, %s> %s = conv(dilations=dl,groups=gr,pad=pd,"
                "pad_type=pt,strides=st,weight=%s,x=%s)[name=%s(\"%s\")];\n",
            yshape, y, w, prev, s, op);
        strcpy(prev, y);
    }
    put(&t, "    } -> (y);\n}\n");
    if (!t.ok) {
        free(t.s);
        return NULL;
    }
    return t.s;
}
