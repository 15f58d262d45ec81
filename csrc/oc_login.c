#include "oc_login.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oc_browser.h"
#include "oc_crypto.h"
#include "oc_listener.h"

enum { PASTE_MAX = 8192 };

/* Reads one line from the controlling terminal, or stdin when there is none
   (scripts and tests feed it there). */
static oc_code read_pasted(char *line, size_t max, int64_t timeout_ms, oc_error *err)
{
    FILE *in = fopen("/dev/tty", "r");
    int own = in != NULL;
    size_t n;
    (void)timeout_ms;
    if (!in)
        in = stdin;
    if (!fgets(line, (int)max, in)) {
        if (own)
            fclose(in);
        return oc_fail(err, OC_E_LOGIN, "no authorization code was entered");
    }
    if (own)
        fclose(in);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    return OC_OK;
}

/* The pasted text is the code itself, or the whole redirect URL / query. */
static oc_code take_pasted(const char *text, const char *state, oc_kv *params, oc_error *err)
{
    const char *q = strchr(text, '?');
    const char *start = text;
    while (*start == ' ' || *start == '\t')
        start++;
    if (q || strstr(start, "code=") == start) {
        const char *query = q ? q + 1 : start;
        return oc_oauth_callback(query, strcspn(query, "#"), state, params, err);
    }
    if (!*start)
        return oc_fail(err, OC_E_LOGIN, "no authorization code was entered");
    if (oc_kv_adds(params, "code", start) != 0)
        return oc_fail_nomem(err);
    return OC_OK;
}

oc_code oc_login_desktop(const oc_login_request *req, oc_kv *params, char **verifier,
                         oc_error *err)
{
    char *state = NULL, *challenge = NULL, *url = NULL;
    oc_listener *listener = NULL;
    int oob = strcmp(req->callback_url, OC_OOB_REDIRECT) == 0;
    oc_code rc;

    *verifier = NULL;
    if ((rc = oc_random_urlsafe(32, &state, err)) != OC_OK)
        return rc;
    if (req->pkce && ((rc = oc_random_urlsafe(32, verifier, err)) != OC_OK ||
                      (rc = oc_pkce_s256(*verifier, &challenge, err)) != OC_OK))
        goto out;
    /* Listen before the browser can come back. */
    if (!oob && (rc = oc_listener_start(req->callback_url, &listener, err)) != OC_OK)
        goto out;
    if ((rc = oc_oauth_authorize_url(req->flow, req->callback_url, state, challenge, NULL, &url,
                                     err)) != OC_OK)
        goto out;

    fprintf(stderr, "\nTo sign in to %s, open this address in your browser:\n\n    %s\n\n",
            req->title ? req->title : "the provider", url);
    if (oob) {
        char line[PASTE_MAX];
        fprintf(stderr, "After you approve access, paste the code (or the address of the page "
                        "you land on) here: ");
        fflush(stderr);
        oc_browser_open(url);
        rc = read_pasted(line, sizeof line, req->timeout_ms, err);
        if (rc == OC_OK)
            rc = take_pasted(line, state, params, err);
        oc_wipe(line, sizeof line);
    } else {
        fprintf(stderr, "Waiting for the browser to return to %s ...\n", req->callback_url);
        fflush(stderr);
        oc_browser_open(url);
        rc = oc_listener_wait(listener, state, req->timeout_ms, params, err);
    }
out:
    oc_listener_stop(listener);
    free(url);
    free(challenge);
    free(state);
    if (rc != OC_OK) {
        oc_free_secret(*verifier);
        *verifier = NULL;
    }
    return rc;
}
