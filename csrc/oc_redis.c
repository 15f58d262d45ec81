#define _GNU_SOURCE
#include "oc_redis.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_redact.h"
#include "oc_time.h"

enum { REPLY_MAX = 4 * 1024 * 1024 };

struct oc_redis {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    redisReader *reader;
    int64_t timeout_ms;
    char *shown;
};

void oc_redis_target_free(oc_redis_target *t)
{
    free(t->host);
    free(t->user);
    oc_free_secret(t->password);
    free(t->key);
    free(t->ca_file);
    free(t->ca_pem);
    free(t->shown);
    memset(t, 0, sizeof *t);
}

static char *unescape(const char *s)
{
    int n = 0;
    char *d = curl_easy_unescape(NULL, s, 0, &n), *copy;
    if (!d)
        return NULL;
    copy = oc_strndup(d, (size_t)n);
    oc_wipe(d, (size_t)n);
    curl_free(d);
    return copy;
}

oc_code oc_redis_parse(const char *location, oc_redis_target *out, oc_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *pass = NULL;
    oc_redis_target t;
    oc_code rc = OC_OK;
    char *p, *slash;

    memset(&t, 0, sizeof t);
    memset(out, 0, sizeof *out);
    if (!u)
        return oc_fail_nomem(err);
    if (curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = oc_fail_property(err, OC_E_BAD_VALUE, "OAuthSettingsLocation",
                              "OAuthSettingsLocation: not a redis://[user:password@]host[:port][/db]/key URL");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
    t.tls = strcasecmp(scheme, "rediss") == 0;
    t.port = port ? (unsigned)strtoul(port, NULL, 10) : 6379;
    /* "/key" or "/db/key": a numeric first segment followed by more is the db */
    p = path ? path + (path[0] == '/') : (char *)"";
    slash = strchr(p, '/');
    if (slash && slash > p && strspn(p, "0123456789") == (size_t)(slash - p)) {
        t.db = atoi(p);
        p = slash + 1;
    }
    if (!*p) {
        rc = oc_fail_property(err, OC_E_BAD_VALUE, "OAuthSettingsLocation",
                              "OAuthSettingsLocation: the Redis URL names no key (redis://host/db/key)");
        goto out;
    }
    if (!(t.host = oc_strdup(host)) || !(t.key = unescape(p)) ||
        (user && *user && !(t.user = unescape(user))) || (pass && !(t.password = unescape(pass)))) {
        rc = oc_fail_nomem(err);
        goto out;
    }
    {
        char shown[600];
        snprintf(shown, sizeof shown, "Redis store %s://%s:%u/%d/%s", t.tls ? "rediss" : "redis", t.host,
                 t.port, t.db, t.key);
        if (!(t.shown = oc_strdup(shown))) {
            rc = oc_fail_nomem(err);
            goto out;
        }
    }
    *out = t;
    memset(&t, 0, sizeof t);
out:
    oc_redis_target_free(&t);
    if (pass)
        oc_wipe(pass, strlen(pass));
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return rc;
}

void oc_redis_close(oc_redis *r)
{
    if (!r)
        return;
    if (r->ssl) {
        SSL_shutdown(r->ssl);
        SSL_free(r->ssl);
    }
    if (r->ctx)
        SSL_CTX_free(r->ctx);
    if (r->fd >= 0)
        close(r->fd);
    if (r->reader)
        redisReaderFree(r->reader);
    free(r->shown);
    free(r);
}


/* An error reply that says the server cannot serve yet, not that the
   command was refused: a Redis loading its data after a restart, busy in a
   script, or a replica without its master. */
static int not_ready(const char *reply, size_t len)
{
    static const char *const codes[] = { "LOADING ", "BUSY ", "MASTERDOWN ", "TRYAGAIN ", "CLUSTERDOWN " };
    size_t i;
    for (i = 0; i < sizeof codes / sizeof *codes; i++)
        if (len >= strlen(codes[i]) && memcmp(reply, codes[i], strlen(codes[i])) == 0)
            return 1;
    return 0;
}
/* Waits for the socket (events) until the deadline. 0 ready, -1 timed out or failed. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p;
        int64_t left = deadline - oc_monotonic_ms();
        int n;
        if (left <= 0)
            return -1;
        p.fd = fd;
        p.events = events;
        n = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static oc_code connect_tcp(oc_redis *r, const oc_redis_target *t, int64_t deadline, oc_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[16];
    int rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", t->port);
    if ((rc = getaddrinfo(t->host, port, &hints, &res)) != 0)
        return oc_fail(err, OC_E_NETWORK, "%s: cannot resolve %s: %s", r->shown, t->host,
                       gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        int one = 1, soerr = 0;
        socklen_t len = sizeof soerr;
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
            (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 0 ||
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0)) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        r->fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (r->fd < 0)
        return oc_fail(err, OC_E_NETWORK, "%s: cannot connect to %s port %u", r->shown, t->host, t->port);
    return OC_OK;
}

static oc_code tls_error(oc_redis *r, const char *what, oc_error *err)
{
    char detail[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return oc_fail(err, OC_E_TLS, "%s: %s (%s)", r->shown, what, e ? detail : "no detail");
}

static oc_code start_tls(oc_redis *r, const oc_redis_target *t, int64_t deadline, oc_error *err)
{
    if (!(r->ctx = SSL_CTX_new(TLS_client_method())))
        return tls_error(r, "cannot set up TLS", err);
    SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
    if (t->ca_pem) {
        BIO *bio = BIO_new_mem_buf(t->ca_pem, -1);
        X509_STORE *store = SSL_CTX_get_cert_store(r->ctx);
        X509 *x;
        int n = 0;
        while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            X509_STORE_add_cert(store, x);
            X509_free(x);
            n++;
        }
        BIO_free(bio);
        ERR_clear_error();
        if (n == 0)
            return oc_fail_property(err, OC_E_BAD_VALUE, "SSLServerCert", "SSLServerCert holds no PEM certificate");
    } else if (t->ca_file) {
        if (SSL_CTX_load_verify_locations(r->ctx, t->ca_file, NULL) != 1)
            return tls_error(r, "cannot read SSLServerCert", err);
    } else if (SSL_CTX_set_default_verify_paths(r->ctx) != 1) {
        return tls_error(r, "cannot load the system's certificates", err);
    }
    X509_STORE_set_flags(SSL_CTX_get_cert_store(r->ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (!(r->ssl = SSL_new(r->ctx)) || SSL_set_fd(r->ssl, r->fd) != 1)
        return tls_error(r, "cannot set up TLS", err);
    {
        /* The certificate must name this host, or this IP address (an IP
           literal is matched against IP SANs and sent without SNI). */
        unsigned char addr[16];
        int is_ip = inet_pton(AF_INET, t->host, addr) == 1 || inet_pton(AF_INET6, t->host, addr) == 1;
        if (is_ip) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), t->host);
        } else {
            SSL_set_tlsext_host_name(r->ssl, t->host);
            SSL_set1_host(r->ssl, t->host);
        }
    }
    for (;;) {
        int rc = SSL_connect(r->ssl), e;
        if (rc == 1)
            return OC_OK;
        e = SSL_get_error(r->ssl, rc);
        if ((e == SSL_ERROR_WANT_READ && wait_fd(r->fd, POLLIN, deadline) == 0) ||
            (e == SSL_ERROR_WANT_WRITE && wait_fd(r->fd, POLLOUT, deadline) == 0))
            continue;
        if (SSL_get_verify_result(r->ssl) != X509_V_OK)
            return oc_fail(err, OC_E_TLS, "%s: the server's certificate cannot be verified (%s)",
                           r->shown, X509_verify_cert_error_string(SSL_get_verify_result(r->ssl)));
        return tls_error(r, "the TLS handshake failed", err);
    }
}

