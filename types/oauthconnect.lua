---@meta oauthconnect
-- LuaLS (lua-language-server) definitions for oauthconnect: completion,
-- hover docs and type checks for code that uses the library. Nothing here
-- runs. Point your editor's LuaLS at this directory:
--
--   .luarc.json:  { "workspace.library": ["/path/to/oauthconnect/types"] }
--
-- `require "oauthconnect"` is then typed. The provider modules are one
-- type, oauthconnect.ProviderModule; name it where you require one:
--
--   local jumpseller = require "jumpseller" ---@type oauthconnect.ProviderModule
--   local client = assert(jumpseller.connect(os.getenv("CONN")))  -- oauthconnect.Client
--
-- Layout (spec/29-api_docs_spec.lua reads it so, and fails when a public
-- function of lua/ is missing here): each module of lua/ is a class named
-- after it (`---@class oauthconnect.driver`) held by the local on the line
-- after, whose functions follow as `function local.name(...) end`; the
-- client's methods are the class oauthconnect.Client, a provider module's
-- functions oauthconnect.ProviderModule. The reference with the same
-- contracts is docs/api/ (LDoc); README.md is the guide.

-- ---- errors, tokens, answers ------------------------------------------------------------

---The stable, machine-readable `err.code` (README lists them; csrc/oc_errors.h is the source).
---@alias oauthconnect.ErrorCode
---| "no_memory" # out of memory
---| "invalid_argument" # an argument is not valid
---| "syntax_error" # the connection string is malformed
---| "unknown_property" # unknown connection property
---| "bad_value" # a connection property has a value it cannot take
---| "missing_property" # a required connection property is missing
---| "unsupported" # the provider does not support this
---| "network_error" # the server could not be reached
---| "timeout" # the operation timed out
---| "tls_error" # the TLS connection could not be verified
---| "too_large" # the answer is larger than the limit
---| "origin_refused" # the token would be sent to another origin
---| "insecure_url" # plain http is only allowed to loopback hosts
---| "http_error" # the server answered with an HTTP error
---| "bad_request" # the server refused the request as malformed
---| "unauthorized" # the server rejected the credentials
---| "forbidden" # the credentials do not allow this request
---| "not_found" # the resource does not exist
---| "conflict" # the request conflicts with the resource's state
---| "unprocessable" # the server refused the request's content
---| "rate_limited" # the server's rate limit was hit
---| "server_error" # the server failed
---| "bad_response" # the server's answer could not be understood
---| "oauth_error" # the authorization server refused the request
---| "no_token" # there is no usable token
---| "state_mismatch" # the login callback carried the wrong state
---| "access_denied" # access was denied at the authorization page
---| "login_failed" # the browser login did not complete
---| "bad_signature" # a signature from the provider does not verify
---| "discovery_error" # the authorization server's metadata could not be used
---| "revocation_failed" # the server did not confirm the revocation (the tokens were removed locally)
---| "settings_error" # the OAuth settings store cannot be used
---| "lock_error" # the OAuth settings lock could not be taken
---| "io_error" # a local I/O operation failed

---An error: every runtime failure is `nil, err`. `tostring(err)` is one
---sentence, `"failed: " .. err` joins it, and it never holds a secret.
---@class oauthconnect.Error
---@field code oauthconnect.ErrorCode
---@field message string the sentence, naming the property, value or endpoint at fault
---@field status? integer the HTTP status, for HTTP errors
---@field property? string the connection property at fault
---@field oauth_error? string the server's OAuth error, e.g. "invalid_grant"
---@field body? string the answer's body, for HTTP errors (secrets redacted)
---@field headers? table<string, string> the answer's headers, for HTTP errors
---@field field? string the profile field at fault (a profile's errors)
---@field path? string the profile file at fault

---A token table (the library never prints one).
---@class oauthconnect.Token
---@field access_token string
---@field refresh_token? string
---@field token_type? string
---@field scope? string
---@field expires_in? integer seconds the access token lives
---@field expires_at? integer when it expires, in seconds since the epoch
---@field obtained_at_ms integer when it was obtained, in milliseconds since the epoch
---@field created_at? integer the server's own created_at
---@field extra? table the token response's other members (BigCommerce's context, user...)

