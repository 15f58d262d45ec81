--- Pagination styles: how @{oauthconnect.client.client:each} asks for pages and reads them.
-- Walking paged collections, one style per shape of paged answer (a
-- profile's pagination field names one: _M.STYLES, or an old name in
-- _M.ALIASES). Each style says how to ask for page k and how to read a page;
-- the walker fetches pages (several at once when asked: opts.in_flight) and
-- yields the items in order. A failed page raises the error object: an iterator cannot
-- return nil, err without ending the loop silently.
-- @module oauthconnect.pagination

local json = require "oauthconnect.json"
local core = require "oauthconnect.core"

local type, next, pairs, ipairs, tonumber, error, getmetatable, math_min =
  type, next, pairs, ipairs, tonumber, error, getmetatable, math.min
local decode = json.decode

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

local function bad(client, path, what)
  return core.error("bad_response", ("%s: %s"):format(client.core:describe("GET", path), what))
end

-- Fetches the pages for queries, at once when there are several. Returns
-- one entry per page, in order: a decoded body, false for an empty answer,
-- or { err = e } raised only if the walker gets that far (a page past the
-- last one may fail without harm).
local function fetch(client, path, queries)
  if #queries == 1 then
    local body, err = client:get(path, queries[1])
    if not body then error(err, 0) end
    return { body ~= true and body }
  end
  local reqs = {}
  for i, q in ipairs(queries) do reqs[i] = { method = "GET", path = path, query = q, fail_on_http = true } end
  local results, err = client:request_many(reqs)
  if not results then error(err, 0) end
  local pages = {}
  for i, r in ipairs(results) do
    if getmetatable(r) == core.error_mt then
      pages[i] = { err = r }
    elseif r.body == "" then
      pages[i] = false
    else
      local ok, value = pcall(decode, r.body)
      pages[i] = ok and value or { err = bad(client, path, "a page that is not valid JSON") }
    end
  end
  return pages
end

-- The walker. style.query(k) is the query of page k (0-based); style.read(body)
-- returns the items of a page and whether more may follow. style.sequential
-- forbids prefetching (the next query depends on this page's answer).
-- The path goes into every page's request, which takes strings only (as
-- client:get does); raised at client:each's caller (each tail-calls the style).
local function check_path(path)
  if type(path) ~= "string" then error("path must be a string", 3) end
end

