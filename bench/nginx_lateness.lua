-- nginx worker timer lateness under load, per token store (issue 15), run
-- by bench/nginx_lateness (which installs and builds first):
--   lua5.4 bench/nginx_lateness.lua [--smoke] [--write docs/PERFORMANCE.md]
--     [--seconds S] [--connections C] [--rounds R] [--only NAME...]
-- Debian's nginx with 2 workers; wrk keeps C requests in flight for S
-- seconds against /api, whose handler makes an authorized API call through
-- oauthconnect to the sandbox (Jumpseller, access tokens living 2 s), and
-- against /baseline, the same call with a fixed header and no oauthconnect.
-- A 10 ms ngx.timer.every in each worker records how late it fires. Stores:
-- the settings file, shm://, Redis on loopback, Redis 20 ms away (a relay
-- delaying each chunk 20 ms each way). R interleaved rounds.
-- Correctness is judged (never timing): every answer 200, and at most one
-- refresh per expiry; the last line is
--   nginx-lateness: N passed, M failed, 0 skipped
local H = require "helpers"
local json = require "oauthconnect.json"

local opts = { seconds = 20, connections = 200, rounds = 3, only = {} }
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--smoke" then opts.smoke = true
    elseif a == "--write" then i = i + 1; opts.write = arg[i]
    elseif a == "--seconds" then i = i + 1; opts.seconds = assert(tonumber(arg[i]), "--seconds S")
    elseif a == "--connections" then i = i + 1; opts.connections = assert(tonumber(arg[i]), "--connections C")
    elseif a == "--rounds" then i = i + 1; opts.rounds = assert(tonumber(arg[i]), "--rounds R")
    elseif a == "--only" then
      while arg[i + 1] and not arg[i + 1]:match("^%-%-") do i = i + 1; opts.only[arg[i]] = true end
    else io.stderr:write("unknown option " .. a .. "\n") os.exit(2) end
    i = i + 1
  end
  if opts.smoke then opts.seconds, opts.connections, opts.rounds = 4, 20, 1 end
end

local TTL = 2                      -- the sandbox's access token lifetime, seconds
local DUE = 0.75 * TTL             -- refreshed three quarters into a token's life (RefreshLeeway 60 > TTL)
local RELAY_MS = 20
local CPATH = os.getenv("OC_LUAJIT_CPATH") or (H.ROOT .. "/build-luajit/lua/?.so")

local function log(...) io.stderr:write("nginx-lateness: ", ...) io.stderr:write("\n") end

-- ---- the servers -----------------------------------------------------------------------------

-- Jumpseller's documented quotas (20 a second) would have the client wait
-- them out: the sandbox announces quotas this load never reaches.
local sandbox = H.sandbox("jumpseller", { "--access-ttl", tostring(TTL), "--rate-limit-per-second", "1000000",
  "--rate-limit-per-minute", "100000000" })
local redis = H.redis()
local relay_dir = H.tmpdir()
local relay_pid = tonumber((H.capture("python3 " .. H.q(H.ROOT .. "/bench/nginx/delay_relay.py")
  .. " --target-port " .. redis.port .. " --delay-ms " .. RELAY_MS .. " --port-file " .. H.q(relay_dir .. "/port")
  .. " --parent-pid " .. H.pid .. " >/dev/null 2>" .. H.q(relay_dir .. "/stderr") .. " & echo $!")))
local relay_port
for _ = 1, 500 do
  relay_port = tonumber(H.read_file(relay_dir .. "/port") or "")
  if relay_port then break end
  H.sleep(0.02)
end
assert(relay_port, "the relay did not start: " .. (H.read_file(relay_dir .. "/stderr") or ""))

local ng -- the nginx running now
local function stop_all()
  if ng then H.stop_nginx(ng.prefix) ng = nil end
  os.execute("kill " .. relay_pid .. " 2>/dev/null")
  redis:stop()
  sandbox:stop()
  H.cleanup()
end

