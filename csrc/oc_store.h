/*
 * oc_store: where a token set lives between processes and runs, and the lock
 * that makes a refresh happen once.
 *
 * A store is reference-counted: several clients may share one (memory://NAME
 * stores shared inside a process). Every backend keeps the same contract:
 *   load   -> the stored set, or found = 0 when there is none yet; a store
 *             that exists but cannot be read or parsed is an error, never
 *             "none" (it must not be replaced by a new login silently);
 *   save   -> atomic: a reader sees the old set or the new one, never a mix;
 *             with expect (the refresh token the new set replaces), only
 *             when the stored set still holds it: an older set never
 *             overwrites a newer one;
 *   lock   -> exclusive across every client (and process) using the store,
 *             held across a refresh or login; waits at most timeout_ms (0:
 *             one attempt). OC_E_LOCK means only "someone else holds it";
 *             a store that cannot be reached gives its own error.
 */
#ifndef OC_STORE_H
#define OC_STORE_H

#include <stdint.h>

#include "oc_buf.h"
#include "oc_error.h"
#include "oc_token.h"

typedef struct oc_store oc_store;

typedef struct oc_store_ops {
    oc_code (*load)(oc_store *s, oc_token *out, oc_token_meta *meta, int *found, oc_error *err);
    oc_code (*save)(oc_store *s, const oc_token *t, const oc_token_meta *meta, const char *expect,
                    oc_error *err);
    oc_code (*remove)(oc_store *s, oc_error *err);
    oc_code (*lock)(oc_store *s, int64_t timeout_ms, oc_error *err);
    void (*unlock)(oc_store *s);
    void (*destroy)(oc_store *s);
    /* Makes sure a set of `bytes` can be saved now (disk space, rights); NULL
       for stores where that cannot fail short of an outage. */
    oc_code (*reserve)(oc_store *s, size_t bytes, oc_error *err);
} oc_store_ops;

struct oc_store {
    const oc_store_ops *ops;
    int refs;
    char *where; /* "OAuth settings file /path" or "memory://name", for messages */
    int strict;  /* a token set that could not be saved is never used (shared stores) */
};

/* A file store at path ("~" and "~/..." expanded). Touches nothing on disk yet. */
oc_code oc_store_file_new(const char *path, oc_store **out, oc_error *err);
/* A private in-process store; name only appears in messages. */
oc_code oc_store_memory_new(const char *name, oc_store **out, oc_error *err);
/* The process's store for memory://name (made on first use, kept until the
   process ends): every client that opens the same name shares it. */
oc_code oc_store_memory_open(const char *name, oc_store **out, oc_error *err);
/* A Redis store: redis://[user:password@]host[:port][/db]/key, rediss:// for
   TLS (trusting ca_file or ca_pem when given, else the system's). */
oc_code oc_store_redis_new(const char *location, const char *ca_file, const char *ca_pem,
                           int64_t timeout_ms, oc_store **out, oc_error *err);

/* Reads a file that may hold secrets (a config file of connections) as the
   settings file is read: not through a symbolic link, a regular file of
   this user that group and others cannot access, at most max bytes. An
   absent file is OC_OK with *found = 0. out is a secret buffer (wiped when
   freed); label names the file in messages. */
oc_code oc_read_private_file(const char *path, const char *label, size_t max, oc_buf *out,
                             int *found, oc_error *err);

oc_store *oc_store_retain(oc_store *s);
void oc_store_release(oc_store *s);

/* meta may be NULL on load (not wanted) and on save (none to keep). */
oc_code oc_store_load(oc_store *s, oc_token *out, oc_token_meta *meta, int *found, oc_error *err);
oc_code oc_store_save(oc_store *s, const oc_token *t, const oc_token_meta *meta, const char *expect,
                      oc_error *err);
oc_code oc_store_remove(oc_store *s, oc_error *err);
/* Before a refresh or a code exchange: whether the answer could be saved.
   A single-use refresh token the server rotates is lost if it cannot be. */
oc_code oc_store_reserve(oc_store *s, size_t bytes, oc_error *err);
oc_code oc_store_lock(oc_store *s, int64_t timeout_ms, oc_error *err);
void oc_store_unlock(oc_store *s);
const char *oc_store_where(const oc_store *s);

/* Shared by backends: the "where" label, set once at creation. */
oc_code oc_store_init(oc_store *s, const oc_store_ops *ops, const char *where, oc_error *err);

/* "~" or "~/x" -> "$HOME/x" (malloc'd); other paths are copied. */
char *oc_expand_home(const char *path);

#endif
