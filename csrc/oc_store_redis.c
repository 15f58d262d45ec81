/*
 * The Redis store: one token set per key, shared by every machine that
 * names it, with the same contract as the file store.
 *
 *   lock   SET <key>:lock <random> NX PX <lease>, retried until the deadline,
 *          renewed by a thread while held (a slow refresh must not lose it),
 *          released only by its owner (compare-and-delete in a script);
 *   save   compare-and-set in a script: written only while the stored text
 *          is still the one the writer read, so an older set can never
 *          overwrite a newer one, even if a lease ran out;
 *   strict a set that could not be written is never used (it would fork the
 *          connection between machines).
 *
 * Durability is Redis's: run it with appendonly yes and appendfsync always
 * (docs/RELIABILITY.md says what a failover can lose).
 */
#include "oc_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_redis.h"
#include "oc_time.h"

enum { LEASE_MS = OC_REDIS_LEASE_MS, RENEW_EVERY_MS = OC_REDIS_RENEW_MS,
       OC_REDIS_COMMAND_TIMEOUT_MS = 5000 };

/* Compare-and-set: ARGV[1] the new text, ARGV[2] the expected one, ARGV[3]
   "1" when something was expected to be stored ("0": nothing). */
static const char SAVE_SCRIPT[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if ARGV[3] == '1' then if cur ~= ARGV[2] then return 0 end elseif cur then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* Compare-and-delete: ARGV[1] the expected text, ARGV[2] as ARGV[3] above. */
static const char REMOVE_SCRIPT[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if ARGV[2] == '1' then if cur ~= ARGV[1] then return 0 end elseif cur then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return 1\n";

static const char UNLOCK_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

static const char RENEW_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "return 0\n";

const char *oc_store_redis_script(const char *name)
{
    if (strcmp(name, "save") == 0)
        return SAVE_SCRIPT;
    if (strcmp(name, "remove") == 0)
        return REMOVE_SCRIPT;
    if (strcmp(name, "unlock") == 0)
        return UNLOCK_SCRIPT;
    if (strcmp(name, "renew") == 0)
        return RENEW_SCRIPT;
    return NULL;
}

typedef struct redis_store {
    oc_store base;
    oc_redis_target target;
    char *lock_key;
    int64_t timeout_ms;
    oc_redis *conn;       /* the owner's connection; reopened after a failure */
    /* the lock */
    int lock_depth;
    char *lock_value;     /* our random value while we hold it */
    pthread_t renewer;
    int renewing;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    int stop;
} redis_store;

/* A new connection may run scripts: saving the set is an EVAL, and it
   comes after the refresh has spent the old refresh token, so a user the
   server's ACL does not let run EVAL must be found out before, not then. */
static oc_code check_may_eval(redis_store *r, oc_error *err)
{
    const char *argv[3] = { "EVAL", "return 1", "0" };
    size_t lens[3] = { 4, 8, 1 };
    redisReply *reply = NULL;
    oc_code rc = oc_redis_command(r->conn, 3, argv, lens, &reply, err);
    freeReplyObject(reply);
    if (rc == OC_E_SETTINGS)
        oc_error_prefix(err, "the Redis user must be allowed EVAL, GET, SET, DEL and PEXPIRE on "
                             "the key and KEY:lock (tokens are saved by a script)");
    return rc;
}

/* Runs a command on the owner's connection, connecting (again) when needed;
   a connection that failed is closed so the next command starts afresh. */
static oc_code run(redis_store *r, int argc, const char **argv, const size_t *lens,
                   redisReply **reply, oc_error *err)
{
    oc_code rc;
    if (!r->conn) {
        if ((rc = oc_redis_connect(&r->target, r->timeout_ms, &r->conn, err)) != OC_OK)
            return rc;
        if ((rc = check_may_eval(r, err)) != OC_OK) {
            oc_redis_close(r->conn);
            r->conn = NULL;
            return rc;
        }
    }
    rc = oc_redis_command(r->conn, argc, argv, lens, reply, err);
    if (rc == OC_E_NETWORK || rc == OC_E_TIMEOUT || rc == OC_E_TLS || rc == OC_E_BAD_RESPONSE) {
        oc_redis_close(r->conn);
        r->conn = NULL;
    }
    return rc;
}

static oc_code redis_load(oc_store *s, oc_buf *text, int *found, oc_error *err)
{
    redis_store *r = (redis_store *)s;
    const char *argv[2] = { "GET", r->target.key };
    size_t lens[2] = { 3, strlen(r->target.key) };
    redisReply *reply = NULL;
    oc_code rc;
    *found = 0;
    if ((rc = run(r, 2, argv, lens, &reply, err)) != OC_OK)
        return rc;
    if (reply->type == REDIS_REPLY_STRING) {
        if (oc_buf_append(text, reply->str, reply->len) != 0)
            rc = oc_fail_nomem(err);
        else
            *found = 1;
    } else if (reply->type != REDIS_REPLY_NIL) {
        rc = oc_fail(err, OC_E_SETTINGS, "%s holds something that is not a settings document",
                     s->where);
    }
    oc_wipe(reply->str, reply->len);
    freeReplyObject(reply);
    return rc;
}

static oc_code eval(redis_store *r, const char *script, int nkeys, int argc, const char **args,
                    const size_t *alens, long long *result, oc_error *err)
{
    const char *argv[9];
    size_t lens[9];
    char nk[8];
    redisReply *reply = NULL;
    int i;
    oc_code rc;
    snprintf(nk, sizeof nk, "%d", nkeys);
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = script;
    lens[1] = strlen(script);
    argv[2] = nk;
    lens[2] = strlen(nk);
    for (i = 0; i < argc && i < 6; i++) {
        argv[3 + i] = args[i];
        lens[3 + i] = alens[i];
    }
    if ((rc = run(r, 3 + argc, argv, lens, &reply, err)) != OC_OK)
        return rc;
    *result = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    freeReplyObject(reply);
    return OC_OK;
}

static oc_code conflict(const oc_store *s, oc_error *err)
{
    return oc_fail(err, OC_E_CONFLICT, "%s changed since it was read; nothing was written over it",
                   s->where);
}

/* Whether the key holds text now (an answer to a script whose reply was
   lost with the connection: it may or may not have run). -1 when Redis
   cannot say. */
static int holds(oc_store *s, const char *text, size_t len, int present)
{
    oc_buf cur;
    int found = 0, same;
    oc_error again;
    oc_buf_init_secret(&cur, 0);
    if (redis_load(s, &cur, &found, &again) != OC_OK) {
        oc_buf_free(&cur);
        return -1;
    }
    same = found == present && (!found || (cur.len == len && memcmp(cur.data, text, len) == 0));
    oc_buf_free(&cur);
    return same;
}

static oc_code redis_save(oc_store *s, const char *text, size_t len, const char *expected,
                          size_t elen, int expected_found, oc_error *err)
{
    redis_store *r = (redis_store *)s;
    const char *args[4] = { r->target.key, text, expected ? expected : "", expected_found ? "1" : "0" };
    size_t lens[4] = { strlen(r->target.key), len, expected ? elen : 0, 1 };
    long long applied = 0;
    oc_code rc = eval(r, SAVE_SCRIPT, 1, 4, args, lens, &applied, err);
    if (rc != OC_OK && r->conn == NULL) {
        /* The connection failed: the script may or may not have run. Look. */
        int now = holds(s, text, len, 1);
        if (now == 1) {
            rc = OC_OK;
            applied = 1;
        } else if (now == 0) {
            rc = eval(r, SAVE_SCRIPT, 1, 4, args, lens, &applied, err);
        }
    }
    if (rc == OC_OK && !applied)
        rc = conflict(s, err);
    return rc;
}

static oc_code redis_remove(oc_store *s, const char *expected, size_t elen, int expected_found,
                            oc_error *err)
{
    redis_store *r = (redis_store *)s;
    const char *args[3] = { r->target.key, expected ? expected : "", expected_found ? "1" : "0" };
    size_t lens[3] = { strlen(r->target.key), expected ? elen : 0, 1 };
    long long applied = 0;
    oc_code rc = eval(r, REMOVE_SCRIPT, 1, 3, args, lens, &applied, err);
    if (rc != OC_OK && r->conn == NULL && holds(s, NULL, 0, 0) == 1) {
        rc = OC_OK;
        applied = 1;
    }
    if (rc == OC_OK && !applied)
        rc = conflict(s, err);
    return rc;
}

/* The lease renewer: its own connection, so the owner's is never shared. */
static void *renew_loop(void *arg)
{
    redis_store *r = arg;
    oc_redis *conn = NULL;
    char lease[16];
    snprintf(lease, sizeof lease, "%d", LEASE_MS);
    pthread_mutex_lock(&r->mutex);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += RENEW_EVERY_MS / 1000;
        until.tv_nsec += (long)(RENEW_EVERY_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->wake, &r->mutex, &until);
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->mutex);
        {
            const char *argv[6] = { "EVAL", RENEW_SCRIPT, "1", r->lock_key, r->lock_value, lease };
            size_t lens[6] = { 4, strlen(RENEW_SCRIPT), 1, strlen(r->lock_key), strlen(r->lock_value),
                               strlen(lease) };
            redisReply *reply = NULL;
            oc_error err;
            if (!conn && oc_redis_connect(&r->target, RENEW_EVERY_MS, &conn, &err) != OC_OK)
                conn = NULL;
            if (conn && oc_redis_command(conn, 6, argv, lens, &reply, &err) != OC_OK) {
                oc_redis_close(conn);
                conn = NULL;
            }
            if (reply)
                freeReplyObject(reply);
        }
        pthread_mutex_lock(&r->mutex);
    }
    pthread_mutex_unlock(&r->mutex);
    oc_redis_close(conn);
    return NULL;
}

