#include "oc_oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_http.h"
#include "oc_redact.h"
#include "oc_url.h"
#include "oc_version.h"

/* Explicit limit on anything the flows build (URLs, bodies). */
enum { OAUTH_MESSAGE_MAX = 256 * 1024 };

void oc_token_request_free(oc_token_request *r)
{
    free(r->url);
    oc_http_free_headers(r->headers); /* may hold Basic credentials */
    if (r->body)
        oc_wipe(r->body, r->body_len);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static oc_code append_header(struct curl_slist **list, const char *line, oc_error *err)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (!n)
        return oc_fail_nomem(err);
    *list = n;
    return OC_OK;
}

oc_code oc_oauth_authorize_url(const oc_flow *f, const char *redirect_uri, const char *state,
                               const char *challenge, const oc_kv *extra, char **out,
                               oc_error *err)
{
    oc_buf q, url;
    oc_code rc = OC_OK;

    *out = NULL;
    oc_buf_init(&q, OAUTH_MESSAGE_MAX);
    oc_buf_init(&url, OAUTH_MESSAGE_MAX);
    if (oc_form_append(&q, "response_type", "code", 4) ||
        oc_form_append(&q, "client_id", f->client_id, strlen(f->client_id)) ||
        (redirect_uri && oc_form_append(&q, "redirect_uri", redirect_uri, strlen(redirect_uri))) ||
        (f->scope && *f->scope && oc_form_append(&q, "scope", f->scope, strlen(f->scope))) ||
        (state && oc_form_append(&q, "state", state, strlen(state))) ||
        (challenge && (oc_form_append(&q, "code_challenge", challenge, strlen(challenge)) ||
                       oc_form_append(&q, "code_challenge_method", "S256", 4))) ||
        (extra && oc_form_append_all(&q, extra)) ||
        oc_buf_puts(&url, f->authorize_url) ||
        oc_buf_puts(&url, strchr(f->authorize_url, '?') ? "&" : "?") ||
        oc_buf_append(&url, q.data, q.len))
        rc = q.overflow || url.overflow ? oc_fail(err, OC_E_INVALID_ARGUMENT,
                                                  "the authorization URL would exceed %d bytes",
                                                  OAUTH_MESSAGE_MAX)
                                        : oc_fail_nomem(err);
    oc_buf_free(&q);
    if (rc == OC_OK)
        *out = oc_buf_steal(&url, NULL);
    oc_buf_free(&url);
    return rc;
}

/* Adds the client's credentials in the way the profile asks for. */
static oc_code client_auth(const oc_flow *f, oc_client_auth how, oc_buf *form, json_t *json,
                           struct curl_slist **headers, oc_error *err)
{
    if (how == OC_CLIENT_AUTH_BASIC || how == OC_CLIENT_AUTH_BASIC_RAW) {
        /* RFC 6749 2.3.1: id and secret are form-urlencoded, then joined
           with ':' and base64'd (a no-op for the usual alphanumeric ones).
           Keap documents base64(id:secret) of the values as they are, and a
           server that does not form-decode would refuse an encoded '+'. */
        oc_buf cred, line;
        char *b64, *id_enc = NULL, *secret_enc = NULL;
        oc_code rc = OC_OK;
        const char *id = f->client_id, *secret = f->client_secret ? f->client_secret : "";
        int failed = 0;
        if (how == OC_CLIENT_AUTH_BASIC) {
            id_enc = curl_easy_escape(NULL, id, 0);
            secret_enc = curl_easy_escape(NULL, secret, 0);
            id = id_enc;
            secret = secret_enc;
        }
        oc_buf_init_secret(&cred, 0);
        oc_buf_init_secret(&line, 0);
        failed = !id || !secret || oc_buf_printf(&cred, "%s:%s", id, secret);
        curl_free(id_enc);
        if (secret_enc)
            oc_wipe(secret_enc, strlen(secret_enc));
        curl_free(secret_enc);
        if (failed) {
            oc_wipe(cred.data, cred.len);
            oc_buf_free(&cred);
            return oc_fail_nomem(err);
        }
        b64 = oc_base64(cred.data, cred.len);
        oc_wipe(cred.data, cred.len);
        oc_buf_free(&cred);
        if (!b64 || oc_buf_printf(&line, "Authorization: Basic %s", b64))
            rc = oc_fail_nomem(err);
        else
            rc = append_header(headers, line.data, err);
        oc_free_secret(b64);
        oc_wipe(line.data, line.len);
        oc_buf_free(&line);
        return rc;
    }
    if (json) {
        if (json_object_set_new(json, "client_id", json_string(f->client_id)) ||
            (f->client_secret &&
             json_object_set_new(json, "client_secret", json_string(f->client_secret))))
            return oc_fail_nomem(err);
        return OC_OK;
    }
    if (oc_form_append(form, "client_id", f->client_id, strlen(f->client_id)) ||
        (f->client_secret &&
         oc_form_append(form, "client_secret", f->client_secret, strlen(f->client_secret))))
        return oc_fail_nomem(err);
    return OC_OK;
}

