/* vtable_check.c -- drives anethru_cuda_backend's vtable directly (no harness, no Python), so
 * tests/test_cuda.py can check the contract calls one by one against the fake driver.
 * Built by the test with csrc/cuda/cuda_backend.c and its helpers; prints key=value lines.
 * VTABLE_MAPPED=1 in the environment compiles every kernel with ANETHRU_OPT_CUDA_MAPPED.
 *
 *   vtable_check probe
 *   vtable_check run C S LAYERS IN OUT      one kernel of LAYERS convs: IN holds the weights then
 *                                            the input (fp16), OUT receives the output
 *   vtable_check seq C S N IN OUT           N one-layer kernels chained by lock/memcpy/unlock
 *   vtable_check locks                      lock discipline, one line per call
 *   vtable_check thread                     compile here, eval and eval_null on another thread
 *   vtable_check evals C S LAYERS COUNT     COUNT evals, stops at the first failure
 *   vtable_check compile C S LAYERS         compile only (weights all zero), then the tuner's
 *                                            record for C x S
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

extern const anethru_backend anethru_cuda_backend;
static const anethru_backend *B = &anethru_cuda_backend;

/* Live objects in the fake driver: the same library the backend loaded (dlopen shares it). */
static void print_live(void)
{
    const char *path = getenv("ANETHRU_CUDA_LIBRARY");
    void *lib = path ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    int (*live)(void) = lib ? (int (*)(void))dlsym(lib, "fake_cuda_live_objects") : NULL;
    printf("live=%d\n", live ? live() : -1);
}

static uint16_t *read_file(const char *path, size_t n)
{
    uint16_t *buf = malloc(n * 2);
    FILE *f = fopen(path, "rb");
    if (!buf || !f || fread(buf, 2, n, f) != n) {
        fprintf(stderr, "cannot read %zu halves from %s\n", n, path);
        exit(2);
    }
    fclose(f);
    return buf;
}

static void write_file(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) exit(2);
    fclose(f);
}

static char err[ANETHRU_ERRLEN];

