/* port_lock.c -- see port_lock.h. */
#include "port_lock.h"

#include "backend.h"

static const char *flags_name(int flags)
{
    return flags == ANETHRU_LOCK_READONLY ? "read-only" : "read-write";
}

const char *port_name(int port) { return port == ANETHRU_PORT_INPUT ? "input" : "output"; }

static int bad_port(int port) { return port != ANETHRU_PORT_INPUT && port != ANETHRU_PORT_OUTPUT; }

int port_lock_check(const port_lock *l, int port, int flags, char *err, size_t errlen)
{
    if (bad_port(port) || (flags != ANETHRU_LOCK_READONLY && flags != ANETHRU_LOCK_READWRITE)) {
        anethru_set_error(err, errlen, "bad lock: port %d flags %d", port, flags);
        return ANETHRU_E_ARG;
    }
    if (l->state && l->state != 1 + flags) {
        anethru_set_error(err, errlen, "%s buffer is locked %s; cannot lock it %s", port_name(port),
                          flags_name(l->state - 1), flags_name(flags));
        return ANETHRU_E_LOCK;
    }
    return ANETHRU_OK;
}

void port_lock_take(port_lock *l, int flags)
{
    l->state = 1 + flags;
    l->depth++;
}

int port_unlock_check(const port_lock *l, int port, int flags, char *err, size_t errlen)
{
    if (bad_port(port)) {
        anethru_set_error(err, errlen, "bad unlock: port %d", port);
        return ANETHRU_E_ARG;
    }
    if (!l->state) {
        anethru_set_error(err, errlen, "unlock of the %s buffer, which is not locked",
                          port_name(port));
        return ANETHRU_E_LOCK;
    }
    if (l->state != 1 + flags) {
        anethru_set_error(err, errlen, "unlock flags %d do not match the %s buffer's %s lock",
                          flags, port_name(port), flags_name(l->state - 1));
        return ANETHRU_E_LOCK;
    }
    return ANETHRU_OK;
}

void port_lock_release(port_lock *l, int flags)
{
    if (flags == ANETHRU_LOCK_READWRITE) l->seed++;
    if (--l->depth == 0) l->state = 0;
}
