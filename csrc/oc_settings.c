#include "oc_settings.h"

#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_mem.h"

/* The members this module adds beside the token set's. */
#define PENDING_MEMBER "pending_logins"
#define DISCOVERY_MEMBER "discovery"

void oc_settings_init(oc_settings *s)
{
    memset(s, 0, sizeof *s);
    oc_token_init(&s->token);
}

static void pending_clear(oc_pending *p)
{
    oc_free_secret(p->verifier);
    free(p->redirect_uri);
    memset(p, 0, sizeof *p);
}

/* Room for one more pending login (up to OC_PENDING_MAX); 0 when out of memory. */
static int room_for_one(oc_settings *s)
{
    size_t cap;
    oc_pending *p;
    if (s->npending < s->cap)
        return 1;
    cap = s->cap ? s->cap * 2 : 4;
    if (cap > OC_PENDING_MAX)
        cap = OC_PENDING_MAX;
    if (cap <= s->npending || !(p = realloc(s->pending, cap * sizeof *p)))
        return 0;
    memset(p + s->cap, 0, (cap - s->cap) * sizeof *p);
    s->pending = p;
    s->cap = cap;
    return 1;
}

void oc_settings_drop_token(oc_settings *s)
{
    oc_token_clear(&s->token);
    oc_token_meta_clear(&s->meta);
    s->has_token = 0;
}

void oc_settings_clear(oc_settings *s)
{
    size_t i;
    oc_settings_drop_token(s);
    for (i = 0; i < s->npending; i++)
        pending_clear(&s->pending[i]);
    free(s->pending);
    json_decref(s->discovery);
    oc_settings_init(s);
}

/* One pending login from its JSON form; 0 when it is not one (skipped:
   a record the reader cannot use must not make the tokens unreadable). */
static int read_pending(const char *key, const json_t *v, oc_pending *out)
{
    const json_t *ver = json_object_get(v, "verifier"), *uri = json_object_get(v, "redirect_uri");
    const json_t *exp = json_object_get(v, "expires_at_ms");
    if (strlen(key) != 64 || strspn(key, "0123456789abcdef") != 64 || !json_is_object(v) ||
        !json_is_integer(exp) || (ver && !json_is_null(ver) && !json_is_string(ver)) ||
        (uri && !json_is_null(uri) && !json_is_string(uri)))
        return 0;
    memcpy(out->key, key, 65);
    out->expires_at_ms = json_integer_value(exp);
    out->verifier = json_is_string(ver) ? oc_strdup(json_string_value(ver)) : NULL;
    out->redirect_uri = json_is_string(uri) ? oc_strdup(json_string_value(uri)) : NULL;
    if ((json_is_string(ver) && !out->verifier) || (json_is_string(uri) && !out->redirect_uri)) {
        pending_clear(out);
        return 0;
    }
    return 1;
}

oc_code oc_settings_parse(const char *text, size_t len, const char *where, oc_settings *out,
                          oc_error *err)
{
    json_error_t jerr;
    json_t *root, *pending, *disc;
    oc_code rc = OC_OK;

    oc_settings_clear(out);
    if (len == 0) /* a store that holds nothing says so; an empty file is a write cut short */
        return oc_fail(err, OC_E_SETTINGS, "%s is corrupt (empty: a write cut short); fix or remove "
                                           "it, it is never replaced by a new login on its own",
                       where);
    if (len > OC_SETTINGS_MAX)
        return oc_fail(err, OC_E_SETTINGS, "%s is larger than %d bytes", where, OC_SETTINGS_MAX);
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) /* the position only: */
        return oc_fail(err, OC_E_SETTINGS,                              /* the text may quote a token */
                       "%s is corrupt (not valid JSON, error at byte %d); fix or remove it, it is "
                       "never replaced by a new login on its own",
                       where, jerr.position);
    pending = json_object_get(root, PENDING_MEMBER);
    disc = json_object_get(root, DISCOVERY_MEMBER);
    /* Without an access token a document is only valid when it holds
       something else of ours: a file missing its token is corrupt. */
    if (json_is_object(root) && !json_object_get(root, "access_token") && (pending || disc) &&
        json_is_string(json_object_get(root, "format"))) {
        rc = OC_OK;
    } else if ((rc = oc_token_from_json(root, &out->token, &out->meta, where, err)) == OC_OK) {
        out->has_token = 1;
    }
    if (rc == OC_OK && json_is_object(pending)) {
        const char *key;
        json_t *v;
        json_object_foreach(pending, key, v) {
            if (out->npending < OC_PENDING_MAX && room_for_one(out) &&
                read_pending(key, v, &out->pending[out->npending]))
                out->npending++;
        }
    }
    if (rc == OC_OK && json_is_object(disc))
        out->discovery = json_deep_copy(disc);
    json_decref(root);
    if (rc != OC_OK)
        oc_settings_clear(out);
    return rc;
}

