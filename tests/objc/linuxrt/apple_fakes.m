/* apple_fakes.m -- Linux stand-ins for the Apple C APIs declared by the shim headers:
 * CoreFoundation (CFRetain/CFRelease on toll-free-bridged objects), IOSurface
 * (page-protected buffers: unlocked = PROT_NONE, read-only lock = PROT_READ, so touching
 * one outside a lock crashes), mach_time (Apple-Silicon-like 24 MHz ticks, timebase 125/3),
 * the part of libdispatch throughput.m uses (serial queues + dispatch_async_f, semaphores)
 * and sysctlbyname.  Test-only; MRC.  Adapted from the project's objc-linux-kit. */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>
#include <mach/mach_time.h>
#include <dispatch/dispatch.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/sysctl.h>

static void fake_fatal(const char *what)
{
  fprintf(stderr, "apple_fakes: %s\n", what);
  abort();
}

/* ------------------------------------------------------------ CoreFoundation */
CFTypeRef CFRetain(CFTypeRef cf)
{
  if (!cf) fake_fatal("CFRetain(NULL)");
  return (CFTypeRef)[(id)cf retain];
}
void CFRelease(CFTypeRef cf)
{
  if (!cf) fake_fatal("CFRelease(NULL)");
  [(id)cf release];
}

/* ------------------------------------------------------------ IOSurface */
const CFStringRef kIOSurfaceAllocSize       = (CFStringRef)@"IOSurfaceAllocSize";
const CFStringRef kIOSurfaceWidth           = (CFStringRef)@"IOSurfaceWidth";
const CFStringRef kIOSurfaceHeight          = (CFStringRef)@"IOSurfaceHeight";
const CFStringRef kIOSurfaceBytesPerRow     = (CFStringRef)@"IOSurfaceBytesPerRow";
const CFStringRef kIOSurfaceBytesPerElement = (CFStringRef)@"IOSurfaceBytesPerElement";
const CFStringRef kIOSurfacePixelFormat     = (CFStringRef)@"IOSurfacePixelFormat";

int linux_fake_iosurface_live = 0;

@interface LinuxFakeIOSurface : NSObject {
@public
  void *base; size_t size, mapped, width, height, bpe, bpr;
  int locks; uint32_t lockOptions, seed;
}
@end
@implementation LinuxFakeIOSurface
- (void)dealloc
{
  if (locks) fprintf(stderr, "apple_fakes: IOSurface released while locked\n");
  munmap(base, mapped);
  __sync_fetch_and_sub(&linux_fake_iosurface_live, 1);
  [super dealloc];
}
@end

static int fake_strict(void)
{
  const char *s = getenv("LINUX_FAKE_IOSURFACE_STRICT");
  return !(s && s[0] == '0');
}
static void fake_protect(LinuxFakeIOSurface *s)
{
  int prot = PROT_READ | PROT_WRITE;
  if (fake_strict())
    prot = s->locks == 0 ? PROT_NONE
         : (s->lockOptions & kIOSurfaceLockReadOnly) ? PROT_READ : PROT_READ | PROT_WRITE;
  mprotect(s->base, s->mapped, prot);
}
static LinuxFakeIOSurface *fake_surface(IOSurfaceRef r)
{
  id o = (id)r;
  if (![o isKindOfClass:[LinuxFakeIOSurface class]]) fake_fatal("not an IOSurfaceRef");
  return (LinuxFakeIOSurface *)o;
}
static size_t dict_size(NSDictionary *d, CFStringRef key)
{
  id v = [d objectForKey:(id)key];
  if (v && ![v isKindOfClass:[NSNumber class]]) fake_fatal("IOSurface property is not a CFNumber");
  return v ? [v unsignedLongValue] : 0;
}

