"""Keap (Infusionsoft) stand-in: accounts.infusionsoft.com (authorize),
api.infusionsoft.com/token and api.infusionsoft.com/crm/rest/v1|v2 served
from one origin.

Sources: developer.infusionsoft.com (Getting Started with OAuth2, Throttles
and Quotas, PAT and SAK, REST v1/v2 references), the infusionsoft-php SDK,
integration.keap.com threads, as summarised in /work/shared/PROVIDERS.md.
Keap fronts its API with an Apigee gateway, so gateway refusals (401, 429)
come in Apigee's {"fault": {...}} shape, not the documented {"message"}.
"""

import base64
import datetime

from ..httpcore import Response
from ..oauth import OAuthError, parse_basic
from .base import Principal, Provider, int_param

TENANT = "xy123.infusionsoft.com"
CONTACT_SEED = 300
LIMIT_MAX = 1000
SEED_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

# Documented limits (Throttles and Quotas): per OAuth client key/secret pair,
# per PAT/SAK, and per application instance (tenant).
OAUTH_QUOTA_DAY, OAUTH_THROTTLE_MINUTE = 150000, 1500
KEY_QUOTA_DAY, KEY_THROTTLE_MINUTE = 30000, 240
TENANT_THROTTLE_MINUTE = 10000

GIVEN = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy")
FAMILY = ("Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas")


