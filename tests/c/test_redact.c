/*
 * Secrets a server quotes back, placed around every place a text is cut:
 * no part of a secret may survive in a message or a log line. A part is 8
 * bytes in a row of the secret; each secret length is tried at every offset
 * within its own length of each cut.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "oc_call.h"
#include "oc_oauth.h"
#include "oc_redact.h"
#include "oc_client.h"
#include "oc_client_internal.h"
#include "oc_easy.h"
#include "oc_test.h"
#include "oc_time.h"

enum { GRAM = 8 };

static const size_t lengths[] = { 16, 17, 63, 64, 65, 255, 256, 681, 1000, 4000 };
#define NLENGTHS (sizeof lengths / sizeof *lengths)

/* A token-like secret (base64url characters), different for each seed. */
static char *make_secret(size_t len, unsigned seed)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t x = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)seed * 0x100000001b3ULL) ^ len;
    char *s = malloc(len + 1);
    size_t i;
    CHECK(s != NULL);
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = alphabet[(x >> 11) % 64];
    }
    s[len] = '\0';
    return s;
}

/*
 * The offsets a secret of len bytes is tried at around a cut: every one
 * from cut - len to cut + len, except that past cut + 256 (the secret
 * wholly after the cut, far from it: nothing of it is kept, whatever the
 * offset) every 17th, so the 4000-byte secrets stay quick under valgrind.
 */
static size_t next_offset(size_t offset, size_t cut)
{
    return offset > cut + 256 ? offset + 17 : offset + 1;
}

static size_t first_offset(size_t cut, size_t len)
{
    return cut > len ? cut - len : 0;
}

/* Lower-case words and spaces: what a server writes around a secret. */
static void add_filler(oc_buf *b, size_t n)
{
    static const char words[] = "the token you sent is not valid here see docs ";
    size_t i, k;
    for (i = 0; i < n; i += k) {
        k = n - i < sizeof words - 1 ? n - i : sizeof words - 1;
        oc_buf_append(b, words, k);
    }
}

/* The secret's 8-byte windows, sorted, for a fast search. */
typedef struct grams {
    uint64_t *v;
    size_t n;
    unsigned char in[256]; /* the bytes the secret holds */
} grams;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void grams_of(grams *g, const char *secret)
{
    size_t len = strlen(secret), i;
    g->n = len - GRAM + 1;
    g->v = malloc(g->n * sizeof *g->v);
    CHECK(g->v != NULL);
    memset(g->in, 0, sizeof g->in);
    for (i = 0; i < len; i++)
        g->in[(unsigned char)secret[i]] = 1;
    for (i = 0; i < g->n; i++)
        memcpy(&g->v[i], secret + i, GRAM);
    qsort(g->v, g->n, sizeof *g->v, cmp_u64);
}

/* Where text holds a part of the secret, or -1. */
static long leak_at(const grams *g, const char *text, size_t len)
{
    size_t i = 0, j;
    while (i + GRAM <= len) {
        uint64_t w;
        for (j = GRAM; j > 0 && g->in[(unsigned char)text[i + j - 1]]; j--)
            ;
        if (j) { /* a byte the secret never holds: no window over it can match */
            i += j;
            continue;
        }
        memcpy(&w, text + i, GRAM);
        if (bsearch(&w, g->v, g->n, sizeof *g->v, cmp_u64))
            return (long)i;
        i++;
    }
    return -1;
}

/* Fails (once per case and place) when text holds part of the secret. */
static int refute_part(const grams *g, const char *where, const char *text, size_t len,
                       size_t secret_len, size_t offset)
{
    long at = leak_at(g, text, len);
    if (at >= 0) {
        char m[512];
        snprintf(m, sizeof m, "%s holds part of a %zu-byte secret placed at %zu (at byte %ld: \"%.40s\")",
                 where, secret_len, offset, at, text + at);
        oc_test_fail(__FILE__, __LINE__, m);
        return 1;
    }
    return 0;
}

