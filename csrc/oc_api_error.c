/*
 * The error for an HTTP answer: a stable code by status, the method and URL,
 * and the provider's own words from the error bodies the providers send.
 */
#include "oc_client_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "oc_buf.h"
#include "oc_redact.h"
#include "oc_retry.h"

static const char *reason_phrase(long status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

static oc_code code_for_status(long status)
{
    switch (status) {
    case 400: return OC_E_BAD_REQUEST;
    case 401: return OC_E_UNAUTHORIZED;
    case 403: return OC_E_FORBIDDEN;
    case 404: return OC_E_NOT_FOUND;
    case 409: return OC_E_CONFLICT;
    case 422: return OC_E_UNPROCESSABLE;
    case 429: return OC_E_RATE_LIMITED;
    default: return status >= 500 ? OC_E_SERVER_ERROR : OC_E_HTTP;
    }
}

/* One piece of the server's words, redacted whole and then cut. */
static void append_text(oc_buf *out, const char *s, size_t len, const oc_secrets *known)
{
    char shown[300];
    oc_redact_copy(shown, sizeof shown, s, len, known);
    if (out->len)
        oc_buf_puts(out, "; ");
    oc_buf_puts(out, shown);
}

/* Collects the human message from the error bodies the providers send:
   {"message"}, {"error", "error_description"}, {"errors": [..] or {field: [..]}},
   {"title", "detail"}, [{"message"}], {"fault": {"faultstring"}}. */
static void describe_body(json_t *v, oc_buf *out, int depth, const oc_secrets *known)
{
    const char *key;
    json_t *m;
    size_t i;
    if (depth > 3 || out->len > 400)
        return;
    if (json_is_string(v)) {
        append_text(out, json_string_value(v), json_string_length(v), known);
        return;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            describe_body(m, out, depth + 1, known);
        return;
    }
    if (!json_is_object(v))
        return;
    if ((m = json_object_get(v, "message")) && json_is_string(m))
        { describe_body(m, out, depth + 1, known); return; }
    if ((m = json_object_get(v, "error_description")) && json_is_string(m))
        { describe_body(m, out, depth + 1, known); return; }
    if ((m = json_object_get(v, "title")) && json_is_string(m)) {
        describe_body(m, out, depth + 1, known);
        if ((m = json_object_get(v, "detail")) && json_is_string(m))
            describe_body(m, out, depth + 1, known);
        if ((m = json_object_get(v, "errors")) && json_is_object(m))
            describe_body(m, out, depth + 1, known);
        return;
    }
    if ((m = json_object_get(v, "fault")) && json_is_object(m) &&
        (m = json_object_get(m, "faultstring")) && json_is_string(m))
        { describe_body(m, out, depth + 1, known); return; }
    if ((m = json_object_get(v, "errors")))
        { describe_body(m, out, depth + 1, known); return; }
    if ((m = json_object_get(v, "error")) && json_is_string(m))
        { describe_body(m, out, depth + 1, known); return; }
    if (depth > 0) { /* {field: ["can't be blank"]} */
        json_object_foreach(v, key, m) {
            oc_buf item;
            oc_buf_init(&item, 0);
            describe_body(m, &item, depth + 1, known);
            if (item.len) {
                oc_buf line; /* whole: the name may quote a secret too */
                oc_buf_init(&line, 0);
                oc_buf_printf(&line, "%s %s", key, item.data);
                append_text(out, line.data ? line.data : "", line.len, known);
                oc_buf_free(&line);
            }
            oc_buf_free(&item);
        }
    }
}

/* The value of one auth-param (name="value" or name=token) of a
   WWW-Authenticate challenge (RFC 6750 3, RFC 9110 11.6.1), printable. */
static int challenge_param(const char *header, const char *name, char *out, size_t max,
                           const oc_secrets *known)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while ((p = strstr(p, name)) != NULL) {
        int starts = p == header || p[-1] == ' ' || p[-1] == ',';
        p += nlen;
        if (!starts || *p != '=')
            continue;
        p++;
        if (*p == '"') {
            const char *end = strchr(++p, '"');
            if (!end)
                return 0;
            oc_redact_copy(out, max, p, (size_t)(end - p), known);
        } else {
            oc_redact_copy(out, max, p, strcspn(p, " ,"), known);
        }
        return 1;
    }
    return 0;
}

