-- Shared by the specs: the sandbox servers, temporary directories, child Lua
-- processes, and small HTTP helpers. Everything a spec starts it stops.

assert(_VERSION == "Lua 5.4" or os.getenv("OC_SPEC_LUA") == "luajit",
  "the specs must run on Lua 5.4 (got " .. _VERSION .. "); run busted --lua=lua5.4")

local system = require "system"
local json = require "oauthconnect.json"

local H = {}

H.ROOT = os.getenv("OC_ROOT") or "."
-- The interpreter for child processes and the build whose module they load
-- (the sanitizer run uses build-asan and its instrumented lua5.4).
H.LUA = os.getenv("OC_SPEC_LUA_BIN") or "lua5.4"
H.CPATH = H.ROOT .. "/" .. (os.getenv("OC_BUILD_DIR") or "build") .. "/lua/?.so"
H.LPATH = H.ROOT .. "/lua/?.lua;" .. H.ROOT .. "/lua/?/init.lua;" .. H.ROOT .. "/spec/?.lua"

function H.sleep(s) system.sleep(s) end
function H.now() return system.gettime() end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.q = shell_quote

-- The environment a child Lua needs to find this checkout's modules.
H.LUA_ENV = "LUA_PATH=" .. shell_quote(H.LPATH .. ";;") .. " LUA_CPATH=" .. shell_quote(H.CPATH .. ";;")

function H.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function H.write_file(path, text, mode)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then os.execute("chmod " .. mode .. " " .. shell_quote(path)) end
end

-- LuaJIT (the 5.1 API) reports neither an exit code from popen's close nor
-- more than a wait status from os.execute: the shell says it instead.
local RC_MARK = "\n__oc_exit_code="

function H.exec(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == "number" then -- Lua 5.1: the wait status
    if ok % 256 ~= 0 then return 128 + ok % 256, "signal" end
    return math.floor(ok / 256), "exit"
  end
  return ok and 0 or code, how
end

-- Runs cmd and returns its stdout and exit code.
function H.capture(cmd)
  local p = assert(io.popen("( " .. cmd .. "\n); printf '" .. RC_MARK:gsub("\n", "\\n") .. "%d' $?", "r"))
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.*)" .. RC_MARK .. "(%d+)$")
  if not body then return out, 1 end
  return body, tonumber(code)
end

local function my_pid()
  local stat = H.read_file("/proc/self/stat")
  return tonumber(stat:match("^(%d+)"))
end
H.pid = my_pid()

