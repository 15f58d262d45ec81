-- RSS of one process holding N idle clients (connected with a stored token,
-- no request made). Prints clients=<n> rss_before_kib=<k> rss_after_kib=<k> bytes_per_client=<b>
local oauthconnect = require "oauthconnect"
local n = tonumber(arg[1] or "1000")

local function rss_kib()
  for line in io.lines("/proc/self/status") do
    local v = line:match("^VmRSS:%s+(%d+) kB")
    if v then return tonumber(v) end
  end
end

-- one first client loads everything (libraries, OpenSSL tables) outside the measure
local keep = { assert(oauthconnect.connect({ OAuthAccessToken = "warmup-token", URL = "https://api.example" })) }
collectgarbage("collect")
local before = rss_kib()
for i = 1, n do
  keep[#keep + 1] = assert(oauthconnect.connect({ OAuthAccessToken = "token-" .. i, URL = "https://api.example" }))
end
collectgarbage("collect")
local after = rss_kib()
print(("clients=%d rss_before_kib=%d rss_after_kib=%d bytes_per_client=%d"):format(n, before, after,
  math.floor((after - before) * 1024 / n)))
