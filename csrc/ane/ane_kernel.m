/* ane_kernel.m -- one ANE program, step by step (see ane_internal.h).
 *
 * The steps are those of research code that ran on real Macs: descriptor from the MIL text
 * and weights, in-memory model, the files written where the compiler reads them, compile,
 * load (retried once after 100 ms, as the research bridge did), one IOSurface per tensor,
 * a request naming them, and evals.  Every private call goes through the typed wrappers of
 * ane_msg.h.
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ane/forms/ane_forms.h"
#include "ane_internal.h"
#include "ane_tmpdir.h"

/* IOSurface allocation granule: M5 needs 128-byte aligned surfaces. */
static const size_t kSurfaceAlign = 128;
/* The research bridge's wait before its one retry of a failed load ("slot reclamation"). */
static const useconds_t kLoadRetryMicros = 100000;

static pthread_mutex_t process_mutex = PTHREAD_MUTEX_INITIALIZER;
static int compiles_done;      /* compileWithQoS: calls made by this process */
static int compiles_rejected;  /* ... of which the framework answered NO */
static int programs_loaded;    /* programs loaded now */
static id direct_client;       /* the restricted-access client of the direct path, made once */

static const char *const path_names[ANETHRU_NEVAL_PATHS] = {"standard", "realtime", "direct"};

@implementation ANEThruKernel
- (instancetype)init
{
    if ((self = [super init])) {
        pthread_mutex_init(&evalLock, NULL);
        for (int p = 1; p < ANETHRU_NEVAL_PATHS; p++) {
            char why[160];
            snprintf(why, sizeof why, "the %s eval path was not set up when this kernel was "
                     "compiled (ask for it when opening the chain)", path_names[p]);
            pathWhy[p] = strdup(why);
        }
    }
    return self;
}
- (void)dealloc
{
    pthread_mutex_destroy(&evalLock);
    free(rejected);
    for (int p = 0; p < ANETHRU_NEVAL_PATHS; p++) free(pathWhy[p]);
}
@end

/* ------------------------------------------------------------------ process-wide counts */

void ane_process_lock(void) { pthread_mutex_lock(&process_mutex); }
void ane_process_unlock(void) { pthread_mutex_unlock(&process_mutex); }
int ane_compiles_done(void) { return compiles_done; }
int ane_compiles_rejected(void) { return compiles_rejected; }

static int check_compile_limit(char *err, size_t errlen)
{
    if (compiles_done < ANETHRU_ANE_MAX_COMPILES) return ANETHRU_OK;
    char rejected[96] = "";
    if (compiles_rejected)
        snprintf(rejected, sizeof rejected, " (%d of them of program forms the framework rejected)",
                 compiles_rejected);
    anethru_set_error(err, errlen,
                      "this process has made %d ANE compiles%s; the ANE runtime fails after "
                      "about 119 per process, so anethru stops at %d: start a new process "
                      "to compile more", compiles_done, rejected, ANETHRU_ANE_MAX_COMPILES);
    return ANETHRU_E_LIMIT;
}

static int check_load_limit(char *err, size_t errlen)
{
    if (programs_loaded < ANETHRU_ANE_MAX_LOADED) return ANETHRU_OK;
    anethru_set_error(err, errlen,
                      "%d ANE programs are loaded in this process; about 128 is reportedly the "
                      "most a process can hold (unverified), so anethru stops at %d: close "
                      "chains to free slots",
                      programs_loaded, ANETHRU_ANE_MAX_LOADED);
    return ANETHRU_E_LIMIT;
}

int ane_check_limits(char *err, size_t errlen)
{
    int rc = check_compile_limit(err, errlen);
    return rc ? rc : check_load_limit(err, errlen);
}

/* ------------------------------------------------------------------ staging */

/* The identifier becomes one path component: no separator, no "." or "..", no control
 * characters.  (Its exact alphabet is the framework's; only what a path needs is checked.) */
static BOOL safe_identifier(NSString *hex)
{
    if (![hex isKindOfClass:[NSString class]]) return NO;
    const char *s = [hex UTF8String];
    size_t n = s ? strlen(s) : 0;
    /* No length cap here: today's identifier is 194 characters (three SHA-256 hex strings and
     * two "_"); one longer than the file system takes fails creating its directory, saying so. */
    if (n == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return NO;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f) return NO;
    return YES;
}

