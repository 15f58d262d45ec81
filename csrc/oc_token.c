#include "oc_token.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_redact.h"

/* Members of a token response the token itself models; the rest go to extra. */
static const char *const known_members[] = {
    "access_token", "refresh_token", "token_type", "expires_in", "scope", "created_at", NULL
};

void oc_token_init(oc_token *t)
{
    memset(t, 0, sizeof *t);
    t->expires_in = -1;
}

void oc_token_clear(oc_token *t)
{
    oc_free_secret(t->access_token);
    oc_free_secret(t->refresh_token);
    free(t->token_type);
    free(t->scope);
    json_decref(t->extra);
    oc_token_init(t);
}

void oc_token_move(oc_token *dst, oc_token *src)
{
    oc_token_clear(dst);
    *dst = *src;
    oc_token_init(src);
}

static int dup_field(char **dst, const char *src)
{
    if (!src) {
        *dst = NULL;
        return 0;
    }
    *dst = oc_strdup(src);
    return *dst ? 0 : -1;
}

oc_code oc_token_copy(oc_token *dst, const oc_token *src, oc_error *err)
{
    oc_token t;
    oc_token_init(&t);
    t.expires_in = src->expires_in;
    t.obtained_ms = src->obtained_ms;
    t.expires_at_ms = src->expires_at_ms;
    t.created_at = src->created_at;
    if (dup_field(&t.access_token, src->access_token) || dup_field(&t.refresh_token, src->refresh_token) ||
        dup_field(&t.token_type, src->token_type) || dup_field(&t.scope, src->scope) ||
        (src->extra && !(t.extra = json_deep_copy(src->extra)))) {
        oc_token_clear(&t);
        return oc_fail_nomem(err);
    }
    oc_token_move(dst, &t);
    return OC_OK;
}

int oc_token_expired(const oc_token *t, int64_t now_ms)
{
    return t->expires_at_ms > 0 && now_ms >= t->expires_at_ms;
}

int64_t oc_token_due_at(const oc_token *t, int64_t leeway_s)
{
    int64_t lifetime_ms, leeway_ms;
    if (!t->access_token)
        return INT64_MIN;
    if (t->expires_at_ms <= 0)
        return INT64_MAX;
    lifetime_ms = t->expires_at_ms - t->obtained_ms;
    leeway_ms = leeway_s * 1000;
    /* A token that lives a few seconds must not be refreshed on every request. */
    if (lifetime_ms > 0 && leeway_ms > lifetime_ms / 4)
        leeway_ms = lifetime_ms / 4;
    return t->expires_at_ms - leeway_ms;
}

int oc_token_due(const oc_token *t, int64_t now_ms, int64_t leeway_s)
{
    return now_ms >= oc_token_due_at(t, leeway_s);
}

/* Tokens travel in HTTP headers: only visible ASCII may pass, or a hostile
   server could inject header lines through them. */
static int is_token_text(const char *s, size_t len)
{
    size_t i;
    if (len == 0 || len > OC_TOKEN_STRING_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static oc_code take_token_string(json_t *obj, const char *name, int required, const char *endpoint,
                                 char **out, oc_error *err)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return oc_fail(err, OC_E_BAD_RESPONSE, "the token endpoint %s answered without %s",
                           endpoint, name);
        return OC_OK;
    }
    if (!json_is_string(v))
        return oc_fail(err, OC_E_BAD_RESPONSE, "the token endpoint %s sent a %s that is not a string",
                       endpoint, name);
    if (!is_token_text(json_string_value(v), json_string_length(v)))
        return oc_fail(err, OC_E_BAD_RESPONSE,
                       "the token endpoint %s sent a %s that is empty, longer than %d bytes or "
                       "holds characters a token cannot hold",
                       endpoint, name, OC_TOKEN_STRING_MAX);
    *out = oc_strndup(json_string_value(v), json_string_length(v));
    return *out ? OC_OK : oc_fail_nomem(err);
}

static oc_code take_plain_string(json_t *obj, const char *name, const char *endpoint, char **out,
                                 oc_error *err)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return OC_OK;
    if (!json_is_string(v))
        return oc_fail(err, OC_E_BAD_RESPONSE, "the token endpoint %s sent a %s that is not a string",
                       endpoint, name);
    if (json_string_length(v) > OC_TOKEN_STRING_MAX)
        return oc_fail(err, OC_E_BAD_RESPONSE, "the token endpoint %s sent a %s over %d bytes",
                       endpoint, name, OC_TOKEN_STRING_MAX);
    *out = oc_strndup(json_string_value(v), json_string_length(v));
    return *out ? OC_OK : oc_fail_nomem(err);
}

