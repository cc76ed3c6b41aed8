/* backend.h -- the contract between the timing harness (throughput.m) and a backend.
 *
 * A backend compiles "kernels": a chain of `layers` 1x1 convolutions over one fp16 tensor of
 * layout [1, C, 1, S] (channel-first, C*S*2 bytes), with C x C fp16 weights per layer and fp32
 * accumulation.  layers == 1 is one kernel of Experiment I; layers == N is the whole chain
 * submitted as one unit (the `chained` test).  Each kernel owns one input and one output buffer
 * that the CPU reaches only between lock and unlock, as with an IOSurface.
 *
 * Rules every backend keeps:
 *  - Every entry point returns ANETHRU_OK or an ANETHRU_E_* code and, on failure, writes a
 *    NUL-terminated message into err (at most errlen bytes; err may be NULL).
 *  - eval is synchronous: when it returns ANETHRU_OK the output buffer holds the result.
 *  - Nothing escapes: no exception, longjmp or abort crosses these functions.
 *  - No entry point touches Python; the harness calls them from its own threads too
 *    (the serial-queue test evaluates on a worker thread).
 *  - A failed compile leaves nothing allocated.
 */
#ifndef ANETHRU_BACKEND_H
#define ANETHRU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "anethru.h"

/* Which of a kernel's two buffers a lock names. */
enum { ANETHRU_PORT_INPUT = 0, ANETHRU_PORT_OUTPUT = 1 };
/* Lock flags: the same meaning as kIOSurfaceLockReadOnly / 0. */
enum { ANETHRU_LOCK_READWRITE = 0, ANETHRU_LOCK_READONLY = 1 };

typedef struct {
    int channels;             /* C */
    int spatial;              /* S */
    int layers;               /* 1 = one kernel; > 1 = one chained program of `layers` convs */
    const uint16_t *weights;  /* layers * C * C fp16 bit patterns, [layer][out][in] */
    unsigned options;         /* ANETHRU_OPT_* bits */
    /* The chain the kernel belongs to: one non-zero number, unique in the process, for every
     * kernel (and the chained program) that one anethru_chain compiles; 0 = no chain.  A backend
     * may share per-chain state among kernels with the same chain_id (the virtual clock). */
    uint64_t chain_id;
} anethru_kernel_spec;

typedef struct anethru_backend {
    const char *name;         /* "cpu", "ane", "cuda": what users pass as backend= */
    /* ANETHRU_OK if usable on this machine; otherwise a code and one line saying exactly why. */
    int (*probe)(char *err, size_t errlen);
    /* One line naming the device actually used (chip, GPU model); may be NULL. */
    int (*describe)(char *buf, size_t buflen);
    /* Compile and load; ANETHRU_E_UNSUPPORTED (with the reason) if spec->layers > 1 and this
     * backend cannot chain. */
    int (*compile)(const anethru_kernel_spec *spec, void **kernel, char *err, size_t errlen);
    int (*eval)(void *kernel, char *err, size_t errlen);
    int (*lock)(void *kernel, int port, int flags, void **addr, char *err, size_t errlen);
    int (*unlock)(void *kernel, int port, int flags, char *err, size_t errlen);
    void (*release)(void *kernel);
    /* Optional (may be NULL): submit no work and wait for it; the dispatch floor. */
    int (*eval_null)(void *kernel, char *err, size_t errlen);
    /* Optional (NULL: only ANETHRU_EVAL_STANDARD): evaluate this kernel through `path` from
     * now on; ANETHRU_E_UNSUPPORTED with the reason, and no change, when it cannot. */
    int (*set_eval_path)(void *kernel, int path, char *err, size_t errlen);
    /* Optional: the program form this kernel was compiled as, and one line per form the
     * framework rejected before it ("" when the first form compiled). */
    int (*kernel_form)(void *kernel, char *form, size_t formlen, char *rejected,
                       size_t rejectedlen);
    /* Optional: what the backend learned in this process that a user should know ("" when
     * nothing), e.g. a program form it had to fall back from. */
    int (*notes)(char *buf, size_t buflen);

    /* Optional members for the test suite's backend (csrc/virtual/virtual_backend.c); every real
     * backend leaves them 0/NULL. */
    /* Non-zero: a backend for tests only.  backend="auto" never picks it, and anethru.backends()
     * and --list-backends list it only when asked (include_test=True, ANETHRU_TEST_BACKENDS=1). */
    int test_only;
    /* The backend's own clock in ns, read through any kernel of a chain.  When set, the harness
     * reads it instead of anethru_clock_ns() around every timed block (auto iters are
     * calibrated from such a block); clock_name is what results report as their clock. */
    uint64_t (*clock_ns)(void *kernel);
    const char *clock_name;
    /* When set, the harness copies a tensor from one kernel's locked output to the next
     * kernel's locked input (the sequential and memcpy_only tests) with this instead of memcpy,
     * so the backend can cost and record the copy. */
    void (*copy)(void *dst_kernel, void *dst, void *src_kernel, const void *src, size_t bytes);
} anethru_backend;

/* The registry (backends.c). */
const anethru_backend *anethru_backend_at(int index);
const anethru_backend *anethru_backend_find(const char *name);

/* Message helper shared by backends (messages.c): printf into err safely. */
void anethru_set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
