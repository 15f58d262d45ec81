#include "oc_redact.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_kv.h"

enum { MIN_SECRET = 4, MAX_SECRETS = 64 };

static const char *const secret_headers[] = {
    "authorization", "proxy-authorization", "x-auth-token", "x-keap-api-key", "x-api-key",
    "cookie", "set-cookie", NULL
};

/* (An authorization code is caught by the literal net: the client registers
   it before sending it. "code" as a name is too common to redact by name.) */
static const char *const secret_fields[] = {
    "access_token", "refresh_token", "id_token", "client_secret", "code_verifier",
    "password", "device_code", "assertion", "client_assertion", "token", "api_key", "apikey", NULL
};

static int in_list(const char *const *list, const char *name, size_t len)
{
    size_t i;
    for (i = 0; list[i]; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0)
            return 1;
    return 0;
}

int oc_header_is_secret(const char *name, size_t len)
{
    return in_list(secret_headers, name, len);
}

int oc_field_is_secret(const char *name, size_t len)
{
    return in_list(secret_fields, name, len);
}

static void add_one(oc_secrets *s, const char *value)
{
    size_t i;
    if (!value || strlen(value) < MIN_SECRET)
        return;
    for (i = 0; i < s->n; i++)
        if (strcmp(s->value[i], value) == 0)
            return;
    if (s->n == MAX_SECRETS) {
        /* Evict the oldest token, never a pinned one (the properties'
           secrets, registered first): tokens come and go, those stay. */
        size_t victim = s->pinned < s->n ? s->pinned : s->n - 1;
        oc_free_secret(s->value[victim]);
        memmove(s->value + victim, s->value + victim + 1, (s->n - victim - 1) * sizeof *s->value);
        s->n--;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->value, cap * sizeof *v);
        if (!v)
            return;
        s->value = v;
        s->cap = cap;
    }
    if ((s->value[s->n] = oc_strdup(value)) != NULL)
        s->n++;
}

void oc_secrets_pin(oc_secrets *s)
{
    s->pinned = s->n;
}

void oc_secrets_add(oc_secrets *s, const char *value)
{
    char *escaped;
    if (!value)
        return;
    add_one(s, value);
    /* the same secret as it appears in a form body or a query */
    escaped = curl_easy_escape(NULL, value, 0);
    if (escaped) {
        add_one(s, escaped);
        oc_wipe(escaped, strlen(escaped));
        curl_free(escaped);
    }
}

void oc_secrets_set_open(oc_secrets *s, const char *value)
{
    free(s->open);
    s->open = value && *value ? oc_strdup(value) : NULL;
}

void oc_secrets_free(oc_secrets *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        oc_free_secret(s->value[i]);
    free(s->value);
    free(s->open);
    memset(s, 0, sizeof *s);
}

/* ---- pieces of secrets ------------------------------------------------------------------
 * Every OC_SECRET_PIECE-byte window of every secret, as a 64-bit key in an
 * open-addressing set: a text is then checked window by window in one pass,
 * whatever the secrets' lengths (a 4,000-byte token costs a lookup per
 * text byte, not a search). */

typedef struct pieces {
    uint64_t *slot; /* 0: empty (a window of eight NUL bytes is never a secret's) */
    size_t mask;
} pieces;

/* A window's key. */
static uint64_t window_key(const char *p)
{
    uint64_t k;
    memcpy(&k, p, sizeof k);
    return k;
}

/* Where key sits or would sit (splitmix64's finaliser spreads the bytes). */
static size_t probe(const pieces *ps, uint64_t key)
{
    uint64_t h = key;
    size_t i;
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    for (i = (size_t)h & ps->mask; ps->slot[i] && ps->slot[i] != key; i = (i + 1) & ps->mask)
        ;
    return i;
}

/* The windows of every secret longer than a piece; 0 when there are none
   or no memory (then only whole secrets are found). */
static int pieces_build(pieces *ps, const oc_secrets *s, const size_t *lens)
{
    size_t k, j, count = 0, cap = 16;
    for (k = 0; k < s->n; k++)
        if (lens[k] > OC_SECRET_PIECE)
            count += lens[k] - OC_SECRET_PIECE + 1;
    if (!count)
        return 0;
    while (cap < count * 2)
        cap *= 2;
    if (!(ps->slot = calloc(cap, sizeof *ps->slot)))
        return 0;
    ps->mask = cap - 1;
    for (k = 0; k < s->n; k++)
        for (j = 0; lens[k] > OC_SECRET_PIECE && j + OC_SECRET_PIECE <= lens[k]; j++) {
            uint64_t key = window_key(s->value[k] + j);
            if (key)
                ps->slot[probe(ps, key)] = key;
        }
    return 1;
}