static oc_profile *test_profile(void)
{
    oc_profile *p = oc_profile_new();
    oc_error err;
    CHECK(p != NULL);
    CHECK_INT(oc_profile_set(p, "name", "test", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "title", "Test", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "authorize_url", "https://as.example/authorize", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "token_url", "https://as.example/token", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "api_url", "https://api.example/v1", &err), OC_OK);
    CHECK_INT(oc_profile_set(p, "refreshable", "true", &err), OC_OK);
    return p;
}

static oc_client *client_with(const char *props)
{
    oc_config *cfg = oc_config_new();
    oc_profile *p = test_profile();
    oc_client *c = NULL;
    oc_error err;
    CHECK(cfg != NULL);
    oc_error_clear(&err);
    CHECK_INT(oc_config_parse(cfg, props, strlen(props), &err), OC_OK);
    CHECK_INT(oc_client_new(cfg, p, NULL, &c, &err), OC_OK);
    if (!c)
        fprintf(stderr, "client: %s\n", err.message);
    oc_config_free(cfg);
    oc_profile_free(p);
    return c;
}

/* One way a server quotes a text X in an API error: the status, a header
   ("name: ..X..", or NULL) and a body ("..X.."), and the cut X meets. */
typedef struct shape {
    const char *name;
    long status;
    const char *header;
    const char *body;
    size_t cut;
} shape;

static const shape api_shapes[] = {
    { "message", 400, NULL, "{\"message\":\"X\"}", 299 },
    { "two errors", 401, NULL, "{\"errors\":[\"X\",\"X\"]}", 299 },
    { "field name", 422, NULL, "{\"errors\":{\"X\":[\"can't be blank\"]}}", 360 },
    { "field message", 422, NULL, "{\"errors\":{\"name\":[\"X\"]}}", 360 },
    { "Retry-After", 429, "retry-after: X", "", 64 },
    { "challenge scope", 401, "www-authenticate: Bearer error=\"insufficient_scope\", scope=\"X\"", "", 200 },
    { "challenge error", 401, "www-authenticate: Bearer error=\"X\"", "", 64 },
};

/* Replaces the X in tmpl by filler (offset bytes), the secret, and more filler. */
static void fill(oc_buf *out, const char *tmpl, size_t offset, const char *secret)
{
    const char *x = strchr(tmpl, 'X');
    oc_buf_reset(out);
    while (x) {
        oc_buf_append(out, tmpl, (size_t)(x - tmpl));
        add_filler(out, offset);
        oc_buf_puts(out, secret);
        add_filler(out, 40);
        tmpl = x + 1;
        x = strchr(tmpl, 'X');
    }
    oc_buf_puts(out, tmpl);
}

/* An API error quoting the access token: cut or not, the message and the
   oauth_error field hold no part of it. */
OC_TEST(api_error_holds_no_part_of_a_quoted_token)
{
    size_t li, si;
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li];
        char *secret = make_secret(len, 1);
        oc_buf props, header, body;
        oc_client *c;
        grams g;
        oc_error err;
        grams_of(&g, secret);
        oc_buf_init(&props, 0);
        oc_buf_init(&header, 0);
        oc_buf_init(&body, 0);
        oc_buf_printf(&props, "InitiateOAuth=OFF;OAuthSettingsLocation=memory://redact-api-%zu;"
                              "OAuthAccessToken=%s", len, secret);
        c = client_with(props.data);
        oc_error_clear(&err);
        CHECK_INT(oc_client_connect(c, &err), OC_OK); /* InitiateOAuth=OFF: the property, no request */
        for (si = 0; si < sizeof api_shapes / sizeof *api_shapes; si++) {
            const shape *s = &api_shapes[si];
            size_t offset, failed = 0;
            for (offset = first_offset(s->cut, len); offset <= s->cut + len && !failed;
                 offset = next_offset(offset, s->cut)) {
                oc_response resp;
                char where[128];
                oc_response_init(&resp);
                resp.status = s->status;
                if (s->header) {
                    size_t n = strcspn(s->header, ":");
                    fill(&header, s->header + n + 2, offset, secret);
                    oc_response_add_header(&resp, s->header, n, header.data, header.len);
                }
                fill(&body, s->body, offset, secret);
                oc_buf_append(&resp.body, body.data, body.len);
                oc_error_clear(&err);
                oc_client_http_error(c, "GET", "/store/info.json", &resp, OC_REJECTED_UNKNOWN, &err);
                CHECK(err.code != OC_OK);
                snprintf(where, sizeof where, "the %s error's message", s->name);
                failed = refute_part(&g, where, err.message, strlen(err.message), len, offset);
                snprintf(where, sizeof where, "the %s error's oauth_error", s->name);
                failed |= refute_part(&g, where, err.oauth_error, strlen(err.oauth_error), len, offset);
                oc_response_free(&resp);
            }
        }
        oc_client_free(c);
        oc_buf_free(&props);
        oc_buf_free(&header);
        oc_buf_free(&body);
        free(g.v);
        free(secret);
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;
    CHECK(f != NULL);
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)n + 1);
    *len = fread(text, 1, (size_t)n, f);
    text[*len] = '\0';
    fclose(f);
    return text;
}