/* scope: RFC 6749 3.3 says one space-separated string; some servers send a
   JSON array of strings, which means the same. */
static oc_code take_scope(json_t *obj, const char *endpoint, char **out, oc_error *err)
{
    json_t *v = json_object_get(obj, "scope"), *item;
    oc_buf joined;
    size_t i;
    if (!json_is_array(v))
        return take_plain_string(obj, "scope", endpoint, out, err);
    *out = NULL;
    oc_buf_init(&joined, OC_TOKEN_STRING_MAX);
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            oc_buf_free(&joined);
            return oc_fail(err, OC_E_BAD_RESPONSE,
                           "the token endpoint %s sent a scope list holding something other than "
                           "strings",
                           endpoint);
        }
        if ((i && oc_buf_puts(&joined, " ")) ||
            oc_buf_append(&joined, json_string_value(item), json_string_length(item))) {
            int over = joined.overflow;
            oc_buf_free(&joined);
            return over ? oc_fail(err, OC_E_BAD_RESPONSE, "the token endpoint %s sent a scope over %d bytes",
                                  endpoint, OC_TOKEN_STRING_MAX)
                        : oc_fail_nomem(err);
        }
    }
    *out = oc_strdup(joined.data ? joined.data : "");
    oc_buf_free(&joined);
    return *out ? OC_OK : oc_fail_nomem(err);
}

/* expires_in: RFC 6749 says a number, but servers also send numeric strings.
   Returns -1 through out when absent or 0 (servers use 0 for "no expiry"). */
static oc_code take_expires_in(json_t *obj, const char *endpoint, int64_t *out, oc_error *err)
{
    json_t *v = json_object_get(obj, "expires_in");
    double d;
    *out = -1;
    if (!v || json_is_null(v))
        return OC_OK;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        d = (double)n;
    } else if (json_is_real(v)) {
        d = json_real_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        size_t i, n = json_string_length(v);
        for (i = 0; i < n; i++)
            if (!isdigit((unsigned char)s[i]))
                break;
        if (n == 0 || i != n || n > 12)
            return oc_fail(err, OC_E_BAD_RESPONSE,
                           "the token endpoint %s sent an expires_in that is not a number of seconds",
                           endpoint);
        d = strtod(s, &end);
    } else {
        return oc_fail(err, OC_E_BAD_RESPONSE,
                       "the token endpoint %s sent an expires_in that is not a number", endpoint);
    }
    if (!isfinite(d) || d < 0)
        return oc_fail(err, OC_E_BAD_RESPONSE, "the token endpoint %s sent a negative expires_in",
                       endpoint);
    if (d > 2147483647.0)
        return oc_fail(err, OC_E_BAD_RESPONSE,
                       "the token endpoint %s sent an expires_in over 2147483647 seconds", endpoint);
    if (d >= 1)
        *out = (int64_t)d;
    return OC_OK;
}

/* A token endpoint's answer as JSON. RFC 8259 sets no limit on numbers: one
   past jansson's 64-bit integers (a user id, an absurd expires_in) is read
   as a real rather than refusing the answer and the tokens in it. */
static json_t *load_answer(const char *body, size_t len, json_error_t *jerr)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, jerr);
    if (!root && json_error_code(jerr) == json_error_numeric_overflow)
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, jerr);
    return root;
}

oc_code oc_token_salvage_refresh(const char *body, size_t len, const oc_token *previous,
                                 oc_token *out)
{
    json_t *root;
    json_error_t jerr;
    char *fresh = NULL;
    oc_code rc = OC_E_NOT_FOUND;
    if (!previous || !previous->refresh_token || len > OC_TOKEN_RESPONSE_MAX ||
        !(root = load_answer(body, len, &jerr)))
        return OC_E_NOT_FOUND;
    if (json_is_object(root) &&
        take_token_string(root, "refresh_token", 1, "", &fresh, NULL) == OC_OK &&
        strcmp(fresh, previous->refresh_token) != 0 && oc_token_copy(out, previous, NULL) == OC_OK) {
        oc_free_secret(out->refresh_token);
        out->refresh_token = fresh;
        fresh = NULL;
        rc = OC_OK;
    }
    oc_free_secret(fresh);
    json_decref(root);
    return rc;
}

