-- The OpenResty example (examples/openresty) in Debian's nginx with its Lua
-- module and the LuaJIT build of oauthconnect, against the sandbox, driven
-- by curl as a browser and as Jumpseller's webhook sender would.
local H = require "helpers"
local json = require "oauthconnect.json"

local CPATH = os.getenv("OC_LUAJIT_CPATH") or (H.ROOT .. "/build-luajit/lua/?.so")

local q = H.q

-- Starts the example (nginx in the background) and returns a handle.
local function start_example(sandbox, workers, extra_env)
  local prefix, port = H.tmpdir(), H.free_port()
  local conn = H.connstr(sandbox:jumpseller_props {
    InitiateOAuth = "GETANDREFRESH",
    CallbackURL = ("http://127.0.0.1:%d/callback"):format(port),
    OAuthSettingsLocation = prefix .. "/jumpseller-tokens.json",
  })
  local env = {
    PREFIX = prefix, PORT = tostring(port), WORKERS = tostring(workers), DAEMON = "1",
    OC_LUAJIT_CPATH = CPATH, OAUTHCONNECT_JUMPSELLER = conn,
    JUMPSELLER_HOOKS_TOKEN = "hooks-token-9",
    BIGCOMMERCE_CLIENT_ID = "bc-id", BIGCOMMERCE_CLIENT_SECRET = "bc-secret",
  }
  for k, v in pairs(extra_env or {}) do env[k] = v end
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. q(v) end
  local out, code = H.capture(table.concat(parts, " ") .. " " .. q(H.ROOT .. "/examples/openresty/run") .. " 2>&1")
  assert(code == 0, "the example did not start: " .. out .. (H.read_file(prefix .. "/error.log") or ""))
  local ng = { prefix = prefix, port = port, base = "http://127.0.0.1:" .. port, jar = prefix .. "/cookies" }
  local deadline = H.now() + 10
  repeat
    local status = H.http("GET", ng.base .. "/nothing-here")
    if status then break end
    H.sleep(0.05)
  until H.now() > deadline
  function ng.stop() H.stop_nginx(prefix) end
  function ng.log() return H.read_file(prefix .. "/error.log") or "" end
  return ng
end

