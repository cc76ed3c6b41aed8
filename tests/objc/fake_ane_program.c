/* fake_ane_program.c -- see fake_ane_program.h.  Strict on purpose: a program anethru did not
 * mean to write must fail here, not compute something plausible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_ane_program.h"

#define MAX_VALUES 256
#define NAME 64

typedef struct {
    char name[NAME];
    char type[NAME];      /* what is between tensor< and > */
    char val[512];        /* the val= expression */
    int is_blob;
    int rows, cols;       /* a BLOBFILE weight's [rows, cols, 1, 1] */
    char path[256];
    unsigned long long offset;
} mil_const;

typedef struct {
    char out[NAME], weight[NAME], x[NAME];
    char arg_dilations[NAME], arg_groups[NAME], arg_pad[NAME], arg_pad_type[NAME], arg_strides[NAME];
} mil_conv;

/* How the program's dialect spells scalars (its `program` line decides): TYPE(value). */
typedef struct {
    const char *version, *target, *string_t, *int32_t_, *uint64_t_;
} dialect;

static const dialect dialects[] = {
    {"program(1.0)", "ios16", "tensor<string, []>", "tensor<int32, []>", "tensor<uint64, []>"},
    {"program(1.3)", "ios18", "string", "int32", "uint64"},
};

typedef struct {
    mil_const consts[MAX_VALUES];
    mil_conv convs[MAX_VALUES];
    int nconsts, nconvs;
    int C, S;
    char input[NAME], output[NAME];
    const dialect *d;
} mil_program;

/* Read a type: tensor<...> or a bare scalar type name; returns the characters used, 0 if none. */
static int scan_type(const char *s, char *type, size_t typelen)
{
    size_t n = 0;
    if (strncmp(s, "tensor<", 7) == 0) {
        const char *end = strchr(s, '>');
        if (!end) return 0;
        n = (size_t)(end - s) + 1;
    } else {
        while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9')) n++;
    }
    if (n == 0 || n >= typelen) return 0;
    memcpy(type, s, n);
    type[n] = '\0';
    return (int)n;
}

/* Read `<string type>("text")` at s into out; the characters used, 0 if it is not that. */
static int scan_string(const mil_program *m, const char *s, char *out, size_t outlen)
{
    size_t t = strlen(m->d->string_t);
    if (strncmp(s, m->d->string_t, t) != 0 || strncmp(s + t, "(\"", 2) != 0) return 0;
    const char *start = s + t + 2, *end = strchr(start, '"');
    if (!end || end[1] != ')' || (size_t)(end - start) >= outlen) return 0;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return (int)(end + 2 - s);
}

static const mil_const *find_const(const mil_program *m, const char *name)
{
    for (int i = 0; i < m->nconsts; i++)
        if (strcmp(m->consts[i].name, name) == 0) return &m->consts[i];
    return NULL;
}

static int parse_const(mil_program *m, const char *line, char *err, size_t errlen)
{
    mil_const *c = &m->consts[m->nconsts];
    char attr[NAME];
    memset(c, 0, sizeof *c);
    int n = scan_type(line, c->type, sizeof c->type), k = 0;
    if (n == 0 || sscanf(line + n, " %63[A-Za-z0-9_] = const()[name=%n", c->name, &k) != 1 || k == 0) {
        snprintf(err, errlen, "MIL: malformed const: %.120s", line);
        return -1;
    }
    const char *p = line + n + k;
    int used = scan_string(m, p, attr, sizeof attr);
    if (used == 0 || strncmp(p + used, ", val=", 6) != 0) {
        snprintf(err, errlen, "MIL: const %s: name is not %s(\"...\")", c->name, m->d->string_t);
        return -1;
    }
    if (strcmp(attr, c->name) != 0) {
        snprintf(err, errlen, "MIL: const %s has name attribute %s", c->name, attr);
        return -1;
    }
    const char *val = p + used + 6;
    size_t len = strlen(val);
    if (len < 2 || strcmp(val + len - 2, "];") != 0 || len - 2 >= sizeof c->val) {
        snprintf(err, errlen, "MIL: const %s does not end with ];", c->name);
        return -1;
    }
    memcpy(c->val, val, len - 2);
    char prefix[NAME + 16];
    snprintf(prefix, sizeof prefix, "%s(", c->type);
    if (strncmp(c->val, prefix, strlen(prefix)) != 0) {
        snprintf(err, errlen, "MIL: const %s: value type does not match %s", c->name, c->type);
        return -1;
    }
    if (strstr(c->val, "BLOBFILE")) {
        /* tensor<fp16, [R, C, 1, 1]>(BLOBFILE(path=STRING("..."), offset=UINT64(N))) */
        int a = 0, b = 0;
        if (sscanf(c->val, "tensor<fp16, [%d, %d, 1, 1]>(BLOBFILE(path=%n", &c->rows, &c->cols, &a) != 2 ||
            a == 0 || !(b = scan_string(m, c->val + a, c->path, sizeof c->path))) {
            snprintf(err, errlen, "MIL: malformed BLOBFILE path in const %s", c->name);
            return -1;
        }
        const char *rest = c->val + a + b;
        char want[64];
        snprintf(want, sizeof want, ", offset=%s(", m->d->uint64_t_);
        int e = 0;
        if (strncmp(rest, want, strlen(want)) != 0 ||
            sscanf(rest + strlen(want), "%llu)))%n", &c->offset, &e) != 1 || rest[strlen(want) + e] != '\0') {
            snprintf(err, errlen, "MIL: malformed BLOBFILE offset in const %s", c->name);
            return -1;
        }
        c->is_blob = 1;
    }
    for (int i = 0; i < m->nconsts; i++)
        if (strcmp(m->consts[i].name, c->name) == 0) {
            snprintf(err, errlen, "MIL: %s defined twice", c->name);
            return -1;
        }
    m->nconsts++;
    return 0;
}

