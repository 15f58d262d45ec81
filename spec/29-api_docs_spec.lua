-- The reference docs and the editor definitions cannot go stale silently:
-- docs/api/ is what scripts/gen-api-docs (LDoc, config.ld) writes from the
-- doc comments in lua/ now, every public function has a doc comment there,
-- and types/oauthconnect.lua (LuaLS) declares every public function too.
-- "Public": a function in the table a module of lua/ returns (the client's
-- methods are oauthconnect.client's), and what a provider module holds.
local H = require "helpers"

-- Every module of lua/, by require name, sorted.
local function module_names()
  local names = {}
  local list = H.capture("cd " .. H.q(H.ROOT .. "/lua") .. " && find . -name '*.lua' | sort")
  for path in list:gmatch("[^\n]+") do
    names[#names + 1] = (path:gsub("^%./", ""):gsub("%.lua$", ""):gsub("/", "."))
  end
  assert(#names > 10, "found no modules in lua/: " .. list)
  return names
end

-- The public functions: { {module, key, fn, provider = true when module
-- is a provider module}, ... }, sorted.
local function public_functions()
  local providers = require "oauthconnect.providers"
  local is_provider = {}
  for _, p in ipairs(providers.list()) do
    is_provider[providers.module(p.name)] = true
  end
  local out = {}
  for _, name in ipairs(module_names()) do
    local m = require(name)
    if type(m) == "table" then
      local keys = {}
      for k, v in pairs(m) do
        if type(k) == "string" and type(v) == "function" then keys[#keys + 1] = k end
      end
      table.sort(keys)
      for _, k in ipairs(keys) do
        out[#out + 1] = { module = name, key = k, fn = m[k], provider = is_provider[m] or false }
      end
    end
  end
  return out
end

-- The names LDoc gave the items of module name's page in dir: a set.
local function anchors(dir, name)
  local html = H.read_file(dir .. "/modules/" .. name .. ".html")
  if not html then return nil end
  local set = {}
  for a in html:gmatch('<a name = "([^"]+)"></a>') do set[a] = true end
  return set
end

-- Whether key is an item of the set: "key", "Type.key" or "Type:key".
local function has(set, key)
  if not set then return false end
  if set[key] then return true end
  for a in pairs(set) do
    if a:sub(-#key - 1) == "." .. key or a:sub(-#key - 1) == ":" .. key then return true end
  end
  return false
end

-- The public functions missing from the LDoc output in dir: a list of
-- "module.key" (an alias, the same function as a documented key of its
-- module, counts as documented).
local function undocumented(dir)
  local provider_page = anchors(dir, "oauthconnect.provider")
  local documented_fn, missing = {}, {}
  local all = public_functions()
  for _, f in ipairs(all) do
    local page = f.provider and provider_page or anchors(dir, f.module)
    if has(page, f.provider and ("ProviderModule." .. f.key) or f.key) then documented_fn[f.fn] = true end
  end
  for _, f in ipairs(all) do
    if not documented_fn[f.fn] then missing[#missing + 1] = f.module .. "." .. f.key end
  end
  return missing
end

-- Runs scripts/gen-api-docs for root's lua/ into dir; returns LDoc's complaints.
local function generate(root, dir)
  local out, code = H.capture("cd " .. H.q(root) .. " && ./scripts/gen-api-docs " .. H.q(dir) .. " 2>&1")
  assert(code == 0, "scripts/gen-api-docs failed:\n" .. out)
  return out
end

-- The files under dir, relative, sorted.
local function files_under(dir)
  local list = {}
  for f in H.capture("cd " .. H.q(dir) .. " && find . -type f | sort"):gmatch("[^\n]+") do list[#list + 1] = f end
  return list
end

describe("docs/api (LDoc)", function()
  local fresh

  setup(function()
    fresh = H.tmpdir() .. "/api"
    generate(H.ROOT, fresh)
  end)
  teardown(H.cleanup)

  it("is what scripts/gen-api-docs writes from lua/ now", function()
    local want, have = files_under(fresh), files_under(H.ROOT .. "/docs/api")
    assert.same(want, have, "docs/api/ has other files than LDoc writes: run scripts/gen-api-docs")
    for _, f in ipairs(want) do
      assert(H.read_file(fresh .. "/" .. f) == H.read_file(H.ROOT .. "/docs/api/" .. f),
        "docs/api/" .. f:gsub("^%./", "") .. " is stale: run scripts/gen-api-docs and commit docs/api/")
    end
  end)

  it("documents every public function (a '---' comment LDoc takes)", function()
    local missing = undocumented(fresh)
    assert(#missing == 0, "public functions without a doc comment (LDoc has no entry for them): "
      .. table.concat(missing, ", "))
  end)

  it("notices a public function whose doc comment is gone", function()
    -- a copy of the tree with the doc comment over client:close deleted
    local copy = H.tmpdir()
    assert(H.exec("cp -r " .. H.q(H.ROOT .. "/lua") .. " " .. H.q(H.ROOT .. "/scripts") .. " "
      .. H.q(H.ROOT .. "/csrc") .. " " .. H.q(H.ROOT .. "/config.ld") .. " " .. H.q(copy)) == 0)
    local path = copy .. "/lua/oauthconnect/client.lua"
    local text = H.read_file(path)
    local cut, n = text:gsub("%-%-%- Closes the client[^\n]*\nfunction _M:close%(%)", "function _M:close()")
    assert.equal(1, n, "client.lua's doc comment over close() is not where this test expects it")
    H.write_file(path, cut)
    local dir = copy .. "/api"
    generate(copy, dir)
    local missing = table.concat(undocumented(dir), " ") .. " "
    assert.matches("oauthconnect.client.close ", missing, 1, true)
  end)
end)

-- types/oauthconnect.lua: class -> set of its function (and field) names.
local function declared_types(path)
  path = path or (H.ROOT .. "/types/oauthconnect.lua")
  local text = assert(H.read_file(path), path .. " is missing")
  assert(loadfile(path), path .. " is not valid Lua")
  assert.matches("^%-%-%-@meta", text)
  local classes, holder, class = {}, {}, nil
  for line in text:gmatch("[^\n]*") do
    local c = line:match("^%-%-%-@class ([%w_.]+)")
    if c then
      class = c
      classes[c] = classes[c] or {}
    end
    local field = line:match("^%-%-%-@field ([%w_]+)%??")
    if field and class then classes[class][field] = true end
    local var = line:match("^local ([%w_]+) = {}")
    if var and class then holder[var] = class end
    local v, name = line:match("^function ([%w_]+)[.:]([%w_]+)%(")
    if v then
      assert(holder[v], "types/oauthconnect.lua: " .. v .. " holds no ---@class")
      classes[holder[v]][name] = true
    end
    if line:match("^%-%-%-@alias") then class = nil end
  end
  return classes, text
end

-- The public functions the types file at path does not declare: a list.
local function undeclared(path)
  local classes = declared_types(path)
  local missing = {}
  for _, f in ipairs(public_functions()) do
    local in_class
    if f.provider then
      in_class = classes["oauthconnect.ProviderModule"]
    elseif f.module == "oauthconnect.client" then
      -- the module's own functions, or the client's methods
      in_class = setmetatable({}, { __index = function(_, k)
        return (classes["oauthconnect.client"] or {})[k] or (classes["oauthconnect.Client"] or {})[k]
      end })
    else
      in_class = classes[f.module]
    end
    if not (in_class and in_class[f.key]) then missing[#missing + 1] = f.module .. "." .. f.key end
  end
  return missing
end

describe("types/oauthconnect.lua (LuaLS)", function()
  teardown(H.cleanup)

  it("declares every public function of lua/", function()
    local missing = undeclared()
    assert(#missing == 0, "types/oauthconnect.lua lacks: " .. table.concat(missing, ", "))
  end)

  it("lists every err.code and every connection property the core has", function()
    local classes, text = declared_types()
    local core = require "oauthconnect.core"
    for _, c in ipairs(core.error_codes()) do
      assert(text:find('\n%-%-%-| "' .. c[1] .. '" #'), "oauthconnect.ErrorCode lacks " .. c[1])
    end
    for _, p in ipairs(core.properties()) do
      assert(classes["oauthconnect.ConnectOptions"][p.name], "oauthconnect.ConnectOptions lacks " .. p.name)
    end
    for _, name in ipairs({ "on_token", "io", "nginx_location", "transport", "store" }) do
      assert(classes["oauthconnect.ConnectOptions"][name], "oauthconnect.ConnectOptions lacks " .. name)
    end
  end)

  it("notices a function that is not declared", function()
    local text = H.read_file(H.ROOT .. "/types/oauthconnect.lua")
    local cut, n = text:gsub("\nfunction Client:close%(%) end\n", "\n")
    assert.equal(1, n, "types/oauthconnect.lua does not declare Client:close where this test expects it")
    local path = H.tmpdir() .. "/oauthconnect.lua"
    H.write_file(path, cut)
    local missing = table.concat(undeclared(path), " ") .. " "
    assert.matches("oauthconnect.client.close ", missing, 1, true)
  end)
end)
