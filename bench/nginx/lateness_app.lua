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
-- how many ticks were late by more than 5, 10 and 20 ms, published in the
-- dict as "w:PID" = "worst_ms ticks over5 over10 over20 worst_at".
local state = { epoch = -1 }

local function tick(premature)
  if premature then return end
  ngx.update_time()
  local now = ngx.now()
  local epoch = dict:get("epoch") or 0
  local s = state
  if epoch ~= s.epoch then
    s.epoch, s.last, s.worst, s.worst_at, s.ticks, s.over5, s.over10, s.over20 = epoch, now, 0, 0, 0, 0, 0, 0
    return
  end
  local late = (now - s.last - PERIOD) * 1000
  s.last = now
  s.ticks = s.ticks + 1
  if late > 5 then s.over5 = s.over5 + 1 end
  if late > 10 then s.over10 = s.over10 + 1 end
  if late > 20 then s.over20 = s.over20 + 1 end
  if late > s.worst then s.worst, s.worst_at = late, now end
  dict:set("w:" .. ngx.worker.pid(), ("%.1f %d %d %d %d %.3f"):format(s.worst, s.ticks, s.over5, s.over10,
    s.over20, s.worst_at))
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
      local worst, ticks, o5, o10, o20, at = dict:get(k):match("^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$")
      workers[#workers + 1] = { pid = tonumber(pid), worst_ms = tonumber(worst), ticks = tonumber(ticks),
        over5 = tonumber(o5), over10 = tonumber(o10), over20 = tonumber(o20), worst_at = tonumber(at) }
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