/* The call's next step that is not a store step (those are performed on
   the client's memory store as they come). */
static void next_step(oc_client *c, oc_call *call, oc_step *step)
{
    oc_call_next(call, step);
    while (step->kind == OC_STEP_STORE) {
        oc_buf text;
        oc_error serr;
        int found = 0;
        oc_code rc;
        oc_buf_init_secret(&text, 0);
        oc_error_clear(&serr);
        rc = oc_easy_store_step(oc_client_store(c), step, &text, &found, &serr);
        oc_call_feed_store(call, rc, text.data, text.len, found, &serr);
        oc_buf_free(&text);
        oc_call_next(call, step);
    }
}

/* A token endpoint's error quoting the refresh token (invalid_grant, as
   servers send it): not in the message, nor in the Logfile at Verbosity 1
   or 3. A client per case: a refused refresh token is not sent again. */
OC_TEST(token_error_holds_no_part_of_a_quoted_refresh_token)
{
    static const int levels[] = { 1, 3 };
    char log[512];
    size_t li;
    snprintf(log, sizeof log, "%s/oc.log", oc_test_tmpdir());
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li], offset, failed = 0;
        char *secret = make_secret(len, 2);
        oc_buf props, body;
        grams g;
        grams_of(&g, secret);
        oc_buf_init(&props, 0);
        oc_buf_init(&body, 0);
        for (offset = first_offset(240, len); offset <= 240 + len && !failed;
             offset = next_offset(offset, 240)) {
            int level = levels[offset % 2];
            oc_client *c;
            oc_call *call = NULL;
            oc_step step;
            oc_error err;
            char *text;
            size_t tlen = 0;
            if (truncate(log, 0) != 0)
                CHECK(offset == first_offset(240, len)); /* not made yet */
            oc_buf_reset(&props);
            oc_buf_printf(&props, "InitiateOAuth=REFRESH;OAuthClientId=id;OAuthClientSecret=cs-0123456789;"
                                  "OAuthSettingsLocation=memory://redact-token-%zu;OAuthAccessToken=at-0123456789;"
                                  "OAuthRefreshToken=%s;MaxAttempts=1;Logfile=%s;Verbosity=%d",
                          len, secret, log, level);
            c = client_with(props.data);
            oc_error_clear(&err);
            CHECK_INT(oc_call_token(c, OC_TOKEN_FORCE, &call, &err), OC_OK);
            next_step(c, call, &step);
            CHECK_INT(step.kind, OC_STEP_HTTP);
            oc_response_reset(step.response);
            step.response->status = 400;
            oc_response_add_header(step.response, "content-type", 12, "application/json", 16);
            oc_buf_reset(&body);
            fill(&body, "{\"error\":\"invalid_grant\",\"error_description\":\"X\"}", offset, secret);
            oc_buf_append(&step.response->body, body.data, body.len);
            oc_call_feed(call, OC_OK, 1, NULL);
            next_step(c, call, &step);
            CHECK_INT(step.kind, OC_STEP_DONE);
            CHECK_INT(oc_call_result(call, &err), OC_E_OAUTH);
            CHECK_CONTAINS(err.message, "invalid_grant");
            oc_call_free(call);
            /* the next use of the client: the refused token's error again */
            CHECK_INT(oc_call_token(c, OC_TOKEN_FORCE, &call, &err), OC_OK);
            next_step(c, call, &step);
            if (step.kind == OC_STEP_DONE) {
                oc_error again;
                oc_error_clear(&again);
                oc_call_result(call, &again);
                failed |= refute_part(&g, "the second refusal's message", again.message,
                                      strlen(again.message), len, offset);
            }
            oc_call_free(call);
            oc_client_free(c);
            failed |= refute_part(&g, "the message", err.message, strlen(err.message), len, offset);
            text = read_all(log, &tlen);
            failed |= refute_part(&g, level == 1 ? "the Verbosity=1 log" : "the Verbosity=3 log",
                                  text ? text : "", tlen, len, offset);
            free(text);
        }
        oc_buf_free(&props);
        oc_buf_free(&body);
        free(g.v);
        free(secret);
    }
}

