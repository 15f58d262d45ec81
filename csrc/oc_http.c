#include "oc_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_time.h"
#include "oc_mem.h"
#include "oc_url.h"

/* The hosts no proxy ever sees (libcurl's NOPROXY syntax): those
   oc_host_is_loopback names. */
#define LOOPBACK_HOSTS "localhost,127.0.0.0/8,::1"

/*
 * One easy handle and the per-transfer state its callbacks write into. The
 * callbacks never fail with longjmp: they record what went wrong and return
 * curl's abort value.
 */
typedef struct transfer {
    CURL *curl;
    oc_log *log;
    char errbuf[CURL_ERROR_SIZE];
    oc_response *resp;
    size_t max_body;
    long timeout_ms; /* the handle's Timeout, for requests that name none */
    int via_proxy;   /* ProxyServer is set: connection failures are the proxy's,
                        but for loopback targets, which never go through it */
    int body_overflow;
    int header_overflow;
    const oc_request *req; /* the request a batch handle is performing, or NULL */
} transfer;

struct oc_http {
    transfer main;     /* single requests: one handle, one kept-alive connection */
    oc_log *log;
    CURLM *multi;      /* batches: created on first use, kept so connections stay alive */
    transfer **pool;   /* the batch handles, duplicated from main */
    size_t npool;
};

void oc_response_init(oc_response *r)
{
    r->status = 0;
    oc_buf_init(&r->body, 0);
    oc_buf_init(&r->headers, OC_HEADERS_MAX);
    r->nheaders = 0;
}

void oc_response_reset(oc_response *r)
{
    r->status = 0;
    oc_buf_reset(&r->body);
    oc_buf_reset(&r->headers);
    r->nheaders = 0;
}

void oc_response_free(oc_response *r)
{
    oc_buf_free(&r->body);
    oc_buf_free(&r->headers);
    r->nheaders = 0;
}

int oc_response_next_header(const oc_response *r, size_t *pos, const char **name, const char **value)
{
    const char *base = r->headers.data;
    if (!base || *pos >= r->headers.len)
        return 0;
    *name = base + *pos;
    *value = *name + strlen(*name) + 1;
    *pos = (size_t)(*value - base) + strlen(*value) + 1;
    return 1;
}

int oc_response_add_header(oc_response *r, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    /* One growth per header: this runs for every header of every answer. */
    size_t i;
    char *p = nlen > (size_t)-1 / 2 || vlen > (size_t)-1 / 2 - nlen - 2
                  ? NULL
                  : oc_buf_extend(&r->headers, nlen + vlen + 2);
    if (!p)
        return -1;
    for (i = 0; i < nlen; i++)
        p[i] = (char)tolower((unsigned char)name[i]);
    p[nlen] = '\0';
    memcpy(p + nlen + 1, value, vlen);
    p[nlen + 1 + vlen] = '\0';
    r->nheaders++;
    return 0;
}

void oc_http_free_headers(struct curl_slist *list)
{
    struct curl_slist *h;
    for (h = list; h; h = h->next)
        oc_wipe(h->data, strlen(h->data));
    curl_slist_free_all(list);
}

const char *oc_response_header(const oc_response *r, const char *lname)
{
    size_t pos = 0;
    const char *name, *value;
    /* the first occurrence; callers wanting all walk the list */
    while (oc_response_next_header(r, &pos, &name, &value))
        if (strcmp(name, lname) == 0)
            return value;
    return NULL;
}

void oc_describe_request(char *out, size_t max, const char *method, const char *url)
{
    char shown[400];
    oc_url_shown(shown, sizeof shown, url);
    snprintf(out, max, "%s %s", method, shown);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer *h = ud;
    size_t n = size * nmemb;
    if (h->max_body && h->resp->body.len + n > h->max_body) {
        h->body_overflow = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (oc_buf_append(&h->resp->body, data, n) != 0)
        return 0;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer *h = ud;
    oc_response *r = h->resp;
    size_t n = size * nmemb, nlen;
    const char *colon, *v, *end = data + n;

    while (end > data && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end == data)
        return n; /* the blank line that ends a header block */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new status line (after 100 Continue or an auth round trip):
           only the final response's headers are kept. */
        oc_buf_reset(&r->headers);
        r->nheaders = 0;
        return n;
    }
    colon = memchr(data, ':', (size_t)(end - data));
    if (!colon || colon == data)
        return n; /* not a header line; ignore it rather than fail */
    nlen = (size_t)(colon - data);
    v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    if (oc_response_add_header(r, data, nlen, v, (size_t)(end - v)) != 0)
        goto overflow;
    return n;
overflow:
    h->header_overflow = 1;
    return 0;
}