static void pieces_free(pieces *ps)
{
    if (ps->slot)
        oc_wipe(ps->slot, (ps->mask + 1) * sizeof *ps->slot);
    free(ps->slot);
}

/* Marks in hide[] each byte of text inside a window of a secret, except
   within the public value where it stands whole. */
static void mark_pieces(unsigned char *hide, const char *text, size_t len, const oc_secrets *s,
                        const size_t *lens)
{
    pieces ps = { NULL, 0 };
    size_t i, olen = s->open ? strlen(s->open) : 0;
    if (len < OC_SECRET_PIECE || !pieces_build(&ps, s, lens))
        return;
    for (i = 0; i + OC_SECRET_PIECE <= len; i++) {
        uint64_t key = window_key(text + i);
        if (key && ps.slot[probe(&ps, key)] == key)
            memset(hide + i, 1, OC_SECRET_PIECE);
    }
    pieces_free(&ps);
    for (i = 0; olen && i + olen <= len; i++)
        if (text[i] == s->open[0] && memcmp(text + i, s->open, olen) == 0) {
            memset(hide + i, 0, olen);
            i += olen - 1;
        }
}

void oc_redact_literals(oc_buf *out, const char *text, size_t len, const oc_secrets *s)
{
    size_t lens[MAX_SECRETS], n = s ? s->n : 0, i = 0, plain = 0, k; /* n <= MAX_SECRETS: add_one */
    unsigned char *hide = NULL;
    for (k = 0; k < n; k++)
        lens[k] = strlen(s->value[k]);
    /* Pieces first; a secret found whole is hidden whatever the public value. */
    if (n && len && (hide = calloc(len, 1)) != NULL)
        mark_pieces(hide, text, len, s, lens);
    for (i = 0; i < len; i++)
        for (k = 0; k < n; k++)
            if (lens[k] <= len - i && text[i] == s->value[k][0] &&
                memcmp(text + i, s->value[k], lens[k]) == 0 && hide)
                memset(hide + i, 1, lens[k]);
    i = 0;
    while (i < len) {
        size_t best = 0;
        if (hide) {
            while (i + best < len && hide[i + best])
                best++;
        } else { /* no memory for the marks: whole secrets, the longest at each place */
            for (k = 0; k < n; k++)
                if (lens[k] <= len - i && lens[k] > best && text[i] == s->value[k][0] &&
                    memcmp(text + i, s->value[k], lens[k]) == 0)
                    best = lens[k];
        }
        if (best) {
            oc_buf_append(out, text + plain, i - plain);
            oc_buf_puts(out, OC_REDACTED);
            i += best;
            plain = i;
        } else {
            i++;
        }
    }
    oc_buf_append(out, text + plain, len - plain);
    free(hide);
}

void oc_redact_copy(char *dst, size_t max, const char *text, size_t len, const oc_secrets *s)
{
    oc_buf clean;
    const char *t = text;
    size_t n = len;
    if (max == 0)
        return;
    oc_buf_init_secret(&clean, 0);
    if (s && s->n) {
        oc_redact_literals(&clean, text, len, s);
        t = clean.data ? clean.data : "";
        n = clean.len;
    }
    if (n >= max) {
        n = max >= 4 ? oc_text_cut(t, n, max - 4) : 0;
        oc_copy_printable(dst, n + 1, t, n);
        if (max >= 4)
            memcpy(dst + n, "...", 4);
    } else {
        oc_copy_printable(dst, max, t, n);
    }
    oc_buf_free(&clean);
}

void oc_redact_header(oc_buf *out, const char *line, size_t len, const oc_secrets *s)
{
    const char *colon = memchr(line, ':', len);
    if (colon && oc_header_is_secret(line, (size_t)(colon - line))) {
        oc_buf_append(out, line, (size_t)(colon - line));
        oc_buf_puts(out, ": " OC_REDACTED);
        return;
    }
    oc_redact_literals(out, line, len, s);
}

