/*
 * The settings file: a JSON document, 0600, replaced atomically (temp file in
 * the same directory, fsync, rename, fsync of the directory), with a sidecar
 * "<file>.lock" that processes flock across a refresh.
 *
 * Like ssh with its keys, it refuses a file that is a symlink, is not owned
 * by the user, or that group or others can access, and a directory that
 * group or others can write (unless sticky, as /tmp): any of those would let
 * another user read or replace the tokens.
 */
#define _GNU_SOURCE
#include "oc_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_time.h"

enum { SETTINGS_FILE_MAX = 1024 * 1024 };

#define SETTINGS_LABEL "OAuth settings file"
#define LOCK_LABEL "lock file"

typedef struct file_store {
    oc_store base;
    char *path;
    char *dir;
    char *lock_path;
    int lock_fd;    /* -1 when not locked */
    int lock_depth; /* nested locks by the same store object */
} file_store;

static oc_code make_dirs(const char *dir, oc_error *err);

/* The settings file's directory must be one only this user (or root) can
   write. With create, a missing one is made first (0700, with parents). */
static oc_code check_dir(file_store *f, int create, oc_error *err)
{
    struct stat st;
    int ok = stat(f->dir, &st) == 0;
    oc_code rc;
    if (!ok && errno == ENOENT && create) {
        if ((rc = make_dirs(f->dir, err)) != OC_OK)
            return rc;
        ok = stat(f->dir, &st) == 0;
    }
    if (!ok)
        return oc_fail(err, OC_E_SETTINGS, "cannot use the directory %s of %s: %s", f->dir,
                       f->base.where, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return oc_fail(err, OC_E_SETTINGS, "%s is not a directory (it should hold %s)", f->dir,
                       f->base.where);
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return oc_fail(err, OC_E_SETTINGS,
                       "refusing %s: its directory %s belongs to another user (uid %lu)",
                       f->base.where, f->dir, (unsigned long)st.st_uid);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return oc_fail(err, OC_E_SETTINGS,
                       "refusing %s: its directory %s is writable by group or others (mode %04o); "
                       "run chmod go-w %s",
                       f->base.where, f->dir, (unsigned)(st.st_mode & 07777), f->dir);
    return OC_OK;
}

/* Checks an open settings or lock file: a regular file of ours, private. */
static oc_code check_file(int fd, const char *label, const char *path, oc_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return oc_fail(err, OC_E_SETTINGS, "cannot stat the %s %s: %s", label, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return oc_fail(err, OC_E_SETTINGS, "refusing the %s %s: it is not a regular file", label,
                       path);
    if (st.st_uid != geteuid())
        return oc_fail(err, OC_E_SETTINGS, "refusing the %s %s: it belongs to another user (uid %lu)",
                       label, path, (unsigned long)st.st_uid);
    if (st.st_mode & 077)
        return oc_fail(err, OC_E_SETTINGS,
                       "refusing the %s %s: group or others can access it (mode %04o); run chmod 600 %s",
                       label, path, (unsigned)(st.st_mode & 07777), path);
    return OC_OK;
}

/* After open(O_NOFOLLOW) failed. A symbolic link is named as one whatever
   errno says: O_NOFOLLOW gives ELOOP, but a link another user planted in
   a sticky directory (/tmp) gives EACCES (the kernel's sticky-directory
   protection), which "Permission denied" would hide. */
static oc_code open_error(const char *label, const char *path, oc_error *err)
{
    int e = errno;
    struct stat st;
    if (e == ELOOP || (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)))
        return oc_fail(err, OC_E_SETTINGS, "refusing the %s %s: it is a symbolic link", label, path);
    return oc_fail(err, OC_E_SETTINGS, "cannot open the %s %s: %s", label, path, strerror(e));
}

/* Reads an open private file whole into out (a secret buffer of limit max). */
static oc_code read_all(int fd, const char *label, const char *path, size_t max, oc_buf *out,
                        oc_error *err)
{
    char chunk[8192];
    oc_code rc = OC_OK;
    oc_buf_init_secret(out, max);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = oc_fail(err, OC_E_SETTINGS, "cannot read the %s %s: %s", label, path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (oc_buf_append(out, chunk, (size_t)n) != 0) {
            rc = out->overflow ? oc_fail(err, OC_E_SETTINGS, "the %s %s is larger than %zu bytes",
                                         label, path, max)
                               : oc_fail_nomem(err);
            break;
        }
    }
    oc_wipe(chunk, sizeof chunk);
    if (rc != OC_OK)
        oc_buf_free(out);
    return rc;
}

oc_code oc_read_private_file(const char *path, const char *label, size_t max, oc_buf *out,
                             int *found, oc_error *err)
{
    oc_code rc;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    *found = 0;
    oc_buf_init(out, 0);
    if (fd < 0)
        return errno == ENOENT ? OC_OK : open_error(label, path, err);
    if ((rc = check_file(fd, label, path, err)) == OC_OK &&
        (rc = read_all(fd, label, path, max, out, err)) == OC_OK)
        *found = 1;
    close(fd);
    return rc;
}

/* The length of the text a file holds: without the newline a save adds. */
static size_t text_length(const oc_buf *b)
{
    return b->len && b->data[b->len - 1] == '\n' ? b->len - 1 : b->len;
}

static oc_code file_load(oc_store *s, oc_buf *text, int *found, oc_error *err)
{
    file_store *f = (file_store *)s;
    oc_buf buf;
    oc_code rc;
    int present;

    *found = 0;
    if ((rc = oc_read_private_file(f->path, SETTINGS_LABEL, SETTINGS_FILE_MAX, &buf, &present,
                                   err)) != OC_OK || !present)
        return rc;
    if ((rc = check_dir(f, 0, err)) == OC_OK) {
        /* the newline a save adds after the text is not part of it */
        if (oc_buf_append(text, buf.data ? buf.data : "", text_length(&buf)) != 0)
            rc = oc_fail_nomem(err);
        else
            *found = 1;
    }
    oc_buf_free(&buf);
    return rc;
}

/* mkdir -p with 0700 for every directory it creates. */
static oc_code make_dirs(const char *dir, oc_error *err)
{
    char *p, *copy;
    if (!(copy = oc_strdup(dir)))
        return oc_fail_nomem(err);
    for (p = copy + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
                oc_code rc = oc_fail(err, OC_E_SETTINGS, "cannot create the directory %s: %s", copy,
                                     strerror(errno));
                free(copy);
                return rc;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    free(copy);
    return OC_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Removes "<file>.tmp.*" left by writers that died mid-save. Called when the
 * lock is taken: a writer holds it while saving, so any temporary file
 * present now belongs to a dead one.
 */
static void remove_stale_temps(const file_store *f)
{
    const char *base = strrchr(f->path, '/');
    char prefix[512];
    size_t plen;
    DIR *d;
    struct dirent *e;
    base = base ? base + 1 : f->path;
    snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    plen = strlen(prefix);
    if (!(d = opendir(f->dir)))
        return;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) == 0 && strlen(e->d_name) == plen + 6) {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", f->dir, e->d_name);
            unlink(full);
        }
    }
    closedir(d);
}

