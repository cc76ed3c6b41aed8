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

/* Compile options (bits).  The ANE's non-standard eval paths to set up are each probed with
 * one eval right after compile (a failed probe makes that path unsupported, with the reason). */
#define ANETHRU_OPT_ANE_REALTIME 1   /* ANE: _ANEClient evaluateRealTimeWithModel:options:request:error: */
#define ANETHRU_OPT_CUDA_MAPPED 2    /* CUDA: inputs/outputs in mapped pinned host memory */
#define ANETHRU_OPT_ANE_DIRECT 4     /* ANE: _ANEClient doEvaluateDirectWithModel:options:request:qos:error: */

/* What a correctness check writes into an output before the eval it checks: an fp16 NaN whose
 * payload no conv of finite values produces, so a value still holding it was not written. */
#define ANETHRU_POISON_FP16 0x7d5a

/* Eval paths (anethru_chain_set_eval_path). */
#define ANETHRU_EVAL_STANDARD 0      /* the backend's ordinary eval */
#define ANETHRU_EVAL_REALTIME 1      /* needs ANETHRU_OPT_ANE_REALTIME at open */
#define ANETHRU_EVAL_DIRECT 2        /* needs ANETHRU_OPT_ANE_DIRECT at open */
#define ANETHRU_NEVAL_PATHS 3

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
/* 1 if the backend at `index` is for tests only (never picked by "auto"; see backend.h). */
int anethru_backend_test_only(int index);
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
/* The chain's number, unique in this process (backends see it as anethru_kernel_spec.chain_id). */
uint64_t anethru_chain_id(anethru_chain *chain);
/* The clock this chain's timed blocks are read with (a backend's own clock, or
 * anethru_clock_name()). */
const char *anethru_chain_clock_name(anethru_chain *chain);
/* 1 if `test` can run on this chain; else 0, with the reason in `why`. */
int anethru_chain_supports(anethru_chain *chain, int test, char *why, size_t whylen);

/* From now on evaluate every kernel of the chain (and its chained program) through `path`
 * (ANETHRU_EVAL_*); switched between measurements, never during one.  On failure nothing
 * changes: ANETHRU_E_UNSUPPORTED with the reason (the framework's message from the probe). */
int anethru_chain_set_eval_path(anethru_chain *chain, int path, anethru_status *st);
/* The program form the backend compiled the chain's kernels (chained == 0) or its chained
 * program (chained != 0) as, and one line per form it tried first and the framework rejected.
 * 1 if the backend has forms (form and rejected are filled), 0 if not. */
int anethru_chain_form(anethru_chain *chain, int chained, char *form, size_t formlen,
                       char *rejected, size_t rejectedlen);
/* What a backend learned in this process that a user should know ("" when nothing), e.g. a
 * program form it had to fall back from.  ANETHRU_E_UNSUPPORTED if it keeps no notes. */
int anethru_backend_notes(const char *name, char *buf, size_t buflen);

/* Write `input` (C*S fp16) into kernel 0's input, run one pass of `test` (sequential or
 * chained), read the last output into `output`. */
int anethru_chain_roundtrip(anethru_chain *chain, int test, const uint16_t *input,
                            uint16_t *output, anethru_status *st);

/* Warm up every test named in `schedule` (warmup untimed passes each, in first-appearance
 * order), then run nblocks timed blocks: block b runs iters[schedule[b]] passes of test
 * schedule[b], exactly, and stores its total in block_ns[b].  The caller chooses the passes
 * (the package by one rule, anethru/measure/calibration.py, from a block of one pass timed
 * here).  The first failure stops the run. */
int anethru_chain_measure(anethru_chain *chain, const int *schedule, int nblocks,
                          const int *iters, int warmup, uint64_t *block_ns, anethru_status *st);

/* Single passes, each timed alone (issue 19: the round trip from per-pass pairs): tests[i] is a
 * test id, run as one pass; wall_ns[i] is its time on the chain's clock and, when cpu_ns is not
 * NULL, cpu_ns[i] its time on the calling thread's CPU clock (CLOCK_THREAD_CPUTIME_ID: what the
 * thread itself spent, not the time it was descheduled).  The caller draws the order (sequential
 * and run_only alternated in a seeded random order); nothing runs before the first pass, so
 * warm-up is the caller's.  The first failure stops the run (st->block = the pass index). */
int anethru_chain_measure_passes(anethru_chain *chain, const int *tests, int npasses,
                                 uint64_t *wall_ns, uint64_t *cpu_ns, anethru_status *st);
uint64_t anethru_thread_cpu_ns(void);
const char *anethru_thread_cpu_clock_name(void);

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

/* CUDA backend: the conv kernel variant chosen last in this process for channels x spatial
 * (mapped: 1 for ANETHRU_OPT_CUDA_MAPPED chains), how, and what tuning found. */