static void redact_json(json_t *v, int depth)
{
    const char *key;
    json_t *m;
    size_t i;
    if (depth > 64)
        return;
    if (json_is_object(v)) {
        json_object_foreach(v, key, m) {
            if (oc_field_is_secret(key, strlen(key)) && !json_is_null(m))
                json_object_set_new(v, key, json_string(OC_REDACTED));
            else
                redact_json(m, depth + 1);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) redact_json(m, depth + 1);
    }
}

/* A form body: name=value pairs of URL-safe characters only. */
static int looks_like_form(const char *body, size_t len)
{
    size_t i;
    if (!len || !memchr(body, '=', len))
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];
        if (!(isalnum(c) || strchr("=&%+-._~*", c)))
            return 0;
    }
    return 1;
}

static void redact_form(oc_buf *out, const char *body, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i, eq;
        while (i < len && body[i] != '&')
            i++;
        for (eq = start; eq < i && body[eq] != '='; eq++)
            ;
        if (start)
            oc_buf_append(out, "&", 1);
        if (eq < i && oc_field_is_secret(body + start, eq - start)) {
            oc_buf_append(out, body + start, eq - start + 1);
            oc_buf_puts(out, OC_REDACTED);
        } else {
            oc_buf_append(out, body + start, i - start);
        }
        i++;
    }
}

/*
 * The last net for text that is neither valid JSON nor a form, such as a
 * truncated JSON answer: "name" : "value" with a credential name loses its
 * value, whatever surrounds it.
 */
static void redact_quoted_fields(oc_buf *out, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t name_start, name_end, j;
        if (text[i] != '"') {
            const char *q = memchr(text + i, '"', len - i);
            size_t run = q ? (size_t)(q - (text + i)) : len - i;
            oc_buf_append(out, text + i, run);
            i += run;
            continue;
        }
        name_start = i + 1;
        for (name_end = name_start; name_end < len && text[name_end] != '"'; name_end++)
            if (text[name_end] == '\\')
                name_end++;
        if (name_end >= len) {
            oc_buf_append(out, text + i, len - i);
            return;
        }
        oc_buf_append(out, text + i, name_end + 1 - i);
        i = name_end + 1;
        if (!oc_field_is_secret(text + name_start, name_end - name_start))
            continue;
        for (j = i; j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'); j++)
            ;
        if (j >= len || text[j] != ':')
            continue;
        for (j++; j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'); j++)
            ;
        if (j < len && text[j] == '"') {
            size_t end;
            for (end = j + 1; end < len && text[end] != '"'; end++)
                if (text[end] == '\\')
                    end++;
            oc_buf_append(out, text + i, j + 1 - i);
            oc_buf_puts(out, OC_REDACTED);
            if (end < len)
                oc_buf_append(out, "\"", 1);
            i = end < len ? end + 1 : len;
        }
    }
}

/* Control characters are shown escaped, so a body cannot forge log lines. */
static void append_escaped_controls(oc_buf *out, const char *text, size_t len)
{
    size_t i, plain = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        oc_buf_append(out, text + plain, i - plain);
        plain = i + 1;
        if (c == '\n')
            oc_buf_puts(out, "\\n");
        else if (c == '\r')
            oc_buf_puts(out, "\\r");
        else
            oc_buf_printf(out, "\\x%02x", c);
    }
    oc_buf_append(out, text + plain, len - plain);
}

void oc_redact_body(oc_buf *out, const char *body, size_t len, const oc_secrets *s)
{
    oc_buf tmp, lit;
    json_t *j = NULL;
    size_t lead = 0;
    oc_buf_init_secret(&tmp, 0);
    oc_buf_init_secret(&lit, 0);
    while (lead < len && (body[lead] == ' ' || body[lead] == '\t' || body[lead] == '\r' ||
                          body[lead] == '\n'))
        lead++;
    if (lead < len && (body[lead] == '{' || body[lead] == '['))
        j = json_loadb(body, len, 0, NULL);
    if (j) {
        char *text;
        redact_json(j, 0);
        text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        if (text) {
            oc_buf_puts(&tmp, text);
            free(text);
        }
    } else if (looks_like_form(body, len)) {
        redact_form(&tmp, body, len);
    } else {
        redact_quoted_fields(&tmp, body, len);
    }
    oc_redact_literals(&lit, tmp.data ? tmp.data : "", tmp.len, s);
    append_escaped_controls(out, lit.data ? lit.data : "", lit.len);
    oc_buf_free(&tmp);
    oc_buf_free(&lit);
}
