-- Network properties: a real proxy on loopback, a private CA trusted through
-- SSLServerCert, and the Verbosity 5 log that must hold no secret.
local H = require "helpers"
local jumpseller = require "jumpseller"
local oauthconnect = require "oauthconnect"

-- A tinyproxy on a free loopback port; opts.user/opts.password demand Basic auth.
local function start_proxy(dir, opts)
  local port = H.free_port()
  local conf = dir .. "/tinyproxy.conf"
  local lines = {
    "Port " .. port, "Listen 127.0.0.1", "Timeout 30", "Allow 127.0.0.1",
    "LogFile \"" .. dir .. "/tinyproxy.log\"", "LogLevel Info", "PidFile \"" .. dir .. "/tinyproxy.pid\"",
    "MaxClients 20", "DisableViaHeader Yes",
  }
  if opts and opts.user then lines[#lines + 1] = "BasicAuth " .. opts.user .. " " .. opts.password end
  H.write_file(conf, table.concat(lines, "\n") .. "\n")
  os.execute("tinyproxy -d -c " .. H.q(conf) .. " >/dev/null 2>&1 & echo $! > " .. H.q(dir .. "/pid"))
  local deadline = H.now() + 10
  while H.now() < deadline do
    if H.capture("curl -s -o /dev/null -w '%{http_code}' --max-time 1 -x 127.0.0.1:" .. port
      .. " http://127.0.0.1:1/ 2>/dev/null") ~= "000" then break end
    H.sleep(0.05)
  end
  local pid = tonumber(H.read_file(dir .. "/pid"))
  return {
    port = port,
    log = function() return H.read_file(dir .. "/tinyproxy.log") or "" end,
    stop = function() os.execute("kill " .. pid .. " 2>/dev/null") end,
  }
end

local make_ca = H.make_ca

-- This machine's name when it resolves to a loopback address without being
-- a loopback name (Debian's /etc/hosts maps it to 127.0.1.1): a host the
-- client sends through a proxy that the proxy can still reach. name, address
-- or nil.
local function loopback_alias()
  local name = H.capture("hostname"):gsub("%s+$", "")
  local addr = H.capture("getent ahostsv4 " .. H.q(name) .. " 2>/dev/null"):match("^(127%.%d+%.%d+%.%d+)")
  if name:match("^[%w.-]+$") and name ~= "localhost" and addr then return name, addr end
end

describe("network properties", function()
  local dir

  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.cleanup() end)

  describe("a proxy", function()
    local sandbox, proxy
    after_each(function()
      if proxy then proxy.stop() end
      if sandbox then sandbox:stop() end
    end)

    -- Plain http is allowed only to loopback hosts, because such traffic
    -- never leaves the machine: through a proxy the token would.
    it("never sends a loopback API's requests, or their tokens, through ProxyServer", function()
      sandbox = H.sandbox("jumpseller")
      local v6 = H.sandbox("jumpseller", { "--host", "::1" })
      proxy = start_proxy(dir)
      local props = sandbox:jumpseller_props({ InitiateOAuth = "REFRESH", CallbackURL = "http://127.0.0.1:1/cb",
        OAuthSettingsLocation = dir .. "/t.json", ProxyServer = "127.0.0.1", ProxyPort = proxy.port })
      assert(jumpseller.get_access_token(props, sandbox:authorize({ redirect_uri = props.CallbackURL })))
      local c = assert(jumpseller.connect(props))
      local refreshed = assert(c:token(true)) -- the token endpoint too
      assert.equal("Sandbox Store", assert(c:get("/store/info.json")).store.name)
      c:close()
      local token = refreshed.access_token
      for _, url in ipairs({ sandbox.url:gsub("127%.0%.0%.1", "localhost") .. "/v1", v6.url .. "/v1" }) do
        c = assert(jumpseller.connect({ InitiateOAuth = "OFF", OAuthAccessToken = token, URL = url,
          ProxyServer = "http://127.0.0.1:" .. proxy.port }))
        local body, err = c:get("/store/info.json")
        c:close()
        if url:find("::1", 1, true) then
          assert.equal(401, err and err.status, tostring(err)) -- another sandbox: not its token
        else
          assert.equal("Sandbox Store", body and body.store.name, tostring(err))
        end
      end
      v6:stop()
      local log = proxy.log() -- only start_proxy's own probe went through it
      assert.is_nil(log:find("/v1/store", 1, true), log)
      assert.is_nil(log:find("/oauth/token", 1, true), log)
      assert.is_nil(log:find(token, 1, true))
    end)

    -- Every other API goes through the proxy. Its tunnels are tried to
    -- a name that does not resolve (the proxy answers 500 once it has
    -- let the client in), and end to end to this machine's own name
    -- where that name is a loopback address but not a loopback name.
    local UNRESOLVABLE = "https://api.example.invalid/v1"

    it("carries every request to another host through ProxyServer/ProxyPort", function()
      proxy = start_proxy(dir)
      local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "shop", Password = "tok",
        URL = UNRESOLVABLE, ProxyServer = "127.0.0.1", ProxyPort = proxy.port, MaxAttempts = 1 }))
      local body, err = c:get("/store/info.json")
      c:close()
      assert.is_nil(body)
      assert.equal("network_error", err.code)
      assert.matches("CONNECT api.example.invalid:443", proxy.log(), 1, true)
    end)

    it("authenticates to the proxy, and reports a refusal", function()
      proxy = start_proxy(dir, { user = "puser", password = "ppass" })
      local base = { AuthScheme = "BASIC", User = "shop", Password = "tok", URL = UNRESOLVABLE,
        ProxyServer = "http://127.0.0.1:" .. proxy.port, ProxyUser = "puser", MaxAttempts = 1 }
      base.ProxyPassword = "ppass"
      local c = assert(jumpseller.connect(base))
      local _, err = c:get("/store/info.json")
      c:close()
      -- let in: the proxy then tries the host
      assert.equal("network_error", err.code)
      assert.not_matches("wants credentials", err.message)
      assert.matches("opening connection to api.example.invalid:443", proxy.log(), 1, true)
      -- tinyproxy answers a wrong password with 401 (407 when none is sent)
      base.ProxyPassword = "wrong"
      c = assert(jumpseller.connect(base))
      _, err = c:get("/store/info.json")
      c:close()
      assert.matches("CONNECT tunnel failed, response 40[17]", err.message)
      -- no credentials at all: a 407, and the error says what to set
      base.ProxyUser, base.ProxyPassword = nil, nil
      c = assert(jumpseller.connect(base))
      _, err = c:get("/store/info.json")
      c:close()
      assert.matches("the proxy wants credentials: set ProxyUser and ProxyPassword", err.message, 1, true)
    end)

    it("tunnels HTTPS through an authenticating proxy, and says what a 407 wants", function()
      local name, addr = loopback_alias()
      if not name then
        pending("this machine's name (" .. H.capture("hostname"):gsub("%s+$", "")
          .. ") is not a loopback address")
        return
      end
      local ca, cert, key = make_ca(dir, "DNS:" .. name)
      sandbox = H.sandbox("jumpseller", { "--host", addr, "--tls-cert", cert, "--tls-key", key,
        "--basic-login", "shop", "--basic-token", "tok" })
      proxy = start_proxy(dir, { user = "puser", password = "ppass" })
      local base = { AuthScheme = "BASIC", User = "shop", Password = "tok",
        URL = sandbox.url:gsub("//[^:/]+", "//" .. name) .. "/v1",
        SSLServerCert = ca, ProxyServer = "http://127.0.0.1:" .. proxy.port, MaxAttempts = 1 }
      local c = assert(jumpseller.connect(base))
      local body, err = c:get("/store/info.json")
      c:close()
      assert.is_nil(body)
      assert.matches("the proxy wants credentials: set ProxyUser and ProxyPassword", err.message, 1, true)
      base.ProxyUser, base.ProxyPassword = "puser", "ppass"
      c = assert(jumpseller.connect(base))
      assert.equal("Sandbox Store", assert(c:get("/store/info.json")).store.name)
      c:close()
      assert.matches("CONNECT " .. name .. ":", proxy.log(), 1, true)
    end)

    it("says when the proxy itself cannot be reached", function()
      local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "shop", Password = "tok",
        URL = UNRESOLVABLE, ProxyServer = "http://127.0.0.1:" .. H.free_port(), MaxAttempts = 1 }))
      local body, err = c:get("/store/info.json")
      c:close()
      assert.is_nil(body)
      assert.equal("network_error", err.code)
      assert.matches("failed: the proxy (ProxyServer) cannot be reached", err.message, 1, true)
    end)

    it("does not blame the proxy for a loopback API it never went through", function()
      local c = assert(jumpseller.connect({ AuthScheme = "BASIC", User = "shop", Password = "tok",
        URL = "http://127.0.0.1:" .. H.free_port() .. "/v1", ProxyServer = "http://127.0.0.1:" .. H.free_port(),
        MaxAttempts = 1 }))
      local _, err = c:get("/store/info.json")
      c:close()
      assert.equal("network_error", err.code)
      assert.not_matches("proxy", err.message)
    end)

    it("connects directly with ProxyAutoDetect=FALSE, despite the environment", function()
      sandbox = H.sandbox("jumpseller", { "--basic-login", "shop", "--basic-token", "tok" })
      local out, err, code = H.run_lua([[
        local c = assert(require("jumpseller").connect(os.getenv("CONN")))
        print(assert(c:get("/store/info.json")).store.name)
      ]], { CONN = H.connstr({ AuthScheme = "BASIC", User = "shop", Password = "tok",
        URL = sandbox.url .. "/v1", ProxyAutoDetect = "FALSE" }), http_proxy = "http://127.0.0.1:1" })
      assert.equal(0, code, err)
      assert.equal("Sandbox Store\n", out)
    end)
  end)

  describe("SSLServerCert", function()
    local sandbox
    after_each(function() if sandbox then sandbox:stop() end end)

    it("trusts a private CA given as a file or as PEM text, and nothing without it", function()
      local ca, cert, key = make_ca(dir)
      sandbox = H.sandbox("jumpseller", { "--tls-cert", cert, "--tls-key", key,
        "--basic-login", "shop", "--basic-token", "tok" })
      assert.matches("^https://127%.0%.0%.1:", sandbox.url)
      local base = { AuthScheme = "BASIC", User = "shop", Password = "tok", URL = sandbox.url .. "/v1" }

      local c = assert(jumpseller.connect(base))
      local body, err = c:get("/store/info.json")
      assert.is_nil(body)
      assert.equal("tls_error", err.code)
      c:close()

      base.SSLServerCert = ca
      c = assert(jumpseller.connect(base))
      assert.equal("Sandbox Store", assert(c:get("/store/info.json")).store.name)
      c:close()

      base.SSLServerCert = H.read_file(ca)
      c = assert(jumpseller.connect(base))
      assert(c:get("/store/info.json"))
      c:close()
    end)

    it("refuses '*' and unreadable files", function()
      local _, err = jumpseller.connect({ OAuthAccessToken = "x", SSLServerCert = "*" })
      assert.equal("SSLServerCert", err.property)
      assert.matches("always verifies TLS", err.message)
      _, err = jumpseller.connect({ OAuthAccessToken = "x", SSLServerCert = dir .. "/nope.pem" })
      assert.equal("SSLServerCert", err.property)
      -- a certificate that is not one is refused at connect, not on every request
      _, err = jumpseller.connect({ OAuthAccessToken = "x",
        SSLServerCert = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n" })
      assert.equal("SSLServerCert", err.property)
      assert.matches("holds no certificate OpenSSL can read", err.message, 1, true)
      H.write_file(dir .. "/not-a-cert.pem", "hello\n")
      _, err = jumpseller.connect({ OAuthAccessToken = "x", SSLServerCert = dir .. "/not-a-cert.pem" })
      assert.equal("SSLServerCert", err.property)
      assert.matches("holds no PEM certificate OpenSSL can read", err.message, 1, true)
    end)
  end)

  describe("AuthScheme", function()
    local sandbox
    after_each(function() if sandbox then sandbox:stop() end end)

    it("BASIC sends the Jumpseller store login and authtoken", function()
      sandbox = H.sandbox("jumpseller", { "--basic-login", "shop", "--basic-token", "tok" })
      local c = assert(jumpseller.connect({ AuthScheme = "basic", User = "shop", Password = "tok",
        URL = sandbox.url .. "/v1" }))
      assert(c:get("/store/info.json"))
      local r = sandbox:requests("/v1")[1]
      assert.equal("Basic c2hvcDp0b2s=", r.headers.authorization)
      c:close()
      local _, err = jumpseller.connect({ AuthScheme = "BASIC", User = "shop" })
      assert.equal("Password", err.property)
    end)

    it("NTLM runs libcurl's handshake against a server that demands it", function()
      sandbox = H.sandbox("jumpseller")
      local c = assert(oauthconnect.connect({ AuthScheme = "NTLM", User = "alice", Password = "s3cret",
        URL = sandbox.url }))
      local who = assert(c:get("/ntlm/whoami"))
      assert.equal("alice", who.user)
      local seen = {}
      for _, r in ipairs(sandbox:requests("/ntlm/whoami")) do
        seen[#seen + 1] = (r.headers.authorization or "none"):match("^(%S+ ?%S?%S?%S?%S?)")
      end
      assert.is_true(#seen >= 2) -- type 1, then type 3 on the same connection
      c:close()
    end)

    it("NONE sends no credentials, and says so on a 401", function()
      sandbox = H.sandbox("jumpseller")
      local c = assert(oauthconnect.connect({ AuthScheme = "NONE", URL = sandbox.url .. "/v1" }))
      local _, err = c:get("/store/info.json")
      assert.equal(401, err.status)
      assert.matches("AuthScheme=NONE sends none", err.message)
      assert.is_nil(sandbox:requests("/v1")[1].headers.authorization)
      c:close()
    end)

    it("refuses a scheme the provider cannot use, with the list it can", function()
      local _, err = jumpseller.connect({ AuthScheme = "APIKEY", APIKey = "k" })
      assert.equal("unsupported", err.code)
      assert.matches("Jumpseller cannot use APIKEY; it takes OAUTH,BASIC", err.message)
      _, err = jumpseller.connect({ AuthScheme = "OAuthClient" })
      assert.matches("cannot use OAUTH_CLIENT", err.message)
    end)
  end)

  describe("the Verbosity 5 log", function()
    local sandbox
    after_each(function() if sandbox then sandbox:stop() end end)

    it("shows requests, headers and bodies, and none of the secrets used", function()
      sandbox = H.sandbox("jumpseller", { "--access-ttl", "4" })
      local log = dir .. "/oc.log"
      local props = sandbox:jumpseller_props({ InitiateOAuth = "GETANDREFRESH",
        OAuthSettingsLocation = dir .. "/t.json", CallbackURL = "http://127.0.0.1:1/callback",
        Scope = "read_store read_products write_products", Verbosity = 5, Logfile = log })
      local url, _, verifier = assert(jumpseller.get_authorization_url(props))
      local code = H.follow(url).code
      local issued = { assert(jumpseller.get_access_token(props, code, { code_verifier = verifier })) }
      local c = assert(jumpseller.connect(props))
      assert(c:get("/store/info.json"))
      assert(c:post("/products.json", { product = { name = "Logged" } }))
      issued[#issued + 1] = assert(c:token(true))
      sandbox:expire()
      assert(c:get("/store/info.json")) -- 401, refresh, retry
      issued[#issued + 1] = assert(c:token())
      c:close()

      local text = H.read_file(log)
      assert.equal("600", H.mode(log))
      assert.matches("POST http://127%.0%.0%.1:%d+/oauth/token %-> 200", text)
      assert.matches("GET http://127%.0%.0%.1:%d+/v1/store/info%.json %-> 401", text)
      assert.matches("> Authorization: %[REDACTED%]", text)
      assert.matches('"access_token":"%[REDACTED%]"', text)
      assert.matches("client_secret=%[REDACTED%]", text)
      assert.matches('"name":"Logged"', text)
      local secrets = { "sbx-s3cr3t-Zq7RkA9dW", code, verifier }
      for _, t in ipairs(issued) do
        secrets[#secrets + 1] = t.access_token
        secrets[#secrets + 1] = t.refresh_token
      end
      local live = sandbox:tokens()
      for _, t in ipairs(live.access) do secrets[#secrets + 1] = t end
      for _, t in ipairs(live.refresh) do secrets[#secrets + 1] = t end
      for _, s in ipairs(secrets) do
        assert.is_nil(text:find(s, 1, true), "the log holds a secret: " .. s:sub(1, 4) .. "...")
      end
    end)
  end)
end)
