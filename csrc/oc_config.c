#include "oc_config.h"
#include "oc_crypto.h"
#include "oc_mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oc_config {
    char *value[OC_P__COUNT];
    int64_t number[OC_P__COUNT];
};

static const oc_prop_info prop_table[] = {
#define OC_PROP_INFO(id, name, type, def, flags, allowed, doc) { name, type, def, flags, allowed, doc },
    OC_PROPERTY_LIST(OC_PROP_INFO)
#undef OC_PROP_INFO
};

const oc_prop_info *oc_prop_get_info(oc_prop p)
{
    return (unsigned)p < OC_P__COUNT ? &prop_table[p] : NULL;
}

const char *oc_prop_name(oc_prop p)
{
    return (unsigned)p < OC_P__COUNT ? prop_table[p].name : "?";
}

static int name_equals(const char *known, const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (known[i] == '\0' || tolower((unsigned char)known[i]) != tolower((unsigned char)name[i]))
            return 0;
    }
    return known[len] == '\0';
}

int oc_prop_lookup(const char *name, size_t len)
{
    int p;
    for (p = 0; p < OC_P__COUNT; p++)
        if (name_equals(prop_table[p].name, name, len))
            return p;
    return -1;
}

/* Levenshtein distance, case-insensitive; names longer than 32 bytes are cut
   (the longest property name has 21), which only makes a far-off guess less
   precise. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[33], i, j;
    if (la > 32) la = 32;
    if (lb > 32) lb = 32;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *oc_prop_closest(const char *name, size_t len)
{
    const char *best = NULL;
    /* farther off than a third of the name (at least 2) is no guess worth showing */
    size_t best_d = (len / 3 > 2 ? len / 3 : 2) + 1;
    int p;
    for (p = 0; p < OC_P__COUNT; p++) {
        size_t d = edit_distance(name, len, prop_table[p].name, strlen(prop_table[p].name));
        if (d < best_d) {
            best_d = d;
            best = prop_table[p].name;
        }
    }
    return best;
}

oc_config *oc_config_new(void)
{
    return calloc(1, sizeof(oc_config));
}

void oc_config_free(oc_config *cfg)
{
    int p;
    if (!cfg)
        return;
    for (p = 0; p < OC_P__COUNT; p++) {
        if (cfg->value[p] && (prop_table[p].flags & OC_PF_SECRET))
            oc_wipe(cfg->value[p], strlen(cfg->value[p]));
        free(cfg->value[p]);
    }
    free(cfg);
}

oc_config *oc_config_clone(const oc_config *cfg)
{
    oc_config *c = oc_config_new();
    int p;
    if (!c)
        return NULL;
    for (p = 0; p < OC_P__COUNT; p++) {
        c->number[p] = cfg->number[p];
        if (cfg->value[p] && !(c->value[p] = oc_strdup(cfg->value[p]))) {
            oc_config_free(c);
            return NULL;
        }
    }
    return c;
}

/* Equal ignoring case and underscores, so "OAuthClient" names OAUTH_CLIENT
   as CData spells it. */
static int loose_equal(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < an && a[i] == '_')
            i++;
        while (j < bn && b[j] == '_')
            j++;
        if (i == an || j == bn)
            return i == an && j == bn;
        if (toupper((unsigned char)a[i]) != toupper((unsigned char)b[j]))
            return 0;
        i++;
        j++;
    }
}

/* Checks an enum value against "A|B|C"; returns the canonical spelling's
   length and start (through canon), or 0 when it is not allowed. */
static int match_enum(const char *allowed, const char *v, size_t vlen, const char **canon)
{
    const char *s = allowed;
    while (*s) {
        const char *bar = strchr(s, '|');
        size_t n = bar ? (size_t)(bar - s) : strlen(s);
        if (loose_equal(s, n, v, vlen)) {
            *canon = s;
            return (int)n;
        }
        if (!bar)
            break;
        s = bar + 1;
    }
    return 0;
}

static const char *bool_text(const char *v, size_t n)
{
    static const char *const yes[] = { "TRUE", "YES", "ON", "1" };
    static const char *const no[] = { "FALSE", "NO", "OFF", "0" };
    size_t i;
    for (i = 0; i < 4; i++) {
        if (loose_equal(yes[i], strlen(yes[i]), v, n))
            return "TRUE";
        if (loose_equal(no[i], strlen(no[i]), v, n))
            return "FALSE";
    }
    return NULL;
}

