"""The device authorization grant (RFC 8628), generic provider only: the
device authorization endpoint, the device_code grant at the token
endpoint, the verification page standing in for the user's browser, and
the store of device codes (which shares the server's single lock).

Times are monotonic: device codes live device_expires_in seconds, and the
polling interval (device_interval, 0 meaning no minimum) grows by 5 s for a
device code each time it is answered slow_down (RFC 8628 3.5).
"""

import html
import secrets
import time

from .httpcore import Response
from .oauth import OAuthError, token_response, TOKEN_HEADERS
from .tokens import GrantError

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
VERIFICATION_PATH = "/device"
# RFC 8628 6.1: 20 consonants (no vowels, so no words), 8 characters shown
# as XXXX-XXXX: about 2^34.6 codes.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5  # seconds added to the interval by each slow_down


class DeviceStore:
    """Device codes by device_code and by user_code. Every method takes the
    server's lock."""

    def __init__(self, lock):
        self.lock = lock
        self._by_device = {}
        self._by_user = {}

    def new(self, client_id, scope, expires_in, interval):
        with self.lock:
            user_code = _new_user_code()
            while user_code in self._by_user:
                user_code = _new_user_code()
            now = time.monotonic()
            rec = {
                "device_code": secrets.token_urlsafe(32),
                "user_code": user_code,
                "client_id": client_id,
                "scope": scope,
                "created": now,
                "expires_at": now + expires_in,
                "interval": interval,
                "last_poll": None,
                "status": "pending",  # pending, approved, denied or used
            }
            self._by_device[rec["device_code"]] = rec
            self._by_user[user_code] = rec
            return dict(rec)

    def find(self, user_code=None, device_code=None):
        """The record (a copy) for a user code (in any case, with or without
        the dash, RFC 8628 6.1) or a device code; None when unknown."""
        with self.lock:
            rec = self._lookup(user_code, device_code)
            return None if rec is None else dict(rec)

    def decide(self, action, user_code=None, device_code=None, auto_after=None):
        """Approve, deny or expire a device code. Returns the record as it
        now is; GrantError when the code is unknown or no longer waiting."""
        with self.lock:
            rec = self._lookup(user_code, device_code)
            if rec is None:
                raise GrantError("The code is unknown.", kind="not_found")
            now = time.monotonic()
            if action == "expire":
                rec["expires_at"] = min(rec["expires_at"], now)
                return dict(rec)
            self._auto_approve(rec, now, auto_after)
            if now >= rec["expires_at"]:
                raise GrantError("The code has expired.", kind="expired_token")
            if rec["status"] != "pending":
                raise GrantError("The code was already %s." % rec["status"],
                                 kind="already_decided")
            rec["status"] = "approved" if action == "approve" else "denied"
            return dict(rec)

    def poll(self, client_id, device_code, auto_after):
        """One token request for a device code (RFC 8628 3.4, 3.5): the
        record once approved (marking it used), else GrantError whose kind is
        the error code to answer."""
        with self.lock:
            rec = self._by_device.get(device_code)
            if rec is None or rec["client_id"] != client_id:
                raise GrantError("The device code is invalid.")
            if rec["status"] == "used":
                raise GrantError("The device code was already used.")
            now = time.monotonic()
            if now >= rec["expires_at"]:
                raise GrantError("The device code has expired.", kind="expired_token")
            self._auto_approve(rec, now, auto_after)
            if rec["status"] == "denied":
                raise GrantError("The user denied the request.", kind="access_denied")
            last, rec["last_poll"] = rec["last_poll"], now
            if rec["status"] == "pending":
                # slow_down is a variant of authorization_pending: an approved
                # code gets its tokens however fast it was polled.
                if last is not None and rec["interval"] and now - last < rec["interval"]:
                    rec["interval"] += SLOW_DOWN_STEP
                    raise GrantError("Polling too fast: wait %d s between requests."
                                     % rec["interval"], kind="slow_down")
                raise GrantError("The user has not yet approved the request.",
                                 kind="authorization_pending")
            rec["status"] = "used"
            return dict(rec)

    def listing(self, auto_after):
        """Every device code, for GET /_sandbox/device."""
        with self.lock:
            now = time.monotonic()
            out = []
            for rec in self._by_device.values():
                self._auto_approve(rec, now, auto_after)
                out.append({
                    "user_code": rec["user_code"],
                    "device_code": rec["device_code"],
                    "client_id": rec["client_id"],
                    "scope": rec["scope"],
                    "status": "expired" if rec["status"] in ("pending", "approved")
                              and now >= rec["expires_at"] else rec["status"],
                    "interval": rec["interval"],
                    "expires_in": max(0, round(rec["expires_at"] - now, 3)),
                })
            return out

    # -- internals (lock held) ------------------------------------------------

    def _lookup(self, user_code, device_code):
        if device_code is not None:
            return self._by_device.get(device_code)
        if user_code is not None:
            return self._by_user.get(normalise_user_code(user_code))
        return None

    @staticmethod
    def _auto_approve(rec, now, auto_after):
        if (rec["status"] == "pending" and auto_after is not None
                and now - rec["created"] >= auto_after and now < rec["expires_at"]):
            rec["status"] = "approved"


def normalise_user_code(text):
    """RFC 8628 6.1: case does not matter, nor dashes and other punctuation."""
    letters = "".join(c for c in text.upper() if c in USER_CODE_ALPHABET)
    if len(letters) != USER_CODE_LENGTH:
        return letters
    return letters[:4] + "-" + letters[4:]


def _new_user_code():
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return letters[:4] + "-" + letters[4:]


# -- endpoints ------------------------------------------------------------------------