IOSurfaceRef IOSurfaceCreate(CFDictionaryRef properties)
{
  NSDictionary *d = (NSDictionary *)properties;
  if (![d isKindOfClass:[NSDictionary class]]) fake_fatal("IOSurfaceCreate: properties not a dictionary");
  size_t w = dict_size(d, kIOSurfaceWidth), h = dict_size(d, kIOSurfaceHeight);
  size_t bpe = dict_size(d, kIOSurfaceBytesPerElement), bpr = dict_size(d, kIOSurfaceBytesPerRow);
  size_t alloc = dict_size(d, kIOSurfaceAllocSize);
  if (!bpe) bpe = 1;
  if (!bpr) bpr = w * bpe;
  if (!alloc) alloc = h * bpr;
  if (!alloc || (w && h && alloc < h * bpr)) return NULL;
  if (getenv("LINUX_FAKE_IOSURFACE_FAIL")) return NULL;  /* tests: the system is out of surfaces */
  LinuxFakeIOSurface *s = [[LinuxFakeIOSurface alloc] init];
  long page = sysconf(_SC_PAGESIZE);
  s->size = alloc; s->mapped = (alloc + page - 1) / page * page;
  s->width = w; s->height = h; s->bpe = bpe; s->bpr = bpr;
  s->base = mmap(NULL, s->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s->base == MAP_FAILED) { [s release]; return NULL; }
  fake_protect(s);
  __sync_fetch_and_add(&linux_fake_iosurface_live, 1);
  return (IOSurfaceRef)s;                 /* +1, released with CFRelease */
}
kern_return_t IOSurfaceLock(IOSurfaceRef buffer, IOSurfaceLockOptions options, uint32_t *seed)
{
  LinuxFakeIOSurface *s = fake_surface(buffer);
  @synchronized (s) {
    if (s->locks && s->lockOptions != options) return 0xe00002c2; /* kIOReturnBadArgument */
    s->locks++; s->lockOptions = options;
    if (seed) *seed = s->seed;
    fake_protect(s);
  }
  return KERN_SUCCESS;
}
kern_return_t IOSurfaceUnlock(IOSurfaceRef buffer, IOSurfaceLockOptions options, uint32_t *seed)
{
  LinuxFakeIOSurface *s = fake_surface(buffer);
  @synchronized (s) {
    if (!s->locks) return 0xe00002cd;                       /* kIOReturnNotLocked */
    if (options != s->lockOptions) return 0xe00002c2;       /* mismatched options */
    if (!(options & kIOSurfaceLockReadOnly)) s->seed++;
    s->locks--;
    if (seed) *seed = s->seed;
    fake_protect(s);
  }
  return KERN_SUCCESS;
}
void *IOSurfaceGetBaseAddress(IOSurfaceRef b) { return fake_surface(b)->base; }
size_t IOSurfaceGetAllocSize(IOSurfaceRef b) { return fake_surface(b)->size; }
size_t IOSurfaceGetBytesPerRow(IOSurfaceRef b) { return fake_surface(b)->bpr; }
size_t IOSurfaceGetWidth(IOSurfaceRef b) { return fake_surface(b)->width; }
size_t IOSurfaceGetHeight(IOSurfaceRef b) { return fake_surface(b)->height; }
size_t IOSurfaceGetBytesPerElement(IOSurfaceRef b) { return fake_surface(b)->bpe; }
IOSurfaceID IOSurfaceGetID(IOSurfaceRef b) { return (IOSurfaceID)(uintptr_t)fake_surface(b); }

/* ------------------------------------------------------------ mach_time */
static uint64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
uint64_t mach_absolute_time(void) { return mono_ns() * 3 / 125; }      /* 24 MHz ticks */
kern_return_t mach_timebase_info(mach_timebase_info_t info)
{
  info->numer = 125; info->denom = 3;                                   /* as on M1..M4 */
  return KERN_SUCCESS;
}

/* ------------------------------------------------------------ libdispatch */
struct fake_item { struct fake_item *next; void *ctx; dispatch_function_t fn; id queue; };
struct fake_qstate {
  pthread_mutex_t mu; pthread_cond_t cv; struct fake_item *head, *tail;
  int stop, refs; pthread_t thread;
};
static void qstate_unref(struct fake_qstate *st)
{
  pthread_mutex_lock(&st->mu);
  int left = --st->refs;
  pthread_mutex_unlock(&st->mu);
  if (!left) {
    pthread_mutex_destroy(&st->mu); pthread_cond_destroy(&st->cv); free(st);
  }
}

@interface LinuxFakeDispatchQueue : NSObject <OS_dispatch_queue> {
@public struct fake_qstate *st; char label[64];
}
@end

static void *queue_main(void *arg)
{
  struct fake_qstate *st = arg;
  GSRegisterCurrentThread();
  for (;;) {
    pthread_mutex_lock(&st->mu);
    while (!st->head && !st->stop) pthread_cond_wait(&st->cv, &st->mu);
    struct fake_item *it = st->head;
    if (!it) { pthread_mutex_unlock(&st->mu); break; }
    st->head = it->next;
    if (!st->head) st->tail = NULL;
    pthread_mutex_unlock(&st->mu);
    NSAutoreleasePool *pool = [[NSAutoreleasePool alloc] init];
    it->fn(it->ctx);
    [pool drain];
    [it->queue release];          /* pending work kept the queue alive */
    free(it);
  }
  GSUnregisterCurrentThread();
  qstate_unref(st);
  return NULL;
}