typedef struct {
    char kernel[48];      /* the variant's name (what ANETHRU_CUDA_KERNEL takes) */
    int forced;           /* 1: named by ANETHRU_CUDA_KERNEL, nothing timed */
    int serial;           /* 1, 2, ...: when this choice was made among the process's choices */
    double tuning_ms;     /* wall time spent timing the candidates (0 when nothing was timed) */
    char detail[1024];    /* per candidate: "name 3.21 us" or "name: skipped, why"; "; "-joined */
} anethru_cuda_choice;
/* ANETHRU_OK and the record, or ANETHRU_E_ARG if no kernel of that shape was compiled. */
int anethru_cuda_kernel_choice(int channels, int spatial, int mapped, anethru_cuda_choice *out);
/* How many choices this process has made so far (compare before and after a compile to tell
 * a fresh choice from a cached one). */
int anethru_cuda_choices_made(void);
/* The virtual backend (tests only, csrc/virtual/virtual_backend.c): the cpu backend's numerics with a
 * virtual clock that each operation advances by a fixed cost in ns, and a trace of every
 * operation. */
typedef struct {
    uint64_t eval;       /* one eval of a one-kernel program */
    uint64_t lock;       /* one lock of a buffer */
    uint64_t unlock;     /* one unlock */
    uint64_t copy_byte;  /* each byte the harness copies between two kernels' buffers */
    uint64_t handoff;    /* extra, per eval made on a thread other than the clock's reader */
    uint64_t chained;    /* one eval of the chained program */
    uint64_t null_eval;  /* one submission of no work */
} anethru_virtual_costs;

#define ANETHRU_TRACE_CLOCK 0      /* the harness read the clock */
#define ANETHRU_TRACE_EVAL 1
#define ANETHRU_TRACE_EVAL_NULL 2
#define ANETHRU_TRACE_LOCK 3
#define ANETHRU_TRACE_UNLOCK 4
#define ANETHRU_TRACE_COPY 5

typedef struct {
    int op;             /* ANETHRU_TRACE_* */
    int kernel;         /* position in the chain; -1: the chained program (or none: a clock read) */
    int port;           /* lock, unlock: 0 input, 1 output; copy: the destination's; else -1 */
    int flags;          /* lock, unlock: 0 read-write, 1 read-only; else -1 */
    int src_kernel;     /* copy: the kernel read from; else -1 */
    int src_port;       /* copy: the port read from (-1: not a locked buffer); else -1 */
    uint64_t bytes;     /* copy: bytes copied; else 0 */
    uint64_t thread;    /* native id of the calling thread (Python's threading.get_native_id()) */
    uint64_t clock_ns;  /* the chain's virtual clock after the operation */
} anethru_trace_entry;

/* Costs (NULL: the defaults) and trace capacity (entries; 0: no trace) for the virtual chains
 * opened from now on; a chain keeps what was set when it was opened. */
void anethru_virtual_set_costs(const anethru_virtual_costs *costs, long trace_capacity);
/* Copy entries [start, start + cap) of the trace of chain `chain_id` into out; returns how
 * many entries the trace holds (-1: no virtual chain has this id).  *dropped (may be NULL)
 * gets how many operations found the trace full. */
long anethru_virtual_trace(uint64_t chain_id, long start, anethru_trace_entry *out, long cap,
                           long *dropped);
void anethru_virtual_trace_clear(uint64_t chain_id);

/* ANE program forms (csrc/ane/forms/ane_forms.c: plain C, in every build): exactly the MIL text and
 * weight files the ANE backend hands the framework, in the order it tries them. */
typedef struct {
    char *path;          /* as the MIL names it, e.g. "@model_path/weights/weight.bin" */
    uint8_t *data;
    size_t size;
} anethru_ane_file;

typedef struct {
    const char *form;    /* "ios16", "ios18"; layers > 1: "ios16-files", "ios16-onefile", ... */
    char *mil;           /* the MIL text, NUL-terminated UTF-8 */
    int nfiles;
    anethru_ane_file *files;
} anethru_ane_program;

int anethru_ane_form_count(int layers);
const char *anethru_ane_form_name(int layers, int index);
/* Form `index` of a program of `layers` convs of C x C (weights: layers * C * C fp16,
 * [layer][out][in]); NULL for bad arguments or without memory.  Free with _free. */
anethru_ane_program *anethru_ane_program_new(int index, int channels, int spatial, int layers,
                                             const uint16_t *weights);
void anethru_ane_program_free(anethru_ane_program *program);

/* The private classes the ANE backend looks up (csrc/ane/forms/ane_classes.c, every build); the optional
 * one (_ANEClient) is needed only by the realtime and direct eval paths. */
int anethru_ane_class_count(void);
const char *anethru_ane_class_name(int index);
int anethru_ane_class_required(int index);

/* ANE bring-up one step at a time, for `anethru doctor` (csrc/ane/ane_bringup.m).  A session
 * holds what the steps made (models, surfaces, temp directories) until it is closed; each step
 * returns ANETHRU_OK or a code, with a one-line message either way.  Builds without the ANE
 * runtime answer every step with ANETHRU_E_UNAVAILABLE and the reason. */
