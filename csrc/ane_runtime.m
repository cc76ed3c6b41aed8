/* ane_runtime.m -- the ANE backend, written from ../shared/reference/ane-private-api.md.
 *
 * AppleNeuralEngine.framework is private: it is opened by path, its classes are looked up by
 * name and every call goes through objc_msgSend cast to the exact function type.  Objective-C
 * exceptions never leave this file (they become ANETHRU_E_INTERNAL with "name: reason"), and
 * messages are copied into the caller's buffer.  Build with -fobjc-arc -fobjc-arc-exceptions:
 * without the second flag ARC leaks every object live in a frame an exception unwinds.
 *
 * ANETHRU_SIMULATED_ANE (tests only, Linux): the same code against tests/objc/fake_ane.m;
 * probe and describe then say so, so its numbers can never pass as ANE figures.
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>
#import <objc/message.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>
#include <sys/utsname.h>

#include "ane_mil.h"
#include "ane_runtime.h"
#include "ane_tmpdir.h"

#ifndef ANETHRU_ANE_FRAMEWORK_PATH
#define ANETHRU_ANE_FRAMEWORK_PATH \
    "/System/Library/PrivateFrameworks/AppleNeuralEngine.framework/AppleNeuralEngine"
#endif
#define SIMULATED_LABEL "SIMULATED (Linux, fake AppleNeuralEngine) \u2014 not ANE figures"

/* The QoS every piece of research code passed to compile, load, evaluate and unload. */
static const unsigned int kQoS = 21;
/* IOSurface allocation granule: M5 needs 128-byte aligned surfaces. */
static const size_t kSurfaceAlign = 128;

/* ------------------------------------------------------------------ framework state */

static pthread_once_t framework_once = PTHREAD_ONCE_INIT;
static int framework_status = ANETHRU_E_UNAVAILABLE;
static char framework_why[ANETHRU_ERRLEN];
static Class cls_descriptor, cls_model, cls_request, cls_surface_object, cls_client;

/* Compiles are serialised by this lock (they are never timed), which also guards the
 * process-wide counts below. */
static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static int compiles_done;  /* compileWithQoS: calls made by this process */
static int programs_loaded; /* programs loaded now */

/* Copy a message into the caller's buffer.  The UTF-8 pointer lives only as long as msg (under
 * ARC a temporary string can go at the end of its statement), so it is used right here. */
static void copy_text(char *err, size_t errlen, NSString *msg)
{
    const char *s = [msg UTF8String];
    anethru_set_error(err, errlen, "%s", s ? s : "(no message)");
}

static void copy_exception(char *err, size_t errlen, const char *during, id ex)
{
    NSString *msg;
    if ([ex isKindOfClass:[NSException class]])
        msg = [NSString stringWithFormat:@"%s: Objective-C exception %@: %@", during,
                                         [(NSException *)ex name], [(NSException *)ex reason]];
    else
        msg = [NSString stringWithFormat:@"%s: Objective-C exception %@", during, ex];
    copy_text(err, errlen, msg);
}

static void copy_nserror(char *err, size_t errlen, const char *what, NSError *e)
{
    copy_text(err, errlen, e ? [NSString stringWithFormat:@"%s: %@", what, e]
                             : [NSString stringWithFormat:@"%s: (the framework gave no NSError)", what]);
}

/* Why this host cannot have an ANE, checked at run time so every build says it the same way
 * (an x86_64 Python on an Apple Silicon Mac runs under Rosetta and reports x86_64). */
static int host_check(char *why, size_t whylen)
{
#ifdef ANETHRU_SIMULATED_ANE
    (void)why, (void)whylen;
    return ANETHRU_OK;
#else
    struct utsname u;
    if (uname(&u) != 0) {
        anethru_set_error(why, whylen, "uname() failed; cannot tell whether this is macOS");
        return ANETHRU_E_UNAVAILABLE;
    }
    if (strcmp(u.sysname, "Darwin") != 0) {
        anethru_set_error(why, whylen, "the ANE needs macOS; this is %s", u.sysname);
        return ANETHRU_E_UNAVAILABLE;
    }
    if (strcmp(u.machine, "arm64") != 0) {
        anethru_set_error(why, whylen,
                          "the ANE needs Apple Silicon (arm64); this process runs as %s "
                          "(an Intel Mac, or an x86_64 Python under Rosetta)", u.machine);
        return ANETHRU_E_UNAVAILABLE;
    }
    return ANETHRU_OK;
#endif
}

