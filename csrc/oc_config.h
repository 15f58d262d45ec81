/*
 * oc_config: connection properties, parsed from a connection string
 * ("Key=Value;Key2='quoted; value'") or set one by one.
 *
 * Values are validated when set (enums, numbers) so a later reader never
 * sees a malformed one. Unset properties read as their table default.
 */
#ifndef OC_CONFIG_H
#define OC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "oc_error.h"
#include "oc_props.h"

typedef enum oc_prop {
#define OC_PROP_ENUM(id, name, type, def, flags, allowed, doc) OC_P_##id,
    OC_PROPERTY_LIST(OC_PROP_ENUM)
#undef OC_PROP_ENUM
    OC_P__COUNT
} oc_prop;

typedef enum oc_prop_type {
    OC_PT_STRING,
    OC_PT_URL,
    OC_PT_ENUM,
    OC_PT_SECONDS, /* a whole, non-negative number of seconds */
    OC_PT_MILLIS,  /* a whole, non-negative number of milliseconds since the epoch */
    OC_PT_BOOL,    /* TRUE/FALSE (also YES/NO, ON/OFF, 1/0), kept as "TRUE" or "FALSE" */
    OC_PT_PORT,    /* a TCP port, 1 to 65535 */
    OC_PT_COUNT    /* a whole, non-negative number */
} oc_prop_type;

enum {
    OC_PF_SECRET = 1, /* never logged or shown */
    OC_PF_TOKEN = 2   /* travels in an HTTP header: visible ASCII only */
};

/* Explicit limits: a connection string longer than this is refused. */
enum { OC_CONNSTR_MAX = 64 * 1024 };

typedef struct oc_prop_info {
    const char *name;
    oc_prop_type type;
    const char *def;
    int flags;
    const char *allowed; /* "A|B|C" for enums */
    const char *doc;
} oc_prop_info;

typedef struct oc_config oc_config;

const oc_prop_info *oc_prop_get_info(oc_prop p);
const char *oc_prop_name(oc_prop p);
/* The property with this name (case-insensitive), or -1. */
int oc_prop_lookup(const char *name, size_t len);
/* The known property name closest to name (edit distance, case-insensitive),
   or NULL when none is close enough to be a likely typo. */
const char *oc_prop_closest(const char *name, size_t len);

oc_config *oc_config_new(void);
oc_config *oc_config_clone(const oc_config *cfg);
void oc_config_free(oc_config *cfg);

/* Parses a connection string into cfg; later keys override earlier ones and
   properties already set. On error cfg may hold the pairs before the fault. */
oc_code oc_config_parse(oc_config *cfg, const char *s, size_t len, oc_error *err);
/* Sets one property by name; an empty value unsets it. */
oc_code oc_config_set(oc_config *cfg, const char *key, size_t keylen,
                      const char *value, size_t vlen, oc_error *err);
oc_code oc_config_set_prop(oc_config *cfg, oc_prop p, const char *value, size_t vlen, oc_error *err);

/* The value, or the table default, or NULL. */
const char *oc_config_get(const oc_config *cfg, oc_prop p);
int oc_config_is_set(const oc_config *cfg, oc_prop p);
/* The numeric value of a numeric property, or its default in the property
   table (the one place defaults live); -1 when unset without a default. */
int64_t oc_config_int(const oc_config *cfg, oc_prop p);
/* Case-insensitive comparison of an enum property with one allowed value. */
int oc_config_is(const oc_config *cfg, oc_prop p, const char *value);
/* The value of an OC_PT_BOOL property (its default when unset). */
int oc_config_bool(const oc_config *cfg, oc_prop p);

#endif
