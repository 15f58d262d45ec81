/* The connection-string grammar and its errors. */
#include <stdlib.h>

#include "oc_config.h"
#include "oc_test.h"

static oc_config *parse_ok(const char *s)
{
    oc_config *c = oc_config_new();
    oc_error err;
    oc_error_clear(&err);
    if (oc_config_parse(c, s, strlen(s), &err) != OC_OK)
        oc_test_fail(__FILE__, __LINE__, err.message);
    return c;
}

static oc_code parse_err(const char *s, size_t len, oc_error *err)
{
    oc_config *c = oc_config_new();
    oc_code rc;
    oc_error_clear(err);
    rc = oc_config_parse(c, s, len, err);
    oc_config_free(c);
    return rc;
}

OC_TEST(pairs_and_case_insensitive_keys)
{
    oc_config *c = parse_ok("authscheme=oauth;  OAUTHCLIENTID = abc ;Scope=read_orders write_products");
    CHECK_STR(oc_config_get(c, OC_P_AUTH_SCHEME), "OAUTH");
    CHECK_STR(oc_config_get(c, OC_P_OAUTH_CLIENT_ID), "abc");
    CHECK_STR(oc_config_get(c, OC_P_SCOPE), "read_orders write_products");
    oc_config_free(c);
}

OC_TEST(quoted_values_hold_separators_and_edge_spaces)
{
    oc_config *c = parse_ok("OAuthClientSecret=' a;b=c ';Scope=\"x \"\"y\"\" z\";OAuthClientId='it''s'");
    CHECK_STR(oc_config_get(c, OC_P_OAUTH_CLIENT_SECRET), " a;b=c ");
    CHECK_STR(oc_config_get(c, OC_P_SCOPE), "x \"y\" z");
    CHECK_STR(oc_config_get(c, OC_P_OAUTH_CLIENT_ID), "it's");
    oc_config_free(c);
}

OC_TEST(unquoted_value_keeps_equals_signs)
{
    oc_config *c = parse_ok("OAuthAccessToken=abc==;OAuthRefreshToken=a=b=c");
    CHECK_STR(oc_config_get(c, OC_P_OAUTH_ACCESS_TOKEN), "abc==");
    CHECK_STR(oc_config_get(c, OC_P_OAUTH_REFRESH_TOKEN), "a=b=c");
    oc_config_free(c);
}

OC_TEST(last_duplicate_wins_and_trailing_semicolons)
{
    oc_config *c = parse_ok("Timeout=5;TIMEOUT=7;;;  ;");
    CHECK_INT(oc_config_int(c, OC_P_TIMEOUT), 7);
    oc_config_free(c);
}

OC_TEST(defaults_when_unset)
{
    oc_config *c = parse_ok("");
    CHECK_STR(oc_config_get(c, OC_P_INITIATE_OAUTH), "OFF");
    CHECK_INT(oc_config_int(c, OC_P_TIMEOUT), 60);
    CHECK_INT(oc_config_int(c, OC_P_REFRESH_LEEWAY), 60);
    CHECK_INT(oc_config_int(c, OC_P_LOGIN_TIMEOUT), 300);
    CHECK(oc_config_get(c, OC_P_SCOPE) == NULL);
    CHECK(!oc_config_is_set(c, OC_P_SCOPE));
    oc_config_free(c);
}

OC_TEST(empty_value_unsets)
{
    oc_config *c = parse_ok("Timeout=5;Timeout=");
    CHECK_INT(oc_config_int(c, OC_P_TIMEOUT), 60);
    oc_config_free(c);
}

