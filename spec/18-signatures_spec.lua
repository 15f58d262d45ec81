-- Webhook and signed-callback verification, against vectors made here by
-- the openssl command line (an implementation independent of the module's).
local H = require "helpers"
local jumpseller = require "jumpseller"
local bigcommerce = require "bigcommerce"
local core = require "oauthconnect.core"

local function sh(cmd)
  local out, code = H.capture(cmd)
  assert(code == 0, "failed: " .. cmd)
  return out
end

local q, openssl_hmac, b64url, jwt = H.q, H.openssl_hmac, H.b64url, H.jwt

describe("jumpseller.verify_webhook", function()
  local body = '{"order":{"id":1001,"status":"Paid","total":25.5}}'
  local token = "hooks-token-4f1b"
  local sig = openssl_hmac(body, token)

  it("accepts the openssl-computed signature, given alone or in the headers", function()
    assert.is_true(jumpseller.verify_webhook(body, sig, token))
    assert.is_true(jumpseller.verify_webhook(body, { ["Jumpseller-Hmac-Sha256"] = sig }, token))
    assert.is_true(jumpseller.verify_webhook(body, { ["jumpseller-hmac-sha256"] = sig }, token))
    assert.is_true(jumpseller.verify_webhook(body, { ["JUMPSELLER-HMAC-SHA256"] = sig .. "\r\n" }, token))
  end)

  it("accepts an empty body and binary bodies signed the same way", function()
    assert.is_true(jumpseller.verify_webhook("", openssl_hmac("", token), token))
    local binary = "\0\1\2\255 raw\n"
    assert.is_true(jumpseller.verify_webhook(binary, openssl_hmac(binary, token), token))
  end)

  local refusals = {
    { "a body changed by one byte", body:gsub("1001", "1002"), sig, token },
    { "a body with a trailing newline", body .. "\n", sig, token },
    { "another store's hooks token", body, sig, "hooks-token-4f1c" },
    { "a signature made with SHA-512", body, openssl_hmac(body, token, "sha512"), token },
    { "a truncated signature", body, sig:sub(1, 43), token },
    { "the hex form of the right HMAC", body,
      (sh(("printf %%s %s | openssl dgst -sha256 -hmac %s -r"):format(q(body), q(token))):match("^%x+")), token },
    { "an empty signature", body, "", token },
  }
  for _, case in ipairs(refusals) do
    it("refuses " .. case[1], function()
      local ok, err = jumpseller.verify_webhook(case[2], case[3], case[4])
      assert.is_nil(ok)
      assert.equal("bad_signature", err.code)
      assert.is_nil(err.message:find(token, 1, true))
    end)
  end

  it("refuses a request without the header, naming it", function()
    local ok, err = jumpseller.verify_webhook(body, { ["Content-Type"] = "application/json" }, token)
    assert.is_nil(ok)
    assert.equal("bad_signature", err.code)
    assert.matches("Jumpseller-Hmac-Sha256", err.message, 1, true)
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() jumpseller.verify_webhook(nil, sig, token) end)
    assert.has_error(function() jumpseller.verify_webhook(body, 42, token) end)
    assert.has_error(function() jumpseller.verify_webhook(body, sig, nil) end)
  end)

  it("never passes a body signed with an empty hooks token: that is a configuration error", function()
    assert.has_error(function() jumpseller.verify_webhook(body, sig, "") end, "the hooks token is empty")
    local ok, err = core.verify_hmac_sha256(body, sig, "")
    assert.is_nil(ok)
    assert.equal("invalid_argument", err.code)
  end)

  it("refuses a repeated signature header, saying so", function()
    local ok, err = jumpseller.verify_webhook(body, { ["Jumpseller-Hmac-Sha256"] = { sig, sig } }, token)
    assert.is_nil(ok)
    assert.matches("carries the Jumpseller-Hmac-Sha256 header more than once", err.message, 1, true)
  end)
end)