static oc_code send_all(oc_redis *r, const char *p, size_t n, int64_t deadline, oc_error *err)
{
    while (n) {
        ssize_t w;
        if (r->ssl) {
            int rc = SSL_write(r->ssl, p, (int)n), e;
            if (rc > 0) {
                p += rc;
                n -= (size_t)rc;
                continue;
            }
            e = SSL_get_error(r->ssl, rc);
            if ((e == SSL_ERROR_WANT_WRITE && wait_fd(r->fd, POLLOUT, deadline) == 0) ||
                (e == SSL_ERROR_WANT_READ && wait_fd(r->fd, POLLIN, deadline) == 0))
                continue;
            return oc_fail(err, OC_E_NETWORK, "%s: the connection failed while sending", r->shown);
        }
        w = send(r->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(r->fd, POLLOUT, deadline) != 0)
                return oc_fail(err, OC_E_TIMEOUT, "%s: timed out sending", r->shown);
        } else {
            return oc_fail(err, OC_E_NETWORK, "%s: the connection failed while sending (%s)", r->shown,
                           strerror(errno));
        }
    }
    return OC_OK;
}

static oc_code read_reply(oc_redis *r, redisReply **reply, int64_t deadline, oc_error *err)
{
    char buf[16384];
    size_t total = 0;
    for (;;) {
        void *out = NULL;
        ssize_t n;
        if (redisReaderGetReply(r->reader, &out) != REDIS_OK)
            return oc_fail(err, OC_E_BAD_RESPONSE, "%s: the server's reply cannot be read", r->shown);
        if (out) {
            *reply = out;
            return OC_OK;
        }
        if (r->ssl) {
            int rc = SSL_read(r->ssl, buf, sizeof buf), e;
            if (rc <= 0) {
                e = SSL_get_error(r->ssl, rc);
                if ((e == SSL_ERROR_WANT_READ && wait_fd(r->fd, POLLIN, deadline) == 0) ||
                    (e == SSL_ERROR_WANT_WRITE && wait_fd(r->fd, POLLOUT, deadline) == 0))
                    continue;
                return oc_fail(err, OC_E_NETWORK, "%s: the connection closed", r->shown);
            }
            n = rc;
        } else {
            n = recv(r->fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (wait_fd(r->fd, POLLIN, deadline) != 0)
                    return oc_fail(err, OC_E_TIMEOUT, "%s: timed out waiting for the server", r->shown);
                continue;
            }
            if (n <= 0)
                return oc_fail(err, OC_E_NETWORK, "%s: the connection closed", r->shown);
        }
        total += (size_t)n;
        if (total > REPLY_MAX)
            return oc_fail(err, OC_E_TOO_LARGE, "%s: a reply larger than %d bytes", r->shown, REPLY_MAX);
        redisReaderFeed(r->reader, buf, (size_t)n);
    }
}