/* libcurl's own notes (connections, TLS), for Verbosity 4 and up; every
   line goes through the redacting log. The requests and answers themselves
   are logged by the engine, alike for every driver. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
    transfer *h = ud;
    (void)c;
    if (type == CURLINFO_TEXT)
        oc_log_header(h->log, 4, "* ", data, size);
    return 0;
}

static oc_code set_trust(CURL *c, const oc_http_options *o, oc_error *err)
{
    CURLcode cc = CURLE_OK;
    if (o->ca_pem) {
        struct curl_blob blob;
        blob.data = (void *)o->ca_pem;
        blob.len = strlen(o->ca_pem);
        blob.flags = CURL_BLOB_COPY;
        cc = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(c, CURLOPT_PROXY_CAINFO_BLOB, &blob);
        /* Only these: without this OpenSSL still adds the system's CA directory. */
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(c, CURLOPT_PROXY_CAPATH, NULL);
    } else if (o->ca_file) {
        cc = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(c, CURLOPT_PROXY_CAINFO, o->ca_file);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(c, CURLOPT_PROXY_CAPATH, NULL);
    }
    if (cc != CURLE_OK)
        return oc_fail_property(err, OC_E_BAD_VALUE, "SSLServerCert",
                                "SSLServerCert: libcurl cannot use it (%s)", curl_easy_strerror(cc));
    return OC_OK;
}

/* Points a handle's callbacks and error buffer at its transfer (again,
   after curl_easy_duphandle copied the main transfer's). */
static void bind_transfer(transfer *t)
{
    curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_HEADERDATA, t);
    if (oc_log_level(t->log) >= 4)
        curl_easy_setopt(t->curl, CURLOPT_DEBUGDATA, t);
}

oc_code oc_http_new(const oc_http_options *opts, oc_http **out, oc_error *err)
{
    oc_http *h = calloc(1, sizeof *h);
    CURL *c;
    *out = NULL;
    if (!h)
        return oc_fail_nomem(err);
    if (!(c = h->main.curl = curl_easy_init())) {
        free(h);
        return oc_fail_nomem(err);
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    /* gzip, which the providers' APIs answer with; libcurl's full list
       ("") costs it more work on every request (bench/ measures it). */
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    h->main.timeout_ms = opts->timeout_ms;
    if (opts->connect_timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
    if (opts->proxy) {
        h->main.via_proxy = 1;
        curl_easy_setopt(c, CURLOPT_PROXY, opts->proxy);
        /* Every request but a loopback one: plain http is allowed only to
           loopback hosts, because such traffic never leaves the machine;
           through a proxy the token would leave it in clear. */
        curl_easy_setopt(c, CURLOPT_NOPROXY, LOOPBACK_HOSTS);
        if (opts->proxy_port)
            curl_easy_setopt(c, CURLOPT_PROXYPORT, opts->proxy_port);
        if (opts->proxy_auth && opts->proxy_user) {
            curl_easy_setopt(c, CURLOPT_PROXYAUTH, opts->proxy_auth);
            curl_easy_setopt(c, CURLOPT_PROXYUSERNAME, opts->proxy_user);
            curl_easy_setopt(c, CURLOPT_PROXYPASSWORD, opts->proxy_password ? opts->proxy_password : "");
        }
    } else if (!opts->proxy_from_env) {
        curl_easy_setopt(c, CURLOPT_PROXY, ""); /* "" also overrides the environment */
    } else {
        /* A proxy from the environment never sees loopback traffic: plain
           http is allowed there only because it never leaves the machine. */
        const char *env = getenv("no_proxy");
        char list[1024];
        if (!env || !*env)
            env = getenv("NO_PROXY");
        snprintf(list, sizeof list, "%s%s%s", LOOPBACK_HOSTS, env && *env ? "," : "",
                 env && *env ? env : "");
        curl_easy_setopt(c, CURLOPT_NOPROXY, list);
    }
    if (opts->http_auth) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, opts->http_auth);
        curl_easy_setopt(c, CURLOPT_USERNAME, opts->user ? opts->user : "");
        curl_easy_setopt(c, CURLOPT_PASSWORD, opts->password ? opts->password : "");
    }
    if (set_trust(c, opts, err) != OC_OK) {
        oc_http_free(h);
        return err ? err->code : OC_E_BAD_VALUE;
    }
    h->log = h->main.log = opts->log;
    if (oc_log_level(h->log) >= 4) {
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    }
    bind_transfer(&h->main);
    *out = h;
    return OC_OK;
}