-- A token the baseline's fixed header carries: issued while the sandbox's
-- tokens live an hour.
local function long_token()
  sandbox:config({ access_ttl = 3600 })
  local code = sandbox:authorize({ redirect_uri = "http://127.0.0.1:1/callback" })
  local status, body = H.http("POST", sandbox.url .. "/oauth/token",
    "grant_type=authorization_code&code=" .. code .. "&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback"
      .. "&client_id=sandbox-client-id&client_secret=sandbox-client-secret",
    { ["Content-Type"] = "application/x-www-form-urlencoded" })
  sandbox:config({ access_ttl = TTL })
  assert(status == 200, "the sandbox refused the code: " .. tostring(body))
  return json.decode(body).access_token
end
local BASELINE_TOKEN = long_token()

local CONF = assert(H.read_file(H.ROOT .. "/bench/nginx/lateness.conf.in"))

local function start_nginx(conn)
  local prefix, port = H.tmpdir(), H.free_port()
  os.execute("mkdir -p " .. H.q(prefix .. "/tmp"))
  local user, group = H.capture("id -un"):gsub("%s+$", ""), H.capture("id -gn"):gsub("%s+$", "")
  local conf = CONF:gsub("@(%u+)@", { PREFIX = prefix, ROOT = H.ROOT, CPATH = CPATH, PORT = tostring(port),
    USER = user, GROUP = group, API = sandbox.url, TOKEN = BASELINE_TOKEN })
  H.write_file(prefix .. "/nginx.conf", conf)
  local out, code = H.capture("OC_BENCH_CONN=" .. H.q(conn or "") .. " nginx -p " .. H.q(prefix) .. " -c " .. H.q(prefix .. "/nginx.conf") .. " 2>&1")
  assert(code == 0, "nginx did not start: " .. out)
  local master = (H.read_file(prefix .. "/nginx.pid") or ""):match("%d+")
  return { prefix = prefix, base = "http://127.0.0.1:" .. port, master = master,
    log = function() return H.read_file(prefix .. "/error.log") or "" end }
end

