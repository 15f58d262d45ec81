/*
 * oc_profile: what differs between providers, as data.
 */
#ifndef OC_PROFILE_H
#define OC_PROFILE_H

#include "oc_error.h"
#include "oc_profile_fields.h"

typedef enum oc_client_auth {
    OC_CLIENT_AUTH_BODY,  /* client_id and client_secret in the form body */
    OC_CLIENT_AUTH_BASIC, /* HTTP Basic, id and secret form-urlencoded first (RFC 6749 2.3.1) */
    OC_CLIENT_AUTH_BASIC_RAW, /* HTTP Basic of id:secret as they are (Keap's documented form) */
    OC_CLIENT_AUTH_JSON   /* client_id and client_secret in a JSON body */
} oc_client_auth;

#define OC_KIND_STRING char *
#define OC_KIND_BOOL int
#define OC_KIND_CLIENT_AUTH oc_client_auth

typedef struct oc_profile {
#define OC_FIELD_MEMBER(member, kind, doc) OC_KIND_##kind member;
    OC_PROFILE_FIELD_LIST(OC_FIELD_MEMBER)
#undef OC_FIELD_MEMBER
} oc_profile;

typedef enum oc_field_kind { OC_FK_STRING, OC_FK_BOOL, OC_FK_CLIENT_AUTH } oc_field_kind;

typedef struct oc_field_info {
    const char *name;
    oc_field_kind kind;
    const char *doc;
} oc_field_info;

/* A profile for a generic OAuth 2 server: no endpoints, Bearer in
   Authorization, form-body client auth, refreshable, every AuthScheme,
   API keys in X-API-Key. */
oc_profile *oc_profile_new(void);
oc_profile *oc_profile_clone(const oc_profile *p);
void oc_profile_free(oc_profile *p);
/* Sets a field by name from text ("true"/"false" for BOOL). */
oc_code oc_profile_set(oc_profile *p, const char *field, const char *value, oc_error *err);
/* The field table, NULL-terminated. */
const oc_field_info *oc_profile_fields(void);

#endif