static const char *framework_path(void)
{
#ifdef ANETHRU_SIMULATED_ANE
    const char *p = getenv("ANETHRU_SIM_ANE_FRAMEWORK");
    if (p && *p) return p;
#endif
    return ANETHRU_ANE_FRAMEWORK_PATH;
}

static void load_framework_once(void)
{
    @autoreleasepool {
        @try {
            if ((framework_status = host_check(framework_why, sizeof framework_why))) return;
            const char *path = framework_path();
            if (!dlopen(path, RTLD_NOW)) {
                const char *e = dlerror();
                anethru_set_error(framework_why, sizeof framework_why,
                                  "AppleNeuralEngine.framework could not be loaded (%s)",
                                  e ? e : path);
                framework_status = ANETHRU_E_UNAVAILABLE;
                return;
            }
            cls_descriptor = NSClassFromString(@"_ANEInMemoryModelDescriptor");
            cls_model = NSClassFromString(@"_ANEInMemoryModel");
            cls_request = NSClassFromString(@"_ANERequest");
            cls_surface_object = NSClassFromString(@"_ANEIOSurfaceObject");
            cls_client = NSClassFromString(@"_ANEClient"); /* optional: the realtime path */
            NSMutableArray *missing = [NSMutableArray array];
            if (!cls_descriptor) [missing addObject:@"_ANEInMemoryModelDescriptor"];
            if (!cls_model) [missing addObject:@"_ANEInMemoryModel"];
            if (!cls_request) [missing addObject:@"_ANERequest"];
            if (!cls_surface_object) [missing addObject:@"_ANEIOSurfaceObject"];
            if ([missing count]) {
                copy_text(framework_why, sizeof framework_why,
                          [NSString stringWithFormat:@"AppleNeuralEngine.framework lacks %@: "
                                                     @"unsupported macOS version",
                                                     [missing componentsJoinedByString:@", "]]);
                framework_status = ANETHRU_E_UNAVAILABLE;
                return;
            }
            framework_status = ANETHRU_OK;
        } @catch (id ex) {
            copy_exception(framework_why, sizeof framework_why, "loading the ANE framework", ex);
            framework_status = ANETHRU_E_UNAVAILABLE;
        }
    }
}

static int ane_probe(char *err, size_t errlen)
{
    pthread_once(&framework_once, load_framework_once);
#ifdef ANETHRU_SIMULATED_ANE
    if (framework_status == ANETHRU_OK)
        anethru_set_error(err, errlen, "%s", SIMULATED_LABEL);
    else
        anethru_set_error(err, errlen, "%s: %s", SIMULATED_LABEL, framework_why);
#else
    if (framework_status != ANETHRU_OK) anethru_set_error(err, errlen, "%s", framework_why);
#endif
    return framework_status;
}

/* ------------------------------------------------------------------ describe */

static void sysctl_string(const char *name, char *buf, size_t buflen)
{
    size_t len = buflen;
    if (sysctlbyname(name, buf, &len, NULL, 0) != 0 || len == 0) snprintf(buf, buflen, "?");
    buf[buflen - 1] = '\0';
}

static int ane_describe(char *buf, size_t buflen)
{
    char chip[128], version[64], build[64];
    sysctl_string("machdep.cpu.brand_string", chip, sizeof chip);
    sysctl_string("kern.osproductversion", version, sizeof version);
    sysctl_string("kern.osversion", build, sizeof build);
#ifdef ANETHRU_SIMULATED_ANE
    anethru_set_error(buf, buflen, "%s [%s, macOS %s (%s)]", SIMULATED_LABEL, chip, version, build);
#else
    anethru_set_error(buf, buflen, "%s, macOS %s (%s)", chip, version, build);
#endif
    return ANETHRU_OK;
}

/* ------------------------------------------------------------------ kernels */