-- user+system CPU seconds of nginx's workers
local function workers_cpu(master)
  local total = 0
  for pid in H.capture("ps -o pid= --ppid " .. master):gmatch("%d+") do
    local stat = H.read_file("/proc/" .. pid .. "/stat") or ""
    local rest = stat:match("%) (.*)$")
    if rest then
      local f = {}
      for v in rest:gmatch("%S+") do f[#f + 1] = v end
      total = total + (tonumber(f[12]) + tonumber(f[13])) / 100 -- utime, stime (fields 14, 15)
    end
  end
  return total
end

-- wrk's figures: requests, seconds, non-2xx/3xx answers, socket errors.
local function wrk(url, connections, seconds)
  local threads = connections >= 2 and 2 or 1
  local out, code = H.capture(("wrk -t%d -c%d -d%ds --timeout 10s %s 2>&1"):format(threads, connections,
    seconds, H.q(url)))
  assert(code == 0, "wrk failed: " .. out)
  local n, secs = out:match("(%d+) requests in ([%d%.]+)(%a+)")
  assert(n, "wrk said: " .. out)
  local unit = out:match("%d+ requests in [%d%.]+(%a+)")
  secs = tonumber(secs) * (unit == "ms" and 0.001 or unit == "m" and 60 or 1)
  local errors = 0
  local c, r, w, t = out:match("Socket errors: connect (%d+), read (%d+), write (%d+), timeout (%d+)")
  if c then errors = tonumber(c) + tonumber(r) + tonumber(w) + tonumber(t) end
  return { requests = tonumber(n), seconds = secs, non2xx = tonumber(out:match("Non%-2xx or 3xx responses: (%d+)") or "0"),
    socket_errors = errors, text = out }
end

-- ---- one run -----------------------------------------------------------------------------------

local key_n = 0
local STORES = {
  { name = "baseline", label = "no oauthconnect (baseline)", path = "/baseline" },
  { name = "file", label = "settings file", path = "/api",
    location = function() return H.tmpdir() .. "/settings/jumpseller.json" end },
  { name = "shm", label = "`shm://`", path = "/api", location = function() return "shm://oauthconnect_tokens" end },
  { name = "redis", label = "`redis://` loopback", path = "/api",
    location = function() key_n = key_n + 1 return redis:url("bench:tokens:" .. key_n) end },
  { name = "redis20", label = ("`redis://` %d ms away"):format(RELAY_MS), path = "/api",
    location = function()
      key_n = key_n + 1
      return ("redis://127.0.0.1:%d/0/bench:tokens:%d"):format(relay_port, key_n)
    end },
}

local function run(store)
  local conn
  if store.location then
    conn = H.connstr(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = store.location(),
      CallbackURL = "http://127.0.0.1:1/callback" }))
  end
  ng = start_nginx(conn)
  if store.location then
    local code = sandbox:authorize({ redirect_uri = "http://127.0.0.1:1/callback" })
    local status, body = H.http("GET", ng.base .. "/exchange?code=" .. code)
    assert(status == 200, "the exchange failed: " .. tostring(body) .. ng.log())
  end
  -- both workers load the module and connect before the measure
  wrk(ng.base .. store.path, 20, 1)
  sandbox:reset()
  H.http("GET", ng.base .. "/_lateness?reset=1")
  H.sleep(0.1) -- each worker's timer sees the new epoch
  local cpu0 = workers_cpu(ng.master)
  local w = wrk(ng.base .. store.path, opts.connections, opts.seconds)
  local cpu = workers_cpu(ng.master) - cpu0
  local _, body = H.http("GET", ng.base .. "/_lateness")
  local lat = json.decode(body)
  local stats = sandbox:stats()
  local error_log = ng.log()
  local errors = select(2, error_log:gsub("%[error%]", ""))
  H.stop_nginx(ng.prefix)
  ng = nil
  -- refreshes closer together than half a token's due time are a second
  -- refresh of one expiry
  local times, doubles = stats.refresh_times or {}, 0
  table.sort(times)
  for i = 2, #times do
    if times[i] - times[i - 1] < DUE / 2 then doubles = doubles + 1 end
  end
  local non200 = w.non2xx + w.socket_errors
  local r = { store = store.name, requests = w.requests, seconds = w.seconds, non200 = non200,
    refreshes = stats.refreshes, doubles = doubles, invalid_grant = stats.invalid_grant,
    api_401 = stats.api_unauthorized, workers = lat.workers, statuses = lat.statuses, cpu = cpu,
    error_lines = errors, expiries = w.seconds / DUE }
  local worst = {}
  for i, wk in ipairs(lat.workers) do worst[i] = ("%.1f"):format(wk.worst_ms) end
  log(("%s: %d requests in %.1f s, %d not 200, %d refreshes (%d doubled), worst lateness %s ms, "
    .. "worker CPU %.1f s"):format(store.name, w.requests, w.seconds, non200, stats.refreshes, doubles,
    table.concat(worst, " / "), cpu))
  if non200 > 0 or errors > 0 then log(w.text) log(error_log:sub(-3000)) end
  return r
end

-- ---- the runs ------------------------------------------------------------------------------------

local results = {}
local ok, err = pcall(function()
  for round = 1, opts.rounds do
    for _, store in ipairs(STORES) do
      if next(opts.only) == nil or opts.only[store.name] then
        log(("round %d/%d: %s"):format(round, opts.rounds, store.name))
        results[store.name] = results[store.name] or {}
        table.insert(results[store.name], run(store))
      end
    end
  end
end)
stop_all()
if not ok then
  io.stderr:write("nginx-lateness: stopped: " .. tostring(err) .. "\n")
  print("nginx-lateness: 0 passed, 1 failed, 0 skipped")
  os.exit(1)
end

-- ---- the table -------------------------------------------------------------------------------------