-- A private temporary directory (0700), removed by H.cleanup().
local tmpdirs = {}
function H.tmpdir()
  local d = H.capture("mktemp -d"):gsub("%s+$", "")
  tmpdirs[#tmpdirs + 1] = d
  return d
end

function H.cleanup()
  for _, d in ipairs(tmpdirs) do os.execute("rm -rf " .. shell_quote(d)) end
  tmpdirs = {}
end

-- ---- the sandbox ----------------------------------------------------------------

local Sandbox = {}
Sandbox.__index = Sandbox

-- Starts sandbox/server.py for a provider; opts: extra command-line flags
-- as a table of strings. Returns a handle with url, pid, and control helpers.
function H.sandbox(provider, opts)
  opts = opts or {}
  local dir = H.tmpdir()
  local portfile = dir .. "/port.json"
  local args = { "python3", H.ROOT .. "/sandbox/server.py", "--provider", provider,
    "--port-file", portfile, "--parent-pid", tostring(H.pid) }
  for _, a in ipairs(opts) do args[#args + 1] = a end
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = shell_quote(a) end
  -- opts.env: variables for the server (kept off its command line)
  local env = ""
  for k, v in pairs(opts.env or {}) do env = env .. k .. "=" .. shell_quote(v) .. "; export " .. k .. "; " end
  os.execute(env .. table.concat(quoted, " ") .. " >/dev/null 2>" .. shell_quote(dir .. "/stderr") .. " &")
  local deadline = H.now() + 15
  local info
  while H.now() < deadline do
    local text = H.read_file(portfile)
    if text and text ~= "" then info = json.decode(text) break end
    H.sleep(0.02)
  end
  assert(info, "the sandbox did not start: " .. (H.read_file(dir .. "/stderr") or ""))
  local s = setmetatable({ url = info.url, pid = info.pid, provider = provider, dir = dir }, Sandbox)
  return s
end

-- curl, for control requests; returns status, body. The body goes through
-- a file: it may be megabytes.
function H.http(method, url, body, headers, cacert)
  local cmd = { "curl", "-s", "-o", "-", "-w", "\\n%{http_code}", "-X", method }
  if cacert then
    cmd[#cmd + 1] = "--cacert"
    cmd[#cmd + 1] = cacert
  end
  for k, v in pairs(headers or {}) do
    cmd[#cmd + 1] = "-H"
    cmd[#cmd + 1] = k .. ": " .. v
  end
  if body then
    local file = os.tmpname()
    H.write_file(file, body)
    tmpdirs[#tmpdirs + 1] = file
    cmd[#cmd + 1] = "--data-binary"
    cmd[#cmd + 1] = "@" .. file
  end
  cmd[#cmd + 1] = url
  local quoted = {}
  for i, a in ipairs(cmd) do quoted[i] = i == 1 and a or shell_quote(a) end
  local out = H.capture(table.concat(quoted, " "))
  local text, status = out:match("^(.*)\n(%d+)$")
  return tonumber(status), text
end

function Sandbox:control(method, path, body)
  local status, text = H.http(method, self.url .. "/_sandbox/" .. path,
    body and (type(body) == "string" and body or json.encode(body)),
    body and { ["Content-Type"] = "application/json" } or nil, self.cacert)
  assert(status == 200, "sandbox control " .. path .. " answered " .. tostring(status) .. ": "
    .. tostring(text):sub(1, 300))
  return json.decode(text)
end

function Sandbox:stats() return self:control("GET", "stats") end
function Sandbox:config(t) return self:control("POST", "config", t) end
function Sandbox:inject(t) return self:control("POST", "inject", t) end
function Sandbox:expire() return self:control("POST", "expire", {}) end
function Sandbox:revoke() return self:control("POST", "revoke", {}) end
function Sandbox:reset() return self:control("POST", "reset", {}) end
function Sandbox:tokens() return self:control("GET", "tokens") end
function Sandbox:requests(prefix)
  return self:control("GET", "requests?path=" .. (prefix or "/"))
end

-- Whether a process still runs (a zombie waiting for its reaper does not).
function H.alive(pid)
  local stat = H.read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() Z")
end

function Sandbox:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    local deadline = H.now() + 5
    while H.now() < deadline and H.alive(self.pid) do H.sleep(0.01) end
    self.pid = nil
  end
end

-- The connection properties that point a Jumpseller client at a sandbox.
function Sandbox:jumpseller_props(extra)
  local p = {
    OAuthClientId = "sandbox-client-id",
    OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW",
    OAuthAuthorizationURL = self.url .. "/oauth/authorize",
    OAuthAccessTokenURL = self.url .. "/oauth/token",
    URL = self.url .. "/v1",
  }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

-- The connection properties for a BigCommerce or Keap sandbox.
function Sandbox:bigcommerce_props(extra)
  local p = {
    OAuthClientId = "sandbox-client-id",
    OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW",
    OAuthAuthorizationURL = self.url .. "/oauth2/authorize",
    OAuthAccessTokenURL = self.url .. "/oauth2/token",
    URL = self.url .. "/stores/{StoreId}/v3",
  }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

function Sandbox:keap_props(extra)
  local p = {
    OAuthClientId = "sandbox-client-id",
    OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW",
    OAuthAuthorizationURL = self.url .. "/app/oauth/authorize",
    OAuthAccessTokenURL = self.url .. "/token",
    URL = self.url .. "/crm/rest/v1",
  }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

function Sandbox:generic_props(extra)
  local p = {
    OAuthClientId = "sandbox-client-id",
    OAuthClientSecret = "sbx-s3cr3t-Zq7RkA9dW",
    OAuthAuthorizationURL = self.url .. "/oauth2/authorize",
    OAuthAccessTokenURL = self.url .. "/oauth2/token",
    URL = self.url .. "/api",
  }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

-- Same, as a connection string.
function H.connstr(props)
  local keys = {}
  for k in pairs(props) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = k .. "=" .. "'" .. tostring(props[k]):gsub("'", "''") .. "'"
  end
  return table.concat(parts, ";")
end

-- The query of url as a table (form decoding: "+" is a space).
function H.query_of(url)
  local fields = {}
  for k, v in (url:match("%?(.*)$") or ""):gmatch("([^&=]+)=([^&]*)") do
    fields[k] = v:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return fields
end

-- Opens url as a browser would and returns the address it redirects to
-- (the authorization page approving: the callback with code and state).
function H.redirect(url, cacert)
  return H.capture("curl -s -o /dev/null -w '%{redirect_url}' " .. (cacert and ("--cacert " .. shell_quote(cacert) .. " ") or "")
    .. shell_quote(url))
end

-- The query of that redirect, as a table.
function H.follow(url, cacert)
  return H.query_of(H.redirect(url, cacert))
end

-- Plays the user at the authorization page: returns the code (and the whole
-- redirect query) the sandbox sends to redirect_uri.
function Sandbox:authorize(params)
  local q = {}
  local p = { response_type = "code", client_id = "sandbox-client-id",
    redirect_uri = "http://127.0.0.1:1/callback", state = "s",
    scope = self.provider == "keap" and "full" or self.provider == "generic" and "api"
      or "read_store read_orders" }
  for k, v in pairs(params or {}) do p[k] = v end
  for k, v in pairs(p) do
    q[#q + 1] = k .. "=" .. tostring(v):gsub("[^%w%-_.~]", function(c) return ("%%%02X"):format(c:byte()) end)
  end
  local path = self.provider == "keap" and "/app/oauth/authorize"
    or (self.provider == "bigcommerce" or self.provider == "generic") and "/oauth2/authorize"
    or "/oauth/authorize"
  local fields = H.follow(self.url .. path .. "?" .. table.concat(q, "&"), self.cacert)
  return fields.code, fields
end

-- A free loopback TCP port (the kernel's choice; tiny race, fine for tests).
function H.free_port()
  local out = H.capture([[python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])']])
  return tonumber(out)
end

-- The settings file's JSON as a table.
function H.settings(path)
  local text = H.read_file(path)
  return text and json.decode(text)
end

-- File mode as an octal string, e.g. "600".
function H.mode(path)
  return (H.capture("stat -c %a " .. shell_quote(path)):gsub("%s+$", ""))
end

-- ---- redis-server ----------------------------------------------------------------

local Redis = {}
Redis.__index = Redis

-- Starts redis-server on a free loopback port, in its own directory, with
-- the durability oauthconnect asks for (appendonly, appendfsync always).
-- opts.password, opts.tls = { cert, key, ca, port }.
function H.redis(opts)
  opts = opts or {}
  local r = setmetatable({ dir = H.tmpdir(), port = H.free_port(), password = opts.password, tls = opts.tls }, Redis)
  r:start()
  return r
end

function Redis:start()
  local args = { "redis-server", "--port", tostring(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
    "--appendonly", "yes", "--appendfsync", "always", "--save", "''", "--loglevel", "warning",
    "--daemonize", "no" }
  if self.password then args[#args + 1] = "--requirepass"; args[#args + 1] = H.q(self.password) end
  if self.tls then
    args[#args + 1] = "--tls-port " .. self.tls.port .. " --tls-cert-file " .. H.q(self.tls.cert)
      .. " --tls-key-file " .. H.q(self.tls.key) .. " --tls-ca-cert-file " .. H.q(self.tls.ca)
      .. " --tls-auth-clients no"
  end
  self.pid = tonumber((H.capture(table.concat(args, " ") .. " >" .. H.q(self.dir .. "/log") .. " 2>&1 & echo $!")))
  local deadline = H.now() + 10
  while H.now() < deadline do
    if self:cli("PING"):match("PONG") then return end
    H.sleep(0.02)
  end
  error("redis-server did not start: " .. (H.read_file(self.dir .. "/log") or ""))
end

function Redis:cli(command)
  return (H.capture("redis-cli -p " .. self.port .. (self.password and (" -a " .. H.q(self.password)
    .. " --no-auth-warning") or "") .. " " .. command .. " 2>&1"))
end

function Redis:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    local deadline = H.now() + 10
    while H.now() < deadline and H.alive(self.pid) do H.sleep(0.01) end
    self.pid = nil
  end
end

function Redis:url(key, db)
  return ("redis://%s127.0.0.1:%d/%d/%s"):format(self.password and (":" .. self.password .. "@") or "",
    self.port, db or 0, key)
end

-- A "browser" for $BROWSER: follows the authorize redirect to the callback.
H.BROWSER = H.ROOT .. "/sandbox/browser"

-- Stops the nginx whose prefix is given (QUIT, then KILL after 10 s).
function H.stop_nginx(prefix)
  local pid = (H.read_file(prefix .. "/nginx.pid") or ""):match("%d+")
  if not pid then return end
  os.execute("kill -QUIT " .. pid .. " 2>/dev/null")
  local deadline = H.now() + 10
  while H.alive(pid) and H.now() < deadline do H.sleep(0.05) end
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
end

-- A CA and a server certificate for 127.0.0.1 (and san, e.g. "DNS:name",
-- when given) signed by it, made in dir with the openssl command line;
-- returns the paths of ca.pem, server.pem, server.key.
function H.make_ca(dir, san)
  H.write_file(dir .. "/ext.cnf", "subjectAltName=IP:127.0.0.1" .. (san and ("," .. san) or "")
    .. "\nbasicConstraints=CA:FALSE\n")
  local cmds = {
    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=oauthconnect-test-ca"
      .. " -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE",
    "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr",
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
      .. " -extfile ext.cnf -out server.pem",
  }
  for _, c in ipairs(cmds) do
    local code = H.exec("cd " .. shell_quote(dir) .. " && " .. c .. " >/dev/null 2>&1")
    assert(code == 0, c .. ": exit code " .. tostring(code))
  end
  return dir .. "/ca.pem", dir .. "/server.pem", dir .. "/server.key"
end

-- Signatures made by the openssl command line, an implementation independent
-- of the module's, over exact bytes (written to a file first).
local function openssl(cmd, input)
  local file = H.tmpdir() .. "/input"
  H.write_file(file, input)
  local out, code = H.capture(cmd:format(shell_quote(file)))
  assert(code == 0, "failed: " .. cmd)
  return out
end

local B64URL = " | tr '+/' '-_' | tr -d '='"

-- Base64 HMAC (sha256 unless digest says otherwise) of body with key.
function H.openssl_hmac(body, key, digest)
  return openssl(("openssl dgst -%s -hmac %s -binary %%s | openssl base64 -A")
    :format(digest or "sha256", shell_quote(key)), body)
end

function H.b64url(text)
  return openssl("openssl base64 -A -in %s" .. B64URL, text)
end

-- A compact JWS of the given JSON texts, signed with secret (HS256 unless
-- digest says otherwise; digest false leaves the signature empty).
function H.jwt(header, payload, secret, digest)
  local input = H.b64url(header) .. "." .. H.b64url(payload)
  if digest == false then return input .. "." end
  return input .. "." .. openssl(("openssl dgst -%s -hmac %s -binary %%s | openssl base64 -A" .. B64URL)
    :format(digest or "sha256", shell_quote(secret)), input)
end

-- Runs tests/reliability/<script> with its arguments; asserts it succeeded,
-- prints its JSON result line (the figures CI reports) and returns it decoded.
function H.run_reliability(script, args)
  local out, code = H.capture(H.LUA_ENV .. " " .. H.LUA .. " " .. H.q(H.ROOT .. "/tests/reliability/" .. script)
    .. " " .. args .. " 2>&1")
  assert(code == 0, script .. " failed with exit code " .. tostring(code) .. ":\n" .. out)
  local line = out:match("({.*})%s*$")
  print(script .. " " .. args .. ": " .. line)
  return json.decode(line)
end

-- Runs a Lua script in a child process with the module paths set; returns
-- its stdout, stderr and exit code. env: table of extra environment variables.
function H.run_lua(script, env)
  local dir = H.tmpdir()
  H.write_file(dir .. "/script.lua", script)
  local prefix = { H.LUA_ENV }
  for k, v in pairs(env or {}) do prefix[#prefix + 1] = k .. "=" .. shell_quote(v) end
  local cmd = table.concat(prefix, " ") .. " " .. H.LUA .. " " .. shell_quote(dir .. "/script.lua")
    .. " 2>" .. shell_quote(dir .. "/stderr")
  local out, code = H.capture(cmd)
  return out, H.read_file(dir .. "/stderr") or "", code
end

return H
