/*
 * The engine's token work: the first token (properties, the store, a seed
 * replacing what is stored), a newer set in the store, the token request
 * and the save of its answer (refreshes, client-credentials fetches, and
 * the exchanges oc_call_login.c starts), a set a full disk kept in memory.
 *
 * The rules that keep tokens from being lost: a refresh, exchange or login
 * runs under the store's lock and reads the store first (another client or
 * process may have done it already); a rotated refresh token is saved before
 * the new access token is used; a save never writes over a newer set
 * (compare-and-set); a failed refresh leaves the store as it was.
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_login.h"
#include "oc_mem.h"
#include "oc_pending.h"
#include "oc_redact.h"
#include "oc_retry.h"
#include "oc_time.h"
#include "oc_url.h"

static int same_access_token(const oc_token *a, const oc_token *b)
{
    return a->access_token && b->access_token && strcmp(a->access_token, b->access_token) == 0;
}

/* Adopts a copy of the stored set as the client's token; changed: new to
   this program (another process renewed), not loaded at start-up. */
oc_code oc_call_adopt_copy(oc_call *call, const oc_token *stored, int changed)
{
    oc_token t;
    oc_code rc;
    oc_token_init(&t);
    if ((rc = oc_token_copy(&t, stored, &call->err)) == OC_OK)
        rc = oc_client_adopt(call->c, &t, changed, &call->err);
    oc_token_clear(&t);
    return rc;
}

/* ---- the first token ------------------------------------------------------------------- */

static void initial_loaded(oc_call *call);

static void initial_done(oc_call *call)
{
    call->c->loaded = 1;
    call->after_load(call);
}

static void initial_seeded(oc_call *call)
{
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    if (oc_client_adopt(call->c, &call->fresh, 0, &call->err) != OC_OK) {
        oc_call_finish(call, call->err.code);
        return;
    }
    oc_call_unlock(call, initial_done);
}

/* The store read: its set when it descends from the token properties (or
   none were given); else the properties' tokens, which replace it. */