OC_TEST(unknown_key_names_closest)
{
    oc_error err;
    CHECK_INT(parse_err("OAuthClientID2=x", 16, &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_CONTAINS(err.message, "'OAuthClientID2'");
    CHECK_CONTAINS(err.message, "did you mean 'OAuthClientId'");
}

OC_TEST(unknown_key_never_echoes_value)
{
    oc_error err;
    const char *s = "OAuthClientSecrett=topsecretvalue";
    CHECK_INT(parse_err(s, strlen(s), &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_NOT_CONTAINS(err.message, "topsecretvalue");
    CHECK_CONTAINS(err.message, "OAuthClientSecret");
}

OC_TEST(bad_enum_lists_allowed_values)
{
    oc_error err;
    CHECK_INT(parse_err("InitiateOAuth=SOMETIMES", 23, &err), OC_E_BAD_VALUE);
    CHECK_STR(err.property, "InitiateOAuth");
    CHECK_CONTAINS(err.message, "'SOMETIMES'");
    CHECK_CONTAINS(err.message, "OFF, GETANDREFRESH or REFRESH");
}

OC_TEST(enum_is_case_insensitive_and_canonical)
{
    oc_config *c = parse_ok("InitiateOAuth=getAndRefresh");
    CHECK_STR(oc_config_get(c, OC_P_INITIATE_OAUTH), "GETANDREFRESH");
    CHECK(oc_config_is(c, OC_P_INITIATE_OAUTH, "getandrefresh"));
    oc_config_free(c);
}

OC_TEST(unterminated_quote_gives_position)
{
    oc_error err;
    const char *s = "Scope=x;OAuthClientId='abc";
    CHECK_INT(parse_err(s, strlen(s), &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "unterminated quote starting at position 23");
    CHECK_STR(err.property, "OAuthClientId");
    CHECK_INT(parse_err("Scope='a' b", 11, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "unexpected text after the closing quote");
    CHECK_STR(err.property, "Scope");
}

OC_TEST(non_numeric_number)
{
    oc_error err;
    CHECK_INT(parse_err("Timeout=ten", 11, &err), OC_E_BAD_VALUE);
    CHECK_STR(err.property, "Timeout");
    CHECK_CONTAINS(err.message, "'ten' is not a whole number of seconds");
    CHECK_INT(parse_err("Timeout=-1", 10, &err), OC_E_BAD_VALUE);
    CHECK_INT(parse_err("OAuthTokenTimestamp=99999999999999999999", 40, &err), OC_E_BAD_VALUE);
    CHECK_CONTAINS(err.message, "too large");
}

OC_TEST(missing_equals_and_empty_key)
{
    oc_error err;
    CHECK_INT(parse_err("Scope;Timeout=1", 15, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "expected '=' after 'Scope' at position 6");
    /* the '=' forgotten after a secret's name, or a secret pasted alone:
       the value never appears */
    CHECK_INT(parse_err("OAuthClientSecret SUPERSECRET4", 30, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "expected '=' after 'OAuthClientSecret' at position 18");
    CHECK_NOT_CONTAINS(err.message, "SUPERSECRET4");
    CHECK_INT(parse_err("AuthScheme=OAUTH;tok3n-v4lue", 28, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "position 18");
    CHECK_NOT_CONTAINS(err.message, "tok3n");
    CHECK_INT(parse_err("=x", 2, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "property name is missing");
}

OC_TEST(text_after_closing_quote)
{
    oc_error err;
    CHECK_INT(parse_err("Scope='a' b", 11, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "after the closing quote at position 11");
}

OC_TEST(nul_byte_and_size_limit)
{
    oc_error err;
    char *big;
    CHECK_INT(parse_err("Scope=a\0b", 9, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "NUL byte at position 8");
    big = malloc(OC_CONNSTR_MAX + 2);
    memset(big, 'a', OC_CONNSTR_MAX + 1);
    big[OC_CONNSTR_MAX + 1] = '\0';
    CHECK_INT(parse_err(big, OC_CONNSTR_MAX + 1, &err), OC_E_SYNTAX);
    CHECK_CONTAINS(err.message, "the limit is 65536");
    free(big);
}

OC_TEST(set_by_name_like_a_table)
{
    oc_config *c = oc_config_new();
    oc_error err;
    oc_error_clear(&err);
    CHECK_INT(oc_config_set(c, "refreshleeway", 13, "10", 2, &err), OC_OK);
    CHECK_INT(oc_config_int(c, OC_P_REFRESH_LEEWAY), 10);
    CHECK_INT(oc_config_set(c, "Nope", 4, "1", 1, &err), OC_E_UNKNOWN_PROPERTY);
    oc_config_free(c);
}

OC_TEST(clone_is_deep)
{
    oc_config *c = parse_ok("OAuthClientId=one"), *d = oc_config_clone(c);
    oc_error err;
    oc_config_set(c, "OAuthClientId", 13, "two", 3, &err);
    CHECK_STR(oc_config_get(d, OC_P_OAUTH_CLIENT_ID), "one");
    oc_config_free(c);
    oc_config_free(d);
}

/* After a secret's value an unknown name is not quoted (it may be the
   secret's tail), but the nearest known name is: a name, never a value. */
OC_TEST(a_misspelt_name_after_a_secret_value_gets_the_nearest_name)
{
    oc_error err;
    const char *a = "OAuthClientSecret=s3cr3t;OAuthClientIdd=abc";
    const char *b = "OAuthAccessToken=tok;InitiateOAuht=REFRESH";
    CHECK_INT(parse_err(a, strlen(a), &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_CONTAINS(err.message, "did you mean 'OAuthClientId'?");
    CHECK_CONTAINS(err.message, "after the value of OAuthClientSecret");
    CHECK_NOT_CONTAINS(err.message, "OAuthClientIdd");
    CHECK_NOT_CONTAINS(err.message, "s3cr3t");
    CHECK_INT(parse_err(b, strlen(b), &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_CONTAINS(err.message, "did you mean 'InitiateOAuth'?");
    CHECK_NOT_CONTAINS(err.message, "OAuht");
    /* nothing near: no guess */
    CHECK_INT(parse_err("OAuthClientSecret=ab;p4rt=2", 27, &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_NOT_CONTAINS(err.message, "did you mean");
}

OC_TEST(errors_after_a_secret_value_do_not_quote_its_tail)
{
    oc_error err;
    const char *a = "OAuthClientSecret=s3cr3t;TAILOFSECRET";
    const char *b = "OAuthClientSecret=ab;p4rt=2";
    CHECK_INT(parse_err(a, strlen(a), &err), OC_E_SYNTAX);
    CHECK_NOT_CONTAINS(err.message, "TAILOFSECRET");
    CHECK_CONTAINS(err.message, "after the value of OAuthClientSecret; if that value holds ';', quote it");
    CHECK_INT(parse_err(b, strlen(b), &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_NOT_CONTAINS(err.message, "p4rt");
    CHECK_STR(err.property, "OAuthClientSecret"); /* the value at fault */
    /* quoted secrets cannot spill: the next key is quoted back as usual */
    CHECK_INT(parse_err("OAuthClientSecret='a';Nope=1", 28, &err), OC_E_UNKNOWN_PROPERTY);
    CHECK_CONTAINS(err.message, "'Nope'");
}

OC_TEST(pkce_verifier_follows_rfc7636)
{
    oc_error err;
    char ok[200], longer[200];
    oc_config *c;
    snprintf(ok, sizeof ok, "PKCEVerifier=%s", "abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEFG");
    c = parse_ok(ok);
    oc_config_free(c);
    CHECK_INT(parse_err("PKCEVerifier=short", 18, &err), OC_E_BAD_VALUE);
    CHECK_STR(err.property, "PKCEVerifier");
    CHECK_CONTAINS(err.message, "43 to 128 characters");
    CHECK_CONTAINS(err.message, "this one is 5 long");
    snprintf(longer, sizeof longer, "PKCEVerifier=%s", "abcdefghijklmnopqrstuvwxyz0123456789+/=ABCDEFG");
    CHECK_INT(parse_err(longer, strlen(longer), &err), OC_E_BAD_VALUE);
    CHECK_CONTAINS(err.message, "with others");
}
