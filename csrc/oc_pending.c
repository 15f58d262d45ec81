#include "oc_pending.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_mem.h"
#include "oc_settings.h"

typedef struct app_logins {
    char app[65];
    oc_settings doc; /* only its pending logins are used */
    struct app_logins *next;
} app_logins;

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static app_logins *registry;

/* The app's entry, made on first use; NULL when out of memory. Called with
   the mutex held. */
static app_logins *find_app(const char *app, int create)
{
    app_logins *a;
    for (a = registry; a; a = a->next)
        if (strcmp(a->app, app) == 0)
            return a;
    if (!create || !(a = calloc(1, sizeof *a)))
        return NULL;
    snprintf(a->app, sizeof a->app, "%s", app);
    oc_settings_init(&a->doc);
    a->next = registry;
    registry = a;
    return a;
}

oc_code oc_pending_put(const char *app, const char *state, const char *verifier,
                       const char *redirect_uri, int64_t now_ms, oc_error *err)
{
    app_logins *a;
    oc_code rc;
    pthread_mutex_lock(&registry_mutex);
    a = find_app(app, 1);
    rc = a ? oc_settings_add_pending(&a->doc, state, verifier, redirect_uri, now_ms, err)
           : oc_fail_nomem(err);
    pthread_mutex_unlock(&registry_mutex);
    return rc;
}

oc_code oc_pending_take(const char *app, const char *state, const char *redirect_uri,
                        int64_t now_ms, char **verifier, char **redirect, int *found,
                        oc_error *err)
{
    app_logins *a;
    int index = -1;
    oc_code rc = OC_OK;
    *verifier = *redirect = NULL;
    *found = 0;
    pthread_mutex_lock(&registry_mutex);
    if ((a = find_app(app, 0)) != NULL) {
        oc_settings_prune(&a->doc, now_ms);
        if (state)
            index = oc_settings_find_pending(&a->doc, state);
        else if (oc_settings_count_pending(&a->doc, redirect_uri, &index) > 1)
            rc = oc_fail(err, OC_E_CONFLICT, "several logins are pending for %s", redirect_uri);
    }
    if (rc == OC_OK && index >= 0) {
        const oc_pending *p = &a->doc.pending[index];
        *verifier = p->verifier ? oc_strdup(p->verifier) : NULL;
        *redirect = p->redirect_uri ? oc_strdup(p->redirect_uri) : NULL;
        if ((p->verifier && !*verifier) || (p->redirect_uri && !*redirect)) {
            oc_free_secret(*verifier);
            free(*redirect);
            *verifier = *redirect = NULL;
            rc = oc_fail_nomem(err);
        } else {
            *found = 1;
            oc_settings_remove_pending(&a->doc, index);
        }
    }
    pthread_mutex_unlock(&registry_mutex);
    return rc;
}

/* The table goes with the module (lua_close dlcloses it) or the process. */
__attribute__((destructor)) static void registry_drop(void)
{
    app_logins *a, *next;
    pthread_mutex_lock(&registry_mutex);
    for (a = registry; a; a = next) {
        next = a->next;
        oc_settings_clear(&a->doc);
        free(a);
    }
    registry = NULL;
    pthread_mutex_unlock(&registry_mutex);
}
