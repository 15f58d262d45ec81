"""Authorization codes, grants, access tokens and refresh tokens.

A *grant* is one authorization: born from a code exchange (or, for the
generic provider, a client_credentials request), it owns the access tokens
and the (single live) refresh token issued for it. Keeping the grant lets us
do what RFC 6749 4.1.2 asks when a code is replayed (revoke everything
issued from it) and what revoke_access_on_refresh asks.

All operations run under the server's single lock, so "look up, check,
mark used" is atomic: two clients racing with the same refresh token get
exactly one success.
"""

import base64
import hashlib
import re
import secrets
import time

CODE_LIFETIME = 600  # seconds; RFC 6749 4.1.2 recommends at most 10 minutes

# RFC 7636 4.1: code_verifier = 43*128unreserved
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class GrantError(Exception):
    """A code or refresh token the server will not honour.

    kind is the RFC 6749 5.2 error code (invalid_grant, invalid_scope);
    the provider decides how it is rendered.
    """

    def __init__(self, description, kind="invalid_grant"):
        super().__init__(description)
        self.description = description
        self.kind = kind


class Issued:
    """What a successful grant produced, for the provider to render."""

    def __init__(self, grant, access_token, refresh_token, expires_in, scope):
        self.grant = grant
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_in = expires_in  # None: never expires
        # The access token's own scope: the grant's, or less after a refresh
        # that narrowed it (RFC 6749 6).
        self.scope = scope


class Grant:
    def __init__(self, grant_id, client_id, scope, extra, kind="authorization_code"):
        self.id = grant_id
        self.client_id = client_id
        self.scope = scope  # what the resource owner granted; a refresh never exceeds it
        self.extra = extra  # provider data carried from authorize (e.g. context)
        self.kind = kind    # authorization_code, client_credentials or device_code
        self.access_tokens = []
        self.refresh_token = None


