#include "oc_login.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oc_browser.h"
#include "oc_crypto.h"
#include "oc_interrupt.h"
#include "oc_mem.h"
#include "oc_listener.h"
#include "oc_redact.h"
#include "oc_time.h"

enum { PASTE_MAX = 8192 };

/* Reads one line from the controlling terminal, or stdin when there is none
   (scripts and tests feed it there), before deadline (monotonic ms; the
   login began timeout_ms before it). */
static oc_code read_pasted(char *line, size_t max, int64_t deadline, int64_t timeout_ms,
                           oc_error *err)
{
    int fd = open("/dev/tty", O_RDONLY | O_CLOEXEC), own = fd >= 0;
    size_t n = 0;
    oc_code rc = OC_OK;
    if (!own)
        fd = STDIN_FILENO;
    for (;;) {
        struct pollfd pfd;
        int64_t left = deadline - oc_monotonic_ms();
        ssize_t got;
        if (*oc_interrupt_flag()) { /* Ctrl-C (see oc_interrupt.h) */
            rc = oc_fail(err, OC_E_LOGIN, "the login was interrupted");
            break;
        }
        if (left <= 0) {
            rc = oc_fail(err, OC_E_LOGIN, "no authorization code was entered within %lld s (LoginTimeout)",
                         (long long)(timeout_ms / 1000));
            break;
        }
        pfd.fd = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) <= 0)
            continue;
        got = read(fd, line + n, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (n == 0)
                rc = oc_fail(err, OC_E_LOGIN, "no authorization code was entered");
            break;
        }
        if (line[n] == '\n')
            break;
        if (++n >= max - 1) {
            rc = oc_fail(err, OC_E_LOGIN, "the pasted text is longer than %zu bytes", max - 1);
            break;
        }
    }
    line[n] = '\0';
    if (own)
        close(fd);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    return rc;
}

/* CallbackURL with the port the listener was given (when it asked for 0). */
static char *actual_redirect(const char *callback, unsigned port)
{
    CURLU *u = curl_url();
    char *port_text = NULL, *url = NULL, *copy = NULL, num[16];
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, callback, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port_text, 0);
        if (port_text && strcmp(port_text, "0") == 0) {
            snprintf(num, sizeof num, "%u", port);
            curl_url_set(u, CURLUPART_PORT, num, 0);
        }
        if (curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
            copy = oc_strdup(url);
    }
    curl_free(port_text);
    curl_free(url);
    curl_url_cleanup(u);
    return copy;
}

static oc_code take_code(const char *text, const char *state, oc_state_rule rule,
                         const oc_secrets *known, oc_kv *params, oc_error *err)
{
    const char *q = strchr(text, '?');
    const char *start = text;
    while (*start == ' ' || *start == '\t')
        start++;
    /* A bare query names code or error as one of its parameters; a code
       alone may hold '=' (base64 padding) but not "&code=". */
    if (q || strncmp(start, "code=", 5) == 0 || strncmp(start, "error=", 6) == 0 ||
        strstr(start, "&code=") || strstr(start, "&error=")) {
        const char *query = q ? q + 1 : start;
        return oc_oauth_callback(query, strcspn(query, "#"), state, rule, known, params, err);
    }
    if (!*start)
        return oc_fail(err, OC_E_LOGIN, "no authorization code was entered");
    if (oc_kv_adds(params, "code", start) != 0)
        return oc_fail_nomem(err);
    return OC_OK;
}

oc_code oc_login_take_code(const char *text, const char *state, oc_state_rule rule, oc_kv *params,
                           oc_error *err)
{
    return take_code(text, state, rule, NULL, params, err);
}

oc_code oc_login_desktop(const oc_login_request *req, oc_kv *params, char **verifier,
                         char **redirect_uri, oc_error *err)
{
    oc_interrupt_guard guard;
    char *state = NULL, *challenge = NULL, *url = NULL, *redirect = NULL;
    oc_listener *listener = NULL;
    int oob = strcmp(req->callback_url, OC_OOB_REDIRECT) == 0;
    oc_secrets known; /* what the server's words in an error are redacted of */
    oc_code rc;

    memset(&known, 0, sizeof known);
    *verifier = NULL;
    *redirect_uri = NULL;
    guard.armed = 0;
    if ((rc = oc_random_urlsafe(32, &state, err)) != OC_OK)
        return rc;
    if (req->pkce && ((rc = oc_random_urlsafe(32, verifier, err)) != OC_OK ||
                      (rc = oc_pkce_s256(*verifier, &challenge, err)) != OC_OK))
        goto out;
    /* Listen before the browser can come back. */
    if (!oob && (rc = oc_listener_start(req->callback_url, &listener, err)) != OC_OK)
        goto out;
    redirect = oob ? oc_strdup(req->callback_url)
                   : actual_redirect(req->callback_url, oc_listener_port(listener));
    if (!redirect) {
        rc = oc_fail_nomem(err);
        goto out;
    }
    if ((rc = oc_oauth_authorize_url(req->flow, redirect, state, challenge, NULL, &url, err)) != OC_OK)
        goto out;
    oc_secrets_add(&known, req->flow->client_secret);
    oc_secrets_add(&known, *verifier);
    oc_secrets_set_open(&known, req->flow->client_id);

    fprintf(stderr, "\nTo sign in to %s, open this address in your browser:\n\n    %s\n\n",
            req->title ? req->title : "the provider", url);
    oc_interrupt_catch(&guard);
    if (oob) {
        char line[PASTE_MAX];
        int64_t deadline = oc_monotonic_ms() + req->timeout_ms;
        int blank;
        fprintf(stderr, "After you approve access, paste the code (or the address of the page "
                        "you land on) here: ");
        fflush(stderr);
        if (oc_browser_open(url) != 0)
            fprintf(stderr, "(no browser could be started; open the address by hand)\n");
        /* An Enter pressed too early is not an answer: ask again. */
        do {
            rc = read_pasted(line, sizeof line, deadline, req->timeout_ms, err);
            blank = rc == OC_OK && line[strspn(line, " \t")] == '\0';
            if (blank) {
                fprintf(stderr, "Nothing was pasted. Paste the code or the address (Ctrl-C stops): ");
                fflush(stderr);
            }
        } while (blank);
        if (rc == OC_OK)
            rc = take_code(line, state, req->state_rule, &known, params, err);
        oc_wipe(line, sizeof line);
    } else {
        fprintf(stderr, "Waiting for the browser to return to %s ...\n", redirect);
        fflush(stderr);
        if (oc_browser_open(url) != 0)
            fprintf(stderr, "(no browser could be started; open the address by hand)\n");
        oc_listener_set_cancel(listener, oc_interrupt_flag());
        oc_listener_set_secrets(listener, &known);
        rc = oc_listener_wait(listener, state, req->state_rule, req->timeout_ms, params, err);
    }
out:
    oc_listener_stop(listener);
    oc_secrets_free(&known);
    free(url);
    free(challenge);
    free(state);
    if (rc != OC_OK) {
        oc_free_secret(*verifier);
        *verifier = NULL;
        free(redirect);
    } else {
        *redirect_uri = redirect;
    }
    oc_interrupt_release(&guard); /* last: the host's handler may end the process */
    return rc;
}
