/*
 * The engine's logout: under the store's lock the stored set is read,
 * revoked at the server when asked (oc_call_revoke.c) and removed whatever
 * the server answered.
 */
#include "oc_call_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logout ------------------------------------------------------------------------------- */

/* After the removal: the revocation's outcome is the call's. */
static void forget_finish(oc_call *call)
{
    oc_client *c = call->c;
    const char *where = c->store_where ? c->store_where : "this client";
    if (call->revoke_unsupported) {
        if (c->discovery_url && c->disc.url)
            oc_fail_property(&call->err, OC_E_UNSUPPORTED, "OAuthRevocationURL",
                             "the tokens were removed from %s, but the discovery document names no "
                             "revocation_endpoint (set OAuthRevocationURL), so the server was not asked "
                             "to revoke them",
                             where);
        else
            oc_fail_property(&call->err, OC_E_UNSUPPORTED, "OAuthRevocationURL",
                             "the tokens were removed from %s, but %s names no revocation endpoint (set "
                             "OAuthRevocationURL or OAuthDiscoveryURL), so the server was not asked to "
                             "revoke them",
                             where, oc_client_title(c));
        oc_call_finish(call, OC_E_UNSUPPORTED);
        return;
    }
    if (call->revoke_rc != OC_OK) {
        call->err = call->revoke_err;
        oc_error_prefix(&call->err, call->revoke_not_asked
                                        ? "the tokens were removed from %s, but the server was not asked "
                                          "to revoke them; they stay valid there until they expire"
                                        : "the tokens were removed from %s, but the server did not confirm "
                                          "their revocation; they stay valid there until they expire",
                        where);
        call->err.code = OC_E_REVOCATION;
        oc_call_finish(call, OC_E_REVOCATION);
        return;
    }
    oc_call_finish(call, OC_OK);
}

static void forgotten(oc_call *call)
{
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    oc_token_clear(&call->c->token);
    call->c->token_hash[0] = '\0';
    call->c->loaded = call->c->found = 0;
    oc_client_free_auth_headers(call->c);
    oc_call_unlock(call, forget_finish);
}

/* The removal, after any revocation: whatever the server answered, the
   set is not kept (a logout that leaves tokens behind is not one). */
static void forget_remove(oc_call *call)
{
    if (!call->c->store) {
        call->step_rc = OC_OK;
        forgotten(call);
        return;
    }
    if (!call->doc_found) {
        oc_call_unlock(call, forget_finish);
        return;
    }
    oc_call_remove(call, forgotten);
}

/* Under the lock, with the store read and the discovery document when it
   is due: the set this client would use (the store's, or its own without a
   store) is revoked first when asked. A document that cannot be had leaves
   the server unasked, and the set is removed all the same. */
static void forget_discovered(oc_call *call)
{
    oc_client *c = call->c;
    const oc_token *t = NULL;
    int lineage = 0;
    if (call->step_rc != OC_OK) {
        call->revoke_rc = call->step_err.code;
        call->revoke_err = call->step_err;
        call->revoke_not_asked = 1;
        call->revoke = 0;
    }
    if (call->revoke) {
        if (!c->store)
            t = c->token.access_token || c->token.refresh_token ? &c->token : NULL;
        else if (call->doc.has_token && oc_client_check_stored(c, &call->doc, &lineage, NULL) == OC_OK)
            t = &call->doc.token;
        if (t && oc_client_oauth_endpoint(c, OC_EP_REVOKE, NULL) != OC_OK) {
            call->revoke_unsupported = 1;
            t = NULL;
        }
    }
    if (t) {
        oc_call_revoke_token(call, t, forget_remove);
        return;
    }
    forget_remove(call);
}

static void forget_loaded(oc_call *call)
{
    call->step_rc = OC_OK;
    if (call->revoke && oc_client_uses_tokens(call->c) && (call->doc.has_token || !call->c->store))
        oc_call_discover(call, forget_discovered);
    else
        forget_discovered(call);
}

static void forget_locked(oc_call *call)
{
    oc_call_load(call, forget_loaded);
}

static void forget_start(oc_call *call)
{
    oc_call_lock(call, oc_client_lock_timeout(call->c, 0), forget_locked);
}

oc_code oc_call_forget(oc_client *c, int revoke, oc_call **out, oc_error *err)
{
    oc_call *call = oc_call_new(c, KIND_FORGET, err);
    *out = call;
    if (!call)
        return err ? err->code : OC_E_NOMEM;
    call->revoke = revoke;
    call->then = forget_start;
    return OC_OK;
}