int oc_http_sent(const oc_http *h)
{
    long n = 0;
    curl_easy_getinfo(h->main.curl, CURLINFO_REQUEST_SIZE, &n);
    return n > 0;
}

void oc_http_free(oc_http *h)
{
    size_t i;
    if (!h)
        return;
    for (i = 0; i < h->npool; i++) {
        curl_easy_cleanup(h->pool[i]->curl);
        free(h->pool[i]);
    }
    free(h->pool);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->main.curl)
        curl_easy_cleanup(h->main.curl);
    free(h);
}

/* Whether url's host is a loopback one (see LOOPBACK_HOSTS). */
static int url_is_loopback(const char *url)
{
    oc_url u;
    int yes;
    if (oc_url_parse(url, "URL", &u, NULL) != OC_OK)
        return 0;
    yes = oc_host_is_loopback(u.host);
    oc_url_free(&u);
    return yes;
}

static oc_code transport_error(transfer *h, CURLcode cc, const oc_request *req, oc_error *err)
{
    char what[480], detail[CURL_ERROR_SIZE + 4];
    size_t n = strlen(h->errbuf);
    if (n + 1 >= sizeof h->errbuf) /* libcurl cut its words: whole ones only (oc_text_cut) */
        oc_redact_copy(detail, sizeof detail, h->errbuf, oc_text_cut(h->errbuf, n, n - 1), NULL);
    else
        oc_redact_copy(detail, sizeof detail, n ? h->errbuf : curl_easy_strerror(cc),
                       n ? n : strlen(curl_easy_strerror(cc)), NULL);
    oc_describe_request(what, sizeof what, req->method, req->url);
    if (h->body_overflow || cc == CURLE_FILESIZE_EXCEEDED)
        return oc_fail(err, OC_E_TOO_LARGE, "%s: the answer is larger than the limit of %zu bytes",
                       what, req->max_body);
    if (h->header_overflow)
        return oc_fail(err, OC_E_TOO_LARGE, "%s: the answer's headers are larger than %d bytes",
                       what, OC_HEADERS_MAX);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return oc_fail(err, OC_E_TIMEOUT, "%s timed out (%s)", what, detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return oc_fail(err, OC_E_TLS, "%s: TLS failed (%s)", what, detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "%s: %s", what, detail);
    case CURLE_OUT_OF_MEMORY:
        return oc_fail_nomem(err);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_PROXY:
        /* libcurl names the host it could not reach: the proxy */
        if (h->via_proxy && !url_is_loopback(req->url))
            return oc_fail(err, OC_E_NETWORK, "%s failed: the proxy (ProxyServer) cannot be reached: %s",
                           what, detail);
        return oc_fail(err, OC_E_NETWORK, "%s failed: %s", what, detail);
    default:
        if (h->via_proxy && strstr(detail, "response 407")) /* CONNECT refused, for HTTPS */
            return oc_fail(err, OC_E_NETWORK, "%s failed: %s; %s", what, detail, OC_PROXY_AUTH_HINT);
        return oc_fail(err, OC_E_NETWORK, "%s failed: %s", what, detail);
    }
}