/* What a 401 that stands leaves the user to do. */
static void hint_401(const oc_client *c, oc_rejection why, char *hint, size_t max)
{
    oc_error advice;
    if (why == OC_REJECTED_AFTER_REFRESH) {
        snprintf(hint, max, "the access token was rejected even after a refresh (revoked?); log in again");
    } else if (why == OC_REJECTED_CHURN) {
        snprintf(hint, max, "each newer token other processes stored was rejected too; try again");
    } else if (oc_client_uses_tokens(c) && oc_client_can_renew(c)) {
        snprintf(hint, max, "the access token was rejected");
    } else {
        oc_error_clear(&advice);
        oc_client_unrenewable_advice(c, &advice);
        snprintf(hint, max, "%.*s", (int)(max - 1), advice.message);
    }
}

oc_code oc_client_http_error(const oc_client *c, const char *method, const char *target,
                             const oc_response *resp, oc_rejection why, oc_error *err)
{
    char what[480], hint[300] = "";
    oc_buf detail;
    json_t *body = NULL;
    long status = resp->status;
    oc_secrets known;
    oc_code rc;

    oc_buf_init(&detail, 0);
    oc_client_secrets(c, NULL, &known);
    if (resp->body.len && resp->body.len <= 1024 * 1024)
        body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    if (body)
        describe_body(body, &detail, 0, &known);
    json_decref(body);
    oc_client_describe_request(c, method, target, what, sizeof what);
    if (status == 401)
        hint_401(c, why, hint, sizeof hint);
    {
        /* RFC 6750 3.1: a Bearer challenge names what was wrong with the token */
        const char *challenge = oc_response_header(resp, "www-authenticate");
        char code[64], scope[200];
        if (challenge && strncasecmp(challenge, "Bearer", 6) == 0 &&
            challenge_param(challenge, "error", code, sizeof code, &known)) {
            if (err)
                snprintf(err->oauth_error, sizeof err->oauth_error, "%s", code);
            if (strcmp(code, "insufficient_scope") == 0) {
                int named = challenge_param(challenge, "scope", scope, sizeof scope, &known);
                snprintf(hint, sizeof hint,
                         "the token lacks a scope this needs%s%s%s; add it to Scope and log in again",
                         named ? " (" : "", named ? scope : "", named ? ")" : "");
            }
        }
    }
    if (status == 407)
        snprintf(hint, sizeof hint, "%s", OC_PROXY_AUTH_HINT);
    if (status == 429 || status == 403) {
        const char *ra = oc_response_header(resp, "retry-after");
        if (ra && !hint[0]) {
            char shown[64];
            oc_redact_copy(shown, sizeof shown, ra, strlen(ra), &known);
            snprintf(hint, sizeof hint, "the server asks to wait (Retry-After: %s)", shown);
        }
    }
    if (err)
        err->status = status;
    rc = oc_fail(err,
                 status == 403 && oc_retry_status(403, method, c->profile, resp) ? OC_E_RATE_LIMITED
                                                                                 : code_for_status(status),
                 "%s: HTTP %ld%s%s%s%s%s%s", what, status,
                 reason_phrase(status)[0] ? " " : "", reason_phrase(status),
                 detail.len ? ": " : "", detail.len ? detail.data : "", hint[0] ? "; " : "", hint);
    oc_buf_free(&detail);
    oc_secrets_free(&known);
    oc_client_scrub_error(c, NULL, err); /* the last net (see oc_client_scrub_error) */
    return rc;
}