class TokenStore:
    def __init__(self, lock):
        self.lock = lock
        self._codes = {}
        self._grants = {}
        # token -> {"grant", "scope", "expires_at", "revoked", "refresh"}, where
        # "refresh" is the refresh token issued in the same response (or None)
        self._access = {}
        # token -> {"grant", "state": live|used|revoked, "access"}, "access"
        # being the access token issued with it
        self._refresh = {}
        self._next_grant = 1

    # -- authorization codes ------------------------------------------------

    def new_code(self, client_id, redirect_uri, scope, challenge, method, extra=None):
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "challenge": challenge,
                "method": method,
                "expires_at": time.monotonic() + CODE_LIFETIME,
                "used": False,
                "grant": None,
                "extra": dict(extra or {}),
            }
        return code

    def exchange_code(self, client_id, code, redirect_uri, verifier, ttl,
                      with_refresh):
        """Redeem a code (single use). Raises GrantError."""
        with self.lock:
            rec = self._codes.get(code)
            if rec is None:
                raise GrantError("The authorization code is invalid.")
            if rec["used"]:
                # RFC 6749 4.1.2: a replayed code SHOULD revoke what it issued.
                if rec["grant"] is not None:
                    self._revoke_grant(rec["grant"])
                raise GrantError("The authorization code has already been used.")
            if rec["client_id"] != client_id:
                raise GrantError("The authorization code was issued to another client.")
            # Burn the code on any presentation by its client, so a wrong
            # code_verifier cannot be retried until it matches.
            rec["used"] = True
            if time.monotonic() > rec["expires_at"]:
                raise GrantError("The authorization code has expired.")
            if redirect_uri != rec["redirect_uri"]:
                raise GrantError("The redirect_uri does not match the one used "
                                 "in the authorization request.")
            if rec["challenge"] is not None:
                _check_verifier(rec["challenge"], rec["method"], verifier)
            grant = Grant(self._next_grant, client_id, rec["scope"], rec["extra"])
            self._next_grant += 1
            self._grants[grant.id] = grant
            rec["grant"] = grant.id
            return self._issue(grant, ttl, with_refresh)

    # -- client credentials ---------------------------------------------------

    def issue_client_credentials(self, client_id, scope, ttl):
        """RFC 6749 4.4: the client acts for itself; 4.4.3: no refresh token."""
        with self.lock:
            grant = Grant(self._next_grant, client_id, scope, {}, kind="client_credentials")
            self._next_grant += 1
            self._grants[grant.id] = grant
            return self._issue(grant, ttl, False)

    # -- device authorization grant ------------------------------------------

    def issue_device(self, client_id, scope, ttl):
        """RFC 8628 3.5: an approved device code becomes a grant with an
        access token and a (rotating) refresh token."""
        with self.lock:
            grant = Grant(self._next_grant, client_id, scope, {}, kind="device_code")
            self._next_grant += 1
            self._grants[grant.id] = grant
            return self._issue(grant, ttl, True)

    # -- revocation (RFC 7009) -------------------------------------------------

    def revoke(self, client_id, token, hint, pairs=False):
        """Revoke token for client_id; returns (access tokens, refresh tokens)
        newly revoked. Unknown and already dead tokens revoke nothing.

        RFC 7009 2.1: the hint only says where to look first, and the search
        goes on across both kinds. Revoking a refresh token revokes every
        access token of its grant. pairs=True is Doorkeeper's model instead:
        an access token and the refresh token issued with it are one record,
        revoked together, and an expired access token (not "accessible") is
        left alone. GrantError(kind="unauthorized_client") when the token was
        issued to another client."""
        with self.lock:
            order = ("refresh", "access") if hint == "refresh_token" else ("access", "refresh")
            for kind in order:
                rec = (self._refresh if kind == "refresh" else self._access).get(token)
                if rec is not None:
                    break
            else:
                return 0, 0
            grant = self._grants[rec["grant"]]
            if grant.client_id != client_id:
                raise GrantError("The token was issued to another client.",
                                 kind="unauthorized_client")
            if kind == "refresh":
                if rec["state"] != "live":
                    return 0, 0
                rec["state"] = "revoked"
                if pairs:
                    doomed = [rec["access"]] if rec["access"] else []
                else:
                    doomed = grant.access_tokens
                return self._revoke_access(doomed), 1
            if rec["revoked"]:
                return 0, 0
            if pairs:
                if rec["expires_at"] is not None and time.monotonic() >= rec["expires_at"]:
                    return 0, 0
                rec["revoked"] = True
                paired = self._refresh.get(rec["refresh"]) if rec["refresh"] else None
                if paired is not None and paired["state"] == "live":
                    paired["state"] = "revoked"
                    return 1, 1
                return 1, 0
            rec["revoked"] = True
            return 1, 0

    # -- refresh ------------------------------------------------------------

    def refresh(self, client_id, refresh_token, ttl, revoke_old_access,
                scope=None):
        """Rotate a refresh token (single use). Raises GrantError."""
        with self.lock:
            rec = self._refresh.get(refresh_token)
            if rec is None:
                raise GrantError("The refresh token is invalid.")
            if rec["state"] == "used":
                raise GrantError("The refresh token has already been used.")
            if rec["state"] == "revoked":
                raise GrantError("The refresh token has been revoked.")
            grant = self._grants[rec["grant"]]
            if grant.client_id != client_id:
                raise GrantError("The refresh token was issued to another client.")
            narrowed = None
            if scope:
                # RFC 6749 6: a refresh may narrow the scope, never widen it.
                # The bound is the scope originally granted, not the last
                # access token's, so a later refresh may ask for it again.
                if not set(scope.split()) <= set(grant.scope.split()):
                    raise GrantError("The requested scope exceeds the granted scope.",
                                     kind="invalid_scope")
                narrowed = " ".join(dict.fromkeys(scope.split()))
            rec["state"] = "used"
            if revoke_old_access:
                for tok in grant.access_tokens:
                    self._access[tok]["revoked"] = True
            return self._issue(grant, ttl, True, narrowed)

    # -- checks used by the API endpoints -------------------------------------

    def check_access(self, token):
        """('ok', grant) or (reason, None), reason in unknown|expired|revoked."""
        status, grant, _ = self.inspect_access(token)
        return status, grant

    def inspect_access(self, token):
        """('ok', grant, token scope) or (reason, None, None), as check_access."""
        with self.lock:
            rec = self._access.get(token)
            if rec is None:
                return "unknown", None, None
            if rec["revoked"]:
                return "revoked", None, None
            if rec["expires_at"] is not None and time.monotonic() >= rec["expires_at"]:
                return "expired", None, None
            return "ok", self._grants[rec["grant"]], rec["scope"]

    # -- control endpoints ----------------------------------------------------

    def expire_all(self):
        with self.lock:
            now = time.monotonic()
            for rec in self._access.values():
                rec["expires_at"] = now
            return len(self._access)

    def revoke_all(self):
        with self.lock:
            for rec in self._access.values():
                rec["revoked"] = True
            for rec in self._refresh.values():
                if rec["state"] == "live":
                    rec["state"] = "revoked"

    def live_tokens(self):
        with self.lock:
            now = time.monotonic()
            access = [t for t, r in self._access.items()
                      if not r["revoked"] and (r["expires_at"] is None or r["expires_at"] > now)]
            refresh = [t for t, r in self._refresh.items() if r["state"] == "live"]
            return access, refresh

    # -- internals (lock held) ------------------------------------------------

    def _issue(self, grant, ttl, with_refresh, scope=None):
        access = secrets.token_urlsafe(32)
        scope = grant.scope if scope is None else scope
        expires_at = None if ttl is None else time.monotonic() + ttl
        refresh = secrets.token_urlsafe(32) if with_refresh else None
        self._access[access] = {"grant": grant.id, "scope": scope, "expires_at": expires_at,
                                "revoked": False, "refresh": refresh}
        grant.access_tokens.append(access)
        if with_refresh:
            self._refresh[refresh] = {"grant": grant.id, "state": "live", "access": access}
            grant.refresh_token = refresh
        return Issued(grant, access, refresh, None if ttl is None else int(ttl), scope)

    def _revoke_access(self, tokens):
        """Mark these access tokens revoked; how many were not already."""
        n = 0
        for tok in tokens:
            rec = self._access[tok]
            if not rec["revoked"]:
                rec["revoked"] = True
                n += 1
        return n

    def _revoke_grant(self, grant_id):
        grant = self._grants.get(grant_id)
        if grant is None:
            return
        for tok in grant.access_tokens:
            self._access[tok]["revoked"] = True
        for rec in self._refresh.values():
            if rec["grant"] == grant_id and rec["state"] == "live":
                rec["state"] = "revoked"


def _check_verifier(challenge, method, verifier):
    """RFC 7636 4.6: recompute the challenge from the verifier."""
    if not verifier:
        raise GrantError("code_verifier is required: the authorization request "
                         "carried a code_challenge.")
    if not _VERIFIER_RE.match(verifier):
        raise GrantError("code_verifier is malformed (RFC 7636: 43-128 "
                         "unreserved characters).")
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        computed = verifier
    if not secrets.compare_digest(computed, challenge):
        raise GrantError("code_verifier does not match the code_challenge.")
