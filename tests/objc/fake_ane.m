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
 * Knobs (environment, read at each call):
 *   FAKE_ANE_FAIL_AT     descriptor | model | compile | load | eval | rt_eval | unload |
 *                        surface_object | request | shared_connection
 *   FAKE_ANE_FAIL_HOW    error (NO/nil with an NSError; default) | raise (an NSException)
 *   FAKE_ANE_FAIL_AFTER  calls of that stage that succeed first (default 0)
 *   FAKE_ANE_FAIL_CHANNELS  only fail compiles of this channel count (a chip that cannot)
 *   FAKE_ANE_MAX_COMPILES / FAKE_ANE_MAX_LOADED  the runtime's own limits (119 / 128)
 *   FAKE_ANE_HEX         what hexStringIdentifier returns instead of the program's hash
 * Building with -D_ANERequest=... or -D_ANEClient=... renames a class: "class missing".
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_ane_program.h"

/* Counters the tests read (ctypes) after a run. */
int fake_ane_live_objects;        /* descriptors, models, surface objects, requests alive */
int fake_ane_compile_calls, fake_ane_load_calls, fake_ane_unload_calls;
int fake_ane_eval_calls, fake_ane_rt_eval_calls;
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
                                   "unload", "surface_object", "request", "shared_connection"};
    static int calls[sizeof stages / sizeof stages[0]];
    const char *at = getenv("FAKE_ANE_FAIL_AT");
    if (!at || strcmp(at, stage) != 0) return NO;
    size_t i = 0;
    while (i < sizeof stages / sizeof stages[0] && strcmp(stages[i], stage) != 0) i++;
    if (i == sizeof stages / sizeof stages[0]) return NO;
    if (__sync_fetch_and_add(&calls[i], 1) < env_long("FAKE_ANE_FAIL_AFTER", 0)) return NO;
    const char *how = getenv("FAKE_ANE_FAIL_HOW");
    if (how && strcmp(how, "raise") == 0)
        [NSException raise:@"FakeANEInjectedException" format:@"injected exception in %s", stage];
    if (error) *error = fake_error(11, [NSString stringWithFormat:@"injected failure in %s", stage]);
    return YES;
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
- (BOOL)runRequest:(id)request error:(NSError **)error;
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
    NSData *blob = [NSData dataWithContentsOfFile:[dir stringByAppendingPathComponent:@"weights/weight.bin"]];
    NSData *want = d->weights[@"@model_path/weights/weight.bin"][@"data"];
    if (!want || ![blob isEqualToData:want]) return @"weights/weight.bin is missing or differs";
    return nil;
}

@implementation _ANEInMemoryModel
+ (instancetype)inMemoryModelWithDescriptor:(id)desc
{
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
- (BOOL)compileWithQoS:(unsigned int)qos options:(NSDictionary *)opts error:(NSError **)error
{
    require_qos(qos, "compileWithQoS:");
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
    long only = env_long("FAKE_ANE_FAIL_CHANNELS", 0);
    if ((only == 0 || only == program.channels) && injected_failure("compile", error)) return NO;
    compiled = YES;
    return YES;
}
- (BOOL)loadWithQoS:(unsigned int)qos options:(NSDictionary *)opts error:(NSError **)error
{
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
    require_qos(qos, "evaluateWithQoS:");
    REQUIRE(opts, NSDictionary, "evaluateWithQoS:options:");
    __sync_fetch_and_add(&fake_ane_eval_calls, 1);
    if (injected_failure("eval", error)) return NO;
    return [self runRequest:request error:error];
}
/* What the hardware would do: read the input surface, write the output surface.  The CPU
 * must not be holding a lock on either (the IOSurface fake refuses mismatched locks). */
- (BOOL)runRequest:(id)request error:(NSError **)error
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
    int rc = fake_program_run(&program, IOSurfaceGetBaseAddress(in), IOSurfaceGetBaseAddress(out));
    __sync_fetch_and_sub(&inflight, 1);
    IOSurfaceUnlock(out, 0, NULL);
    IOSurfaceUnlock(in, kIOSurfaceLockReadOnly, NULL);
    if (rc && error) *error = fake_error(14, @"out of memory");
    return rc == 0;
}
- (BOOL)unloadWithQoS:(unsigned int)qos error:(NSError **)error
{
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
    REQUIRE(model, _ANEInMemoryModel, "evaluateRealTimeWithModel:");
    REQUIRE(opts, NSDictionary, "evaluateRealTimeWithModel:options:");
    __sync_fetch_and_add(&fake_ane_rt_eval_calls, 1);
    if (injected_failure("rt_eval", error)) return NO;
    return [(_ANEInMemoryModel *)model runRequest:request error:error];
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