static int is_known_member(const char *key)
{
    int i;
    for (i = 0; known_members[i]; i++)
        if (strcmp(key, known_members[i]) == 0)
            return 1;
    return 0;
}

oc_code oc_token_parse_response(const char *body, size_t len, const char *endpoint, int64_t now_ms,
                                const oc_token *previous, oc_token *out, oc_error *err)
{
    json_error_t jerr;
    json_t *root, *v;
    const char *key;
    oc_token t;
    oc_code rc;

    if (len > OC_TOKEN_RESPONSE_MAX)
        return oc_fail(err, OC_E_TOO_LARGE, "the token endpoint %s answered with more than %d bytes",
                       endpoint, OC_TOKEN_RESPONSE_MAX);
    root = load_answer(body, len, &jerr);
    if (!root) /* jerr.text may quote the body, which may hold a token: report the position only */
        return oc_fail(err, OC_E_BAD_RESPONSE,
                       "the token endpoint %s answered with a body that is not valid JSON "
                       "(error at byte %d)",
                       endpoint, jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return oc_fail(err, OC_E_BAD_RESPONSE,
                       "the token endpoint %s answered with JSON that is not an object", endpoint);
    }
    oc_token_init(&t);
    if ((rc = take_token_string(root, "access_token", 1, endpoint, &t.access_token, err)) != OC_OK ||
        (rc = take_token_string(root, "refresh_token", 0, endpoint, &t.refresh_token, err)) != OC_OK ||
        (rc = take_plain_string(root, "token_type", endpoint, &t.token_type, err)) != OC_OK ||
        (rc = take_scope(root, endpoint, &t.scope, err)) != OC_OK ||
        (rc = take_expires_in(root, endpoint, &t.expires_in, err)) != OC_OK)
        goto fail;
    /* RFC 6749 7.1: a token of a type the client does not understand must
       not be used (a DPoP or MAC token sent as Bearer would be refused, or
       worse, accepted by a lax server). Some servers omit the type. */
    if (t.token_type && strcasecmp(t.token_type, "bearer") != 0) {
        char shown[40];
        oc_redact_copy(shown, sizeof shown, t.token_type, strlen(t.token_type), NULL);
        rc = oc_fail(err, OC_E_BAD_RESPONSE,
                     "the token endpoint %s issued a '%s' token; only Bearer tokens are supported",
                     endpoint, shown);
        goto fail;
    }
    v = json_object_get(root, "created_at");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        t.created_at = json_integer_value(v);
    t.obtained_ms = now_ms;
    t.expires_at_ms = t.expires_in > 0 ? now_ms + t.expires_in * 1000 : 0;
    /* RFC 6749 6 and 5.1: a refresh answer may leave out the refresh token
       (keep using the old one) and the scope (unchanged from the grant). */
    if ((!t.refresh_token && previous && previous->refresh_token &&
         !(t.refresh_token = oc_strdup(previous->refresh_token))) ||
        (!t.scope && previous && previous->scope && !(t.scope = oc_strdup(previous->scope)))) {
        rc = oc_fail_nomem(err);
        goto fail;
    }
    json_object_foreach(root, key, v) {
        if (is_known_member(key))
            continue;
        if (!t.extra && !(t.extra = json_object())) {
            rc = oc_fail_nomem(err);
            goto fail;
        }
        json_object_set(t.extra, key, v);
    }
    json_decref(root);
    oc_token_move(out, &t);
    return OC_OK;
fail:
    json_decref(root);
    oc_token_clear(&t);
    return rc;
}

static oc_code code_for_status(long status)
{
    if (status == 429)
        return OC_E_RATE_LIMITED;
    if (status >= 500)
        return OC_E_SERVER_ERROR;
    return OC_E_OAUTH;
}

