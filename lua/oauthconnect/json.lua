--- The JSON codec the client uses.
-- The JSON codec the client uses: a private lua-cjson instance, so settings
-- here never change the application's own `require "cjson"`.
-- @module oauthconnect.json
local cjson = require("cjson").new()
local core = require "oauthconnect.core"

-- Newer lua-cjson (2.1.0.9+) can mark decoded arrays so they re-encode as
-- arrays even when empty; Debian 12 ships 2.1.0, which cannot.
if cjson.decode_array_with_array_mt then cjson.decode_array_with_array_mt(true) end
if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end
cjson.decode_max_depth(128)
cjson.encode_sparse_array(true)

local decode = cjson.decode
-- Old lua-cjson decodes 1001 as the float 1001.0 (so "/orders/" .. id builds
-- "/orders/1001.0"); then integral numbers are turned back into integers.
-- (LuaJIT has no integers, and prints 1001.0 as "1001": nothing to do there.)
if math.type and math.type(decode("[1]")[1]) == "float" then
  local integerize = core.integerize
  decode = function(text) return integerize(cjson.decode(text)) end
end

--- Encodes a Lua value as JSON (an empty table is `{}`).
-- @function encode
-- @param value the value
-- @treturn string the JSON text

--- Decodes JSON text (integral numbers as integers, on Lua 5.4); raises on bad JSON.
-- @function decode
-- @string text the JSON text
-- @return the value

--- The value JSON's `null` decodes to.
-- @field null
return {
  encode = cjson.encode,
  decode = decode,
  null = cjson.null,
}