@interface ANEThruKernel : NSObject {
  @public
    id model;                   /* _ANEInMemoryModel */
    id request;                 /* _ANERequest naming the two surfaces */
    id client;                  /* _ANEClient for the realtime path, else nil */
    NSDictionary *evalOptions;  /* made once, so timed evals allocate nothing */
    IOSurfaceRef surface[2];    /* ANETHRU_PORT_INPUT, ANETHRU_PORT_OUTPUT; owned (+1) */
    char *dir;                  /* the temp directory this kernel holds, or NULL */
    BOOL loaded;
    pthread_mutex_t evalLock;   /* evals of one kernel share its surfaces: one at a time */
}
@end

@implementation ANEThruKernel
- (instancetype)init
{
    if ((self = [super init])) pthread_mutex_init(&evalLock, NULL);
    return self;
}
- (void)dealloc
{
    pthread_mutex_destroy(&evalLock);
}
@end

/* Undo whatever compile got done: unload, release surfaces, remove the temp directory.
 * Called with process_lock held, from release and from every failed compile. */
static void kernel_teardown(ANEThruKernel *k)
{
    if (k->loaded) {
        @try {
            NSError *e = nil;
            BOOL ok = ((BOOL(*)(id, SEL, unsigned int, NSError **))objc_msgSend)(
                k->model, @selector(unloadWithQoS:error:), kQoS, &e);
            /* A program that failed to unload may still hold its slot: keep counting it. */
            if (ok) programs_loaded--;
        } @catch (id ex) {
            (void)ex;
        }
        k->loaded = NO;
    }
    k->request = nil;
    k->client = nil;
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

/* The identifier becomes one path component: no separator, no "." or "..", no control
 * characters.  (Its exact alphabet is the framework's; only what a path needs is checked.) */
static BOOL safe_identifier(NSString *hex)
{
    if (![hex isKindOfClass:[NSString class]]) return NO;
    const char *s = [hex UTF8String];
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 200 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return NO;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f) return NO;
    return YES;
}

