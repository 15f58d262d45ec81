-- Paginated export: every item of /v1/orders.json (pages of 100, each
-- answer 20 ms late) through client:each with IN_FLIGHT pages at once.
--   lua5.4 bench/paging.lua URL TOKEN IN_FLIGHT
-- Prints items=<n> seconds=<wall>
local oauthconnect = require "oauthconnect"
local system = require "system"

local base, token, in_flight = arg[1], arg[2], tonumber(arg[3])
local client = assert(oauthconnect.connect({ OAuthAccessToken = token, URL = base },
  { name = "bench", pagination = "page_number", page_size = 100, page_size_max = 100, unwrap_envelope = true }))
local t0, n, last = system.monotime(), 0, 0
local ok, err = pcall(function()
  for order in client:each("/v1/orders.json", nil, { in_flight = in_flight }) do
    n = n + 1
    assert(order.id == last + 1, "items out of order")
    last = order.id
  end
end)
if not ok then
  io.stderr:write(tostring(err), "\n", type(err) == "table" and tostring(err.body):sub(1, 300) or "", "\n")
  os.exit(1)
end
print(("items=%d seconds=%.6f"):format(n, system.monotime() - t0))
client:close()
