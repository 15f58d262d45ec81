-- Handlers for bench/nginx_lateness: one oauthconnect client per worker on
-- the store OC_BENCH_CONN names, the same API call without oauthconnect
-- (the baseline), and a 10 ms timer per worker that records how late it
-- fires. LuaJIT loads this file: no // and no 5.4-only syntax.
local cjson = require "cjson.safe"

local ngx = ngx -- luacheck: ignore
local _M = {}

local PERIOD = 0.01 -- the timer's period, seconds
local dict = ngx.shared.lateness

-- ---- the timer --------------------------------------------------------------------------

-- Each worker's worst lateness since the driver last bumped "epoch", and
-- how many ticks were late by more than 5, 10 and 20 ms. The kernel's
-- schedstat (time running, time runnable but waiting for a CPU) splits a
-- late tick: "own" lateness is what is left once the wait for a CPU (other
-- processes on the machine) is taken off: the worker running or blocked.
-- Published in the dict as "w:PID" = "worst ticks over5 over10 over20
-- worst_at worst_run worst_wait own own_at own_run" (ms; at: epoch s).
local state = { epoch = -1 }

-- ms this process has run, and waited runnable, so far
local function sched()
  local f = io.open("/proc/self/schedstat")
  if not f then return 0, 0 end
  local run, wait = f:read("*n", "*n")
  f:close()
  return (run or 0) / 1e6, (wait or 0) / 1e6
end

local function tick(premature)
  if premature then return end
  ngx.update_time()
  local now = ngx.now()
  local run, wait = sched()
  local epoch = dict:get("epoch") or 0
  local s = state
  if epoch ~= s.epoch then
    s.epoch, s.last, s.run, s.wait = epoch, now, run, wait
    s.worst, s.worst_at, s.worst_run, s.worst_wait, s.ticks, s.over5, s.over10, s.over20 = 0, 0, 0, 0, 0, 0, 0, 0
    s.own, s.own_at, s.own_run = 0, 0, 0
    return
  end
  local late = (now - s.last - PERIOD) * 1000
  local ran, waited = run - s.run, wait - s.wait
  s.last, s.run, s.wait = now, run, wait
  s.ticks = s.ticks + 1
  if late > 5 then s.over5 = s.over5 + 1 end
  if late > 10 then s.over10 = s.over10 + 1 end
  if late > 20 then s.over20 = s.over20 + 1 end
  if late > s.worst then s.worst, s.worst_at, s.worst_run, s.worst_wait = late, now, ran, waited end
  local own = late - waited
  if own > s.own then s.own, s.own_at, s.own_run = own, now, ran end
  dict:set("w:" .. ngx.worker.pid(), ("%.1f %d %d %d %d %.3f %.1f %.1f %.1f %.3f %.1f"):format(s.worst, s.ticks,
    s.over5, s.over10, s.over20, s.worst_at, s.worst_run, s.worst_wait, s.own, s.own_at, s.own_run))
end

function _M.init_worker()
  local ok, err = ngx.timer.every(PERIOD, tick)
  if not ok then ngx.log(ngx.ERR, "lateness timer: ", err) end
end

-- /_lateness: every worker's figures; /_lateness?reset=1 starts a new epoch.
function _M.report()
  if ngx.var.arg_reset then
    dict:incr("epoch", 1, 0)
    -- the timers' own entries go too: a worker that never ticks again must not report old figures
    for _, k in ipairs(dict:get_keys(0)) do
      if k:sub(1, 2) == "w:" or k:sub(1, 2) == "s:" then dict:delete(k) end
    end
    return ngx.say(cjson.encode({ epoch = dict:get("epoch") }))
  end
  local workers, statuses = {}, {}
  for _, k in ipairs(dict:get_keys(0)) do
    local pid = k:match("^w:(%d+)$")
    if pid then
      local f = {}
      for v in dict:get(k):gmatch("%S+") do f[#f + 1] = tonumber(v) end
      workers[#workers + 1] = { pid = tonumber(pid), worst_ms = f[1], ticks = f[2], over5 = f[3], over10 = f[4],
        over20 = f[5], worst_at = f[6], worst_run_ms = f[7], worst_wait_ms = f[8], own_ms = f[9], own_at = f[10],
        own_run_ms = f[11] }
    end
    local status = k:match("^s:(%d+)$")
    if status then statuses[status] = dict:get(k) end
  end
  table.sort(workers, function(a, b) return a.pid < b.pid end)
  ngx.say(cjson.encode({ workers = workers, statuses = statuses, now = ngx.now() }))
end

-- In the log phase of /api and /baseline: the answers by status.
function _M.count()
  dict:incr("s:" .. ngx.status, 1, 0)
end

-- ---- the handlers ------------------------------------------------------------------------

local function conn() return os.getenv("OC_BENCH_CONN") end

local function reply(status, t)
  ngx.status = status
  ngx.say(cjson.encode(t))
end

-- /exchange?code=...: the web flow's exchange, the tokens kept in the store.
function _M.exchange()
  local token, err = require("jumpseller").get_access_token(conn(), ngx.var.arg_code,
    { redirect_uri = "http://127.0.0.1:1/callback" })
  if not token then return reply(500, { message = tostring(err), code = err.code }) end
  reply(200, { ok = true })
end

-- /api: the API through this worker's client (the README's shape: one
-- client per worker, kept in the module).
local client
function _M.api()
  if not client then
    local err
    client, err = require("jumpseller").connect(conn())
    if not client then return reply(500, { message = tostring(err), code = err.code }) end
  end
  local info, err = client:get("/store/info.json")
  if not info then
    ngx.log(ngx.ERR, "api: ", tostring(err))
    return reply(err.status or 500, { message = tostring(err), code = err.code })
  end
  reply(200, { name = info.store.name })
end

-- /baseline: the same upstream call, a fixed Authorization header, no
-- oauthconnect: a subrequest to a plain proxy location, the JSON decoded.
function _M.baseline()
  local res = ngx.location.capture("/_baseline")
  local info = res.status == 200 and cjson.decode(res.body)
  if not (info and info.store) then
    ngx.log(ngx.ERR, "baseline: HTTP ", res.status, " ", res.body)
    return reply(res.status == 200 and 502 or res.status, { message = "the API answered " .. res.status })
  end
  reply(200, { name = info.store.name })
end

return _M