static int set_arg(mil_conv *v, const char *key, const char *value)
{
    struct { const char *key; char *dst; } slots[] = {
        {"dilations", v->arg_dilations}, {"groups", v->arg_groups}, {"pad", v->arg_pad},
        {"pad_type", v->arg_pad_type}, {"strides", v->arg_strides}, {"weight", v->weight},
        {"x", v->x},
    };
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        if (strcmp(slots[i].key, key) != 0) continue;
        if (slots[i].dst[0] || strlen(value) >= NAME) return -1;
        strcpy(slots[i].dst, value);
        return 0;
    }
    return -1;
}

static int parse_conv(mil_program *m, const char *line, char *err, size_t errlen)
{
    mil_conv *v = &m->convs[m->nconvs];
    char args[512], opname[NAME];
    int c = 0, s = 0, n = 0;
    memset(v, 0, sizeof *v);
    int k = 0;
    if (sscanf(line, "tensor<fp16, [1, %d, 1, %d]> %63[A-Za-z0-9_] = conv(%511[^)])[name=%n",
               &c, &s, v->out, args, &k) != 4 || k == 0 ||
        !(n = scan_string(m, line + k, opname, sizeof opname)) || strcmp(line + k + n, "];") != 0) {
        snprintf(err, errlen, "MIL: malformed conv: %.120s", line);
        return -1;
    }
    if (c != m->C || s != m->S) {
        snprintf(err, errlen, "MIL: conv %s is [1, %d, 1, %d], the input is [1, %d, 1, %d]", v->out,
                 c, s, m->C, m->S);
        return -1;
    }
    char *save = NULL;
    for (char *kv = strtok_r(args, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) goto bad;
        *eq = '\0';
        if (set_arg(v, kv, eq + 1)) goto bad;
    }
    if (!v->arg_dilations[0] || !v->arg_groups[0] || !v->arg_pad[0] || !v->arg_pad_type[0] ||
        !v->arg_strides[0] || !v->weight[0] || !v->x[0])
        goto bad;
    m->nconvs++;
    return 0;
bad:
    snprintf(err, errlen, "MIL: conv %s: bad or missing arguments", v->out);
    return -1;
}

