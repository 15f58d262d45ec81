-- luacheck settings (Debian's lua-check): `scripts/luacheck` runs it on
-- lua/, bin/oauthconnect, spec/ and examples/, and CI's "luacheck" part
-- counts its files. Lua 5.4 everywhere; the nginx files also see OpenResty's
-- `ngx` (whose status, header, ctx, var and arg a handler sets), and the
-- specs busted's globals.

std = "lua54"
max_line_length = 120

-- The nginx Lua module's global. Reading any field is allowed (its API is
-- large); writing only where OpenResty takes writes.
stds.ngx = {
  read_globals = {
    ngx = {
      other_fields = true,
      fields = {
        status = { read_only = false },
        header = { read_only = false, other_fields = true },
        ctx = { read_only = false, other_fields = true },
        var = { read_only = false, other_fields = true },
        arg = { read_only = false, other_fields = true },
      },
    },
  },
}

local NGINX = "+ngx"

-- Files that run inside nginx (and, for the library's, outside it too).
files["lua/oauthconnect/nginx.lua"] = { std = NGINX }
files["lua/oauthconnect/client.lua"] = { std = NGINX }
files["lua/oauthconnect/store/shm.lua"] = { std = NGINX }
files["lua/oauthconnect/store/redis.lua"] = { std = NGINX }
files["examples/openresty"] = { std = NGINX }
files["spec/nginx"] = { std = NGINX }
files["spec/clients/cosocket_client.lua"] = { std = NGINX }

-- The specs: busted's globals; their long lines are expected error
-- messages and connection strings, kept whole so they can be searched for.
files["spec"] = { std = "+busted", max_line_length = false, unused_secondaries = false }

-- The command's subcommands share one signature, (args, mod, props), as
-- the dispatch table calls them; not every one reads its arguments.
files["lua/oauthconnect/cli.lua"] = { ignore = { "212/args" } }
