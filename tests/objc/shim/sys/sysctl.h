/* Linux shim for the one <sys/sysctl.h> call the ANE backend makes, with macOS's signature
 * (glibc dropped this header).  The simulated build's fake lives in linuxrt/apple_fakes.m. */
#ifndef SHIM_SYS_SYSCTL_H
#define SHIM_SYS_SYSCTL_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
int sysctlbyname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#ifdef __cplusplus
}
#endif
#endif