#define CHECK(call)                                                         \
    do {                                                                    \
        int rc_ = (call);                                                   \
        if (rc_ != ANETHRU_OK) {                                            \
            printf("failed=%s\nrc=%d\nerror=%s\n", #call, rc_, err);        \
            return 1;                                                       \
        }                                                                   \
    } while (0)

static void *compile(int c, int s, int layers, const uint16_t *w, int *rc)
{
    const char *mapped = getenv("VTABLE_MAPPED");
    anethru_kernel_spec spec = {c, s, layers, w, mapped && *mapped == '1' ? ANETHRU_OPT_CUDA_MAPPED : 0};
    void *k = NULL;
    *rc = B->compile(&spec, &k, err, sizeof err);
    return k;
}

static int cmd_probe(void)
{
    char desc[256] = "";
    int rc = B->probe(err, sizeof err);
    printf("probe=%d\nreason=%s\n", rc, rc ? err : "");
    int drc = B->describe(desc, sizeof desc);
    printf("describe_rc=%d\ndescribe=%s\n", drc, desc);
    uint16_t w = 0x3c00;
    int crc;
    void *k = compile(1, 1, 1, &w, &crc);
    printf("compile=%d\ncompile_error=%s\n", crc, crc ? err : "");
    if (k) B->release(k);
    return 0;
}

/* Write `src` into a kernel's input the way the harness does: lock rw, copy, unlock rw. */
static int put_input(void *k, const void *src, size_t bytes)
{
    void *p;
    CHECK(B->lock(k, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, &p, err, sizeof err));
    memcpy(p, src, bytes);
    CHECK(B->unlock(k, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, err, sizeof err));
    return 0;
}

static int get_output(void *k, void *dst, size_t bytes)
{
    void *p;
    CHECK(B->lock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &p, err, sizeof err));
    memcpy(dst, p, bytes);
    CHECK(B->unlock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    return 0;
}

static int cmd_run(int c, int s, int layers, const char *in, const char *out)
{
    size_t wn = (size_t)layers * c * c, xn = (size_t)c * s;
    uint16_t *data = read_file(in, wn + xn), *y = malloc(xn * 2);
    int rc;
    void *k = compile(c, s, layers, data, &rc);
    CHECK(rc);
    if (put_input(k, data + wn, xn * 2) || (rc = B->eval(k, err, sizeof err)) != ANETHRU_OK ||
        get_output(k, y, xn * 2)) {
        printf("rc=%d\nerror=%s\n", rc, err);
        return 1;
    }
    write_file(out, y, xn * 2);
    B->release(k);
    print_live();
    free(data);
    free(y);
    return 0;
}

/* The sequential test's data path: eval k_i, then k_i's output -> k_{i+1}'s input via the CPU. */
static int cmd_seq(int c, int s, int n, const char *in, const char *out)
{
    size_t wn = (size_t)c * c, xn = (size_t)c * s;
    uint16_t *data = read_file(in, n * wn + xn), *y = malloc(xn * 2);
    void **k = calloc((size_t)n, sizeof *k);
    int rc;
    for (int i = 0; i < n; i++) {
        k[i] = compile(c, s, 1, data + i * wn, &rc);
        CHECK(rc);
    }
    if (put_input(k[0], data + n * wn, xn * 2)) return 1;
    for (int i = 0; i < n; i++) {
        CHECK(B->eval(k[i], err, sizeof err));
        if (i == n - 1) break;
        void *src, *dst;
        CHECK(B->lock(k[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &src, err, sizeof err));
        CHECK(B->lock(k[i + 1], ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, &dst, err, sizeof err));
        memcpy(dst, src, xn * 2);
        CHECK(B->unlock(k[i + 1], ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, err, sizeof err));
        CHECK(B->unlock(k[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    }
    if (get_output(k[n - 1], y, xn * 2)) return 1;
    write_file(out, y, xn * 2);
    for (int i = 0; i < n; i++) B->release(k[i]);
    print_live();
    free(k);
    free(data);
    free(y);
    return 0;
}

static int cmd_locks(void)
{
    uint16_t w[4] = {0x3c00, 0, 0, 0x3c00};
    int rc;
    void *k = compile(2, 2, 1, w, &rc), *p = NULL;
    CHECK(rc);
#define SHOW(label, call) printf(label "=%d\n", (call))
    SHOW("lock_out_ro", B->lock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &p, err, sizeof err));
    SHOW("lock_out_ro_nested", B->lock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &p, err, sizeof err));
    SHOW("lock_out_rw_over_ro", B->lock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READWRITE, &p, err, sizeof err));
    SHOW("unlock_out_rw_mismatch", B->unlock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READWRITE, err, sizeof err));
    SHOW("eval_while_locked", B->eval(k, err, sizeof err));
    SHOW("unlock_out_ro", B->unlock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    SHOW("unlock_out_ro_outer", B->unlock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    SHOW("unlock_out_not_locked", B->unlock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    SHOW("lock_bad_port", B->lock(k, 7, ANETHRU_LOCK_READONLY, &p, err, sizeof err));
    SHOW("lock_bad_flags", B->lock(k, ANETHRU_PORT_INPUT, 5, &p, err, sizeof err));
    SHOW("lock_in_rw", B->lock(k, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, &p, err, sizeof err));
    uint16_t x[4] = {0x3c00, 0x4000, 0x4200, 0x4400}; /* 1 2 3 4 */
    memcpy(p, x, sizeof x);
    SHOW("unlock_in_ro_mismatch", B->unlock(k, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    SHOW("unlock_in_rw", B->unlock(k, ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, err, sizeof err));
    SHOW("eval", B->eval(k, err, sizeof err));
    SHOW("lock_out_again", B->lock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, &p, err, sizeof err));
    uint16_t *y = p;
    printf("out=%04x %04x %04x %04x\n", y[0], y[1], y[2], y[3]);
    SHOW("unlock_out_again", B->unlock(k, ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, err, sizeof err));
    B->release(k);
    print_live();
    return 0;
}

static void *eval_on_thread(void *k)
{
    static int rcs[2];
    rcs[0] = B->eval(k, err, sizeof err);
    rcs[1] = B->eval_null(k, err, sizeof err);
    return rcs;
}

static int cmd_thread(void)
{
    uint16_t w = 0x4000; /* 2.0 */
    int rc;
    void *k = compile(1, 1, 1, &w, &rc);
    CHECK(rc);
    pthread_t t;
    void *res;
    pthread_create(&t, NULL, eval_on_thread, k);
    pthread_join(t, &res);
    printf("thread_eval=%d\nthread_eval_null=%d\nerror=%s\n", ((int *)res)[0], ((int *)res)[1],
           err);
    B->release(k);
    print_live();
    return 0;
}

static int cmd_evals(int c, int s, int layers, int count)
{
    uint16_t *w = calloc((size_t)layers * c * c, 2);
    int rc;
    void *k = compile(c, s, layers, w, &rc);
    if (rc != ANETHRU_OK) {
        printf("compile=%d\nerror=%s\n", rc, err);
        print_live();
        return 0;
    }
    int i = 0;
    for (; i < count; i++)
        if ((rc = B->eval(k, err, sizeof err)) != ANETHRU_OK) break;
    printf("evals_ok=%d\nrc=%d\nerror=%s\n", i, rc, rc ? err : "");
    B->release(k);
    print_live();
    free(w);
    return 0;
}

static void print_choice(int c, int s)
{
    const char *mapped = getenv("VTABLE_MAPPED");
    anethru_cuda_choice rec;
    int rc = anethru_cuda_kernel_choice(c, s, mapped && *mapped == '1', &rec);
    printf("choice_rc=%d\n", rc);
    if (rc == ANETHRU_OK)
        printf("kernel=%s\nforced=%d\nserial=%d\ntuning_ms=%.3f\ndetail=%s\n", rec.kernel,
               rec.forced, rec.serial, rec.tuning_ms, rec.detail);
}

static int cmd_compile(int c, int s, int layers)
{
    /* Shapes past a limit would need huge weights; those compiles fail before reading them. */
    size_t n = (size_t)layers * (size_t)c * (size_t)c;
    uint16_t *w = calloc(n < ((size_t)1 << 26) ? n : 1, 2);
    int rc;
    void *k = compile(c, s, layers, w, &rc);
    printf("compile=%d\nerror=%s\n", rc, rc ? err : "");
    if (k) {
        print_choice(c, s);
        B->release(k);
    }
    print_live();
    free(w);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "probe")) return cmd_probe();
    if (!strcmp(cmd, "locks")) return cmd_locks();
    if (!strcmp(cmd, "thread")) return cmd_thread();
    if (!strcmp(cmd, "run") && argc == 7)
        return cmd_run(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5], argv[6]);
    if (!strcmp(cmd, "seq") && argc == 7)
        return cmd_seq(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5], argv[6]);
    if (!strcmp(cmd, "evals") && argc == 6)
        return cmd_evals(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (!strcmp(cmd, "compile") && argc == 5)
        return cmd_compile(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: see vtable_check.c\n");
    return 2;
}