class Keap(Provider):
    name = "keap"
    authorize_path = "/app/oauth/authorize"
    token_path = "/token"
    api_prefixes = ("/crm/rest/",)
    default_access_ttl = 86400  # documented: access tokens live 24 hours

    def __init__(self, clients, options):
        super().__init__(clients, options)
        self.api_keys = set(options.api_key or [])
        self.contacts = {c["id"]: c for c in (_seed_contact(i) for i in range(CONTACT_SEED))}
        self.next_contact_id = max(self.contacts) + 1

    # -- OAuth hooks ------------------------------------------------------------

    def authorize_scope(self, query):
        scope = query.get("scope", "full") or "full"
        if scope != "full":
            raise OAuthError(400, "invalid_scope", 'The only scope is "full".')
        return "full", {}

    def authenticate_for_refresh(self, req, params):
        # Documented refresh: Authorization: Basic base64(client_id:client_secret)
        # and only grant_type + refresh_token in the body. A secret in the body
        # is refused outright, to catch clients that do it wrong.
        if "client_secret" in params:
            raise OAuthError(400, "invalid_client",
                             "client_secret must not be sent in the body of a refresh "
                             "request; use Authorization: Basic.")
        basic = parse_basic(req.header("authorization"), form_encoded=False)
        if basic is None:
            raise OAuthError(401, "invalid_client",
                             "A refresh request needs Authorization: Basic "
                             "base64(client_id:client_secret).",
                             [("WWW-Authenticate", 'Basic realm="oauth"')])
        if not self.clients.check(*basic):
            raise OAuthError(401, "invalid_client", "Client authentication failed (HTTP Basic).",
                             [("WWW-Authenticate", 'Basic realm="oauth"')])
        if params.get("client_id") not in (None, basic[0]):
            raise OAuthError(400, "invalid_request",
                             "client_id in the body does not match the Basic credentials.")
        return basic[0]

    def refresh_grant_error(self, exc):
        if exc.kind == "invalid_grant":
            # Keap's documented answer for any unusable refresh token.
            return OAuthError(400, "invalid_request", "Invalid Refresh Token")
        return OAuthError(400, exc.kind, exc.description)

    def token_body(self, issued):
        body = {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "scope": "full|" + TENANT,
        }
        if issued.expires_in is None:
            del body["expires_in"]
        return body

    # -- API --------------------------------------------------------------------

    def authenticate_api(self, req):
        key = req.header("x-keap-api-key")
        if key is not None:
            if key.strip() in self.api_keys:
                return Principal("apikey")
            return _fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")
        status, _ = self.bearer_status(req)
        if status == "ok":
            return Principal("oauth")
        if status == "expired":
            return _fault(401, "Access Token expired",
                          "keymanagement.service.access_token_expired")
        return _fault(401, "Invalid Access Token",
                      "keymanagement.service.invalid_access_token")

    def route_api(self, req, principal):
        rest = req.path[len("/crm/rest/"):].rstrip("/")
        version, _, tail = rest.partition("/")
        with self.app.state.lock:
            if version == "v1":
                return self._v1(req, tail)
            if version == "v2":
                return self._v2(req, tail)
        return None

    def not_found(self, req):
        return Response.json(404, {"message": "Resource not found"})

    def _v1(self, req, tail):
        if tail == "contacts":
            if req.method == "GET":
                return self._v1_list(req)
            if req.method == "POST":
                return self._create(req, _v1_view)
            return None
        if tail == "account/profile" and req.method == "GET":
            return Response.json(200, {"name": "Sandbox Business", "email": "owner@" + TENANT,
                                       "time_zone": "America/Phoenix", "currency_code": "USD"})
        if tail.startswith("contacts/") and req.method in ("GET", "PATCH"):
            contact = self._contact(tail[len("contacts/"):])
            if contact is None:
                return Response.json(404, {"message": "Contact not found"})
            if req.method == "PATCH":
                return self._update(req, contact)
            return Response.json(200, _v1_view(contact))
        return None

    def _v1_list(self, req):
        try:
            limit = int_param(req.query, "limit", LIMIT_MAX, minimum=1, maximum=LIMIT_MAX)
            offset = int_param(req.query, "offset", 0, minimum=0)
        except ValueError as exc:
            return Response.json(400, {"message": str(exc)})
        items = sorted(self.contacts.values(), key=lambda c: c["id"])
        base = req.base_url() + "/crm/rest/v1/contacts"
        # Keap returns next/previous on every page, even the last one:
        # clients stop on a short (or empty) page, not on a missing link.
        return Response.json(200, {
            "contacts": [_v1_view(c) for c in items[offset:offset + limit]],
            "count": len(items),
            "next": "%s?limit=%d&offset=%d" % (base, limit, offset + limit),
            "previous": "%s?limit=%d&offset=%d" % (base, limit, max(0, offset - limit)),
        })

    def _v2(self, req, tail):
        if tail == "contacts":
            if req.method == "GET":
                return self._v2_list(req)
            if req.method == "POST":
                return self._create(req, _v2_view)
            return None
        if tail.startswith("contacts/") and req.method == "GET":
            contact = self._contact(tail[len("contacts/"):])
            if contact is None:
                return _v2_error(404, "Contact not found", "NOT_FOUND")
            return Response.json(200, _v2_view(contact))
        return None

    def _v2_list(self, req):
        try:
            size = int_param(req.query, "page_size", LIMIT_MAX, minimum=1, maximum=LIMIT_MAX)
        except ValueError as exc:
            return _v2_error(400, str(exc), "INVALID_ARGUMENT")
        offset = _decode_page_token(req.query.get("page_token", ""))
        if offset is None:
            return _v2_error(400, "page_token is invalid", "INVALID_ARGUMENT")
        items = sorted(self.contacts.values(), key=lambda c: c["id"])
        page = items[offset:offset + size]
        more = offset + size < len(items)
        return Response.json(200, {
            "contacts": [_v2_view(c) for c in page],
            "next_page_token": _encode_page_token(offset + size) if more else "",
        })

    def _contact(self, raw_id):
        try:
            return self.contacts.get(int(raw_id))
        except ValueError:
            return None

    def _create(self, req, view):
        try:
            data = req.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _bad_request("Input could not be converted to a valid request")
        emails = data.get("email_addresses") or []
        phones = data.get("phone_numbers") or []
        if not isinstance(emails, list) or not isinstance(phones, list):
            return _bad_request("email_addresses and phone_numbers must be lists")
        if not emails and not phones:
            return _bad_request("A contact needs at least an email address or a phone number")
        cid = self.next_contact_id
        self.next_contact_id += 1
        now = _iso(datetime.datetime.now(datetime.timezone.utc))
        contact = {
            "id": cid,
            "given_name": str(data.get("given_name", "")),
            "family_name": str(data.get("family_name", "")),
            "email_addresses": emails,
            "phone_numbers": phones,
            "created": now,
            "updated": now,
        }
        self.contacts[cid] = contact
        return Response.json(201, view(contact))

    def _update(self, req, contact):
        """REST v1 "Update a Contact": PATCH /v1/contacts/{id} with the fields
        to change; the answer is the whole contact as it now is."""
        try:
            data = req.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _bad_request("Input could not be converted to a valid request")
        for key in ("given_name", "family_name"):
            if key in data and not isinstance(data[key], str):
                return _bad_request("%s must be a string" % key)
        for key in ("email_addresses", "phone_numbers"):
            if key in data and not isinstance(data[key], list):
                return _bad_request("%s must be a list" % key)
        for key in ("given_name", "family_name", "email_addresses", "phone_numbers"):
            if key in data:
                contact[key] = data[key]
        contact["updated"] = _iso(datetime.datetime.now(datetime.timezone.utc))
        return Response.json(200, _v1_view(contact))

    # -- throttle headers -----------------------------------------------------------

    def rate_headers(self, decision, principal):
        is_key = principal is not None and principal.kind == "apikey"
        quota = KEY_QUOTA_DAY if is_key else OAUTH_QUOTA_DAY
        policy = decision.tightest()  # the configured limit closest to exhaustion
        if policy is not None:
            throttle, used, unit = policy[0], policy[1], policy[4]
        else:
            throttle = KEY_THROTTLE_MINUTE if is_key else OAUTH_THROTTLE_MINUTE
            unit, used = "minute", decision.used_minute
        now = datetime.datetime.fromtimestamp(self.app.state.wall_time(), datetime.timezone.utc)
        tomorrow = (now.date()
                    + datetime.timedelta(days=1))
        expiry = datetime.datetime.combine(tomorrow, datetime.time(), datetime.timezone.utc)
        return [
            ("x-keap-product-quota-limit", str(quota)),
            ("x-keap-product-quota-time-unit", "day"),
            ("x-keap-product-quota-interval", "1"),
            ("x-keap-product-quota-available", str(max(0, quota - decision.total))),
            ("x-keap-product-quota-used", str(decision.total)),
            ("x-keap-product-quota-expiry-time", str(int(expiry.timestamp() * 1000))),
            ("x-keap-product-throttle-limit", str(throttle)),
            ("x-keap-product-throttle-time-unit", unit),
            ("x-keap-product-throttle-interval", "1"),
            ("x-keap-product-throttle-available", str(max(0, throttle - used))),
            ("x-keap-product-throttle-used", str(used)),
            ("x-keap-tenant-id", TENANT),
            ("x-keap-tenant-throttle-limit", str(TENANT_THROTTLE_MINUTE)),
            ("x-keap-tenant-throttle-time-unit", "minute"),
            ("x-keap-tenant-throttle-interval", "1"),
            ("x-keap-tenant-throttle-available",
             str(max(0, TENANT_THROTTLE_MINUTE - decision.used_minute))),
            ("x-keap-tenant-throttle-used", str(decision.used_minute)),
        ]

    def rate_limited(self, req, decision):
        # Retry-After is added by the caller (rate_limit_retry_after).
        return _fault(429, "Rate limit quota violation. Quota limit exceeded.",
                      "policies.ratelimit.QuotaViolation")