describe("bigcommerce.verify_signed_payload", function()
  local secret, client_id = "bc-client-secret-77", "bc-client-id-12"
  local HS256 = '{"typ":"JWT","alg":"HS256"}'
  local function claims(extra)
    local now = os.time()
    local t = {
      aud = '"' .. client_id .. '"', iss = '"bc"', iat = now, nbf = now - 5, exp = now + 86400,
      jti = '"6a1f"', sub = '"stores/abc123"',
      user = '{"id":9876,"email":"owner@example.com","locale":"en-US"}',
      owner = '{"id":9876,"email":"owner@example.com"}', url = '"/"', channel_id = "null",
    }
    for k, v in pairs(extra or {}) do t[k] = v end
    local parts = {}
    for k, v in pairs(t) do
      if v ~= false then parts[#parts + 1] = ('"%s":%s'):format(k, tostring(v)) end
    end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
  end

  it("returns the claims of a payload openssl signed: store hash, user, owner", function()
    local c, err = bigcommerce.verify_signed_payload(jwt(HS256, claims(), secret), secret, client_id)
    assert.is_nil(err)
    assert.equal("abc123", c.store_hash)
    assert.equal("stores/abc123", c.sub)
    assert.equal(9876, c.user.id)
    assert.equal("owner@example.com", c.owner.email)
    assert.equal(client_id, c.aud)
  end)

  it("accepts an aud array holding the client id, and an exp inside the leeway", function()
    assert.is_truthy(bigcommerce.verify_signed_payload(
      jwt(HS256, claims { aud = '["other","' .. client_id .. '"]' }, secret), secret, client_id))
    assert.is_truthy(bigcommerce.verify_signed_payload(
      jwt(HS256, claims { exp = os.time() - 20 }, secret), secret, client_id))
  end)

  local now = os.time()
  local refusals = {
    { "another app's secret", function() return jwt(HS256, claims(), "not-the-secret") end, "does not verify" },
    { "a payload changed after signing", function()
        local t = jwt(HS256, claims(), secret)
        local h, _, s = t:match("^([^.]+)%.([^.]+)%.(.+)$")
        return h .. "." .. b64url(claims { sub = '"stores/evil"' }) .. "." .. s
      end, "does not verify" },
    { "alg none without a signature", function() return jwt('{"alg":"none"}', claims(), secret, false) end, '"none"' },
    { "alg none signed anyway", function() return jwt('{"alg":"none"}', claims(), secret) end, '"none"' },
    { "alg HS512, correctly signed", function() return jwt('{"alg":"HS512"}', claims(), secret, "sha512") end, '"HS512"' },
    { "alg hs256 in lower case", function() return jwt('{"alg":"hs256"}', claims(), secret) end, "only HS256" },
    { "alg RS256", function() return jwt('{"alg":"RS256"}', claims(), secret) end, '"RS256"' },
    { "no alg", function() return jwt('{"typ":"JWT"}', claims(), secret) end, "missing" },
    { "a crit header", function() return jwt('{"alg":"HS256","crit":["exp"]}', claims(), secret) end, "crit" },
    { "another audience", function() return jwt(HS256, claims { aud = '"someone-else"' }, secret) end, "another audience" },
    { "no audience", function() return jwt(HS256, claims { aud = false }, secret) end, "no aud" },
    { "an expired payload", function() return jwt(HS256, claims { exp = now - 3600 }, secret) end, "expired" },
    { "no exp", function() return jwt(HS256, claims { exp = false }, secret) end, "no exp" },
    { "an exp that is text", function() return jwt(HS256, claims { exp = '"tomorrow"' }, secret) end, "not a number" },
    { "nbf in the future", function() return jwt(HS256, claims { nbf = now + 3600 }, secret) end, "nbf" },
    { "two parts", function() return b64url(HS256) .. "." .. b64url(claims()) end, "three" },
    { "four parts", function() return jwt(HS256, claims(), secret) .. ".x" end, "three" },
    { "a header that is not base64url", function() return "!!!." .. b64url(claims()) .. ".abc" end, "header" },
    { "a header that is a JSON array", function() return jwt('["HS256"]', claims(), secret) end, "header" },
    { "a payload that is not JSON", function() return jwt(HS256, "not json", secret) end, "payload" },
    { "a short signature", function() return jwt(HS256, claims(), secret):sub(1, -5) end, "signature" },
    -- the same valid signature in another spelling: one token, one string
    { "a padded signature", function() return jwt(HS256, claims(), secret) .. "=" end, "unpadded base64url" },
    { "a standard-base64 signature", function()
        for _ = 1, 64 do -- until the signature holds a character base64url spells otherwise
          local t = jwt(HS256, claims { jti = '"' .. math.random(1e9) .. '"' }, secret)
          local head, sig = t:match("^(.+%.)([^.]+)$")
          if sig:find("[-_]") then return head .. sig:gsub("-", "+"):gsub("_", "/") end
        end
        error("no signature with - or _ in 64 tries")
      end, "unpadded base64url" },
    { "a 20 KB token", function() return jwt(HS256, claims { pad = '"' .. ("x"):rep(20000) .. '"' }, secret) end, "longer than" },
    { "an empty string", function() return "" end, "three" },
  }
  for _, case in ipairs(refusals) do
    it("refuses " .. case[1], function()
      local token = case[2]()
      local c, err = bigcommerce.verify_signed_payload(token, secret, client_id)
      assert.is_nil(c)
      assert.equal("bad_signature", err.code)
      assert.matches(case[3], err.message, 1, true)
      assert.is_nil(err.message:find(secret, 1, true))
    end)
  end

  it("never passes a payload signed with an empty secret, or for an empty client id", function()
    local forged = jwt(HS256, claims { aud = '""' }, secret)
    assert.has_error(function() bigcommerce.verify_signed_payload(forged, "", "") end, "the client secret is empty")
    assert.has_error(function() bigcommerce.verify_signed_payload(forged, secret, "") end, "the client id is empty")
    local c, err = core.verify_jwt_hs256(forged, "", "")
    assert.is_nil(c)
    assert.equal("invalid_argument", err.code)
  end)

  it("refuses a payload that names no store", function()
    for _, sub in ipairs({ '"users/5"', '"stores/"', false }) do
      local token = jwt(HS256, claims { sub = sub }, secret)
      local c, err = bigcommerce.verify_signed_payload(token, secret, client_id)
      assert.is_nil(c)
      assert.matches("names no store", err.message, 1, true)
    end
  end)

  it("takes a stricter leeway", function()
    local token = jwt(HS256, claims { exp = os.time() - 20 }, secret)
    local c, err = bigcommerce.verify_signed_payload(token, secret, client_id, 0)
    assert.is_nil(c)
    assert.matches("expired", err.message, 1, true)
    -- a leeway out of range is the caller's mistake, reported at the caller's line
    local ok, msg = pcall(bigcommerce.verify_signed_payload, token, secret, client_id, 7200)
    assert.is_false(ok)
    assert.matches("leeway must be a whole number of seconds from 0 to 3600", msg, 1, true)
    assert.is_nil(msg:find("provider.lua", 1, true))
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() bigcommerce.verify_signed_payload(nil, secret, client_id) end)
    assert.has_error(function() bigcommerce.verify_signed_payload("a.b.c", nil, client_id) end)
    assert.has_error(function() bigcommerce.verify_signed_payload("a.b.c", secret, 5) end)
    assert.has_error(function() bigcommerce.verify_signed_payload("a.b.c", secret, client_id, -1) end)
  end)
end)
