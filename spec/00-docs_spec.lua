-- Generated reference docs must match the code they are generated from.
local H = require "helpers"

describe("docs/connection-properties.md", function()
  it("matches the core's property table (run scripts/gen-property-docs.lua)", function()
    local render = assert(loadfile(H.ROOT .. "/scripts/gen-property-docs.lua"))("--render")
    assert.equal(render(), H.read_file(H.ROOT .. "/docs/connection-properties.md"))
  end)
end)
