-- Keap contacts: count them, show the first few, then change one contact
-- with PATCH (REST v1 "Update a Contact") and read it back.
--
--   export OAUTHCONNECT_KEAP="InitiateOAuth=GETANDREFRESH;OAuthClientId=...;\
--     OAuthClientSecret=...;CallbackURL=http://127.0.0.1:8000/callback;\
--     OAuthSettingsLocation=~/.config/oauthconnect/keap.json"
--   lua5.4 examples/keap_contacts.lua 7 Jones     (contact 7's family name becomes Jones)
--
-- Keap's access tokens live 24 hours and each refresh token is good once:
-- the library refreshes under the store's lock and saves the new refresh
-- token before it uses the new access token, so several scripts may share
-- the store. spec/30-examples_spec.lua runs this against the sandbox.
local keap = require "keap"

local function fail(message, code)
  io.stderr:write(message, "\n")
  os.exit(code or 1)
end

local id, family = tonumber(arg[1]), arg[2]
if not id or not family then fail("usage: keap_contacts.lua CONTACT_ID FAMILY_NAME", 2) end
local conn = os.getenv("OAUTHCONNECT_KEAP")
if not conn then fail("set OAUTHCONNECT_KEAP to the connection string", 2) end

local client, err = keap.connect(conn)
if not client then fail("cannot connect: " .. tostring(err)) end

-- One page (limit 3) is enough to read the total Keap sends with it.
local page = assert(client:get("/contacts", { limit = 3 }))
print(("%d contacts; the first %d:"):format(page.count, #page.contacts))
for _, c in ipairs(page.contacts) do
  print(("  %d  %s %s  %s"):format(c.id, c.given_name, c.family_name,
    c.email_addresses[1] and c.email_addresses[1].email or "-"))
end

local before, gerr = client:get("/contacts/" .. id)
if not before then
  -- err.code is stable: "not_found" here, "unauthorized" when the login is gone
  fail(("contact %d: %s (%s)"):format(id, tostring(gerr), gerr.code), gerr.code == "not_found" and 1 or 3)
end

-- A table body is sent as JSON; only the fields given change.
local after, perr = client:patch("/contacts/" .. id, { family_name = family })
if not after then fail("PATCH failed: " .. tostring(perr)) end
print(("contact %d: %s %s -> %s %s"):format(id, before.given_name, before.family_name,
  after.given_name, after.family_name))

local again = assert(client:get("/contacts/" .. id))
print(("read back: %s %s, last updated %s"):format(again.given_name, again.family_name, again.last_updated))
client:close()
