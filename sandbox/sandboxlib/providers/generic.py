"""Generic stand-in: "any OAuth 2 server", as a user might describe one with
properties alone. It follows the RFCs plainly and adds no vendor quirks, so
it is the reference a client library is tested against.

Sources: RFC 6749 (OAuth 2.0), RFC 7636 (PKCE), RFC 6750 (Bearer tokens),
RFC 7617 (Basic), RFC 9110 (401, 405, 201, Retry-After),
draft-ietf-httpapi-ratelimit-headers (RateLimit-Limit, -Remaining, -Reset),
RFC 8414 and OpenID Connect Discovery 1.0 (metadata, see discovery.py),
RFC 8628 (device grant, see device.py), RFC 7009 (revocation, see
revocation.py) and RFC 9700 (public clients use PKCE).
"""

import math
import re
import urllib.parse

from .. import device, discovery, oauth
from ..httpcore import Response
from ..oauth import OAuthError
from .base import Principal, Provider, bearer_token, int_param, page_slice

DEFAULT_SCOPE = "api"
ITEM_SEED = 250      # not a multiple of the default page size: the last page is short
LIMIT_DEFAULT = 20
LIMIT_MAX = 100
REALM = "sandbox"
# Without a configured limit the RateLimit-* headers still describe a
# window, one large enough that a client pacing itself never waits in tests.
NOMINAL_LIMIT_PER_MINUTE = 20000

# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_ITEM_PATH_RE = re.compile(r"^/api/items/([0-9]+)$")
_BASIC_CHALLENGE = ("WWW-Authenticate", 'Basic realm="oauth"')


class Caller(Principal):
    """An API caller, with what GET /api/me reports about it."""

    def __init__(self, kind, client_id=None, scope=None, grant=None):
        super().__init__(kind, None if scope is None else set(scope.split()))
        self.client_id = client_id
        self.scope = scope
        self.grant = grant


