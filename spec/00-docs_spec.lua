-- Generated reference docs must match the code they are generated from.
local H = require "helpers"

describe("docs/connection-properties.md", function()
  it("matches the core's property table (run scripts/gen-property-docs.lua)", function()
    local render = assert(loadfile(H.ROOT .. "/scripts/gen-property-docs.lua"))("--render")
    assert.equal(render(), H.read_file(H.ROOT .. "/docs/connection-properties.md"))
  end)
end)

describe("README.md", function()
  it("lists every err.code the core gives, as csrc/oc_errors.h has them", function()
    local core = require "oauthconnect.core"
    local rows = { "| `err.code` | meaning |", "| --- | --- |" }
    for _, c in ipairs(core.error_codes()) do rows[#rows + 1] = ("| `%s` | %s |"):format(c[1], c[2]) end
    local want = table.concat(rows, "\n") .. "\n"
    local readme = H.read_file(H.ROOT .. "/README.md")
    assert(readme:find(want, 1, true), "README.md's list of err.code must read:\n" .. want)
  end)

  it("lists every profile field and every pagination style", function()
    local readme = H.read_file(H.ROOT .. "/README.md")
    for _, f in ipairs(require("oauthconnect.profile_fields").list) do
      assert(readme:find("\n| `" .. f.name .. "` | ", 1, true), "README.md's table of profile fields lacks " .. f.name)
    end
    for _, style in ipairs(require("oauthconnect.pagination").STYLES) do
      assert(readme:find("\n| `" .. style .. "` | ", 1, true), "README.md's table of pagination styles lacks " .. style)
    end
  end)
end)

-- Its figures are written by tests/reliability/report: each block names the
-- command and the date, and each case count is what busted --list finds.
describe("docs/RELIABILITY.md", function()
  local doc = H.read_file(H.ROOT .. "/docs/RELIABILITY.md")

  it("has a command and a date for every block of figures", function()
    local blocks = 0
    for name, body in doc:gmatch("<!%-%- report:(%S+) %-%->\n(.-)<!%-%- /report:%S+ %-%->") do
      blocks = blocks + 1
      if name ~= "header" then
        assert.matches("_Written by `tests/reliability/report[^`]*` on %d%d%d%d%-%d%d%-%d%d", body, nil, false, name)
        assert.matches("```sh\n.+\n```", body, nil, false, name)
      end
    end
    assert.equal(8, blocks)
  end)

  it("counts the cases of each spec it names as busted --list does", function()
    local counts = 0
    for spec, shown in doc:gmatch("<!%-%- count:(%S+) %-%->(%d+) cases<!%-%- /count %-%->") do
      counts = counts + 1
      local out = H.capture("cd " .. H.q(H.ROOT) .. " && lua5.4 /usr/bin/busted --list " .. H.q(spec))
      local n = 0
      for _ in out:gmatch("_spec%.lua:%d+:") do n = n + 1 end
      assert.equal(n, tonumber(shown), spec .. " (run tests/reliability/report to rewrite the counts)")
    end
    assert.equal(3, counts)
  end)
end)
