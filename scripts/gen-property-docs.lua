-- Writes docs/connection-properties.md from the core's own property table
-- (csrc/oc_props.h through core.properties()), so the reference cannot drift:
-- spec/00-docs_spec.lua fails when the committed file differs.
--   lua5.4 scripts/gen-property-docs.lua [output]   (LUA_CPATH must find build/lua)
local core = require "oauthconnect.core"

local function render()
  local out = {
    "# Connection properties",
    "",
    "Generated from `csrc/oc_props.h` by `scripts/gen-property-docs.lua`; do not edit by hand.",
    "",
    "Give them as a connection string (`Name=Value;Name2='quoted; value'`, names",
    "case-insensitive, the last duplicate wins, `'` or `\"` quote values holding `;`, `=`",
    "or edge spaces, a doubled quote inside stands for one) or as a Lua table with the",
    "same names. Secrets are never logged and never appear in error messages.",
    "",
    "| Property | Type | Default | Allowed values | Description |",
    "| --- | --- | --- | --- | --- |",
  }
  for _, p in ipairs(core.properties()) do
    local allowed = p.allowed and table.concat(p.allowed, ", ") or ""
    local kind = p.type .. (p.secret and " (secret)" or "")
    out[#out + 1] = ("| `%s` | %s | %s | %s | %s |"):format(p.name, kind,
      p.default and ("`" .. p.default .. "`") or "", allowed, (p.doc:gsub("|", "\\|")))
  end
  return table.concat(out, "\n") .. "\n"
end

if ... == "--render" then return render end
local path = arg and arg[1] or "docs/connection-properties.md"
local f = assert(io.open(path, "w"))
f:write(render())
f:close()
print("wrote " .. path)
