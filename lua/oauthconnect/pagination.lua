-- Walking paged collections, one function per style a profile can name.
-- Each returns an iterator over items; a failed page raises the error object
-- (an iterator cannot return nil, err without ending the loop silently).

local json = require "oauthconnect.json"

local type, next, tonumber, error, math_min = type, next, tonumber, error, math.min

local _M = {}

local function copy(t)
  local c = {}
  if t then for k, v in pairs(t) do c[k] = v end end
  return c
end

-- {"order": {...}} -> {...}: a table with exactly one key, holding a table.
local function unwrap(item)
  if type(item) ~= "table" then return item end
  local k, v = next(item)
  if k ~= nil and type(v) == "table" and next(item, k) == nil then return v end
  return item
end

-- Jumpseller: ?page=N&limit=M from page 1 (or query.page); no total is sent,
-- so a page shorter than the limit is the last one.
function _M.page(client, path, query)
  local profile = client.profile
  local q = copy(query)
  local max = profile.page_size_max or 100
  local limit = math_min(tonumber(q.limit) or profile.page_size or max, max)
  local page = tonumber(q.page) or 1
  local items, i, done = nil, 0, false
  local unwrap_items = profile.unwrap_envelope
  q.limit = limit

  return function()
    while true do
      if items and i < #items then
        i = i + 1
        local item = items[i]
        return unwrap_items and unwrap(item) or item
      end
      if done then return nil end
      q.page = page
      local body, err = client:get(path, q)
      if not body then error(err, 0) end
      if type(body) ~= "table" then
        error(client:error("bad_response", ("GET %s page %d: expected a JSON array"):format(path, page)), 0)
      end
      items, i = body, 0
      page = page + 1
      if #items < limit then done = true end
      if #items == 0 then return nil end
    end
  end
end

_M.null = json.null

return _M