/* Builds a request to url from name/value pairs, as a form or as JSON. */
static oc_code build_request_to(const oc_flow *f, const char *url, oc_client_auth how,
                                const oc_kv *fields, oc_token_request *out, oc_error *err)
{
    oc_token_request r;
    oc_buf form;
    json_t *json = NULL;
    oc_code rc;
    size_t i;

    memset(&r, 0, sizeof r);
    memset(out, 0, sizeof *out);
    r.method = "POST";
    r.auth = how;
    oc_buf_init_secret(&form, OAUTH_MESSAGE_MAX);
    if (!(r.url = oc_strdup(url)))
        return oc_fail_nomem(err);
    if (how == OC_CLIENT_AUTH_JSON && !(json = json_object())) {
        rc = oc_fail_nomem(err);
        goto fail;
    }
    if ((rc = append_header(&r.headers, "Accept: application/json", err)) != OC_OK ||
        (rc = append_header(&r.headers, OC_USER_AGENT_HEADER, err)) != OC_OK ||
        (rc = append_header(&r.headers, json ? "Content-Type: application/json"
                                             : "Content-Type: application/x-www-form-urlencoded",
                            err)) != OC_OK ||
        (rc = append_header(&r.headers, "Expect:", err)) != OC_OK)
        goto fail;
    for (i = 0; i < fields->n; i++) {
        int bad = json ? json_object_set_new(json, fields->name[i], json_string(fields->value[i]))
                       : oc_form_append(&form, fields->name[i], fields->value[i],
                                        strlen(fields->value[i]));
        if (bad) {
            rc = form.overflow ? oc_fail(err, OC_E_INVALID_ARGUMENT,
                                         "the token request would exceed %d bytes",
                                         OAUTH_MESSAGE_MAX)
                               : oc_fail_nomem(err);
            goto fail;
        }
    }
    if ((rc = client_auth(f, how, &form, json, &r.headers, err)) != OC_OK)
        goto fail;
    if (json) {
        char *text = json_dumps(json, JSON_COMPACT);
        if (!text) {
            rc = oc_fail_nomem(err);
            goto fail;
        }
        r.body_len = strlen(text);
        r.body = text;
        json_decref(json); /* jansson does not wipe; the copies in it are short-lived */
        json = NULL;
    } else {
        r.body = oc_buf_steal(&form, &r.body_len);
        if (!r.body) {
            rc = oc_fail_nomem(err);
            goto fail;
        }
    }
    oc_buf_free(&form);
    *out = r;
    return OC_OK;
fail:
    json_decref(json);
    oc_wipe(form.data, form.len);
    oc_buf_free(&form);
    oc_token_request_free(&r);
    return rc;
}

/* A token endpoint request. */
static oc_code build_request(const oc_flow *f, oc_client_auth how, const oc_kv *fields,
                             oc_token_request *out, oc_error *err)
{
    return build_request_to(f, f->token_url, how, fields, out, err);
}