/* Removes every whole occurrence of secret from text (a later redaction's
   work), so what is left must hold no part of it. */
static void drop_whole(char *text, const char *secret)
{
    size_t n = strlen(secret);
    char *p;
    while ((p = strstr(text, secret)) != NULL)
        memmove(p, p + n, strlen(p + n) + 1);
}

/* The helper every outside text goes through: redacted whole, then cut.
   Without the secrets, a cut still keeps the secret whole or drops it. */
OC_TEST(redact_copy_cuts_only_after_redacting)
{
    static const size_t cuts[] = { 64, 240, 300, 640 };
    size_t li, ci;
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li];
        char *secret = make_secret(len, 3);
        oc_secrets known;
        oc_buf text;
        grams g;
        grams_of(&g, secret);
        memset(&known, 0, sizeof known);
        oc_secrets_add(&known, "another-secret-value");
        oc_secrets_add(&known, secret);
        oc_buf_init(&text, 0);
        for (ci = 0; ci < sizeof cuts / sizeof *cuts; ci++) {
            size_t max = cuts[ci], offset, failed = 0;
            char *dst = malloc(max);
            for (offset = first_offset(max, len); offset <= max + len && !failed;
                 offset = next_offset(offset, max)) {
                oc_buf_reset(&text);
                add_filler(&text, offset);
                oc_buf_puts(&text, secret);
                add_filler(&text, 40);
                oc_redact_copy(dst, max, text.data, text.len, &known);
                CHECK(strlen(dst) < max);
                if (text.len >= max && offset + len < max - 20) /* cut after the secret */
                    CHECK_CONTAINS(dst, OC_REDACTED);
                failed = refute_part(&g, "a copy", dst, strlen(dst), len, offset);
                oc_redact_copy(dst, max, text.data, text.len, NULL);
                drop_whole(dst, secret);
                failed |= refute_part(&g, "a copy without the secrets", dst, strlen(dst), len, offset);
            }
            free(dst);
        }
        oc_secrets_free(&known);
        oc_buf_free(&text);
        free(g.v);
        free(secret);
    }
}

/* The cuts an error message itself meets: its limit, a prefix pushing its
   end out, advice appended. Each keeps a word (a secret) whole or drops it. */