static void initial_loaded(oc_call *call)
{
    oc_client *c = call->c;
    int lineage = 0;
    oc_code rc;
    if ((rc = oc_client_check_stored(c, &call->doc, &lineage, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (call->doc.has_token && lineage) {
        if (oc_call_adopt_copy(call, &call->doc.token, 0) != OC_OK) {
            oc_call_finish(call, call->err.code);
            return;
        }
        oc_call_unlock(call, initial_done);
        return;
    }
    if (!c->seed[0]) {
        c->found = 0;
        oc_call_unlock(call, initial_done);
        return;
    }
    oc_token_clear(&call->fresh);
    if ((rc = oc_client_token_from_properties(c, &call->fresh, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (!call->fresh.access_token) { /* a refresh token alone: the first refresh saves */
        initial_seeded(call);
        return;
    }
    if ((rc = oc_settings_set_token(&call->doc, &call->fresh, &c->meta, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    call->merge = NULL; /* the lock is held: nothing else writes */
    oc_call_save(call, initial_seeded);
}

static void initial_locked(oc_call *call)
{
    oc_call_load(call, initial_loaded);
}

void oc_call_load_initial(oc_call *call, oc_cont then)
{
    oc_client *c = call->c;
    oc_code rc;
    call->after_load = then;
    if (c->loaded) {
        then(call);
        return;
    }
    if (!oc_client_uses_tokens(c)) {
        c->loaded = c->found = 1;
        then(call);
        return;
    }
    if (c->mode == OC_MODE_OFF && c->scheme == OC_SCHEME_OAUTH &&
        oc_config_is_set(c->cfg, OC_P_OAUTH_ACCESS_TOKEN)) {
        oc_token t;
        if ((rc = oc_client_token_from_properties(c, &t, &call->err)) == OC_OK)
            rc = oc_client_adopt(c, &t, 0, &call->err);
        oc_token_clear(&t);
        if (rc != OC_OK) {
            oc_call_finish(call, rc);
            return;
        }
        then(call);
        return;
    }
    /* Token properties may replace what is stored: compare and replace
       under the lock, or a process could write back a spent refresh token
       another one just rotated. */
    if (c->seed[0] && c->store)
        oc_call_lock(call, oc_client_lock_timeout(c, 0), initial_locked);
    else
        oc_call_load(call, initial_loaded);
}

/* ---- a newer token in the store --------------------------------------------------------- */

static void peeked(oc_call *call)
{
    oc_client *c = call->c;
    oc_cont then = call->peek_then;
    int lineage = 0;
    oc_error ignored;
    call->peek_adopted = 0;
    /* A store that cannot be read now is not this request's failure: the
       refresh that may follow reads it under the lock and reports it. */
    if (call->step_rc == OC_OK && oc_client_check_stored(c, &call->doc, &lineage, &ignored) == OC_OK &&
        call->doc.has_token && lineage && call->doc.token.access_token &&
        !same_access_token(&call->doc.token, &c->token)) {
        oc_logf(c->log, 1, "using the token another client or process stored");
        if (oc_call_adopt_copy(call, &call->doc.token, 1) == OC_OK)
            call->peek_adopted = 1;
    }
    then(call);
}

/* The load without failing the call: a LOAD step whose outcome peeked judges. */
static void peek_loaded(oc_call *call)
{
    oc_settings_clear(&call->doc);
    if (call->step_rc == OC_OK) {
        oc_buf_reset(&call->doc_text);
        call->doc_found = call->step_found;
        if (call->step_found && oc_buf_append(&call->doc_text, call->step_text.data,
                                              call->step_text.len) != 0)
            call->step_rc = OC_E_NOMEM;
        else if (call->doc_found &&
                 oc_settings_parse(call->doc_text.data ? call->doc_text.data : "", call->doc_text.len,
                                   call->c->store_where, &call->doc, &call->step_err) != OC_OK)
            call->step_rc = OC_E_SETTINGS;
    }
    peeked(call);
}

void oc_call_peek(oc_call *call, oc_cont then)
{
    oc_client *c = call->c;
    call->peek_then = then;
    call->peek_adopted = 0;
    if (!c->store || c->unsaved || c->lock_owner) { /* a refresh in this client is under way */
        then(call);
        return;
    }
    memset(&call->out, 0, sizeof call->out);
    call->out.kind = OC_STEP_STORE;
    call->out.op = OC_STORE_LOAD;
    call->has_out = 1;
    call->then = peek_loaded;
}

/* ---- the token request (refresh, client credentials, code exchange) ---------------------- */

static void token_answered(oc_call *call);

void oc_call_send_token_request(oc_call *call)
{
    oc_call_send_tr(call, token_answered);
}

/* What the user can do about a failed token request, said where the answer
   is known: advice in the message, the property at fault. */
static void advise(oc_call *call, oc_code rc, int sent)
{
    const oc_client *c = call->c;
    const char *oauth_error = call->err.oauth_error;
    int refreshing = call->kind != KIND_EXCHANGE && call->kind != KIND_LOGIN && c->scheme == OC_SCHEME_OAUTH;
    if (refreshing && strcmp(oauth_error, "invalid_grant") == 0)
        oc_error_append(&call->err, "; the refresh token is no longer accepted: log in again");
    else if (refreshing && strcmp(oauth_error, "invalid_request") == 0)
        oc_error_append(&call->err,
                        "; if the refresh token is what it refuses (Keap says so this way), log in again");
    else if (refreshing && sent && (rc == OC_E_TIMEOUT || rc == OC_E_NETWORK))
        /* a single-use refresh token the server received may be spent */
        oc_error_append(&call->err, "; the server may have taken the refresh token: if the next "
                                    "refresh is refused, log in again");
    if (strcmp(oauth_error, "invalid_client") == 0)
        snprintf(call->err.property, sizeof call->err.property, "%s",
                 c->flow.client_secret && *c->flow.client_secret ? "OAuthClientSecret" : "OAuthClientId");
    else if (strcmp(oauth_error, "unauthorized_client") == 0)
        snprintf(call->err.property, sizeof call->err.property, "%s", "OAuthClientId");
}

static int is_exchange(const oc_call *call)
{
    return call->kind == KIND_EXCHANGE || call->kind == KIND_LOGIN || call->exchanging;
}

/* ---- refreshing --------------------------------------------------------------------------- */

static int is_token_user(const oc_call *call)
{
    return call->kind == KIND_API || call->kind == KIND_TOKEN || call->kind == KIND_REJECTED;
}

static void acquired(oc_call *call)
{
    call->after_acquire(call);
}

/*
 * A failed refresh. With nothing else to go on it is the call's error; but
 * a refresh that was only due (the token still works) does not fail the
 * request on a network blip.
 */
static void acquire_failed(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc = call->err.code;
    if (is_token_user(call) && call->why == WHY_DUE && oc_client_can_outlive(c, rc, oc_now_ms())) {
        oc_error_clear(&call->err);
        oc_call_unlock(call, acquired);
        return;
    }
    if (call->kind == KIND_API && call->why == WHY_REJECTED) {
        char what[480];
        oc_describe_request(what, sizeof what, call->http.method, call->http.url);
        oc_error_prefix(&call->err, "%s was rejected with HTTP 401 and", what);
    }
    oc_call_finish(call, rc);
}

static void acquire_fail_with(oc_call *call, const oc_error *e)
{
    if (e != &call->err)
        call->err = *e;
    acquire_failed(call);
}

/* A save that conflicted: the refresh's change goes on top of a newer
   document when that one still holds the refresh token this refresh used
   (only other members changed, a pending login say). */
static int merge_refresh(oc_call *call, oc_settings *fresh)
{
    const char *was = call->base.refresh_token, *now = fresh->token.refresh_token;
    if (!fresh->has_token || !was || !now || strcmp(was, now) != 0)
        return 0;
    return oc_settings_set_token(fresh, &call->fresh, &call->c->meta, NULL) == OC_OK;
}

/* An exchange's set replaces whatever is stored; its pending login goes. */
static int merge_exchange(oc_call *call, oc_settings *fresh)
{
    if (call->pending_key[0]) {
        size_t i;
        for (i = 0; i < fresh->npending; i++)
            if (strcmp(fresh->pending[i].key, call->pending_key) == 0) {
                oc_settings_remove_pending(fresh, (int)i);
                break;
            }
    }
    return oc_settings_set_token(fresh, &call->fresh, &call->c->meta, NULL) == OC_OK;
}

static void token_saved(oc_call *call);
static void token_done(oc_call *call);

/* The new set goes to the store before anything uses it. */
void oc_call_store_fresh(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc;
    if ((rc = oc_settings_set_token(&call->doc, &call->fresh, &c->meta, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    if (is_exchange(call) && call->pending_index >= 0) {
        snprintf(call->pending_key, sizeof call->pending_key, "%s", call->doc.pending[call->pending_index].key);
        oc_settings_remove_pending(&call->doc, call->pending_index);
        call->pending_index = -1;
    }
    oc_settings_prune(&call->doc, oc_now_ms());
    call->merge = is_exchange(call) ? merge_exchange : merge_refresh;
    oc_call_save(call, token_saved);
}

/* A refresh answer refused for its shape (a scope of another type, a token
   type this client cannot use...) after the server rotated the refresh
   token: the old one is spent, so the new one is stored beside the current
   access token rather than lost with the answer. The call still fails. */
static int salvage_rotated(oc_call *call, const oc_response *r)
{
    oc_token kept;
    oc_token_init(&kept);
    if (oc_token_salvage_refresh(r->body.data ? r->body.data : "", r->body.len, &call->base, &kept) != OC_OK)
        return 0;
    oc_log_secret(call->c->log, kept.refresh_token);
    oc_token_clear(&call->fresh);
    oc_token_move(&call->fresh, &kept);
    call->salvage_err = call->err;
    call->salvaging = 1;
    return 1;
}

/* The token endpoint was looked up again after its 404: the request goes
   to where it moved, or the 404 stands. */
static void token_rediscovered(oc_call *call)
{
    oc_client *c = call->c;
    char *moved;
    if (call->step_rc == OC_OK && oc_client_oauth_endpoint(c, OC_EP_TOKEN, NULL) == OC_OK &&
        strcmp(c->flow.token_url, call->tr.url) != 0 && (moved = oc_strdup(c->flow.token_url)) != NULL) {
        free(call->tr.url);
        call->tr.url = moved;
        oc_response_reset(&call->token_resp);
        oc_call_send_token_request(call);
        return;
    }
    call->step_rc = OC_OK; /* the 404 itself is the answer */
    call->step_sent = 1;
    token_answered(call);
}

static void token_answered(oc_call *call)
{
    oc_client *c = call->c;
    int64_t max_attempts = oc_config_int(c->cfg, OC_P_MAX_ATTEMPTS);
    int64_t max_wait = oc_config_int(c->cfg, OC_P_RETRY_MAX_WAIT) * 1000, wait = -1;
    oc_response *r = &call->token_resp;
    const oc_token *previous = is_exchange(call) ? NULL : &call->base;
    oc_code rc = call->step_rc;

    if (rc == OC_OK && oc_call_may_rediscover(call, OC_EP_TOKEN, r)) {
        oc_call_rediscover(call, token_rediscovered);
        return;
    }

    if (call->token_attempt < max_attempts) {
        if (rc == OC_E_NETWORK && !call->step_sent)
            wait = oc_retry_backoff_ms(0, call->token_attempt, max_wait);
        else if (rc == OC_OK && r->status == 429 &&
                 (wait = oc_retry_wait_ms(r, c->profile, oc_now_ms())) < 0)
            wait = oc_retry_backoff_ms(429, call->token_attempt, max_wait);
        if (wait >= 0 && wait <= max_wait && oc_call_retry_fits(call, wait)) {
            oc_logf(c->log, 1, "%s: attempt %d %s; retrying in %lld ms", call->token_what,
                    call->token_attempt, rc == OC_OK ? "was rate limited" : "could not connect",
                    (long long)wait);
            call->token_attempt++;
            oc_call_emit_wait(call, wait, oc_call_send_token_request);
            return;
        }
    }
    if (rc != OC_OK) {
        call->err = call->step_err;
        oc_error_prefix(&call->err, "%s failed", call->token_what);
    } else {
        oc_secrets known; /* the server's words are redacted before they are cut */
        oc_token_clear(&call->fresh);
        oc_client_secrets(c, &call->base, &known);
        rc = oc_oauth_token_result(call->token_what, call->tr.url, r->status,
                                   oc_response_header(r, "content-type"), r->body.data ? r->body.data : "",
                                   r->body.len, oc_now_ms(), previous, &known, &call->fresh, &call->err);
        oc_secrets_free(&known);
        if (rc != OC_OK && previous && r->status >= 200 && r->status < 300 && salvage_rotated(call, r)) {
            oc_wipe(r->body.data, r->body.len);
            oc_response_reset(r);
            oc_call_store_fresh(call);
            return;
        }
    }
    /* The answer held tokens: do not keep them in the reused buffer. */
    oc_wipe(r->body.data, r->body.len);
    oc_response_reset(r);
    if (rc != OC_OK && oc_call_switch_client_auth(call, call->token_what)) {
        oc_call_send_token_request(call);
        return;
    }
    if (rc == OC_OK) /* a switched way is this server's, for the client's next requests */
        oc_call_auth_worked(call);
    if (rc != OC_OK) {
        oc_logf(c->log, 1, "%s", call->err.message);
        advise(call, rc, call->step_sent);
        if (!is_exchange(call) && c->scheme == OC_SCHEME_OAUTH && call->base.refresh_token &&
            strcmp(call->err.oauth_error, "invalid_grant") == 0) {
            oc_sha256_hex(call->base.refresh_token, strlen(call->base.refresh_token), c->spent_refresh);
            c->spent_err = call->err;
            oc_error_prefix(&c->spent_err, "the refresh token was refused before and is not sent again");
        }
        if (is_exchange(call)) {
            oc_call_finish(call, rc);
        } else {
            c->failed_refreshes++;
            c->failed_refresh_err = call->err;
            acquire_failed(call);
        }
        return;
    }
    oc_log_secret(c->log, call->fresh.access_token);
    oc_log_secret(c->log, call->fresh.refresh_token);
    oc_call_store_fresh(call);
}

/* After the save: the set is adopted (or, when it could not be saved,
   what the store's kind allows). */
static void token_saved(oc_call *call)
{
    oc_client *c = call->c;
    oc_code rc = call->step_rc;
    if (rc != OC_OK) {
        call->err = call->step_err;
        if (rc == OC_E_CONFLICT && call->doc.has_token) {
            /* A newer set is stored (another writer, its lease run out):
               the store's is the connection's truth; this answer is dropped. */
            oc_logf(c->log, 1, "%s", call->err.message);
            if (oc_call_adopt_copy(call, &call->doc.token, 1) != OC_OK) {
                oc_call_finish(call, call->err.code);
                return;
            }
            oc_error_clear(&call->err);
            token_done(call);
            return;
        }
        if (c->store && c->store->strict) {
            /* A shared store: a set only this process knows would fork the
               connection between machines; it is dropped, and the error says so. */
            oc_error_prefix(&call->err, "%s", is_exchange(call)
                                                  ? "the code was exchanged but the tokens could not be saved, so they are not used"
                                                  : "the token was renewed but could not be saved, so it is not used");
            oc_call_finish(call, rc);
            return;
        }
        /* A file that cannot be written (a full disk, a read-only
           directory): the grant is spent and the new set exists only here.
           Failing would drop it and break the connection for good; it is
           used, said loudly, and saved before each later request until the
           store takes it. */
        oc_error_prefix(&call->err, "%s", is_exchange(call) ? "the code was exchanged but the tokens could not be saved"
                                                            : "the token was renewed but could not be saved");
        if (call->base.refresh_token)
            oc_sha256_hex(call->base.refresh_token, strlen(call->base.refresh_token), c->unsaved_over);
        else
            c->unsaved_over[0] = '\0';
        if (oc_client_adopt(c, &call->fresh, 1, NULL) != OC_OK) {
            oc_call_finish(call, rc);
            return;
        }
        c->unsaved = 1;
        c->own_generation = c->generation;
        oc_client_warn(c, "%s; it is kept in memory and saving is retried before each request",
                       call->err.message);
        oc_error_clear(&call->err);
        token_done(call);
        return;
    }
    if (is_exchange(call))
        oc_logf(c->log, 1, "%s gave tokens%s%s", call->token_what ? call->token_what : "the login",
                c->store ? "; stored in " : "", c->store ? c->store_where : "");
    c->unsaved = 0;
    if ((rc = oc_client_adopt(c, &call->fresh, 1, &call->err)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    c->own_generation = c->generation;
    if (!is_exchange(call))
        call->refreshed = 1;
    token_done(call);
}

static void token_done(oc_call *call)
{
    if (call->salvaging) { /* the refused answer's new refresh token is kept; the call fails */
        call->salvaging = 0;
        call->err = call->salvage_err;
        oc_error_append(&call->err, "; the new refresh token in that answer was kept");
        if (!is_exchange(call)) {
            call->c->failed_refreshes++;
            call->c->failed_refresh_err = call->err;
        }
        acquire_failed(call);
        return;
    }
    if (is_exchange(call))
        oc_call_unlock(call, call->after_exchange);
    else
        oc_call_unlock(call, acquired);
}

/* Under the lock, with room for the answer: the request, to the token
   endpoint (read from the discovery document first when it is due). */
static void acquire_discovered(oc_call *call)
{
    oc_client *c = call->c;
    char shown[400];
    oc_code rc;
    if (call->step_rc != OC_OK) {
        call->err = call->step_err;
        acquire_failed(call);
        return;
    }
    if (oc_client_oauth_endpoint(c, OC_EP_TOKEN, &call->err) != OC_OK) {
        acquire_failed(call);
        return;
    }
    oc_token_request_free(&call->tr);
    oc_url_shown(shown, sizeof shown, c->flow.token_url);
    if (c->scheme == OC_SCHEME_OAUTH_CLIENT) {
        oc_logf(c->log, 1, "requesting a token (client credentials) from %s", shown);
        call->token_what = "the client-credentials token request";
        rc = oc_oauth_client_credentials_request(&c->flow, &call->tr, &call->err);
    } else {
        oc_logf(c->log, 1, "refreshing the token at %s", shown);
        call->token_what = "the token refresh";
        rc = oc_oauth_refresh_request(&c->flow, call->base.refresh_token, &call->tr, &call->err);
    }
    if (rc != OC_OK) {
        acquire_failed(call);
        return;
    }
    call->token_attempt = 1;
    oc_call_send_token_request(call);
}

static void acquire_reserved(oc_call *call)
{
    if (call->step_rc != OC_OK) {
        call->err = call->step_err;
        oc_error_prefix(&call->err, "the token was not refreshed, for its answer could not be kept");
        acquire_failed(call);
        return;
    }
    oc_call_discover(call, acquire_discovered);
}

/* Another call of this client renewed while this one waited its turn. */
static int renewed_meanwhile(oc_call *call)
{
    oc_client *c = call->c;
    return c->token.access_token &&
           (call->rejected ? strcmp(c->token.access_token, call->rejected) != 0
                           : call->why == WHY_DUE && !oc_token_due(&c->token, oc_now_ms(), c->leeway_s));
}

/*
 * Single flight: under the lock, the store read again; if another client
 * or process already renewed (the stored access token is not the one seen
 * rejected, or is no longer due), it is adopted and nothing is sent.
 * Otherwise the renewal starts from the newest stored refresh token.
 */
static void acquire_loaded(oc_call *call)
{
    oc_client *c = call->c;
    int lineage = 0;
    oc_code rc;

    oc_token_clear(&call->base);
    call->found = 0;
    if (c->store && !c->unsaved) {
        if ((rc = oc_client_check_stored(c, &call->doc, &lineage, &call->err)) != OC_OK) {
            acquire_failed(call);
            return;
        }
        if (call->doc.has_token && lineage) {
            call->found = 1;
            if ((rc = oc_token_copy(&call->base, &call->doc.token, &call->err)) != OC_OK) {
                acquire_failed(call);
                return;
            }
        }
        if (call->found && call->base.access_token &&
            (call->rejected ? strcmp(call->base.access_token, call->rejected) != 0
                            : !same_access_token(&call->base, &c->token) &&
                                  !oc_token_due(&call->base, oc_now_ms(), c->leeway_s))) {
            oc_logf(c->log, 1, "using the token another client or process just renewed");
            if (oc_call_adopt_copy(call, &call->base, 1) != OC_OK)
                acquire_failed(call);
            else
                oc_call_unlock(call, acquired);
            return;
        }
    }
    if (renewed_meanwhile(call)) {
        oc_call_unlock(call, acquired);
        return;
    }
    if (!call->found && (rc = oc_token_copy(&call->base, &c->token, &call->err)) != OC_OK) {
        acquire_failed(call);
        return;
    }
    if (c->scheme == OC_SCHEME_OAUTH && !call->base.refresh_token) {
        oc_fail(&call->err, OC_E_NO_TOKEN,
                "the %s access token %s and there is no refresh token to renew it; log in again",
                oc_client_title(c), call->rejected ? "was rejected" : "expired");
        acquire_failed(call);
        return;
    }
    /* A refresh token the server called invalid is not sent again: it will
       not become valid, and servers count (and may lock out) replays. A
       newer one another process stored has been read above. */
    if (c->scheme == OC_SCHEME_OAUTH && c->spent_refresh[0]) {
        char hex[65];
        oc_sha256_hex(call->base.refresh_token, strlen(call->base.refresh_token), hex);
        if (strcmp(hex, c->spent_refresh) == 0) {
            acquire_fail_with(call, &c->spent_err);
            return;
        }
    }
    /* A refresh of this client failed while this call waited its turn (in
       OpenResty, every request of the worker queues behind one): it shares
       that answer instead of asking again, or an unavailable token endpoint
       would get one refresh per queued request. Later calls do ask. */
    if (call->failed_refreshes != c->failed_refreshes) {
        call->err = c->failed_refresh_err;
        oc_error_append(&call->err, " (the refresh this request waited for)");
        acquire_failed(call);
        return;
    }
    /* The answer must have somewhere to go before the question is asked: a
       rotated refresh token that cannot be saved dies with a short-lived
       process (a full disk, cron). Not refreshed, the old one still works. */
    if (c->scheme == OC_SCHEME_OAUTH && c->store && !c->unsaved) {
        oc_call_reserve(call, acquire_reserved);
        return;
    }
    call->step_rc = OC_OK;
    acquire_reserved(call);
}

static void acquire_locked(oc_call *call)
{
    if (call->c->store && !call->c->unsaved)
        oc_call_load(call, acquire_loaded);
    else
        acquire_loaded(call);
}

void oc_call_acquire(oc_call *call, refresh_why why, const char *rejected, oc_cont then)
{
    oc_client *c = call->c;
    call->why = why;
    call->after_acquire = then;
    oc_free_secret(call->rejected);
    call->rejected = rejected ? oc_strdup(rejected) : NULL;
    if (rejected && !call->rejected) {
        oc_call_finish(call, oc_fail_nomem(&call->err));
        return;
    }
    if (!oc_client_uses_tokens(c)) {
        oc_call_finish(call, oc_fail(&call->err, OC_E_UNSUPPORTED, "AuthScheme=%s uses no OAuth token",
                                     oc_config_get(c->cfg, OC_P_AUTH_SCHEME)));
        return;
    }
    if (c->scheme == OC_SCHEME_OAUTH && !c->profile->refreshable) {
        oc_call_finish(call, oc_fail(&call->err, OC_E_NO_TOKEN,
                                     "%s tokens cannot be refreshed; the app must be authorized "
                                     "(installed) again",
                                     oc_client_title(c)));
        return;
    }
    call->failed_refreshes = c->failed_refreshes;
    /* a lock the store cannot give (Redis down, another holder for too
       long) is a failed refresh: a token still valid serves (acquire_failed) */
    oc_call_lock_unless(call, oc_client_lock_timeout(c, 0), acquire_locked, renewed_meanwhile, acquired,
                        acquire_failed);
}

/* ---- a set a full disk kept in memory --------------------------------------------------- */

static void resaved(oc_call *call)
{
    oc_client *c = call->c;
    if (call->step_rc == OC_OK) {
        c->unsaved = 0;
        oc_logf(c->log, 1, "the renewed token is saved now in %s", c->store_where);
    }
    oc_call_unlock(call, call->after_resave);
}

/* Under the lock: the set in memory is saved when the store still holds the
   one it replaced; a store that moved on (another process renewed) wins. */
static void resave_loaded(oc_call *call)
{
    oc_client *c = call->c;
    char hex[65] = "";
    if (call->doc.has_token && call->doc.token.refresh_token)
        oc_sha256_hex(call->doc.token.refresh_token, strlen(call->doc.token.refresh_token), hex);
    if (call->doc.has_token && strcmp(hex, c->unsaved_over) != 0) {
        int lineage = 0;
        oc_error ignored;
        if (oc_client_check_stored(c, &call->doc, &lineage, &ignored) == OC_OK && lineage &&
            oc_call_adopt_copy(call, &call->doc.token, 1) == OC_OK)
            c->unsaved = 0;
        oc_call_unlock(call, call->after_resave);
        return;
    }
    if (oc_settings_set_token(&call->doc, &c->token, &c->meta, &call->err) != OC_OK) {
        oc_call_unlock(call, call->after_resave);
        return;
    }
    call->merge = NULL;
    oc_call_save(call, resaved);
}

static void resave_locked(oc_call *call)
{
    oc_call_load(call, resave_loaded);
}

/* Tries the store again for a set it could not take; never fails the call. */
void oc_call_resave(oc_call *call, oc_cont then)
{
    call->after_resave = then;
    oc_call_lock(call, oc_client_lock_timeout(call->c, 0), resave_locked);
}
