--- Provider profiles: loading and checking the JSON files and tables that describe a provider.
-- Provider profiles: the one loader and checker for the built-in JSON files
-- (lua/oauthconnect/profiles/<name>.json), a file named by the Profile
-- connection property, and a profile table given to the oauthconnect
-- module. Every field is checked against lua/oauthconnect/profile_fields.lua
-- (the core's fields and the Lua layer's): unknown fields, values of the
-- wrong type and endpoints the core would not send a token to are refused,
-- naming the file and the field.
-- @module oauthconnect.profile

local core = require "oauthconnect.core"
local json = require "oauthconnect.json"
local fields = require "oauthconnect.profile_fields"
local pagination = require "oauthconnect.pagination"

local type, pairs, ipairs, next, tostring, error, pcall = type, pairs, ipairs, next, tostring, error, pcall

local _M = {}

-- A profile file is data, not code: a few KiB. Anything larger is a mistake.
local FILE_MAX = 256 * 1024

-- Names: the settings file is named after a profile's name, so no path
-- separators, no dots, nothing a shell would quote.
local NAME_PATTERN = "^[%w][%w_%-]*$"
local NAME_MAX = 64

local CLIENT_AUTH = { body = true, basic = true, basic_raw = true, json = true }

local function is_name(s)
  return type(s) == "string" and #s <= NAME_MAX and s:find(NAME_PATTERN) ~= nil
end
--- Whether s can name a provider (letters, digits, `-` and `_`, at most 64).
-- @function is_name
-- @param s any value
-- @treturn boolean
_M.is_name = is_name

-- The type of a value as a profile's author wrote it.
local function kind_of(v)
  if v == json.null then return "null" end
  if type(v) == "table" then
    if next(v) == nil then return "empty table" end
    return v[1] ~= nil and "array" or "object"
  end
  return type(v)
end

-- Whether t is an array (keys 1..n, nothing else); {} is one.
local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" then return false end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

-- A problem with a field: nil, { field, message, code }.
local function problem(field, message, code)
  return nil, { field = field, message = message, code = code or "invalid_argument" }
end

local function wrong_type(field, want, v)
  return problem(field, ("field '%s' must be %s, not %s"):format(field, want, kind_of(v)))
end

