/*
 * The engine's store steps: the lock (one call of a client at a time, then
 * the store's own, with the waits as WAIT steps so no driver blocks), the
 * document read into call->doc, and compare-and-set saves that, when
 * another writer changed the document meanwhile, read it again and re-apply
 * this call's change (call->merge) instead of writing over it.
 */
#include "oc_call_internal.h"

#include <string.h>

#include "oc_mem.h"
#include "oc_time.h"

enum { MAX_SAVE_CONFLICTS = 5 };


/* ---- reading --------------------------------------------------------------------------- */

/* The text read becomes call->doc (and doc_text, the next save's expected). */
static oc_code take_loaded(oc_call *call, oc_settings *into, oc_buf *text, int *found)
{
    oc_code rc;
    oc_buf_reset(text);
    *found = call->step_found;
    if (call->step_found && oc_buf_append(text, call->step_text.data ? call->step_text.data : "",
                                          call->step_text.len) != 0)
        return oc_fail_nomem(&call->err);
    if (!call->step_found) {
        oc_settings_clear(into);
        return OC_OK;
    }
    rc = oc_settings_parse(text->data ? text->data : "", text->len, call->c->store_where, into, &call->err);
    if (rc != OC_OK)
        snprintf(call->err.property, sizeof call->err.property, "OAuthSettingsLocation");
    return rc;
}

static void loaded(oc_call *call)
{
    oc_cont then = call->load_then;
    oc_code rc;
    if (call->step_rc != OC_OK) {
        oc_call_fail(call, &call->step_err);
        return;
    }
    if ((rc = take_loaded(call, &call->doc, &call->doc_text, &call->doc_found)) != OC_OK) {
        oc_call_finish(call, rc);
        return;
    }
    then(call);
}

void oc_call_load(oc_call *call, oc_cont then)
{
    if (!call->c->store) {
        oc_settings_clear(&call->doc);
        oc_buf_reset(&call->doc_text);
        call->doc_found = 0;
        then(call);
        return;
    }
    call->load_then = then;
    oc_call_emit_store(call, OC_STORE_LOAD, loaded);
}

/* ---- writing --------------------------------------------------------------------------- */

static void save_again(oc_call *call);

static void saved(oc_call *call)
{
    if (call->step_rc == OC_OK) {
        /* what the store holds now: the next save's expected text */
        oc_buf_reset(&call->doc_text);
        if (oc_buf_append(&call->doc_text, call->save_text.data, call->save_text.len) != 0)
            call->step_rc = oc_fail_nomem(&call->step_err);
        call->doc_found = 1;
    } else if (call->step_rc == OC_E_CONFLICT && call->merge &&
               ++call->save_conflicts <= MAX_SAVE_CONFLICTS) {
        oc_call_emit_store(call, OC_STORE_LOAD, save_again);
        return;
    }
    call->save_then(call);
}

static void emit_save(oc_call *call)
{
    char *text;
    size_t len = 0;
    oc_buf_reset(&call->save_text);
    if (!(text = oc_settings_dump(&call->doc, &len)) ||
        oc_buf_append(&call->save_text, text, len) != 0) {
        oc_free_secret(text);
        call->step_rc = oc_fail_nomem(&call->step_err);
        call->save_then(call);
        return;
    }
    oc_free_secret(text);
    oc_call_emit_store(call, OC_STORE_SAVE, saved);
    call->out.text = call->save_text.data;
    call->out.text_len = call->save_text.len;
    call->out.expected = call->doc_text.data ? call->doc_text.data : "";
    call->out.expected_len = call->doc_text.len;
    call->out.expected_found = call->doc_found;
}

/* The document changed under the save: read it, and save this call's
   change on top of it when merge can (else the conflict is the outcome). */
static void save_again(oc_call *call)
{
    oc_settings fresh;
    oc_code rc;
    if (call->step_rc != OC_OK) {
        call->save_then(call);
        return;
    }
    oc_settings_init(&fresh);
    if ((rc = take_loaded(call, &fresh, &call->doc_text, &call->doc_found)) != OC_OK) {
        call->step_rc = rc;
        call->step_err = call->err;
        oc_settings_clear(&fresh);
        call->save_then(call);
        return;
    }
    if (!call->merge(call, &fresh)) {
        oc_settings_clear(&fresh);
        call->step_rc = oc_fail(&call->step_err, OC_E_CONFLICT,
                                "%s holds a newer token set than the one this refresh started from; "
                                "the older one is not written over it",
                                call->c->store_where);
        call->save_then(call);
        return;
    }
    oc_settings_clear(&call->doc);
    call->doc = fresh; /* moved: fresh is not cleared */
    emit_save(call);
}

void oc_call_save(oc_call *call, oc_cont then)
{
    call->save_then = then;
    call->save_conflicts = 0;
    if (!call->c->store) {
        call->step_rc = OC_OK;
        then(call);
        return;
    }
    emit_save(call);
}

static void removed(oc_call *call)
{
    if (call->step_rc == OC_OK) {
        oc_buf_reset(&call->doc_text);
        call->doc_found = 0;
    }
    call->save_then(call);
}

void oc_call_remove(oc_call *call, oc_cont then)
{
    call->save_then = then;
    if (!call->c->store) {
        call->step_rc = OC_OK;
        then(call);
        return;
    }
    oc_call_emit_store(call, OC_STORE_REMOVE, removed);
    call->out.expected = call->doc_text.data ? call->doc_text.data : "";
    call->out.expected_len = call->doc_text.len;
    call->out.expected_found = call->doc_found;
}

/* Room made for a token set before asking for one: sets are 1 to 4 KB. */
enum { OC_TOKEN_SET_RESERVE = 16 * 1024 };

void oc_call_reserve(oc_call *call, oc_cont then)
{
    if (!call->c->store) {
        call->step_rc = OC_OK;
        then(call);
        return;
    }
    oc_call_emit_store(call, OC_STORE_RESERVE, then);
    call->out.reserve_bytes = OC_TOKEN_SET_RESERVE;
}
