/* cpu_calls.c -- drives anethru_cpu_backend's table directly, one call per argument, so
 * tests/test_cpu_locks.py can check its lock rules call by call (the harness never breaks them,
 * so they cannot be reached through it).  Built by the test from csrc/; compiles one 2x2
 * identity kernel, runs the calls, releases it, and prints one line per call:
 *
 *   cpu_calls "lock in rw" "eval" "unlock in ro" "unlock in rw" "eval" ...
 *   -> "lock in rw|0|", "eval|6|eval while the CPU holds ...", ..., then "live_buffers=0"
 *
 * Calls: lock PORT FLAGS, unlock PORT FLAGS, eval, eval_null; PORT is in, out or a number,
 * FLAGS is rw, ro or a number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

extern const anethru_backend anethru_cpu_backend;
static const anethru_backend *B = &anethru_cpu_backend;

static int parse(const char *word, const char *a, const char *b)
{
    if (strcmp(word, a) == 0) return 0;
    if (strcmp(word, b) == 0) return 1;
    return atoi(word);
}

static int call(void *k, const char *line, char *err, size_t errlen)
{
    char op[16] = "", port[16] = "", flags[16] = "";
    if (sscanf(line, "%15s %15s %15s", op, port, flags) < 1) return -1;
    int p = parse(port, "in", "out"), f = parse(flags, "rw", "ro");
    void *addr = NULL;
    if (strcmp(op, "lock") == 0) return B->lock(k, p, f, &addr, err, errlen);
    if (strcmp(op, "unlock") == 0) return B->unlock(k, p, f, err, errlen);
    if (strcmp(op, "eval") == 0) return B->eval(k, err, errlen);
    if (strcmp(op, "eval_null") == 0) return B->eval_null(k, err, errlen);
    return -1;
}

int main(int argc, char **argv)
{
    static const uint16_t identity[4] = {0x3c00, 0, 0, 0x3c00};
    anethru_kernel_spec spec = {2, 2, 1, identity, 0, 1};
    char err[ANETHRU_ERRLEN];
    void *k = NULL;
    if (B->compile(&spec, &k, err, sizeof err) != ANETHRU_OK) {
        printf("compile failed: %s\n", err);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        err[0] = '\0';
        int rc = call(k, argv[i], err, sizeof err);
        if (rc < 0) {
            printf("%s|bad call\n", argv[i]);
            return 2;
        }
        printf("%s|%d|%s\n", argv[i], rc, rc ? err : "");
    }
    B->release(k);
    printf("live_buffers=%d\n", anethru_cpu_live_buffers());
    return 0;
}