# -- helpers ------------------------------------------------------------------------

def _fault(status, faultstring, errorcode):
    """Apigee's error shape, which Keap's gateway uses for 401 and 429."""
    return Response.json(status, {"fault": {"faultstring": faultstring,
                                            "detail": {"errorcode": errorcode}}})


def _bad_request(message):
    return Response.json(400, {"message": message})


def _v2_error(status, message, code_name):
    return Response.json(status, {"code": status, "message": message, "status": code_name})


def _encode_page_token(offset):
    return base64.urlsafe_b64encode(("offset:%d" % offset).encode()).decode().rstrip("=")


def _decode_page_token(token):
    """The offset a page_token stands for; 0 for none, None when invalid."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = raw.partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return offset if prefix == "offset" and offset >= 0 else None


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _seed_contact(i):
    created = _iso(SEED_EPOCH + datetime.timedelta(hours=3 * i))
    given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN)) % len(FAMILY)]
    email = "%s.%s.%d@sandbox.example" % (given.lower(), family.lower(), i + 1)
    phones = [{"number": "555-01%02d" % (i % 100), "field": "PHONE1"}] if i % 3 == 0 else []
    return {
        "id": 1 + i,
        "given_name": given,
        "family_name": family,
        "email_addresses": [{"email": email, "field": "EMAIL1"}],
        "phone_numbers": phones,
        "created": created,
        "updated": created,
    }


def _v1_view(contact):
    """REST v1 shape: integer id, date_created / last_updated."""
    return {
        "id": contact["id"],
        "given_name": contact["given_name"],
        "family_name": contact["family_name"],
        "email_addresses": contact["email_addresses"],
        "phone_numbers": contact["phone_numbers"],
        "date_created": contact["created"],
        "last_updated": contact["updated"],
    }


def _v2_view(contact):
    """REST v2 shape: string id, create_time / update_time."""
    return {
        "id": str(contact["id"]),
        "given_name": contact["given_name"],
        "family_name": contact["family_name"],
        "email_addresses": contact["email_addresses"],
        "phone_numbers": contact["phone_numbers"],
        "create_time": contact["created"],
        "update_time": contact["updated"],
    }
