/* objc_abi_probe.m -- every Objective-C construct the native sources use or are likely to, so
 * that compiling it (same flags, same target) shows which runtime symbols clang itself emits:
 * ARC entry points, class and metaclass references, the exception personality, literal
 * singletons, property accessors, @synchronized, blocks.  No header declares most of these,
 * so darwin_build.py measures them here instead of listing them.  Only language constructs
 * belong here, never a call to a C function: whatever this file references is allowed. */
#import <Foundation/Foundation.h>

@interface ProbeObject : NSObject {
  @public
    id strongIvar;
}
@property (copy) NSString *copied;
@property (strong, nonatomic) id strongProperty;
@property (weak) id weakProperty;
@property (atomic) NSUInteger plain;
+ (instancetype)make;
@end

@implementation ProbeObject
- (instancetype)init
{
    if ((self = [super init])) strongIvar = @"literal";
    return self;
}
- (void)dealloc
{
    strongIvar = nil;
}
+ (instancetype)make
{
    return [[self alloc] init];
}
@end

id probe_literals(int i, size_t n, double d, BOOL b);
id probe_exceptions(id x);
void *probe_bridges(id x);
id probe_pool_and_weak(id x);
id probe_blocks(id x);
int probe_synchronized(id x);
Class probe_class(void);
const char *probe_out_parameters(BOOL fail);

id probe_literals(int i, size_t n, double d, BOOL b)
{
    NSArray *a = @[@(i), @(n), @(d), @(b), @YES, @1, @"s"];
    NSDictionary *m = @{@"k" : a};
    return @[a, m, @[], @{}, [ProbeObject make]];
}

id probe_exceptions(id x)
{
    @try {
        @throw x;
    } @catch (NSException *e) {
        return e;
    } @catch (id e) {
        return e;
    } @finally {
        x = nil;
    }
    return nil;
}

void *probe_bridges(id x)
{
    void *p = (__bridge_retained void *)x;
    id back = (__bridge_transfer id)p;
    return (__bridge void *)back;
}

id probe_pool_and_weak(id x)
{
    __weak id w = x;
    @autoreleasepool {
        id strong = w;
        return strong;
    }
}

id probe_blocks(id x)
{
    id (^block)(void) = ^{ return x; };
    return [block copy];
}

int probe_synchronized(id x)
{
    @synchronized (x) {
        return 1;
    }
}

Class probe_class(void)
{
    return [ProbeObject class];
}

/* +alloc sent to a class held in a variable, apart from its init (clang makes it a runtime
 * call of its own on newer deployment targets). */
id probe_alloc(Class cls);
id probe_alloc(Class cls)
{
    return [cls alloc];
}

/* Out-parameters (NSError **, NSData **): ARC's write-back through __autoreleasing
 * temporaries, and an inner pointer kept past its object's last use. */
static BOOL probe_fill(BOOL fail, NSData **data, NSError **error)
{
    *data = [NSData dataWithBytes:"x" length:1];
    if (fail) *error = [NSError errorWithDomain:@"probe" code:1 userInfo:nil];
    return !fail;
}

const char *probe_out_parameters(BOOL fail)
{
    NSData *data = nil;
    NSError *error = nil;
    if (!probe_fill(fail, &data, &error)) return [[error localizedDescription] UTF8String];
    return [data bytes];
}