oc_code oc_token_request_reauth(const oc_flow *f, oc_token_request *r, oc_client_auth to,
                                oc_error *err)
{
    oc_kv all = OC_KV_INIT, grant = OC_KV_INIT;
    oc_token_request fresh;
    oc_code rc = OC_OK;
    size_t i;
    if (r->auth == OC_CLIENT_AUTH_JSON || to == OC_CLIENT_AUTH_JSON)
        return oc_fail(err, OC_E_INVALID_ARGUMENT,
                       "a JSON token request cannot change its client authentication");
    if (oc_form_parse(&all, r->body ? r->body : "", r->body_len) != 0)
        rc = oc_fail_nomem(err);
    for (i = 0; rc == OC_OK && i < all.n; i++) {
        if (strcmp(all.name[i], "client_id") == 0 || strcmp(all.name[i], "client_secret") == 0)
            continue;
        if (oc_kv_adds(&grant, all.name[i], all.value[i]) != 0)
            rc = oc_fail_nomem(err);
    }
    if (rc == OC_OK && (rc = build_request_to(f, r->url, to, &grant, &fresh, err)) == OC_OK) {
        oc_token_request_free(r);
        *r = fresh;
    }
    /* the fields hold the code or the refresh token */
    for (i = 0; i < all.n; i++)
        oc_wipe(all.value[i], strlen(all.value[i]));
    for (i = 0; i < grant.n; i++)
        oc_wipe(grant.value[i], strlen(grant.value[i]));
    oc_kv_free(&all);
    oc_kv_free(&grant);
    return rc;
}

oc_code oc_oauth_code_request(const oc_flow *f, const char *code, const char *redirect_uri,
                              const char *verifier, const oc_kv *extra, oc_token_request *out,
                              oc_error *err)
{
    oc_kv fields = OC_KV_INIT;
    oc_code rc;
    size_t i;
    int bad = oc_kv_adds(&fields, "grant_type", "authorization_code") ||
              oc_kv_adds(&fields, "code", code) ||
              (redirect_uri && oc_kv_adds(&fields, "redirect_uri", redirect_uri)) ||
              (verifier && oc_kv_adds(&fields, "code_verifier", verifier));
    for (i = 0; !bad && extra && i < extra->n; i++)
        bad = oc_kv_adds(&fields, extra->name[i], extra->value[i]);
    rc = bad ? oc_fail_nomem(err) : build_request(f, f->code_auth, &fields, out, err);
    oc_kv_free(&fields);
    return rc;
}

oc_code oc_oauth_refresh_request(const oc_flow *f, const char *refresh_token,
                                 oc_token_request *out, oc_error *err)
{
    oc_kv fields = OC_KV_INIT;
    oc_code rc;
    if (oc_kv_adds(&fields, "grant_type", "refresh_token") ||
        oc_kv_adds(&fields, "refresh_token", refresh_token))
        rc = oc_fail_nomem(err);
    else
        rc = build_request(f, f->refresh_auth, &fields, out, err);
    oc_kv_free(&fields);
    return rc;
}

oc_code oc_oauth_client_credentials_request(const oc_flow *f, oc_token_request *out,
                                            oc_error *err)
{
    oc_kv fields = OC_KV_INIT;
    oc_code rc;
    if (oc_kv_adds(&fields, "grant_type", "client_credentials") ||
        (f->scope && *f->scope && oc_kv_adds(&fields, "scope", f->scope)))
        rc = oc_fail_nomem(err);
    else
        rc = build_request(f, f->refresh_auth, &fields, out, err);
    oc_kv_free(&fields);
    return rc;
}

oc_code oc_oauth_device_request(const oc_flow *f, oc_token_request *out, oc_error *err)
{
    oc_kv fields = OC_KV_INIT;
    oc_code rc;
    if (f->scope && *f->scope && oc_kv_adds(&fields, "scope", f->scope))
        rc = oc_fail_nomem(err);
    else
        rc = build_request_to(f, f->device_url, f->code_auth, &fields, out, err);
    oc_kv_free(&fields);
    return rc;
}

oc_code oc_oauth_device_token_request(const oc_flow *f, const char *device_code,
                                      oc_token_request *out, oc_error *err)
{
    oc_kv fields = OC_KV_INIT;
    oc_code rc;
    if (oc_kv_adds(&fields, "grant_type", OC_DEVICE_GRANT) ||
        oc_kv_adds(&fields, "device_code", device_code))
        rc = oc_fail_nomem(err);
    else
        rc = build_request(f, f->code_auth, &fields, out, err);
    oc_kv_free(&fields);
    return rc;
}