oc_code oc_redis_command(oc_redis *r, int argc, const char **argv, const size_t *lens,
                         redisReply **reply, oc_error *err)
{
    char *cmd = NULL;
    int64_t deadline = oc_monotonic_ms() + r->timeout_ms;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    oc_code rc;
    *reply = NULL;
    if (n < 0)
        return oc_fail_nomem(err);
    rc = send_all(r, cmd, (size_t)n, deadline, err);
    oc_wipe(cmd, (size_t)n); /* a command may carry the token set or a password */
    free(cmd);
    if (rc == OC_OK)
        rc = read_reply(r, reply, deadline, err);
    if (rc == OC_OK && (*reply)->type == REDIS_REPLY_ERROR) {
        char shown[200];
        int passing = not_ready((*reply)->str, (*reply)->len);
        /* whole words only: the client's redaction then finds any secret whole */
        oc_redact_copy(shown, sizeof shown, (*reply)->str, (*reply)->len, NULL);
        freeReplyObject(*reply);
        *reply = NULL;
        if (passing)
            return oc_fail(err, OC_E_NETWORK, "%s is not ready (it answered %s); try again shortly",
                           r->shown, shown);
        return oc_fail(err, OC_E_SETTINGS, "%s: the server answered %s", r->shown, shown);
    }
    return rc;
}

oc_code oc_redis_connect(const oc_redis_target *t, int64_t timeout_ms, oc_redis **out,
                         oc_error *err)
{
    oc_redis *r = calloc(1, sizeof *r);
    int64_t deadline = oc_monotonic_ms() + timeout_ms;
    redisReply *reply = NULL;
    oc_code rc;

    *out = NULL;
    if (!r)
        return oc_fail_nomem(err);
    r->fd = -1;
    r->timeout_ms = timeout_ms;
    if (!(r->shown = oc_strdup(t->shown)) || !(r->reader = redisReaderCreate())) {
        oc_redis_close(r);
        return oc_fail_nomem(err);
    }
    if ((rc = connect_tcp(r, t, deadline, err)) != OC_OK ||
        (t->tls && (rc = start_tls(r, t, deadline, err)) != OC_OK))
        goto fail;
    if (t->password) {
        const char *argv[3] = { "AUTH", t->user ? t->user : t->password, t->password };
        size_t lens[3] = { 4, strlen(argv[1]), strlen(t->password) };
        if ((rc = oc_redis_command(r, t->user ? 3 : 2, argv, lens, &reply, err)) != OC_OK) {
            /* A refusal is named as such (the server's words never hold the
               password); a timeout or a dropped connection keeps its own
               message, or it would send operators to rotate passwords. */
            if (err && rc == OC_E_SETTINGS)
                snprintf(err->message, sizeof err->message, "%s: the server refused the credentials",
                         t->shown);
            goto fail;
        }
        freeReplyObject(reply);
    }
    if (t->db) {
        char db[16];
        const char *argv[2] = { "SELECT", db };
        size_t lens[2];
        snprintf(db, sizeof db, "%d", t->db);
        lens[0] = 6;
        lens[1] = strlen(db);
        if ((rc = oc_redis_command(r, 2, argv, lens, &reply, err)) != OC_OK)
            goto fail;
        freeReplyObject(reply);
    }
    *out = r;
    return OC_OK;
fail:
    oc_redis_close(r);
    return rc;
}
