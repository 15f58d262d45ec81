/*
 * Shared by the Lua binding's files: lua_core.c (the module), lua_client.c
 * (the client userdata) and lua_convert.c (Lua values to core inputs and
 * core results to Lua values, errors, boxes). No OAuth logic lives here.
 *
 * Every C resource held while a Lua API call may raise (out of memory
 * longjmps) lives in a userdata with a __gc: a box, or the client itself.
 */
#ifndef OC_LUA_BINDING_H
#define OC_LUA_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "compat.h"
#include <curl/curl.h>
#include <jansson.h>

#include "oc_client.h"
#include "oc_config.h"
#include "oc_error.h"
#include "oc_kv.h"
#include "oc_profile.h"

#define OC_LUA_CLIENT_MT "oauthconnect.client"
#define OC_LUA_BOX_MT "oauthconnect.box"
#define OC_LUA_ERROR_MT "oauthconnect.error"
#define OC_LUA_HEADERS_MT "oauthconnect.headers"

enum { OC_LUA_JSON_DEPTH_MAX = 32 };

/* A box owns one C object until its __gc. */
typedef enum { OC_BOX_CONFIG, OC_BOX_PROFILE, OC_BOX_STRING, OC_BOX_JSON, OC_BOX_KV } oc_box_kind;
typedef struct oc_lua_box {
    oc_box_kind kind;
    void *p;
} oc_lua_box;

/* [-0, +1] A box holding a new config or profile (raises when out of
   memory), or an empty string box the caller fills. */
oc_lua_box *oc_lua_box_new(lua_State *L, oc_box_kind kind);
int oc_lua_box_gc(lua_State *L);

/* [-0, +2] nil and an error object; returns 2 for `return oc_lua_fail(...)`. */
int oc_lua_fail(lua_State *L, const oc_error *e);
int oc_lua_error_tostring(lua_State *L);
/* __concat: err .. "x", "failed: " .. err, err .. 1 join the message. */
int oc_lua_error_concat(lua_State *L);

/* [-0, +0] The text of a string, number (converted in place) or boolean at
   absolute index i, or NULL. */
const char *oc_lua_scalar(lua_State *L, int i, size_t *len);

/* [-0, +0] Fill cfg from a connection string or an options table, or a
   profile from a profile table. 0 with err filled on bad values; raise on
   wrong types. */
int oc_lua_read_config(lua_State *L, int idx, oc_config *cfg, oc_error *err);
int oc_lua_read_profile(lua_State *L, int idx, oc_profile *p, oc_error *err);
/* [-0, +0] A parameter table into kv, sorted by name (arrays give repeated
   names); raises on wrong types. */
void oc_lua_read_kv(lua_State *L, int idx, oc_kv *kv);

/* [-0, +1] A JSON value as Lua values (nil deeper than OC_LUA_JSON_DEPTH_MAX). */
void oc_lua_push_json(lua_State *L, json_t *v);
/* [-0, +1] A token table, a headers table (case-insensitive lookups). */
void oc_lua_push_token(lua_State *L, const oc_token *t);
void oc_lua_push_headers(lua_State *L, const oc_response *r);
/* [-0, +1] The headers as one string, "name\0value\0..." (names lower-case),
   for the Lua layer to make a table of only when asked (core.headers). */
void oc_lua_push_raw_headers(lua_State *L, const oc_response *r);
int oc_lua_headers(lua_State *L);
int oc_lua_headers_index(lua_State *L);

/* lua_request.c: a signed request's inputs (kept alive by their owner's
   userdata, so a raise cannot leak them) and its answer. */
typedef struct lrequest {
    oc_api_request req;
    oc_kv query;
    struct curl_slist *headers;
    int fail_on_http;
    oc_response resp;
} lrequest;
void oc_lua_request_init(lrequest *r);
void oc_lua_request_clear_inputs(lrequest *r);
void oc_lua_request_free(lrequest *r);
/* [-0, +0] method, target, query, headers, body, fail_on_http at base..base+5
   into r; raises on wrong types. The strings stay the caller's (on its
   stack or in a user value). */
void oc_lua_read_request(lua_State *L, int base, lrequest *r);
/* [-0, +0] The arguments (code [, state [, callback [, verifier [,
   redirect_uri]]]]) from index 2 into x, the callback's parameters into
   r->query (owned by r); raises on wrong types. The strings stay the
   stack's: x is good while they are there. */
void oc_lua_read_exchange(lua_State *L, struct oc_exchange *x, lrequest *r);
/* [-0, +3] status, raw headers, body, or [-0, +2] nil, err (rc's, or with
   fail_on_http the HTTP error, why saying what a 401 left to do). */
int oc_lua_push_request_result(lua_State *L, const oc_client *c, oc_code rc, const oc_error *err,
                               lrequest *r, oc_rejection why);

/* lua_client.c: the client userdata */
typedef struct lclient {
    oc_client *c;       /* freed once closed and no call is left */
    int closed;
    int live_calls;     /* open call userdata (lua_call.c) */
    lrequest in;        /* client:request's */
    const char *cached_line;   /* authorize_now's cache (the strings are in the user value): */
    unsigned cached_generation;  /* the line and generation they were made from */
    const char *bound_line;    /* the same for the bound authorize (its upvalues hold them) */
    unsigned bound_generation;
    const char *bound_name;    /* ... the name's characters (its upvalue keeps them alive) */
    size_t bound_name_len;
    int bound;                 /* bind_authorize was called (once per client) */
    lrequest *batch;    /* request_many's, OC_MAX_IN_FLIGHT: made on first use */
} lclient;

void oc_lua_open_client(lua_State *L);
int oc_lua_client_new(lua_State *L);
lclient *oc_lua_check_client(lua_State *L, int i);
void oc_lua_client_release(lclient *lc);
/* [-0, +0] A header table ({name = value}) appended to *list as
   "Name: value" lines; raises on wrong types. */
void oc_lua_read_headers(lua_State *L, int idx, struct curl_slist **list);
/* [-0, +2] nil and the error for an HTTP answer >= 400, with its body and
   headers. */
int oc_lua_http_failure(lua_State *L, const oc_client *c, const char *method, const char *target,
                        const oc_response *resp, oc_rejection why);

/* lua_sig.c: webhook and signed-callback checks */
int oc_lua_verify_hmac_sha256(lua_State *L);
int oc_lua_verify_jwt_hs256(lua_State *L);

/* lua_redis.c: Redis on the wire for the nginx driver's cosocket store */
int oc_lua_redis_target(lua_State *L);
int oc_lua_redis_format(lua_State *L);
int oc_lua_redis_reader(lua_State *L);

/* lua_call.c: one engine call driven from Lua (nginx, a user's transport
   or store) */
#define OC_LUA_CALL_MT "oauthconnect.call"
typedef enum { CALL_REQUEST, CALL_TOKEN, CALL_REJECTED, CALL_AUTHORIZATION, CALL_FORGET } lcall_kind;
void oc_lua_open_call(lua_State *L);
int oc_lua_call_request(lua_State *L);
int oc_lua_call_token(lua_State *L);
int oc_lua_call_rejected(lua_State *L);
int oc_lua_call_exchange(lua_State *L);
int oc_lua_call_login(lua_State *L);
int oc_lua_call_authorization(lua_State *L);
int oc_lua_call_forget(lua_State *L);

#endif