oc_code oc_oauth_revoke_request(const oc_flow *f, const char *token, const char *hint,
                                oc_token_request *out, oc_error *err)
{
    oc_kv fields = OC_KV_INIT;
    oc_code rc;
    if (oc_kv_adds(&fields, "token", token) || (hint && oc_kv_adds(&fields, "token_type_hint", hint)))
        rc = oc_fail_nomem(err);
    else
        rc = build_request_to(f, f->revocation_url, f->refresh_auth, &fields, out, err);
    oc_kv_free(&fields);
    return rc;
}

void oc_device_auth_clear(oc_device_auth *d)
{
    oc_free_secret(d->device_code);
    free(d->user_code);
    free(d->verification_uri);
    free(d->verification_uri_complete);
    memset(d, 0, sizeof *d);
}

/* Whether s holds anything but printable ASCII (a terminal acts on
   escapes; what is shown to the user is shown as it is). */
static int unprintable(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 1;
    return 0;
}

/* A string member of the device authorization answer, copied. */
static int device_string(json_t *doc, const char *name, char **out)
{
    const char *v = json_string_value(json_object_get(doc, name));
    if (!v || !*v)
        return 0;
    return (*out = oc_strdup(v)) != NULL ? 1 : -1;
}

oc_code oc_oauth_device_result(const char *device_url, long status, const char *content_type,
                               const char *body, size_t len, const oc_secrets *known,
                               oc_device_auth *out, oc_error *err)
{
    char endpoint[400], label[480];
    json_t *doc, *v;
    oc_device_auth d;
    int got;
    oc_code rc = OC_OK;

    memset(&d, 0, sizeof d);
    memset(out, 0, sizeof *out);
    oc_url_shown(endpoint, sizeof endpoint, device_url);
    if (status < 200 || status > 299)
        return oc_token_error_response(status, body, len, content_type,
                                       "the device authorization request", endpoint, known, err);
    snprintf(label, sizeof label, "the device authorization answer from %s", endpoint);
    if (!(doc = json_loadb(body ? body : "", len, 0, NULL)) || !json_is_object(doc)) {
        json_decref(doc);
        return oc_fail(err, OC_E_BAD_RESPONSE, "%s is not a JSON object", label);
    }
    /* RFC 8628 3.2; Google's servers say verification_url */
    if ((got = device_string(doc, "device_code", &d.device_code)) <= 0 ||
        (got = device_string(doc, "user_code", &d.user_code)) <= 0 ||
        ((got = device_string(doc, "verification_uri", &d.verification_uri)) == 0 &&
         (got = device_string(doc, "verification_url", &d.verification_uri)) == 0) || got < 0 ||
        device_string(doc, "verification_uri_complete", &d.verification_uri_complete) < 0) {
        rc = got < 0 ? oc_fail_nomem(err)
                     : oc_fail(err, OC_E_BAD_RESPONSE,
                               "%s lacks device_code, user_code or verification_uri (RFC 8628 3.2)", label);
        goto out;
    }
    if (!json_is_integer(v = json_object_get(doc, "expires_in")) || json_integer_value(v) <= 0) {
        rc = oc_fail(err, OC_E_BAD_RESPONSE, "%s has no positive expires_in (RFC 8628 3.2)", label);
        goto out;
    }
    d.expires_in_s = (int64_t)json_integer_value(v);
    v = json_object_get(doc, "interval");
    d.interval_s = json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v)
                                                                    : OC_DEVICE_DEFAULT_INTERVAL_S;
    if (unprintable(d.user_code) || strlen(d.user_code) > 64 || unprintable(d.verification_uri) ||
        unprintable(d.verification_uri_complete)) {
        rc = oc_fail(err, OC_E_BAD_RESPONSE,
                     "%s holds a user_code or verification_uri that is not printable text (or a user_code "
                     "longer than 64 characters); it is not shown",
                     label);
        goto out;
    }
    if ((rc = oc_url_check_secure(d.verification_uri, "verification_uri", err)) != OC_OK ||
        (d.verification_uri_complete &&
         (rc = oc_url_check_secure(d.verification_uri_complete, "verification_uri_complete", err)) != OC_OK)) {
        oc_error_prefix(err, "%s", label);
        err->code = rc = OC_E_BAD_RESPONSE;
        goto out;
    }