static int parse_lines(mil_program *m, char *text, char *err, size_t errlen)
{
    char *save = NULL;
    int saw_program = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ') line++;
        int n = 0;
        if (m->nconsts >= MAX_VALUES || m->nconvs >= MAX_VALUES) {
            snprintf(err, errlen, "MIL: program too large for the fake");
            return -1;
        }
        if (strncmp(line, "program(", 8) == 0) {
            for (size_t d = 0; d < sizeof dialects / sizeof dialects[0]; d++)
                if (strcmp(line, dialects[d].version) == 0) m->d = &dialects[d];
            if (!m->d || saw_program++) {
                snprintf(err, errlen, "MIL: unsupported program line: %.60s", line);
                return -1;
            }
        } else if (!m->d) {
            snprintf(err, errlen, "MIL: the program line must come first");
            return -1;
        } else if (strncmp(line, "[buildInfo = ", 13) == 0 || strcmp(line, "{") == 0 ||
                   strcmp(line, "}") == 0) {
            continue;
        } else if (strncmp(line, "func ", 5) == 0) {
            char target[16] = "";
            if (sscanf(line, "func main<%15[a-z0-9]>(tensor<fp16, [1, %d, 1, %d]> %63[A-Za-z0-9_]) {%n",
                       target, &m->C, &m->S, m->input, &n) != 4 || line[n] != '\0' || m->C <= 0 ||
                m->S <= 0 || strcmp(target, m->d->target) != 0) {
                snprintf(err, errlen, "MIL: unsupported function signature for %s: %.120s",
                         m->d->version, line);
                return -1;
            }
        } else if (strstr(line, " = const()")) {
            if (parse_const(m, line, err, errlen)) return -1;
        } else if (strstr(line, " = conv(")) {
            if (parse_conv(m, line, err, errlen)) return -1;
        } else if (sscanf(line, "} -> (%63[A-Za-z0-9_]);%n", m->output, &n) == 1 && line[n] == '\0') {
            continue;
        } else {
            snprintf(err, errlen, "MIL: unrecognised line: %.120s", line);
            return -1;
        }
    }
    if (!saw_program || !m->input[0] || !m->output[0] || m->nconvs == 0) {
        snprintf(err, errlen, "MIL: need a program line, func main, at least one conv and a return");
        return -1;
    }
    return 0;
}

