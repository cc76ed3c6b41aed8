/* ane_tmpdir.c -- see ane_tmpdir.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ane_tmpdir.h"

/* Paths this process holds, with their holder counts. */
typedef struct {
    char *path;
    int holders;
} held_dir;

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static held_dir *held;
static int nheld;

static held_dir *find_held(const char *path)
{
    for (int i = 0; i < nheld; i++)
        if (strcmp(held[i].path, path) == 0) return &held[i];
    return NULL;
}

/* Remove name (relative to dfd) and, if it is a directory, everything below it, never
 * following a symlink (a link is removed, not its target). */
static int remove_at(int dfd, const char *name, int depth)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR && errno != EPERM) return -1; /* macOS says EPERM for a directory */
    if (depth > 8) return -1;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        remove_at(dirfd(d), e->d_name, depth + 1);
    }
    closedir(d);
    return unlinkat(dfd, name, AT_REMOVEDIR);
}

/* 0 if st is a directory we may use: a real directory of ours (its mode is tightened after). */
static int check_owned(const struct stat *st, const char *what, char *err, size_t errlen)
{
    if (S_ISLNK(st->st_mode)) {
        snprintf(err, errlen, "refusing to use %s: it is a symbolic link", what);
        return -1;
    }
    if (!S_ISDIR(st->st_mode)) {
        snprintf(err, errlen, "refusing to use %s: it exists and is not a directory", what);
        return -1;
    }
    if (st->st_uid != geteuid()) {
        snprintf(err, errlen, "refusing to use %s: it belongs to uid %ld, not to us (uid %ld)",
                 what, (long)st->st_uid, (long)geteuid());
        return -1;
    }
    return 0;
}

/* Open name under dfd as a directory of ours, creating it 0700 if missing and tightening it to
 * 0700 if it was there with more access. */
static int open_own_dir(int dfd, const char *name, const char *what, char *err, size_t errlen)
{
    if (mkdirat(dfd, name, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", what, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", what, strerror(errno));
        return -1;
    }
    if (check_owned(&st, what, err, errlen)) return -1;
    /* O_NOFOLLOW + the inode check: nothing swapped in between the stat and the open. */
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat fst;
    if (fd < 0 || fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) {
        snprintf(err, errlen, "refusing to use %s: it changed while being opened", what);
        if (fd >= 0) close(fd);
        return -1;
    }
    if ((fst.st_mode & 0777) != 0700 && fchmod(fd, 0700) != 0) {
        snprintf(err, errlen, "cannot make %s private (mode %03o): %s", what,
                 (unsigned)(fst.st_mode & 0777), strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int write_file(int dfd, const char *name, const void *data, size_t len, char *err,
                      size_t errlen)
{
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno));
        return -1;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", name, n < 0 ? strerror(errno) : "short write");
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_kernel_files(const char *dir, const ane_tmpdir_file *files, int nfiles,
                              char *err, size_t errlen)
{
    static const char weights_prefix[] = "weights/";
    const size_t wlen = sizeof weights_prefix - 1;
    char msg[256] = "";
    int rc = -1, wfd = -1;
    int dfd = open_own_dir(AT_FDCWD, dir, "the kernel's temporary directory", msg, sizeof msg);
    if (dfd < 0) goto out;
    for (int i = 0; i < nfiles; i++) {
        const char *name = files[i].name;
        int in_weights = strncmp(name, weights_prefix, wlen) == 0;
        if (in_weights) name += wlen;
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            snprintf(msg, sizeof msg, "refusing to write %s: not a file name", files[i].name);
            goto out;
        }
        if (in_weights && wfd < 0) {
            wfd = open_own_dir(dfd, "weights", "its weights directory", msg, sizeof msg);
            if (wfd < 0) goto out;
        }
        if (write_file(in_weights ? wfd : dfd, name, files[i].data, files[i].size, msg, sizeof msg))
            goto out;
    }
    rc = 0;
out:
    if (wfd >= 0) close(wfd);
    if (dfd >= 0) close(dfd);
    if (rc) snprintf(err, errlen, "%s (%s)", msg, dir);
    return rc;
}

int ane_tmpdir_acquire(const char *dir, const ane_tmpdir_file *files, int nfiles, char *err,
                       size_t errlen)
{
    pthread_mutex_lock(&held_mu);
    held_dir *h = find_held(dir);
    int existed = h != NULL;
    if (!existed) {
        /* Was it there before we touched it?  Then a refusal must leave it alone. */
        struct stat st;
        char ignored[8];
        existed = lstat(dir, &st) == 0 && check_owned(&st, "", ignored, sizeof ignored) != 0;
    }
    int rc = write_kernel_files(dir, files, nfiles, err, errlen);
    if (rc == 0 && h) {
        h->holders++;
    } else if (rc == 0) {
        held_dir *grown = realloc(held, (size_t)(nheld + 1) * sizeof *held);
        char *copy = strdup(dir);
        if (grown) held = grown;
        if (!grown || !copy) {
            free(copy);
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            held[nheld].path = copy;
            held[nheld].holders = 1;
            nheld++;
        }
    }
    if (rc && !existed) remove_at(AT_FDCWD, dir, 0);
    pthread_mutex_unlock(&held_mu);
    return rc;
}

void ane_tmpdir_release(const char *dir)
{
    if (!dir) return;
    pthread_mutex_lock(&held_mu);
    held_dir *h = find_held(dir);
    if (h && --h->holders == 0) {
        remove_at(AT_FDCWD, h->path, 0);
        free(h->path);
        *h = held[--nheld];
    }
    pthread_mutex_unlock(&held_mu);
}
