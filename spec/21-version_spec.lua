assert(_VERSION == "Lua 5.4" or os.getenv("OC_SPEC_LUA") == "luajit", "the specs run on Lua 5.4 (or LuaJIT)")
-- One version number: csrc/oc_version.h holds it; CMake, the rockspecs,
-- CHANGELOG.md, debian/changelog and the modules' _VERSION must agree with it.
local H = require "helpers"

local function read(rel)
  return H.read_file(H.ROOT .. "/" .. rel)
end

local function lines_of(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

local VERSION = read("csrc/oc_version.h"):match('#define OC_VERSION "([^"]+)"')

describe("the version", function()
  it("is one semver number in csrc/oc_version.h, which the User-Agent is made from", function()
    assert.is_string(VERSION)
    assert.matches("^%d+%.%d+%.%d+$", VERSION)
    assert.matches('#define OC_USER_AGENT_HEADER "User%-Agent: oauthconnect/" OC_VERSION', read("csrc/oc_version.h"))
    -- no other User-Agent is written into the core
    for _, f in ipairs(lines_of("ls " .. H.q(H.ROOT) .. "/csrc/*.[ch]")) do
      if not f:match("oc_version%.h$") then
        assert.is_nil(H.read_file(f):match("oauthconnect/%d"), f)
      end
    end
  end)

  it("is CMake's project version, read from oc_version.h", function()
    local cmake = read("CMakeLists.txt")
    local literal = cmake:match("project%(oauthconnect VERSION ([%d.]+)")
    if literal then
      assert.equal(VERSION, literal)
    else
      assert.matches("project%(oauthconnect VERSION ${OC_VERSION}", cmake)
      assert.matches('file%(STRINGS "${CMAKE_CURRENT_SOURCE_DIR}/csrc/oc_version.h" OC_VERSION_LINE', cmake)
    end
    -- and what CMake made of it, in the build the suite runs against
    local cache = io.open(H.ROOT .. "/" .. (os.getenv("OC_BUILD_DIR") or "build") .. "/CMakeCache.txt")
    if cache then
      local text = cache:read("a")
      cache:close()
      assert.equal(VERSION, text:match("CMAKE_PROJECT_VERSION:STATIC=([^\n]+)"))
    end
  end)

  it("is every rockspec's version and file name", function()
    local files = lines_of("ls " .. H.q(H.ROOT) .. "/rockspec/*.rockspec")
    local packages = {}
    for _, path in ipairs(files) do
      local env = {}
      assert(load(H.read_file(path), "@" .. path, "t", env))()
      local name = path:match("([^/]+)$")
      assert.equal(env.package .. "-" .. env.version .. ".rockspec", name)
      assert.equal(VERSION, env.version:match("^(.-)%-%d+$"), name)
      if env.source.tag then assert.equal("v" .. VERSION, env.source.tag, name .. ": source.tag") end
      packages[env.package] = env
    end
    assert.is_table(packages.oauthconnect, "rockspec/oauthconnect-" .. VERSION .. "-1.rockspec")
    assert.is_table(packages["oauthconnect-cli"], "rockspec/oauthconnect-cli-" .. VERSION .. "-1.rockspec")
    -- the command needs this very library
    local wants
    for _, dep in ipairs(packages["oauthconnect-cli"].dependencies) do
      wants = wants or dep:match("^oauthconnect%s*==?%s*([%d.]+)$")
    end
    assert.equal(VERSION, wants)
  end)

  it("is CHANGELOG.md's latest release, under an Unreleased section", function()
    local changelog = read("CHANGELOG.md")
    local first = changelog:match("\n## %[([^%]]+)%]")
    assert.equal("Unreleased", first)
    local latest, date = changelog:match("\n## %[(%d+%.%d+%.%d+)%] %- (%d%d%d%d%-%d%d%-%d%d)")
    assert.equal(VERSION, latest)
    assert.is_string(date)
  end)

  it("is debian/changelog's upstream version", function()
    local source, version = read("debian/changelog"):match("^(%S+) %(([^)]+)%)")
    assert.equal("oauthconnect", source)
    assert.equal(VERSION, (version:gsub("%-[^-]+$", "")))
  end)

  it("is the modules' _VERSION", function()
    assert.equal(VERSION, require("oauthconnect.core")._VERSION)
    assert.equal(VERSION, require("oauthconnect")._VERSION)
    for _, name in ipairs({ "jumpseller", "bigcommerce", "infusionsoft", "keap" }) do
      assert.equal(VERSION, require(name)._VERSION, name)
    end
  end)
end)
