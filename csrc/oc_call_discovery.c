/*
 * The engine's discovery steps: the authorization server's metadata (RFC
 * 8414, OpenID Connect Discovery) read from the store's cache while it is
 * fresh (a day), else fetched (retried as any idempotent request is) and
 * checked (oc_discovery.c), adopted by the client (its endpoints, PKCE and
 * client authentication) and cached in the settings document for the other
 * processes. Callers that hold the store's lock get it read and saved
 * under the lock, so processes started together fetch it once. A server
 * that cannot answer leaves an older document in use, and the pause before
 * the next attempt is cached too. A discovered endpoint that answers 404
 * has the document fetched again, once per call.
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <string.h>

#include "oc_retry.h"
#include "oc_time.h"
#include "oc_url.h"
#include "oc_version.h"

/* After a failed fetch with an older document at hand, the next attempt
   waits this long rather than slowing every call. */
#define REFETCH_PAUSE_MS INT64_C(300000)

static void fetch(oc_call *call);

/* Ends the discovery part with rc (call->step_err holds the error): the
   caller decides what a failure means. */
static void discovered(oc_call *call, oc_code rc)
{
    oc_cont then = call->disc_then;
    call->disc_then = NULL;
    call->step_rc = rc;
    if (rc == OC_OK)
        oc_error_clear(&call->step_err);
    then(call);
}

static int merge_discovery(oc_call *call, oc_settings *fresh)
{
    json_decref(fresh->discovery);
    fresh->discovery = json_incref(call->disc_cache);
    return 1;
}

static void cache_saved(oc_call *call)
{
    call->merge = NULL;
    if (call->step_rc != OC_OK)
        oc_logf(call->c->log, 1, "the discovery document was not cached: %s", call->step_err.message);
    discovered(call, OC_OK);
}

/* The client's document (or its next fetch time) cached where the other
   processes read it: a compare-and-set save, merged over a newer
   document. A save that fails costs the others a fetch, nothing more. */
static void cache(oc_call *call)
{
    oc_client *c = call->c;
    json_decref(call->disc_cache);
    call->disc_cache = NULL;
    if (!c->store || !(call->disc_cache = oc_discovery_to_cache(&c->disc))) {
        discovered(call, OC_OK);
        return;
    }
    json_decref(call->doc.discovery);
    call->doc.discovery = json_incref(call->disc_cache);
    call->merge = merge_discovery;
    oc_call_save(call, cache_saved);
}

/* Whether a failed fetch may be tried again: no answer, or a server
   failing for now. */
static int transient(oc_code rc, const oc_response *r)
{
    return rc != OC_OK || r->status == 429 || r->status == 502 || r->status == 503 || r->status == 504 ||
           r->status == 500;
}

static void answered(oc_call *call)
{
    oc_client *c = call->c;
    oc_response *r = &call->disc_resp;
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT) * 1000, wait = -1;
    oc_discovery d;
    oc_error e;
    oc_code rc = call->step_rc;
    int passing = transient(rc, r);
    char shown[400];

    oc_discovery_init(&d);
    oc_error_clear(&e);
    oc_url_shown(shown, sizeof shown, c->discovery_url);
    /* a GET: tried again after no answer too, as the API's GETs are */
    if (passing && call->disc_attempt < oc_config_int(c->cfg, OC_P_MAX_ATTEMPTS)) {
        if (rc == OC_OK && (wait = oc_retry_wait_ms(r, c->profile, oc_now_ms())) < 0)
            wait = oc_retry_backoff_ms(r->status, call->disc_attempt, max_wait);
        else if (rc != OC_OK)
            wait = oc_retry_backoff_ms(0, call->disc_attempt, max_wait);
        if (wait <= max_wait && oc_call_retry_fits(call, wait)) {
            oc_logf(c->log, 1, "the discovery document at %s: attempt %d %s; retrying in %lld ms", shown,
                    call->disc_attempt, rc == OC_OK ? "failed" : "got no answer", (long long)wait);
            call->disc_attempt++;
            oc_response_reset(r);
            oc_call_emit_wait(call, wait, fetch);
            return;
        }
    }
    if (rc != OC_OK) {
        e = call->step_err;
        oc_error_prefix(&e, "the discovery document at %s could not be fetched", shown);
        snprintf(e.property, sizeof e.property, "OAuthDiscoveryURL");
    } else {
        rc = oc_discovery_read(c->discovery_url, r->status, r->body.data, r->body.len, oc_now_ms(), &d, &e);
    }
    oc_response_reset(r);
    if (rc == OC_OK) {
        oc_logf(c->log, 1, "read the discovery document at %s (issuer %s)", shown, d.issuer);
        oc_client_adopt_discovery(c, &d);
        cache(call);
        return;
    }
    /* An older document outlives a server that cannot answer now; one the
       server replaced (a 404 after a discovered endpoint's) does not. The
       pause before the next attempt is shared through the cache. */
    if (c->disc.url && passing && !call->rediscovered) {
        oc_client_warn(c, "%s; the document read %lld min ago is used meanwhile", e.message,
                       (long long)((oc_now_ms() - c->disc.fetched_at_ms) / 60000));
        c->disc.next_fetch_ms = oc_now_ms() + REFETCH_PAUSE_MS;
        cache(call);
        return;
    }
    if (e.code == OC_E_NOT_FOUND)
        e.code = OC_E_DISCOVERY;
    call->step_err = e;
    discovered(call, e.code);
}

