/*
 * oc_http: one reused libcurl easy handle (so connections stay alive) and the
 * response it fills. Redirects are never followed here: the caller decides,
 * because a redirect may lead to a host that must not see the token.
 */
#ifndef OC_HTTP_H
#define OC_HTTP_H

/* What a 407 asks of the user, plain http (an answer) or https (a refused CONNECT). */
#define OC_PROXY_AUTH_HINT                                                                         \
    "the proxy wants credentials: set ProxyUser and ProxyPassword (and ProxyAuthScheme if it "     \
    "is not BASIC)"

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "oc_buf.h"
#include "oc_error.h"
#include "oc_log.h"

/* Explicit limit: a response header block larger than this is refused. */
enum { OC_HEADERS_MAX = 256 * 1024 };

typedef struct oc_http oc_http;

typedef struct oc_http_options {
    long timeout_ms;         /* whole request; 0 = no limit */
    long connect_timeout_ms; /* 0 = libcurl's default */
    int proxy_from_env;      /* honour https_proxy/http_proxy/no_proxy (when proxy is NULL) */
    const char *proxy;       /* host or URL, or NULL */
    long proxy_port;         /* 0: the proxy's own or libcurl's default */
    long proxy_auth;         /* CURLAUTH_* bits, 0 for none */
    const char *proxy_user;
    const char *proxy_password;
    const char *ca_file;     /* trust these instead of the system's; or: */
    const char *ca_pem;      /* the same as PEM text */
    long http_auth;          /* CURLAUTH_NTLM etc., with user and password; 0 for none */
    const char *user;
    const char *password;
    oc_log *log;             /* borrowed; NULL for none */
} oc_http_options;

typedef struct oc_request {
    const char *method;                /* "GET", "POST", ... */
    const char *url;
    const struct curl_slist *headers;  /* may be NULL */
    const char *body;                  /* NULL: no body */
    size_t body_len;
    size_t max_body;                   /* response body limit; 0 = none */
    long timeout_ms;                   /* this request's limit; 0: the handle's Timeout */
} oc_request;

typedef struct oc_response {
    long status;
    oc_buf body;
    oc_buf headers;   /* "name\0value\0" pairs, names lower-cased */
    size_t nheaders;
} oc_response;

oc_code oc_http_new(const oc_http_options *opts, oc_http **out, oc_error *err);
void oc_http_free(oc_http *h);

/* Performs req and fills resp (cleared first; its buffers are reused).
   Any HTTP status is success here; only transport failures are errors. */
oc_code oc_http_perform(oc_http *h, const oc_request *req, oc_response *resp, oc_error *err);

/*
 * Requests performed together (curl multi; HTTP/2 multiplexed where the
 * server offers it, else parallel connections kept alive for the next
 * batch), each on a slot of its own (0 to OC_MAX_IN_FLIGHT - 1): start one,
 * then wait for any to finish. The request and response must stay alive
 * until that slot finishes or is cancelled.
 */
oc_code oc_http_start(oc_http *h, size_t slot, const oc_request *req, oc_response *resp,
                      oc_error *err);
/* Waits at most timeout_ms for a started request to finish: 1 with its
   slot, its outcome (as oc_http_perform's) and whether any of it was sent;
   0 when none finished in time (or none is running). */
int oc_http_wait(oc_http *h, int64_t timeout_ms, size_t *slot, oc_code *rc, int *sent, oc_error *err);
/* Stops a started request (its call was abandoned). */
void oc_http_cancel(oc_http *h, size_t slot);

/* Whether the last perform sent any of its request (a failure before that,
   such as a refused connection, is safe to retry for any method). */
int oc_http_sent(const oc_http *h);

void oc_response_init(oc_response *r);
void oc_response_reset(oc_response *r);
void oc_response_free(oc_response *r);
/* Adds a header (the name is lower-cased), for answers that come from
   elsewhere than libcurl (nginx subrequests); -1 past the buffer's limit. */
int oc_response_add_header(oc_response *r, const char *name, size_t nlen, const char *value,
                           size_t vlen);
/* The first value of a header (lower-case name), or NULL. Callers that
   want every value of a repeated header walk them with oc_response_next_header. */
const char *oc_response_header(const oc_response *r, const char *lname);
/* Frees a header list, wiping each line first: lines may hold credentials. */
void oc_http_free_headers(struct curl_slist *list);
/* Walks the headers: start with *pos = 0; returns 0 at the end. */
int oc_response_next_header(const oc_response *r, size_t *pos, const char **name, const char **value);

/* "GET https://host/path" without the query (which may hold parameters a log
   should not show), into out. */
void oc_describe_request(char *out, size_t max, const char *method, const char *url);

#endif