/* "A, B or C" from "A|B|C", for error messages. */
static void list_allowed(char *out, size_t max, const char *allowed)
{
    size_t n = 0, count = 1, seen = 0;
    const char *s;
    for (s = allowed; *s; s++)
        count += *s == '|';
    out[0] = '\0';
    for (s = allowed; *s && n + 6 < max; s++) {
        if (*s == '|') {
            seen++;
            n += (size_t)snprintf(out + n, max - n, "%s", seen + 1 == count ? " or " : ", ");
        } else {
            out[n++] = *s;
            out[n] = '\0';
        }
    }
}

static oc_code parse_number(oc_prop p, const char *v, size_t vlen, int64_t *out, oc_error *err)
{
    const oc_prop_info *info = &prop_table[p];
    const char *unit = info->type == OC_PT_MILLIS ? "milliseconds" : "seconds";
    int64_t max = info->type == OC_PT_MILLIS ? INT64_C(32503680000000) /* year 3000 */
                  : info->type == OC_PT_PORT ? 65535
                                             : INT64_C(2147483647);
    int64_t n = 0;
    size_t i;
    char shown[40];

    oc_copy_printable(shown, sizeof shown, v, vlen);
    if (vlen == 0 || vlen > 20)
        goto bad;
    for (i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9')
            goto bad;
        if (n > (max - (v[i] - '0')) / 10)
            return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                                    "%s: '%s' is too large (at most %lld)", info->name, shown,
                                    (long long)max);
        n = n * 10 + (v[i] - '0');
    }
    if (info->type == OC_PT_PORT && n == 0)
        goto bad;
    *out = n;
    return OC_OK;
bad:
    if (info->type == OC_PT_PORT)
        return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                                "%s: '%s' is not a port number (1 to 65535)", info->name, shown);
    if (info->type == OC_PT_COUNT)
        return oc_fail_property(err, OC_E_BAD_VALUE, info->name, "%s: '%s' is not a whole number",
                                info->name, shown);
    return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                            "%s: '%s' is not a whole number of %s", info->name, shown, unit);
}

oc_code oc_config_set_prop(oc_config *cfg, oc_prop p, const char *value, size_t vlen, oc_error *err)
{
    const oc_prop_info *info = &prop_table[p];
    const char *src = value;
    size_t n = vlen;
    int64_t number = 0;
    char *copy;

    if (memchr(value, '\0', vlen))
        return oc_fail_property(err, OC_E_BAD_VALUE, info->name, "%s: the value contains a NUL byte",
                                info->name);
    if (info->flags & OC_PF_TOKEN) {
        size_t i;
        for (i = 0; i < vlen; i++)
            if ((unsigned char)value[i] < 0x21 || (unsigned char)value[i] > 0x7e)
                return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                                        "%s holds a space, control or non-ASCII character at "
                                        "position %zu of its value, which a token cannot hold",
                                        info->name, i + 1);
    }
    /* RFC 7636 4.1: 43 to 128 unreserved characters; checked here, for a
       server would only say invalid_grant after the code was spent */
    if (p == OC_P_PKCE_VERIFIER && vlen) {
        size_t i;
        int ok = vlen >= 43 && vlen <= 128;
        for (i = 0; ok && i < vlen; i++)
            ok = isalnum((unsigned char)value[i]) || strchr("-._~", value[i]) != NULL;
        if (!ok)
            return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                                    "%s must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', "
                                    "'_' and '~' (RFC 7636 4.1); this one is %zu long%s",
                                    info->name, vlen, vlen >= 43 && vlen <= 128 ? " with others" : "");
    }
    if (vlen == 0) {
        free(cfg->value[p]);
        cfg->value[p] = NULL;
        cfg->number[p] = 0;
        return OC_OK;
    }
    if (info->type == OC_PT_ENUM) {
        const char *canon;
        int cn = match_enum(info->allowed, value, vlen, &canon);
        if (!cn) {
            char shown[64], list[256];
            oc_copy_printable(shown, sizeof shown, value, vlen);
            list_allowed(list, sizeof list, info->allowed);
            return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                                    "%s: '%s' is not an allowed value; use %s", info->name, shown,
                                    list);
        }
        src = canon;
        n = (size_t)cn;
    } else if (info->type == OC_PT_SECONDS || info->type == OC_PT_MILLIS ||
               info->type == OC_PT_PORT || info->type == OC_PT_COUNT) {
        oc_code rc = parse_number(p, value, vlen, &number, err);
        if (rc != OC_OK)
            return rc;
    } else if (info->type == OC_PT_BOOL) {
        if (!(src = bool_text(value, vlen))) {
            char shown[64];
            oc_copy_printable(shown, sizeof shown, value, vlen);
            return oc_fail_property(err, OC_E_BAD_VALUE, info->name,
                                    "%s: '%s' is not an allowed value; use TRUE or FALSE",
                                    info->name, shown);
        }
        n = strlen(src);
    }
    copy = malloc(n + 1);
    if (!copy)
        return oc_fail_nomem(err);
    memcpy(copy, src, n);
    copy[n] = '\0';
    if (cfg->value[p] && (info->flags & OC_PF_SECRET))
        oc_wipe(cfg->value[p], strlen(cfg->value[p]));
    free(cfg->value[p]);
    cfg->value[p] = copy;
    cfg->number[p] = number;
    return OC_OK;
}