---An HTTP answer: `client:request`'s result for any status, and the verbs' second result.
---@class oauthconnect.Response
---@field status integer the HTTP status
---@field headers table<string, string> the answer's headers, looked up case-insensitively
---@field body string the body as received

-- ---- connect's options ------------------------------------------------------------------

---A request the engine hands a `transport`.
---@class oauthconnect.TransportRequest
---@field method string "GET", "POST", ...
---@field url string the absolute URL
---@field headers string[][] the headers as {name, value} pairs, the token's among them
---@field body? string
---@field timeout_ms integer

---What a `transport` returns for any HTTP answer.
---@class oauthconnect.TransportResponse
---@field status integer
---@field headers? table<string, string>
---@field body? string

---A `transport` failure: `sent = false` when the request certainly did not
---leave (an unsent GET is tried again; a request that may have been sent is
---never repeated), `timed_out = true` for a timeout.
---@class oauthconnect.TransportError
---@field message string
---@field sent? boolean
---@field timed_out? boolean

---Sends every request the engine needs (API and token endpoint) with your own HTTP client.
---@alias oauthconnect.Transport fun(req: oauthconnect.TransportRequest): oauthconnect.TransportResponse?, (string|oauthconnect.TransportError)?

---Your own storage for the tokens: one opaque text per connection, saved
---by compare-and-set, refreshed under the lock (examples/sqlite_store.lua).
---@class oauthconnect.Store
---@field load fun(): string?, string? the text, or nil when nothing is stored (nil, err on failure)
---@field save fun(text: string, expected: string?): boolean?, string? false when the stored text is no longer expected
---@field lock fun(timeout_ms: integer): boolean?, string? false while another holds it
---@field unlock fun()
---@field remove? fun(expected: string?): boolean?, string? as save, deleting (without it an empty text is saved)

---connect's options: the connection properties (docs/connection-properties.md;
---names are case-insensitive: these are their canonical spellings) and the
---options only the Lua layer reads. The same fields go in `extra`, which wins.
---What the device login (OAuthGrantType=DEVICE_CODE) asks the user to do (RFC 8628 3.3).
---@class oauthconnect.DevicePrompt
---@field title string the provider
---@field verification_uri string the address to open on any device
---@field user_code string the code to enter there
---@field verification_uri_complete? string an address that carries the code
---@field expires_in integer seconds the code is good for

