#include "oc_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_time.h"

oc_code oc_store_init(oc_store *s, const oc_store_ops *ops, const char *where, oc_error *err)
{
    s->ops = ops;
    s->refs = 1;
    s->where = oc_strdup(where);
    return s->where ? OC_OK : oc_fail_nomem(err);
}

oc_store *oc_store_retain(oc_store *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

void oc_store_release(oc_store *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        char *where = s->where;
        s->ops->destroy(s);
        free(where);
    }
}

/* A store that cannot be used is OAuthSettingsLocation's fault as far as
   the caller can act on it: err.property says so, for every backend. (A
   backend names another property only with OC_E_BAD_VALUE, and err may
   arrive uncleared, so nothing of it is read here.) */
static oc_code blame_location(oc_code rc, oc_error *err)
{
    if (rc != OC_OK && err && (rc == OC_E_SETTINGS || rc == OC_E_LOCK || rc == OC_E_IO))
        snprintf(err->property, sizeof err->property, "OAuthSettingsLocation");
    return rc;
}

oc_code oc_store_load(oc_store *s, oc_buf *text, int *found, oc_error *err)
{
    oc_buf_init_secret(text, 0);
    *found = 0;
    return blame_location(s->ops->load(s, text, found, err), err);
}

oc_code oc_store_save(oc_store *s, const char *text, size_t len, const char *expected, size_t elen,
                      int expected_found, oc_error *err)
{
    return blame_location(s->ops->save(s, text, len, expected, elen, expected_found, err), err);
}

oc_code oc_store_remove(oc_store *s, const char *expected, size_t elen, int expected_found,
                        oc_error *err)
{
    return blame_location(s->ops->remove(s, expected, elen, expected_found, err), err);
}

oc_code oc_store_reserve(oc_store *s, size_t bytes, oc_error *err)
{
    return s->ops->reserve ? blame_location(s->ops->reserve(s, bytes, err), err) : OC_OK;
}

oc_code oc_store_try_lock(oc_store *s, oc_error *err)
{
    return blame_location(s->ops->lock(s, err), err);
}

oc_code oc_store_lock_wait(oc_store *s, int64_t timeout_ms, oc_error *err)
{
    int64_t deadline = oc_monotonic_ms() + timeout_ms, pause = 1;
    oc_code rc;
    while ((rc = oc_store_try_lock(s, err)) == OC_E_LOCK) {
        if (oc_monotonic_ms() >= deadline)
            return oc_fail(err, OC_E_LOCK,
                           "timed out after %lld ms waiting for the lock on %s (another process is "
                           "refreshing or logging in)",
                           (long long)timeout_ms, s->where);
        oc_sleep_ms(pause);
        pause = pause < 16 ? pause * 2 : 16;
    }
    return rc;
}

void oc_store_unlock(oc_store *s)
{
    s->ops->unlock(s);
}

const char *oc_store_where(const oc_store *s)
{
    return s->where;
}

/* ---- the in-process store ------------------------------------------------ */

typedef struct memory_store {
    oc_store base;
    pthread_mutex_t mutex; /* guards the fields below */
    int found;
    oc_buf text;
    int locked;
    /* In the process-wide registry (oc_store_memory_open) only: */
    char *name;
    struct memory_store *next;
} memory_store;

static oc_code memory_load(oc_store *s, oc_buf *text, int *found, oc_error *err)
{
    memory_store *m = (memory_store *)s;
    oc_code rc = OC_OK;
    pthread_mutex_lock(&m->mutex);
    *found = m->found;
    if (m->found && oc_buf_append(text, m->text.data ? m->text.data : "", m->text.len) != 0)
        rc = oc_fail_nomem(err);
    pthread_mutex_unlock(&m->mutex);
    return rc;
}

/* Whether the stored text is `expected` (expected_found 0: nothing stored).
   Called with the mutex held. */
static int memory_holds(const memory_store *m, const char *expected, size_t elen, int expected_found)
{
    if (!expected_found)
        return !m->found;
    return m->found && m->text.len == elen && memcmp(m->text.data ? m->text.data : "", expected, elen) == 0;
}

static oc_code conflict(const oc_store *s, oc_error *err)
{
    return oc_fail(err, OC_E_CONFLICT, "%s changed since it was read; nothing was written over it",
                   s->where);
}

static oc_code memory_save(oc_store *s, const char *text, size_t len, const char *expected,
                           size_t elen, int expected_found, oc_error *err)
{
    memory_store *m = (memory_store *)s;
    oc_buf copy;
    oc_buf_init_secret(&copy, 0);
    if (oc_buf_append(&copy, text, len) != 0)
        return oc_fail_nomem(err);
    pthread_mutex_lock(&m->mutex);
    if (!memory_holds(m, expected, elen, expected_found)) {
        pthread_mutex_unlock(&m->mutex);
        oc_buf_free(&copy);
        return conflict(s, err);
    }
    oc_buf_free(&m->text);
    m->text = copy;
    m->found = 1;
    pthread_mutex_unlock(&m->mutex);
    return OC_OK;
}

static oc_code memory_remove(oc_store *s, const char *expected, size_t elen, int expected_found,
                             oc_error *err)
{
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->mutex);
    if (!memory_holds(m, expected, elen, expected_found)) {
        pthread_mutex_unlock(&m->mutex);
        return conflict(s, err);
    }
    oc_buf_free(&m->text);
    oc_buf_init_secret(&m->text, 0);
    m->found = 0;
    pthread_mutex_unlock(&m->mutex);
    return OC_OK;
}

