/* ane_tmpdir.h -- the directory the ANE compiler reads a kernel from, made safely (pure C).
 *
 * The compiler reads <dir>/model.mil and the weight files under <dir>/weights/, where dir is
 * NSTemporaryDirectory()/<hexStringIdentifier>.  The identifier is a hash of the program, so
 * identical kernels (a chain of identity convs) share one directory: acquisitions are counted
 * per path and the directory goes when the last holder releases it.
 *
 * Safety: a new directory is created 0700, and nothing is ever written through a symlink.  A
 * directory already there (a leftover of an earlier run, or of another tool compiling the same
 * program: the name is deterministic) is used only if it is a real directory owned by this
 * user; it is then tightened to 0700 through the descriptor that was checked, so nothing can be
 * swapped in between.  A symlink or another user's directory is refused and left untouched.
 */
#ifndef ANETHRU_ANE_TMPDIR_H
#define ANETHRU_ANE_TMPDIR_H

#include <stddef.h>

/* One file to write: name is "model.mil" or "weights/<file>" (one directory level). */
typedef struct {
    const char *name;
    const void *data;
    size_t size;
} ane_tmpdir_file;

/* Make (or adopt) dir and write the files into it.  0 on success; -1 with a message, in which
 * case nothing of ours is left behind. */
int ane_tmpdir_acquire(const char *dir, const ane_tmpdir_file *files, int nfiles, char *err,
                       size_t errlen);

/* Drop one acquisition; the last one removes the directory and everything in it. */
void ane_tmpdir_release(const char *dir);

#endif