static void fetch(oc_call *call)
{
    oc_client *c = call->c;
    if (!call->disc_headers) {
        struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
        struct curl_slist *h2 = h ? curl_slist_append(h, OC_USER_AGENT_HEADER) : NULL;
        if (!h2) {
            oc_http_free_headers(h);
            discovered(call, oc_fail_nomem(&call->step_err));
            return;
        }
        call->disc_headers = h2;
    }
    memset(&call->disc_http, 0, sizeof call->disc_http);
    call->disc_http.method = "GET";
    call->disc_http.url = c->discovery_url;
    call->disc_http.headers = call->disc_headers;
    call->disc_http.max_body = OC_DISCOVERY_MAX;
    call->disc_http.timeout_ms = c->timeout_ms > 0 ? (long)c->timeout_ms : 0;
    oc_response_reset(&call->disc_resp);
    oc_call_emit_http(call, &call->disc_http, &call->disc_resp, answered);
}

/* The document the store holds: adopted while fresh, or while another
   process's failed fetch asks for a pause; an older one is kept at hand
   in case the server cannot answer. */
static void cache_loaded(oc_call *call)
{
    oc_client *c = call->c;
    oc_discovery d;
    oc_error e;
    int64_t now = oc_now_ms();
    oc_discovery_init(&d);
    if (call->doc.discovery && oc_discovery_from_cache(call->doc.discovery, c->discovery_url, &d, &e) == OC_OK) {
        int usable = !oc_discovery_stale(&d, now) || now < d.next_fetch_ms;
        if (usable || !c->disc.url || d.fetched_at_ms > c->disc.fetched_at_ms)
            oc_client_adopt_discovery(c, &d);
        oc_discovery_clear(&d);
        if (usable) {
            oc_logf(c->log, 1, "using the discovery document cached in %s", c->store_where);
            discovered(call, OC_OK);
            return;
        }
    }
    call->disc_attempt = 1;
    fetch(call);
}

void oc_call_discover(oc_call *call, oc_cont then)
{
    oc_client *c = call->c;
    call->disc_then = then;
    if (!oc_client_discovery_due(c, oc_now_ms())) {
        discovered(call, OC_OK);
        return;
    }
    /* Under the lock the document was read there, and is not read again
       over what the call may have changed in it. */
    if (c->store && !call->locked)
        oc_call_load(call, cache_loaded);
    else if (c->store)
        cache_loaded(call);
    else {
        call->disc_attempt = 1;
        fetch(call);
    }
}

void oc_call_rediscover(oc_call *call, oc_cont then)
{
    call->rediscovered = 1;
    call->disc_then = then;
    call->disc_attempt = 1;
    oc_logf(call->c->log, 1, "a discovered endpoint answered 404: reading the discovery document again");
    fetch(call);
}

int oc_call_may_rediscover(const oc_call *call, oc_endpoint which, const oc_response *r)
{
    return r->status == 404 && !call->rediscovered && call->c->discovery_url &&
           oc_client_endpoint_discovered(call->c, which);
}
