/* port_lock.h -- IOSurface's single-process lock rules for a kernel's input/output buffer,
 * shared by the backends whose buffers are not IOSurfaces (cpu, cuda):
 *  - a lock names the port and read-only or read-write; locks nest only with the same flags;
 *  - an unlock must pass the flags of the lock it ends;
 *  - every read-write unlock bumps the buffer's seed. */
#ifndef ANETHRU_PORT_LOCK_H
#define ANETHRU_PORT_LOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int state;     /* 0 unlocked, 1 + ANETHRU_LOCK_* while locked */
    int depth;     /* nested locks with the same flags */
    uint32_t seed; /* bumped by every read-write unlock */
} port_lock;

const char *port_name(int port);
/* ANETHRU_OK if port/flags may be locked now (then call port_lock_take); else a code + err. */
int port_lock_check(const port_lock *l, int port, int flags, char *err, size_t errlen);
void port_lock_take(port_lock *l, int flags);
/* ANETHRU_OK if an unlock with these flags is valid now (then call port_lock_release). */
int port_unlock_check(const port_lock *l, int port, int flags, char *err, size_t errlen);
void port_lock_release(port_lock *l, int flags);

#endif
