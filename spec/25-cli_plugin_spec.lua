-- The command as an auth plugin for the shell: `oauthconnect header` prints
-- the header line(s), `oauthconnect curl` runs curl with them, passed so
-- that no secret is in any process's command line.
local H = require "helpers"
local json = require "oauthconnect.json"

-- Runs the command; returns its stdout, exit status and stderr.
local function oauthconnect(env, args)
  local errfile = H.tmpdir() .. "/err"
  local out, code = H.capture(H.LUA_ENV .. " " .. env .. " " .. H.LUA .. " " .. H.q(H.ROOT .. "/bin/oauthconnect")
    .. " " .. args .. " 2>" .. H.q(errfile))
  return out, code, H.read_file(errfile) or ""
end

describe("the command's header and curl", function()
  local sandbox
  after_each(function()
    if sandbox then sandbox:stop() end
    sandbox = nil
    H.cleanup()
  end)

  -- OAUTHCONNECT_<NAME>=... for a logged-in connection of provider.
  local function logged_in(provider, module, name)
    -- a secret of this run alone: the process-list check must not meet
    -- another run's command lines quoting the sandbox's default one
    local secret = ("cli-plugin-secret-%d-%d"):format(H.pid, math.random(1, 1e9))
    sandbox = H.sandbox(provider, { env = { SANDBOX_CLIENT_SECRET = secret } })
    local base = { OAuthSettingsLocation = H.tmpdir() .. "/s.json", CallbackURL = "http://127.0.0.1:1/callback",
      OAuthClientSecret = secret }
    local props = provider == "keap" and sandbox:keap_props(base)
      or provider == "bigcommerce" and sandbox:bigcommerce_props(base) or sandbox:jumpseller_props(base)
    local code, cb = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert(require(module).get_access_token(props, provider == "bigcommerce" and cb or code,
      provider == "bigcommerce" and { redirect_uri = props.CallbackURL } or nil))
    sandbox:reset()
    return "OAUTHCONNECT_" .. name:upper() .. "=" .. H.q(H.connstr(props)), props
  end

  local CASES = {
    { "jumpseller", "jumpseller", "jumpseller", "Authorization: Bearer ", "/v1/store/info.json" },
    { "bigcommerce", "bigcommerce", "bigcommerce", "X-Auth-Token: ", "/stores/sbx123abc/v3/catalog/products" },
    { "keap", "infusionsoft", "keap", "Authorization: Bearer ", "/crm/rest/v1/contacts/1" },
  }

  for _, case in ipairs(CASES) do
    it("prints " .. case[1] .. "'s header and runs curl with it, refreshing after a 401", function()
      local env, props = logged_in(case[1], case[2], case[3])
      local out, code = oauthconnect(env, "header " .. case[3])
      assert.equal(0, code)
      local token = H.settings(props.OAuthSettingsLocation).access_token
      assert.equal(case[4] .. token .. "\n", out)
      out, code = oauthconnect(env, "curl " .. case[3] .. " -s " .. H.q(sandbox.url .. case[5]))
      assert.equal(0, code, out)
      assert.is_table(json.decode(out))
      if case[1] ~= "bigcommerce" then -- tokens that refresh: a 401 is answered once, silently
        sandbox:expire()
        out, code = oauthconnect(env, "curl " .. case[3] .. " -s " .. H.q(sandbox.url .. case[5]))
        assert.equal(0, code, out)
        assert.is_nil(out:find("expired", 1, true)) -- the 401's body was held back
        assert.is_table(json.decode(out))
        assert.equal(1, sandbox:stats().refreshes)
      end
    end)
  end

  it("keeps curl's own exit status and says why when no better credentials exist", function()
    local env = logged_in("bigcommerce", "bigcommerce", "bigcommerce")
    local _, code = oauthconnect(env, "curl bigcommerce -s -f " .. H.q(sandbox.url .. "/stores/sbx123abc/v3/nowhere"))
    assert.equal(22, code) -- curl -f: the server answered an error
    sandbox:revoke()
    local out
    out, code = oauthconnect(env, "curl bigcommerce -s " .. H.q(sandbox.url .. "/stores/sbx123abc/v3/catalog/products"))
    assert.equal(0, code) -- curl did its work: the server's 401 is the answer, printed
    assert.matches("401", out)
  end)

  it("runs curl only toward the API's origin, and refuses what could send the token elsewhere", function()
    local env = logged_in("jumpseller", "jumpseller", "jumpseller")
    local port = sandbox.url:match(":(%d+)$")
    local elsewhere = {
      "-s " .. H.q("http://localhost:" .. port .. "/v1/store/info.json"), -- another host, same server
      "-s -o /dev/null " .. H.q(sandbox.url .. "/v1/store/info.json") .. " " .. H.q("http://localhost:" .. port .. "/x"),
      "-s --url " .. H.q("http://localhost:" .. port .. "/v1/store/info.json"),
      "-sS" .. "o/dev/null " .. H.q("http://localhost:" .. port .. "/v1/store/info.json"),
      "-s " .. H.q("localhost:" .. port .. "/v1/store/info.json"), -- curl would guess http://
      "-s --connect-to " .. H.q("127.0.0.1:" .. port .. ":localhost:" .. port) .. " " .. H.q(sandbox.url .. "/v1/store/info.json"),
      "-s --resolve " .. H.q("x:1:127.0.0.1") .. " " .. H.q(sandbox.url .. "/v1/store/info.json"),
      "-s -K /dev/null " .. H.q(sandbox.url .. "/v1/store/info.json"),
    }
    for _, args in ipairs(elsewhere) do
      local out, code, err = oauthconnect(env, "curl jumpseller " .. args)
      assert.equal(2, code, args .. ": " .. out .. err)
      assert.matches("oauthconnect: curl: ", err, 1, true)
      assert.is_nil(err:find("Bearer", 1, true))
    end
    assert.equal(0, #sandbox:requests("/v1"), "curl ran") -- refused before curl started
    -- what stays: options with values, "--", and the API's own URLs
    local out, code = oauthconnect(env, "curl jumpseller -s -H " .. H.q("Accept: application/json")
      .. " -o - -- " .. H.q(sandbox.url .. "/v1/store/info.json"))
    assert.equal(0, code, out)
    assert.is_table(json.decode(out))
  end)

  it("puts no secret on any process's command line", function()
    local env, props = logged_in("jumpseller", "jumpseller", "jumpseller")
    local token = H.settings(props.OAuthSettingsLocation).access_token
    local secret = props.OAuthClientSecret
    sandbox:inject({ path = "/v1/store/info.json", action = "delay", delay_ms = 1500 })
    local log = H.tmpdir() .. "/ps"
    os.execute(H.LUA_ENV .. " " .. env .. " " .. H.LUA .. " " .. H.q(H.ROOT .. "/bin/oauthconnect")
      .. " curl jumpseller -s " .. H.q(sandbox.url .. "/v1/store/info.json") .. " >/dev/null 2>&1 &")
    -- every command line on the machine while curl waits on the server
    local seen_curl = false
    local deadline = H.now() + 1.2
    while H.now() < deadline do
      local lines = H.capture("ps -eo args")
      if lines:find("curl %-D") then seen_curl = true end
      assert.is_nil(lines:find(token, 1, true), "the access token is in a command line")
      assert.is_nil(lines:find(secret, 1, true), "the client secret is in a command line")
      H.write_file(log, lines)
      H.sleep(0.05)
    end
    assert.is_true(seen_curl, "curl was never seen running: " .. (H.read_file(log) or ""))
    H.sleep(1)
  end)
end)
