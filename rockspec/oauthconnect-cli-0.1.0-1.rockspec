rockspec_format = "3.0"
package = "oauthconnect-cli"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/oauthconnect/oauthconnect.git",
  tag = "v0.1.0",
}
description = {
  summary = "The oauthconnect command: log in once, then tokens and API data from shell, cron and CI",
  detailed = [[
oauthconnect login|token|get|post|put|delete|export|logout|status for
Jumpseller, BigCommerce, Keap and any OAuth 2 server, on the oauthconnect
library.
]],
  license = "MIT",
  homepage = "https://github.com/oauthconnect/oauthconnect",
}
-- What bin/oauthconnect and lua/oauthconnect/cli.lua require: argparse,
-- dkjson, term (lua-term), system (luasystem), and the library itself.
dependencies = {
  "lua >= 5.4",
  "oauthconnect = 0.1.0",
  "argparse",
  "dkjson",
  "lua-term",
  "luasystem",
}
-- The command's own modules: oauthconnect.cli (CMake's "command" component).
build = {
  type = "builtin",
  modules = {
    ["oauthconnect.cli"] = "lua/oauthconnect/cli.lua",
  },
  install = {
    bin = { oauthconnect = "bin/oauthconnect" },
  },
}