-- The value of one field, checked (and normalized: a pagination alias
-- becomes its style's name; a number becomes an integer), or nil, problem.
local check_value

local function check_table(field, spec, v)
  if type(v) ~= "table" or (next(v) ~= nil and v[1] ~= nil) then return wrong_type(field, "an object", v) end
  local out = {}
  for k, sv in pairs(v) do
    local sub = type(k) == "string" and spec.fields[k]
    local name = field .. "." .. tostring(k)
    if not sub then return problem(name, ("field '%s' is unknown"):format(name)) end
    local value, p = check_value(name, sub, sv)
    if value == nil then return nil, p end
    out[k] = value
  end
  for k, sub in pairs(spec.fields) do
    if sub.required and out[k] == nil then
      return problem(field .. "." .. k, ("field '%s.%s' is required"):format(field, k))
    end
  end
  return out
end

function check_value(field, spec, v)
  local t = spec.type
  if t == "string" or t == "url" or t == "client_auth" or t == "pagination" then
    if type(v) ~= "string" then return wrong_type(field, "a string", v) end
  end
  if t == "string" then
    if field == "name" and not is_name(v) then
      return problem(field, ("field 'name': '%s' is not a provider name (letters, digits, - and _, "
        .. "at most %d)"):format(v, NAME_MAX))
    end
    return v
  elseif t == "url" then
    -- the API URL may name the store as {StoreId}; the core fills it in
    local ok, err = core.check_url((v:gsub("{StoreId}", "store")), field)
    if not ok then
      local message = tostring(err):gsub("^" .. field .. ": ", "")
      return problem(field, ("field '%s': %s"):format(field, message), err.code)
    end
    return v
  elseif t == "client_auth" then
    if not CLIENT_AUTH[v] then
      return problem(field, ("field '%s' must be \"body\", \"basic\", \"basic_raw\" or \"json\", not \"%s\"")
        :format(field, v))
    end
    return v
  elseif t == "pagination" then
    if pagination.ALIASES[v] then return pagination.ALIASES[v] end
    for _, style in ipairs(pagination.STYLES) do
      if v == style then return v end
    end
    return problem(field, ("field '%s': '%s' is not a pagination style (%s)"):format(field, v,
      table.concat(pagination.STYLES, ", ")))
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return wrong_type(field, "true or false", v) end
    return v
  elseif t == "number" then
    if type(v) ~= "number" then return wrong_type(field, "a number", v) end
    if v % 1 ~= 0 or v < 1 or v > 1000000 then
      return problem(field, ("field '%s' must be a whole number from 1 to 1000000, not %s"):format(field,
        tostring(v)))
    end
    return math.tointeger and math.tointeger(v) or v
  elseif t == "names" or t == "strings" then
    if type(v) ~= "table" or not is_array(v) then return wrong_type(field, "an array of strings", v) end
    local out = {}
    for i, s in ipairs(v) do
      if type(s) ~= "string" then return wrong_type(("%s[%d]"):format(field, i), "a string", s) end
      if t == "names" and not is_name(s) then
        return problem(field, ("field '%s': '%s' is not a provider name (letters, digits, - and _)")
          :format(field, s))
      end
      out[i] = s
    end
    return out
  elseif t == "table" then
    return check_table(field, spec, v)
  end
  error("profile_fields.lua: field " .. field .. " has the unknown type " .. tostring(t))
end

--- Checks a profile table against the field list.
-- t checked against the field list: a new table, or nil, problem
-- ({ field, message, code }: invalid_argument for a field no profile has or
-- a value of the wrong type, insecure_url or bad_value for an endpoint).
-- @tparam table t the profile
-- @treturn[1] table the checked copy (pagination aliases resolved)
-- @return[2] nil
-- @treturn[2] table the problem `{field, message, code [, unknown]}`
function _M.check(t)
  local out = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then
      return problem(nil, ("keys must be field names, not %s"):format(type(k)))
    end
    local spec = fields.by_name[k]
    if not spec then
      local _, p = problem(k, ("field '%s' is unknown"):format(k))
      p.unknown = true
      return nil, p
    end
    local value, p = check_value(k, spec, v)
    if value == nil then return nil, p end
    out[k] = value
  end
  return out
end

-- The problem of a file as an error object: code bad_value (a file is
-- configuration), the property that named it when one did, field and path.
local function file_error(path, property, message, field)
  local prefix = property and (property .. ": ") or ""
  return core.error("bad_value", prefix .. message, { property = property, field = field, path = path })
end

--- Loads and checks a profile file.
-- The profile in the JSON file at path, checked: a table, or nil, err.
-- property names the connection property the path came from (for messages).
-- @string path the file
-- @tparam ?string property the property that named it
-- @treturn[1] table the profile
-- @return[2] nil
-- @treturn[2] oauthconnect.err code `bad_value`, with `field` and `path`
function _M.load_file(path, property)
  local text, rerr = core.read_data_file(path, "profile file", FILE_MAX)
  if text == false then
    return nil, file_error(path, property, ("the profile file %s does not exist"):format(path))
  end
  if not text then return nil, file_error(path, property, rerr) end
  local ok, t = pcall(json.decode, text)
  if not ok then
    return nil, file_error(path, property, ("the profile file %s is not JSON: %s"):format(path,
      tostring(t):gsub("^[^:]*:%d+: ", "")))
  end
  if type(t) ~= "table" or (next(t) ~= nil and t[1] ~= nil) then
    return nil, file_error(path, property, ("the profile file %s is not a JSON object"):format(path))
  end
  local profile, p = _M.check(t)
  if not profile then
    return nil, file_error(path, property, ("profile file %s: %s"):format(path, p.message), p.field)
  end
  return profile
end

-- ---- the built-in profiles ---------------------------------------------------------

-- package.path with each "?.lua" template turned into "?.json": the
-- built-in profiles are found where the modules are (a tree, an install
-- prefix, lua_package_path in nginx).
local function json_path()
  local templates = {}
  for template in package.path:gmatch("[^;]+") do
    if template:sub(-5) == "?.lua" then templates[#templates + 1] = template:sub(1, -4) .. "json" end
  end
  return table.concat(templates, ";")
end

--- The file of a built-in profile.
-- The file of the built-in profile name, or nil.
-- @string name the provider's name
-- @treturn ?string the path
function _M.builtin_path(name)
  if not is_name(name) then return nil end
  return (package.searchpath("oauthconnect.profiles." .. name, json_path()))
end

--- Where built-in profiles may be.
-- The directories the built-in profiles may be in, in package.path's order.
-- @treturn {string,...} the directories
function _M.builtin_dirs()
  local dirs, seen = {}, {}
  for template in package.path:gmatch("[^;]+") do
    local prefix = template:match("^(.*)%?%.lua$")
    if prefix then
      local dir = prefix .. "oauthconnect/profiles"
      if not seen[dir] then
        seen[dir] = true
        dirs[#dirs + 1] = dir
      end
    end
  end
  return dirs
end

local builtins = {}

--- A built-in profile, loaded once.
-- The built-in profile name (its file's name), checked and kept for the
-- process: a table, or nil, err. A file whose name field is not its file
-- name is refused: the registry and the settings files go by that name.
-- @string name the provider's name
-- @treturn[1] table the profile
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M.builtin(name)
  if builtins[name] then return builtins[name] end
  local path = _M.builtin_path(name)
  if not path then
    return nil, core.error("invalid_argument", ("no built-in provider profile '%s'"):format(tostring(name)))
  end
  local profile, err = _M.load_file(path)
  if not profile then return nil, err end
  if profile.name ~= name then
    return nil, file_error(path, nil, ("profile file %s: field 'name' must be \"%s\", the file's name")
      :format(path, name), "name")
  end
  builtins[name] = profile
  return profile
end

-- ---- what a caller gives ---------------------------------------------------------

-- What describes the custom profile itself rather than a default.
local NOT_INHERITED = { description = true, aliases = true }

--- A profile laid over the custom one.
-- profile laid over the custom one: what it leaves out keeps the custom
-- profile's safe defaults (PKCE on, above all).
-- @tparam table profile a checked profile
-- @treturn table the merged profile
function _M.over_custom(profile)
  local merged = {}
  for k, v in pairs(assert(_M.builtin("custom"))) do
    if not NOT_INHERITED[k] then merged[k] = v end
  end
  for k, v in pairs(profile) do merged[k] = v end
  return merged
end

local function expand_home(path)
  if path == "~" or path:sub(1, 2) == "~/" then
    local home = os.getenv("HOME")
    if home and home ~= "" then return home .. path:sub(2) end
  end
  return path
end

--- The profile a `Profile=` property names.
-- The profile a Profile= value names: the file (~ expanded) checked and laid
-- over the custom profile; a file without a name is named after itself
-- (acme.json: "acme"), and one without a title takes its name. A table, or
-- nil, err (code bad_value, property Profile, and field when one is at fault).
-- @string value the property's value (a path)
-- @tparam[opt="Profile"] string property the property's name, for messages
-- @treturn[1] table the profile
-- @return[2] nil
-- @treturn[2] oauthconnect.err why not
function _M.from_property(value, property)
  property = property or "Profile"
  if type(value) ~= "string" or value == "" then
    return nil, core.error("bad_value", property .. ": expected the path of a profile file",
      { property = property })
  end
  local path = expand_home(value)
  local profile, err = _M.load_file(path, property)
  if not profile then return nil, err end
  local stem = path:match("([^/]+)%.[jJ][sS][oO][nN]$") or path:match("([^/]+)$")
  if profile.name == nil and is_name(stem) then profile.name = stem end
  if profile.title == nil and profile.name ~= nil then profile.title = profile.name end
  return _M.over_custom(profile)
end

return _M