char *oc_settings_dump(const oc_settings *s, size_t *len)
{
    json_t *doc = s->has_token ? oc_token_to_json(&s->token, &s->meta) : json_object();
    char *text = NULL;
    size_t i;
    int bad = !doc;
    if (!bad && !s->has_token)
        bad = json_object_set_new(doc, "format", json_string(OC_SETTINGS_FORMAT)) != 0;
    if (!bad && s->npending) {
        json_t *p = json_object();
        bad = !p || json_object_set_new(doc, PENDING_MEMBER, p) != 0;
        for (i = 0; !bad && i < s->npending; i++) {
            const oc_pending *e = &s->pending[i];
            json_t *o = json_pack("{s:o, s:o, s:I}",
                                  "verifier", e->verifier ? json_string(e->verifier) : json_null(),
                                  "redirect_uri", e->redirect_uri ? json_string(e->redirect_uri) : json_null(),
                                  "expires_at_ms", (json_int_t)e->expires_at_ms);
            bad = !o || json_object_set_new(p, e->key, o) != 0;
        }
    }
    if (!bad && s->discovery)
        bad = json_object_set(doc, DISCOVERY_MEMBER, s->discovery) != 0;
    if (!bad)
        text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    if (text && len)
        *len = strlen(text);
    return text;
}

oc_code oc_settings_set_token(oc_settings *s, const oc_token *t, const oc_token_meta *meta,
                              oc_error *err)
{
    oc_token copy;
    oc_token_meta m;
    oc_code rc;
    oc_token_init(&copy);
    memset(&m, 0, sizeof m);
    if ((rc = oc_token_copy(&copy, t, err)) != OC_OK ||
        (meta && (rc = oc_token_meta_copy(&m, meta, err)) != OC_OK)) {
        oc_token_clear(&copy);
        return rc;
    }
    oc_settings_drop_token(s);
    oc_token_move(&s->token, &copy);
    s->meta = m;
    s->has_token = 1;
    return OC_OK;
}

void oc_settings_remove_pending(oc_settings *s, int index)
{
    if (index < 0 || (size_t)index >= s->npending)
        return;
    pending_clear(&s->pending[index]);
    memmove(&s->pending[index], &s->pending[index + 1],
            (s->npending - (size_t)index - 1) * sizeof *s->pending);
    s->npending--;
    memset(&s->pending[s->npending], 0, sizeof *s->pending);
}

void oc_settings_prune(oc_settings *s, int64_t now_ms)
{
    size_t i = 0;
    while (i < s->npending) {
        if (s->pending[i].expires_at_ms <= now_ms)
            oc_settings_remove_pending(s, (int)i);
        else
            i++;
    }
}

oc_code oc_settings_add_pending(oc_settings *s, const char *state, const char *verifier,
                                const char *redirect_uri, int64_t now_ms, oc_error *err)
{
    oc_pending *e;
    oc_settings_prune(s, now_ms);
    if (s->npending == OC_PENDING_MAX) { /* the oldest first */
        size_t i, oldest = 0;
        for (i = 1; i < s->npending; i++)
            if (s->pending[i].expires_at_ms < s->pending[oldest].expires_at_ms)
                oldest = i;
        oc_settings_remove_pending(s, (int)oldest);
    }
    if (!room_for_one(s))
        return oc_fail_nomem(err);
    e = &s->pending[s->npending];
    oc_sha256_hex(state, strlen(state), e->key);
    e->expires_at_ms = now_ms + OC_PENDING_TTL_MS;
    if ((verifier && !(e->verifier = oc_strdup(verifier))) ||
        (redirect_uri && !(e->redirect_uri = oc_strdup(redirect_uri)))) {
        pending_clear(e);
        return oc_fail_nomem(err);
    }
    s->npending++;
    return OC_OK;
}

int oc_settings_find_pending(const oc_settings *s, const char *state)
{
    char key[65];
    size_t i;
    oc_sha256_hex(state, strlen(state), key);
    for (i = 0; i < s->npending; i++)
        if (oc_secure_streq(s->pending[i].key, key))
            return (int)i;
    return -1;
}

size_t oc_settings_count_pending(const oc_settings *s, const char *redirect_uri, int *index)
{
    size_t i, n = 0;
    for (i = 0; i < s->npending; i++) {
        const char *r = s->pending[i].redirect_uri;
        if (r && redirect_uri && strcmp(r, redirect_uri) == 0) {
            n++;
            *index = (int)i;
        }
    }
    return n;
}
