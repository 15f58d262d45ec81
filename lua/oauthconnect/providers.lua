--- The registry of providers: the built-in profiles, by name and alias.
-- The registry of providers: every built-in profile
-- (oauthconnect/profiles/<name>.json in any directory of package.path), by
-- its name and its aliases. The provider modules (require "jumpseller",
-- "keap", ...), the oauthconnect command's providers and its help all read
-- it, so a new provider is one JSON file (and a one-line module file when
-- `require "name"` is wanted).
-- @module oauthconnect.providers

local core = require "oauthconnect.core"
local profile = require "oauthconnect.profile"

local type, ipairs, pairs, error, tostring = type, ipairs, pairs, error, tostring

local _M = {}

local registry -- { list = { {name, title, aliases, api_url}, ... }, names = { lower -> name } }

-- Scans the profile directories once: the first file of a name wins, as
-- require's search does. Raises on a built-in that cannot be loaded, or two
-- that claim one name: an install is broken, not a caller.
local function scan()
  if registry then return registry end
  local found = {}
  for _, dir in ipairs(profile.builtin_dirs()) do
    local entries = core.list_dir(dir)
    for _, entry in ipairs(entries or {}) do
      local name = entry:match("^(.+)%.json$")
      if name and profile.is_name(name) then found[name] = true end
    end
  end
  local list, names = {}, {}
  for name in pairs(found) do
    local p, err = profile.builtin(name)
    if not p then error(tostring(err), 0) end
    list[#list + 1] = { name = name, title = p.title or name, aliases = p.aliases or {}, api_url = p.api_url }
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  for _, entry in ipairs(list) do
    local all = { entry.name }
    for i, alias in ipairs(entry.aliases) do all[i + 1] = alias end
    for _, n in ipairs(all) do
      local key = n:lower()
      if names[key] and names[key] ~= entry.name then
        error(("the built-in profiles %s and %s both claim the name '%s'"):format(names[key], entry.name, n), 0)
      end
      names[key] = entry.name
    end
  end
  registry = { list = list, names = names }
  return registry
end

--- The providers.
-- The providers: { { name, title, aliases = {...}, api_url }, ... }, sorted by name.
-- @treturn {table,...} the providers
function _M.list()
  return scan().list
end

--- The provider a name stands for.
-- The provider a name or alias stands for (case-insensitive), or nil.
-- @string name a name or alias (`"keap"`)
-- @treturn ?string the provider's name (`"infusionsoft"`)
function _M.resolve(name)
  if type(name) ~= "string" then return nil end
  local lower = name:lower()
  -- a provider's own name needs no scan (require "jumpseller" reads one file)
  if profile.builtin_path(lower) then
    local p = profile.builtin(lower)
    if p then return lower end
  end
  return scan().names[lower]
end

--- A provider's profile.
-- The profile of a provider (by name or alias): a table, or nil, err.
-- @string name a name or alias
-- @treturn[1] table the profile
-- @return[2] nil
-- @treturn[2] oauthconnect.err code `invalid_argument`, listing the providers
function _M.profile(name)
  local canonical = _M.resolve(name)
  if not canonical then
    return nil, core.error("invalid_argument", ("unknown provider '%s': %s"):format(tostring(name), _M.help()))
  end
  return profile.builtin(canonical)
end

local modules = {}

--- A provider's module.
-- The provider module (connect, login, the web flow, verifiers) of a name or
-- alias; one table per provider, whatever name reached it. Raises for a
-- name no profile has.
-- @string name a name or alias
-- @treturn oauthconnect.provider.ProviderModule the module
function _M.module(name)
  local canonical = _M.resolve(name)
  if not canonical then error(("unknown provider '%s': %s"):format(tostring(name), _M.help()), 2) end
  if not modules[canonical] then
    local p, err = profile.builtin(canonical)
    if not p then error(tostring(err), 2) end
    modules[canonical] = require("oauthconnect.provider").module(p)
  end
  return modules[canonical]
end

--- The providers, as the command's help lists them.
-- The providers as a command's help names them: "bigcommerce, custom,
-- infusionsoft (keap), jumpseller".
-- @treturn string the list
function _M.help()
  local parts = {}
  for i, entry in ipairs(_M.list()) do
    parts[i] = #entry.aliases > 0 and ("%s (%s)"):format(entry.name, table.concat(entry.aliases, ", "))
      or entry.name
  end
  return table.concat(parts, ", ")
end

return _M