OC_TEST(message_cuts_keep_whole_words)
{
    size_t li;
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li], offset, failed = 0, cut = OC_MESSAGE_MAX - 1;
        char *secret = make_secret(len, 4);
        oc_buf text;
        grams g;
        grams_of(&g, secret);
        oc_buf_init(&text, 0);
        for (offset = first_offset(cut, len); offset <= cut + len && !failed;
             offset = next_offset(offset, cut)) {
            oc_error err;
            oc_buf_reset(&text);
            add_filler(&text, offset);
            oc_buf_puts(&text, secret);
            add_filler(&text, 40);
            oc_error_clear(&err);
            oc_fail(&err, OC_E_OAUTH, "%s", text.data);
            CHECK(strlen(err.message) < OC_MESSAGE_MAX);
            drop_whole(err.message, secret);
            failed = refute_part(&g, "a message", err.message, strlen(err.message), len, offset);
            /* a message of the text's first cut + 1 bytes, then a prefix */
            oc_error_clear(&err);
            oc_fail(&err, OC_E_OAUTH, "%.*s", (int)(text.len < cut ? text.len : cut), text.data);
            oc_error_prefix(&err, "GET https://api.example/v1/orders.json was rejected with HTTP 401 and");
            drop_whole(err.message, secret);
            failed |= refute_part(&g, "a prefixed message", err.message, strlen(err.message), len, offset);
            /* advice appended to a message */
            oc_error_clear(&err);
            oc_fail(&err, OC_E_OAUTH, "the token refresh failed");
            oc_error_append(&err, text.data);
            CHECK(strlen(err.message) < OC_MESSAGE_MAX);
            drop_whole(err.message, secret);
            failed |= refute_part(&g, "an appended message", err.message, strlen(err.message), len, offset);
        }
        oc_buf_free(&text);
        free(g.v);
        free(secret);
    }
}

/* The log's bodies, cut at 64 KiB below Verbosity 5: redacted whole first. */
OC_TEST(log_body_cut_only_after_redacting)
{
    enum { BODY_CUT = 64 * 1024 };
    char path[512];
    size_t li;
    snprintf(path, sizeof path, "%s/body.log", oc_test_tmpdir());
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li], offset, failed = 0;
        char *secret = make_secret(len, 5);
        oc_buf body;
        grams g;
        grams_of(&g, secret);
        oc_buf_init(&body, 0);
        for (offset = first_offset(BODY_CUT, len); offset <= BODY_CUT + len && !failed;
             offset = next_offset(offset, BODY_CUT)) {
            oc_log *log = NULL;
            oc_error err;
            char *text;
            size_t tlen = 0;
            oc_buf_reset(&body);
            add_filler(&body, offset);
            oc_buf_puts(&body, secret);
            add_filler(&body, 40);
            unlink(path);
            oc_error_clear(&err);
            CHECK_INT(oc_log_open(path, 3, &log, &err), OC_OK);
            oc_log_secret(log, secret);
            oc_log_body(log, 3, "< ", body.data, body.len);
            oc_log_close(log);
            text = read_all(path, &tlen);
            failed = refute_part(&g, "the log", text ? text : "", tlen, len, offset);
            free(text);
        }
        oc_buf_free(&body);
        free(g.v);
        free(secret);
    }
}

/* A login callback's error_description (the desktop login's listener and a
   pasted address judge it so, and the web flow through the core). */
OC_TEST(callback_error_holds_no_part_of_a_quoted_secret)
{
    size_t li;
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li], offset, failed = 0, cut = 240;
        char *secret = make_secret(len, 6);
        oc_secrets known;
        oc_buf query;
        grams g;
        grams_of(&g, secret);
        memset(&known, 0, sizeof known);
        oc_secrets_add(&known, secret);
        oc_buf_init(&query, 0);
        for (offset = first_offset(cut, len); offset <= cut + len && !failed;
             offset = next_offset(offset, cut)) {
            oc_kv params = OC_KV_INIT;
            oc_error err;
            oc_buf_reset(&query);
            oc_buf_puts(&query, "state=S&error=invalid_request&error_description=");
            add_filler(&query, offset);
            oc_buf_puts(&query, secret);
            oc_error_clear(&err);
            CHECK_INT(oc_oauth_callback(query.data, query.len, "S", OC_STATE_REQUIRED, &known, &params, &err),
                      OC_E_OAUTH);
            failed = refute_part(&g, "the callback's error", err.message, strlen(err.message), len, offset);
            oc_kv_free(&params);
        }
        oc_secrets_free(&known);
        oc_buf_free(&query);
        free(g.v);
        free(secret);
    }
}

