/*
 * oc_redis: one connection to a Redis server, plain or TLS, with deadlines.
 *
 * hiredis (Debian's libhiredis) formats the commands and reads the replies;
 * the socket and TLS are ours, because Debian 12's hiredis (0.14) has no
 * TLS and no deadline per command.
 */
#ifndef OC_REDIS_H
#define OC_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "oc_error.h"

typedef struct oc_redis_target {
    char *host;
    unsigned port;
    int tls;             /* rediss:// */
    char *user;          /* NULL: AUTH with the password alone */
    char *password;      /* NULL: no AUTH */
    int db;
    char *key;           /* the key of the token set */
    char *ca_file;       /* trust instead of the system's (SSLServerCert), or NULL */
    char *ca_pem;
    char *shown;         /* the location without password, for messages */
} oc_redis_target;

/* Parses redis://[user:password@]host[:port][/db]/key (rediss:// for TLS). */
oc_code oc_redis_parse(const char *location, oc_redis_target *out, oc_error *err);
void oc_redis_target_free(oc_redis_target *t);

typedef struct oc_redis oc_redis;

oc_code oc_redis_connect(const oc_redis_target *t, int64_t timeout_ms, oc_redis **out,
                         oc_error *err);
void oc_redis_close(oc_redis *r);

/* Sends one command and reads its reply (the caller frees it with
   freeReplyObject). An error reply is an OC_E_SETTINGS error. */
oc_code oc_redis_command(oc_redis *r, int argc, const char **argv, const size_t *lens,
                         redisReply **reply, oc_error *err);

#endif