oc_code oc_token_error_response(long status, const char *body, size_t len, const char *ctype,
                                const char *what, const char *endpoint, const oc_secrets *known,
                                oc_error *err)
{
    json_t *root = len && len <= OC_TOKEN_RESPONSE_MAX ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *e = json_is_object(root) ? json_object_get(root, "error") : NULL;
    oc_code rc;

    if (err)
        err->status = status;
    if (json_is_string(e)) {
        char code[64], desc[240] = "";
        json_t *d = json_object_get(root, "error_description");
        oc_redact_copy(code, sizeof code, json_string_value(e), json_string_length(e), known);
        if (json_is_string(d))
            oc_redact_copy(desc, sizeof desc, json_string_value(d), json_string_length(d), known);
        if (err)
            snprintf(err->oauth_error, sizeof err->oauth_error, "%s", code);
        rc = oc_fail(err, status == 429 || status >= 500 ? code_for_status(status) : OC_E_OAUTH,
                     "%s was refused by %s (HTTP %ld): %s%s%s", what, endpoint, status, code,
                     desc[0] ? ": " : "", desc);
    } else {
        char shown[80];
        oc_redact_copy(shown, sizeof shown, ctype ? ctype : "no content type",
                       strlen(ctype ? ctype : "no content type"), known);
        if (status >= 500) /* a gateway's or a crashed server's page, not an answer */
            rc = oc_fail(err, code_for_status(status),
                         "%s failed: %s answered HTTP %ld, a server error; the stored tokens are "
                         "unchanged, try again later",
                         what, endpoint, status);
        else
            rc = oc_fail(err, code_for_status(status),
                         "%s failed: %s answered HTTP %ld with %s (%s) instead of an OAuth error",
                         what, endpoint, status,
                         root ? "JSON without an \"error\" member" : "a body that is not JSON", shown);
    }
    json_decref(root);
    return rc;
}

void oc_token_meta_clear(oc_token_meta *m)
{
    free(m->provider);
    free(m->api_url);
    free(m->token_url);
    free(m->client_id);
    free(m->seed);
    memset(m, 0, sizeof *m);
}

oc_code oc_token_meta_copy(oc_token_meta *dst, const oc_token_meta *src, oc_error *err)
{
    oc_token_meta m;
    memset(&m, 0, sizeof m);
    if (dup_field(&m.provider, src->provider) || dup_field(&m.api_url, src->api_url) ||
        dup_field(&m.token_url, src->token_url) || dup_field(&m.client_id, src->client_id) ||
        dup_field(&m.seed, src->seed)) {
        oc_token_meta_clear(&m);
        return oc_fail_nomem(err);
    }
    oc_token_meta_clear(dst);
    *dst = m;
    return OC_OK;
}

/* Adds a member, or fails: a token set missing a member must never be
   written, or a refresh token could silently drop out of the file. */
