/* The signature checks (oc_sig.h) for Lua: true or claims, or nil, err. */
#include <string.h>

#include "lua_binding.h"
#include "oc_sig.h"
#include "oc_time.h"

/* Clock skew allowed on exp and nbf unless the caller says otherwise. */
enum { DEFAULT_LEEWAY_S = 60, MAX_LEEWAY_S = 3600 };

/* core.verify_hmac_sha256(body, signature, key) -> true | nil, err */
int oc_lua_verify_hmac_sha256(lua_State *L)
{
    size_t blen, slen, klen;
    const char *body = luaL_checklstring(L, 1, &blen);
    const char *sig = luaL_checklstring(L, 2, &slen);
    const char *key = luaL_checklstring(L, 3, &klen);
    oc_error err;
    oc_error_clear(&err);
    if (oc_sig_hmac_sha256_base64(key, klen, body, blen, sig, slen, &err) != OC_OK)
        return oc_lua_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.verify_jwt_hs256(jwt, secret, audience [, leeway_s]) -> claims | nil, err */
int oc_lua_verify_jwt_hs256(lua_State *L)
{
    size_t jlen, slen;
    const char *jwt = luaL_checklstring(L, 1, &jlen);
    const char *secret = luaL_checklstring(L, 2, &slen);
    const char *audience = luaL_checkstring(L, 3);
    lua_Integer leeway = luaL_optinteger(L, 4, DEFAULT_LEEWAY_S);
    oc_lua_box *box;
    json_t *claims = NULL;
    oc_error err;
    luaL_argcheck(L, leeway >= 0 && leeway <= MAX_LEEWAY_S, 4, "leeway: 0 to 3600 seconds");
    box = oc_lua_box_new(L, OC_BOX_JSON); /* owns the claims while they become Lua values */
    oc_error_clear(&err);
    if (oc_sig_jwt_hs256(jwt, jlen, secret, slen, audience, oc_now_ms() / 1000, leeway, &claims,
                         &err) != OC_OK)
        return oc_lua_fail(L, &err);
    box->p = claims;
    oc_lua_push_json(L, claims);
    return 1;
}