/* Write the program where the compiler reads it and hold that directory for k. */
static int stage_files(ANEThruKernel *k, const anethru_ane_program *p, char *err, size_t errlen)
{
    NSString *hex = ane_msg_model_hex(k->model);
    if (!safe_identifier(hex)) {
        ane_copy_text(err, errlen, [NSString stringWithFormat:
                                       @"the ANE model's hexStringIdentifier is unusable (%@)", hex]);
        return ANETHRU_E_INTERNAL;
    }
    NSString *dir = [NSTemporaryDirectory() stringByAppendingPathComponent:hex];
    const char *fs = [dir fileSystemRepresentation];
    if (!fs) {
        anethru_set_error(err, errlen, "NSTemporaryDirectory() gave no usable directory");
        return ANETHRU_E_INTERNAL;
    }
    char *path = strdup(fs);
    ane_tmpdir_file *files = calloc((size_t)p->nfiles + 1, sizeof *files);
    if (!path || !files) {
        free(path);
        free(files);
        anethru_set_error(err, errlen, "out of memory");
        return ANETHRU_E_NOMEM;
    }
    files[0] = (ane_tmpdir_file){"model.mil", p->mil, strlen(p->mil)};
    for (int i = 0; i < p->nfiles; i++)
        files[i + 1] = (ane_tmpdir_file){ane_form_relative_path(p->files[i].path), p->files[i].data,
                                         p->files[i].size};
    int rc = ane_tmpdir_acquire(path, files, p->nfiles + 1, err, errlen);
    free(files);
    if (rc != 0) {
        free(path);
        return ANETHRU_E_COMPILE;
    }
    k->dir = path;
    return ANETHRU_OK;
}

int ane_kernel_stage(ANEThruKernel *k, const anethru_ane_program *p, char *err, size_t errlen)
{
    Class descriptor = ane_class(ANE_CLASS_DESCRIPTOR), model = ane_class(ANE_CLASS_MODEL);
    if (!descriptor || !model) {
        anethru_set_error(err, errlen, "AppleNeuralEngine.framework's model classes are missing");
        return ANETHRU_E_UNAVAILABLE;
    }
    NSData *mil = [NSData dataWithBytes:p->mil length:strlen(p->mil)];
    NSMutableDictionary *weights = [NSMutableDictionary dictionary];
    for (int i = 0; i < p->nfiles; i++) {
        NSData *blob = [NSData dataWithBytes:p->files[i].data length:p->files[i].size];
        weights[@(p->files[i].path)] = @{@"offset" : @0, @"data" : blob};
    }
    k->form = p->form;
    id desc = ane_msg_descriptor_new(descriptor, mil, weights, nil);
    if (!desc) {
        /* The initializer does not parse the MIL: it returns nil only for nil text or nil or
         * empty weights (decompiled AppleNeuralEngine, iOS 26.1); bad MIL is a compile NO. */
        anethru_set_error(err, errlen, "modelWithMILText:weights:optionsPlist: returned nil "
                          "(it does so for nil MIL text or nil or empty weights; it does not "
                          "parse the MIL)");
        return ANE_REJECTED;
    }
    k->model = ane_msg_model_new(model, desc);
    if (!k->model) {
        anethru_set_error(err, errlen, "inMemoryModelWithDescriptor: returned nil");
        return ANE_REJECTED;
    }
    return stage_files(k, p, err, errlen);
}

/* ------------------------------------------------------------------ compile and load */

int ane_kernel_compile(ANEThruKernel *k, char *err, size_t errlen)
{
    int rc = check_compile_limit(err, errlen);
    if (rc) return rc;
    NSError *e = nil;
    compiles_done++;
    if (!ane_msg_model_compile(k->model, ANE_QOS, @{}, &e)) {
        compiles_rejected++;
        ane_copy_nserror(err, errlen, "compileWithQoS:options:error: returned NO", e);
        return ANE_REJECTED;
    }
    return ANETHRU_OK;
}

