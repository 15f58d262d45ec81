#include "store_contract.h"

#include <string.h>

#include "oc_test.h"

/* The text a holds now, or NULL (a static buffer). */
static const char *stored(oc_store *s)
{
    static char copy[4096];
    oc_buf text;
    oc_error err;
    int found = 0;
    CHECK_INT(oc_store_load(s, &text, &found, &err), OC_OK);
    if (!found) {
        oc_buf_free(&text);
        return NULL;
    }
    snprintf(copy, sizeof copy, "%.*s", (int)text.len, text.data ? text.data : "");
    oc_buf_free(&text);
    return copy;
}

void store_contract(oc_store *a, oc_store *b)
{
    static const char one[] = "{\"format\":\"x\",\"n\":1}", two[] = "{\"format\":\"x\",\"n\":2}";
    oc_error err;
    CHECK(stored(a) == NULL);
    /* nothing stored: only a save expecting nothing goes in */
    CHECK_INT(oc_store_save(a, one, strlen(one), two, strlen(two), 1, &err), OC_E_CONFLICT);
    CHECK(stored(a) == NULL);
    CHECK_INT(oc_store_save(a, one, strlen(one), NULL, 0, 0, &err), OC_OK);
    CHECK_STR(stored(b), one);
    /* a second writer that also expected nothing is refused */
    CHECK_INT(oc_store_save(b, two, strlen(two), NULL, 0, 0, &err), OC_E_CONFLICT);
    CHECK_CONTAINS(err.message, "changed since it was read");
    /* over what it read, it writes; over a stale read, it does not */
    CHECK_INT(oc_store_save(b, two, strlen(two), one, strlen(one), 1, &err), OC_OK);
    CHECK_INT(oc_store_save(a, one, strlen(one), one, strlen(one), 1, &err), OC_E_CONFLICT);
    CHECK_STR(stored(a), two);
    /* removal compares too */
    CHECK_INT(oc_store_remove(a, one, strlen(one), 1, &err), OC_E_CONFLICT);
    CHECK_STR(stored(a), two);
    CHECK_INT(oc_store_remove(a, two, strlen(two), 1, &err), OC_OK);
    CHECK(stored(b) == NULL);
    /* the lock: one holder at a time, across both views */
    CHECK_INT(oc_store_try_lock(a, &err), OC_OK);
    CHECK_INT(oc_store_try_lock(b, &err), OC_E_LOCK);
    oc_store_unlock(a);
    CHECK_INT(oc_store_try_lock(b, &err), OC_OK);
    CHECK_INT(oc_store_try_lock(a, &err), OC_E_LOCK);
    oc_store_unlock(b);
}