static oc_code file_lock(oc_store *s, oc_error *err);
static void file_unlock(oc_store *s);

/* Whether the file holds `expected` now (expected_found 0: no file). The
   caller holds the lock, so the answer stays true until it writes. */
static oc_code file_holds(file_store *f, const char *expected, size_t elen, int expected_found,
                          oc_error *err)
{
    oc_buf cur;
    int present;
    size_t len;
    oc_code rc = oc_read_private_file(f->path, SETTINGS_LABEL, SETTINGS_FILE_MAX, &cur, &present, err);
    if (rc != OC_OK)
        return rc;
    len = text_length(&cur);
    if (present != (expected_found != 0) ||
        (present && (len != elen || memcmp(cur.data ? cur.data : "", expected, elen) != 0)))
        rc = oc_fail(err, OC_E_CONFLICT, "%s changed since it was read; nothing was written over it",
                     f->base.where);
    oc_buf_free(&cur);
    return rc;
}

/* The lock for one save or removal made outside the engine's own (which
   holds it across the whole refresh): a short wait, as a save is short. */
static oc_code lock_for_write(file_store *f, int *locked_here, oc_error *err)
{
    oc_code rc;
    *locked_here = 0;
    if (f->lock_fd >= 0)
        return OC_OK;
    if ((rc = oc_store_lock_wait(&f->base, 10000, err)) != OC_OK)
        return rc;
    *locked_here = 1;
    return OC_OK;
}