class Generic(Provider):
    name = "generic"
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"
    device_authorization_path = "/oauth2/device_authorization"
    revocation_path = "/oauth2/revoke"
    api_prefixes = ("/api/",)
    default_access_ttl = 3600

    def __init__(self, clients, options):
        super().__init__(clients, options)
        self.api_keys = set(options.api_key or [])
        self.items = {i: {"id": i, "name": "Item %d" % i} for i in range(1, ITEM_SEED + 1)}
        self.next_item_id = ITEM_SEED + 1
        self.devices = None  # device.DeviceStore, made in attach()

    def attach(self, app):
        super().attach(app)
        self.devices = device.DeviceStore(app.state.lock)
        # The second, public client (RFC 6749 2.1), named by the runtime config.
        self.clients.public_client_id = lambda: app.state.option("public_client_id")

    # -- routing ----------------------------------------------------------------

    def handle(self, req):
        if discovery.is_metadata_path(req.path, self.app.state.cfg("issuer_path")):
            return discovery.metadata(self.app, req)
        if req.path == device.VERIFICATION_PATH:
            return device.verification_page(self.app, req)
        if self.oauth_path(req.path) == self.device_authorization_path:
            return device.authorization(self.app, req)
        return super().handle(req)

    def oauth_path(self, path):
        """discovery_endpoints_prefix serves the OAuth endpoints under a
        prefix too ("/v2/oauth2/token"); the metadata names those."""
        prefix = self.app.state.cfg("discovery_endpoints_prefix")
        if prefix and path.startswith(prefix + "/oauth2/"):
            return path[len(prefix):]
        return path

    def extra_grant(self, grant_type):
        return device.token_grant if grant_type == device.GRANT_TYPE else None

    def token_auth_methods(self):
        """token_endpoint_auth_methods_supported, as --client-auth and the
        public clients make it."""
        only = getattr(self.options, "client_auth", "any")
        methods = {"any": ["client_secret_basic", "client_secret_post"],
                   "basic": ["client_secret_basic"], "post": ["client_secret_post"]}[only]
        if self.clients.has_public_client():
            methods.append("none")
        return methods

    # -- OAuth hooks ------------------------------------------------------------

    def authorize_scope(self, query):
        return _scope(query.get("scope")), {}

    def token_params(self, req):
        """RFC 6749 3.2 asks for a form body; a JSON object is accepted too.
        Parameters without a value count as omitted, and a repeated one is
        an invalid_request (RFC 6749 3.2)."""
        if req.content_type == "application/json":
            data = oauth.json_object_body(req)
            pairs = []
            for key, value in data.items():
                if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
                    raise OAuthError(400, "invalid_request", "%s must be a string." % _safe(key))
                pairs.append((key, "" if value is None else str(value)))
        elif req.content_type == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(req.text(), keep_blank_values=True)
        else:
            raise OAuthError(400, "invalid_request",
                             "The token request must be application/x-www-form-urlencoded "
                             "(or application/json).")
        params = {}
        for key, value in pairs:
            if key in params:
                raise OAuthError(400, "invalid_request", "%s is repeated." % _safe(key))
            params[key] = value
        return {k: v for k, v in params.items() if v != ""}

    def authenticate_for_code(self, req, params):
        return self._authenticate(req, params)

    def authenticate_for_refresh(self, req, params):
        return self._authenticate(req, params)

    def client_credentials(self, req, params):
        client_id = self._authenticate(req, params)
        if self.clients.is_public(client_id):
            # RFC 6749 4.4: the grant is for confidential clients only.
            raise OAuthError(400, "unauthorized_client",
                             "A public client cannot use the client_credentials grant.")
        return client_id, _scope(params.get("scope"))

    def authenticate_for_device(self, req, params):
        return self._authenticate(req, params)

    def device_scope(self, params):
        return _scope(params.get("scope"))

    def token_body(self, issued):
        body = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "scope": issued.scope,
        }
        if issued.expires_in is None:  # access_ttl null: the token never expires
            del body["expires_in"]
        if issued.refresh_token is None:  # client_credentials (RFC 6749 4.4.3)
            del body["refresh_token"]
        return body

    def _authenticate(self, req, params):
        """client_secret_basic (form-urlencoded per RFC 6749 2.3.1, or raw) or
        client_secret_post; Basic wins when both are sent. Every refusal
        carries a Basic challenge, so a client knows what to retry with.
        A public client sends its client_id alone, in the body ("none"),
        whatever --client-auth says."""
        only = getattr(self.options, "client_auth", "any")
        if (req.header("authorization") is None
                and self.clients.is_public(params.get("client_id"))):
            if self.clients.check(params["client_id"], params.get("client_secret")):
                return params["client_id"]
            raise OAuthError(401, "invalid_client", "A public client sends no client_secret.",
                             [_BASIC_CHALLENGE])
        try:
            return oauth.authenticate_client(self.clients, req, params, accept_raw_basic=True,
                                             allow_basic=only != "post",
                                             allow_body=only != "basic")
        except OAuthError as exc:
            if exc.status == 401 and not any(
                    name.lower() == "www-authenticate" for name, _ in exc.headers):
                exc.headers.append(_BASIC_CHALLENGE)
            raise

    # -- API --------------------------------------------------------------------

    def authenticate_api(self, req):
        """X-API-Key first, then Authorization: Basic, then Bearer."""
        key = req.header("x-api-key")
        if key is not None:
            if key.strip() in self.api_keys:
                return Caller("apikey", grant="api_key")
            return _unauthorized("invalid_api_key", "The API key is not valid.",
                                 'Bearer realm="%s"' % REALM)
        try:
            basic = oauth.decode_basic(req.header("authorization"))
        except OAuthError:
            return _unauthorized("invalid_credentials", "Malformed Basic credentials.",
                                 'Basic realm="%s", charset="UTF-8"' % REALM)
        if basic is not None:
            login, token = self.options.basic_login, self.options.basic_token
            if login and basic == (login, token):
                return Caller("basic", grant="basic")
            return _unauthorized("invalid_credentials", "Invalid login or token.",
                                 'Basic realm="%s", charset="UTF-8"' % REALM)
        token = bearer_token(req)
        if token is None:
            # RFC 6750 3.1: no error code when no credentials were offered.
            return _unauthorized("unauthorized", "Authentication required.",
                                 'Bearer realm="%s"' % REALM)
        status, grant, scope = self.app.tokens.inspect_access(token)
        if status == "ok":
            return Caller("oauth", grant.client_id, scope, grant.kind)
        message = {
            "unknown": "The access token is invalid",
            "expired": "The access token expired",
            "revoked": "The access token was revoked",
        }[status]
        return _unauthorized("invalid_token", message,
                             'Bearer realm="%s", error="invalid_token", '
                             'error_description="%s"' % (REALM, message))

    def route_api(self, req, principal):
        if req.path == "/api/me":
            if req.method != "GET":
                return _method_not_allowed("GET")
            return Response.json(200, {"client_id": principal.client_id,
                                       "scope": principal.scope,
                                       "grant": principal.grant})
        with self.app.state.lock:
            if req.path == "/api/items":
                if req.method == "GET":
                    return self._list_items(req)
                if req.method == "POST":
                    return self._create_item(req)
                return _method_not_allowed("GET, POST")
            match = _ITEM_PATH_RE.match(req.path)
            if match:
                if req.method != "GET":
                    return _method_not_allowed("GET")
                item = self.items.get(int(match.group(1)))
                if item is None:
                    return _error(404, "not_found", "No item with this id.")
                return Response.json(200, dict(item))
        return None

    def not_found(self, req):
        return _error(404, "not_found", "No such resource.")

    def _list_items(self, req):
        try:
            page = int_param(req.query, "page", 1, minimum=1)
            limit = int_param(req.query, "limit", LIMIT_DEFAULT, minimum=1, maximum=LIMIT_MAX)
        except ValueError as exc:
            return _error(400, "invalid_request", str(exc))
        items = sorted(self.items.values(), key=lambda i: i["id"])
        # A bare array and no total: clients stop on a short or empty page.
        return Response.json(200, [dict(i) for i in page_slice(items, page, limit)])

    def _create_item(self, req):
        try:
            data = req.json()
        except ValueError:
            return _error(400, "invalid_request", "The body must be a JSON object.")
        if not isinstance(data, dict):
            return _error(400, "invalid_request", "The body must be a JSON object.")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error(422, "invalid_item", "name must be a non-empty string.")
        item = {"id": self.next_item_id, "name": name}
        self.next_item_id += 1
        self.items[item["id"]] = item
        return Response.json(201, dict(item), [("Location", "/api/items/%d" % item["id"])])

    # -- rate limits --------------------------------------------------------------

    def rate_headers(self, decision, principal):
        # One limit is reported: the configured one closest to exhaustion.
        policy = decision.tightest()
        if policy is not None:
            limit, used, reset_ms = policy[:3]
        else:
            limit, used = NOMINAL_LIMIT_PER_MINUTE, decision.used_minute
            reset_ms = decision.minute_reset_ms
        return [
            ("RateLimit-Limit", str(limit)),
            ("RateLimit-Remaining", str(max(0, limit - used))),
            ("RateLimit-Reset", str(max(1, math.ceil(reset_ms / 1000)))),
        ]

    def rate_limited(self, req, decision):
        # Always 429 (RFC 6585); rate_limit_status=403 is Jumpseller's quirk.
        if decision.over_minute:
            limit, unit = decision.limit_minute, "minute"
        else:
            limit, unit = decision.limit_second, "second"
        return _error(429, "rate_limited", "More than %d requests per %s." % (limit, unit))


# -- helpers ------------------------------------------------------------------------

def _scope(raw):
    """The granted scope for a requested one: "api" when none is asked for;
    any scope-tokens otherwise, deduplicated, in the order given."""
    tokens = (raw or "").split()
    if not tokens:
        return DEFAULT_SCOPE
    if not all(_SCOPE_TOKEN_RE.match(t) for t in tokens):
        raise OAuthError(400, "invalid_scope",
                         "A scope token holds a character RFC 6749 3.3 forbids.")
    return " ".join(dict.fromkeys(tokens))


def _safe(text):
    """text fit for an error_description, which RFC 6749 5.2 limits to
    printable ASCII without double quote and backslash."""
    return re.sub(r"[^\x20\x21\x23-\x5b\x5d-\x7e]", "?", text)


def _error(status, error, description, headers=None):
    return Response.json(status, {"error": error, "error_description": description}, headers)


def _unauthorized(error, description, challenge):
    # RFC 9110 11.6.1: a 401 always carries a challenge.
    return _error(401, error, description, [("WWW-Authenticate", challenge)])


def _method_not_allowed(allow):
    return _error(405, "method_not_allowed", "Method not allowed.", [("Allow", allow)])