static oc_code unknown_property(const char *key, size_t keylen, oc_error *err)
{
    const char *closest;
    char shown[64];
    size_t i;
    oc_copy_printable(shown, sizeof shown, key, keylen);
    for (i = 0; shown[i]; i++) /* names are ASCII: show other bytes as '?' */
        if ((unsigned char)shown[i] >= 0x80)
            shown[i] = '?';
    closest = oc_prop_closest(key, keylen);
    if (closest)
        return oc_fail_property(err, OC_E_UNKNOWN_PROPERTY, shown,
                                "unknown connection property '%s'; did you mean '%s'?", shown,
                                closest);
    return oc_fail_property(err, OC_E_UNKNOWN_PROPERTY, shown,
                            "unknown connection property '%s' (docs/connection-properties.md "
                            "lists them)",
                            shown);
}

oc_code oc_config_set(oc_config *cfg, const char *key, size_t keylen, const char *value,
                      size_t vlen, oc_error *err)
{
    int p = oc_prop_lookup(key, keylen);
    if (p < 0)
        return unknown_property(key, keylen, err);
    return oc_config_set_prop(cfg, (oc_prop)p, value, vlen, err);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* err->property for a syntax error inside the value of key, when key names
   a property: callers find the property at fault there, as for any other. */
static void blame_key(oc_error *err, const char *key, size_t klen)
{
    int p = oc_prop_lookup(key, klen);
    if (err && p >= 0)
        snprintf(err->property, sizeof err->property, "%s", prop_table[p].name);
}

/* Positions in messages are 1-based byte offsets, as an editor shows them. */
oc_code oc_config_parse(oc_config *cfg, const char *s, size_t len, oc_error *err)
{
    size_t i = 0;
    const char *nul;
    char *unquoted = NULL; /* scratch for a quoted value; may hold a secret */
    size_t ucap = 0;
    /* The unquoted secret property just read, or -1: what follows it may be
       the tail of a secret that held ';', so errors must not quote it. */
    int after_secret = -1;
    oc_code rc = OC_OK;

    if (len > OC_CONNSTR_MAX)
        return oc_fail(err, OC_E_SYNTAX, "the connection string is %zu bytes long; the limit is %d",
                       len, OC_CONNSTR_MAX);
    if ((nul = memchr(s, '\0', len)) != NULL)
        return oc_fail(err, OC_E_SYNTAX, "the connection string holds a NUL byte at position %zu",
                       (size_t)(nul - s) + 1);

    while (i < len) {
        size_t kstart, kend, vstart, vend;
        const char *value;
        size_t vlen;

        while (i < len && (is_space(s[i]) || s[i] == ';'))
            i++;
        if (i >= len)
            break;
        kstart = i;
        while (i < len && s[i] != '=' && s[i] != ';')
            i++;
        kend = i;
        while (kend > kstart && is_space(s[kend - 1]))
            kend--;
        if (i >= len || s[i] == ';') {
            char shown[64];
            if (after_secret >= 0) {
                rc = oc_fail(err, OC_E_SYNTAX,
                             "expected Key=Value at position %zu, after the value of %s; if that "
                             "value holds ';', quote it",
                             kstart + 1, prop_table[after_secret].name);
                break;
            }
            {
                /* The part may be a secret pasted without its name, or a
                   name and its value with the '=' forgotten: only a known
                   property name at its start is shown. */
                size_t w = kstart;
                int p;
                while (w < kend && (isalnum((unsigned char)s[w]) || s[w] == '_'))
                    w++;
                p = oc_prop_lookup(s + kstart, w - kstart);
                if (p < 0) {
                    rc = oc_fail(err, OC_E_SYNTAX,
                                 "expected Key=Value at position %zu: that part has no '=' (its "
                                 "text is not shown, as it may be a secret)",
                                 kstart + 1);
                    break;
                }
                oc_copy_printable(shown, sizeof shown, s + kstart, w - kstart);
                rc = oc_fail(err, OC_E_SYNTAX, "expected '=' after '%s' at position %zu", shown,
                             w + 1);
            }
            break;
        }
        if (kend == kstart) {
            rc = oc_fail(err, OC_E_SYNTAX, "a property name is missing before '=' at position %zu",
                         i + 1);
            break;
        }
        i++; /* '=' */
        while (i < len && is_space(s[i]) && s[i] != ';')
            i++;
        if (i < len && (s[i] == '\'' || s[i] == '"')) {
            char q = s[i];
            size_t qpos = i, n = 0;
            if (unquoted) {
                oc_wipe(unquoted, ucap);
                free(unquoted);
            }
            ucap = len - i + 1;
            unquoted = malloc(ucap);
            if (!unquoted) {
                rc = oc_fail_nomem(err);
                break;
            }
            i++;
            for (;;) {
                if (i >= len) {
                    char shown[64];
                    oc_copy_printable(shown, sizeof shown, s + kstart, kend - kstart);
                    rc = oc_fail(err, OC_E_SYNTAX,
                                 "unterminated quote starting at position %zu (value of %s)",
                                 qpos + 1, shown);
                    blame_key(err, s + kstart, kend - kstart);
                    goto out;
                }
                if (s[i] == q) {
                    if (i + 1 < len && s[i + 1] == q) { /* a doubled quote stands for one */
                        unquoted[n++] = q;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                unquoted[n++] = s[i++];
            }
            while (i < len && is_space(s[i]))
                i++;
            if (i < len && s[i] != ';') {
                rc = oc_fail(err, OC_E_SYNTAX,
                             "unexpected text after the closing quote at position %zu; expected ';'",
                             i + 1);
                blame_key(err, s + kstart, kend - kstart);
                break;
            }
            value = unquoted;
            vlen = n;
        } else {
            vstart = i;
            while (i < len && s[i] != ';')
                i++;
            vend = i;
            while (vend > vstart && is_space(s[vend - 1]))
                vend--;
            value = s + vstart;
            vlen = vend - vstart;
        }
        {
            int p = oc_prop_lookup(s + kstart, kend - kstart);
            if (p < 0 && after_secret >= 0) {
                /* its text may be the secret's tail: not shown; the nearest
                   known name is (a name from the table, never the text) */
                const char *closest = oc_prop_closest(s + kstart, kend - kstart);
                rc = oc_fail(err, OC_E_UNKNOWN_PROPERTY,
                             "unknown connection property at position %zu, after the value of %s%s%s%s; "
                             "if that value holds ';', quote it",
                             kstart + 1, prop_table[after_secret].name,
                             closest ? " (did you mean '" : "", closest ? closest : "",
                             closest ? "'?)" : "");
                if (err)
                    snprintf(err->property, sizeof err->property, "%s", prop_table[after_secret].name);
                break;
            }
            rc = oc_config_set(cfg, s + kstart, kend - kstart, value, vlen, err);
            if (rc != OC_OK)
                break;
            after_secret = (value != unquoted && (prop_table[p].flags & OC_PF_SECRET)) ? p : -1;
        }
    }
out:
    if (unquoted) {
        oc_wipe(unquoted, ucap);
        free(unquoted);
    }
    return rc;
}

const char *oc_config_get(const oc_config *cfg, oc_prop p)
{
    if ((unsigned)p >= OC_P__COUNT)
        return NULL;
    return cfg->value[p] ? cfg->value[p] : prop_table[p].def;
}

int oc_config_is_set(const oc_config *cfg, oc_prop p)
{
    return (unsigned)p < OC_P__COUNT && cfg->value[p] != NULL;
}

int64_t oc_config_int(const oc_config *cfg, oc_prop p)
{
    const char *def;
    if ((unsigned)p >= OC_P__COUNT)
        return -1;
    if (cfg->value[p])
        return cfg->number[p];
    def = prop_table[p].def;
    if (def) {
        int64_t n = 0;
        for (; *def >= '0' && *def <= '9'; def++)
            n = n * 10 + (*def - '0');
        return n;
    }
    return -1;
}

int oc_config_bool(const oc_config *cfg, oc_prop p)
{
    const char *v = oc_config_get(cfg, p);
    return v && strcmp(v, "TRUE") == 0;
}

int oc_config_is(const oc_config *cfg, oc_prop p, const char *value)
{
    const char *v = oc_config_get(cfg, p);
    size_t i;
    if (!v)
        return 0;
    for (i = 0; v[i] && value[i]; i++)
        if (toupper((unsigned char)v[i]) != toupper((unsigned char)value[i]))
            return 0;
    return v[i] == value[i];
}