static oc_code file_save(oc_store *s, const char *text, size_t len, const char *expected,
                         size_t elen, int expected_found, oc_error *err)
{
    file_store *f = (file_store *)s;
    char *tmp = NULL;
    size_t tmplen;
    int fd, dfd, locked_here = 0;
    oc_code rc;

    if ((rc = check_dir(f, 1, err)) != OC_OK || (rc = lock_for_write(f, &locked_here, err)) != OC_OK)
        return rc;
    if ((rc = file_holds(f, expected, elen, expected_found, err)) != OC_OK)
        goto out;
    tmplen = strlen(f->path) + 16;
    if (!(tmp = malloc(tmplen))) {
        rc = oc_fail_nomem(err);
        goto out;
    }
    snprintf(tmp, tmplen, "%s.tmp.XXXXXX", f->path);
    fd = mkostemp(tmp, O_CLOEXEC); /* created 0600 */
    if (fd < 0) {
        rc = oc_fail(err, OC_E_SETTINGS, "cannot create a temporary file next to %s: %s",
                     f->base.where, strerror(errno));
        goto out;
    }
    /*
     * Order matters. A rotated refresh token is lost if the process dies
     * between the server issuing it and the rename, so the rename comes
     * right after the write, before any fsync: a killed process leaves
     * either file whole (the page cache outlives it). The fsyncs that
     * follow make it durable across power loss; until they complete, the
     * file system's rename-over-existing ordering (ext4's auto_da_alloc)
     * is what keeps the new name from pointing at unwritten data.
     */
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 || write_all(fd, "\n", 1) != 0) {
        rc = oc_fail(err, OC_E_SETTINGS, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, f->path) != 0) {
        rc = oc_fail(err, OC_E_SETTINGS, "cannot replace %s: %s", f->base.where, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rc = oc_fail(err, OC_E_SETTINGS, "cannot flush %s to disk: %s", f->base.where,
                     strerror(errno));
        goto out;
    }
    dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = OC_OK;
out:
    free(tmp);
    if (locked_here)
        file_unlock(s);
    return rc;
}

static oc_code file_remove(oc_store *s, const char *expected, size_t elen, int expected_found,
                           oc_error *err)
{
    file_store *f = (file_store *)s;
    int locked_here = 0;
    oc_code rc = lock_for_write(f, &locked_here, err);
    if (rc == OC_OK && (rc = file_holds(f, expected, elen, expected_found, err)) == OC_OK &&
        unlink(f->path) != 0 && errno != ENOENT)
        rc = oc_fail(err, OC_E_SETTINGS, "cannot remove %s: %s", f->base.where, strerror(errno));
    if (locked_here)
        file_unlock(s);
    return rc;
}