---@class oauthconnect.ConnectOptions
---@field on_token? fun(token: oauthconnect.Token) called whenever the tokens change: keep them in your own database
---@field on_device_code? fun(info: oauthconnect.DevicePrompt) shows the device login's prompt (default: stderr)
---@field io? "curl"|"nginx" the driver, chosen yourself (default: by where it runs)
---@field nginx_location? string the internal location for nginx subrequests (default "/_oauthconnect")
---@field transport? oauthconnect.Transport send the engine's requests with your own HTTP client
---@field store? oauthconnect.Store keep the tokens in your own storage
---@field AuthScheme? "OAUTH"|"OAUTH_CLIENT"|"BASIC"|"APIKEY"|"NONE"|"NTLM" how requests are authenticated (OAUTH)
---@field InitiateOAuth? "OFF"|"GETANDREFRESH"|"REFRESH" OFF: the token as given; GETANDREFRESH: log in when none, refresh; REFRESH: only refresh
---@field OAuthClientId? string the OAuth app's client id
---@field OAuthClientSecret? string the OAuth app's client secret
---@field CallbackURL? string the redirect URI registered for the app
---@field Scope? string space-separated scopes to request
---@field OAuthAccessToken? string an access token
---@field OAuthRefreshToken? string a refresh token
---@field OAuthExpiresIn? integer|string lifetime in seconds of OAuthAccessToken
---@field OAuthTokenTimestamp? integer|string when OAuthAccessToken was issued, ms since the epoch
---@field OAuthVerifier? string a code obtained elsewhere, or the whole address the browser landed on
---@field PKCEVerifier? string the verifier get_authorization_url returned with that login's URL
---@field RefreshLeeway? integer|string refresh this many seconds before expiry (60)
---@field OAuthSettingsLocation? string a file, memory://NAME, redis://..., shm://... (nginx)
---@field OAuthAuthorizationURL? string the authorization endpoint
---@field OAuthAccessTokenURL? string the token endpoint
---@field OAuthDeviceAuthorizationURL? string the device authorization endpoint (RFC 8628)
---@field OAuthRevocationURL? string the token revocation endpoint (RFC 7009)
---@field OAuthDiscoveryURL? string the server's metadata document (RFC 8414, OpenID Connect): the endpoints come from it
---@field OAuthGrantType? "CODE"|"DEVICE_CODE" how AuthScheme=OAUTH logs in: the browser (CODE) or the device login
---@field URL? string the API base URL request paths are relative to
---@field Profile? string a provider profile file (JSON)
---@field Timeout? integer|string seconds a request may take in total (60; 0: no limit)
---@field MaxAttempts? integer|string how many times a request is tried in all (3)
---@field RetryMaxWait? integer|string the longest wait before a retry, in seconds (60)
---@field LoginTimeout? integer|string seconds the desktop login waits (300)
---@field StoreId? string the store the API URL names (BigCommerce's store hash)
---@field APIKey? string the key for AuthScheme=APIKEY
---@field User? string the user for AuthScheme=BASIC or NTLM
---@field Password? string the password for AuthScheme=BASIC or NTLM
---@field ProxyAutoDetect? boolean|string use the environment's proxy when ProxyServer is unset (TRUE)
---@field ProxyServer? string an HTTP proxy for every request but those to loopback hosts
---@field ProxyPort? integer|string the port of ProxyServer (80)
---@field ProxyAuthScheme? "BASIC"|"DIGEST"|"NTLM"|"NONE" how to authenticate to ProxyServer
---@field ProxyUser? string the user name for ProxyServer
---@field ProxyPassword? string the password for ProxyServer
---@field SSLServerCert? string certificates to trust instead of the system's (a PEM file or PEM text)
---@field Verbosity? 1|2|3|4|5|string how much goes to Logfile (1)
---@field Logfile? string a file to append the log to, or "-" for stderr
---@field [string] any

---What the web flow's get_access_token takes beside the code.
---@class oauthconnect.AccessTokenParams
---@field code_verifier? string the verifier get_authorization_url returned
---@field redirect_uri? string the redirect URI this login used
---@field on_token? fun(token: oauthconnect.Token)
---@field [string] string provider extras sent with the code (BigCommerce's context and scope)

---client:each's options.
---@class oauthconnect.EachOptions
---@field in_flight? integer pages fetched at once, 1 to 32 (1)
---@field on_page? fun(n: integer) called with each page's item count

---client:request's argument.
---@class oauthconnect.Request
---@field method? string "GET" when nil
---@field path? string relative to the API URL (or `url`: an absolute URL of the API's origin)
---@field url? string
---@field query? table<string, string|number>
---@field headers? table<string, string>
---@field body? string
---@field json? any sent as JSON (not with body)

---One request of client:request_many.
---@class oauthconnect.ManyRequest
---@field method? string
---@field path string
---@field query? table<string, string|number>
---@field fail_on_http? boolean an HTTP error status is an err, not a res

-- ---- the client ---------------------------------------------------------------------------

---A connection: signed requests, JSON in and out, paging, and the auth plugin.
---Closed by client:close(), by the garbage collector, or by `<close>`.
---@class oauthconnect.Client
local Client = {}

---Sends one request; any HTTP status is a res. A redirect to another origin is never followed with the token.
---@param req oauthconnect.Request
---@return oauthconnect.Response? res
---@return oauthconnect.Error? err
function Client:request(req) end

---Sends several requests at once (curl multi, nginx light threads).
---@param reqs oauthconnect.ManyRequest[]
---@return (oauthconnect.Response|oauthconnect.Error)[]? results one per request, in order
---@return oauthconnect.Error? err
function Client:request_many(reqs) end

---GET path: the decoded JSON (true for an empty body) and res; an HTTP error status is nil, err.
---@param path string relative to the API URL
---@param query? table<string, string|number>
---@return any|nil value
---@return oauthconnect.Response|oauthconnect.Error res_or_err
function Client:get(path, query) end

---POST body (a table is sent as JSON, a string as is).
---@param path string
---@param body table|string
---@param query? table<string, string|number>
---@return any|nil value
---@return oauthconnect.Response|oauthconnect.Error res_or_err
function Client:post(path, body, query) end

---PUT body, as post.
---@param path string
---@param body table|string
---@param query? table<string, string|number>
---@return any|nil value
---@return oauthconnect.Response|oauthconnect.Error res_or_err
function Client:put(path, body, query) end

---PATCH body, as post.
---@param path string
---@param body table|string
---@param query? table<string, string|number>
---@return any|nil value
---@return oauthconnect.Response|oauthconnect.Error res_or_err
function Client:patch(path, body, query) end

---DELETE path, as get.
---@param path string
---@param query? table<string, string|number>
---@return any|nil value
---@return oauthconnect.Response|oauthconnect.Error res_or_err
function Client:delete(path, query) end

---Every item of a paged collection, in order, across pages (the profile's pagination style). A failed page raises its err.
---@param path string
---@param query? table<string, string|number> a page size goes here (limit, page_size)
---@param opts? oauthconnect.EachOptions
---@return fun(): any iterator
function Client:each(path, query, opts) end

---The token table, refreshed first when due (always with force); true for a scheme without tokens.
---@param force? boolean
---@return oauthconnect.Token|true|nil token
---@return oauthconnect.Error? err
function Client:token(force) end

---The auth plugin: headers that authenticate a request sent with your own client, and a ticket for rejected.
---@param headers? table<string, string> set in place (a same-named header in any case is replaced)
---@return table<string, string>? headers
---@return integer|oauthconnect.Error ticket_or_err
function Client:authorize(headers) end

---The auth plugin: a request signed with ticket got a 401. True when the next authorize gives other credentials.
---@param ticket integer
---@return true? ok
---@return oauthconnect.Error? err
function Client:rejected(ticket) end

---The auth plugin in one call: fn(headers) sends and returns the HTTP status first; after a 401 it runs once more.
---@param fn fun(headers: table<string, string>): integer, ...
---@return any ... what the last fn call returned, or nil, err
function Client:send(fn) end

---Revokes the stored refresh token, then the access token, at the revocation endpoint (RFC 7009), then
---removes them whatever the server answered. err.code "revocation_failed": the server did not confirm;
---"unsupported": no revocation endpoint is known (the tokens were only removed).
---@return true? ok
---@return oauthconnect.Error? err
function Client:revoke() end

---Removes the stored tokens without asking the server.
---@return true? ok
---@return oauthconnect.Error? err
function Client:forget() end

---The API's base URL, {StoreId} filled in.
---@return string
function Client:api_url() end

---Closes the client; safe to call twice.
function Client:close() end

-- ---- provider modules and the oauthconnect module ----------------------------------------

---What `require "jumpseller"` (`"bigcommerce"`, `"infusionsoft"`, `"keap"`)
---returns: connect, login and the web flow bound to the provider's profile.
---@class oauthconnect.ProviderModule
---@field profile table the provider's profile
---@field _VERSION string
local ProviderModule = {}

---A client ready for requests (after the desktop login, with GETANDREFRESH and nothing stored).
---@param options string|oauthconnect.ConnectOptions a connection string or a table
---@param extra? oauthconnect.ConnectOptions wins over options
---@return oauthconnect.Client? client
---@return oauthconnect.Error? err
function ProviderModule.connect(options, extra) end

---Runs the desktop (browser) login now, whatever is stored.
---@param options string|oauthconnect.ConnectOptions
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function ProviderModule.login(options, extra) end

---The web flow's authorization URL, its state and PKCE verifier (keep both).
---@param options string|oauthconnect.ConnectOptions
---@param extra? {redirect_uri?: string, [string]: any}
---@return string|nil url
---@return string|oauthconnect.Error state_or_err
---@return string? code_verifier
function ProviderModule.get_authorization_url(options, extra) end

---Exchanges the callback's code (or its whole query) for tokens, stored when a location is set.
---@param options string|oauthconnect.ConnectOptions
---@param code string|table<string, string>
---@param params? oauthconnect.AccessTokenParams
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function ProviderModule.get_access_token(options, code, params) end

---Refreshes now, from OAuthRefreshToken or the stored refresh token.
---@param options string|oauthconnect.ConnectOptions
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function ProviderModule.refresh_access_token(options, extra) end

---Jumpseller webhooks: Base64(HMAC-SHA256(raw body, key)) in the profile's header (profiles with `webhook` only).
---@param raw_body string the body exactly as received
---@param signature string|table<string, string> the header's value, or the request's headers
---@param key string the store's hooks token
---@return true? ok
---@return oauthconnect.Error? err code "bad_signature"
function ProviderModule.verify_webhook(raw_body, signature, key) end

---BigCommerce's signed_payload_jwt (profiles with `signed_payload` only): the claims, with store_hash.
---@param jwt string
---@param client_secret string
---@param client_id string
---@param leeway? integer seconds of clock skew (60)
---@return table? claims
---@return oauthconnect.Error? err code "bad_signature"
function ProviderModule.verify_signed_payload(jwt, client_secret, client_id, leeway) end

---Any OAuth 2 server: the provider functions with a profile table as an extra argument.
---@class oauthconnect
---@field _VERSION string
---@field profile table the custom profile, which a caller's profile is laid over
---@field providers oauthconnect.providers the registry of built-in providers
local oauthconnect = {}

---A client ready for requests.
---@param options string|oauthconnect.ConnectOptions
---@param profile? table a profile laid over the custom one
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Client? client
---@return oauthconnect.Error? err
function oauthconnect.connect(options, profile, extra) end

---Runs the desktop login now.
---@param options string|oauthconnect.ConnectOptions
---@param profile? table
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function oauthconnect.login(options, profile, extra) end

---The web flow's authorization URL, state and PKCE verifier.
---@param options string|oauthconnect.ConnectOptions
---@param profile? table
---@param extra? {redirect_uri?: string, [string]: any}
---@return string|nil url
---@return string|oauthconnect.Error state_or_err
---@return string? code_verifier
function oauthconnect.get_authorization_url(options, profile, extra) end

---Exchanges the callback's code for tokens (note: the profile comes last).
---@param options string|oauthconnect.ConnectOptions
---@param code string|table<string, string>
---@param params? oauthconnect.AccessTokenParams
---@param profile? table
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function oauthconnect.get_access_token(options, code, params, profile) end

---Refreshes now.
---@param options string|oauthconnect.ConnectOptions
---@param profile? table
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function oauthconnect.refresh_access_token(options, profile, extra) end

---A provider module for a profile table (raises on a field no profile has).
---@param profile table
---@return oauthconnect.ProviderModule
function oauthconnect.provider(profile) end

---Whether v is an err object.
---@param v any
---@return boolean
function oauthconnect.is_error(v) end

---Every connection property: name, type, default, allowed values, doc.
---@return {name: string, type: string, default?: string, allowed?: string[], secret: boolean, doc: string}[]
function oauthconnect.properties() end

---Parses a connection string ("Name=Value;...").
---@param text string
---@return table<string, string>? properties
---@return oauthconnect.Error? err
function oauthconnect.parse(text) end

-- ---- the layers under them (the other modules of lua/) ------------------------------------

---oauthconnect.client: the client's methods (oauthconnect.Client) and what the provider layer calls.
---@class oauthconnect.client: oauthconnect.Client
local client = {}

---Wraps a core client handle (for oauthconnect.provider).
---@param handle userdata the core client
---@param profile table
---@param lua_opts oauthconnect.ConnectOptions the Lua-only options
---@param location? string OAuthSettingsLocation as given
---@param timeout_ms integer
---@return oauthconnect.Client
function client.wrap(handle, profile, lua_opts, location, timeout_ms) end

---The performers for this moment: false for the core's own, a driver io table, or nil, err.
---@param self oauthconnect.Client
---@return table|false|nil io
---@return oauthconnect.Error? err
function client.io_for(self) end

---Calls on_token once per change of the client's tokens.
---@param self oauthconnect.Client
function client.notify(self) end

---A token call through the driver for this moment.
---@param self oauthconnect.Client
---@param need "if_due"|"force"|"connect"
---@return oauthconnect.Token|true|nil token
---@return oauthconnect.Error? err
function client.token_call(self, need) end

---oauthconnect.provider: the provider functions, profile first.
---@class oauthconnect.provider
local provider = {}

---@param profile table
---@param options string|oauthconnect.ConnectOptions
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Client? client
---@return oauthconnect.Error? err
function provider.connect(profile, options, extra) end

---@param profile table
---@param options string|oauthconnect.ConnectOptions
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function provider.login(profile, options, extra) end

---@param profile table
---@param options string|oauthconnect.ConnectOptions
---@param extra? {redirect_uri?: string, [string]: any}
---@return string|nil url
---@return string|oauthconnect.Error state_or_err
---@return string? code_verifier
function provider.get_authorization_url(profile, options, extra) end

---@param profile table
---@param options string|oauthconnect.ConnectOptions
---@param code string|table<string, string>
---@param params? oauthconnect.AccessTokenParams
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function provider.get_access_token(profile, options, code, params) end

---@param profile table
---@param options string|oauthconnect.ConnectOptions
---@param extra? oauthconnect.ConnectOptions
---@return oauthconnect.Token? token
---@return oauthconnect.Error? err
function provider.refresh_access_token(profile, options, extra) end

---The module a provider file returns: the functions above bound to profile.
---@param profile table a checked profile
---@return oauthconnect.ProviderModule
function provider.module(profile) end

---oauthconnect.providers: the registry of built-in providers.
---@class oauthconnect.providers
local providers = {}

---The providers, sorted by name.
---@return {name: string, title: string, aliases: string[], api_url?: string}[]
function providers.list() end

---The provider a name or alias stands for (case-insensitive), or nil.
---@param name string
---@return string?
function providers.resolve(name) end

---A provider's profile.
---@param name string
---@return table? profile
---@return oauthconnect.Error? err
function providers.profile(name) end

---A provider's module, one per provider; raises for an unknown name.
---@param name string
---@return oauthconnect.ProviderModule
function providers.module(name) end

---The providers as the command's help lists them.
---@return string
function providers.help() end

---oauthconnect.driver: runs an engine call with Lua performers.
---@class oauthconnect.driver
local driver = {}

---Runs a started call to its end with io's performers; nil, err passes through.
---@param io {http?: function, store?: oauthconnect.Store, sleep: fun(s: number)}
---@param call? userdata
---@param err? oauthconnect.Error
---@return any ...
function driver.finish(io, call, err) end

---Adapts a user's transport to the driver's http performer.
---@param transport oauthconnect.Transport
---@return function
function driver.user_transport(transport) end

---Checks a store table; raises naming what is missing.
---@param store oauthconnect.Store
---@param level integer
---@return oauthconnect.Store
function driver.check_store(store, level) end

---Sleeps, blocking (scripts).
---@param seconds number
function driver.sleep(seconds) end

---oauthconnect.nginx: the nginx driver.
---@class oauthconnect.nginx
---@field location string the default internal location, "/_oauthconnect"
local nginx = {}

---Whether this runs inside nginx's Lua module.
---@return boolean
function nginx.available() end

---The driver for this moment: "nginx", "curl", or nil, why.
---@param mode? "curl"|"nginx"
---@return ("nginx"|"curl")? how
---@return string? why
function nginx.choose(mode) end

---The error naming a property the nginx driver cannot honour, or nil.
---@param props table<string, boolean>
---@param scheme string
---@return oauthconnect.Error?
function nginx.refused_property(props, scheme) end

---The internal location's rewrite handler (oauthconnect.conf).
function nginx.subrequest() end

---The internal location's header filter (oauthconnect.conf).
function nginx.subrequest_answered() end

---The internal location's body filter (oauthconnect.conf).
function nginx.subrequest_body() end

---The driver's HTTP performer: subrequests to location.
---@param location string
---@return function
function nginx.http(location) end

---The Lua store for an OAuthSettingsLocation inside nginx (shm://, redis://), or nil.
---@param location? string
---@param timeout_ms integer
---@return oauthconnect.Store?
function nginx.store(location, timeout_ms) end

---Sleeps without blocking the worker.
---@param s number
function nginx.sleep(s) end

---oauthconnect.pagination: how client:each walks pages.
---@class oauthconnect.pagination
---@field STYLES string[] the styles' names
---@field ALIASES table<string, string> older names and the style each stands for
local pagination = {}

---page_number: ?page=N&limit=M, a short page the last (Jumpseller).
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.page_number(client, path, query, in_flight, on_page) end

---meta_pagination: ?page=N&limit=M read from meta.pagination (BigCommerce).
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.meta_pagination(client, path, query, in_flight, on_page) end

---offset_limit: ?limit=M&offset=K (Keap v1).
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.offset_limit(client, path, query, in_flight, on_page) end

---page_token: ?page_size=M&page_token=T (Keap v2), one page at a time.
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.page_token(client, path, query, in_flight, on_page) end

---The old name of page_number.
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.page(client, path, query, in_flight, on_page) end

---The old name of meta_pagination.
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.bigcommerce(client, path, query, in_flight, on_page) end

---The old name of offset_limit.
---@param client oauthconnect.Client
---@param path string
---@param query? table
---@param in_flight integer
---@param on_page? fun(n: integer)
---@return fun(): any
function pagination.offset(client, path, query, in_flight, on_page) end

---oauthconnect.profile: loading and checking profiles.
---@class oauthconnect.profile
local profile = {}

---Whether s can name a provider.
---@param s any
---@return boolean
function profile.is_name(s) end

---A profile table checked against the field list: a new table, or nil, problem.
---@param t table
---@return table? profile
---@return {field?: string, message: string, code: string, unknown?: boolean}? problem
function profile.check(t) end

---The profile in a JSON file, checked.
---@param path string
---@param property? string
---@return table? profile
---@return oauthconnect.Error? err
function profile.load_file(path, property) end

---The file of a built-in profile, or nil.
---@param name string
---@return string?
function profile.builtin_path(name) end

---The directories built-in profiles may be in.
---@return string[]
function profile.builtin_dirs() end

---A built-in profile, loaded once.
---@param name string
---@return table? profile
---@return oauthconnect.Error? err
function profile.builtin(name) end

---A profile laid over the custom one.
---@param p table
---@return table
function profile.over_custom(p) end

---The profile a Profile= property names.
---@param value string
---@param property? string
---@return table? profile
---@return oauthconnect.Error? err
function profile.from_property(value, property) end

---oauthconnect.profile_fields: every field a profile may hold (data, no functions).
---@class oauthconnect.profile_fields
---@field list {name: string, type: string, doc: string, core?: boolean, fields?: table}[]
---@field by_name table<string, {name: string, type: string, doc: string, core?: boolean, fields?: table}>
local profile_fields = {}

---oauthconnect.json: the client's JSON codec (a private lua-cjson).
---@class oauthconnect.json
---@field null lightuserdata what JSON null decodes to
local json = {}

---@param value any
---@return string
function json.encode(value) end

---Raises on text that is not JSON.
---@param text string
---@return any
function json.decode(text) end

---oauthconnect.store.shm: a store in an nginx shared dict.
---@class oauthconnect.store.shm
local store_shm = {}

---A store for shm://DICT or shm://DICT/KEY; raises when nginx has no such dict.
---@param location string
---@return oauthconnect.Store
function store_shm.new(location) end

---oauthconnect.store.redis: a Redis store over nginx cosockets.
---@class oauthconnect.store.redis
local store_redis = {}

---A store for redis://... or rediss://...
---@param location string
---@param timeout_ms? integer
---@return oauthconnect.Store? store
---@return oauthconnect.Error? err
function store_redis.new(location, timeout_ms) end

---oauthconnect.cli: the oauthconnect command.
---@class oauthconnect.cli
local cli = {}

---Runs the command with its arguments; returns the exit code.
---@param argv string[]
---@return integer
function cli.run(argv) end

return oauthconnect
