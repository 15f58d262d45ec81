-- A user's transport and a user's store, given to connect: the engine's
-- HTTP requests (token endpoint and API) go through the transport, and its
-- settings document through the store's four functions, with the same
-- guarantees as the built-in ones.
local H = require "helpers"
local jumpseller = require "jumpseller"
local core = require "oauthconnect.core"

package.path = H.ROOT .. "/examples/?.lua;" .. package.path
local sqlite_store = require "sqlite_store"

-- A transport made with LuaSocket that records what it carried.
local function luasocket_transport(log)
  local http, ltn12 = require "socket.http", require "ltn12"
  return function(req)
    log[#log + 1] = req
    local headers, chunks = {}, {}
    for _, h in ipairs(req.headers) do headers[h[1]] = h[2] end
    local _, status, rheaders = http.request { url = req.url, method = req.method, headers = headers,
      source = req.body and ltn12.source.string(req.body) or nil, sink = ltn12.sink.table(chunks) }
    if type(status) ~= "number" then return nil, { message = tostring(status), sent = true } end
    return { status = status, headers = rheaders, body = table.concat(chunks) }
  end
end

describe("a user's transport", function()
  local sandbox, props
  before_each(function()
    sandbox = H.sandbox("jumpseller", { "--access-ttl", "4" })
    props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthSettingsLocation = H.tmpdir() .. "/s.json",
      CallbackURL = "http://127.0.0.1:1/callback" })
    assert(jumpseller.get_access_token(props, (sandbox:authorize({ redirect_uri = props.CallbackURL }))))
    sandbox:reset()
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("carries the engine's API and token requests", function()
    local log = {}
    local c = assert(jumpseller.connect(props, { transport = luasocket_transport(log) }))
    assert.equal("Sandbox Store", assert(c:get("/store/info.json")).store.name)
    sandbox:expire()
    assert.equal("Sandbox Store", assert(c:get("/store/info.json")).store.name)
    c:close()
    -- GET (200), GET (401), POST /oauth/token, GET (200)
    assert.equal(4, #log)
    assert.equal("POST", log[3].method)
    assert.matches("/oauth/token$", log[3].url)
    assert.matches("grant_type=refresh_token", log[3].body, 1, true)
    assert.is_number(log[1].timeout_ms)
    local names = {}
    for _, h in ipairs(log[1].headers) do names[h[1]] = h[2] end
    assert.matches("^Bearer ", names.Authorization)
    assert.equal(1, sandbox:stats().refreshes)
  end)

  it("says whether a failed request was sent: an unsent GET is tried again, a sent POST is not", function()
    local log, fail_next = {}, nil
    local real = luasocket_transport(log)
    local transport = function(req)
      if fail_next then
        local how = fail_next
        fail_next = nil
        return nil, { message = "the cable is out", sent = how == "sent" }
      end
      return real(req)
    end
    local c = assert(jumpseller.connect(props, { transport = transport }))
    fail_next = "unsent"
    assert(c:get("/store/info.json"))
    fail_next = "sent"
    local _, err = c:post("/products.json", { product = { name = "Tee", price = 1 } })
    assert.equal("network_error", err.code)
    assert.matches("the cable is out", err.message, 1, true)
    assert.equal(0, #sandbox:requests("/v1/products.json"))
    c:close()
  end)

  it("answers a malformed answer with nil, err naming the transport, never a raise", function()
    local answers = {
      { { status = 99999 }, "status 99999 is not an HTTP status" },
      { { status = -1 }, "status %-1 is not an HTTP status" },
      { { status = 200.5 }, "status 200%.5 is not an HTTP status" },
      { { status = 0 / 0 }, "is not an HTTP status" },
      { { status = 200, headers = "x" }, "headers are not a {name = value} table" },
      { { status = 200, headers = { ["Content-Type"] = {} } }, "header 'Content%-Type' is not a string" },
      { { status = 200, body = 5 }, "body is not a string" },
      { "200", "returned no {status = number" },
    }
    for _, case in ipairs(answers) do
      local c = assert(jumpseller.connect(props, { transport = function() return case[1] end }))
      local ok, res, err = pcall(c.get, c, "/store/info.json")
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.equal("network_error", err.code)
      assert.matches(case[2], err.message)
      c:close()
    end
    local c = assert(jumpseller.connect(props, { transport = function()
      return { status = 200, headers = { ["Content-Length"] = 2, ["Content-Type"] = "application/json" }, body = "{}" }
    end }))
    assert.same({}, assert(c:get("/store/info.json")))
    c:close()
  end)

  it("is refused with properties only libcurl would honour", function()
    local c, err = jumpseller.connect(props, { transport = luasocket_transport({}), ProxyServer = "proxy:3128" })
    assert.is_nil(c)
    assert.equal("unsupported", err.code)
    assert.equal("ProxyServer", err.property)
  end)
end)

describe("a user's store", function()
  local sandbox, db
  before_each(function()
    sandbox = H.sandbox("jumpseller", { "--access-ttl", "4" })
    db = H.tmpdir() .. "/tokens.db"
  end)
  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function props()
    return sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", CallbackURL = "http://127.0.0.1:1/callback",
      store = sqlite_store.new(db, "shop") })
  end

  it("keeps the tokens the web flow got, and the next process uses them", function()
    local p = props()
    assert(jumpseller.get_access_token(p, (sandbox:authorize({ redirect_uri = p.CallbackURL }))))
    local out, err, rc = H.run_lua(([[
      package.path = %q .. "/examples/?.lua;" .. package.path
      local j = require "jumpseller"
      local c = assert(j.connect(os.getenv("CONN"), { store = require("sqlite_store").new(os.getenv("DB"), "shop") }))
      print(assert(c:get("/store/info.json")).store.name)]]):format(H.ROOT),
      { CONN = H.connstr(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH" })), DB = db })
    assert.equal(0, rc, err)
    assert.equal("Sandbox Store\n", out)
    assert.equal(1, sandbox:stats().code_exchanges)
    assert.equal(0, sandbox:stats().refreshes)
  end)

  it("renews under its lock once, and the other clients adopt what it saved", function()
    local p = props()
    assert(jumpseller.get_access_token(p, (sandbox:authorize({ redirect_uri = p.CallbackURL }))))
    local a = assert(jumpseller.connect(props()))
    local b = assert(jumpseller.connect(props()))
    sandbox:reset()
    H.sleep(3.2) -- due
    assert(a:get("/store/info.json"))
    assert(b:get("/store/info.json"))
    assert.equal(1, sandbox:stats().refreshes)
    a:close()
    b:close()
  end)

  it("is told to give the four functions, by name", function()
    local ok, err = pcall(jumpseller.connect, sandbox:jumpseller_props({ InitiateOAuth = "REFRESH" }),
      { store = { load = function() end, save = function() end, lock = function() end } })
    assert.is_false(ok)
    assert.matches("store.unlock must be a function", err, 1, true)
  end)

  it("reports the store's own failure, naming the store", function()
    local broken = { load = function() return nil, "the database is read-only" end,
      save = function() return nil, "no" end, lock = function() return true end, unlock = function() end }
    local c, err = jumpseller.connect(sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", OAuthRefreshToken = "r" }),
      { store = broken })
    assert.is_nil(c)
    assert.equal("settings_error", err.code)
    assert.matches("the store given to connect", err.message, 1, true)
    assert.matches("the database is read-only", err.message, 1, true)
  end)

  it("serves 8 processes refreshing single-use tokens once per lifetime", function()
    local r = H.run_reliability("churn.lua", "processes=8 requests=12 interval=0.25 ttl=2 store=sqlite per_minute=0 per_second=0")
    assert.equal(0, r.failed)
    assert.equal(0, r.invalid_grant)
    assert.is_true(r.refreshes <= r.lifetimes + 1)
  end)
end)

describe("the store contract", function()
  it("is the same text the C stores keep: a document the library reads, CAS-saved", function()
    -- a document written through a Lua store loads through the file store's reader
    local sandbox = H.sandbox("jumpseller")
    local saved
    local store = { load = function() return saved end,
      save = function(text, expected) if expected ~= saved then return false end saved = text return true end,
      lock = function() return true end, unlock = function() end }
    local p = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", CallbackURL = "http://127.0.0.1:1/callback", store = store })
    assert(jumpseller.get_access_token(p, (sandbox:authorize({ redirect_uri = p.CallbackURL }))))
    local doc = require("oauthconnect.json").decode(saved)
    assert.is_string(doc.refresh_token)
    assert.equal("jumpseller", doc.provider)
    assert.equal(core._VERSION and "oauthconnect-settings-1", doc.format)
    sandbox:stop()
    H.cleanup()
  end)
end)
