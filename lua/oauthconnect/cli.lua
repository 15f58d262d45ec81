--- The `oauthconnect` command (bin/oauthconnect).
-- The `oauthconnect` command: log in once, then get a fresh token or data
-- from shell, cron or CI. bin/oauthconnect calls run(arg).
--
-- Exit codes: 0 ok, 1 API or network error, 2 usage, 3 authentication.
-- @module oauthconnect.cli

local argparse = require "argparse"
local dkjson = require "dkjson"
local term = require "term"
local json = require "oauthconnect.json"
local core = require "oauthconnect.core"
-- The providers (their names, aliases and modules) are the registry's.
local providers = require "oauthconnect.providers"

local _M = {}

local EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_AUTH = 0, 1, 2, 3

-- Error codes that mean "log in (again)" rather than "the API said no".
local AUTH_CODES = {
  unauthorized = true, oauth_error = true, no_token = true, access_denied = true,
  state_mismatch = true, login_failed = true,
}

local CliError = {}
CliError.__index = CliError

local function fail(code, message)
  error(setmetatable({ exit = code, message = message }, CliError), 0)
end

-- Error codes that mean "the configuration is wrong": the connection's
-- properties, or a settings store the user has to fix.
local CONFIG_CODES = {
  syntax_error = true, unknown_property = true, bad_value = true, missing_property = true,
  unsupported = true, insecure_url = true, settings_error = true,
}

-- Ctrl-C: lua.c's handler raises "interrupted!" at the next Lua instruction.
local EXIT_INTERRUPTED = 130 -- 128 + SIGINT, as shells report it
local function is_interrupt(err)
  return type(err) == "string" and err:match("interrupted!$") ~= nil
end

local function exit_for(err)
  if type(err) == "table" and AUTH_CODES[err.code] then return EXIT_AUTH end
  if type(err) == "table" and CONFIG_CODES[err.code] then return EXIT_USAGE end
  return EXIT_API
end

local function config_dir()
  local xdg = os.getenv("XDG_CONFIG_HOME")
  if xdg and xdg:sub(1, 1) == "/" then return xdg .. "/oauthconnect" end
  return (os.getenv("HOME") or ".") .. "/.config/oauthconnect"
end

-- The named profiles of ~/.config/oauthconnect/connections.json:
--   { "jumpseller": "InitiateOAuth=...;...",
--     "myshop": { "provider": "jumpseller", "connection": "..." or { ... } } }
local function read_profiles()
  local path = config_dir() .. "/connections.json"
  -- It holds client secrets: read as the settings file is, refused when
  -- group or others could read or replace it.
  local text, err = core.read_private_file(path, "connections file")
  if text == false then return {}, path end
  if not text then fail(EXIT_USAGE, tostring(err)) end
  local ok, t = pcall(json.decode, text)
  if not ok or type(t) ~= "table" then fail(EXIT_USAGE, path .. " is not a JSON object") end
  return t, path
end

local function unknown(name, path)
  fail(EXIT_USAGE, ("unknown provider or profile '%s': use %s, a profile of %s, or a connection with "
    .. "Profile=FILE"):format(name, providers.help(), path))
end

