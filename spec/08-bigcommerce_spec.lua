-- BigCommerce against its stand-in: JSON token exchange with context and
-- scope, the store hash taken from the token, X-Auth-Token, v2 and v3 paging,
-- tokens that never expire, and store-level API account tokens.
local H = require "helpers"
local bigcommerce = require "bigcommerce"

describe("BigCommerce", function()
  local sandbox, dir, props

  before_each(function()
    sandbox = H.sandbox("bigcommerce", { "--api-key", "store-level-token-1" })
    dir = H.tmpdir()
    props = sandbox:bigcommerce_props({
      InitiateOAuth = "GETANDREFRESH",
      OAuthSettingsLocation = dir .. "/bc.json",
      CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/auth",
    })
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  it("exchanges the callback's code, scope and context as a JSON body", function()
    local code, callback = sandbox:authorize({ redirect_uri = props.CallbackURL, scope = "store_v2_products" })
    assert.equal("stores/sbx123abc", callback.context)
    local token = assert(bigcommerce.get_access_token(props, code,
      { context = callback.context, scope = callback.scope }))
    assert.is_string(token.access_token)
    assert.is_nil(token.refresh_token)
    assert.is_nil(token.expires_at)
    assert.equal("stores/sbx123abc", token.extra.context)
    local sent = sandbox:requests("/oauth2/token")[1]
    assert.matches("^application/json", sent.headers["content-type"])
    local body = require("oauthconnect.json").decode(sent.body)
    assert.equal("authorization_code", body.grant_type)
    assert.equal("stores/sbx123abc", body.context)
    assert.equal("sbx-s3cr3t-Zq7RkA9dW", body.client_secret)
    assert.equal(props.CallbackURL, body.redirect_uri)
  end)

  it("exchanges a callback query given as OAuthVerifier with its context and scope", function()
    local _, callback = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert.is_nil(callback.state) -- BigCommerce's app callback carries none
    props.OAuthVerifier = ("code=%s&scope=%s&context=%s"):format(callback.code,
      callback.scope:gsub(" ", "+"), callback.context:gsub("/", "%%2F"))
    local c = assert(bigcommerce.connect(props))
    assert.equal(sandbox.url .. "/stores/sbx123abc/v3", c:api_url())
    c:close()
    local body = require("oauthconnect.json").decode(sandbox:requests("/oauth2/token")[1].body)
    assert.equal("stores/sbx123abc", body.context)
    assert.equal(callback.scope, body.scope)
  end)

  it("refuses a stored token issued for another store than StoreId", function()
    local code, callback = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert(bigcommerce.get_access_token(props, code, { context = callback.context, scope = callback.scope }))
    props.InitiateOAuth = "REFRESH"
    props.StoreId = "sbx123abc" -- the same store: fine
    assert(bigcommerce.connect(props)):close()
    props.StoreId = "otherstore"
    local c, err = bigcommerce.connect(props)
    assert.is_nil(c)
    assert.equal("StoreId", err.property)
    assert.matches("holds tokens for the store 'sbx123abc', not for StoreId 'otherstore'", err.message, 1, true)
    assert.equal(0, #sandbox:requests("/stores/otherstore"))
  end)

  it("takes the whole callback query in place of the code", function()
    local _, callback = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert(bigcommerce.get_access_token(props, callback))
  end)

  it("logs in through the browser, learns the store hash, and reaches v3 and v2", function()
    local out, err, code = H.run_lua([[
      local bc = require "bigcommerce"
      local c = assert(bc.connect(os.getenv("CONN")))
      local n = 0
      for p in c:each("/catalog/products") do n = n + 1 end
      local orders = 0
      for o in c:each("/v2/orders") do orders = orders + 1 end
      local store = assert(c:get("/v2/store"))
      print(n, orders, c:api_url())
    ]], { CONN = H.connstr(props), BROWSER = H.BROWSER })
    assert.equal(0, code, err)
    local products, orders, url = out:match("^(%d+)\t(%d+)\t(%S+)")
    assert.equal("320", products)
    assert.equal("300", orders)
    assert.equal(sandbox.url .. "/stores/sbx123abc/v3", url)
    assert.equal("stores/sbx123abc", H.settings(props.OAuthSettingsLocation).extra.context)
    local api = sandbox:requests("/stores/")
    assert.is_string(api[#api].headers["x-auth-token"])
    assert.is_nil(api[#api].headers.authorization)
    for _, r in ipairs(api) do
      if r.path:match("/v3/catalog/products$") then assert.equal("250", r.query.limit) end
    end
    -- later runs reuse the stored token and store hash: no second login
    out, err, code = H.run_lua([[
      local c = assert(require("bigcommerce").connect(os.getenv("CONN")))
      print(assert(c:get("/catalog/products/101")).data.id)
    ]], { CONN = H.connstr(props), BROWSER = "/bin/false" })
    assert.equal(0, code, err)
    assert.equal("101\n", out)
    assert.equal(1, sandbox:stats().authorize)
  end)

  it("says the app must be authorized again on a 401, and never tries to refresh", function()
    local code, cb = sandbox:authorize({ redirect_uri = props.CallbackURL })
    assert(bigcommerce.get_access_token(props, code, cb))
    local c = assert(bigcommerce.connect(props))
    sandbox:revoke()
    local body, err = c:get("/catalog/products")
    assert.is_nil(body)
    assert.equal(401, err.status)
    assert.matches("BigCommerce tokens cannot be refreshed, so the app must be authorized (installed) again",
      err.message, 1, true)
    assert.equal(1, sandbox:stats().token)
    c:close()
  end)

  it("says so for a token given with InitiateOAuth=OFF too", function()
    local code, cb = sandbox:authorize({ redirect_uri = props.CallbackURL })
    local token = assert(bigcommerce.get_access_token(props, code, cb))
    sandbox:revoke()
    local c = assert(bigcommerce.connect(sandbox:bigcommerce_props({ InitiateOAuth = "OFF",
      OAuthAccessToken = token.access_token, StoreId = "sbx123abc" })))
    local body, err = c:get("/catalog/products")
    c:close()
    assert.is_nil(body)
    assert.equal(401, err.status)
    assert.matches("BigCommerce tokens cannot be refreshed, so the app must be authorized (installed) again",
      err.message, 1, true)
    assert.not_matches("InitiateOAuth=OFF", err.message, 1, true)
  end)

  it("uses StoreId when given, and refuses a malformed one", function()
    local c = assert(bigcommerce.connect(sandbox:bigcommerce_props({ AuthScheme = "APIKEY",
      APIKey = "store-level-token-1", StoreId = "sbx123abc" })))
    assert.equal(320, assert(c:get("/catalog/products", { limit = 1 })).meta.pagination.total)
    c:close()
    local _, err = bigcommerce.connect(sandbox:bigcommerce_props({ AuthScheme = "APIKEY",
      APIKey = "k", StoreId = "../evil" }))
    assert.equal("StoreId", err.property)
  end)

  it("asks for StoreId when neither it nor a token names the store", function()
    -- with an API key no token can name it: asked at connect, not at the first request
    local c, err = bigcommerce.connect(sandbox:bigcommerce_props({ AuthScheme = "APIKEY", APIKey = "x" }))
    assert.is_nil(c)
    assert.equal("missing_property", err.code)
    assert.equal("StoreId", err.property)
  end)

  it("refuses AuthSchemes BigCommerce cannot use, listing the ones it can", function()
    local _, err = bigcommerce.connect(sandbox:bigcommerce_props({ AuthScheme = "BASIC", User = "u", Password = "p" }))
    assert.equal("unsupported", err.code)
    assert.matches("BigCommerce cannot use BASIC; it takes OAUTH,APIKEY", err.message)
  end)

  it("reports v3 error bodies with their title and field errors", function()
    local c = assert(bigcommerce.connect(sandbox:bigcommerce_props({ AuthScheme = "APIKEY",
      APIKey = "store-level-token-1", StoreId = "sbx123abc" })))
    local _, err = c:post("/catalog/products", { name = "x" })
    assert.equal(422, err.status)
    assert.matches("HTTP 422", err.message)
    local _, err2 = c:get("/catalog/products", { limit = 500 })
    assert.equal(413, err2.status)
    -- a v2 path's error names the v2 URL it went to
    local _, err3 = c:get("/v2/orders/999999")
    assert.equal(404, err3.status)
    assert.matches("GET " .. sandbox.url .. "/stores/sbx123abc/v2/orders/999999", err3.message, 1, true)
    c:close()
  end)
end)
