-- Walking paged collections, one function per style a profile can name.
-- Each returns an iterator over items; a failed page raises the error object
-- (an iterator cannot return nil, err without ending the loop silently).

local json = require "oauthconnect.json"

local type, next, pairs, tonumber, error, getmetatable, math_min =
  type, next, pairs, tonumber, error, getmetatable, math.min

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

-- The array of items in a collection object: the member named after the
-- collection ("/contacts" -> contacts), else the only array member.
local function items_of(body, path)
  if body[1] ~= nil or next(body) == nil then return body end
  local name = path:match("([%w_]+)[^/]*$")
  if name and type(body[name]) == "table" then return body[name] end
  local found
  for _, v in pairs(body) do
    if type(v) == "table" and (v[1] ~= nil or next(v) == nil) and getmetatable(v) == nil then
      if found then return nil end
      found = v
    end
  end
  return found
end

local function fetch(client, path, q, what)
  local body, err = client:get(path, q)
  if not body then error(err, 0) end
  if body == true then return nil end -- 204 No Content: nothing more
  if type(body) ~= "table" then
    error(client:error("bad_response", ("GET %s %s: expected a JSON collection"):format(path, what)), 0)
  end
  return body
end

-- Walks pages with a fetch step that returns (items, more); shared by the
-- styles below.
local function walker(unwrap_items, step)
  local items, i, more = nil, 0, true
  return function()
    while true do
      if items and i < #items then
        i = i + 1
        local item = items[i]
        return unwrap_items and unwrap(item) or item
      end
      if not more then return nil end
      items, more = step()
      i = 0
      if not items or #items == 0 then more = false end
    end
  end
end

-- BigCommerce: v3 answers {data, meta.pagination {current_page, total_pages}};
-- v2 answers a bare array, and 204 past the end.
function _M.bigcommerce(client, path, query)
  local profile = client.profile
  local q = copy(query)
  local max = profile.page_size_max or 250
  local limit = math_min(tonumber(q.limit) or profile.page_size or max, max)
  q.limit = limit
  q.page = tonumber(q.page) or 1
  return walker(false, function()
    local body = fetch(client, path, q, "page " .. q.page)
    if not body then return nil, false end
    local items, more
    if type(body.data) == "table" then
      items = body.data
      local p = type(body.meta) == "table" and body.meta.pagination
      more = type(p) == "table" and tonumber(p.current_page) and tonumber(p.total_pages)
        and p.current_page < p.total_pages or false
    else
      items = body
      more = #items >= limit
    end
    q.page = q.page + 1
    return items, more
  end)
end

-- Keap: v1 limit/offset (a short page is the last: "next" is always sent);
-- v2 page_size/page_token until next_page_token is empty.
function _M.offset(client, path, query)
  local profile = client.profile
  local q = copy(query)
  local max = profile.page_size_max or 1000
  local v2 = path:match("^/v2/") or q.page_size ~= nil or q.page_token ~= nil
  local limit = math_min(tonumber(v2 and q.page_size or q.limit) or profile.page_size or max, max)
  if v2 then q.page_size = limit else q.limit, q.offset = limit, tonumber(q.offset) or 0 end
  return walker(false, function()
    local body = fetch(client, path, q, v2 and "page" or ("offset " .. q.offset))
    if not body then return nil, false end
    local items = items_of(body, path)
    if not items then
      error(client:error("bad_response", ("GET %s: no array of items in the answer"):format(path)), 0)
    end
    if v2 then
      local token = body.next_page_token
      q.page_token = token
      return items, type(token) == "string" and token ~= ""
    end
    q.offset = q.offset + #items
    return items, #items >= limit
  end)
end

-- Jumpseller: ?page=N&limit=M from page 1 (or query.page); no total is sent,
-- so a page shorter than the limit is the last one.
function _M.page(client, path, query)
  local profile = client.profile
  local q = copy(query)
  local max = profile.page_size_max or 100
  local limit = math_min(tonumber(q.limit) or profile.page_size or max, max)
  q.limit = limit
  q.page = tonumber(q.page) or 1
  return walker(profile.unwrap_envelope, function()
    local body = fetch(client, path, q, "page " .. q.page)
    if not body then return nil, false end
    q.page = q.page + 1
    return body, #body >= limit
  end)
end

_M.null = json.null

return _M
