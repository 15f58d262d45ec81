-- Keap (Infusionsoft) against its stand-in: the secret in the body for the
-- code exchange, HTTP Basic for the refresh, single-use rotating refresh
-- tokens, v1 and v2 paging, and personal access tokens.
local H = require "helpers"
local infusionsoft = require "infusionsoft"

describe("Keap", function()
  local sandbox, dir, props

  it("is also require \"keap\", Infusionsoft's current name", function()
    assert.equal(infusionsoft, require "keap")
    assert.equal("Keap", require("keap").profile.title)
  end)

  before_each(function()
    sandbox = H.sandbox("keap", { "--api-key", "KeapAK-personal-token" })
    dir = H.tmpdir()
    props = sandbox:keap_props({
      InitiateOAuth = "GETANDREFRESH",
      OAuthSettingsLocation = dir .. "/keap.json",
      CallbackURL = "http://127.0.0.1:" .. H.free_port() .. "/callback",
    })
  end)

  after_each(function()
    sandbox:stop()
    H.cleanup()
  end)

  local function login()
    local code = sandbox:authorize({ redirect_uri = props.CallbackURL })
    return assert(infusionsoft.get_access_token(props, code))
  end

  it("exchanges the code with the client secret in the body, scope full", function()
    local url = assert(infusionsoft.get_authorization_url(props))
    assert.matches("/app/oauth/authorize%?", url)
    assert.matches("scope=full", url)
    local token = login()
    assert.equal(86400, token.expires_in)
    local sent = sandbox:requests("/token")[1]
    assert.matches("client_secret=sbx%-s3cr3t%-Zq7RkA9dW", sent.body)
    assert.matches("grant_type=authorization_code", sent.body)
  end)

  it("refreshes with HTTP Basic and only grant_type and refresh_token in the body", function()
    local first = login()
    local second = assert(infusionsoft.refresh_access_token(props))
    assert.not_equal(first.refresh_token, second.refresh_token)
    local reqs = sandbox:requests("/token")
    local refresh = reqs[#reqs]
    local basic = refresh.headers.authorization:match("^Basic (%S+)$")
    assert.is_string(basic)
    assert.equal("sandbox-client-id:sbx-s3cr3t-Zq7RkA9dW",
      H.capture("printf %s " .. H.q(basic) .. " | base64 -d"))
    assert.not_matches("client_secret", refresh.body)
    assert.matches("^grant_type=refresh_token&refresh_token=", refresh.body)
    assert.equal(second.refresh_token, H.settings(props.OAuthSettingsLocation).refresh_token)
  end)

  it("sends the Basic credentials as Keap documents them, not form-encoded", function()
    sandbox:stop()
    local secret = "s+cr/t=%41 x:y"
    sandbox = H.sandbox("keap", { "--client-secret", secret })
    props = sandbox:keap_props({ InitiateOAuth = "GETANDREFRESH", OAuthClientSecret = secret,
      OAuthSettingsLocation = dir .. "/keap.json", CallbackURL = props.CallbackURL })
    local first = login()
    local second = assert(infusionsoft.refresh_access_token(props))
    assert.not_equal(first.refresh_token, second.refresh_token)
    local reqs = sandbox:requests("/token")
    local basic = reqs[#reqs].headers.authorization:match("^Basic (%S+)$")
    assert.equal("sandbox-client-id:" .. secret, H.capture("printf %s " .. H.q(basic) .. " | base64 -d"))
  end)

  it("never reuses a spent refresh token: Keap's 'Invalid Refresh Token'", function()
    local first = login()
    assert(infusionsoft.refresh_access_token(props))
    local token, err = infusionsoft.refresh_access_token(sandbox:keap_props({ OAuthRefreshToken = first.refresh_token }))
    assert.is_nil(token)
    assert.equal("invalid_request", err.oauth_error)
    assert.matches("Invalid Refresh Token", err.message)
  end)

  it("pages v1 by limit/offset and v2 by page_token", function()
    login()
    local c = assert(infusionsoft.connect(props))
    local n, ids = 0, {}
    for contact in c:each("/contacts", { limit = 120 }) do
      n = n + 1
      ids[contact.id] = true
    end
    assert.equal(300, n)
    local distinct = 0
    for _ in pairs(ids) do distinct = distinct + 1 end
    assert.equal(300, distinct) -- no contact twice: each page moves the offset on
    local v2 = 0
    for contact in c:each("/v2/contacts", { page_size = 100 }) do
      v2 = v2 + 1
      assert.is_string(contact.id)
    end
    assert.equal(300, v2)
    local offsets = {}
    for _, r in ipairs(sandbox:requests("/crm/rest/v1/contacts")) do offsets[#offsets + 1] = r.query.offset end
    assert.same({ "0", "120", "240" }, offsets)
    c:close()
  end)

  it("sends a personal access token as X-Keap-API-Key", function()
    local c = assert(infusionsoft.connect({ AuthScheme = "APIKEY", APIKey = "KeapAK-personal-token",
      URL = sandbox.url .. "/crm/rest/v1" }))
    local page = assert(c:get("/contacts", { limit = 2 }))
    assert.equal(2, #page.contacts)
    local last = sandbox:requests("/crm/rest/v1")[1]
    assert.equal("KeapAK-personal-token", last.headers["x-keap-api-key"])
    assert.is_nil(last.headers.authorization)
    local _, err = c:token()
    assert.equal("unsupported", err.code)
    c:close()
  end)

  it("reports Keap's gateway fault on a bad key", function()
    local c = assert(infusionsoft.connect({ AuthScheme = "APIKEY", APIKey = "wrong-key",
      URL = sandbox.url .. "/crm/rest/v1" }))
    local _, err = c:get("/contacts")
    assert.equal(401, err.status)
    assert.matches("the server rejected the APIKEY credentials", err.message)
    c:close()
  end)

  it("creates a contact with a JSON body", function()
    login()
    local c = assert(infusionsoft.connect(props))
    local created, res = assert(c:post("/contacts", { email_addresses = { { email = "a@example.com", field = "EMAIL1" } } }))
    assert.equal(201, res.status)
    assert.is_number(created.id)
    c:close()
  end)
end)