-- curl as a browser: status, headers text, body, redirect URL.
local function browse(ng, url, opts)
  opts = opts or {}
  local cmd = { "curl -s -D -", "-b", q(ng.jar), "-c", q(ng.jar), "-w", q("\n__redirect=%{redirect_url}") }
  if opts.no_cookies then cmd = { "curl -s -D -", "-w", q("\n__redirect=%{redirect_url}") } end
  for k, v in pairs(opts.headers or {}) do cmd[#cmd + 1] = "-H " .. q(k .. ": " .. v) end
  if opts.body then
    local file = ng.prefix .. "/req-body"
    H.write_file(file, opts.body)
    cmd[#cmd + 1] = "--data-binary @" .. q(file)
  end
  cmd[#cmd + 1] = q(url)
  local out = H.capture(table.concat(cmd, " "))
  local head, body, redirect = out:match("^(.-\r\n)\r\n(.*)\n__redirect=(.*)$")
  assert(head, "no HTTP answer from " .. url .. ": " .. out)
  return tonumber(head:match("^HTTP/%S+ (%d+)")), head, body, redirect
end

local function get_json(ng, path, opts)
  local status, head, body = browse(ng, ng.base .. path, opts)
  local ok, value = pcall(json.decode, body)
  return status, ok and value or body, head
end

-- Many requests at once; returns the statuses, the JSON bodies and the seconds taken.
local function burst(ng, path, n)
  local file = ng.prefix .. "/burst"
  local args = {}
  for i = 1, n do
    args[#args + 1] = q(ng.base .. path) .. " -o " .. q(file .. i)
  end
  local started = H.now()
  local out = H.capture("curl -s -S --no-progress-meter -Z --parallel-max " .. n .. " -w '%{http_code}\\n' " .. table.concat(args, " "))
  local elapsed = H.now() - started
  local statuses, bodies = {}, {}
  for code in out:gmatch("(%d+)\n") do statuses[#statuses + 1] = tonumber(code) end
  for i = 1, n do
    local ok, v = pcall(json.decode, H.read_file(file .. i) or "")
    bodies[i] = ok and v or nil
  end
  return statuses, bodies, elapsed
end

local function log_in(ng)
  local status, head, _, redirect = browse(ng, ng.base .. "/login")
  assert.equal(302, status)
  assert.matches("oauthconnect_state=[%w_-]+; Path=/callback; Max%-Age=600; HttpOnly; SameSite=Lax", head)
  local authorize = redirect
  assert.matches("code_challenge_method=S256", authorize, 1, true)
  -- the sandbox's authorization page approves and sends the browser back
  local _, _, _, callback = browse(ng, authorize, { no_cookies = true })
  assert.matches("^" .. ng.base:gsub("%p", "%%%0") .. "/callback%?code=", callback)
  local cstatus, chead, cbody = browse(ng, callback)
  return cstatus, cbody, callback, chead
end

describe("the OpenResty example, with 2 workers", function()
  local sandbox, ng

  -- Every token the sandbox issues here, for the search of nginx's log at
  -- the end. The sandbox lists only live tokens, so they are noted around
  -- each test and before anything that ends them (an expiry; a refresh
  -- happens once a test), and the sets issued are counted across its
  -- counter resets: the search must cover as many tokens as were issued.
  local seen = { access = {}, refresh = {} }
  local issued_before_resets = 0
  local function note_tokens()
    local live = sandbox:tokens()
    for _, t in ipairs(live.access) do seen.access[t] = true end
    for _, t in ipairs(live.refresh) do seen.refresh[t] = true end
  end
  local function issued_since_reset()
    local stats = sandbox:stats()
    return stats.code_exchanges + stats.refreshes
  end

  setup(function()
    sandbox = H.sandbox("jumpseller")
    local reset, expire = sandbox.reset, sandbox.expire
    function sandbox.reset(self)
      note_tokens()
      issued_before_resets = issued_before_resets + issued_since_reset()
      return reset(self)
    end
    function sandbox.expire(self)
      note_tokens()
      return expire(self)
    end
    ng = start_example(sandbox, 2)
  end)
  teardown(function()
    if ng then ng.stop() end
    if sandbox then sandbox:stop() end
  end)
  before_each(function() note_tokens() end)
  after_each(function() note_tokens() end)

  it("answers /store with no_token before anyone logs in", function()
    local status, body = get_json(ng, "/store")
    assert.equal(401, status)
    assert.equal("no_token", body.error)
  end)

  it("logs in through /login and /callback, with state bound to the browser", function()
    local status, body, callback = log_in(ng)
    assert.equal(200, status, body)
    assert.is_true(json.decode(body).connected)
    assert.equal(1, sandbox:stats().code_exchanges)
    assert.equal("600", H.mode(ng.prefix .. "/jumpseller-tokens.json"))
    -- the same callback again: the state was spent (and the cookie cleared)
    local again = { browse(ng, callback) }
    assert.equal(400, again[1])
    -- a callback carrying a state this browser never got
    local forged = callback:gsub("state=[^&]+", "state=forged")
    assert.equal(400, (browse(ng, forged)))
    assert.equal(1, sandbox:stats().code_exchanges)
  end)

  it("refuses a callback without the state cookie", function()
    local _, _, _, redirect = browse(ng, ng.base .. "/login") -- started in this browser...
    local _, _, _, callback = browse(ng, redirect, { no_cookies = true })
    local status, _, body = browse(ng, callback, { no_cookies = true }) -- ...finished in another
    assert.equal(400, status)
    assert.matches("state_mismatch", body, 1, true)
  end)

  it("calls the API from both workers with the stored tokens", function()
    local statuses, bodies = burst(ng, "/store", 30)
    local workers = {}
    assert.equal(30, #statuses)
    for i, s in ipairs(statuses) do
      assert.equal(200, s)
      assert.equal("Sandbox Store", bodies[i].store.name)
      workers[bodies[i].worker] = true
    end
    local n = 0
    for _ in pairs(workers) do n = n + 1 end
    assert.equal(2, n)
  end)

  it("sends the provider only the headers the core built, not the browser's", function()
    sandbox:reset()
    local status = get_json(ng, "/store", { headers = { Cookie = "session=browser-secret",
      Authorization = "Basic YnJvd3Nlcjpvd24=", ["X-Forwarded-For"] = "10.0.0.1" } })
    assert.equal(200, status)
    local requests = sandbox:requests("/v1/store/info.json")
    local h = requests[#requests].headers
    local lower = {}
    for k, v in pairs(h) do lower[k:lower()] = v end
    assert.is_nil(lower.cookie)
    assert.is_nil(lower["x-forwarded-for"])
    assert.matches("^Bearer ", lower.authorization)
  end)

  -- Before the expiry test below: a worker that serves none of that burst
  -- keeps the token the sandbox expired, and its next request adds a third
  -- (a 401, then the stored newer token), which is right but not this test.
  it("retries a GET whose connection the server closed without an answer", function()
    sandbox:reset()
    sandbox:inject { path = "/v1/store/info.json", action = "close", count = 1 }
    local status, body = get_json(ng, "/store")
    assert.equal(200, status, body)
    local requests = sandbox:requests("/v1/store/info.json")
    assert.equal(2, #requests, ng.log():sub(-2000))
    assert.equal(1, sandbox:stats().injected)
  end)

  it("refreshes once when the token expires, whichever worker gets there first", function()
    sandbox:reset()
    sandbox:expire()
    local statuses = burst(ng, "/store", 30)
    assert.equal(30, #statuses)
    for _, s in ipairs(statuses) do assert.equal(200, s) end
    local stats = sandbox:stats()
    assert.equal(1, stats.refreshes)
    assert.equal(0, stats.invalid_grant)
    -- A worker that served none of that burst still holds the expired token:
    -- its 401 makes it take the stored new one, not refresh again.
    statuses = burst(ng, "/store", 30)
    assert.equal(30, #statuses)
    for _, s in ipairs(statuses) do assert.equal(200, s) end
    stats = sandbox:stats()
    assert.equal(1, stats.refreshes)
    assert.equal(0, stats.invalid_grant)
  end)

  it("accepts a webhook only with a valid Jumpseller-Hmac-Sha256", function()
    local body = '{"order":{"id":1001,"status":"paid"}}'
    local sig = H.openssl_hmac(body, "hooks-token-9")
    local headers = { ["Content-Type"] = "application/json", ["Jumpseller-Hmac-Sha256"] = sig,
      ["Jumpseller-Event"] = "order_paid" }
    local status, _, rbody = browse(ng, ng.base .. "/webhooks/jumpseller", { body = body, headers = headers })
    assert.equal(200, status, rbody)
    assert.equal("order_paid", json.decode(rbody).event)
    status, _, rbody = browse(ng, ng.base .. "/webhooks/jumpseller",
      { body = body:gsub("1001", "1002"), headers = headers })
    assert.equal(401, status)
    assert.equal("bad_signature", json.decode(rbody).error)
    headers["Jumpseller-Hmac-Sha256"] = nil
    status = browse(ng, ng.base .. "/webhooks/jumpseller", { body = body, headers = headers })
    assert.equal(401, status)
  end)

  it("opens the BigCommerce app only with a valid signed_payload_jwt", function()
    local header = '{"alg":"HS256","typ":"JWT"}'
    local payload = ('{"aud":"bc-id","iss":"bc","sub":"stores/xyz789","exp":%d,"user":{"id":1,"email":"a@b.example"}}')
      :format(os.time() + 3600)
    local input = H.b64url(header) .. "." .. H.b64url(payload)
    local status, body = get_json(ng, "/bigcommerce/load?signed_payload_jwt=" .. H.jwt(header, payload, "bc-secret"))
    assert.equal(200, status)
    assert.equal("xyz789", body.store_hash)
    status, body = get_json(ng, "/bigcommerce/load?signed_payload_jwt=" .. input .. ".")
    assert.equal(401, status)
    assert.equal("bad_signature", body.error)
  end)

  it("logs a failed callback without its code or state", function()
    local _, _, _, authorize = browse(ng, ng.base .. "/login")
    local _, _, _, callback = browse(ng, authorize, { no_cookies = true })
    local state = callback:match("state=([^&]+)")
    local bad = callback:gsub("code=[^&]+", "code=BAD-CODE-4711")
    local status = browse(ng, bad)
    assert.equal(502, status)
    local log
    for _ = 1, 100 do -- logged from a timer, a moment later
      log = ng.log()
      if log:find("invalid_grant", 1, true) then break end
      H.sleep(0.02)
    end
    assert.matches("invalid_grant", log, 1, true)
    assert.is_nil(log:find("BAD-CODE-4711", 1, true))
    assert.is_nil(log:find(state, 1, true))
  end)

  it("keeps secrets out of nginx's error log, every token it was issued included", function()
    note_tokens()
    local issued = issued_before_resets + issued_since_reset()
    local n = { access = 0, refresh = 0 }
    for kind, set in pairs(seen) do
      for _ in pairs(set) do n[kind] = n[kind] + 1 end
    end
    -- the login and the refresh at least; each issued set noted, none missed
    assert.is_true(issued >= 2, issued .. " token sets issued")
    assert.equal(issued, n.access)
    assert.equal(issued, n.refresh)
    local log = ng.log()
    assert.is_true(#log > 0, "nginx logged nothing")
    for kind, set in pairs(seen) do
      for t in pairs(set) do assert.is_nil(log:find(t, 1, true), "a " .. kind .. " token is in the log") end
    end
    assert.is_nil(log:find("sbx-s3cr3t-Zq7RkA9dW", 1, true))
    assert.is_nil(log:find("hooks-token-9", 1, true))
  end)
end)

describe("the OpenResty example, with 1 worker and a slow API", function()
  local sandbox, ng

  setup(function()
    sandbox = H.sandbox("jumpseller")
    sandbox:config { rate_limit_per_second = 0 }
  end)
  teardown(function()
    if ng then ng.stop() end
    if sandbox then sandbox:stop() end
  end)

  -- The figure in the README: 20 requests, each waiting 500 ms on the API,
  -- overlap in one worker (blocking I/O would serve them one by one, 10 s).
  it("serves 20 concurrent requests at once: the worker never blocks on the API", function()
    ng = start_example(sandbox, 1)
    assert.equal(200, (log_in(ng)))
    sandbox:reset()
    sandbox:inject { path = "/v1/store/info.json", action = "delay", delay_ms = 500, count = 20 }
    local statuses, _, elapsed = burst(ng, "/store", 20)
    assert.equal(20, #statuses)
    for _, s in ipairs(statuses) do assert.equal(200, s) end
    local stats = sandbox:stats()
    assert.equal(20, stats.api)
    -- The requests were at the API together (a worker blocked on I/O would
    -- send them one at a time: a peak of 1).
    assert.is_true(stats.peak_in_flight >= 15, "peak in flight " .. stats.peak_in_flight)
    print(("\n  [openresty] 1 worker, 20 concurrent requests to a 500 ms API: %.2f s in total, "
      .. "%d at the API at once"):format(elapsed, stats.peak_in_flight))
  end)

  it("asks an unavailable token endpoint once for the requests queued behind a refresh", function()
    assert.is_not_nil(ng, "needs the example started above")
    sandbox:expire()
    local before = #sandbox:requests("/oauth/token")
    sandbox:inject { path = "/oauth/token", status = 503, delay_ms = 300, count = 40,
      headers = { ["Content-Type"] = "text/html" }, body = "<h1>down</h1>" }
    local statuses, bodies = burst(ng, "/store", 20)
    assert.equal(20, #statuses)
    for i, s in ipairs(statuses) do assert.equal(502, s, bodies[i] and json.encode(bodies[i])) end
    local asked = #sandbox:requests("/oauth/token") - before
    -- the first refresh, and at most a few from requests that came after it failed
    assert.is_true(asked <= 3, asked .. " token requests for 20 queued requests")
    print(("\n  [openresty] token endpoint down, 20 concurrent requests: %d token requests"):format(asked))
  end)
end)
