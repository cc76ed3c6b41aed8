/* ane_framework.m -- the host, the private framework and its classes (see ane_internal.h).
 *
 * AppleNeuralEngine.framework is private: it is opened by path and its classes are looked up
 * by name.  ANETHRU_SIMULATED_ANE (tests only, Linux): the framework path and the host's
 * identity come from the environment, and probe and describe say SIMULATED, so the simulated
 * build's numbers can never pass as ANE figures.
 */
#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>
#include <sys/utsname.h>

#include "ane_internal.h"

#ifndef ANETHRU_ANE_FRAMEWORK_PATH
#define ANETHRU_ANE_FRAMEWORK_PATH \
    "/System/Library/PrivateFrameworks/AppleNeuralEngine.framework/AppleNeuralEngine"
#endif
#define SIMULATED_LABEL "SIMULATED (Linux, fake AppleNeuralEngine) \u2014 not ANE figures"

static pthread_once_t framework_once = PTHREAD_ONCE_INIT;
static int framework_status = ANETHRU_E_UNAVAILABLE;
static int framework_dlopened;
static char framework_why[ANETHRU_ERRLEN];
static Class classes[ANE_NCLASSES];

/* ------------------------------------------------------------------ messages */

/* The UTF-8 pointer lives only as long as msg (under ARC a temporary string can go at the end
 * of its statement), so it is copied right here. */
void ane_copy_text(char *err, size_t errlen, NSString *msg)
{
    const char *s = [msg UTF8String];
    anethru_set_error(err, errlen, "%s", s ? s : "(no message)");
}

void ane_copy_exception(char *err, size_t errlen, const char *during, id ex)
{
    NSString *msg;
    if ([ex isKindOfClass:[NSException class]])
        msg = [NSString stringWithFormat:@"%s: Objective-C exception %@: %@", during,
                                         [(NSException *)ex name], [(NSException *)ex reason]];
    else
        msg = [NSString stringWithFormat:@"%s: Objective-C exception %@", during, ex];
    ane_copy_text(err, errlen, msg);
}

void ane_copy_nserror(char *err, size_t errlen, const char *what, NSError *e)
{
    ane_copy_text(err, errlen, e ? [NSString stringWithFormat:@"%s: %@", what, e]
                                 : [NSString stringWithFormat:@"%s: (the framework gave no NSError)", what]);
}

/* ------------------------------------------------------------------ the host */

/* The rule, apart from where its inputs come from.  translated: 1 under Rosetta. */
static int host_reason(const char *sysname, const char *machine, int translated, char *why,
                       size_t whylen)
{
    if (strcmp(sysname, "Darwin") != 0) {
        anethru_set_error(why, whylen, "the ANE needs macOS; this is %s", sysname);
        return ANETHRU_E_UNAVAILABLE;
    }
    if (translated == 1) {
        anethru_set_error(why, whylen, "this process runs as %s under Rosetta; the ANE needs an "
                          "arm64 process (use an arm64 Python)", machine);
        return ANETHRU_E_UNAVAILABLE;
    }
    if (strcmp(machine, "arm64") != 0) {
        anethru_set_error(why, whylen,
                          "the ANE needs Apple Silicon (arm64); this process runs as %s "
                          "(an Intel Mac, or an x86_64 Python under Rosetta)", machine);
        return ANETHRU_E_UNAVAILABLE;
    }
    return ANETHRU_OK;
}

/* Checked at run time so every build says it the same way: an x86_64 Python on an Apple
 * Silicon Mac runs under Rosetta and reports x86_64 (sysctl.proc_translated = 1). */
int ane_host_check(char *why, size_t whylen)
{
#ifdef ANETHRU_SIMULATED_ANE
    /* "sysname machine translated", so tests can play any host; a Mac by default. */
    char sysname[64] = "Darwin", machine[64] = "arm64";
    int translated = 0;
    const char *host = getenv("ANETHRU_SIM_HOST");
    if (host && *host) sscanf(host, "%63s %63s %d", sysname, machine, &translated);
    return host_reason(sysname, machine, translated, why, whylen);
#else
    struct utsname u;
    if (uname(&u) != 0) {
        anethru_set_error(why, whylen, "uname() failed; cannot tell whether this is macOS");
        return ANETHRU_E_UNAVAILABLE;
    }
    int translated = 0;
    if (strcmp(u.sysname, "Darwin") == 0) {
        size_t len = sizeof translated;
        if (sysctlbyname("sysctl.proc_translated", &translated, &len, NULL, 0) != 0) translated = 0;
    }
    return host_reason(u.sysname, u.machine, translated, why, whylen);
#endif
}

