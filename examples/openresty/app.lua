-- The example's handlers (see nginx.conf). The connection comes from
-- OAUTHCONNECT_JUMPSELLER: a connection string with OAuthClientId,
-- OAuthClientSecret, CallbackURL (this server's /callback) and a file
-- OAuthSettingsLocation every worker can read and write.
local jumpseller = require "jumpseller"
local bigcommerce = require "bigcommerce"
local cjson = require "cjson.safe"

local ngx = ngx
local _M = {}

local CONNECTION = os.getenv("OAUTHCONNECT_JUMPSELLER")
local LOGIN_TTL = 600 -- seconds a login may take
local logins = ngx.shared.oauthconnect_logins

local function reply(status, body)
  ngx.status = status
  ngx.header["Cache-Control"] = "no-store"
  ngx.say(cjson.encode(body))
  return ngx.exit(status)
end

-- err prints as a message that never holds a secret: safe to log and show.
-- It is logged from a timer: a line logged in the request carries nginx's
-- "request: GET /callback?code=...&state=..." (or a signed_payload_jwt),
-- which the access log leaves out for that reason (RFC 9700 4.2.4).
local function log_warning(message)
  local ok = ngx.timer.at(0, function() ngx.log(ngx.WARN, message) end)
  if not ok then ngx.log(ngx.WARN, "a request failed (its message could not be logged)") end
end

local function fail(status, err)
  log_warning(tostring(err))
  return reply(status, { error = err.code or "error", message = tostring(err) })
end

local function state_cookie(value, max_age)
  return ("oauthconnect_state=%s; Path=/callback; Max-Age=%d; HttpOnly; SameSite=Lax%s")
    :format(value, max_age, ngx.var.scheme == "https" and "; Secure" or "")
end

-- /login: to the provider's authorization page. The state is bound to this
-- browser by a cookie; its PKCE verifier waits server-side.
function _M.login()
  local url, state, verifier = jumpseller.get_authorization_url(CONNECTION)
  if not url then return fail(500, state) end
  local ok, err = logins:add(state, verifier or "", LOGIN_TTL)
  if not ok then return reply(503, { error = "busy", message = "cannot start a login: " .. err }) end
  ngx.header["Set-Cookie"] = state_cookie(state, LOGIN_TTL)
  return ngx.redirect(url, 302)
end

-- /callback: the state must be this browser's and unused; then the code is
-- exchanged and the tokens stored for every worker.
function _M.callback()
  local args = ngx.req.get_uri_args()
  if type(args.error) == "string" then
    return reply(400, { error = args.error, message = "the authorization was not granted" })
  end
  local state, code = args.state, args.code
  if type(state) ~= "string" or type(code) ~= "string" then
    return reply(400, { error = "bad_callback", message = "the callback needs one code and one state" })
  end
  if state ~= ngx.var.cookie_oauthconnect_state then
    return reply(400, { error = "state_mismatch", message = "this login was not started from this browser" })
  end
  local verifier = logins:get(state)
  -- incr is atomic across workers: a replayed callback finds the state spent.
  if verifier == nil or logins:incr(state .. "#used", 1, 0, LOGIN_TTL) ~= 1 then
    return reply(400, { error = "state_unknown", message = "the login expired or was completed already" })
  end
  logins:delete(state)
  local token, err = jumpseller.get_access_token(CONNECTION, code,
    { code_verifier = verifier ~= "" and verifier or nil })
  if not token then return fail(502, err) end
  ngx.header["Set-Cookie"] = state_cookie("", 0)
  return reply(200, { connected = true, scope = token.scope })
end

-- One client per worker, made by the first request that finds tokens.
local client

-- /store: the API with the stored tokens (refreshed when due, by one
-- request of one worker; the others adopt the result).
function _M.store()
  if not client then
    local c, err = jumpseller.connect(CONNECTION)
    if not c then return fail(err.code == "no_token" and 401 or 502, err) end
    client = c
  end
  local info, err = client:get("/store/info.json")
  if not info then return fail(err.status == 401 and 401 or 502, err) end
  return reply(200, { store = info.store, worker = ngx.worker.pid() })
end

-- The raw body, whether nginx kept it in memory or (past
-- client_body_buffer_size) in a file.
local function raw_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local path = ngx.req.get_body_file()
  if not path then return "" end
  local f = assert(io.open(path, "rb"))
  body = f:read("*a")
  f:close()
  return body
end

-- The key a signature is checked with, or nil when it is not configured: an
-- endpoint without its key refuses everything (anyone can sign with "").
local function key_from(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

local function not_configured(name)
  return reply(503, { error = "not_configured", message = name .. " is not set for this server" })
end

-- /webhooks/jumpseller: accepted only with a valid Jumpseller-Hmac-Sha256.
function _M.jumpseller_webhook()
  local hooks_token = key_from("JUMPSELLER_HOOKS_TOKEN")
  if not hooks_token then return not_configured("JUMPSELLER_HOOKS_TOKEN") end
  local body = raw_body()
  local ok, err = jumpseller.verify_webhook(body, ngx.req.get_headers(), hooks_token)
  if not ok then return fail(401, err) end
  local event = cjson.decode(body)
  if type(event) ~= "table" then return reply(400, { error = "bad_body", message = "not a JSON object" }) end
  -- Jumpseller-Event is a header the HMAC does not cover: shown, not trusted.
  -- A handler acts on the signed body (e.g. event.order.status) and
  -- remembers what it handled, for a valid webhook can be sent again.
  ngx.log(ngx.NOTICE, "Jumpseller webhook ", ngx.var.http_jumpseller_event or "?")
  return reply(200, { accepted = true, event = ngx.var.http_jumpseller_event })
end

-- /bigcommerce/load: BigCommerce opens the app with a signed_payload_jwt.
function _M.bigcommerce_load()
  local jwt = ngx.req.get_uri_args().signed_payload_jwt
  if type(jwt) ~= "string" then
    return reply(400, { error = "bad_callback", message = "signed_payload_jwt is missing" })
  end
  local secret, client_id = key_from("BIGCOMMERCE_CLIENT_SECRET"), key_from("BIGCOMMERCE_CLIENT_ID")
  if not secret then return not_configured("BIGCOMMERCE_CLIENT_SECRET") end
  if not client_id then return not_configured("BIGCOMMERCE_CLIENT_ID") end
  local claims, err = bigcommerce.verify_signed_payload(jwt, secret, client_id)
  if not claims then return fail(401, err) end
  return reply(200, { store_hash = claims.store_hash, user = claims.user and claims.user.email })
end

return _M
