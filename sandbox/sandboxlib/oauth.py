"""The OAuth 2 endpoints shared by the providers (RFC 6749, RFC 7636).

The flow lives here once; each provider plugs in what differs (how the token
request body is encoded, how the client authenticates for each grant, the
shape of token responses and errors) through the hooks of providers.base.
"""

import base64
import binascii
import html
import re
import urllib.parse

from .httpcore import Response
from .tokens import GrantError

OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

# RFC 7636 4.2: code_challenge = 43*128unreserved
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

TOKEN_HEADERS = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class OAuthError(Exception):
    """An RFC 6749 5.2 error response to be rendered by the provider."""

    def __init__(self, status, error, description, headers=None):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = list(headers or [])


class ClientRegistry:
    """The registered client (--client-id) and the redirect URIs it may use,
    plus, for the generic provider, a second, public client whose id the
    runtime config names (public_client_id). The redirect URI policy is the
    same for both."""

    def __init__(self, client_id, client_secret, redirect_uris, public=False):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = set(redirect_uris)
        # RFC 6749 2.1: a public client has no secret and sends only its id.
        self.public = public
        # Set by a provider that has a second, public client: returns its id
        # (or None when there is none) as the runtime config has it now.
        self.public_client_id = lambda: None

    def _extra_public(self, client_id):
        extra = self.public_client_id()
        return client_id is not None and extra is not None and client_id == extra \
            and client_id != self.client_id

    def known(self, client_id):
        return client_id == self.client_id or self._extra_public(client_id)

    def is_public(self, client_id):
        """RFC 6749 2.1: a client without a secret, which must use PKCE."""
        if client_id == self.client_id:
            return self.public
        return self._extra_public(client_id)

    def has_public_client(self):
        return self.public or self.public_client_id() is not None

    def redirect_uri_ok(self, uri):
        if uri in self.redirect_uris or uri == OOB_URI:
            return True
        # RFC 8252 7.3: loopback redirects over plain http, any port.
        try:
            parts = urllib.parse.urlsplit(uri)
            parts.port  # raises ValueError on a malformed port
        except ValueError:
            return False
        return (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
                and not parts.fragment)  # RFC 6749 3.1.2: no fragment

    def check(self, client_id, client_secret):
        if self.is_public(client_id):
            return client_secret is None  # RFC 6749 3.2.1: client_id alone
        return (client_id == self.client_id and client_secret is not None
                and client_secret == self.client_secret)


# -- authorization endpoint ---------------------------------------------------

def authorize(app, req):
    """GET authorize: approves at once (or denies when configured)."""
    app.state.count("authorize")
    provider, q = app.provider, req.query
    client_id = q.get("client_id")
    if not provider.clients.known(client_id):
        # RFC 6749 4.1.2.1: never redirect to an unverified client.
        return _error_page(400, "invalid_client", "Unknown client_id.")
    redirect_uri = q.get("redirect_uri")
    if not redirect_uri:
        return _error_page(400, "invalid_request", "redirect_uri is missing.")
    if not provider.clients.redirect_uri_ok(redirect_uri):
        return _error_page(400, "invalid_redirect_uri",
                           "redirect_uri is not registered for this client.")
    state = q.get("state") if provider.echoes_state else None

    def fail(error, description):
        params = {"error": error, "error_description": description}
        if state is not None:
            params["state"] = state
        if redirect_uri == OOB_URI:
            return _error_page(400, error, description)
        return Response.redirect(_add_query(redirect_uri, params))

    if q.get("response_type", provider.default_response_type) != "code":
        return fail("unsupported_response_type",
                    "Only response_type=code is supported.")
    challenge = q.get("code_challenge")
    method = q.get("code_challenge_method")
    if challenge is not None:
        method = method or "plain"  # RFC 7636 4.3 default
        if method not in ("S256", "plain"):
            return fail("invalid_request", "code_challenge_method must be S256 or plain.")
        if not _CHALLENGE_RE.match(challenge):
            return fail("invalid_request", "code_challenge is malformed.")
    elif method is not None:
        return fail("invalid_request", "code_challenge_method given without code_challenge.")
    elif provider.clients.is_public(client_id):
        return fail("invalid_request", "A public client must use PKCE (RFC 9700 2.1.1).")
    if app.state.option("require_pkce", False) and method != "S256":
        # OAuth 2.1 and RFC 9700 2.1.1: PKCE with S256 on every request.
        return fail("invalid_request", "A code_challenge with code_challenge_method=S256 "
                                       "is required (RFC 9700 2.1.1).")
    try:
        scope, extra = provider.authorize_scope(q)
    except OAuthError as exc:
        return fail(exc.error, exc.description)
    if app.state.cfg("deny"):
        return fail("access_denied", "The resource owner denied the request.")
    code = app.tokens.new_code(client_id, redirect_uri, scope, challenge,
                               method, extra)
    params = {"code": code}
    params.update(provider.authorize_callback_params(scope, extra))
    if state is not None:
        params["state"] = state
    if redirect_uri == OOB_URI:
        return Response.html(200, _OOB_PAGE % html.escape(code),
                             [("Cache-Control", "no-store")])
    return Response.redirect(_add_query(redirect_uri, params))