static oc_code memory_lock(oc_store *s, oc_error *err)
{
    memory_store *m = (memory_store *)s;
    int got;
    pthread_mutex_lock(&m->mutex);
    got = !m->locked;
    m->locked = 1;
    pthread_mutex_unlock(&m->mutex);
    return got ? OC_OK : oc_fail(err, OC_E_LOCK, "%s is locked by another client", s->where);
}

static void memory_unlock(oc_store *s)
{
    memory_store *m = (memory_store *)s;
    pthread_mutex_lock(&m->mutex);
    m->locked = 0;
    pthread_mutex_unlock(&m->mutex);
}

static void memory_destroy(oc_store *s)
{
    memory_store *m = (memory_store *)s;
    free(m->name);
    oc_buf_free(&m->text);
    pthread_mutex_destroy(&m->mutex);
    free(m);
}

static const oc_store_ops memory_ops = {
    memory_load, memory_save, memory_remove, memory_lock, memory_unlock, memory_destroy,
    NULL /* memory is taken before a refresh starts */
};

oc_code oc_store_memory_new(const char *name, oc_store **out, oc_error *err)
{
    memory_store *m = calloc(1, sizeof *m);
    char where[300];
    oc_code rc;
    *out = NULL;
    if (!m)
        return oc_fail_nomem(err);
    snprintf(where, sizeof where, "memory://%s", name ? name : "");
    if ((rc = oc_store_init(&m->base, &memory_ops, where, err)) != OC_OK) {
        free(m);
        return rc;
    }
    pthread_mutex_init(&m->mutex, NULL);
    oc_buf_init_secret(&m->text, 0);
    *out = &m->base;
    return OC_OK;
}

/*
 * memory://NAME is one store for the whole process, whichever thread or Lua
 * state names it. The registry holds a reference to each, so the tokens stay
 * until the process ends (as CData's memory:// does), even while no client
 * is open.
 */
static pthread_mutex_t memory_registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static memory_store *memory_registry;

oc_code oc_store_memory_open(const char *name, oc_store **out, oc_error *err)
{
    memory_store *m;
    oc_store *s = NULL;
    oc_code rc = OC_OK;
    *out = NULL;
    pthread_mutex_lock(&memory_registry_mutex);
    for (m = memory_registry; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            break;
    if (!m) {
        if ((rc = oc_store_memory_new(name, &s, err)) == OC_OK) {
            m = (memory_store *)s;
            if ((m->name = oc_strdup(name))) {
                m->next = memory_registry;
                memory_registry = m;
            } else {
                oc_store_release(s);
                m = NULL;
                rc = oc_fail_nomem(err);
            }
        }
    }
    if (m)
        *out = oc_store_retain(&m->base);
    pthread_mutex_unlock(&memory_registry_mutex);
    return rc;
}

/* The registry's references go when the module is unloaded (lua_close
   dlcloses it) or the process exits: nothing can open a store by name after
   that, and clients that still hold one keep it alive by their own. */
__attribute__((destructor)) static void memory_registry_drop(void)
{
    memory_store *m, *next;
    pthread_mutex_lock(&memory_registry_mutex);
    for (m = memory_registry; m; m = next) {
        next = m->next;
        oc_store_release(&m->base);
    }
    memory_registry = NULL;
    pthread_mutex_unlock(&memory_registry_mutex);
}

char *oc_expand_home(const char *path)
{
    const char *home;
    size_t hl;
    char *out;
    if (path[0] != '~' || (path[1] != '\0' && path[1] != '/'))
        return oc_strdup(path);
    home = getenv("HOME");
    if (!home || !*home)
        return oc_strdup(path);
    hl = strlen(home);
    out = malloc(hl + strlen(path));
    if (out) {
        memcpy(out, home, hl);
        strcpy(out + hl, path + 1);
    }
    return out;
}

/* ---- stores the C core cannot reach --------------------------------------- */

static oc_code external_refuse(oc_store *s, oc_error *err)
{
    return oc_fail_property(err, OC_E_UNSUPPORTED, "OAuthSettingsLocation",
                            "%s is kept by the Lua driver (nginx's shared memory, or the store "
                            "functions given to connect); this call cannot reach it",
                            s->where);
}

static oc_code external_load(oc_store *s, oc_buf *text, int *found, oc_error *err)
{
    (void)text;
    (void)found;
    return external_refuse(s, err);
}

static oc_code external_save(oc_store *s, const char *text, size_t len, const char *expected,
                             size_t elen, int expected_found, oc_error *err)
{
    (void)text, (void)len, (void)expected, (void)elen, (void)expected_found;
    return external_refuse(s, err);
}

static oc_code external_remove(oc_store *s, const char *expected, size_t elen, int expected_found,
                               oc_error *err)
{
    (void)expected, (void)elen, (void)expected_found;
    return external_refuse(s, err);
}

static oc_code external_lock(oc_store *s, oc_error *err)
{
    return external_refuse(s, err);
}

static void external_unlock(oc_store *s)
{
    (void)s;
}

static void external_destroy(oc_store *s)
{
    free(s);
}

static const oc_store_ops external_ops = {
    external_load, external_save, external_remove, external_lock, external_unlock,
    external_destroy, NULL
};

oc_code oc_store_external_new(const char *where, oc_store **out, oc_error *err)
{
    oc_store *s = calloc(1, sizeof *s);
    oc_code rc;
    *out = NULL;
    if (!s)
        return oc_fail_nomem(err);
    if ((rc = oc_store_init(s, &external_ops, where, err)) != OC_OK) {
        free(s);
        return rc;
    }
    s->strict = 1; /* shared by workers or machines: an unsaved set would fork the connection */
    *out = s;
    return OC_OK;
}

int oc_store_is_external(const oc_store *s)
{
    return s && s->ops == &external_ops;
}
