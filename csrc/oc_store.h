/*
 * oc_store: where a connection's settings document (oc_settings.h: its token
 * set, pending logins, discovered metadata) lives between processes and
 * runs, and the lock that makes a refresh happen once. A store keeps the
 * document as text it never reads.
 *
 * A store is reference-counted: several clients may share one (memory://NAME
 * stores shared inside a process). Every backend keeps the same contract, the
 * one a user's own store keeps too (README, "Keeping tokens yourself"):
 *   load   -> the stored text, or found = 0 when there is none yet; a store
 *             that exists but cannot be read is an error, never "none" (it
 *             must not be replaced by a new login silently);
 *   save   -> compare-and-set: the text is written only while the stored
 *             text is still `expected` (expected_found = 0: nothing stored),
 *             else OC_E_CONFLICT and nothing changes; atomic: a reader sees
 *             the old text or the new, never a mix;
 *   remove -> the same comparison, then nothing is stored;
 *   lock   -> one attempt at a lock exclusive across every client (and
 *             process, and machine for shared stores) using the store, held
 *             across a refresh or login: OC_OK, or OC_E_LOCK when another
 *             holds it (the engine waits and asks again); a store that
 *             cannot be reached gives its own error.
 * The engine (oc_call.h) asks for these as steps; drivers perform them
 * with oc_store_perform.
 */
#ifndef OC_STORE_H
#define OC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "oc_buf.h"
#include "oc_error.h"

typedef struct oc_store oc_store;

typedef struct oc_store_ops {
    oc_code (*load)(oc_store *s, oc_buf *text, int *found, oc_error *err);
    oc_code (*save)(oc_store *s, const char *text, size_t len, const char *expected, size_t elen,
                    int expected_found, oc_error *err);
    oc_code (*remove)(oc_store *s, const char *expected, size_t elen, int expected_found,
                      oc_error *err);
    oc_code (*lock)(oc_store *s, oc_error *err);
    void (*unlock)(oc_store *s);
    void (*destroy)(oc_store *s);
    /* Makes sure a document of `bytes` can be saved now (disk space,
       rights); NULL for stores where that cannot fail short of an outage. */
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

/* The Redis store's lock lease, renewed this often while held, and its
   scripts by name ("save", "remove", "unlock", "renew"): the nginx driver
   keeps the same protocol over cosockets (lua/oauthconnect/store/redis.lua). */
enum { OC_REDIS_LEASE_MS = 10000, OC_REDIS_RENEW_MS = 3000 };
const char *oc_store_redis_script(const char *name);

/* A store the C core cannot reach (nginx's shared dicts, a user's Lua
   functions): its steps are performed by the Lua driver; a C driver asking
   it for anything gets OC_E_UNSUPPORTED naming it. */
oc_code oc_store_external_new(const char *where, oc_store **out, oc_error *err);
int oc_store_is_external(const oc_store *s);

/* Reads a file that may hold secrets (a config file of connections) as the
   settings file is read: not through a symbolic link, a regular file of
   this user that group and others cannot access, at most max bytes. An
   absent file is OC_OK with *found = 0. out is a secret buffer (wiped when
   freed); label names the file in messages. */
oc_code oc_read_private_file(const char *path, const char *label, size_t max, oc_buf *out,
                             int *found, oc_error *err);

oc_store *oc_store_retain(oc_store *s);
void oc_store_release(oc_store *s);

/* text is initialised here (a secret buffer the caller frees). */
oc_code oc_store_load(oc_store *s, oc_buf *text, int *found, oc_error *err);
oc_code oc_store_save(oc_store *s, const char *text, size_t len, const char *expected, size_t elen,
                      int expected_found, oc_error *err);
oc_code oc_store_remove(oc_store *s, const char *expected, size_t elen, int expected_found,
                        oc_error *err);
/* Before a refresh or a code exchange: whether the answer could be saved.
   A single-use refresh token the server rotates is lost if it cannot be. */
oc_code oc_store_reserve(oc_store *s, size_t bytes, oc_error *err);
/* One attempt (OC_E_LOCK: another holds it); oc_store_lock_wait retries
   with short sleeps for at most timeout_ms, for callers that may block. */
oc_code oc_store_try_lock(oc_store *s, oc_error *err);
oc_code oc_store_lock_wait(oc_store *s, int64_t timeout_ms, oc_error *err);
void oc_store_unlock(oc_store *s);
const char *oc_store_where(const oc_store *s);

/* Shared by backends: the "where" label, set once at creation. */
oc_code oc_store_init(oc_store *s, const oc_store_ops *ops, const char *where, oc_error *err);

/* "~" or "~/x" -> "$HOME/x" (malloc'd); other paths are copied. */
char *oc_expand_home(const char *path);

#endif