static oc_code redis_lock(oc_store *s, oc_error *err)
{
    redis_store *r = (redis_store *)s;
    const char *argv[6];
    size_t lens[6];
    redisReply *reply = NULL;
    char lease[16];
    int taken;
    oc_code rc;

    if (r->lock_depth > 0) {
        r->lock_depth++;
        return OC_OK;
    }
    free(r->lock_value);
    r->lock_value = NULL;
    if ((rc = oc_random_urlsafe(24, &r->lock_value, err)) != OC_OK)
        return rc;
    snprintf(lease, sizeof lease, "%d", LEASE_MS);
    argv[0] = "SET";
    argv[1] = r->lock_key;
    argv[2] = r->lock_value;
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = lease;
    lens[0] = 3;
    lens[1] = strlen(r->lock_key);
    lens[2] = strlen(r->lock_value);
    lens[3] = lens[4] = 2;
    lens[5] = strlen(lease);
    if ((rc = run(r, 6, argv, lens, &reply, err)) != OC_OK) {
        oc_error_prefix(err, "cannot take the lock"); /* keeps its code: not "held by another" */
        return rc;
    }
    taken = reply->type == REDIS_REPLY_STATUS; /* OK: ours; nil: another's */
    freeReplyObject(reply);
    if (!taken)
        return oc_fail(err, OC_E_LOCK, "the lock on %s is held (another machine or process is "
                                       "refreshing or logging in)",
                       s->where);
    r->stop = 0;
    r->renewing = pthread_create(&r->renewer, NULL, renew_loop, r) == 0;
    r->lock_depth = 1;
    return OC_OK;
}

