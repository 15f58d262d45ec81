"""Authorization server metadata, generic provider only: RFC 8414 and
OpenID Connect Discovery 1.0 documents, and the config keys that break them.

Where the documents live depends on the issuer's path (issuer_path):
- RFC 8414 3.1 inserts the well-known segment before the path:
  issuer http://h/tenant1 -> http://h/.well-known/oauth-authorization-server/tenant1;
- OpenID Connect Discovery 1.0 4.1 appends it after the path:
  http://h/tenant1/.well-known/openid-configuration.
Only those URLs answer: a client that builds the other form gets a 404.
"""

from .httpcore import Response

RFC8414_SUFFIX = "/.well-known/oauth-authorization-server"
OIDC_SUFFIX = "/.well-known/openid-configuration"


def paths(issuer_path):
    """The two metadata URLs' paths for an issuer path ("" or "/x")."""
    return RFC8414_SUFFIX + issuer_path, issuer_path + OIDC_SUFFIX


def is_metadata_path(path, issuer_path):
    return path in paths(issuer_path)


def metadata(app, req):
    """GET a metadata document, unless discovery_status / discovery_body
    say to answer something else."""
    state, provider = app.state, app.provider
    state.count("discovery")
    if req.method != "GET":
        return Response.json(405, {"error": "method_not_allowed"}, [("Allow", "GET")])
    status = state.cfg("discovery_status")
    body = state.cfg("discovery_body")
    if body is not None:
        return Response(status or 200, body, content_type="application/json")
    if status is not None and status != 200:
        return Response.json(status, {"error": "server_error",
                                      "error_description": "Answer forced by discovery_status."})
    doc = document(app)
    for name in state.cfg("discovery_omit"):
        doc.pop(name, None)
    return Response.json(200, doc, [("Cache-Control", "max-age=0")])


def document(app):
    """The metadata, as RFC 8414 2 names its members."""
    state, provider = app.state, app.provider
    issuer = state.cfg("discovery_issuer")
    if issuer is None:
        issuer = provider.base_url + state.cfg("issuer_path")
    base = provider.base_url + state.cfg("discovery_endpoints_prefix")
    auth_methods = provider.token_auth_methods()
    return {
        "issuer": issuer,
        "authorization_endpoint": base + provider.authorize_path,
        "token_endpoint": base + provider.token_path,
        "device_authorization_endpoint": base + provider.device_authorization_path,
        "revocation_endpoint": base + provider.revocation_path,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  "urn:ietf:params:oauth:grant-type:device_code"],
        # require_pkce refuses plain, so the document stops offering it.
        "code_challenge_methods_supported": (["S256"] if state.option("require_pkce")
                                             else ["S256", "plain"]),
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": list(auth_methods),
    }