#define ANETHRU_ANE_STEP_PLATFORM 0       /* macOS on Apple Silicon, an arm64 process */
#define ANETHRU_ANE_STEP_FRAMEWORK 1      /* dlopen of AppleNeuralEngine.framework */
#define ANETHRU_ANE_STEP_CLASS 2          /* arg: class index */
#define ANETHRU_ANE_STEP_SELECTORS 3      /* respondsToSelector:; arg 0: required classes, 1: _ANEClient */
#define ANETHRU_ANE_STEP_TMPDIR 4         /* a private directory in NSTemporaryDirectory() */
#define ANETHRU_ANE_STEP_DESCRIPTOR 5     /* arg: 1-layer form index */
#define ANETHRU_ANE_STEP_COMPILE 6        /* arg: 1-layer form index */
#define ANETHRU_ANE_STEP_LOAD 7           /* arg: 1-layer form index */
#define ANETHRU_ANE_STEP_SURFACES 8       /* for the first form that loaded */
#define ANETHRU_ANE_STEP_REQUEST 9
#define ANETHRU_ANE_STEP_EVAL 10
#define ANETHRU_ANE_STEP_IDENTITY 11      /* output == input, bit for bit */
#define ANETHRU_ANE_STEP_CHAINED 12       /* arg: chained form index; compile to identity check */
#define ANETHRU_ANE_STEP_REALTIME 13      /* one realtime eval, checked */
#define ANETHRU_ANE_STEP_DIRECT 14        /* one direct eval, checked */
#define ANETHRU_ANE_STEP_COMPILES_LEFT 15
#define ANETHRU_ANE_STEP_SHAPE 16         /* no 1-layer form compiled: does 512x64 compile? */
#define ANETHRU_ANE_KNOWN_CHANNELS 512    /* the one channel count an M3 Pro compiled */
#define ANETHRU_ANE_KNOWN_SPATIAL 64
typedef struct anethru_ane_bringup anethru_ane_bringup;
/* A session for kernels of C x S and a chained program of `layers` convs; NULL without memory. */
anethru_ane_bringup *anethru_ane_bringup_open(int channels, int spatial, int layers);
int anethru_ane_bringup_step(anethru_ane_bringup *session, int step, int arg, char *msg,
                             size_t msglen);
void anethru_ane_bringup_close(anethru_ane_bringup *session);

/* CUDA bring-up one step at a time, for `anethru doctor --backend cuda` (csrc/cuda/cuda_bringup.c):
 * the steps the backend takes to load the driver (the same code), each on its own, then the
 * backend's kernel code (csrc/cuda/cuda_chain.c): one launch, the conv variant the tuner picks,
 * a graph of `layers` launches of it, the identity check.  A session holds what the steps made
 * (a reference to the primary context, modules, the kernel's stream, buffers and graph) until
 * it is closed, which undoes it all; the driver library stays loaded once cuInit
 * succeeded.  Each step returns ANETHRU_OK or a code, with a one-line message either way (the
 * driver's error name and text, the entry point that failed); messages about the fake driver of
 * the tests begin with SIMULATED. */
#define ANETHRU_CUDA_STEP_LIBRARY 0       /* dlopen, the file it found, cuDriverGetVersion */
#define ANETHRU_CUDA_STEP_ENTRY_POINTS 1  /* dlsym of each entry point (a missing one is named) */
#define ANETHRU_CUDA_STEP_INIT 2          /* cuInit(0) */
#define ANETHRU_CUDA_STEP_DEVICE 3        /* device count; device 0's name, compute capability */
#define ANETHRU_CUDA_STEP_CONTEXT 4       /* device 0's primary context, made current */
#define ANETHRU_CUDA_STEP_MODULE 5        /* arg: PTX module index (see anethru_cuda_module_sm) */
#define ANETHRU_CUDA_STEP_LAUNCH 6        /* the kernel's buffers, one FMA conv launch + sync */
#define ANETHRU_CUDA_STEP_GRAPH 7         /* the variant's chain captured into a graph, run */
#define ANETHRU_CUDA_STEP_IDENTITY 8      /* the graph's output == its input, bit for bit */
#define ANETHRU_CUDA_STEP_VARIANT 9       /* the tuner's conv variant for C x S (before GRAPH) */
/* The embedded PTX modules: how many, and the compute capability (x 10) each targets. */
int anethru_cuda_module_count(void);
int anethru_cuda_module_sm(int index);
typedef struct anethru_cuda_bringup anethru_cuda_bringup;
/* A session for C x S and a graph of `layers` (2..64) launches; NULL for bad sizes or without
 * memory. */
anethru_cuda_bringup *anethru_cuda_bringup_open(int channels, int spatial, int layers);
int anethru_cuda_bringup_step(anethru_cuda_bringup *session, int step, int arg, char *msg,
                              size_t msglen);
void anethru_cuda_bringup_close(anethru_cuda_bringup *session);
/* CDEF-END */

#endif