/* Each conv argument must name a const holding exactly the value Experiment I uses. */
static int check_const_arg(const mil_program *m, const char *conv, const char *arg,
                           const char *want, char *err, size_t errlen)
{
    const mil_const *c = find_const(m, arg);
    if (!c || strcmp(c->val, want) != 0) {
        snprintf(err, errlen, "MIL: conv %s: %s is %s, expected %s", conv, arg,
                 c ? c->val : "undefined", want);
        return -1;
    }
    return 0;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read one conv's C x C weights from the chunk its BLOBFILE offset points at. */
static int read_weights(const mil_const *w, int C, int nblobs, fake_weight_lookup lookup,
                        void *ctx, float *dst, char *err, size_t errlen)
{
    size_t len = 0;
    const uint8_t *blob = lookup(ctx, w->path, &len);
    size_t want = (size_t)C * (size_t)C * 2;
    if (!blob) {
        snprintf(err, errlen, "weights: no file %s", w->path);
        return -1;
    }
    if (len < 64 || get_u32(blob + 4) != 2 || get_u32(blob) != (uint32_t)nblobs) {
        snprintf(err, errlen, "weights: %s: bad file header (count %u, version %u; %d blobs used)",
                 w->path, len >= 8 ? get_u32(blob) : 0, len >= 8 ? get_u32(blob + 4) : 0, nblobs);
        return -1;
    }
    if (w->offset % 64 || w->offset + 64 > len) {
        snprintf(err, errlen, "weights: %s offset %llu outside the file", w->name, w->offset);
        return -1;
    }
    const uint8_t *h = blob + w->offset;
    uint32_t data_off = get_u32(h + 16);
    /* size and data offset are 64-bit fields: their high halves must be zero here */
    if (get_u32(h) != 0xDEADBEEFu || get_u32(h + 4) != 1 || get_u32(h + 8) != want ||
        get_u32(h + 12) != 0 || get_u32(h + 20) != 0 ||
        data_off % 64 || data_off < w->offset + 64 || (size_t)data_off + want > len) {
        snprintf(err, errlen, "weights: %s: bad chunk header at %llu (magic %08x, type %u, "
                 "size %u, data at %u)", w->name, w->offset, get_u32(h), get_u32(h + 4),
                 get_u32(h + 8), data_off);
        return -1;
    }
    for (size_t i = 0; i < (size_t)C * (size_t)C; i++)
        dst[i] = fake_half_to_float((uint16_t)(blob[data_off + 2 * i] | blob[data_off + 2 * i + 1] << 8));
    return 0;
}

/* The convs must form one chain from the input to the returned value. */
/* How many BLOBFILEs read the file at path: the count its header must hold. */
static int blobs_in(const mil_program *m, const char *path)
{
    int n = 0;
    for (int i = 0; i < m->nconsts; i++) n += m->consts[i].is_blob && strcmp(m->consts[i].path, path) == 0;
    return n;
}

static int link_program(const mil_program *m, fake_weight_lookup lookup, void *ctx,
                        fake_program *p, char *err, size_t errlen)
{
    p->channels = m->C;
    p->spatial = m->S;
    p->layers = m->nconvs;
    p->weights = malloc(sizeof(float) * (size_t)m->nconvs * (size_t)m->C * (size_t)m->C);
    if (!p->weights) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *prev = m->input;
    for (int i = 0; i < m->nconvs; i++) {
        const mil_conv *v = &m->convs[i];
        if (strcmp(v->x, prev) != 0) {
            snprintf(err, errlen, "MIL: conv %s reads %s, expected %s", v->out, v->x, prev);
            return -1;
        }
        char valid[64], one[64];
        snprintf(valid, sizeof valid, "%s(\"valid\")", m->d->string_t);
        snprintf(one, sizeof one, "%s(1)", m->d->int32_t_);
        if (check_const_arg(m, v->out, v->arg_pad_type, valid, err, errlen) ||
            check_const_arg(m, v->out, v->arg_strides, "tensor<int32, [2]>([1,1])", err, errlen) ||
            check_const_arg(m, v->out, v->arg_pad, "tensor<int32, [4]>([0,0,0,0])", err, errlen) ||
            check_const_arg(m, v->out, v->arg_dilations, "tensor<int32, [2]>([1,1])", err, errlen) ||
            check_const_arg(m, v->out, v->arg_groups, one, err, errlen))
            return -1;
        const mil_const *w = find_const(m, v->weight);
        if (!w || !w->is_blob || w->rows != m->C || w->cols != m->C) {
            snprintf(err, errlen, "MIL: conv %s: weight %s is not a [%d, %d, 1, 1] BLOBFILE", v->out,
                     v->weight, m->C, m->C);
            return -1;
        }
        if (read_weights(w, m->C, blobs_in(m, w->path), lookup, ctx,
                         p->weights + (size_t)i * m->C * m->C, err, errlen))
            return -1;
        prev = v->out;
    }
    if (strcmp(m->output, prev) != 0) {
        snprintf(err, errlen, "MIL: returns %s, the last conv writes %s", m->output, prev);
        return -1;
    }
    return 0;
}

int fake_program_parse(const char *mil, fake_weight_lookup lookup, void *ctx, fake_program *p,
                       char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    mil_program *m = calloc(1, sizeof *m);
    char *text = strdup(mil);
    int rc = -1;
    if (!m || !text) snprintf(err, errlen, "out of memory");
    else if (parse_lines(m, text, err, errlen) == 0) rc = link_program(m, lookup, ctx, p, err, errlen);
    if (rc) fake_program_free(p);
    free(text);
    free(m);
    return rc;
}

void fake_program_free(fake_program *p)
{
    free(p->weights);
    p->weights = NULL;
}

int fake_program_run(const fake_program *p, const uint16_t *in, uint16_t *out)
{
    size_t C = (size_t)p->channels, S = (size_t)p->spatial;
    float *x = malloc(sizeof(float) * C * S), *y = malloc(sizeof(float) * C * S);
    if (!x || !y) {
        free(x);
        free(y);
        return -1;
    }
    for (size_t i = 0; i < C * S; i++) x[i] = fake_half_to_float(in[i]);
    for (int l = 0; l < p->layers; l++) {
        const float *w = p->weights + (size_t)l * C * C;
        for (size_t o = 0; o < C; o++)
            for (size_t s = 0; s < S; s++) {
                float acc = 0.0f;
                for (size_t i = 0; i < C; i++) acc += w[o * C + i] * x[i * S + s];
                y[o * S + s] = fake_half_to_float(fake_float_to_half(acc)); /* fp16 tensor */
            }
        float *t = x;
        x = y;
        y = t;
    }
    for (size_t i = 0; i < C * S; i++) out[i] = fake_float_to_half(x[i]);
    free(x);
    free(y);
    return 0;
}

float fake_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | man << 13;
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | man << 13;
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400));
        bits = sign | (uint32_t)(112 - e) << 23 | (man & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t fake_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
    if (absx >= 0x477ff000u) return sign | 0x7c00; /* rounds past 65504 */
    if (absx < 0x38800000u) { /* subnormal or zero in fp16 */
        if (absx < 0x33000000u) return sign; /* below half the smallest subnormal */
        uint32_t man = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23);
        uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t q = absx - 0x38000000u; /* rebias exponent: 127 -> 15 */
    uint32_t rem = q & 0x1fff;
    q >>= 13;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return sign | (uint16_t)q;
}
