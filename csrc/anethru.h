/* anethru.h -- the native API that Python calls through cffi.
 *
 * Everything between the CDEF-BEGIN and CDEF-END markers is read by anethru/_build.py as the cffi
 * cdef, so it must stay plain declarations (no #include, no #if, no macros with values other
 * than constants).
 */
#ifndef ANETHRU_H
#define ANETHRU_H

#include <stddef.h>
#include <stdint.h>

/* CDEF-BEGIN */
#define ANETHRU_ERRLEN 512

/* Status codes; anethru/errors.py maps each to one exception class. */
#define ANETHRU_OK 0
#define ANETHRU_E_ARG 1          /* a bad argument reached native code */
#define ANETHRU_E_UNAVAILABLE 2  /* backend not usable on this machine */
#define ANETHRU_E_UNSUPPORTED 3  /* backend cannot do this (e.g. chain kernels) */
#define ANETHRU_E_NOMEM 4        /* an allocation failed */
#define ANETHRU_E_COMPILE 5      /* compiling or loading a kernel failed */
#define ANETHRU_E_EVAL 6         /* an eval reported failure */
#define ANETHRU_E_LOCK 7         /* a buffer lock or unlock failed */
#define ANETHRU_E_LIMIT 8        /* a per-process limit of the backend would be exceeded */
#define ANETHRU_E_INTERNAL 9     /* an unexpected native failure (e.g. a caught exception) */
#define ANETHRU_E_INTERRUPTED 10 /* SIGINT arrived while anethru_interrupt_arm was in force */

/* Tests, in the order reports list them. */
#define ANETHRU_TEST_SEQUENTIAL 0    /* eval k_i, lock/memcpy/unlock into k_{i+1}, ... */
#define ANETHRU_TEST_RUN_ONLY 1      /* eval k_0 .. k_{N-1}, nothing between */
#define ANETHRU_TEST_MEMCPY_ONLY 2   /* lock/memcpy/unlock between neighbours, no eval */
#define ANETHRU_TEST_SERIAL_QUEUE 3  /* the N evals posted to a serial queue, wait for the last */
#define ANETHRU_TEST_CHAINED 4       /* one submission of the whole chain, no CPU in between */
#define ANETHRU_TEST_NULL_EVAL 5     /* N submissions of no work: the dispatch floor */
#define ANETHRU_NTESTS 6

/* Compile options (bits). */
#define ANETHRU_OPT_ANE_REALTIME 1   /* ANE: evaluate via _ANEClient evaluateRealTimeWithModel: */

typedef struct {
    int code;       /* ANETHRU_OK or ANETHRU_E_* */
    int test;       /* the test that failed, or -1 */
    int block;      /* the timed block that failed, -1 for compile, check or warm-up */
    int kernel;     /* the kernel index that failed, or -1 */
    char message[512];
} anethru_status;

typedef struct anethru_chain anethru_chain;

int anethru_backend_count(void);
const char *anethru_backend_name(int index);
/* ANETHRU_OK if the backend is usable; else the code, with the reason in st->message. */
int anethru_backend_probe(const char *name, anethru_status *st);
int anethru_backend_describe(const char *name, char *buf, size_t buflen);

/* Compile `kernels` kernels of C x S (weights: kernels * C * C fp16, [kernel][out][in]).
 * with_chained != 0 also compiles the whole chain as one unit; a backend that cannot chain
 * leaves the chain usable and says why through anethru_chain_supports. */
int anethru_chain_open(const char *backend, int channels, int spatial, int kernels,
                       const uint16_t *weights, unsigned options, int with_chained,
                       anethru_chain **out, anethru_status *st);
void anethru_chain_close(anethru_chain *chain);
/* 1 if `test` can run on this chain; else 0, with the reason in `why`. */
int anethru_chain_supports(anethru_chain *chain, int test, char *why, size_t whylen);

/* Write `input` (C*S fp16) into kernel 0's input, run one pass of `test` (sequential or
 * chained), read the last output into `output`. */
int anethru_chain_roundtrip(anethru_chain *chain, int test, const uint16_t *input,
                            uint16_t *output, anethru_status *st);

/* Warm up every test named in `schedule` (warmup passes each, in first-appearance order), then
 * run nblocks timed blocks: block b runs iters[schedule[b]] passes of test schedule[b] and
 * stores its total in block_ns[b].  If max_block_ns > 0, iters[t] is an upper bound instead:
 * the warm-up's pass time lowers it (to no less than 1) so that a block of test t lasts at most
 * about max_block_ns, and the count used is written back into iters[t] (with warmup == 0, one
 * untimed pass is run to calibrate).  The first failure stops the run. */
int anethru_chain_measure(anethru_chain *chain, const int *schedule, int nblocks, int *iters,
                          int warmup, uint64_t max_block_ns, uint64_t *block_ns,
                          anethru_status *st);

/* Ctrl-C during a measurement.  A Python signal handler cannot run while the main thread is in
 * native code, so the caller arms a native SIGINT handler around anethru_chain_measure: it only
 * records the signal (whichever thread receives it), and the measure loop of the thread that
 * armed it stops before its next pass with ANETHRU_E_INTERRUPTED.  arm returns 1 when armed, 0
 * when SIGINT is ignored (SIG_IGN stays in force) or already armed.  disarm restores the previous
 * handler exactly and returns 1 if a SIGINT arrived meanwhile (the caller re-raises it). */
int anethru_interrupt_arm(void);
int anethru_interrupt_disarm(void);

uint64_t anethru_clock_ns(void);
const char *anethru_clock_name(void);
/* Chains and kernels alive in this process (for leak tests). */
int anethru_live_chains(void);
int anethru_live_kernels(void);

/* CPU backend: test hooks and counters. */
#define ANETHRU_FAULT_NONE 0
#define ANETHRU_FAULT_EVAL 1      /* eval of kernel `kernel` fails on its (after+1)-th call */
#define ANETHRU_FAULT_WRONG 2     /* kernel `kernel` corrupts one output element */
#define ANETHRU_FAULT_COMPILE 3   /* the (kernel+1)-th compile from now fails */
#define ANETHRU_FAULT_LOCK 4      /* lock of kernel `kernel` fails on its (after+1)-th call */
void anethru_cpu_inject_fault(int kind, int kernel, long after);
int anethru_cpu_live_buffers(void);
/* Which CPU kernel the build and this processor selected ("avx2-fma-f16c" or "portable"). */
const char *anethru_cpu_kernel_variant(void);
/* CDEF-END */

#endif