def authorization(app, req):
    """POST device_authorization (RFC 8628 3.1, 3.2). The client
    authenticates as at the token endpoint; a public client sends its
    client_id alone."""
    provider, state = app.provider, app.state
    try:
        if req.method != "POST":
            raise OAuthError(405, "invalid_request",
                             "The device authorization endpoint only accepts POST.",
                             [("Allow", "POST")])
        params = provider.token_params(req)
        client_id = provider.authenticate_for_device(req, params)
        scope = provider.device_scope(params)
    except OAuthError as exc:
        return provider.oauth_error(exc)
    expires_in = state.cfg("device_expires_in")
    rec = provider.devices.new(client_id, scope, expires_in, state.cfg("device_interval"))
    state.count("device_authorizations")
    uri = provider.base_url + VERIFICATION_PATH
    return Response.json(200, {
        "device_code": rec["device_code"],
        "user_code": rec["user_code"],
        "verification_uri": uri,
        "verification_uri_complete": uri + "?user_code=" + rec["user_code"],
        "expires_in": expires_in,
        "interval": rec["interval"],
    }, TOKEN_HEADERS)


def token_grant(app, req, params):
    """grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 3.4)."""
    provider, state = app.provider, app.state
    state.count("device_polls")
    client_id = provider.authenticate_for_device(req, params)
    device_code = params.get("device_code")
    if not device_code:
        raise OAuthError(400, "invalid_request", "device_code is missing.")
    try:
        rec = provider.devices.poll(client_id, device_code,
                                    state.cfg("device_auto_approve_after"))
    except GrantError as exc:
        if exc.kind == "slow_down":
            state.count("device_slow_down")
        elif exc.kind == "invalid_grant":
            state.count("invalid_grant")
        raise OAuthError(400, exc.kind, exc.description)
    issued = app.tokens.issue_device(rec["client_id"], rec["scope"], state.cfg("access_ttl"))
    state.count("device_tokens")
    return token_response(provider.token_body(issued))


def verification_page(app, req):
    """GET /device[?user_code=...[&action=approve|deny]]: what the user's
    browser would show. Without an action, the page offers both."""
    if req.method != "GET":
        return Response.html(405, _page("Method not allowed", "<p>Use GET.</p>"),
                             [("Allow", "GET")])
    devices = app.provider.devices
    auto_after = app.state.cfg("device_auto_approve_after")
    user_code = req.query.get("user_code")
    action = req.query.get("action")
    if not user_code:
        return Response.html(200, _page("Device login", _ENTER_FORM))
    if action not in (None, "approve", "deny"):
        return _error_page(400, "invalid_request", "action must be approve or deny.")
    rec = devices.find(user_code=user_code)
    if rec is None:
        return _error_page(404, "invalid_user_code", "No device is waiting for this code.")
    code = html.escape(rec["user_code"])
    if action is None:
        body = _CONFIRM % {"code": code, "client": html.escape(rec["client_id"]),
                           "scope": html.escape(rec["scope"])}
        return Response.html(200, _page("Device login", body), [("Cache-Control", "no-store")])
    try:
        rec = devices.decide(action, user_code=user_code, auto_after=auto_after)
    except GrantError as exc:
        return _error_page(400, exc.kind, exc.description)
    return Response.html(200, _page("Device login", '<p>Code <code id="user_code">%s</code>: '
                                    '<span id="result">%s</span></p>' % (code, rec["status"])))


def control(app, req):
    """/_sandbox/device: GET lists the device codes; POST {"user_code" or
    "device_code", "action": approve|deny|expire} decides one."""
    devices = getattr(app.provider, "devices", None)
    if devices is None:
        return Response.json(404, {"error": "the %s provider has no device flow"
                                            % app.provider.name})
    auto_after = app.state.cfg("device_auto_approve_after")
    if req.method == "GET":
        return Response.json(200, devices.listing(auto_after))
    try:
        body = req.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Response.json(400, {"error": "a JSON object body is required"})
    action = body.get("action")
    user_code, device_code = body.get("user_code"), body.get("device_code")
    if action not in ("approve", "deny", "expire"):
        return Response.json(400, {"error": "action must be approve, deny or expire"})
    if not isinstance(user_code, str) and not isinstance(device_code, str):
        return Response.json(400, {"error": "user_code or device_code (a string) is required"})
    try:
        rec = devices.decide(action, user_code=user_code if isinstance(user_code, str) else None,
                             device_code=device_code if isinstance(device_code, str) else None,
                             auto_after=auto_after)
    except GrantError as exc:
        status = 404 if exc.kind == "not_found" else 409
        return Response.json(status, {"error": exc.kind, "error_description": exc.description})
    return Response.json(200, {"ok": True, "user_code": rec["user_code"],
                               "status": "expired" if action == "expire" else rec["status"]})


# -- pages ------------------------------------------------------------------------------

def _page(title, body):
    return ("<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body>%s</body></html>\n"
            % (html.escape(title), body))


def _error_page(status, error, description):
    return Response.html(status, _page("Device login error",
                                       '<p><code id="error">%s</code></p>'
                                       '<p id="error_description">%s</p>'
                                       % (html.escape(error), html.escape(description))))


_ENTER_FORM = """<form method="get" action="/device">
<label>Code <input name="user_code" autocomplete="off"></label>
<button name="action" value="approve">Approve</button>
<button name="action" value="deny">Deny</button></form>"""

_CONFIRM = """<p>Code <code id="user_code">%(code)s</code></p>
<p><code id="client_id">%(client)s</code> asks for <code id="scope">%(scope)s</code>.</p>
<p><a id="approve" href="/device?user_code=%(code)s&amp;action=approve">Approve</a>
<a id="deny" href="/device?user_code=%(code)s&amp;action=deny">Deny</a></p>"""
