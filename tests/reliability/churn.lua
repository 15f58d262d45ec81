-- The churn run: many processes share one connection whose access tokens
-- live a few seconds, where each refresh revokes the access token it
-- replaces and refresh tokens are single use, while the API advertises (and
-- optionally enforces) per-second and per-minute quotas counted in
-- calendar windows, 401s included. Every request must succeed.
--
--   lua5.4 tests/reliability/churn.lua [key=value ...]
--     processes=16 requests=20 interval=0.25 ttl=2 store=file|redis|sqlite
--     provider=jumpseller per_minute=240 per_second=8 enforce=0|1
--     client=request|send (send: LuaSocket requests signed by client:send)
--     transport=curl|luasocket (the library's own requests through a Lua transport)
--
-- Prints one JSON line: processes, store, requests, failed, invalid_grant,
-- refreshes, lifetimes (token lifetimes the run crossed), and a sample of
-- the errors. Exits 1 when a request failed, a refresh was refused, or
-- there were more refreshes than lifetimes + 1.
-- Run from the repository root with LUA_PATH/LUA_CPATH set as scripts/test does.
local H = require "helpers"
local json = require "oauthconnect.json"

local opt = { processes = 16, requests = 20, interval = 0.25, ttl = 2, store = "file",
  provider = "jumpseller", per_minute = 240, per_second = 8, enforce = 0, client = "request",
  transport = "curl" }
for _, a in ipairs(arg) do
  local k, v = a:match("^([%w_]+)=(.*)$")
  assert(k and opt[k] ~= nil, "unknown argument " .. a)
  opt[k] = tonumber(v) or v
end

local module = ({ jumpseller = "jumpseller", keap = "infusionsoft", generic = "oauthconnect" })[opt.provider]
local resource = ({ jumpseller = "/store/info.json", keap = "/contacts/1", generic = "/items/1" })[opt.provider]
assert(module, "provider must be jumpseller, keap or generic")

local sandbox = H.sandbox(opt.provider, { "--access-ttl", tostring(opt.ttl) })
sandbox:config({ revoke_access_on_refresh = true })
sandbox:config({ rate_limit_per_second = opt.per_second, rate_limit_per_minute = opt.per_minute,
  rate_limit_enforce = opt.enforce == 1 })

local dir = H.tmpdir()
local redis
local location = dir .. "/shared.json"
if opt.store == "redis" then
  redis = H.redis()
  location = redis:url("churn")
elseif opt.store == "sqlite" then
  location = dir .. "/tokens.sqlite3"
end
local base = { CallbackURL = "http://127.0.0.1:1/callback" }
if opt.store ~= "sqlite" then base.OAuthSettingsLocation = location end
local props = opt.provider == "keap" and sandbox:keap_props(base)
  or opt.provider == "generic" and sandbox:generic_props(base) or sandbox:jumpseller_props(base)

-- The first tokens, from one login, stored where every process reads them.
local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
local out, err, rc = H.run_lua([[
  local worker = dofile(os.getenv("OC_ROOT") .. "/tests/reliability/churn_worker.lua")
  assert(worker.exchange(os.getenv("CODE")))
]], { CODE = code, OC_ROOT = H.ROOT, CONN = H.connstr(props), PROVIDER = module, STORE = opt.store,
  DB = location, TRANSPORT = opt.transport })
assert(rc == 0, "the first login failed: " .. out .. err)
local issued = H.now()
sandbox:reset()

local env = H.LUA_ENV .. " OC_ROOT=" .. H.q(H.ROOT) .. " N=" .. opt.requests .. " INTERVAL=" .. opt.interval
  .. " PROVIDER=" .. module .. " RESOURCE=" .. resource .. " STORE=" .. opt.store
  .. " DB=" .. H.q(location) .. " CLIENT=" .. opt.client .. " TRANSPORT=" .. opt.transport
  .. " ASAN_OPTIONS=" .. H.q((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0")
local cmd = {}
for i = 1, opt.processes do
  -- InitiateOAuth REFRESH and GETANDREFRESH mixed, as the independent run had them.
  local p = {}
  for k, v in pairs(props) do p[k] = v end
  p.InitiateOAuth = i % 2 == 0 and "GETANDREFRESH" or "REFRESH"
  cmd[#cmd + 1] = env .. " CONN=" .. H.q(H.connstr(p)) .. " " .. H.LUA .. " "
    .. H.q(H.ROOT .. "/tests/reliability/churn_worker.lua") .. " > " .. H.q(dir .. "/out." .. i) .. " 2>&1 &"
end
local t0 = H.now()
os.execute(table.concat(cmd, "\n") .. "\nwait")
local elapsed = H.now() - t0

local ok, failed, invalid, errors = 0, 0, 0, {}
for i = 1, opt.processes do
  local line = H.read_file(dir .. "/out." .. i) or ""
  local o, f, g, e = line:match("ok=(%d+) failed=(%d+) invalid_grant=(%d+) first_error=([^\n]*)")
  if not o then
    failed = failed + opt.requests
    errors[#errors + 1] = line:sub(1, 400)
  else
    ok, failed, invalid = ok + tonumber(o), failed + tonumber(f), invalid + tonumber(g)
    if e ~= "" and #errors < 5 then errors[#errors + 1] = e end
  end
end
local stats = sandbox:stats()
-- A token is renewed when a quarter of its life is left: the lifetimes the
-- run crossed bound the refreshes it needed.
local lifetimes = math.floor((t0 + elapsed - issued) / (opt.ttl * 0.75))
local result = {
  provider = opt.provider, processes = opt.processes, store = opt.store, client = opt.client,
  transport = opt.transport,
  requests_each = opt.requests, access_ttl_s = opt.ttl, per_minute = opt.per_minute,
  per_second = opt.per_second, enforced = opt.enforce == 1, seconds = elapsed,
  requests = ok + failed, failed = failed, invalid_grant = stats.invalid_grant + invalid,
  refreshes = stats.refreshes, refresh_failures = stats.refresh_failures, lifetimes = lifetimes,
  api_calls = stats.api, unauthorized = stats.api_unauthorized, rate_limited = stats.rate_limited,
  errors = errors,
}
print(json.encode(result))
sandbox:stop()
if redis then redis:stop() end
H.cleanup()
local good = result.failed == 0 and result.invalid_grant == 0 and result.refresh_failures == 0
  and result.refreshes <= lifetimes + 1
os.exit(good and 0 or 1)