# -- token endpoint -----------------------------------------------------------

def token(app, req):
    """POST token: dispatch on grant_type; errors rendered by the provider."""
    app.state.count("token")
    provider = app.provider
    grant_type = None
    try:
        if req.method != "POST":
            raise OAuthError(405, "invalid_request", "The token endpoint only accepts POST.",
                             [("Allow", "POST")])
        params = provider.token_params(req)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is missing.")
        if grant_type == "authorization_code":
            return _code_grant(app, req, params)
        if grant_type == "refresh_token":
            return _refresh_grant(app, req, params)
        if grant_type == "client_credentials":
            app.state.count("client_credentials")
            return _client_credentials_grant(app, req, params)
        extra = provider.extra_grant(grant_type)
        if extra is not None:
            return extra(app, req, params)
        raise OAuthError(400, "unsupported_grant_type",
                         "The authorization grant type is not supported.")
    except OAuthError as exc:
        if grant_type == "refresh_token":
            app.state.count("refresh_failures")
        return provider.oauth_error(exc)


def _code_grant(app, req, params):
    provider = app.provider
    client_id = provider.authenticate_for_code(req, params)
    code = params.get("code")
    if not code:
        raise OAuthError(400, "invalid_request", "code is missing.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise OAuthError(400, "invalid_request", "redirect_uri is missing.")
    provider.check_code_params(params)  # before the code is burnt
    try:
        issued = app.tokens.exchange_code(
            client_id, code, redirect_uri, params.get("code_verifier"),
            app.state.cfg("access_ttl"), provider.issues_refresh_tokens)
    except GrantError as exc:
        if exc.kind == "invalid_grant":
            app.state.count("invalid_grant")
        raise provider.code_grant_error(exc)
    app.state.count("code_exchanges")
    return token_response(provider.token_body(issued))


def _refresh_grant(app, req, params):
    provider = app.provider
    if not provider.issues_refresh_tokens:
        raise OAuthError(400, "unsupported_grant_type",
                         "This provider issues no refresh tokens.")
    client_id = provider.authenticate_for_refresh(req, params)
    refresh_token = params.get("refresh_token")
    if not refresh_token:
        raise OAuthError(400, "invalid_request", "refresh_token is missing.")
    try:
        issued = app.tokens.refresh(
            client_id, refresh_token, app.state.cfg("access_ttl"),
            app.state.cfg("revoke_access_on_refresh"), params.get("scope"))
    except GrantError as exc:
        if exc.kind == "invalid_grant":
            app.state.count("invalid_grant")
        raise provider.refresh_grant_error(exc)
    app.state.note_refresh()
    return token_response(provider.token_body(issued))


def _client_credentials_grant(app, req, params):
    """RFC 6749 4.4. The provider authenticates the client and settles the
    scope, or refuses the grant outright (most providers do)."""
    provider = app.provider
    client_id, scope = provider.client_credentials(req, params)
    issued = app.tokens.issue_client_credentials(client_id, scope,
                                                 app.state.cfg("access_ttl"))
    app.state.count("client_credentials_issued")
    return token_response(provider.token_body(issued))


def token_response(body):
    return Response.json(200, body, TOKEN_HEADERS)


def error_response(exc):
    """The RFC 6749 5.2 rendering: {"error", "error_description"}."""
    return Response.json(exc.status, {"error": exc.error,
                                      "error_description": exc.description},
                         TOKEN_HEADERS + exc.headers)


# -- client authentication ----------------------------------------------------

def json_object_body(req):
    """The token request's JSON body, which must be an object; anything else
    is an invalid_request, as the providers answer it."""
    try:
        data = req.json()
    except ValueError:
        raise OAuthError(400, "invalid_request", "The request body is not valid JSON.")
    if not isinstance(data, dict):
        raise OAuthError(400, "invalid_request", "The request body must be a JSON object.")
    return data


def parse_basic(value, form_encoded=True):
    """(client_id, secret) from an Authorization: Basic header, None when the
    header is absent or another scheme. RFC 6749 2.3.1: both halves are
    form-urlencoded before base64; form_encoded=False takes them as they are
    (Keap documents base64(client_id:client_secret))."""
    raw = decode_basic(value)
    if raw is None or not form_encoded:
        return raw
    return urllib.parse.unquote_plus(raw[0]), urllib.parse.unquote_plus(raw[1])


def decode_basic(value):
    """(user, password) exactly as sent (RFC 7617, no form-decoding), None
    when the header is absent or another scheme; OAuthError when malformed."""
    if not value:
        return None
    scheme, _, cred = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(cred.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials.",
                         [("WWW-Authenticate", 'Basic realm="oauth"')])
    user, sep, password = decoded.partition(":")
    if not sep:
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials.",
                         [("WWW-Authenticate", 'Basic realm="oauth"')])
    return user, password


