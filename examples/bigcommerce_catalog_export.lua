-- BigCommerce catalog export: every product of the store as CSV, page by
-- page. client:each follows BigCommerce's meta.pagination (the profile's
-- pagination style), so the loop never sees a page; in_flight = 2 fetches
-- the next page while this one is written.
--
--   export OAUTHCONNECT_BIGCOMMERCE="InitiateOAuth=GETANDREFRESH;OAuthClientId=...;\
--     OAuthClientSecret=...;CallbackURL=https://your.app/auth;\
--     OAuthSettingsLocation=~/.config/oauthconnect/bigcommerce.json"
--   lua5.4 examples/bigcommerce_catalog_export.lua products.csv    (or - for stdout)
--
-- The tokens come from the app's install (the web flow, or `oauthconnect
-- login bigcommerce`); BigCommerce's never expire. The file is written beside
-- its name and renamed over it at the end, so a failed export leaves the last
-- good one. spec/30-examples_spec.lua runs this against the sandbox.
local bigcommerce = require "bigcommerce"

local COLUMNS = { "id", "sku", "name", "type", "price", "inventory_level", "is_visible" }

local function csv_field(v)
  local s = tostring(v == nil and "" or v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function fail(message)
  io.stderr:write(message, "\n")
  os.exit(1)
end

local path = arg[1] or "-"
local conn = os.getenv("OAUTHCONNECT_BIGCOMMERCE")
if not conn then fail("set OAUTHCONNECT_BIGCOMMERCE to the connection string") end

local client, err = bigcommerce.connect(conn)
if not client then fail("cannot connect: " .. tostring(err)) end

local out = io.stdout
if path ~= "-" then out = assert(io.open(path .. ".part", "w")) end
out:write(table.concat(COLUMNS, ","), "\r\n")

local products, pages = 0, 0
-- A failed page raises its err (an iterator cannot return nil, err), so the
-- loop runs under pcall.
local ok, walk_err = pcall(function()
  for product in client:each("/catalog/products", { limit = 100 },
      { in_flight = 2, on_page = function() pages = pages + 1 end }) do
    local cells = {}
    for i, c in ipairs(COLUMNS) do cells[i] = csv_field(product[c]) end
    out:write(table.concat(cells, ","), "\r\n")
    products = products + 1
  end
end)
client:close()
if not ok then
  if out ~= io.stdout then
    out:close()
    os.remove(path .. ".part")
  end
  fail("export failed: " .. tostring(walk_err))
end
if out ~= io.stdout then
  assert(out:close())
  assert(os.rename(path .. ".part", path))
end
io.stderr:write(("exported %d products from %d pages\n"):format(products, pages))