local function walk(client, path, style, in_flight, unwrap_items, on_page)
  local items, i, next_page, more, pending = nil, 0, 0, true, {}
  return function()
    while true do
      if items and i < #items then
        i = i + 1
        local item = items[i]
        return unwrap_items and unwrap(item) or item
      end
      if #pending == 0 then
        if not more then return nil end
        local n = style.sequential and 1 or in_flight
        local queries = {}
        for k = 1, n do queries[k] = style.query(next_page + k - 1) end
        for _, body in ipairs(fetch(client, path, queries)) do pending[#pending + 1] = body end
        next_page = next_page + n
      end
      local body = table.remove(pending, 1)
      if type(body) == "table" and body.err and getmetatable(body.err) == core.error_mt then
        error(body.err, 0)
      end
      if not body then -- 204 No Content, or an empty body: the end
        items, more, pending = nil, false, {}
      else
        if type(body) ~= "table" then error(bad(client, path, "expected a JSON collection"), 0) end
        local page_items, page_more = style.read(body)
        if not page_items then error(bad(client, path, "no array of items in the answer"), 0) end
        items, i = page_items, 0
        if on_page then on_page(#page_items) end
        if not page_more or #page_items == 0 then more, pending = false, {} end
      end
    end
  end
end

local function page_size(client, q, key)
  local profile = client.profile
  local max = profile.page_size_max or 100
  return math_min(tonumber(q[key]) or profile.page_size or max, max)
end

-- ?page=N&limit=M, page k counted from query.page (or 1).
local function page_number_query(q, limit)
  local first = tonumber(q.page) or 1
  return function(k)
    local p = copy(q)
    p.limit, p.page = limit, first + k
    return p
  end
end

--- page_number: `?page=N&limit=M` (Jumpseller).
-- page_number: ?page=N&limit=M from page 1 (or query.page); the answer is
-- an array (or an object holding one) and no total is sent, so a page
-- shorter than the limit is the last one (Jumpseller).
-- @tparam oauthconnect.client.client client the client
-- @string path the collection
-- @tparam ?table query the caller's query
-- @int in_flight pages fetched at once
-- @tparam ?function on_page called with each page's item count
-- @treturn function the iterator over the items
function _M.page_number(client, path, query, in_flight, on_page)
  check_path(path)
  local q = copy(query)
  local limit = page_size(client, q, "limit")
  return walk(client, path, {
    query = page_number_query(q, limit),
    -- a bare array; a server that wraps it in an object ({"products": [...]})
    -- has its array taken, or an error
    read = function(body)
      local items = items_of(body, path)
      return items, items ~= nil and #items >= limit
    end,
  }, in_flight, client.profile.unwrap_envelope, on_page)
end

--- meta_pagination: `?page=N&limit=M`, read from `meta.pagination` (BigCommerce).
-- meta_pagination: ?page=N&limit=M; the answer is {data: [...], meta:
-- {pagination: {current_page, total_pages}}}, the last page the one whose
-- current_page reaches total_pages (BigCommerce v3). A bare array is paged as
-- page_number pages it, and an empty answer (204) ends it (BigCommerce v2).
-- @tparam oauthconnect.client.client client the client
-- @string path the collection
-- @tparam ?table query the caller's query
-- @int in_flight pages fetched at once
-- @tparam ?function on_page called with each page's item count
-- @treturn function the iterator over the items
function _M.meta_pagination(client, path, query, in_flight, on_page)
  check_path(path)
  local q = copy(query)
  local limit = page_size(client, q, "limit")
  return walk(client, path, {
    query = page_number_query(q, limit),
    read = function(body)
      if type(body.data) == "table" then
        local p = type(body.meta) == "table" and body.meta.pagination
        return body.data, type(p) == "table" and tonumber(p.current_page) and tonumber(p.total_pages)
          and p.current_page < p.total_pages or false
      end
      local items = items_of(body, path)
      return items, items ~= nil and #items >= limit
    end,
  }, in_flight, false, on_page)
end

--- page_token: `?page_size=M&page_token=T` (Keap v2); one page at a time.
-- page_token: ?page_size=M&page_token=T, T the previous answer's
-- next_page_token; the last page has none (or an empty one). One page at a
-- time: each query needs the answer before it (Keap v2).
-- @tparam oauthconnect.client.client client the client
-- @string path the collection
-- @tparam ?table query the caller's query
-- @int _in_flight (one page at a time: each query needs the answer before it)
-- @tparam ?function on_page called with each page's item count
-- @treturn function the iterator over the items
function _M.page_token(client, path, query, _in_flight, on_page)
  check_path(path)
  local q = copy(query)
  local size = page_size(client, q, "page_size")
  local token = q.page_token
  return walk(client, path, {
    sequential = true,
    query = function()
      local p = copy(q)
      p.page_size, p.page_token = size, token
      return p
    end,
    read = function(body)
      token = body.next_page_token
      return items_of(body, path), type(token) == "string" and token ~= ""
    end,
  }, 1, false, on_page)
end

--- offset_limit: `?limit=M&offset=K` (Keap v1).
-- offset_limit: ?limit=M&offset=K; the answer is an array (or an object
-- holding one) and a short page is the last ("next" is always sent: Keap
-- v1). Paths under the profile's token_paging_prefix, and queries that
-- carry page_size or page_token, are paged as page_token pages them (Keap v2
-- beside v1 on one API).
-- @tparam oauthconnect.client.client client the client
-- @string path the collection
-- @tparam ?table query the caller's query
-- @int in_flight pages fetched at once
-- @tparam ?function on_page called with each page's item count
-- @treturn function the iterator over the items
function _M.offset_limit(client, path, query, in_flight, on_page)
  check_path(path)
  local q = copy(query)
  local prefix = client.profile.token_paging_prefix
  if (prefix and path:sub(1, #prefix) == prefix) or q.page_size ~= nil or q.page_token ~= nil then
    return _M.page_token(client, path, query, in_flight, on_page)
  end
  local limit = page_size(client, q, "limit")
  local first = tonumber(q.offset) or 0
  return walk(client, path, {
    query = function(k)
      local p = copy(q)
      p.limit, p.offset = limit, first + k * limit
      return p
    end,
    read = function(body)
      local items = items_of(body, path)
      return items, items ~= nil and #items >= limit
    end,
  }, in_flight, false, on_page)
end

-- The styles, named by the shape of the answer; and the names profiles used
-- before (after the provider that first needed each), still taken.
--- The styles' names, in the order README lists them.
-- @table STYLES
_M.STYLES = { "page_number", "meta_pagination", "offset_limit", "page_token" }
--- The names profiles used before, each the style it stands for; each is also
-- a function of this module, the same as its style's (`page`, `bigcommerce`, `offset`).
-- @table ALIASES
_M.ALIASES = { page = "page_number", bigcommerce = "meta_pagination", offset = "offset_limit" }
for old, new in pairs(_M.ALIASES) do _M[old] = _M[new] end

return _M
