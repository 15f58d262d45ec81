#include "oc_profile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oc_crypto.h"
#include "oc_mem.h"

static const oc_field_info field_table[] = {
#define OC_FIELD_INFO(member, kind, doc) { #member, OC_FK_##kind, doc },
    OC_PROFILE_FIELD_LIST(OC_FIELD_INFO)
#undef OC_FIELD_INFO
    { NULL, OC_FK_STRING, NULL }
};

const oc_field_info *oc_profile_fields(void)
{
    return field_table;
}

oc_profile *oc_profile_new(void)
{
    oc_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->token_header = oc_strdup("Authorization");
    p->token_prefix = oc_strdup("Bearer ");
    p->apikey_header = oc_strdup("X-API-Key");
    p->auth_schemes = oc_strdup("OAUTH|OAUTH_CLIENT|BASIC|APIKEY|NONE|NTLM");
    p->code_auth = p->refresh_auth = OC_CLIENT_AUTH_BODY;
    p->refreshable = 1;
    if (!p->token_header || !p->token_prefix || !p->apikey_header || !p->auth_schemes) {
        oc_profile_free(p);
        return NULL;
    }
    return p;
}

void oc_profile_free(oc_profile *p)
{
    if (!p)
        return;
#define OC_FREE_STRING(m) free(p->m);
#define OC_FREE_BOOL(m)
#define OC_FREE_CLIENT_AUTH(m)
#define OC_FIELD_FREE(member, kind, doc) OC_FREE_##kind(member)
    OC_PROFILE_FIELD_LIST(OC_FIELD_FREE)
#undef OC_FIELD_FREE
    free(p);
}

oc_profile *oc_profile_clone(const oc_profile *src)
{
    oc_profile *p = calloc(1, sizeof *p);
    int failed = 0;
    if (!p)
        return NULL;
#define OC_COPY_STRING(m) if (src->m && !(p->m = oc_strdup(src->m))) failed = 1;
#define OC_COPY_BOOL(m) p->m = src->m;
#define OC_COPY_CLIENT_AUTH(m) p->m = src->m;
#define OC_FIELD_COPY(member, kind, doc) OC_COPY_##kind(member)
    OC_PROFILE_FIELD_LIST(OC_FIELD_COPY)
#undef OC_FIELD_COPY
    if (failed) {
        oc_profile_free(p);
        return NULL;
    }
    return p;
}

static oc_code set_string(char **dst, const char *value, oc_error *err)
{
    char *copy = oc_strdup(value);
    if (!copy)
        return oc_fail_nomem(err);
    free(*dst);
    *dst = copy;
    return OC_OK;
}

static oc_code set_bool(int *dst, const char *field, const char *value, oc_error *err)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
        *dst = 1;
    else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
        *dst = 0;
    else
        return oc_fail(err, OC_E_INVALID_ARGUMENT, "profile field %s must be true or false", field);
    return OC_OK;
}

static oc_code set_client_auth(oc_client_auth *dst, const char *field, const char *value,
                               oc_error *err)
{
    if (strcmp(value, "body") == 0)
        *dst = OC_CLIENT_AUTH_BODY;
    else if (strcmp(value, "basic") == 0)
        *dst = OC_CLIENT_AUTH_BASIC;
    else if (strcmp(value, "basic_raw") == 0)
        *dst = OC_CLIENT_AUTH_BASIC_RAW;
    else if (strcmp(value, "json") == 0)
        *dst = OC_CLIENT_AUTH_JSON;
    else
        return oc_fail(err, OC_E_INVALID_ARGUMENT,
                       "profile field %s must be \"body\", \"basic\", \"basic_raw\" or \"json\"",
                       field);
    return OC_OK;
}

/* Header names and the text before a credential go into request headers:
   no control characters, and names only of RFC 9110 token characters. */
static oc_code check_header_field(const char *field, const char *value, int is_name, oc_error *err)
{
    const char *c;
    for (c = value; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f || (is_name && !(isalnum(u) || strchr("!#$%&'*+-.^_`|~", u))))
            return oc_fail(err, OC_E_INVALID_ARGUMENT,
                           "profile field %s holds a character a header %s cannot", field,
                           is_name ? "name" : "value");
    }
    return OC_OK;
}

oc_code oc_profile_set(oc_profile *p, const char *field, const char *value, oc_error *err)
{
    oc_code rc;
    if ((strcmp(field, "token_header") == 0 || strcmp(field, "apikey_header") == 0) &&
        (rc = check_header_field(field, value, 1, err)) != OC_OK)
        return rc;
    if ((strcmp(field, "token_prefix") == 0 || strcmp(field, "apikey_prefix") == 0) &&
        (rc = check_header_field(field, value, 0, err)) != OC_OK)
        return rc;
#define OC_SET_STRING(m) return set_string(&p->m, value, err);
#define OC_SET_BOOL(m) return set_bool(&p->m, field, value, err);
#define OC_SET_CLIENT_AUTH(m) return set_client_auth(&p->m, field, value, err);
#define OC_FIELD_SET(member, kind, doc) if (strcmp(field, #member) == 0) { OC_SET_##kind(member) }
    OC_PROFILE_FIELD_LIST(OC_FIELD_SET)
#undef OC_FIELD_SET
    return oc_fail(err, OC_E_INVALID_ARGUMENT, "unknown profile field '%s'", field);
}