local function median(v)
  table.sort(v)
  return v[(#v + 1) // 2]
end

local lines, passed, failed = {}, 0, 0
local function add(s) lines[#lines + 1] = s end
add("| store | requests (req/s) | not 200 | refreshes / expiries (doubled) | 401s | worst timer lateness per worker, ms: each round | median of the worse worker | over the baseline | workers' CPU s |")
add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
local base_median
for _, store in ipairs(STORES) do
  local runs = results[store.name]
  if runs then
    local reqs, non200, refreshes, doubles, expiries, a401, cpu, worse, rounds = 0, 0, 0, 0, 0, 0, 0, {}, {}
    local secs = 0
    for _, r in ipairs(runs) do
      reqs, secs, non200 = reqs + r.requests, secs + r.seconds, non200 + r.non200
      refreshes, doubles, expiries = refreshes + r.refreshes, doubles + r.doubles, expiries + r.expiries
      a401, cpu = a401 + r.api_401, cpu + r.cpu
      local per, w = {}, 0
      for i, wk in ipairs(r.workers) do
        per[i] = ("%.0f"):format(wk.worst_ms)
        if wk.worst_ms > w then w = wk.worst_ms end
      end
      worse[#worse + 1] = w
      rounds[#rounds + 1] = table.concat(per, "/")
      -- correctness, never timing: every answer 200, one refresh per expiry
      local good = r.non200 == 0 and r.doubles == 0 and r.invalid_grant == 0
        and (store.name == "baseline" or r.refreshes >= 1)
      if good then passed = passed + 1 else failed = failed + 1 end
    end
    local m = median(worse)
    if store.name == "baseline" then base_median = m end
    local over = base_median and store.name ~= "baseline" and ("%+.0f ms"):format(m - base_median) or ""
    add(("| %s | %d (%.0f) | %d | %s | %d | %s | %.0f | %s | %.1f |"):format(store.label, reqs, reqs / secs, non200,
      store.name == "baseline" and "-" or ("%d / %.0f (%d)"):format(refreshes, expiries, doubles), a401,
      table.concat(rounds, ", "), m, over, cpu / #runs))
  end
end
local table_text = table.concat(lines, "\n")
print(table_text)

local machine = H.capture("lscpu | grep -E '^(Model name|CPU\\(s\\))' | sed 's/  */ /g' | tr '\\n' ';'")
  :gsub(";$", ""):gsub(";", ",")
local versions = H.capture("nginx -v 2>&1"):gsub("%s+$", "") .. ", libnginx-mod-http-lua "
  .. H.capture("dpkg-query -W -f='${Version}' libnginx-mod-http-lua"):gsub("%s+$", "") .. ", "
  .. H.capture("redis-server --version | cut -d' ' -f1-3"):gsub("%s+$", "") .. ", "
  .. H.capture("wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2"):gsub("%s+$", "")

local raw = H.ROOT .. "/build/bench/nginx_lateness.json"
os.execute("mkdir -p " .. H.q(H.ROOT .. "/build/bench"))
H.write_file(raw, json.encode({ date = os.date("!%Y-%m-%d"), opts = { seconds = opts.seconds,
  connections = opts.connections, rounds = opts.rounds, smoke = opts.smoke or false }, results = results }))

if opts.write then
  local doc = H.read_file(opts.write) or "# Performance\n"
  local block = ([[<!-- nginx-lateness -->
## nginx: worker timer lateness

Measured %s by `%s`, on %s;
%s. Each round: nginx with 2 workers, wrk keeping %d requests in flight for
%d s against a handler making one authorized API call (`client:get`)
through oauthconnect to the sandbox (Jumpseller, access tokens living %d s,
so refreshed every %.1f s), %d rounds interleaved. A 10 ms
`ngx.timer.every` in each worker (started in `init_worker_by_lua`)
records how late it fires; the baseline is the same load on a handler
making the same upstream call with a fixed header and no oauthconnect.
Redis %d ms away is Redis behind a relay that delays every chunk %d ms each
way (`bench/nginx/delay_relay.py`). Every process shares the 2 CPUs.

%s

"Refreshes / expiries": the sandbox's count of refresh grants against the
run's length over the tokens' due time; "doubled" counts two refreshes of
one expiry (none is the target), "401s" API calls whose token the sandbox
refused. Raw figures: `build/bench/nginx_lateness.json`.
<!-- /nginx-lateness -->]]):format(os.date("!%Y-%m-%d"),
    "./bench/nginx_lateness" .. (opts.smoke and " --smoke" or ""), machine, versions, opts.connections,
    opts.seconds, TTL, DUE, opts.rounds, RELAY_MS, RELAY_MS, table_text)
  local s, e = doc:find("<!%-%- nginx%-lateness %-%->.-<!%-%- /nginx%-lateness %-%->")
  if s then
    doc = doc:sub(1, s - 1) .. block .. doc:sub(e + 1)
  else
    doc = doc:gsub("\n*$", "\n\n") .. block .. "\n"
  end
  H.write_file(opts.write, doc)
  log("wrote " .. opts.write)
end

print(("nginx-lateness: %d passed, %d failed, 0 skipped"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