-- The provider module and the connection options for a command, from
-- --connection, then OAUTHCONNECT_<PROVIDER>, then the config file. The
-- provider is the registry's, by name or alias (the command's, or the
-- config entry's "provider"); a connection with Profile= runs the profile
-- file it names instead, so any name can stand for it.
local function resolve(args)
  local name = args.provider
  local profiles, path = read_profiles()
  local entry = profiles[args.profile or name]
  local provider = providers.resolve(name)
  if not provider and type(entry) == "table" and type(entry.provider) == "string" then
    provider = providers.resolve(entry.provider)
    if not provider then
      fail(EXIT_USAGE, ("profile '%s' of %s names the unknown provider '%s': use %s"):format(name, path,
        entry.provider, providers.help()))
    end
  end
  local options
  if args.connection then
    options = args.connection
  else
    local env = "OAUTHCONNECT_" .. name:upper():gsub("[^%w]", "_")
    options = os.getenv(env)
    if not options and entry ~= nil then
      options = type(entry) == "table" and entry.connection or entry
    end
    if not options then
      if not provider then unknown(name, path) end
      fail(EXIT_USAGE, ("no connection for %s: give --connection, set %s, or add \"%s\" to %s"):format(
        name, env, args.profile or name, path))
    end
  end
  -- The command keeps tokens unless told otherwise.
  -- Names are made canonical (they are case-insensitive) so that commands
  -- can read and override a property by its one spelling.
  local props = {}
  if type(options) == "string" then
    local parsed, err = core.parse(options)
    if not parsed then fail(EXIT_USAGE, tostring(err)) end
    props = parsed
  elseif type(options) == "table" then
    for k, v in pairs(options) do
      local pname = type(k) == "string" and core.property_name(k) or k
      if props[pname] ~= nil then fail(EXIT_USAGE, ("the connection gives %s twice"):format(pname)) end
      props[pname] = v
    end
  else
    fail(EXIT_USAGE, "a connection must be a connection string or an object")
  end
  if props.InitiateOAuth == nil then props.InitiateOAuth = "GETANDREFRESH" end
  if props.Profile ~= nil then
    -- read here, so the messages (Logged in to <title>) and the commands
    -- that use the profile without connecting (logout, status) have it
    local loaded, err = require("oauthconnect.profile").from_property(props.Profile)
    if not loaded then fail(EXIT_USAGE, tostring(err)) end
    return require("oauthconnect.provider").module(loaded), props
  end
  if not provider then unknown(name, path) end
  return providers.module(provider), props
end

-- Output: pretty JSON on a terminal, compact otherwise. dkjson writes it
-- (cjson cannot indent); cjson's null becomes JSON null.
local function encoder_options(pretty)
  return {
    indent = pretty,
    keyorder = nil,
    exception = function(_reason, value, _state, default)
      if value == json.null then return "null" end
      return nil, default
    end,
  }
end

local function to_json(value, pretty)
  local text, err = dkjson.encode(value, encoder_options(pretty))
  if not text then fail(EXIT_API, "cannot write the answer as JSON: " .. tostring(err)) end
  return text
end

-- fn(props) (mod.connect, mod.login), with what it raises (an option of
-- the wrong type in the connection object) turned into a usage error.
local function try(fn, props)
  local ok, value, err = pcall(fn, props)
  if not ok then
    if is_interrupt(value) then error(value, 0) end
    fail(EXIT_USAGE, (tostring(value):gsub("^[^:]*:%d+: ", "")))
  end
  return value, err
end

-- Connects without ever starting the browser login (InitiateOAuth
-- GETANDREFRESH held back to REFRESH, which still refreshes and persists).
local function connect_without_login(args, mod, props)
  local hold = props.InitiateOAuth
  if type(hold) == "string" and hold:upper():find("^%s*GET") then props.InitiateOAuth = "REFRESH" end
  local client, err = try(mod.connect, props)
  props.InitiateOAuth = hold
  if not client and type(err) == "table" and err.code == "no_token" and props.OAuthRefreshToken == nil then
    fail(EXIT_AUTH, ("not logged in to %s: nothing is stored for this connection; run "
      .. "`oauthconnect login %s` once at a terminal"):format(mod.profile.title, args.provider))
  end
  return client, err
end

-- A browser login needs someone to open the address printed on stderr: off
-- a terminal (cron, CI) no command but login starts one, so a script fails
-- at once instead of waiting LoginTimeout for a browser that never comes.
local function connect(args, mod, props)
  local client, err
  if term.isatty(io.stderr) then
    client, err = try(mod.connect, props)
  else
    client, err = connect_without_login(args, mod, props)
  end
  if not client then error(err, 0) end
  return client
end

local function parse_query(list)
  local q = {}
  for _, item in ipairs(list or {}) do
    local k, v = item:match("^([^=]+)=(.*)$")
    if not k then fail(EXIT_USAGE, ("--query %s: expected name=value"):format(item)) end
    if q[k] == nil then q[k] = v
    elseif type(q[k]) == "table" then table.insert(q[k], v)
    else q[k] = { q[k], v } end
  end
  return next(q) and q or nil
end

local function read_data(spec)
  if not spec then return nil end
  local text = spec
  if spec:sub(1, 1) == "@" then
    local name = spec:sub(2)
    local f = name == "-" and io.stdin or io.open(name, "rb")
    if not f then fail(EXIT_USAGE, "--data: cannot read " .. name) end
    text = f:read("a")
    if f ~= io.stdin then f:close() end
  end
  if not pcall(json.decode, text) then fail(EXIT_USAGE, "--data is not valid JSON") end
  return text