static oc_code file_lock(oc_store *s, oc_error *err)
{
    file_store *f = (file_store *)s;
    oc_code rc;
    int fd;

    if (f->lock_fd >= 0) {
        f->lock_depth++;
        return OC_OK;
    }
    if ((rc = check_dir(f, 1, err)) != OC_OK)
        return rc;
    fd = open(f->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return open_error(LOCK_LABEL, f->lock_path, err);
    if ((rc = check_file(fd, LOCK_LABEL, f->lock_path, err)) != OC_OK) {
        close(fd);
        return rc;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        rc = errno == EWOULDBLOCK
                 ? oc_fail(err, OC_E_LOCK, "the lock %s is held (another process is refreshing or "
                                           "logging in)", f->lock_path)
                 : oc_fail(err, OC_E_SETTINGS, "cannot lock %s: %s", f->lock_path, strerror(errno));
        close(fd);
        return rc;
    }
    f->lock_fd = fd;
    f->lock_depth = 1;
    remove_stale_temps(f);
    return OC_OK;
}

static void file_unlock(oc_store *s)
{
    file_store *f = (file_store *)s;
    if (f->lock_fd < 0 || --f->lock_depth > 0)
        return;
    flock(f->lock_fd, LOCK_UN);
    close(f->lock_fd);
    f->lock_fd = -1;
}

static void file_destroy(oc_store *s)
{
    file_store *f = (file_store *)s;
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    free(f->path);
    free(f->dir);
    free(f->lock_path);
    free(f);
}

/* A temporary file of `bytes` next to the settings file, allocated and
   removed: the directory takes a new file, and the disk (or the process's
   file size limit) has room for the set that will replace the old one. */
static oc_code file_reserve(oc_store *s, size_t bytes, oc_error *err)
{
    file_store *f = (file_store *)s;
    size_t tmplen = strlen(f->path) + 16;
    char *tmp;
    int fd, e;
    oc_code rc;
    if ((rc = check_dir(f, 1, err)) != OC_OK)
        return rc;
    if (!(tmp = malloc(tmplen)))
        return oc_fail_nomem(err);
    snprintf(tmp, tmplen, "%s.tmp.XXXXXX", f->path);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        rc = oc_fail(err, OC_E_SETTINGS, "cannot create a file next to %s: %s", f->base.where,
                     strerror(errno));
        free(tmp);
        return rc;
    }
    e = posix_fallocate(fd, 0, (off_t)bytes);
    close(fd);
    unlink(tmp);
    free(tmp);
    if (e != 0)
        return oc_fail(err, OC_E_SETTINGS, "no room to save %s: %s", f->base.where, strerror(e));
    return OC_OK;
}

static const oc_store_ops file_ops = {
    file_load, file_save, file_remove, file_lock, file_unlock, file_destroy, file_reserve
};

oc_code oc_store_file_new(const char *path, oc_store **out, oc_error *err)
{
    file_store *f;
    char *where, *dcopy;
    size_t n;
    oc_code rc;

    *out = NULL;
    if (!path || !*path)
        return oc_fail_property(err, OC_E_BAD_VALUE, "OAuthSettingsLocation",
                                "OAuthSettingsLocation is empty");
    if (!(f = calloc(1, sizeof *f)))
        return oc_fail_nomem(err);
    f->lock_fd = -1;
    if (!(f->path = oc_expand_home(path)))
        goto nomem;
    if (f->path[strlen(f->path) - 1] == '/') {
        rc = oc_fail_property(err, OC_E_BAD_VALUE, "OAuthSettingsLocation",
                              "OAuthSettingsLocation %s names a directory; give a file name", path);
        file_destroy(&f->base);
        return rc;
    }
    if (!(dcopy = oc_strdup(f->path)))
        goto nomem;
    f->dir = oc_strdup(dirname(dcopy));
    free(dcopy);
    n = strlen(f->path) + 6;
    if (!f->dir || !(f->lock_path = malloc(n)))
        goto nomem;
    snprintf(f->lock_path, n, "%s.lock", f->path);
    n = strlen(f->path) + 32;
    if (!(where = malloc(n)))
        goto nomem;
    snprintf(where, n, "OAuth settings file %s", f->path);
    rc = oc_store_init(&f->base, &file_ops, where, err);
    free(where);
    if (rc != OC_OK) {
        file_destroy(&f->base);
        return rc;
    }
    *out = &f->base;
    return OC_OK;
nomem:
    file_destroy(&f->base);
    return oc_fail_nomem(err);
}
