/*
 * What a client must never show: the secrets it knows, gathered for the
 * log's redaction and for error messages. A server may quote what it was
 * sent ("invalid refresh token rt-...", "bad header Bearer ...") and libcurl
 * quotes a proxy address whole, credentials included; every message that
 * leaves the client goes through oc_client_scrub_error.
 */
#include "oc_client_internal.h"

#include <string.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_redact.h"

/* Properties that may carry "user:password@" in an address. */
static const oc_prop address_props[] = {
    OC_P_URL, OC_P_PROXY_SERVER, OC_P_OAUTH_SETTINGS_LOCATION, OC_P_OAUTH_ACCESS_TOKEN_URL,
    OC_P_OAUTH_AUTHORIZATION_URL
};

/* The userinfo of scheme://userinfo@host..., and its password alone. */
static void add_userinfo(oc_secrets *s, const char *url)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    const char *host, *at, *colon;
    size_t end;
    char *info;
    if (!sep)
        return;
    host = sep + 3;
    end = strcspn(host, "/?#");
    for (at = NULL; end > 0; end--) /* the last '@' before the path */
        if (host[end - 1] == '@') {
            at = host + end - 1;
            break;
        }
    if (!at || !(info = oc_strndup(host, (size_t)(at - host))))
        return;
    oc_secrets_add(s, info);
    if ((colon = strchr(info, ':')) != NULL)
        oc_secrets_add(s, colon + 1);
    oc_free_secret(info);
}

/* base64("a:b"), as an Authorization: Basic header carries it. */
static void add_basic(oc_secrets *s, const char *a, const char *b)
{
    oc_buf pair;
    char *b64;
    if (!a || !b || !*b)
        return;
    oc_buf_init_secret(&pair, 0);
    if (oc_buf_printf(&pair, "%s:%s", a, b) == 0 && (b64 = oc_base64(pair.data, pair.len)) != NULL) {
        oc_secrets_add(s, b64);
        oc_free_secret(b64);
    }
    oc_wipe(pair.data, pair.len);
    oc_buf_free(&pair);
}

void oc_client_property_secrets(const oc_config *cfg, oc_secrets *s)
{
    size_t i;
    int p;
    for (p = 0; p < OC_P__COUNT; p++)
        if (oc_prop_get_info((oc_prop)p)->flags & OC_PF_SECRET)
            oc_secrets_add(s, oc_config_get(cfg, (oc_prop)p));
    for (i = 0; i < sizeof address_props / sizeof *address_props; i++)
        add_userinfo(s, oc_config_get(cfg, address_props[i]));
    add_basic(s, oc_config_get(cfg, OC_P_OAUTH_CLIENT_ID), oc_config_get(cfg, OC_P_OAUTH_CLIENT_SECRET));
    oc_secrets_set_open(s, oc_config_get(cfg, OC_P_OAUTH_CLIENT_ID));
    add_basic(s, oc_config_get(cfg, OC_P_USER), oc_config_get(cfg, OC_P_PASSWORD));
}

static void add_token(oc_secrets *s, const oc_token *t)
{
    if (!t)
        return;
    oc_secrets_add(s, t->access_token);
    oc_secrets_add(s, t->refresh_token);
}

void oc_client_secrets(const oc_client *c, const oc_token *extra, oc_secrets *s)
{
    memset(s, 0, sizeof *s);
    oc_client_property_secrets(c->cfg, s);
    add_token(s, &c->token);
    add_token(s, extra);
}

static void redact(const oc_client *c, const oc_token *extra, const char *text, size_t len,
                   oc_buf *out)
{
    oc_secrets s;
    oc_client_secrets(c, extra, &s);
    oc_redact_literals(out, text, len, &s);
    oc_secrets_free(&s);
}

oc_code oc_check_callback_params(const oc_config *cfg, const oc_kv *params, oc_error *err)
{
    oc_secrets s;
    oc_code rc;
    memset(&s, 0, sizeof s);
    oc_client_property_secrets(cfg, &s);
    rc = oc_oauth_check_callback(params, NULL, OC_STATE_UNCHECKED, &s, err);
    oc_secrets_free(&s);
    return rc;
}

void oc_client_redact(const oc_client *c, const char *text, size_t len, oc_buf *out)
{
    redact(c, NULL, text, len, out);
}

/* The last net: a secret that reached a message whole (the text that
   carried it was not redacted on the way in) is replaced. A part of one
   cannot be there: every cut keeps whole words only (oc_text_cut). */
void oc_client_scrub_error(const oc_client *c, const oc_token *extra, oc_error *err)
{
    oc_secrets s;
    if (!err || (!err->message[0] && !err->oauth_error[0]))
        return;
    oc_client_secrets(c, extra, &s);
    if (err->message[0]) {
        char clean[sizeof err->message];
        oc_redact_copy(clean, sizeof clean, err->message, strlen(err->message), &s);
        memcpy(err->message, clean, sizeof clean);
    }
    if (err->oauth_error[0]) {
        char clean[sizeof err->oauth_error];
        oc_redact_copy(clean, sizeof clean, err->oauth_error, strlen(err->oauth_error), &s);
        memcpy(err->oauth_error, clean, sizeof clean);
    }
    oc_secrets_free(&s);
}