end

-- ---- commands --------------------------------------------------------------------

local commands = {}

function commands.login(args, mod, props)
  -- a login is for the tokens kept after it: refused before the browser opens
  local where = props.OAuthSettingsLocation
  if type(where) == "string" and where:lower():find("^%s*memory://") then
    fail(EXIT_USAGE, "login keeps nothing with OAuthSettingsLocation=" .. where
      .. ": its tokens would be gone when the command ends; use a file or redis:// location")
  end
  local token, err = try(mod.login, props)
  if not token then error(err, 0) end
  local when = token.expires_at and os.date("!%Y-%m-%dT%H:%M:%SZ", token.expires_at) or "never"
  io.stderr:write(("Logged in to %s; the access token expires %s.\n"):format(mod.profile.title, when))
end

function commands.token(args, mod, props)
  local client = connect(args, mod, props)
  local token, err = client:token()
  if not token then error(err, 0) end
  io.stdout:write(token.access_token, "\n")
  client:close()
end

local function call(args, mod, props, method)
  local client = connect(args, mod, props)
  local query = parse_query(args.query)
  local data = read_data(args.data)
  local value, res
  if method == "GET" then value, res = client:get(args.path, query)
  elseif method == "DELETE" then value, res = client:delete(args.path, query)
  elseif method == "POST" then value, res = client:post(args.path, data or "", query)
  else value, res = client:put(args.path, data or "", query) end
  client:close()
  if value == nil then error(res, 0) end
  if value == true then return end -- no body
  -- dkjson marks what it decodes as object or array, so an empty {} is
  -- written back as {} (lua-cjson's tables cannot tell {} from [])
  local marked = dkjson.decode(res.body, 1, dkjson.null)
  io.stdout:write(to_json(marked ~= nil and marked or value, term.isatty(io.stdout)), "\n")
end

-- The header line(s) that authenticate a request now, "Name: value".
function commands.header(args, mod, props)
  local client = connect(args, mod, props)
  local headers, err = client:authorize()
  client:close()
  if not headers then error(err, 0) end
  for name, value in pairs(headers) do io.stdout:write(name, ": ", value, "\n") end
end

-- ---- curl with the credentials ---------------------------------------------------------

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- A file only this user can read (os.tmpname creates it 0600), holding text.
local function private_file(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text or "")
  f:close()
  return path
end

-- The status of the last answer curl wrote to its header dump (0 when none).
local function last_status(path)
  local f = io.open(path, "rb")
  if not f then return 0 end
  local status = 0
  for line in f:lines() do
    local s = line:match("^HTTP/[%d.]+ (%d%d%d)")
    if s then status = tonumber(s) end
  end
  f:close()
  return status
end

-- Runs curl with the credentials in a header file curl reads (-H @file),
-- so no secret is in its command line; stdout goes to out_path when given.
-- Returns curl's exit status and the answer's HTTP status.
local function run_curl(headers, curl_args, out_path)
  local lines = {}
  for name, value in pairs(headers) do lines[#lines + 1] = name .. ": " .. value end
  local hfile = private_file(table.concat(lines, "\r\n") .. (#lines > 0 and "\r\n" or ""))
  local dump = private_file("")
  local cmd = { "curl", "-D", shell_quote(dump) }
  if #lines > 0 then cmd[#cmd + 1] = "-H @" .. shell_quote(hfile) end
  for _, a in ipairs(curl_args) do cmd[#cmd + 1] = shell_quote(a) end
  if out_path then cmd[#cmd + 1] = ">" .. shell_quote(out_path) end
  local ok, how, code = os.execute(table.concat(cmd, " "))
  local status = last_status(dump)
  os.remove(hfile)
  os.remove(dump)
  if type(ok) == "number" then code = math.floor(ok / 256) end -- Lua 5.1: the wait status
  if how == "signal" then code = 128 + code end
  return ok == true and 0 or code or 1, status
end

-- Options curl would use to reach another host with the URL's name, or to
-- read more arguments (URLs among them) from a file: never with a token.
local CURL_REFUSED = {
  ["-K"] = true, ["--config"] = true, ["--connect-to"] = true, ["--resolve"] = true,
  ["--unix-socket"] = true, ["--abstract-unix-socket"] = true,
}

-- The options of the curl on this machine that take a value, read from its
-- own `curl --help all` ("-d, --data <data>", "--cacert <file>"), so that
-- an option's value is never taken for a URL and no URL is taken for one.
local curl_value_options
local function value_options()
  if curl_value_options then return curl_value_options end
  local p = io.popen("curl --help all 2>/dev/null")
  local text = p and p:read("a") or ""
  if p then p:close() end
  local set, n = {}, 0
  for line in text:gmatch("[^\n]+") do
    local short, long = line:match("^%s+(%-%S), (%-%-[%w%.%-]+) <")
    long = long or line:match("^%s+(%-%-[%w%.%-]+) <")
    if short then set[short] = true end
    if long then set[long], n = true, n + 1 end
  end
  if n == 0 then fail(EXIT_USAGE, "curl: cannot read the options of this machine's curl (curl --help all)") end
  curl_value_options = set
  return set
end

local function refuse_option(o)
  fail(EXIT_USAGE, ("curl: %s is refused: the token goes only to the API's URL"):format(o))
end

-- The URLs among curl's arguments (the words that are neither options nor
-- their values, and --url's values); raises for an option that could send
-- the request elsewhere.
local function curl_urls(argv)
  local takes, urls, i = value_options(), {}, 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do urls[#urls + 1] = { j, argv[j] } end
      break
    elseif a:sub(1, 2) == "--" then
      if CURL_REFUSED[a] then refuse_option(a) end
      if a == "--url" then urls[#urls + 1] = { i + 1, argv[i + 1] or "" } end
      if takes[a] then i = i + 1 end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      for j = 2, #a do
        local o = "-" .. a:sub(j, j)
        if CURL_REFUSED[o] then refuse_option(o) end
        if takes[o] then
          if j == #a then i = i + 1 end -- the value is the next word, else the rest of this one
          break
        end
      end
    else
      urls[#urls + 1] = { i, a }
    end
    i = i + 1
  end
  return urls
end

-- Raises unless every URL curl would fetch is of the API's origin: the
-- token in the header file goes to each of them.
local function check_curl_targets(client, argv)
  local api = client:api_url()
  for _, u in ipairs(curl_urls(argv)) do
    if not core.same_origin(u[2], api) then
      fail(EXIT_USAGE, ("curl: argument %d is not a URL of the API's origin (%s), the only place the token "
        .. "goes; give the API's absolute URL"):format(u[1], api:match("^%a[%w+.-]*://[^/?#]*") or api))
    end
  end
end

-- oauthconnect curl PROVIDER [curl arguments...]: curl with the
-- connection's credentials; after a 401, once more when rejected() says
-- other credentials are in place. Exits with curl's status (its own
-- failures keep it), or 3 when no credentials can be had.
function commands.curl(args, mod, props)
  local client = connect(args, mod, props)
  local checked, refusal = pcall(check_curl_targets, client, args.curl_args)
  if not checked then
    client:close()
    error(refusal, 0)
  end
  local headers, ticket = client:authorize()
  if not headers then
    client:close()
    error(ticket, 0)
  end
  -- the first answer is held back: a 401's body is not the one wanted
  local held = private_file("")
  local code, status = run_curl(headers, args.curl_args, held)
  if status == 401 then
    local ok, err = client:rejected(ticket)
    if ok then
      os.remove(held)
      headers, ticket = client:authorize()
      if not headers then
        client:close()
        error(ticket, 0)
      end
      code = run_curl(headers, args.curl_args)
      client:close()
      return code
    end
    io.stderr:write("oauthconnect: ", tostring(err), "\n")
  end
  local f = io.open(held, "rb")
  if f then
    io.stdout:write(f:read("a"))
    f:close()
  end
  os.remove(held)
  client:close()
  return code
end

function commands.get(args, mod, props) call(args, mod, props, "GET") end
function commands.post(args, mod, props) call(args, mod, props, "POST") end
function commands.put(args, mod, props) call(args, mod, props, "PUT") end
function commands.delete(args, mod, props) call(args, mod, props, "DELETE") end

-- "1 item", "2 items"
local function count(n, noun) return ("%d %s%s"):format(n, noun, n == 1 and "" or "s") end

-- A progress line on a terminal's stderr: items, pages, rate.
local function progress_meter()
  if not term.isatty(io.stderr) then return nil end
  local clock = require("system").monotime
  local start, last, items, pages = clock(), 0, 0, 0
  local meter = {}
  function meter.page(_n) pages = pages + 1 end
  function meter.item()
    items = items + 1
    local now = clock()
    if now - last >= 0.1 then
      last = now
      io.stderr:write(("\r%s, %s, %.0f items/s "):format(count(items, "item"), count(pages, "page"),
        items / math.max(now - start, 1e-6)))
    end
  end
  function meter.done()
    local now = clock()
    io.stderr:write(("\r%s, %s, %.0f items/s\n"):format(count(items, "item"), count(pages, "page"),
      items / math.max(now - start, 1e-6)))
  end
  return meter
end

-- CSV (RFC 4180): nested values flattened to dotted names, tables that are
-- not objects written as JSON; columns are the union of every item's names.
local function flatten(value, prefix, out)
  for k, v in pairs(value) do
    local name = prefix .. tostring(k)
    if type(v) == "table" and next(v) ~= nil and v[1] == nil then
      flatten(v, name .. ".", out)
    elseif type(v) == "table" or v == json.null then
      out[name] = v == json.null and "" or to_json(v, false)
    else
      out[name] = tostring(v)
    end
  end
  return out
end

local function csv_field(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

function commands.export(args, mod, props)
  local client = connect(args, mod, props)
  local out = io.stdout
  -- --output is written beside the file and renamed over it at the end:
  -- an export that fails half-way leaves yesterday's file as it was.
  -- (A device or a pipe, /dev/null say, is written as it is.)
  local temp
  if args.output and args.output ~= "-" then
    local q = "'" .. args.output:gsub("'", "'\\''") .. "'"
    local r = os.execute("test -e " .. q .. " && test ! -f " .. q)
    if r == true or r == 0 then -- (0: LuaJIT's os.execute)
      out = io.open(args.output, "w")
    else
      temp = args.output .. ".part"
      out = io.open(temp, "w")
    end
    if not out then fail(EXIT_USAGE, "--output: cannot write " .. (temp or args.output)) end
  end
  local meter = progress_meter()
  local format = args.format
  local rows, n = {}, 0
  if format == "json" then out:write("[") end
  local ok, err = pcall(function()
    for item in client:each(args.path, parse_query(args.query),
        { in_flight = args.in_flight, on_page = meter and meter.page }) do
      n = n + 1
      if format == "ndjson" then
        out:write(to_json(item, false), "\n")
      elseif format == "json" then
        out:write(n > 1 and ",\n" or "\n", to_json(item, false))
      else
        rows[n] = flatten(type(item) == "table" and item or { value = item }, "", {})
      end
      if meter then meter.item() end
    end
  end)
  if meter then meter.done() end
  if not ok then
    if out ~= io.stdout then out:close() end
    if temp then os.remove(temp) end
    client:close()
    error(err, 0)
  end
  if format == "json" then out:write(n > 0 and "\n]\n" or "]\n") end
  if format == "csv" then
    local seen, columns = {}, {}
    for _, row in ipairs(rows) do
      for k in pairs(row) do
        if not seen[k] then seen[k] = true; columns[#columns + 1] = k end
      end
    end
    table.sort(columns)
    local head = {}
    for i, c in ipairs(columns) do head[i] = csv_field(c) end
    out:write(table.concat(head, ","), "\r\n")
    for _, row in ipairs(rows) do
      local cells = {}
      for i, c in ipairs(columns) do cells[i] = csv_field(row[c] or "") end
      out:write(table.concat(cells, ","), "\r\n")
    end
  end
  if out ~= io.stdout and not temp then out:close() end
  if temp then
    local closed, cerr = out:close()
    local renamed, rerr
    if closed then renamed, rerr = os.rename(temp, args.output) end
    if not renamed then
      os.remove(temp)
      client:close()
      fail(EXIT_API, "--output: cannot write " .. args.output .. ": " .. tostring(cerr or rerr))
    end
  end
  client:close()
end

function commands.logout(args, mod, props)
  -- Only the store (and the revocation endpoint): no login when nothing is
  -- stored, no refresh when the stored token is due or already refused.
  local handle, err = core.client(props, mod.profile)
  if not handle then error(err, 0) end
  local ok, ferr = handle:forget(not args["local"])
  handle:close()
  if not ok and not (ferr.code == "unsupported" and ferr.property == "OAuthRevocationURL") then
    error(ferr, 0)
  end
  if not ok then io.stderr:write("Note: ", tostring(ferr), ".\n") end
  io.stderr:write(("Logged out of %s: no tokens are stored for this connection now.\n"):format(
    mod.profile.title))
end

local function dig(t, dotted)
  for part in dotted:gmatch("[^.]+") do
    if type(t) ~= "table" then return nil end
    t = t[part]
  end
  return t
end

-- The lines status shows of a token: when it expires (or expired), its scope.
local function token_lines(lines, token)
  local left = token.expires_at and token.expires_at - os.time()
  lines[#lines + 1] = not left and "token expires: never"
    or ("token %s: %s (%s)"):format(left > 0 and "expires" or "expired",
      os.date("!%Y-%m-%dT%H:%M:%SZ", token.expires_at), left > 0 and ("in %d s"):format(left)
        or ("%d s ago"):format(-left))
  if token.scope then lines[#lines + 1] = "scope: " .. token.scope end
end

-- When the stored token cannot be made usable (its refresh refused, the
-- server down), what is stored is still shown, then the error: read
-- without the network, refreshing nothing.
local function stored_status(mod, props)
  local hold = props.InitiateOAuth
  if type(hold) == "string" and hold:upper():find("^%s*GET") then props.InitiateOAuth = "REFRESH" end
  local ok, handle = pcall(core.client, props, mod.profile)
  props.InitiateOAuth = hold
  if not ok or not handle then return end
  local token = handle:call_token("loaded"):run() and handle:current_token()
  local lines = { ("provider: %s (%s)"):format(mod.profile.title, handle:api_url()) }
  handle:close()
  if not token then return end
  token_lines(lines, token)
  lines[#lines + 1] = "logged in as: unknown (the token could not be refreshed; the error follows)"
  io.stdout:write(table.concat(lines, "\n"), "\n")
end

function commands.status(args, mod, props)
  local client, err = connect_without_login(args, mod, props) -- status never opens a browser
  if not client then
    stored_status(mod, props)
    error(err, 0)
  end
  local lines = { ("provider: %s (%s)"):format(mod.profile.title, client:api_url()) }
  local token = client:token()
  if token then token_lines(lines, token) end
  local who, werr = mod.profile.whoami, nil
  if who then
    local body, err_or_res = client:get(who.path)
    if body then
      local parts = {}
      for _, f in ipairs(who.show) do
        local v = dig(body, f)
        if v ~= nil and v ~= json.null then parts[#parts + 1] = tostring(v) end
      end
      lines[#lines + 1] = "logged in as: " .. table.concat(parts, ", ")
    else
      werr = err_or_res
      lines[#lines + 1] = "logged in as: unknown (the error follows)"
    end
  end
  client:close()
  io.stdout:write(table.concat(lines, "\n"), "\n")
  -- a status whose check failed is no success: the exit code says which failure
  if werr then error(werr, 0) end
end

-- ---- the parser -----------------------------------------------------------------------

local function build_parser()
  local titles = {} -- the providers with an API of their own (custom has none)
  for _, p in ipairs(providers.list()) do
    if p.api_url then titles[#titles + 1] = p.title end
  end
  local parser = argparse("oauthconnect", ("OAuth 2 connections to %s and any OAuth 2 server, for shell, cron "
    .. "and CI."):format(table.concat(titles, ", ")))
    :epilog([[
The connection comes from --connection, else the environment variable
OAUTHCONNECT_<PROVIDER> (e.g. OAUTHCONNECT_JUMPSELLER), else the entry of that
name (or --profile) in ~/.config/oauthconnect/connections.json. It takes the
library's connection properties; InitiateOAuth defaults to GETANDREFRESH.
A connection with Profile=FILE runs the provider profile in that JSON file,
under any name.

Exit codes: 0 ok, 1 API or network error, 2 usage, 3 authentication.]])
  parser:command_target("command")
  parser:require_command(true)
  -- as --help does, print and exit: no command is needed
  parser:flag("--version", "Print the version (the library's) and exit."):action(function()
    io.stdout:write("oauthconnect ", core._VERSION, "\n")
    os.exit(0)
  end)
  local by_name = {}
  local function command(name, description)
    by_name[name] = parser:command(name, description)
    return by_name[name]
  end
  local function common(cmd)
    cmd:argument("provider", ("%s, or a name in connections.json"):format(providers.help()))
    cmd:option("-c --connection", "connection string (overrides the environment and the config file)")
    cmd:option("--profile", "entry of connections.json to use (default: the provider's name)")
    return cmd
  end
  common(command("login", "Log in through the browser and store the tokens."))
  common(command("token", "Print a valid access token (refreshed first when due)."))
  for _, verb in ipairs({ "get", "post", "put", "delete" }) do
    local cmd = common(command(verb, verb:upper() .. " a path of the API and print the JSON answer."))
    cmd:argument("path", "path under the API URL, e.g. /store/info.json")
    cmd:option("-q --query", "query parameter name=value (repeatable)"):count("*")
    if verb == "post" or verb == "put" then
      cmd:option("-d --data", "JSON body, or @file (@- for stdin)")
    end
  end
  local export = common(command("export", "Walk every page of a collection and write its items."))
  export:argument("path", "collection path, e.g. /orders.json")
  export:option("-q --query", "query parameter name=value (repeatable)"):count("*")
  export:option("-f --format", "ndjson, csv or json"):choices({ "ndjson", "csv", "json" }):default("ndjson")
  export:option("-o --output", "write to FILE instead of stdout")
  export:option("--in-flight", "pages fetched at once (1-32)"):default("1"):convert(function(v)
    local n = tonumber(v)
    if not n or n < 1 or n > 32 or n % 1 ~= 0 then return nil, "in-flight must be a whole number from 1 to 32" end
    return n
  end)
  common(command("header", "Print the header line(s) that authenticate a request now (Name: value)."))
  local curl = common(command("curl", "Run curl with the connection's credentials, passed in a header file "
    .. "(never on the command line); once more after a 401 when other credentials are in place."))
  curl:argument("curl_args", "curl's own arguments (after the provider)"):args("*")
  local logout = common(command("logout", "Revoke the stored tokens at the server (RFC 7009, when it names "
    .. "a revocation endpoint), then remove them; removed even when the server does not confirm."))
  logout:flag("--local", "only remove the stored tokens; do not ask the server to revoke them")
  common(command("status", "Show who is logged in and when the token expires (never the token)."))
  return parser, by_name
end

-- `curl PROVIDER args...` hands curl every word after the provider, its
-- options included (our own -c and --profile go before the provider).
local function split_curl(argv)
  if argv[1] ~= "curl" then return argv, nil end
  local mine, i = { "curl" }, 2
  while argv[i] and argv[i]:sub(1, 1) == "-" do
    mine[#mine + 1] = argv[i]
    if not argv[i]:find("=", 1, true) and (argv[i] == "-c" or argv[i] == "--connection" or argv[i] == "--profile") then
      i = i + 1
      mine[#mine + 1] = argv[i]
    end
    i = i + 1
  end
  if not argv[i] then return mine, nil end
  mine[#mine + 1] = argv[i]
  local rest = {}
  for k = i + 1, #argv do rest[#rest + 1] = argv[k] end
  return mine, rest
end

--- Runs the command.
-- @tparam {string,...} argv the arguments (Lua's `arg`)
-- @treturn int the exit code
function _M.run(argv)
  local parser, commands_by_name = build_parser()
  local curl_args
  argv, curl_args = split_curl(argv)
  local ok, args = parser:pparse(argv)
  if ok and args.command == "curl" then args.curl_args = curl_args or {} end
  if not ok then
    -- the usage of the command given, if one was: it says what it lacks
    local usage = parser:get_usage()
    for _, word in ipairs(argv) do
      if word:sub(1, 1) ~= "-" then
        if commands_by_name[word] then usage = commands_by_name[word]:get_usage() end
        break
      end
    end
    io.stderr:write(usage, "\n", "oauthconnect: ", args, "\n")
    return EXIT_USAGE
  end
  local status = EXIT_OK
  local run_ok, err = pcall(function()
    local mod, props = resolve(args)
    local code = commands[args.command](args, mod, props)
    if type(code) == "number" then status = code end
  end)
  if not run_ok then
    if is_interrupt(err) then
      io.stderr:write("oauthconnect: interrupted\n")
      status = EXIT_INTERRUPTED
    elseif getmetatable(err) == CliError then
      io.stderr:write("oauthconnect: ", err.message, "\n")
      status = err.exit
    else
      io.stderr:write("oauthconnect: ", tostring(err), "\n")
      status = exit_for(err)
    end
  end
  io.stdout:flush()
  return status
end

return _M