def authenticate_client(clients, req, params, allow_basic=True, allow_body=True,
                        accept_raw_basic=False):
    """Return the authenticated client_id or raise invalid_client (401).

    Basic wins when both are present (Doorkeeper does the same).
    accept_raw_basic: also accept Basic credentials that were not
    form-urlencoded, as many clients send them (a "+" or "%" in a raw secret
    would otherwise be mangled by the decoding)."""
    basic = parse_basic(req.header("authorization")) if allow_basic else None
    if basic is not None:
        if clients.check(*basic):
            return basic[0]
        raw = decode_basic(req.header("authorization")) if accept_raw_basic else None
        if raw is not None and clients.check(*raw):
            return raw[0]
        raise OAuthError(401, "invalid_client",
                         "Client authentication failed (HTTP Basic).",
                         [("WWW-Authenticate", 'Basic realm="oauth"')])
    if allow_body and params.get("client_id") is not None:
        if clients.check(params.get("client_id"), params.get("client_secret")):
            return params["client_id"]
        raise OAuthError(401, "invalid_client",
                         "Client authentication failed: unknown client or wrong secret.")
    headers = [("WWW-Authenticate", 'Basic realm="oauth"')] if allow_basic else []
    raise OAuthError(401, "invalid_client",
                     "Client authentication failed: no client credentials.", headers)


# -- helpers ------------------------------------------------------------------

def _add_query(uri, params):
    sep = "&" if urllib.parse.urlsplit(uri).query else "?"
    return uri + sep + urllib.parse.urlencode(params)


def _error_page(status, error, description):
    return Response.html(status, _ERROR_PAGE % (html.escape(error), html.escape(description)))


_OOB_PAGE = """<!DOCTYPE html>
<html><head><title>Authorization code</title></head>
<body><p>Copy this code into your application:</p>
<code id="code">%s</code></body></html>
"""

_ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>Authorization error</title></head>
<body><h1>Authorization error</h1>
<p><code id="error">%s</code></p><p id="error_description">%s</p></body></html>
"""
