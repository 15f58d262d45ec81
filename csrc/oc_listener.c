#include "oc_listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_oauth.h"
#include "oc_time.h"
#include "oc_url.h"

struct oc_listener {
    /* One per address: "localhost" listens on 127.0.0.1 and ::1 alike, for
       a browser (or a client without fallback) may try either first. */
    struct MHD_Daemon *daemon[2];
    unsigned ndaemons;
    char *path;          /* the callback path, e.g. "/callback" */
    unsigned port;
    /* Filled by the request handler during oc_listener_wait. */
    const char *state;
    oc_state_rule state_rule;
    oc_kv *params;
    oc_error *err;
    int done;            /* a callback request with this login's state was judged */
    oc_code verdict;
    int answered;        /* that request's answer has been sent */
    unsigned refused;    /* callbacks without this login's state, ignored */
    const volatile sig_atomic_t *cancel; /* set (by a signal handler) to stop waiting */
    const struct oc_secrets *known;      /* for the server's words, or NULL */
};

int oc_is_loopback_callback(const char *url)
{
    oc_url u;
    int ok;
    if (oc_url_parse(url, "CallbackURL", &u, NULL) != OC_OK)
        return 0;
    ok = strcmp(u.scheme, "http") == 0 && oc_host_is_loopback(u.host);
    oc_url_free(&u);
    return ok;
}

static const char page_head[] =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title>"
    "<style>body{font-family:sans-serif;margin:4em auto;max-width:36em;color:#222}</style>"
    "</head><body><h1>%s</h1><p>%s</p></body></html>";

/* HTML-escapes text (a message we wrote, but it may quote a server's words). */
static void escape_html(oc_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': oc_buf_puts(out, "&lt;"); break;
        case '>': oc_buf_puts(out, "&gt;"); break;
        case '&': oc_buf_puts(out, "&amp;"); break;
        case '"': oc_buf_puts(out, "&quot;"); break;
        default: oc_buf_append(out, s, 1);
        }
    }
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *title,
                              const char *text)
{
    oc_buf body, esc;
    struct MHD_Response *resp;
    enum MHD_Result r;
    oc_buf_init(&body, 0);
    oc_buf_init(&esc, 0);
    escape_html(&esc, text);
    oc_buf_printf(&body, page_head, title, title, esc.data ? esc.data : "");
    resp = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
    oc_buf_free(&body);
    oc_buf_free(&esc);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    oc_kv *kv = cls;
    (void)kind;
    if (oc_kv_adds(kv, key, value ? value : "") != 0)
        return MHD_NO;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    oc_listener *l = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    *req_cls = l;
    if (strcmp(url, l->path) != 0)
        return answer(conn, MHD_HTTP_NOT_FOUND, "Not found", "This page is not part of the login.");
    if (strcmp(method, "GET") != 0)
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
                      "The login callback only takes GET.");
    if (l->done) /* a second visit (reload, prefetch) after the verdict */
        return answer(conn, MHD_HTTP_OK, "Login already handled", "You can close this window.");

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, l->params);
    l->verdict = oc_oauth_check_callback(l->params, l->state, l->state_rule, l->known, l->err);
    if (l->verdict == OC_E_STATE_MISMATCH) {
        /* Not this login's redirect (an old tab, or a forged request from
           any web page): refuse it and keep waiting, or anyone could end
           the login. */
        l->refused++;
        oc_kv_free(l->params);
        return answer(conn, MHD_HTTP_BAD_REQUEST, "Not this login",
                      "This address does not belong to the login in progress.");
    }
    l->done = 1;
    if (l->verdict == OC_OK)
        return answer(conn, MHD_HTTP_OK, "Authorization received",
                      "The application is finishing the sign-in; you can close this window.");
    return answer(conn, MHD_HTTP_BAD_REQUEST, "Login failed", l->err ? l->err->message : "");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    oc_listener *l = cls;
    (void)conn;
    (void)toe;
    if (*req_cls == l && l->done)
        l->answered = 1;
}

/* A daemon on one loopback address, polled from oc_listener_wait through
   its epoll descriptor; NULL with errno set when it cannot listen. */
static struct MHD_Daemon *listen_on(oc_listener *l, const struct sockaddr *addr, uint16_t port)
{
    unsigned flags = MHD_USE_EPOLL | (addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    errno = 0;
    return MHD_start_daemon(flags, port, NULL, NULL, on_request, l,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)OC_LISTENER_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)OC_LISTENER_CONNECTION_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)OC_LISTENER_REQUEST_MEMORY,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
                            MHD_OPTION_END);
}

static unsigned bound_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

static void stop_daemons(oc_listener *l)
{
    while (l->ndaemons)
        MHD_stop_daemon(l->daemon[--l->ndaemons]);
}

/* "localhost": 127.0.0.1 and ::1 on one port. A port the system picks is
   picked again when ::1 has it taken; a machine without IPv6 gets 127.0.0.1
   alone. Returns 0, or an errno. */
static int listen_on_localhost(oc_listener *l, unsigned port)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    int attempt, e;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_loopback;
    for (attempt = 0; attempt < 8; attempt++) {
        v4.sin_port = htons((uint16_t)port);
        if (!(l->daemon[0] = listen_on(l, (struct sockaddr *)&v4, (uint16_t)port)))
            return errno ? errno : EADDRNOTAVAIL;
        l->ndaemons = 1;
        l->port = bound_port(l->daemon[0]);
        v6.sin6_port = htons((uint16_t)l->port);
        if ((l->daemon[1] = listen_on(l, (struct sockaddr *)&v6, (uint16_t)l->port))) {
            l->ndaemons = 2;
            return 0;
        }
        e = errno;
        if (e != EADDRINUSE)
            return 0; /* no IPv6 loopback here: browsers then use 127.0.0.1 */
        stop_daemons(l);
        if (port != 0)
            return e; /* another program holds [::1]:port and would get the code */
    }
    return EADDRINUSE;
}