static void redis_unlock(oc_store *s)
{
    redis_store *r = (redis_store *)s;
    const char *args[2];
    size_t lens[2];
    long long done = 0;
    oc_error err;
    if (r->lock_depth == 0 || --r->lock_depth > 0)
        return;
    if (r->renewing) {
        pthread_mutex_lock(&r->mutex);
        r->stop = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->mutex);
        pthread_join(r->renewer, NULL);
        r->renewing = 0;
    }
    args[0] = r->lock_key;
    args[1] = r->lock_value;
    lens[0] = strlen(args[0]);
    lens[1] = strlen(args[1]);
    /* If Redis is gone, the lease simply runs out. */
    eval(r, UNLOCK_SCRIPT, 1, 2, args, lens, &done, &err);
}

static void redis_destroy(oc_store *s)
{
    redis_store *r = (redis_store *)s;
    while (r->lock_depth > 0)
        redis_unlock(s);
    oc_redis_close(r->conn);
    oc_redis_target_free(&r->target);
    free(r->lock_key);
    free(r->lock_value);
    pthread_mutex_destroy(&r->mutex);
    pthread_cond_destroy(&r->wake);
    free(r);
}

static const oc_store_ops redis_ops = {
    redis_load, redis_save, redis_remove, redis_lock, redis_unlock, redis_destroy,
    NULL /* rights are checked when connecting (check_may_eval); space is Redis's */
};

oc_code oc_store_redis_new(const char *location, const char *ca_file, const char *ca_pem,
                           int64_t timeout_ms, oc_store **out, oc_error *err)
{
    redis_store *r = calloc(1, sizeof *r);
    size_t n;
    oc_code rc;
    *out = NULL;
    if (!r)
        return oc_fail_nomem(err);
    pthread_mutex_init(&r->mutex, NULL);
    pthread_cond_init(&r->wake, NULL);
    if ((rc = oc_redis_parse(location, &r->target, err)) != OC_OK) {
        pthread_mutex_destroy(&r->mutex);
        pthread_cond_destroy(&r->wake);
        free(r);
        return rc;
    }
    /* Redis answers in well under a millisecond: a command still unanswered
       after a few seconds is a hung server, and in nginx every request of
       the worker waits with it (the store's I/O is blocking). */
    r->timeout_ms = timeout_ms > 0 && timeout_ms < OC_REDIS_COMMAND_TIMEOUT_MS ? timeout_ms
                                                                               : OC_REDIS_COMMAND_TIMEOUT_MS;
    n = strlen(r->target.key) + 6;
    if ((ca_file && !(r->target.ca_file = oc_strdup(ca_file))) ||
        (ca_pem && !(r->target.ca_pem = oc_strdup(ca_pem))) || !(r->lock_key = malloc(n)) ||
        (rc = oc_store_init(&r->base, &redis_ops, r->target.shown, err)) != OC_OK) {
        redis_destroy(&r->base);
        return oc_fail_nomem(err);
    }
    snprintf(r->lock_key, n, "%s:lock", r->target.key);
    r->base.strict = 1;
    *out = &r->base;
    return OC_OK;
}