/* The last net: every message that leaves a client goes through
   oc_client_scrub_error, which replaces any secret the client knows that
   reached it whole (the properties', the password in an address, the
   tokens in use, an extra set's). */
OC_TEST(client_scrub_error_replaces_every_known_secret)
{
    oc_client *c = client_with("InitiateOAuth=REFRESH;OAuthClientId=id;OAuthClientSecret=S3CRET-client-1;"
                               "OAuthRefreshToken=REFRESH-token-1;OAuthAccessToken=ACCESS-token-1;"
                               "ProxyServer=http://u:PROXYPW-secret-9@proxy.example:3128;"
                               "OAuthSettingsLocation=memory://scrub");
    oc_token extra;
    oc_error err;
    CHECK(c != NULL);
    oc_token_init(&extra);
    extra.refresh_token = (char *)"EXTRA-refresh-7";
    oc_error_clear(&err);
    oc_fail(&err, OC_E_HTTP, "quoted S3CRET-client-1, REFRESH-token-1, ACCESS-token-1, PROXYPW-secret-9 "
                             "and EXTRA-refresh-7");
    snprintf(err.oauth_error, sizeof err.oauth_error, "ACCESS-token-1");
    oc_client_scrub_error(c, &extra, &err);
    CHECK_NOT_CONTAINS(err.message, "S3CRET-client-1");
    CHECK_NOT_CONTAINS(err.message, "REFRESH-token-1");
    CHECK_NOT_CONTAINS(err.message, "ACCESS-token-1");
    CHECK_NOT_CONTAINS(err.message, "PROXYPW-secret-9");
    CHECK_NOT_CONTAINS(err.message, "EXTRA-refresh-7");
    CHECK_CONTAINS(err.message, "quoted ");
    CHECK_NOT_CONTAINS(err.oauth_error, "ACCESS-token-1");
    oc_client_free(c);
}

/*
 * A server may quote part of a secret (the first characters of a refresh
 * token, a token less its last character, a piece from its middle): no
 * part of 8 bytes or more survives, at any length or offset; the client id,
 * which a secret may share pieces with, is shown whole.
 */
OC_TEST(pieces_a_server_quotes_are_redacted_too)
{
    size_t li;
    for (li = 0; li < NLENGTHS; li++) {
        size_t len = lengths[li], piece, start;
        char *secret = make_secret(len, 7);
        oc_secrets known;
        grams g;
        memset(&known, 0, sizeof known);
        oc_secrets_add(&known, secret);
        grams_of(&g, secret);
        for (piece = GRAM; piece <= len; piece += piece < 20 ? 1 : piece / 3)
            for (start = 0; start + piece <= len; start += start < 24 ? 1 : 97) {
                char text[4300], out[4400];
                int n = snprintf(text, sizeof text, "invalid_grant: token '%.*s' is revoked",
                                 (int)piece, secret + start);
                oc_redact_copy(out, sizeof out, text, (size_t)n, &known);
                if (refute_part(&g, "a quoted piece", out, strlen(out), len, start))
                    goto next;
                CHECK_CONTAINS(out, "is revoked");
            }
    next:
        free(g.v);
        oc_secrets_free(&known);
        free(secret);
    }
    {
        oc_secrets known;
        char out[200];
        const char *text = "client sandbox-client-id: secret piece sandbox-client-se refused";
        memset(&known, 0, sizeof known);
        oc_secrets_add(&known, "sandbox-client-secret");
        oc_secrets_set_open(&known, "sandbox-client-id");
        oc_redact_copy(out, sizeof out, text, strlen(text), &known);
        CHECK_STR(out, "client sandbox-client-id: secret piece " OC_REDACTED " refused");
        oc_secrets_free(&known);
    }
}
