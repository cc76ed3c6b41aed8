/* fake_ane.m -- a simulated AppleNeuralEngine.framework for the Linux tests (ARC).
 *
 * Built as a shared library that ane_runtime.m dlopens by path, so the real code finds these
 * classes the way it finds Apple's: after dlopen, by NSClassFromString, called through typed
 * objc_msgSend casts.  Only the reference's class names and selectors exist; every argument
 * is type-checked (a wrong one raises NSInvalidArgumentException, as a wrong cast would
 * crash on a Mac) and the call order compile -> load -> evaluate -> unload is enforced.
 * The compiler reads model.mil and weights/weight.bin from NSTemporaryDirectory()/<hex>
 * (they must match the descriptor) and computes the real conv on the CPU behind the
 * lock-enforcing IOSurface fakes.
 *
 * Every method first checks that its own signature is the one csrc/ane/ane_msg.h declares (the
 * list the backend's typed objc_msgSend wrappers are generated from): a method whose type
 * encoding differs raises "signature mismatch", so the backend's casts and this fake can
 * never silently disagree.
 *
 * Knobs (environment, read at each call):
 *   FAKE_ANE_FAIL_AT     descriptor | model | compile | load | eval | rt_eval | unload |
 *                        surface_object | request | shared_connection | direct_client |
 *                        direct_eval
 *   FAKE_ANE_FAIL_HOW    error (NO/nil with an NSError; default) | raise (an NSException)
 *   FAKE_ANE_FAIL_AFTER  calls of that stage that succeed first (default 0)
 *   FAKE_ANE_FAIL_TIMES  how many calls fail after those (default: all of them)
 *   FAKE_ANE_FAIL_CHANNELS  only fail compiles of this channel count (a chip that cannot)
 *   FAKE_ANE_REJECT      comma-separated program features whose compile fails as the real
 *                        compiler's "MIL compat" did: ios16 | ios18 (the dialect), files (a
 *                        weight file per layer), onefile (several layers' blobs in one file)
 *   FAKE_ANE_CORRUPT     eval | rt_eval | direct_eval | all: evals through that path add one
 *                        to the bit pattern of their first output value (never undone by
 *                        the next kernel)
 *   FAKE_ANE_NOOP        comma-separated eval | rt_eval | direct_eval: evals through that path
 *                        return YES and write nothing (a path that does nothing)
 *   FAKE_ANE_MAX_COMPILES / FAKE_ANE_MAX_LOADED  the runtime's own limits (119 / 128)
 *   FAKE_ANE_HEX         what hexStringIdentifier returns instead of the program's hash
 * Building with -D_ANERequest=... or -D_ANEClient=... renames a class: "class missing";
 * -DdoEvaluateDirectWithModel=... renames a method: "selector missing"; -DFAKE_ANE_QOS_T=long
 * gives compileWithQoS: another signature than the backend's.
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <objc/runtime.h>
#include <pthread.h>

#include "ane/ane_msg.h"
#include "fake_ane_program.h"

#ifndef FAKE_ANE_QOS_T
#define FAKE_ANE_QOS_T unsigned int
#endif

/* Counters the tests read (ctypes) after a run. */
int fake_ane_live_objects;        /* descriptors, models, surface objects, requests alive */
int fake_ane_compile_calls, fake_ane_load_calls, fake_ane_unload_calls;
int fake_ane_eval_calls, fake_ane_rt_eval_calls, fake_ane_direct_eval_calls;
int fake_ane_loaded_now;          /* programs loaded and not unloaded */
int fake_ane_freed_while_loaded;  /* models deallocated without unload */
int fake_ane_overlapping_evals;   /* evals of one model that overlapped (they share surfaces) */

static NSError *fake_error(NSInteger code, NSString *msg)
{
    return [NSError errorWithDomain:@"com.apple.appleneuralengine.fake" code:code
                           userInfo:@{NSLocalizedDescriptionKey : msg}];
}

static long env_long(const char *name, long fallback)
{
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 10) : fallback;
}