/* ------------------------------------------------------------------ the framework */

static const char *framework_path(void)
{
#ifdef ANETHRU_SIMULATED_ANE
    const char *p = getenv("ANETHRU_SIM_ANE_FRAMEWORK");
    if (p && *p) return p;
#endif
    return ANETHRU_ANE_FRAMEWORK_PATH;
}

#define ANE_CLASS_LOOKUP(id, name, required) classes[id] = NSClassFromString(@name);
static void load_framework_once(void)
{
    @autoreleasepool {
        @try {
            if ((framework_status = ane_host_check(framework_why, sizeof framework_why))) return;
            const char *path = framework_path();
            if (!dlopen(path, RTLD_NOW)) {
                const char *e = dlerror();
                anethru_set_error(framework_why, sizeof framework_why,
                                  "AppleNeuralEngine.framework could not be loaded (%s)",
                                  e ? e : path);
                framework_status = ANETHRU_E_UNAVAILABLE;
                return;
            }
            framework_dlopened = 1;
            ANE_CLASSES(ANE_CLASS_LOOKUP)
            NSMutableArray *missing = [NSMutableArray array];
            for (int i = 0; i < ANE_NCLASSES; i++)
                if (!classes[i] && anethru_ane_class_required(i))
                    [missing addObject:@(anethru_ane_class_name(i))];
            if ([missing count]) {
                ane_copy_text(framework_why, sizeof framework_why,
                              [NSString stringWithFormat:@"AppleNeuralEngine.framework lacks %@: "
                                                         @"unsupported macOS version",
                                                         [missing componentsJoinedByString:@", "]]);
                framework_status = ANETHRU_E_UNAVAILABLE;
                return;
            }
            framework_status = ANETHRU_OK;
        } @catch (id ex) {
            ane_copy_exception(framework_why, sizeof framework_why, "loading the ANE framework", ex);
            framework_status = ANETHRU_E_UNAVAILABLE;
        }
    }
}
#undef ANE_CLASS_LOOKUP

int ane_framework_load(char *why, size_t whylen)
{
    pthread_once(&framework_once, load_framework_once);
    if (framework_status != ANETHRU_OK) anethru_set_error(why, whylen, "%s", framework_why);
    return framework_status;
}

int ane_framework_opened(void)
{
    pthread_once(&framework_once, load_framework_once);
    return framework_dlopened;
}

Class ane_class(int class_id)
{
    pthread_once(&framework_once, load_framework_once);
    return class_id >= 0 && class_id < ANE_NCLASSES ? classes[class_id] : Nil;
}

void ane_missing_selectors(int client, char *buf, size_t buflen)
{
    NSMutableArray *missing = [NSMutableArray array];
    for (int i = 0; i < ANE_NMESSAGES; i++) {
        const ane_message_signature *m = &ane_message_signatures[i];
        Class cls = ane_class(m->class_id);
        if (!cls || (m->class_id == ANE_CLASS_CLIENT) != (client != 0)) continue;
        SEL sel = NSSelectorFromString(@(m->selector));
        BOOL ok = m->class_method ? [cls respondsToSelector:sel] : [cls instancesRespondToSelector:sel];
        if (!ok)
            [missing addObject:[NSString stringWithFormat:@"%c[%s %s]", m->class_method ? '+' : '-',
                                                          anethru_ane_class_name(m->class_id),
                                                          m->selector]];
    }
    ane_copy_text(buf, buflen, [missing componentsJoinedByString:@"\n"]);
}

/* ------------------------------------------------------------------ probe, describe */

int ane_probe(char *err, size_t errlen)
{
    char why[ANETHRU_ERRLEN] = "";
    int rc = ane_framework_load(why, sizeof why);
#ifdef ANETHRU_SIMULATED_ANE
    if (rc == ANETHRU_OK)
        anethru_set_error(err, errlen, "%s", SIMULATED_LABEL);
    else
        anethru_set_error(err, errlen, "%s: %s", SIMULATED_LABEL, why);
#else
    if (rc != ANETHRU_OK) anethru_set_error(err, errlen, "%s", why);
#endif
    return rc;
}

static void sysctl_string(const char *name, char *buf, size_t buflen)
{
    size_t len = buflen;
    if (sysctlbyname(name, buf, &len, NULL, 0) != 0 || len == 0) snprintf(buf, buflen, "?");
    buf[buflen - 1] = '\0';
}

int ane_describe(char *buf, size_t buflen)
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