/* Write the program where the compiler reads it and hold that directory for k. */
static int stage_files(ANEThruKernel *k, NSData *mil, NSData *blob, char *err, size_t errlen)
{
    NSString *hex = ((id(*)(id, SEL))objc_msgSend)(k->model, @selector(hexStringIdentifier));
    if (!safe_identifier(hex)) {
        copy_text(err, errlen, [NSString stringWithFormat:
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
    if (!path) {
        anethru_set_error(err, errlen, "out of memory");
        return ANETHRU_E_NOMEM;
    }
    if (ane_tmpdir_acquire(path, [mil bytes], [mil length], [blob bytes], [blob length], err,
                           errlen) != 0) {
        free(path);
        return ANETHRU_E_COMPILE;
    }
    k->dir = path;
    return ANETHRU_OK;
}

static int compile_and_load(ANEThruKernel *k, const anethru_kernel_spec *spec, NSData *mil,
                            NSData *blob, char *err, size_t errlen)
{
    NSDictionary *weights = @{@ANE_MIL_WEIGHT_PATH : @{@"offset" : @0, @"data" : blob}};
    id desc = ((id(*)(Class, SEL, id, id, id))objc_msgSend)(
        cls_descriptor, @selector(modelWithMILText:weights:optionsPlist:), mil, weights, nil);
    if (!desc) {
        anethru_set_error(err, errlen, "the ANE rejected the MIL program of a %dx%d kernel "
                          "(modelWithMILText:weights:optionsPlist: returned nil)",
                          spec->channels, spec->spatial);
        return ANETHRU_E_COMPILE;
    }
    k->model = ((id(*)(Class, SEL, id))objc_msgSend)(
        cls_model, @selector(inMemoryModelWithDescriptor:), desc);
    if (!k->model) {
        anethru_set_error(err, errlen, "inMemoryModelWithDescriptor: returned nil");
        return ANETHRU_E_COMPILE;
    }
    int rc = stage_files(k, mil, blob, err, errlen);
    if (rc) return rc;

    char what[96];
    snprintf(what, sizeof what, "ANE compile of a %dx%d kernel (%d layer%s) failed",
             spec->channels, spec->spatial, spec->layers, spec->layers == 1 ? "" : "s");
    NSError *e = nil;
    compiles_done++;
    BOOL ok = ((BOOL(*)(id, SEL, unsigned int, id, NSError **))objc_msgSend)(
        k->model, @selector(compileWithQoS:options:error:), kQoS, @{}, &e);
    if (!ok) {
        copy_nserror(err, errlen, what, e);
        return ANETHRU_E_COMPILE;
    }
    e = nil;
    ok = ((BOOL(*)(id, SEL, unsigned int, id, NSError **))objc_msgSend)(
        k->model, @selector(loadWithQoS:options:error:), kQoS, @{}, &e);
    if (!ok) {
        snprintf(what, sizeof what, "ANE load of a %dx%d kernel failed", spec->channels,
                 spec->spatial);
        copy_nserror(err, errlen, what, e);
        return ANETHRU_E_COMPILE;
    }
    k->loaded = YES;
    programs_loaded++;
    return ANETHRU_OK;
}

static int make_request(ANEThruKernel *k, size_t bytes, char *err, size_t errlen)
{
    size_t alloc = (bytes + kSurfaceAlign - 1) / kSurfaceAlign * kSurfaceAlign;
    id objs[2];
    for (int p = 0; p < 2; p++) {
        k->surface[p] = make_surface(alloc);
        if (!k->surface[p]) {
            anethru_set_error(err, errlen, "IOSurfaceCreate(%zu bytes) failed", alloc);
            return ANETHRU_E_NOMEM;
        }
        objs[p] = ((id(*)(Class, SEL, IOSurfaceRef))objc_msgSend)(
            cls_surface_object, @selector(objectWithIOSurface:), k->surface[p]);
        if (!objs[p]) {
            anethru_set_error(err, errlen, "_ANEIOSurfaceObject objectWithIOSurface: returned nil");
            return ANETHRU_E_INTERNAL;
        }
    }
    k->request = ((id(*)(Class, SEL, id, id, id, id, id, id, id))objc_msgSend)(
        cls_request,
        @selector(requestWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:
                      procedureIndex:),
        @[objs[0]], @[@0], @[objs[1]], @[@0], nil, nil, @0);
    if (!k->request) {
        anethru_set_error(err, errlen, "_ANERequest requestWithInputs:... returned nil");
        return ANETHRU_E_INTERNAL;
    }
    return ANETHRU_OK;
}

static int use_realtime(ANEThruKernel *k, char *err, size_t errlen)
{
    if (!cls_client) {
        anethru_set_error(err, errlen, "the realtime eval path needs _ANEClient, which this "
                          "macOS's AppleNeuralEngine.framework lacks");
        return ANETHRU_E_UNSUPPORTED;
    }
    k->client = ((id(*)(Class, SEL))objc_msgSend)(cls_client, @selector(sharedConnection));
    SEL rt = @selector(evaluateRealTimeWithModel:options:request:error:);
    if (!k->client || ![k->client respondsToSelector:rt]) {
        anethru_set_error(err, errlen, "_ANEClient sharedConnection %s",
                          k->client ? "has no evaluateRealTimeWithModel:options:request:error:"
                                    : "returned nil");
        return ANETHRU_E_UNSUPPORTED;
    }
    return ANETHRU_OK;
}

static int check_limits(char *err, size_t errlen)
{
    if (compiles_done >= ANETHRU_ANE_MAX_COMPILES) {
        anethru_set_error(err, errlen,
                          "this process has made %d ANE compiles; the ANE runtime fails after "
                          "about 119 per process, so anethru stops at %d: start a new process "
                          "to compile more", compiles_done, ANETHRU_ANE_MAX_COMPILES);
        return ANETHRU_E_LIMIT;
    }
    if (programs_loaded >= ANETHRU_ANE_MAX_LOADED) {
        anethru_set_error(err, errlen,
                          "%d ANE programs are loaded in this process; about 128 is the most a "
                          "process can hold, so anethru stops at %d: close chains to free slots",
                          programs_loaded, ANETHRU_ANE_MAX_LOADED);
        return ANETHRU_E_LIMIT;
    }
    return ANETHRU_OK;
}

static int check_spec(const anethru_kernel_spec *spec, void **kernel, char *err, size_t errlen)
{
    if (!spec || !kernel || !spec->weights || spec->channels <= 0 || spec->spatial <= 0 ||
        spec->layers <= 0) {
        anethru_set_error(err, errlen, "bad ANE kernel spec");
        return ANETHRU_E_ARG;
    }
    size_t cs = (size_t)spec->channels * (size_t)spec->spatial;
    if (cs / (size_t)spec->channels != (size_t)spec->spatial || cs > SIZE_MAX / 4 ||
        ane_blob_size(spec->channels, spec->layers) == 0) {
        anethru_set_error(err, errlen, "a %dx%d ANE kernel of %d layers is too large",
                          spec->channels, spec->spatial, spec->layers);
        return ANETHRU_E_ARG;
    }
    return ANETHRU_OK;
}

/* The program text and weight blob as NSData (the blob is handed over, freed by NSData). */
static int build_program(const anethru_kernel_spec *spec, NSData **mil, NSData **blob)
{
    char *text = ane_mil_text(spec->channels, spec->spatial, spec->layers);
    size_t n = ane_blob_size(spec->channels, spec->layers);
    uint8_t *bytes = malloc(n);
    if (!text || !bytes) {
        free(text);
        free(bytes);
        return ANETHRU_E_NOMEM;
    }
    ane_blob_fill(bytes, spec->channels, spec->layers, spec->weights);
    *mil = [NSData dataWithBytes:text length:strlen(text)];
    free(text);
    *blob = [NSData dataWithBytesNoCopy:bytes length:n freeWhenDone:YES];
    if (!*blob) free(bytes);
    return *mil && *blob ? ANETHRU_OK : ANETHRU_E_NOMEM;
}

static int ane_compile(const anethru_kernel_spec *spec, void **kernel, char *err, size_t errlen)
{
    int rc = check_spec(spec, kernel, err, errlen);
    if (rc) return rc;
    *kernel = NULL;
    if ((rc = ane_probe(err, errlen))) return rc;
    if (err && errlen) err[0] = '\0'; /* drop the simulated build's probe note */
    @autoreleasepool {
        ANEThruKernel *k = nil;
        pthread_mutex_lock(&process_lock);
        @try {
            NSData *mil = nil, *blob = nil;
            if ((rc = check_limits(err, errlen)) == ANETHRU_OK) {
                k = [[ANEThruKernel alloc] init];
                if ((rc = build_program(spec, &mil, &blob)))
                    anethru_set_error(err, errlen, "out of memory building the ANE program");
            }
            if (rc == ANETHRU_OK && (spec->options & ANETHRU_OPT_ANE_REALTIME))
                rc = use_realtime(k, err, errlen);
            if (rc == ANETHRU_OK) rc = compile_and_load(k, spec, mil, blob, err, errlen);
            if (rc == ANETHRU_OK)
                rc = make_request(k, (size_t)spec->channels * (size_t)spec->spatial * 2, err,
                                  errlen);
            if (rc == ANETHRU_OK) k->evalOptions = @{};
        } @catch (id ex) {
            copy_exception(err, errlen, "ANE compile", ex);
            rc = ANETHRU_E_INTERNAL;
        }
        if (rc && k) kernel_teardown(k);
        pthread_mutex_unlock(&process_lock);
        if (rc == ANETHRU_OK) *kernel = (__bridge_retained void *)k;
    }
    return rc;
}

/* ------------------------------------------------------------------ eval, lock, release */

static int ane_eval(void *kernel, char *err, size_t errlen)
{
    if (!kernel) {
        anethru_set_error(err, errlen, "eval of a NULL ANE kernel");
        return ANETHRU_E_ARG;
    }
    ANEThruKernel *k = (__bridge ANEThruKernel *)kernel;
    int rc = ANETHRU_OK;
    @autoreleasepool {
        pthread_mutex_lock(&k->evalLock);
        @try {
            NSError *e = nil;
            BOOL ok;
            if (k->client)
                ok = ((BOOL(*)(id, SEL, id, id, id, NSError **))objc_msgSend)(
                    k->client, @selector(evaluateRealTimeWithModel:options:request:error:),
                    k->model, k->evalOptions, k->request, &e);
            else
                ok = ((BOOL(*)(id, SEL, unsigned int, id, id, NSError **))objc_msgSend)(
                    k->model, @selector(evaluateWithQoS:options:request:error:), kQoS,
                    k->evalOptions, k->request, &e);
            if (!ok) {
                copy_nserror(err, errlen, k->client ? "ANE realtime eval failed" : "ANE eval failed", e);
                rc = ANETHRU_E_EVAL;
            }
        } @catch (id ex) {
            copy_exception(err, errlen, "ANE eval", ex);
            rc = ANETHRU_E_INTERNAL;
        }
        pthread_mutex_unlock(&k->evalLock);
    }
    return rc;
}

/* lock and unlock call only IOSurface's C API: nothing is autoreleased and nothing can raise,
 * so they skip the pool and @try that would otherwise add to the timed memcpy test. */
static int surface_for(void *kernel, int port, int flags, IOSurfaceRef *s,
                       IOSurfaceLockOptions *opts, char *err, size_t errlen)
{
    if (!kernel || (port != ANETHRU_PORT_INPUT && port != ANETHRU_PORT_OUTPUT) ||
        (flags != ANETHRU_LOCK_READWRITE && flags != ANETHRU_LOCK_READONLY)) {
        anethru_set_error(err, errlen, "bad lock request (port %d, flags %d)", port, flags);
        return ANETHRU_E_ARG;
    }
    ANEThruKernel *k = (__bridge ANEThruKernel *)kernel;
    *s = k->surface[port];
    *opts = flags == ANETHRU_LOCK_READONLY ? kIOSurfaceLockReadOnly : 0;
    return ANETHRU_OK;
}

static int ane_lock(void *kernel, int port, int flags, void **addr, char *err, size_t errlen)
{
    IOSurfaceRef s;
    IOSurfaceLockOptions opts;
    int rc = surface_for(kernel, port, flags, &s, &opts, err, errlen);
    if (rc) return rc;
    kern_return_t kr = IOSurfaceLock(s, opts, NULL);
    if (kr != KERN_SUCCESS) {
        anethru_set_error(err, errlen, "IOSurfaceLock(%s, %s) failed: 0x%x",
                          port ? "output" : "input", flags ? "read-only" : "read-write", kr);
        return ANETHRU_E_LOCK;
    }
    if (addr) *addr = IOSurfaceGetBaseAddress(s);
    return ANETHRU_OK;
}

static int ane_unlock(void *kernel, int port, int flags, char *err, size_t errlen)
{
    IOSurfaceRef s;
    IOSurfaceLockOptions opts;
    int rc = surface_for(kernel, port, flags, &s, &opts, err, errlen);
    if (rc) return rc;
    kern_return_t kr = IOSurfaceUnlock(s, opts, NULL);
    if (kr != KERN_SUCCESS) {
        anethru_set_error(err, errlen, "IOSurfaceUnlock(%s, %s) failed: 0x%x",
                          port ? "output" : "input", flags ? "read-only" : "read-write", kr);
        return ANETHRU_E_LOCK;
    }
    return ANETHRU_OK;
}

static void ane_release(void *kernel)
{
    if (!kernel) return;
    @autoreleasepool {
        ANEThruKernel *k = (__bridge_transfer ANEThruKernel *)kernel;
        pthread_mutex_lock(&process_lock);
        @try {
            kernel_teardown(k);
        } @catch (id ex) {
            (void)ex; /* release cannot report; teardown already guards the framework call */
        }
        pthread_mutex_unlock(&process_lock);
        k = nil;
    }
}

const anethru_backend anethru_ane_backend = {
    .name = "ane",
    .probe = ane_probe,
    .describe = ane_describe,
    .compile = ane_compile,
    .eval = ane_eval,
    .lock = ane_lock,
    .unlock = ane_unlock,
    .release = ane_release,
    .eval_null = NULL, /* the ANE has no empty submission: null_eval reports unsupported */
};
