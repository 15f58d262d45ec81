"""What every provider stand-in shares: routing of the OAuth endpoints, the
order of checks on an API request, and paging helpers. A provider module
subclasses Provider and fills in the hooks (marked "hook" below)."""

from .. import oauth, revocation
from ..httpcore import Response
from ..oauth import OAuthError


class Principal:
    """Who an API request runs as. scopes None means every scope."""

    def __init__(self, kind, scopes=None):
        self.kind = kind  # "oauth", "apikey" or "basic"
        self.scopes = scopes


def bearer_token(req):
    """The token of an Authorization: Bearer header (the scheme in any case,
    RFC 6750 2.1), or None when the request offers none."""
    scheme, _, token = req.header("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Provider:
    name = None
    authorize_path = None
    token_path = None
    api_prefixes = ()
    issues_refresh_tokens = True
    default_access_ttl = 3600
    default_response_type = None  # RFC 6749 4.1.1: response_type is required
    echoes_state = True  # RFC 6749 4.1.2: state comes back unchanged
    revocation_path = None  # RFC 7009 endpoint, for the providers that have one
    revocation_blank_token_ok = False  # RFC 7009 2.1: token is REQUIRED
    revokes_token_pairs = False  # see TokenStore.revoke (Doorkeeper's one-record model)
    default_rate_windows = "sliding"  # rate_limit_windows unless --rate-limit-windows
    sends_retry_after = True  # rate_limit_retry_after unless --[no-]rate-limit-retry-after

    def __init__(self, clients, options):
        self.clients = clients
        self.options = options
        self.app = None  # set by attach()
        self.base_url = None  # set by server.py once the port is known

    def attach(self, app):
        """Called once by SandboxApp: providers reach state and tokens
        through the app."""
        self.app = app

    # -- routing ---------------------------------------------------------------

    def handle(self, req):
        """A Response, or None when the path is not this provider's."""
        path = self.oauth_path(req.path)
        if path == self.authorize_path:
            if req.method != "GET":
                return Response.json(405, {"message": "Method Not Allowed"},
                                     [("Allow", "GET")])
            return oauth.authorize(self.app, req)
        if path == self.token_path:
            return oauth.token(self.app, req)
        if self.revocation_path is not None and path == self.revocation_path:
            return revocation.revoke(self.app, req)
        if any(req.path.startswith(p) for p in self.api_prefixes):
            resp = self._api_request(req)
            self.app.state.count_api_status(resp.status)
            return resp
        return None

    def oauth_path(self, path):
        """hook: the OAuth endpoint path a request path stands for (the
        generic provider also serves its endpoints under a prefix)."""
        return path

    def _api_request(self, req):
        """Rate limit first (a gateway counts every request, authenticated or
        not), then authentication, then the resource."""
        state = self.app.state
        state.count("api")
        decision = state.admit_api_request()
        if not decision.allowed:
            resp = self.rate_limited(req, decision)
            if state.cfg("rate_limit_retry_after"):
                resp.add_headers([("Retry-After", str(decision.retry_after))])
            return resp.add_headers(self.rate_headers(decision, None))
        principal = self.authenticate_api(req)
        if isinstance(principal, Response):
            state.count("api_unauthorized")
            return principal.add_headers(self.rate_headers(decision, None))
        resp = self.route_api(req, principal) or self.not_found(req)
        return resp.add_headers(self.rate_headers(decision, principal))

    def bearer_status(self, req):
        """('ok', grant) / (reason, None) for an Authorization: Bearer header;
        reason 'missing' when there is none."""
        token = bearer_token(req)
        if token is None:
            return "missing", None
        return self.app.tokens.check_access(token)

    # -- OAuth hooks (defaults follow RFC 6749 plainly) -------------------------

    def authorize_scope(self, query):
        """hook: (granted scope string, extra dict) or raise OAuthError."""
        return query.get("scope", ""), {}

    def authorize_callback_params(self, scope, extra):
        """hook: parameters added to the redirect besides code and state."""
        return {}

    def token_params(self, req):
        """hook: the token request parameters (form-encoded by default)."""
        if req.content_type != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request",
                             "The token request must be application/x-www-form-urlencoded.")
        return req.form()

    def authenticate_for_code(self, req, params):
        return oauth.authenticate_client(self.clients, req, params)

    def authenticate_for_refresh(self, req, params):
        return oauth.authenticate_client(self.clients, req, params)

    def check_code_params(self, params):
        """hook: provider-specific checks of a code exchange request."""

    def client_credentials(self, req, params):
        """hook: (client_id, granted scope) for a client_credentials grant,
        or raise OAuthError. Most providers refuse the grant."""
        raise OAuthError(400, "unsupported_grant_type",
                         "The client_credentials grant is not supported.")

    def extra_grant(self, grant_type):
        """hook: the handler (app, req, params) -> Response of a grant type
        beyond RFC 6749's, or None."""
        return None

    def authenticate_for_revocation(self, req, params):
        """hook: client authentication at the revocation endpoint."""
        return self.authenticate_for_refresh(req, params)

    def revocation_foreign_token(self, exc):
        """hook: the error for revoking a token issued to another client
        (RFC 7009 2.1: the request is refused)."""
        return OAuthError(400, "unauthorized_client", exc.description)

    def revocation_ok(self, status=200):
        """hook: a revocation answer (RFC 7009 2.2: the body is ignored)."""
        return Response(status, b"", list(oauth.TOKEN_HEADERS))

    def code_grant_error(self, exc):
        return OAuthError(400, exc.kind, exc.description)

    def refresh_grant_error(self, exc):
        return OAuthError(400, exc.kind, exc.description)

    def oauth_error(self, exc):
        return oauth.error_response(exc)

    def token_body(self, issued):
        """hook: the JSON object of a successful token response."""
        raise NotImplementedError

    # -- API hooks ---------------------------------------------------------------

    def authenticate_api(self, req):
        """hook: a Principal, or the 401 Response to send."""
        raise NotImplementedError

    def route_api(self, req, principal):
        """hook: the Response for an authenticated API request, None for 404."""
        raise NotImplementedError

    def rate_headers(self, decision, principal):
        """hook: the provider's rate-limit headers for this response."""
        return []

    def rate_limited(self, req, decision):
        """hook: the Response when the rate limit refuses a request, without
        Retry-After: _api_request adds it when rate_limit_retry_after is set."""
        return Response.json(429, {"message": "Too Many Requests"})

    def not_found(self, req):
        return Response.json(404, {"message": "Not Found"})


def int_param(query, name, default, minimum=None, maximum=None):
    """An integer query parameter; raises ValueError with a message naming
    the parameter when it is malformed or out of range."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("%s must be an integer" % name)
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError("%s must be between %d and %d" % (name, minimum, maximum))
    if minimum is not None and value < minimum:
        raise ValueError("%s must be >= %d" % (name, minimum))
    return value


def page_slice(items, page, per_page):
    start = (page - 1) * per_page
    return items[start:start + per_page]