out:
    json_decref(doc); /* jansson does not wipe: the device code is short-lived and single use */
    if (rc == OC_OK)
        *out = d;
    else
        oc_device_auth_clear(&d);
    return rc;
}

/* Whether a 2xx answer is an OAuth error: an "error" member and no access token. */
static int error_without_token(const char *body, size_t len)
{
    json_t *root;
    int yes;
    if (!len || len > OC_TOKEN_RESPONSE_MAX || !memchr(body, 'e', len))
        return 0;
    root = json_loadb(body, len, 0, NULL);
    yes = json_is_object(root) && json_is_string(json_object_get(root, "error")) &&
          !json_object_get(root, "access_token");
    json_decref(root);
    return yes;
}

oc_code oc_oauth_token_result(const char *what, const char *token_url, long status,
                              const char *content_type, const char *body, size_t len,
                              int64_t now_ms, const oc_token *previous,
                              const oc_secrets *known, oc_token *out, oc_error *err)
{
    char endpoint[400];
    oc_code rc;
    oc_url_shown(endpoint, sizeof endpoint, token_url);
    if (status >= 200 && status < 300 && error_without_token(body, len))
        /* GitHub answers its OAuth errors with 200 */
        return oc_token_error_response(status, body, len, content_type, what, endpoint, known, err);
    if (status >= 200 && status < 300) {
        rc = oc_token_parse_response(body, len, endpoint, now_ms, previous, out, err);
        if (rc != OC_OK && err)
            err->status = status;
        return rc;
    }
    return oc_token_error_response(status, body, len, content_type, what, endpoint, known, err);
}

oc_code oc_oauth_callback(const char *query, size_t len, const char *expected_state,
                          oc_state_rule rule, const oc_secrets *known, oc_kv *params,
                          oc_error *err)
{
    if (oc_form_parse(params, query, len) != 0)
        return oc_fail_nomem(err);
    return oc_oauth_check_callback(params, expected_state, rule, known, err);
}

oc_code oc_oauth_check_callback(const oc_kv *params, const char *expected_state, oc_state_rule rule,
                                const oc_secrets *known, oc_error *err)
{
    const char *state, *error, *code;
    static const char *const once[] = { "code", "state", "error" };
    size_t i, k, seen;
    /* RFC 6749 3.1: a parameter never appears twice. A second code or
       state is someone else's addition, not the server's answer. */
    for (k = 0; k < sizeof once / sizeof once[0]; k++) {
        for (i = 0, seen = 0; i < params->n; i++)
            seen += strcmp(params->name[i], once[k]) == 0;
        if (seen > 1)
            return oc_fail(err, OC_E_STATE_MISMATCH,
                           "the login callback repeats its %s parameter; it is not the "
                           "authorization server's answer",
                           once[k]);
    }
    state = oc_kv_get(params, "state");
    error = oc_kv_get(params, "error");
    if (!state && rule == OC_STATE_REQUIRED)
        return oc_fail(err, OC_E_STATE_MISMATCH,
                       "the login callback carried no state; it did not come from this login "
                       "(possible cross-site request forgery)");
    if (state && rule != OC_STATE_UNCHECKED && !oc_secure_streq(state, expected_state))
        return oc_fail(err, OC_E_STATE_MISMATCH,
                       "the login callback carried a state that does not match this login "
                       "(possible cross-site request forgery, or an old browser tab)");
    if (error) {
        char shown[64], desc[240] = "";
        const char *d = oc_kv_get(params, "error_description");
        oc_redact_copy(shown, sizeof shown, error, strlen(error), known);
        if (d)
            oc_redact_copy(desc, sizeof desc, d, strlen(d), known);
        if (err)
            snprintf(err->oauth_error, sizeof err->oauth_error, "%s", shown);
        if (strcmp(error, "access_denied") == 0)
            return oc_fail(err, OC_E_ACCESS_DENIED,
                           "access was denied at the authorization page%s%s", desc[0] ? ": " : "",
                           desc);
        return oc_fail(err, OC_E_OAUTH, "the authorization server answered the login with %s%s%s",
                       shown, desc[0] ? ": " : "", desc);
    }
    code = oc_kv_get(params, "code");
    if (!code || !*code)
        return oc_fail(err, OC_E_LOGIN, "the login callback carried neither a code nor an error");
    return OC_OK;
}
