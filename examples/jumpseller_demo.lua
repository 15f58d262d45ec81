-- The demo: log in to Jumpseller through the browser (once; the tokens are
-- kept in the settings file), then print the store and its latest orders.
--
-- Real store:  JUMPSELLER_CLIENT_ID=... JUMPSELLER_CLIENT_SECRET=... lua5.4 examples/jumpseller_demo.lua
--              (optional: JUMPSELLER_CALLBACK_URL, the redirect URI registered for the app,
--               default http://127.0.0.1:8000/callback)
-- Sandbox:     scripts/demo starts the local stand-in and sets DEMO_CONNECTION.
local jumpseller = require "jumpseller"

local options = os.getenv("DEMO_CONNECTION")
if not options then
  local id, secret = os.getenv("JUMPSELLER_CLIENT_ID"), os.getenv("JUMPSELLER_CLIENT_SECRET")
  if not id or not secret then
    io.stderr:write("set JUMPSELLER_CLIENT_ID and JUMPSELLER_CLIENT_SECRET, or run scripts/demo\n")
    os.exit(2)
  end
  options = {
    AuthScheme = "OAuth",
    InitiateOAuth = "GETANDREFRESH",
    OAuthClientId = id,
    OAuthClientSecret = secret,
    CallbackURL = os.getenv("JUMPSELLER_CALLBACK_URL") or "http://127.0.0.1:8000/callback",
    OAuthSettingsLocation = "~/.config/oauthconnect/jumpseller.json",
  }
end

local client, err = jumpseller.connect(options)
if not client then
  io.stderr:write("cannot connect: ", tostring(err), "\n")
  os.exit(1)
end

local info = assert(client:get("/store/info.json"))
print(("Store: %s (%s, %s)"):format(info.store.name, info.store.code, info.store.currency))

local shown = 0
for order in client:each("/orders.json", { limit = 5 }) do
  print(("  order #%s  %-16s %s %s"):format(order.id, order.status, order.total, order.currency or ""))
  shown = shown + 1
  if shown == 5 then break end
end
client:close()