oc_code oc_listener_start(const char *callback_url, oc_listener **out, oc_error *err)
{
    oc_listener *l;
    oc_url u;
    int e = 0;
    oc_code rc;

    *out = NULL;
    if ((rc = oc_url_parse(callback_url, "CallbackURL", &u, err)) != OC_OK)
        return rc;
    if (strcmp(u.scheme, "http") != 0 || !oc_host_is_loopback(u.host)) {
        char shown[300];
        oc_copy_printable(shown, sizeof shown, callback_url, strlen(callback_url));
        oc_url_free(&u);
        return oc_fail_property(err, OC_E_BAD_VALUE, "CallbackURL",
                                "CallbackURL: the desktop login listens only on http loopback "
                                "addresses (127.0.0.1, ::1 or localhost), not on '%s'; a web app "
                                "handles its own redirect with get_authorization_url and "
                                "get_access_token",
                                shown);
    }
    if (!(l = calloc(1, sizeof *l)) || !(l->path = oc_strdup(u.path))) {
        free(l);
        oc_url_free(&u);
        return oc_fail_nomem(err);
    }
    if (strcmp(u.host, "[::1]") == 0) {
        struct sockaddr_in6 v6;
        memset(&v6, 0, sizeof v6);
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons((uint16_t)u.port);
        v6.sin6_addr = in6addr_loopback;
        if ((l->daemon[0] = listen_on(l, (struct sockaddr *)&v6, (uint16_t)u.port)))
            l->ndaemons = 1;
        else
            e = errno ? errno : EADDRNOTAVAIL;
    } else if (strncmp(u.host, "127.", 4) == 0) {
        struct sockaddr_in v4;
        memset(&v4, 0, sizeof v4);
        v4.sin_family = AF_INET;
        v4.sin_port = htons((uint16_t)u.port);
        if (inet_pton(AF_INET, u.host, &v4.sin_addr) != 1)
            v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((l->daemon[0] = listen_on(l, (struct sockaddr *)&v4, (uint16_t)u.port)))
            l->ndaemons = 1;
        else
            e = errno ? errno : EADDRNOTAVAIL;
    } else {
        e = listen_on_localhost(l, u.port);
    }
    if (e) {
        rc = oc_fail_property(err, OC_E_LOGIN, "CallbackURL",
                              "cannot listen on %s port %u for the login callback: %s", u.host,
                              u.port, strerror(e));
        oc_url_free(&u);
        oc_listener_stop(l);
        return rc;
    }
    l->port = bound_port(l->daemon[0]);
    oc_url_free(&u);
    *out = l;
    return OC_OK;
}

unsigned oc_listener_port(const oc_listener *l)
{
    return l->port;
}

/* Waits up to wait_ms for any daemon's sockets, then lets each do its work
   (MHD_run does not block in this mode). */
static void run_daemons(oc_listener *l, int64_t wait_ms)
{
    struct pollfd pfd[2];
    MHD_UNSIGNED_LONG_LONG due;
    unsigned i;
    for (i = 0; i < l->ndaemons; i++) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon[i], MHD_DAEMON_INFO_EPOLL_FD);
        pfd[i].fd = info ? info->epoll_fd : -1;
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
        /* work already buffered (or a connection timing out) is due sooner */
        if (MHD_get_timeout(l->daemon[i], &due) == MHD_YES && (int64_t)due < wait_ms)
            wait_ms = (int64_t)due;
    }
    if (wait_ms > 0)
        poll(pfd, l->ndaemons, (int)wait_ms);
    for (i = 0; i < l->ndaemons; i++)
        MHD_run(l->daemon[i]);
}

oc_code oc_listener_wait(oc_listener *l, const char *state, oc_state_rule rule, int64_t timeout_ms,
                         oc_kv *params, oc_error *err)
{
    oc_error local;
    int64_t deadline = oc_monotonic_ms() + timeout_ms, linger;
    l->state = state;
    l->state_rule = rule;
    l->params = params;
    l->err = err ? err : &local;
    l->done = l->answered = 0;
    l->refused = 0;
    while (!l->done) {
        int64_t left = deadline - oc_monotonic_ms();
        if (l->cancel && *l->cancel) {
            l->params = NULL;
            return oc_fail(err, OC_E_LOGIN, "the login was interrupted");
        }
        if (left <= 0) {
            l->params = NULL;
            if (l->refused)
                return oc_fail(err, OC_E_STATE_MISMATCH,
                               "no callback with this login's state arrived within %lld ms; %u with "
                               "a wrong or missing state were refused (an old browser tab, or a "
                               "forged request)",
                               (long long)timeout_ms, l->refused);
            return oc_fail(err, OC_E_LOGIN,
                           "the browser did not come back to the callback within %lld s; "
                           "the login timed out (LoginTimeout)",
                           (long long)(timeout_ms / 1000));
        }
        run_daemons(l, left < 500 ? left : 500);
    }
    /* Give the browser its page before the listener goes away. */
    linger = oc_monotonic_ms() + 2000;
    while (!l->answered && oc_monotonic_ms() < linger)
        run_daemons(l, 50);
    l->params = NULL;
    return l->verdict;
}

void oc_listener_set_secrets(oc_listener *l, const struct oc_secrets *known)
{
    l->known = known;
}

void oc_listener_set_cancel(oc_listener *l, const volatile sig_atomic_t *flag)
{
    l->cancel = flag;
}

void oc_listener_stop(oc_listener *l)
{
    if (!l)
        return;
    stop_daemons(l);
    free(l->path);
    free(l);
}