int ane_kernel_load(ANEThruKernel *k, char *err, size_t errlen)
{
    int rc = check_load_limit(err, errlen);
    if (rc) return rc;
    NSError *e = nil;
    BOOL ok = ane_msg_model_load(k->model, ANE_QOS, @{}, &e);
    if (!ok) { /* the research bridge's slot reclamation: wait, then once more */
        usleep(kLoadRetryMicros);
        e = nil;
        ok = ane_msg_model_load(k->model, ANE_QOS, @{}, &e);
    }
    if (!ok) {
        ane_copy_nserror(err, errlen, "loadWithQoS:options:error: returned NO twice, 100 ms apart", e);
        return ANETHRU_E_COMPILE;
    }
    k->loaded = YES;
    programs_loaded++;
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ surfaces and request */

static IOSurfaceRef make_surface(size_t bytes)
{
    NSDictionary *props = @{
        (__bridge NSString *)kIOSurfaceWidth : @(bytes),
        (__bridge NSString *)kIOSurfaceHeight : @1,
        (__bridge NSString *)kIOSurfaceBytesPerElement : @1,
        (__bridge NSString *)kIOSurfaceBytesPerRow : @(bytes),
        (__bridge NSString *)kIOSurfaceAllocSize : @(bytes),
        (__bridge NSString *)kIOSurfacePixelFormat : @0,
    };
    return IOSurfaceCreate((__bridge CFDictionaryRef)props);
}

static size_t tensor_bytes(ANEThruKernel *k)
{
    return (size_t)k->channels * (size_t)k->spatial * 2;
}

int ane_kernel_make_surfaces(ANEThruKernel *k, char *err, size_t errlen)
{
    size_t alloc = (tensor_bytes(k) + kSurfaceAlign - 1) / kSurfaceAlign * kSurfaceAlign;
    for (int p = 0; p < 2; p++) {
        k->surface[p] = make_surface(alloc);
        if (!k->surface[p]) {
            anethru_set_error(err, errlen, "IOSurfaceCreate(%zu bytes) failed", alloc);
            return ANETHRU_E_NOMEM;
        }
    }
    return ANETHRU_OK;
}

int ane_kernel_make_request(ANEThruKernel *k, char *err, size_t errlen)
{
    Class wrap = ane_class(ANE_CLASS_SURFACE_OBJECT), request = ane_class(ANE_CLASS_REQUEST);
    if (!wrap || !request || !k->surface[0] || !k->surface[1]) {
        anethru_set_error(err, errlen, "a request needs _ANEIOSurfaceObject, _ANERequest and both surfaces");
        return ANETHRU_E_UNAVAILABLE;
    }
    id objs[2];
    for (int p = 0; p < 2; p++) {
        objs[p] = ane_msg_surface_object_new(wrap, k->surface[p]);
        if (!objs[p]) {
            anethru_set_error(err, errlen, "_ANEIOSurfaceObject objectWithIOSurface: returned nil");
            return ANETHRU_E_INTERNAL;
        }
    }
    k->request = ane_msg_request_new(request, @[objs[0]], @[@0], @[objs[1]], @[@0], nil, nil, @0);
    if (!k->request) {
        anethru_set_error(err, errlen, "_ANERequest requestWithInputs:... returned nil");
        return ANETHRU_E_INTERNAL;
    }
    k->evalOptions = @{};
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ eval paths */

static void set_path_why(ANEThruKernel *k, int path, const char *why)
{
    free(k->pathWhy[path]);
    k->pathWhy[path] = why ? strdup(why) : NULL;
    if (why && !k->pathWhy[path]) k->pathWhy[path] = strdup("out of memory");
}

/* A client the direct or realtime path can evaluate through, by the constructor that makes it. */
typedef struct {
    const char *name;
    id (*make)(Class cls);
} client_maker;

/* ane-infer's direct path on an M5: a client of its own with restricted access allowed (made
 * once per process). */
static id restricted_client(Class cls)
{
    if (!direct_client) direct_client = ane_msg_client_new_restricted(cls, YES);
    return direct_client;
}

/* maderix's chaining research got doEvaluateDirectWithModel: to return YES through the shared
 * connection on an M4 Max; the realtime path always uses it. */
static id shared_client(Class cls) { return ane_msg_client_shared(cls); }

static const client_maker kRestricted = {"[[_ANEClient alloc] initWithRestrictedAccessAllowed:YES]",
                                         restricted_client};
static const client_maker kShared = {"[_ANEClient sharedConnection]", shared_client};

/* The clients a path tries, in order; their number. */
static int path_clients(int path, const client_maker *out[2])
{
    if (path == ANETHRU_EVAL_REALTIME) {
        out[0] = &kShared;
        return 1;
    }
    out[0] = &kRestricted, out[1] = &kShared;
    return 2;
}

static SEL path_selector(int path)
{
    return path == ANETHRU_EVAL_REALTIME ? @selector(evaluateRealTimeWithModel:options:request:error:)
                                         : @selector(doEvaluateDirectWithModel:options:request:qos:error:);
}

/* Make one client and probe the path through it with one eval that must write the output. */
static int try_client(ANEThruKernel *k, int path, const client_maker *maker, Class cls,
                      char *why, size_t whylen)
{
    id client = nil;
    @try { /* an exception here says the path is unusable, not that the compile failed */
        client = maker->make(cls);
    } @catch (id ex) {
        ane_copy_exception(why, whylen, maker->name, ex);
        return ANETHRU_E_UNSUPPORTED;
    }
    if (!client) {
        anethru_set_error(why, whylen, "%s returned nil", maker->name);
        return ANETHRU_E_UNSUPPORTED;
    }
    if (![client respondsToSelector:path_selector(path)]) {
        anethru_set_error(why, whylen, "_ANEClient does not respond to %s",
                          [NSStringFromSelector(path_selector(path)) UTF8String]);
        return ANETHRU_E_UNSUPPORTED;
    }
    size_t n = (size_t)k->channels * (size_t)k->spatial;
    uint16_t *in = malloc(n * 2), *out = malloc(n * 2);
    int rc = in && out ? ANETHRU_OK : ANETHRU_E_NOMEM;
    if (rc) anethru_set_error(why, whylen, "out of memory");
    if (rc == ANETHRU_OK) {
        int saved = k->path;
        k->client[path] = client, k->path = path;
        rc = ane_kernel_eval_fresh(k, in, out, why, whylen);
        k->path = saved;
        if (rc) k->client[path] = nil;
    }
    free(in);
    free(out);
    return rc;
}

int ane_kernel_setup_path(ANEThruKernel *k, int path, char *err, size_t errlen)
{
    if (path <= ANETHRU_EVAL_STANDARD || path >= ANETHRU_NEVAL_PATHS) {
        anethru_set_error(err, errlen, "unknown eval path %d", path);
        return ANETHRU_E_ARG;
    }
    char all[ANETHRU_ERRLEN] = "";
    int rc = ANETHRU_E_UNSUPPORTED;
    Class cls = ane_class(ANE_CLASS_CLIENT);
    const client_maker *makers[2];
    int n = path_clients(path, makers);
    k->client[path] = nil, k->pathClient[path] = NULL;
    if (!cls)
        anethru_set_error(all, sizeof all, "the %s eval path needs _ANEClient, which this macOS's "
                          "AppleNeuralEngine.framework lacks", path_names[path]);
    for (int i = 0; cls && i < n; i++) {
        char why[ANETHRU_ERRLEN] = "";
        rc = try_client(k, path, makers[i], cls, why, sizeof why);
        if (rc == ANETHRU_OK) {
            k->pathClient[path] = makers[i]->name;
            break;
        }
        size_t used = strlen(all); /* both clients' messages when both fail */
        if (n == 1) snprintf(all, sizeof all, "%s", why);
        else snprintf(all + used, sizeof all - used, "%s%s: %s", used ? "; " : "", makers[i]->name, why);
    }
    set_path_why(k, path, rc ? all : NULL);
    if (rc) anethru_set_error(err, errlen, "%s", all);
    else anethru_set_error(err, errlen, "through %s", k->pathClient[path]);
    return rc;
}

int ane_kernel_eval(ANEThruKernel *k, char *err, size_t errlen)
{
    int rc = ANETHRU_OK;
    @autoreleasepool {
        pthread_mutex_lock(&k->evalLock);
        @try {
            NSError *e = nil;
            BOOL ok;
            switch (k->path) {
            case ANETHRU_EVAL_REALTIME:
                ok = ane_msg_client_evaluate_realtime(k->client[k->path], k->model, k->evalOptions,
                                                      k->request, &e);
                break;
            case ANETHRU_EVAL_DIRECT:
                ok = ane_msg_client_evaluate_direct(k->client[k->path], k->model, k->evalOptions,
                                                    k->request, ANE_QOS, &e);
                break;
            default:
                ok = ane_msg_model_evaluate(k->model, ANE_QOS, k->evalOptions, k->request, &e);
            }
            if (!ok) {
                char what[64];
                snprintf(what, sizeof what, "ANE %seval failed",
                         k->path == ANETHRU_EVAL_REALTIME ? "realtime "
                         : k->path == ANETHRU_EVAL_DIRECT ? "direct " : "");
                ane_copy_nserror(err, errlen, what, e);
                rc = ANETHRU_E_EVAL;
            }
        } @catch (id ex) {
            ane_copy_exception(err, errlen, "ANE eval", ex);
            rc = ANETHRU_E_INTERNAL;
        }
        pthread_mutex_unlock(&k->evalLock);
    }
    return rc;
}

/* ------------------------------------------------------------------ data and teardown */

/* Copy between a surface and memory under its lock (to_surface: write the input). */
static int copy_surface(ANEThruKernel *k, int port, void *mem, size_t bytes, int to_surface,
                        char *err, size_t errlen)
{
    IOSurfaceRef s = k->surface[port];
    IOSurfaceLockOptions opts = to_surface ? 0 : kIOSurfaceLockReadOnly;
    if (!s || IOSurfaceLock(s, opts, NULL) != KERN_SUCCESS) {
        anethru_set_error(err, errlen, "cannot lock the %s surface", port ? "output" : "input");
        return ANETHRU_E_LOCK;
    }
    void *base = IOSurfaceGetBaseAddress(s);
    if (to_surface) memcpy(base, mem, bytes);
    else memcpy(mem, base, bytes);
    IOSurfaceUnlock(s, opts, NULL);
    return ANETHRU_OK;
}

int ane_kernel_write_input(ANEThruKernel *k, const void *data, size_t bytes, char *err,
                           size_t errlen)
{
    return copy_surface(k, ANETHRU_PORT_INPUT, (void *)data, bytes, 1, err, errlen);
}

int ane_kernel_read_output(ANEThruKernel *k, void *data, size_t bytes, char *err, size_t errlen)
{
    return copy_surface(k, ANETHRU_PORT_OUTPUT, data, bytes, 0, err, errlen);
}

/* Inputs with magnitudes in [1/16, 1) and both signs, a new sequence per call (callers hold
 * the process lock): never zero, since a sum that starts at +0 turns -0 into +0 and an
 * identity could not return its input bit for bit; never the poison (a NaN). */
static void fresh_input(uint16_t *x, size_t n)
{
    static uint32_t calls;
    uint32_t state = 12345u + 7919u * calls++;
    for (size_t i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        uint16_t sign = (uint16_t)((state >> 31) << 15);
        uint16_t exponent = (uint16_t)(11 + ((state >> 12) & 3u)); /* 2^-4 .. 2^-1 */
        x[i] = (uint16_t)(sign | exponent << 10 | ((state >> 16) & 0x3ffu));
    }
}

int ane_kernel_eval_fresh(ANEThruKernel *k, uint16_t *in, uint16_t *out, char *err, size_t errlen)
{
    size_t n = (size_t)k->channels * (size_t)k->spatial, poisoned = 0;
    fresh_input(in, n);
    for (size_t i = 0; i < n; i++) out[i] = ANETHRU_POISON_FP16;
    int rc = copy_surface(k, ANETHRU_PORT_OUTPUT, out, n * 2, 1, err, errlen);
    if (rc == ANETHRU_OK) rc = ane_kernel_write_input(k, in, n * 2, err, errlen);
    if (rc == ANETHRU_OK) rc = ane_kernel_eval(k, err, errlen);
    if (rc == ANETHRU_OK) rc = ane_kernel_read_output(k, out, n * 2, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) poisoned += out[i] == ANETHRU_POISON_FP16;
    if (!poisoned) return ANETHRU_OK;
    anethru_set_error(err, errlen, "the %s eval reported success, but the output was not written: "
                      "%zu of %zu values still hold the poison 0x%04x written before it",
                      path_names[k->path], poisoned, n, ANETHRU_POISON_FP16);
    return ANETHRU_E_EVAL;
}

void ane_kernel_teardown(ANEThruKernel *k)
{
    if (k->loaded) {
        @try {
            NSError *e = nil;
            /* A program that failed to unload may still hold its slot: keep counting it. */
            if (ane_msg_model_unload(k->model, ANE_QOS, &e)) programs_loaded--;
        } @catch (id ex) {
            (void)ex;
        }
        k->loaded = NO;
    }
    k->request = nil;
    for (int p = 0; p < ANETHRU_NEVAL_PATHS; p++) k->client[p] = nil;
    k->model = nil;
    for (int p = 0; p < 2; p++) {
        if (k->surface[p]) CFRelease(k->surface[p]);
        k->surface[p] = NULL;
    }
    if (k->dir) {
        ane_tmpdir_release(k->dir);
        free(k->dir);
        k->dir = NULL;
    }
}