#define REQUIRE(obj, cls, what)                                                               \
    do {                                                                                      \
        if (![(id)(obj) isKindOfClass:[cls class]])                                           \
            [NSException raise:NSInvalidArgumentException                                     \
                        format:@"%s: expected %s, got %@", what, #cls, [(id)(obj) class]];    \
    } while (0)
#define REQUIRE_OR_NIL(obj, cls, what) do { if (obj) REQUIRE(obj, cls, what); } while (0)

static void require_qos(unsigned int qos, const char *what)
{
    if (qos != 21)
        [NSException raise:NSInvalidArgumentException format:@"%s: QoS %u (the fake knows 21)", what, qos];
}

/* The injected failure of a stage: NO to go on; YES (error set) to fail; or it raises. */
static BOOL injected_failure(const char *stage, NSError **error)
{
    static const char *stages[] = {"descriptor", "model", "compile", "load", "eval", "rt_eval",
                                   "unload", "surface_object", "request", "shared_connection",
                                   "direct_client", "direct_eval"};
    static int calls[sizeof stages / sizeof stages[0]];
    const char *at = getenv("FAKE_ANE_FAIL_AT");
    if (!at || strcmp(at, stage) != 0) return NO;
    size_t i = 0;
    while (i < sizeof stages / sizeof stages[0] && strcmp(stages[i], stage) != 0) i++;
    if (i == sizeof stages / sizeof stages[0]) return NO;
    long call = __sync_fetch_and_add(&calls[i], 1), after = env_long("FAKE_ANE_FAIL_AFTER", 0);
    if (call < after || call >= after + env_long("FAKE_ANE_FAIL_TIMES", 1L << 40)) return NO;
    const char *how = getenv("FAKE_ANE_FAIL_HOW");
    if (how && strcmp(how, "raise") == 0)
        [NSException raise:@"FakeANEInjectedException" format:@"injected exception in %s", stage];
    if (error) *error = fake_error(11, [NSString stringWithFormat:@"injected failure in %s", stage]);
    return YES;
}

/* ------------------------------------------------------------------ signatures */

/* An @encode string without its type qualifiers (const, in, out, ...) and without the frame
 * offset the GNU runtime appends to the types of a method. */
static NSString *bare_type(const char *t)
{
    while (*t && strchr("rnNoORV", *t)) t++;
    size_t n = strlen(t);
    while (n > 1 && strchr("0123456789+-", t[n - 1])) n--;
    return [[NSString alloc] initWithBytes:t length:n encoding:NSUTF8StringEncoding];
}

static NSString *compare_type(const char *what, int index, const char *have, const char *want)
{
    if (have && [bare_type(have) isEqualToString:bare_type(want)]) return nil;
    return [NSString stringWithFormat:@"%s %d is %@, csrc/ane/ane_msg.h says %@", what, index,
                                      have ? bare_type(have) : @"(none)", bare_type(want)];
}

/* The first method of ane_msg.h whose signature here differs, or nil. */
static NSString *signature_problem(void)
{
#define FAKE_CLASS_NAME(id, name, required) [id] = name,
    static const char *const class_names[ANE_NCLASSES] = {ANE_CLASSES(FAKE_CLASS_NAME)};
#undef FAKE_CLASS_NAME
    for (int i = 0; i < ANE_NMESSAGES; i++) {
        const ane_message_signature *sig = &ane_message_signatures[i];
        Class cls = NSClassFromString(@(class_names[sig->class_id]));
        if (!cls) continue; /* a variant without the class: "class missing" */
        SEL sel = sel_registerName(sig->selector);
        Method m = sig->class_method ? class_getClassMethod(cls, sel) : class_getInstanceMethod(cls, sel);
        NSString *where = [NSString stringWithFormat:@"%c[%s %s]", sig->class_method ? '+' : '-',
                                                     class_names[sig->class_id], sig->selector];
        if (!m) continue; /* a variant without the method: "selector missing" */
        char *ret = method_copyReturnType(m);
        NSString *problem = compare_type("the return type", 0, ret, sig->returns);
        free(ret);
        unsigned n = method_getNumberOfArguments(m);
        if (!problem && n != (unsigned)sig->nargs + 2)
            problem = [NSString stringWithFormat:@"it takes %u arguments, csrc/ane/ane_msg.h says %d",
                                                 n - 2, sig->nargs];
        for (int a = 0; !problem && a < sig->nargs; a++) {
            char *t = method_copyArgumentType(m, (unsigned)a + 2);
            problem = compare_type("argument", a + 1, t, sig->args[a]);
            free(t);
        }
        if (problem) return [NSString stringWithFormat:@"%@: %@", where, problem];
    }
    return nil;
}

static pthread_once_t signatures_once = PTHREAD_ONCE_INIT;
static NSString *signature_mismatch;
static void check_signatures_once(void)
{
    @autoreleasepool {
        signature_mismatch = signature_problem();
    }
}

/* First thing in every method the backend calls. */
static void require_signatures(void)
{
    pthread_once(&signatures_once, check_signatures_once);
    if (signature_mismatch)
        [NSException raise:NSInvalidArgumentException format:@"signature mismatch: %@", signature_mismatch];
}

@interface FakeANEObject : NSObject
@end
@implementation FakeANEObject
- (instancetype)init
{
    if ((self = [super init])) __sync_fetch_and_add(&fake_ane_live_objects, 1);
    return self;
}
- (void)dealloc
{
    __sync_fetch_and_sub(&fake_ane_live_objects, 1);
}
@end

/* ------------------------------------------------------------------ surfaces and requests */

@interface _ANEIOSurfaceObject : FakeANEObject {
  @public
    IOSurfaceRef surface;
}
@end
@implementation _ANEIOSurfaceObject
+ (instancetype)objectWithIOSurface:(IOSurfaceRef)s
{
    require_signatures();
    id obj = (__bridge id)s;
    if (![obj isKindOfClass:NSClassFromString(@"LinuxFakeIOSurface")])
        [NSException raise:NSInvalidArgumentException format:@"objectWithIOSurface: not an IOSurfaceRef"];
    if (injected_failure("surface_object", NULL)) return nil;
    _ANEIOSurfaceObject *o = [[self alloc] init];
    o->surface = (IOSurfaceRef)CFRetain(s);
    return o;
}
- (void)dealloc
{
    CFRelease(surface);
}
@end

@interface _ANERequest : FakeANEObject {
  @public
    NSArray *inputs, *outputs;
}
@end
@implementation _ANERequest
+ (instancetype)requestWithInputs:(NSArray *)ins inputIndices:(NSArray *)inIdx
                          outputs:(NSArray *)outs outputIndices:(NSArray *)outIdx
                    weightsBuffer:(id)wb perfStats:(id)ps procedureIndex:(NSNumber *)proc
{
    require_signatures();
    REQUIRE(ins, NSArray, "requestWithInputs:");
    REQUIRE(inIdx, NSArray, "inputIndices:");
    REQUIRE(outs, NSArray, "outputs:");
    REQUIRE(outIdx, NSArray, "outputIndices:");
    REQUIRE(proc, NSNumber, "procedureIndex:");
    if (wb || ps) [NSException raise:NSInvalidArgumentException format:@"weightsBuffer/perfStats must be nil"];
    for (id o in [ins arrayByAddingObjectsFromArray:outs]) REQUIRE(o, _ANEIOSurfaceObject, "request surface");
    NSArray *indices = [inIdx arrayByAddingObjectsFromArray:outIdx];
    for (NSUInteger i = 0; i < [indices count]; i++) {
        REQUIRE(indices[i], NSNumber, "request index");
        if ([indices[i] intValue] != (int)(i < [inIdx count] ? i : i - [inIdx count])) return nil;
    }
    if ([ins count] != [inIdx count] || [outs count] != [outIdx count] || [proc intValue] != 0)
        return nil;
    if (injected_failure("request", NULL)) return nil;
    _ANERequest *r = [[self alloc] init];
    r->inputs = ins;
    r->outputs = outs;
    return r;
}
@end

/* ------------------------------------------------------------------ descriptor and model */

@interface _ANEInMemoryModelDescriptor : FakeANEObject {
  @public
    NSData *mil;
    NSDictionary *weights;
}
@end
@implementation _ANEInMemoryModelDescriptor
+ (instancetype)modelWithMILText:(NSData *)milText weights:(NSDictionary *)w optionsPlist:(id)opts
{
    require_signatures();
    REQUIRE(milText, NSData, "modelWithMILText:");
    REQUIRE(w, NSDictionary, "weights:");
    REQUIRE_OR_NIL(opts, NSDictionary, "optionsPlist:");
    for (id key in w) {
        REQUIRE(key, NSString, "weights key");
        NSDictionary *entry = w[key];
        REQUIRE(entry, NSDictionary, "weights entry");
        REQUIRE(entry[@"offset"], NSNumber, "weights offset");
        REQUIRE(entry[@"data"], NSData, "weights data");
    }
    if (injected_failure("descriptor", NULL)) return nil;
    const char prefix[] = "program(";
    if ([milText length] < sizeof prefix - 1 || memcmp([milText bytes], prefix, sizeof prefix - 1))
        return nil; /* not MIL at all */
    _ANEInMemoryModelDescriptor *d = [[self alloc] init];
    d->mil = [milText copy];
    d->weights = [w copy];
    return d;
}
@end

@interface _ANEInMemoryModel : FakeANEObject {
  @public
    _ANEInMemoryModelDescriptor *descriptor;
    fake_program program;
    BOOL compiled, loaded;
    int inflight;
}
- (BOOL)runRequest:(id)request path:(const char *)path error:(NSError **)error;
@end

static const uint8_t *lookup_weights(void *ctx, const char *path, size_t *len)
{
    NSDictionary *entry = ((__bridge NSDictionary *)ctx)[@(path)];
    NSData *data = entry[@"data"];
    NSUInteger offset = [entry[@"offset"] unsignedIntegerValue];
    if (!data || offset > [data length]) return NULL;
    *len = [data length] - offset;
    return (const uint8_t *)[data bytes] + offset;
}

/* The compiler's inputs on disk must be the descriptor's, in an owner-only directory. */
static NSString *check_staged_files(NSString *dir, _ANEInMemoryModelDescriptor *d)
{
    struct stat st;
    if (lstat([dir fileSystemRepresentation], &st) != 0 || !S_ISDIR(st.st_mode))
        return [NSString stringWithFormat:@"no model directory at %@", dir];
    if ((st.st_mode & 0777) != 0700 || st.st_uid != geteuid())
        return [NSString stringWithFormat:@"%@ has mode %03o (want 0700, ours)", dir,
                                          (unsigned)(st.st_mode & 0777)];
    NSData *mil = [NSData dataWithContentsOfFile:[dir stringByAppendingPathComponent:@"model.mil"]];
    if (![mil isEqualToData:d->mil]) return @"model.mil is missing or differs from the MIL text";
    if ([d->weights count] == 0) return @"the weights dictionary is empty";
    for (NSString *key in d->weights) {
        /* Every weight file under weights/, where @model_path/ points. */
        if (![key hasPrefix:@"@model_path/weights/"]) return [key stringByAppendingString:@": not under @model_path/weights/"];
        NSString *rel = [key substringFromIndex:[@"@model_path/" length]];
        NSString *file = [dir stringByAppendingPathComponent:rel];
        if (lstat([[file stringByDeletingLastPathComponent] fileSystemRepresentation], &st) != 0 ||
            (st.st_mode & 0777) != 0700)
            return [NSString stringWithFormat:@"%@ is not in an owner-only directory", rel];
        NSData *blob = [NSData dataWithContentsOfFile:file];
        if (!blob || ![blob isEqualToData:d->weights[key][@"data"]])
            return [rel stringByAppendingString:@" is missing or differs from its weights entry"];
    }
    return nil;
}

/* FAKE_ANE_REJECT: is `feature` in the list? */
static BOOL rejected_feature(const char *feature)
{
    const char *list = getenv("FAKE_ANE_REJECT");
    if (!list) return NO;
    for (NSString *f in [@(list) componentsSeparatedByString:@","])
        if ([f isEqualToString:@(feature)]) return YES;
    return NO;
}

/* FAKE_ANE_NOOP: does an eval through `path` do nothing (and still say YES)? */
static BOOL noop_path(const char *path)
{
    const char *list = getenv("FAKE_ANE_NOOP");
    if (!list) return NO;
    for (NSString *p in [@(list) componentsSeparatedByString:@","])
        if ([p isEqualToString:@(path)]) return YES;
    return NO;
}

/* What the real compiler said when a chip or OS did not take a program form ("MIL compat"). */
static NSString *form_rejection(const char *mil, NSDictionary *weights, int layers)
{
    BOOL ios16 = strncmp(mil, "program(1.0)", 12) == 0;
    if (rejected_feature(ios16 ? "ios16" : "ios18"))
        return [NSString stringWithFormat:@"MIL compat: %s programs are not supported here", ios16 ? "ios16" : "ios18"];
    if ([weights count] > 1 && rejected_feature("files"))
        return @"MIL compat: one weight file per layer is not supported here";
    if ([weights count] == 1 && layers > 1 && rejected_feature("onefile"))
        return @"MIL compat: several blobs in one weight file are not supported here";
    return nil;
}

@implementation _ANEInMemoryModel
+ (instancetype)inMemoryModelWithDescriptor:(id)desc
{
    require_signatures();
    REQUIRE(desc, _ANEInMemoryModelDescriptor, "inMemoryModelWithDescriptor:");
    if (injected_failure("model", NULL)) return nil;
    _ANEInMemoryModel *m = [[self alloc] init];
    m->descriptor = desc;
    return m;
}
- (void)dealloc
{
    if (loaded) __sync_fetch_and_add(&fake_ane_freed_while_loaded, 1);
    fake_program_free(&program);
}
/* Deterministic in the program and its weights, like the real one: identical kernels share
 * a directory. */
- (NSString *)hexStringIdentifier
{
    require_signatures();
    const char *forced = getenv("FAKE_ANE_HEX"); /* a hostile identifier, for the path checks */
    if (forced) return @(forced);
    uint64_t h = 1469598103934665603ull;
    NSMutableData *all = [descriptor->mil mutableCopy];
    for (NSString *k in [[descriptor->weights allKeys] sortedArrayUsingSelector:@selector(compare:)])
        [all appendData:descriptor->weights[k][@"data"]];
    const uint8_t *p = [all bytes];
    for (NSUInteger i = 0; i < [all length]; i++) h = (h ^ p[i]) * 1099511628211ull;
    return [NSString stringWithFormat:@"%016llx%08x", (unsigned long long)h, (unsigned)[all length]];
}
- (BOOL)compileWithQoS:(FAKE_ANE_QOS_T)qos options:(NSDictionary *)opts error:(NSError **)error
{
    require_signatures();
    require_qos((unsigned int)qos, "compileWithQoS:");
    REQUIRE(opts, NSDictionary, "compileWithQoS:options:");
    /* The real runtime leaks on every compile and gives out after about 119. */
    if (__sync_add_and_fetch(&fake_ane_compile_calls, 1) > env_long("FAKE_ANE_MAX_COMPILES", 119)) {
        if (error) *error = fake_error(7, @"ANECCompile() FAILED: out of compiler resources");
        return NO;
    }
    if (compiled) {
        if (error) *error = fake_error(3, @"model already compiled");
        return NO;
    }
    NSString *dir = [NSTemporaryDirectory() stringByAppendingPathComponent:[self hexStringIdentifier]];
    NSString *problem = check_staged_files(dir, descriptor);
    if (problem) {
        if (error) *error = fake_error(2, problem);
        return NO;
    }
    char msg[512] = "";
    NSString *text = [[NSString alloc] initWithData:descriptor->mil encoding:NSUTF8StringEncoding];
    fake_program_free(&program);
    if (fake_program_parse([text UTF8String], lookup_weights, (__bridge void *)descriptor->weights,
                           &program, msg, sizeof msg) != 0) {
        if (error) *error = fake_error(4, [NSString stringWithFormat:@"ANECCompile() FAILED: %s", msg]);
        return NO;
    }
    NSString *rejection = form_rejection([text UTF8String], descriptor->weights, program.layers);
    if (rejection) {
        if (error) *error = fake_error(15, rejection);
        return NO;
    }
    long only = env_long("FAKE_ANE_FAIL_CHANNELS", 0);
    if ((only == 0 || only == program.channels) && injected_failure("compile", error)) return NO;
    compiled = YES;
    return YES;
}
- (BOOL)loadWithQoS:(unsigned int)qos options:(NSDictionary *)opts error:(NSError **)error
{
    require_signatures();
    require_qos(qos, "loadWithQoS:");
    REQUIRE(opts, NSDictionary, "loadWithQoS:options:");
    __sync_fetch_and_add(&fake_ane_load_calls, 1);
    if (!compiled || loaded) {
        if (error) *error = fake_error(5, loaded ? @"already loaded" : @"load before compile");
        return NO;
    }
    if (fake_ane_loaded_now >= env_long("FAKE_ANE_MAX_LOADED", 128)) {
        if (error) *error = fake_error(8, @"too many programs loaded");
        return NO;
    }
    if (injected_failure("load", error)) return NO;
    loaded = YES;
    __sync_fetch_and_add(&fake_ane_loaded_now, 1);
    return YES;
}
- (BOOL)evaluateWithQoS:(unsigned int)qos options:(NSDictionary *)opts request:(id)request
                  error:(NSError **)error
{
    require_signatures();
    require_qos(qos, "evaluateWithQoS:");
    REQUIRE(opts, NSDictionary, "evaluateWithQoS:options:");
    __sync_fetch_and_add(&fake_ane_eval_calls, 1);
    if (injected_failure("eval", error)) return NO;
    return [self runRequest:request path:"eval" error:error];
}
/* What the hardware would do: read the input surface, write the output surface.  The CPU
 * must not be holding a lock on either (the IOSurface fake refuses mismatched locks). */
- (BOOL)runRequest:(id)request path:(const char *)path error:(NSError **)error
{
    REQUIRE(request, _ANERequest, "request:");
    if (!loaded) {
        if (error) *error = fake_error(9, @"evaluate before load");
        return NO;
    }
    _ANERequest *r = request;
    if ([r->inputs count] != 1 || [r->outputs count] != 1) {
        if (error) *error = fake_error(10, @"the program has one input and one output");
        return NO;
    }
    IOSurfaceRef in = ((_ANEIOSurfaceObject *)r->inputs[0])->surface;
    IOSurfaceRef out = ((_ANEIOSurfaceObject *)r->outputs[0])->surface;
    size_t bytes = (size_t)program.channels * (size_t)program.spatial * 2;
    size_t in_size = IOSurfaceGetAllocSize(in), out_size = IOSurfaceGetAllocSize(out);
    if (in_size < bytes || out_size < bytes || in_size % 128 || out_size % 128) {
        if (error) *error = fake_error(12, [NSString stringWithFormat:
            @"surfaces of %zu/%zu bytes for a %zu-byte tensor (need >= and 128-byte aligned)",
            in_size, out_size, bytes]);
        return NO;
    }
    if (IOSurfaceLock(in, kIOSurfaceLockReadOnly, NULL) != KERN_SUCCESS) {
        if (error) *error = fake_error(13, @"input surface is locked by the CPU during eval");
        return NO;
    }
    if (IOSurfaceLock(out, 0, NULL) != KERN_SUCCESS) {
        IOSurfaceUnlock(in, kIOSurfaceLockReadOnly, NULL);
        if (error) *error = fake_error(13, @"output surface is locked by the CPU during eval");
        return NO;
    }
    if (__sync_add_and_fetch(&inflight, 1) > 1) __sync_fetch_and_add(&fake_ane_overlapping_evals, 1);
    int rc = noop_path(path) ? 0
                             : fake_program_run(&program, IOSurfaceGetBaseAddress(in), IOSurfaceGetBaseAddress(out));
    const char *corrupt = getenv("FAKE_ANE_CORRUPT");
    if (corrupt && (strcmp(corrupt, "all") == 0 || strcmp(corrupt, path) == 0))
        ((uint16_t *)IOSurfaceGetBaseAddress(out))[0] += 1;
    __sync_fetch_and_sub(&inflight, 1);
    IOSurfaceUnlock(out, 0, NULL);
    IOSurfaceUnlock(in, kIOSurfaceLockReadOnly, NULL);
    if (rc && error) *error = fake_error(14, @"out of memory");
    return rc == 0;
}
- (BOOL)unloadWithQoS:(unsigned int)qos error:(NSError **)error
{
    require_signatures();
    require_qos(qos, "unloadWithQoS:");
    __sync_fetch_and_add(&fake_ane_unload_calls, 1);
    if (!loaded) {
        if (error) *error = fake_error(6, @"unload of a model that is not loaded");
        return NO;
    }
    if (injected_failure("unload", error)) return NO;
    loaded = NO;
    __sync_fetch_and_sub(&fake_ane_loaded_now, 1);
    return YES;
}
@end

/* ------------------------------------------------------------------ the realtime client */

@interface _ANEClient : NSObject
@end
@implementation _ANEClient
+ (instancetype)sharedConnection
{
    require_signatures();
    static _ANEClient *shared;
    if (injected_failure("shared_connection", NULL)) return nil;
    @synchronized(self) {
        if (!shared) shared = [[self alloc] init];
    }
    return shared;
}
- (BOOL)evaluateRealTimeWithModel:(id)model options:(NSDictionary *)opts request:(id)request
                            error:(NSError **)error
{
    require_signatures();
    REQUIRE(model, _ANEInMemoryModel, "evaluateRealTimeWithModel:");
    REQUIRE(opts, NSDictionary, "evaluateRealTimeWithModel:options:");
    __sync_fetch_and_add(&fake_ane_rt_eval_calls, 1);
    if (injected_failure("rt_eval", error)) return NO;
    return [(_ANEInMemoryModel *)model runRequest:request path:"rt_eval" error:error];
}
/* The direct path's client: its own instance, not the shared connection. */
- (instancetype)initWithRestrictedAccessAllowed:(BOOL)allowed
{
    require_signatures();
    if (!allowed)
        [NSException raise:NSInvalidArgumentException format:@"initWithRestrictedAccessAllowed: NO (the direct path asks for YES)"];
    if (injected_failure("direct_client", NULL)) return nil;
    return [super init];
}
- (BOOL)doEvaluateDirectWithModel:(id)model options:(NSDictionary *)opts request:(id)request
                              qos:(unsigned int)qos error:(NSError **)error
{
    require_signatures();
    REQUIRE(model, _ANEInMemoryModel, "doEvaluateDirectWithModel:");
    REQUIRE(opts, NSDictionary, "doEvaluateDirectWithModel:options:");
    require_qos(qos, "doEvaluateDirectWithModel:...qos:");
    __sync_fetch_and_add(&fake_ane_direct_eval_calls, 1);
    if (injected_failure("direct_eval", error)) return NO;
    return [(_ANEInMemoryModel *)model runRequest:request path:"direct_eval" error:error];
}
@end

/* Where this process's NSTemporaryDirectory() is (GNUstep picks it from $TEMP, or makes
 * /tmp/GNUstepSecure<uid>): the tests look there for left-over kernel directories. */
int fake_ane_tmpdir(char *buf, size_t buflen)
{
    @autoreleasepool {
        return snprintf(buf, buflen, "%s", [NSTemporaryDirectory() fileSystemRepresentation]);
    }
}