/* Sets a handle up for req; resp receives the answer. */
static void prepare(transfer *t, const oc_request *req, oc_response *resp)
{
    CURL *c = t->curl;
    const char *m = req->method;

    oc_response_reset(resp);
    t->resp = resp;
    t->max_body = req->max_body;
    t->body_overflow = t->header_overflow = 0;
    t->errbuf[0] = '\0';

    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_body);
    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        /* POST, PUT and PATCH always carry a body (an empty one is
           Content-Length: 0, which some servers insist on). */
        const char *body = req->body;
        if (!body && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0))
            body = "";
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        } else {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(m, "POST") == 0 ? NULL : m);
    }
}

/* After the transfer: the status, or the error. */
static oc_code finish(transfer *t, CURLcode cc, const oc_request *req, oc_response *resp,
                      oc_error *err)
{
    CURL *c = t->curl;
    t->resp = NULL;
    /* Never leave pointers to the caller's memory in the handle. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    if (strcmp(req->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    if (cc != CURLE_OK)
        return transport_error(t, cc, req, err);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    return OC_OK;
}

oc_code oc_http_perform(oc_http *h, const oc_request *req, oc_response *resp, oc_error *err)
{
    prepare(&h->main, req, resp);
    return finish(&h->main, curl_easy_perform(h->main.curl), req, resp, err);
}

/* At least n batch handles, copies of the main one with their own state. */
static oc_code grow_pool(oc_http *h, size_t n, oc_error *err)
{
    transfer **pool;
    if (n <= h->npool)
        return OC_OK;
    if (!(pool = realloc(h->pool, n * sizeof *pool)))
        return oc_fail_nomem(err);
    h->pool = pool;
    while (h->npool < n) {
        transfer *t = calloc(1, sizeof *t);
        if (!t || !(t->curl = curl_easy_duphandle(h->main.curl))) {
            free(t);
            return oc_fail_nomem(err);
        }
        t->log = h->log;
        t->timeout_ms = h->main.timeout_ms;
        t->via_proxy = h->main.via_proxy;
        bind_transfer(t);
        h->pool[h->npool++] = t;
    }
    return OC_OK;
}

oc_code oc_http_start(oc_http *h, size_t slot, const oc_request *req, oc_response *resp,
                      oc_error *err)
{
    transfer *t;
    oc_code rc;
    if (!h->multi && !(h->multi = curl_multi_init()))
        return oc_fail_nomem(err);
    if ((rc = grow_pool(h, slot + 1, err)) != OC_OK)
        return rc;
    t = h->pool[slot];
    prepare(t, req, resp);
    t->req = req;
    curl_easy_setopt(t->curl, CURLOPT_PRIVATE, (void *)(uintptr_t)slot);
    if (curl_multi_add_handle(h->multi, t->curl) != CURLM_OK) {
        t->req = NULL;
        return oc_fail_nomem(err);
    }
    return OC_OK;
}

int oc_http_wait(oc_http *h, int64_t timeout_ms, size_t *slot, oc_code *rc, int *sent, oc_error *err)
{
    int64_t deadline = oc_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        CURLMsg *msg;
        int running = 0, left;
        int64_t now;
        if (!h->multi || curl_multi_perform(h->multi, &running) != CURLM_OK)
            return 0;
        while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
            void *priv = NULL;
            transfer *t;
            long n = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            *slot = (size_t)(uintptr_t)priv;
            t = h->pool[*slot];
            curl_easy_getinfo(t->curl, CURLINFO_REQUEST_SIZE, &n);
            *sent = n > 0;
            *rc = finish(t, msg->data.result, t->req, t->resp, err);
            curl_multi_remove_handle(h->multi, t->curl);
            t->req = NULL;
            return 1;
        }
        now = oc_monotonic_ms();
        if (now >= deadline || running == 0)
            return 0;
        curl_multi_poll(h->multi, NULL, 0, (int)(deadline - now < 1000 ? deadline - now : 1000), NULL);
    }
}

void oc_http_cancel(oc_http *h, size_t slot)
{
    if (h->multi && slot < h->npool && h->pool[slot]->req) {
        curl_multi_remove_handle(h->multi, h->pool[slot]->curl);
        h->pool[slot]->req = NULL;
        h->pool[slot]->resp = NULL;
    }
}
