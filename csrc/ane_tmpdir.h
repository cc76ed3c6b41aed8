/* ane_tmpdir.h -- the directory the ANE compiler reads a kernel from, made safely (pure C).
 *
 * The compiler reads <dir>/model.mil and <dir>/weights/weight.bin, where dir is
 * NSTemporaryDirectory()/<hexStringIdentifier>.  The identifier is a hash of the program, so
 * identical kernels (a chain of identity convs) share one directory: acquisitions are counted
 * per path and the directory goes when the last holder releases it.
 *
 * Safety: the directory is created 0700 and never written through a symlink.  A directory
 * already there is used only if it is a real directory owned by this user with no group or
 * other access (a leftover of an earlier run of ours, since the name is deterministic);
 * anything else there is refused and left untouched.
 */
#ifndef ANETHRU_ANE_TMPDIR_H
#define ANETHRU_ANE_TMPDIR_H

#include <stddef.h>

/* Make (or re-use) dir and write both files into it.  0 on success; -1 with a message, in
 * which case nothing of ours is left behind. */
int ane_tmpdir_acquire(const char *dir, const void *mil, size_t mil_len, const void *blob,
                       size_t blob_len, char *err, size_t errlen);

/* Drop one acquisition; the last one removes the directory and everything in it. */
void ane_tmpdir_release(const char *dir);

#endif
