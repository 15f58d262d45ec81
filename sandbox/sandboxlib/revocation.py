"""The token revocation endpoint (RFC 7009), for the providers that have
one: generic (POST /oauth2/revoke) and Jumpseller (POST /oauth/revoke, as
Doorkeeper serves it).

What differs between them comes from provider hooks: how the client
authenticates, the answer to a token of another client, the success body,
and whether an access token and its refresh token are one record.
"""

from .httpcore import Response
from .oauth import TOKEN_HEADERS, OAuthError
from .tokens import GrantError

# What a forced revocation_status answers with (RFC 6749 5.2 error codes;
# RFC 7009 2.2.1 names 503 for a server asking the client to back off).
_FORCED_ERRORS = {400: "invalid_request", 401: "invalid_client", 503: "temporarily_unavailable"}


def revoke(app, req):
    """POST revoke: token, optional token_type_hint, client authentication
    as at the token endpoint."""
    state, provider = app.state, app.provider
    state.count("revocations")
    try:
        if req.method != "POST":
            raise OAuthError(405, "invalid_request", "The revocation endpoint only accepts POST.",
                             [("Allow", "POST")])
        params = provider.token_params(req)
        hint = params.get("token_type_hint")
        state.note_revocation_hint(hint)
        forced = state.option("revocation_status")
        if forced is not None:
            return _forced(provider, forced)
        client_id = provider.authenticate_for_revocation(req, params)
        token = params.get("token")
        if not token:
            if provider.revocation_blank_token_ok:
                return provider.revocation_ok()
            raise OAuthError(400, "invalid_request", "token is missing.")
        # RFC 7009 2.1: a hint the server does not know is no error (it
        # searches every kind anyway), so unsupported_token_type is never sent.
        try:
            access, refresh = app.tokens.revoke(client_id, token, hint,
                                                pairs=provider.revokes_token_pairs)
        except GrantError as exc:
            raise provider.revocation_foreign_token(exc)
        if access:
            state.count("revoked_access", access)
        if refresh:
            state.count("revoked_refresh", refresh)
        # RFC 7009 2.2: 200 whether or not the token was known or alive.
        return provider.revocation_ok()
    except OAuthError as exc:
        return provider.oauth_error(exc)


def _forced(provider, status):
    if status < 300:
        return provider.revocation_ok(status)
    error = _FORCED_ERRORS.get(status, "server_error" if status >= 500 else "invalid_request")
    return Response.json(status, {"error": error,
                                  "error_description": "Answer forced by revocation_status."},
                         TOKEN_HEADERS)