@implementation LinuxFakeDispatchQueue
- (instancetype)initWithLabel:(const char *)l
{
  if ((self = [super init])) {
    st = calloc(1, sizeof *st);
    pthread_mutex_init(&st->mu, NULL); pthread_cond_init(&st->cv, NULL);
    st->refs = 2;                 /* this object + the worker thread */
    snprintf(label, sizeof label, "%s", l ? l : "");
    [NSThread class];             /* make sure GNUstep knows it is multi-threaded */
    if (pthread_create(&st->thread, NULL, queue_main, st) != 0) fake_fatal("pthread_create");
    pthread_detach(st->thread);
  }
  return self;
}
- (void)dealloc
{
  pthread_mutex_lock(&st->mu);
  st->stop = 1;
  pthread_cond_signal(&st->cv);
  pthread_mutex_unlock(&st->mu);
  qstate_unref(st);
  [super dealloc];
}
- (void)enqueueFn:(dispatch_function_t)fn ctx:(void *)ctx
{
  struct fake_item *it = calloc(1, sizeof *it);
  if (!it) fake_fatal("out of memory");
  it->fn = fn; it->ctx = ctx; it->queue = [self retain];
  pthread_mutex_lock(&st->mu);
  if (st->tail) st->tail->next = it; else st->head = it;
  st->tail = it;
  pthread_cond_signal(&st->cv);
  pthread_mutex_unlock(&st->mu);
}
@end

static LinuxFakeDispatchQueue *fake_queue(dispatch_queue_t q)
{
  if (![(id)q isKindOfClass:[LinuxFakeDispatchQueue class]]) fake_fatal("not a dispatch queue");
  return (LinuxFakeDispatchQueue *)q;
}
dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
  if (attr) fake_fatal("only DISPATCH_QUEUE_SERIAL is emulated");
  return (dispatch_queue_t)[[LinuxFakeDispatchQueue alloc] initWithLabel:label];
}
void dispatch_async_f(dispatch_queue_t q, void *ctx, dispatch_function_t fn)
{
  [fake_queue(q) enqueueFn:fn ctx:ctx];
}
@interface LinuxFakeDispatchSemaphore : NSObject <OS_dispatch_semaphore> {
@public pthread_mutex_t mu; pthread_cond_t cv; long value, orig;
}
@end
@implementation LinuxFakeDispatchSemaphore
- (void)dealloc
{
  if (value < orig)   /* same check (and crash) as libdispatch on macOS */
    fake_fatal("BUG IN CLIENT OF LIBDISPATCH: Semaphore object deallocated while in use");
  pthread_mutex_destroy(&mu); pthread_cond_destroy(&cv);
  [super dealloc];
}
@end
dispatch_semaphore_t dispatch_semaphore_create(intptr_t value)
{
  if (value < 0) fake_fatal("dispatch_semaphore_create: negative value");
  LinuxFakeDispatchSemaphore *s = [[LinuxFakeDispatchSemaphore alloc] init];
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->mu, NULL); pthread_cond_init(&s->cv, &a);
  pthread_condattr_destroy(&a);
  s->value = s->orig = value;
  return (dispatch_semaphore_t)s;
}
static LinuxFakeDispatchSemaphore *fake_sem(dispatch_semaphore_t d)
{
  if (![(id)d isKindOfClass:[LinuxFakeDispatchSemaphore class]]) fake_fatal("not a semaphore");
  return (LinuxFakeDispatchSemaphore *)d;
}
intptr_t dispatch_semaphore_wait(dispatch_semaphore_t d, dispatch_time_t timeout)
{
  LinuxFakeDispatchSemaphore *s = fake_sem(d);
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  while (s->value <= 0 && rc == 0) {
    if (timeout == DISPATCH_TIME_FOREVER) {
      pthread_cond_wait(&s->cv, &s->mu);
    } else {
      uint64_t deadline = timeout == DISPATCH_TIME_NOW ? mono_ns() : timeout;
      struct timespec ts = { (time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull) };
      rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
  }
  if (s->value > 0) { s->value--; rc = 0; }
  pthread_mutex_unlock(&s->mu);
  return rc ? 1 : 0;
}
intptr_t dispatch_semaphore_signal(dispatch_semaphore_t d)
{
  LinuxFakeDispatchSemaphore *s = fake_sem(d);
  pthread_mutex_lock(&s->mu);
  s->value++;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

/* ------------------------------------------------------------ sysctl */
/* The three names the ANE backend's describe() reads; the values say plainly they are fake. */
int sysctlbyname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
  (void)newp; (void)newlen;
  const char *v = !strcmp(name, "machdep.cpu.brand_string") ? "fake chip (Linux simulation)"
                : !strcmp(name, "kern.osproductversion")    ? "0.0-simulated"
                : !strcmp(name, "kern.osversion")           ? "SIM"
                : NULL;
  if (!v || !oldlenp) return -1;
  size_t n = strlen(v) + 1;
  if (oldp) {
    if (*oldlenp < n) return -1;
    memcpy(oldp, v, n);
  }
  *oldlenp = n;
  return 0;
}
