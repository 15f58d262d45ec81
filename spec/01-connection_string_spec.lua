-- The connection-string grammar and its errors, as a Lua caller sees them.
require "helpers" -- (its check that this is Lua 5.4)
local core = require "oauthconnect.core"
local jumpseller = require "jumpseller"

describe("connection strings", function()
  it("runs on Lua 5.4 (or LuaJIT, in the OpenResty run)", function()
    if os.getenv("OC_SPEC_LUA") == "luajit" then
      assert.is_table(rawget(_G, "jit"), "OC_SPEC_LUA=luajit but this is not LuaJIT")
    else
      assert.equal("Lua 5.4", _VERSION)
    end
  end)

  it("parses pairs with case-insensitive keys into canonical names", function()
    local t = assert(core.parse(" authscheme = oauth ;initiateoauth=GETandREFRESH; OAUTHCLIENTID=abc;"))
    assert.same({ AuthScheme = "OAUTH", InitiateOAuth = "GETANDREFRESH", OAuthClientId = "abc" }, t)
  end)

  it("keeps ; = and edge spaces inside quotes, doubled quotes stand for one", function()
    local t = assert(core.parse([[OAuthClientSecret=' a;b=c ';Scope="x ""y"""]]))
    assert.equal(" a;b=c ", t.OAuthClientSecret)
    assert.equal('x "y"', t.Scope)
  end)

  it("lets the last duplicate win", function()
    assert.equal("7", core.parse("Timeout=5;timeout=7").Timeout)
  end)

  it("names an unknown key and the closest known one", function()
    local t, err = core.parse("OAuthClientSecrett=hunter2")
    assert.is_nil(t)
    assert.equal("unknown_property", err.code)
    assert.matches("unknown connection property 'OAuthClientSecrett'; did you mean 'OAuthClientSecret'%?", tostring(err))
    assert.not_matches("hunter2", tostring(err))
    assert.equal("OAuthClientSecrett", err.property)
    -- a name like none of them gets no guess
    t, err = core.parse("Colour=blue")
    assert.equal("unknown connection property 'Colour' (docs/connection-properties.md lists them)",
      err.message)
  end)

  it("lists the allowed values of an enum", function()
    local _, err = jumpseller.connect("InitiateOAuth=ALWAYS")
    assert.equal("bad_value", err.code)
    assert.equal("InitiateOAuth", err.property)
    assert.matches("use OFF, GETANDREFRESH or REFRESH", err.message)
  end)

  it("gives the position of an unterminated quote", function()
    local _, err = core.parse("Scope=a;OAuthClientId='abc")
    assert.equal("syntax_error", err.code)
    assert.matches("unterminated quote starting at position 23", err.message)
  end)

  it("refuses a non-numeric number", function()
    local _, err = jumpseller.connect("Timeout=soon")
    assert.equal("bad_value", err.code)
    assert.equal("Timeout", err.property)
    assert.matches("'soon' is not a whole number of seconds", err.message)
  end)

  it("names a property the chosen mode needs", function()
    local _, err = jumpseller.connect("InitiateOAuth=GETANDREFRESH;OAuthClientSecret=s")
    assert.equal("missing_property", err.code)
    assert.equal("OAuthClientId", err.property)
    _, err = jumpseller.connect("InitiateOAuth=OFF;OAuthSettingsLocation=memory://nothing-here")
    assert.equal("OAuthAccessToken", err.property)
  end)

  it("takes the same options as a Lua table, any key case", function()
    local c = assert(jumpseller.connect({ initiateoauth = "off", OAuthAccessToken = "x", TIMEOUT = 5 }))
    c:close()
    local _, err = jumpseller.connect({ Bogus = 1 })
    assert.equal("unknown_property", err.code)
  end)

  it("refuses a fragment in an OAuth endpoint or redirect URI", function()
    local _, err = jumpseller.connect({ InitiateOAuth = "REFRESH", OAuthClientId = "i", OAuthClientSecret = "s",
      OAuthRefreshToken = "r", OAuthAccessTokenURL = "https://auth.example/token#x" })
    assert.equal("OAuthAccessTokenURL", err.property)
    assert.matches("holds a fragment", err.message, 1, true)
    local url
    url, err = jumpseller.get_authorization_url({ OAuthClientId = "i", OAuthClientSecret = "s",
      CallbackURL = "http://127.0.0.1:8000/cb#frag" })
    assert.is_nil(url)
    assert.equal("CallbackURL", err.property)
  end)

  it("refuses a table naming one property twice in different case", function()
    -- which value won used to depend on the table's hash order
    assert.has_error(function()
      jumpseller.connect({ OAuthAccessToken = "x", oauthaccesstoken = "y" })
    end, "the options give OAuthAccessToken twice, spelled differently (names ignore case)")
    -- options and extra: extra wins, however either spells the name
    local c = assert(jumpseller.connect({ InitiateOAuth = "OFF", OAuthAccessToken = "from-options" },
      { oauthaccesstoken = "from-extra" }))
    assert.equal("from-extra", c:token().access_token)
    c:close()
    c = assert(jumpseller.connect("InitiateOAuth=OFF;OAuthAccessToken=from-string",
      { OAUTHACCESSTOKEN = "from-extra" }))
    assert.equal("from-extra", c:token().access_token)
    c:close()
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() jumpseller.connect(42) end)
    assert.has_error(function() jumpseller.connect({ [1] = "x" }) end)
    assert.has_error(function() jumpseller.connect({ Timeout = {} }) end)
    -- a boolean only for a boolean property, never as a token or a number
    assert.has_error(function() jumpseller.connect({ OAuthAccessToken = true }) end,
      "option 'OAuthAccessToken' must be a string or number, not a boolean")
    assert.has_error(function() jumpseller.connect({ OAuthAccessToken = "x", Timeout = false }) end)
    assert(jumpseller.connect({ OAuthAccessToken = "x", ProxyAutoDetect = false })):close()
  end)

  it("returns errors that print as one clear sentence", function()
    local _, err = core.parse("=x")
    assert.equal("string", type(err.message))
    assert.equal(err.message, tostring(err))
    assert.is_true(require("oauthconnect").is_error(err))
  end)

  it("describes every property for the docs", function()
    local seen = {}
    for _, p in ipairs(core.properties()) do
      seen[p.name] = p
      assert.is_string(p.doc)
    end
    assert.same({ "OFF", "GETANDREFRESH", "REFRESH" }, seen.InitiateOAuth.allowed)
    assert.is_true(seen.OAuthClientSecret.secret)
    assert.equal("60", seen.Timeout.default)
  end)
end)