static int put(json_t *o, const char *key, json_t *v)
{
    return !v || json_object_set_new(o, key, v) != 0;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *oc_token_to_json(const oc_token *t, const oc_token_meta *meta)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (put(o, "format", json_string(OC_SETTINGS_FORMAT)) ||
        put(o, "access_token", string_or_null(t->access_token)) ||
        put(o, "refresh_token", string_or_null(t->refresh_token)) ||
        put(o, "token_type", string_or_null(t->token_type)) ||
        put(o, "scope", string_or_null(t->scope)) ||
        put(o, "expires_in", json_integer(t->expires_in)) ||
        put(o, "obtained_at_ms", json_integer(t->obtained_ms)) ||
        put(o, "expires_at_ms", json_integer(t->expires_at_ms)) ||
        put(o, "created_at", json_integer(t->created_at)) ||
        (t->extra && json_object_set(o, "extra", t->extra) != 0) ||
        (meta && (put(o, "provider", string_or_null(meta->provider)) ||
                  put(o, "api_url", string_or_null(meta->api_url)) ||
                  put(o, "token_url", string_or_null(meta->token_url)) ||
                  put(o, "client_id", string_or_null(meta->client_id)) ||
                  put(o, "seed", string_or_null(meta->seed))))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static oc_code read_int(const json_t *obj, const char *name, int64_t *out, const char *where,
                        oc_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return OC_OK;
    if (!json_is_integer(v))
        return oc_fail(err, OC_E_SETTINGS, "%s: %s is not an integer", where, name);
    *out = json_integer_value(v);
    return OC_OK;
}

static oc_code read_string(const json_t *obj, const char *name, int token, char **out,
                           const char *where, oc_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return OC_OK;
    if (!json_is_string(v) || (token && !is_token_text(json_string_value(v), json_string_length(v))))
        return oc_fail(err, OC_E_SETTINGS, "%s: %s is not a %s", where, name,
                       token ? "token string" : "string");
    *out = oc_strndup(json_string_value(v), json_string_length(v));
    return *out ? OC_OK : oc_fail_nomem(err);
}

oc_code oc_token_from_json(const json_t *obj, oc_token *out, oc_token_meta *meta, const char *where,
                           oc_error *err)
{
    oc_token t;
    oc_token_meta m;
    oc_code rc;
    json_t *extra, *access;

    memset(&m, 0, sizeof m);
    if (!json_is_object(obj))
        return oc_fail(err, OC_E_SETTINGS, "%s does not hold a JSON object", where);
    /* A set written by a later version may mean more than this one reads:
       refused, never half-read and written back. (No format: hand-made.) */
    if ((extra = json_object_get(obj, "format")) &&
        (!json_is_string(extra) || strcmp(json_string_value(extra), OC_SETTINGS_FORMAT) != 0)) {
        char shown[48] = "?";
        if (json_is_string(extra))
            oc_copy_printable(shown, sizeof shown, json_string_value(extra), json_string_length(extra));
        return oc_fail(err, OC_E_SETTINGS,
                       "%s is in the format '%s', which this version (%s) does not know", where,
                       shown, OC_SETTINGS_FORMAT);
    }
    oc_token_init(&t);
    /* No access token beside a refresh token: a refresh answer refused
       after the server rotated (salvaged) before any access token was
       held; the set needs a refresh, not a login. ("" is how versions up
       to 0.1.0 wrote that absence.) */
    access = json_object_get(obj, "access_token");
    if (json_is_string(access) && json_string_length(access) == 0)
        access = NULL;
    if ((access && (rc = read_string(obj, "access_token", 1, &t.access_token, where, err)) != OC_OK) ||
        (rc = read_string(obj, "refresh_token", 1, &t.refresh_token, where, err)) != OC_OK ||
        (rc = read_string(obj, "token_type", 0, &t.token_type, where, err)) != OC_OK ||
        (rc = read_string(obj, "scope", 0, &t.scope, where, err)) != OC_OK ||
        (rc = read_int(obj, "expires_in", &t.expires_in, where, err)) != OC_OK ||
        (rc = read_int(obj, "obtained_at_ms", &t.obtained_ms, where, err)) != OC_OK ||
        (rc = read_int(obj, "expires_at_ms", &t.expires_at_ms, where, err)) != OC_OK ||
        (rc = read_int(obj, "created_at", &t.created_at, where, err)) != OC_OK)
        goto fail;
    if (!t.access_token && !t.refresh_token) {
        rc = oc_fail(err, OC_E_SETTINGS, "%s holds no access_token", where);
        goto fail;
    }
    extra = json_object_get(obj, "extra");
    if (extra && !json_is_null(extra)) {
        if (!json_is_object(extra)) {
            rc = oc_fail(err, OC_E_SETTINGS, "%s: extra is not an object", where);
            goto fail;
        }
        t.extra = json_deep_copy(extra);
    }
    if (meta && ((rc = read_string(obj, "provider", 0, &m.provider, where, err)) != OC_OK ||
                 (rc = read_string(obj, "api_url", 0, &m.api_url, where, err)) != OC_OK ||
                 (rc = read_string(obj, "token_url", 0, &m.token_url, where, err)) != OC_OK ||
                 (rc = read_string(obj, "client_id", 0, &m.client_id, where, err)) != OC_OK ||
                 (rc = read_string(obj, "seed", 0, &m.seed, where, err)) != OC_OK))
        goto fail;
    oc_token_move(out, &t);
    if (meta) {
        oc_token_meta_clear(meta);
        *meta = m;
    }
    return OC_OK;
fail:
    oc_token_meta_clear(&m);
    oc_token_clear(&t);
    return rc;
}

oc_code oc_token_from_settings(const char *text, size_t len, const char *where, oc_token *out,
                               oc_token_meta *meta, oc_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    oc_code rc;
    if (!root) /* the position only: jansson's text may quote a token */
        return oc_fail(err, OC_E_SETTINGS,
                       "%s is corrupt (not valid JSON, error at byte %d); fix or remove it, it is "
                       "never replaced by a new login on its own",
                       where, jerr.position);
    rc = oc_token_from_json(root, out, meta, where, err);
    json_decref(root);
    return rc;
}
