--- Every field a provider profile may hold, with its type.
-- Every field a provider profile may hold, with its type: the core's
-- (csrc/oc_profile_fields.h, through core.profile_fields()) and, listed here,
-- those only the Lua layer reads. lua/oauthconnect/profile.lua checks every
-- profile (the built-in JSON files, a Profile= file, a Lua table) against
-- this list; a new Lua-only field is one line below.
--
-- Types: "string", "boolean", "number" (a whole number from 1), "client_auth"
-- ("body", "basic", "basic_raw" or "json"), "url" (a string the core takes as
-- an endpoint: https, or http to a loopback host; no #fragment), "names" (an
-- array of provider names), "pagination" (a style of oauthconnect.pagination),
-- or "table" with its own fields (required ones marked).
--
-- The module is a table `{list = {field, ...}, by_name = {name = field}}`, each
-- field `{name, type, doc [, core] [, fields]}`.
-- @module oauthconnect.profile_fields

local core = require "oauthconnect.core"

local LUA_FIELDS = {
  { name = "description", type = "string", doc = "what the profile is for, and where its facts come from" },
  { name = "aliases", type = "names", doc = "other names the registry knows the provider by, e.g. [\"keap\"]" },
  { name = "pagination", type = "pagination",
    doc = "how client:each walks pages: page_number, meta_pagination, offset_limit or page_token" },
  { name = "page_size", type = "number", doc = "items asked for per page when the query sets none" },
  { name = "page_size_max", type = "number", doc = "the most items a page may be asked for" },
  { name = "token_paging_prefix", type = "string",
    doc = "offset_limit: paths under this prefix are paged by page_token instead, e.g. \"/v2/\"" },
  { name = "unwrap_envelope", type = "boolean",
    doc = "items come as {\"order\": {...}}: client:each yields the inner object" },
  { name = "whoami", type = "table", doc = "what `oauthconnect status` shows as \"logged in as\"",
    fields = { path = { type = "string", required = true }, show = { type = "strings", required = true } } },
  { name = "webhook", type = "table", doc = "verify_webhook: Base64(HMAC-SHA256(raw body, key)) in a header",
    fields = { header = { type = "string", required = true }, key_name = { type = "string" } } },
  { name = "signed_payload", type = "table",
    doc = "verify_signed_payload: an HS256 JWT under the client secret naming the store",
    fields = { store_from = { type = "string", required = true },
      store_prefix = { type = "string", required = true } } },
}

-- The core's fields whose strings are endpoints.
local URL_FIELDS = { authorize_url = true, token_url = true, api_url = true, device_authorization_url = true,
  revocation_url = true, discovery_url = true }

local list, by_name = {}, {}
local core_names, core_kinds, core_docs = core.profile_fields()
for _, name in ipairs(core_names) do
  local kind = core_kinds[name]
  local f = { name = name, type = URL_FIELDS[name] and "url" or kind, doc = core_docs[name], core = true }
  list[#list + 1] = f
  by_name[name] = f
end
for _, f in ipairs(LUA_FIELDS) do
  assert(not by_name[f.name], "profile field " .. f.name .. " is listed twice")
  list[#list + 1] = f
  by_name[f.name] = f
end

return { list = list, by_name = by_name }
