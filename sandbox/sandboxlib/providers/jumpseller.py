"""Jumpseller stand-in: accounts.jumpseller.com (OAuth, Doorkeeper) and
api.jumpseller.com/v1 served from one origin.

Sources: Jumpseller API docs (api.jumpseller.com/v1 openapi.json),
jumpseller.com/support/oauth-2, as summarised in /work/shared/PROVIDERS.md.
"""

import datetime

from ..httpcore import Response
from ..oauth import OAuthError, authenticate_client, json_object_body, parse_basic
from .base import Principal, Provider, int_param, page_slice

# Scopes Jumpseller documents: read_X / write_X for these resources ...
RESOURCES = (
    "products", "orders", "customers", "categories", "store", "settings",
    "shipping_methods", "payment_methods", "hooks", "promotions", "taxes",
    "pages", "countries", "custom_fields", "checkout_custom_fields",
    "customer_categories", "jsapps", "fulfillments", "locations",
)
# ... plus a few one-sided ones.
KNOWN_SCOPES = frozenset(
    ["read_" + r for r in RESOURCES] + ["write_" + r for r in RESOURCES]
    + ["read_apps", "read_transaction_ledgers", "write_reviews", "write_store_setup"])

ORDER_STATUSES = ("Paid", "Pending Payment", "Canceled", "Shipped")
PER_MINUTE_LIMIT = 800   # documented current limit
PER_SECOND_DEFAULT = 20  # documented current limit, reported when not configured
PAGE_LIMIT_MAX = 100
PRODUCT_SEED = 120
SEED_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

FIRST_NAMES = ("Ana", "Benjamín", "Carla", "Diego", "Elena", "Felipe", "Gabriela", "Héctor")
LAST_NAMES = ("Rojas", "Muñoz", "Soto", "Contreras", "Silva", "Pérez", "Díaz", "Vargas")


def _stamp(offset_seconds):
    """Jumpseller's timestamp format, e.g. "2024-01-01 10:00:00 UTC"."""
    t = SEED_EPOCH + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


class Jumpseller(Provider):
    name = "jumpseller"
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    api_prefixes = ("/v1/",)
    revocation_path = "/oauth/revoke"  # Doorkeeper's RFC 7009 endpoint
    # Doorkeeper answers a revocation without a token with 200 {}, and keeps
    # an access token and its refresh token in one record.
    revocation_blank_token_ok = True
    revokes_token_pairs = True
    default_access_ttl = 3600  # documented: access tokens live 1 hour
    # Jumpseller counts in whole seconds and minutes of its clock (a window
    # starts over at the next whole second or minute; it does not slide).
    default_rate_windows = "calendar"

    def __init__(self, clients, options):
        super().__init__(clients, options)
        self.products = {p["id"]: p for p in (_seed_product(i) for i in range(PRODUCT_SEED))}
        self.next_product_id = max(self.products) + 1
        self.orders = [_seed_order(i, self.products) for i in range(options.orders)]
        self.orders_by_id = {o["id"]: o for o in self.orders}

    # -- OAuth hooks ------------------------------------------------------------

    def authorize_scope(self, query):
        scope = query.get("scope", "").strip()
        if not scope:
            raise OAuthError(400, "invalid_scope", "A scope is required.")
        unknown = [s for s in scope.split() if s not in KNOWN_SCOPES]
        if unknown:
            raise OAuthError(400, "invalid_scope",
                             "Unknown scope: %s." % " ".join(unknown))
        return " ".join(scope.split()), {}

    def token_params(self, req):
        # Doorkeeper runs in Rails, which reads JSON bodies as well as forms.
        if req.content_type == "application/json":
            data = json_object_body(req)
            return {k: str(v) for k, v in data.items() if v is not None}
        return req.form()

    def client_credentials(self, req, params):
        # Jumpseller apps only get the authorization-code flow.
        raise OAuthError(400, "unauthorized_client",
                         "The client is not authorized to perform this request "
                         "using this method.")

    def authenticate_for_revocation(self, req, params):
        # Doorkeeper refuses a revocation without a valid client with the
        # same 403 as a token of another client, not with invalid_client.
        try:
            return authenticate_client(self.clients, req, params)
        except OAuthError:
            raise _revoke_refused()

    def revocation_foreign_token(self, exc):
        return _revoke_refused()

    def revocation_ok(self, status=200):
        return Response.json(status, {})  # Doorkeeper: render json: {}

    def token_body(self, issued):
        body = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "scope": issued.grant.scope,
            "created_at": int(self.app.state.wall_time()),  # the server's clock
        }
        if issued.expires_in is None:
            del body["expires_in"]
        return body

    # -- API --------------------------------------------------------------------

    def authenticate_api(self, req):
        login, token = self.options.basic_login, self.options.basic_token
        basic = None
        try:
            basic = parse_basic(req.header("authorization"))
        except OAuthError:
            return _unauthorized("Malformed Basic credentials.")
        if basic is None and "login" in req.query and "authtoken" in req.query:
            # Deprecated but still documented: ?login=...&authtoken=...
            basic = (req.query["login"], req.query["authtoken"])
        if basic is not None:
            if login and basic == (login, token):
                return Principal("basic", None)
            return _unauthorized("Invalid login or authtoken.")
        status, grant = self.bearer_status(req)
        if status == "ok":
            return Principal("oauth", set(grant.scope.split()))
        if status == "missing":
            return _unauthorized("Missing access token.", error=None)
        return _unauthorized({
            "unknown": "The access token is invalid.",
            "expired": "The access token expired.",
            "revoked": "The access token was revoked.",
        }[status])

    def route_api(self, req, principal):
        parts = req.path[len("/v1/"):].split("/")
        resource = parts[0][:-len(".json")] if parts[0].endswith(".json") else parts[0]
        if principal.scopes is not None:
            needed = ("read_" if req.method == "GET" else "write_") + resource
            if needed not in principal.scopes:
                return Response.json(403, {
                    "message": "Forbidden: this access token lacks the %s scope." % needed})
        rest = "/".join(parts[1:])
        with self.app.state.lock:
            if resource == "store" and rest == "info.json" and req.method == "GET":
                return Response.json(200, {"store": _store_info()})
            if resource == "orders":
                return self._orders(req, rest)
            if resource == "products":
                return self._products(req, rest)
        return None

    def _orders(self, req, rest):
        if req.method != "GET":
            return None
        wanted = req.query.get("status")
        orders = self.orders
        if wanted:
            key = wanted.replace("_", " ").lower()
            orders = [o for o in orders if o["status"].lower() == key]
        if rest == "":
            return _paged(req, orders, "order")
        if rest == "count.json":
            return Response.json(200, {"count": len(orders)})
        oid = _id_from(rest)
        if oid is not None:
            order = self.orders_by_id.get(oid)
            if order is None:
                return Response.json(404, {"message": "Order not found"})
            return Response.json(200, {"order": order})
        return None

    def _products(self, req, rest):
        if rest == "":
            if req.method == "GET":
                return _paged(req, sorted(self.products.values(), key=lambda p: p["id"]),
                              "product")
            if req.method == "POST":
                return self._create_product(req)
            return None
        if rest == "count.json" and req.method == "GET":
            return Response.json(200, {"count": len(self.products)})
        pid = _id_from(rest)
        if pid is None:
            return None
        product = self.products.get(pid)
        if product is None:
            return Response.json(404, {"message": "Product not found"})
        if req.method == "GET":
            return Response.json(200, {"product": product})
        if req.method == "PUT":
            fields, error = _product_fields(req, partial=True)
            if error:
                return error
            product.update(fields)
            product["updated_at"] = _now_stamp()
            return Response.json(200, {"product": product})
        if req.method == "DELETE":
            del self.products[pid]
            return Response.json(200, {"message": "Product deleted"})
        return None

    def _create_product(self, req):
        fields, error = _product_fields(req, partial=False)
        if error:
            return error
        pid = self.next_product_id
        self.next_product_id += 1
        now = _now_stamp()
        product = {"id": pid, "name": "", "description": "", "type": "physical",
                   "price": 0.0, "discount": 0.0, "weight": 0.0, "stock": 0,
                   "stock_unlimited": False, "sku": "", "status": "available",
                   "created_at": now, "updated_at": now}
        product.update(fields)
        product["permalink"] = _slug(product["name"])
        self.products[pid] = product
        return Response.json(200, {"product": product})

    # -- rate limits --------------------------------------------------------------

    def rate_headers(self, decision, principal):
        # The configured limits, or the documented ones; no reset header.
        per_minute = decision.limit_minute or PER_MINUTE_LIMIT
        per_second = decision.limit_second or PER_SECOND_DEFAULT
        return [
            ("Jumpseller-PerMinuteRateLimit-Limit", str(per_minute)),
            ("Jumpseller-PerMinuteRateLimit-Remaining",
             str(max(0, per_minute - decision.used_minute))),
            ("Jumpseller-PerSecondRateLimit-Limit", str(per_second)),
            ("Jumpseller-PerSecondRateLimit-Remaining",
             str(max(0, per_second - decision.used_second))),
        ]

    def rate_limited(self, req, decision):
        status = self.app.state.cfg("rate_limit_status")
        if decision.over_minute:
            limit, unit = decision.limit_minute, "minute"
        else:
            limit, unit = decision.limit_second, "second"
        return Response.json(status, {
            "message": "Too Many Requests: more than %d requests per %s." % (limit, unit)})


# -- helpers ------------------------------------------------------------------------

def _revoke_refused():
    return OAuthError(403, "unauthorized_client", "You are not authorized to revoke this token.")


def _unauthorized(message, error="invalid_token"):
    # Doorkeeper answers with an RFC 6750 challenge; the body is Jumpseller's.
    challenge = 'Bearer realm="Jumpseller"'
    if error:
        challenge += ', error="%s", error_description="%s"' % (error, message)
    return Response.json(401, {"message": message}, [("WWW-Authenticate", challenge)])


def _paged(req, items, envelope):
    try:
        page = int_param(req.query, "page", 1, minimum=1)
    except ValueError:
        return Response.json(400, {"errors": ["page must be a positive integer"]})
    try:
        limit = int_param(req.query, "limit", 50, minimum=1, maximum=PAGE_LIMIT_MAX)
    except ValueError:
        return Response.json(400, {"errors": ["limit must be between 1 and %d" % PAGE_LIMIT_MAX]})
    return Response.json(200, [{envelope: item} for item in page_slice(items, page, limit)])


def _id_from(segment):
    """The integer id of "123.json", or None."""
    if not segment.endswith(".json") or "/" in segment:
        return None
    try:
        return int(segment[:-len(".json")])
    except ValueError:
        return None


def _product_fields(req, partial):
    """(fields, None) or (None, error Response) from a {"product": {...}} body."""
    try:
        data = req.json()
    except ValueError:
        return None, Response.json(400, {"errors": ["The request body is not valid JSON."]})
    product = data.get("product") if isinstance(data, dict) else None
    if not isinstance(product, dict):
        product = {}
    errors = {}
    fields = {}
    for key in ("name", "description", "sku", "status"):
        if key in product:
            fields[key] = str(product[key]) if product[key] is not None else ""
    if not partial or "name" in fields:
        if not fields.get("name", "").strip():
            errors["name"] = ["can't be blank"]
    for key in ("price", "stock", "weight"):
        if key in product:
            try:
                fields[key] = float(product[key]) if key != "stock" else int(product[key])
            except (TypeError, ValueError):
                errors[key] = ["is not a number"]
    if errors:
        return None, Response.json(422, {"errors": errors})
    return fields, None


def _slug(name):
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _now_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _store_info():
    return {
        "name": "Sandbox Store",
        "code": "sandboxstore",
        "url": "https://sandboxstore.jumpseller.com",
        "email": "owner@sandboxstore.example",
        "currency": "CLP",
        "country": "CL",
        "timezone": "America/Santiago",
        "weight_unit": "kg",
        "language": "es",
        "hooks_token": "sandbox-hooks-token",
    }


def _seed_product(i):
    return {
        "id": 2001 + i,
        "name": "Sandbox Product %d" % (i + 1),
        "page_title": "Sandbox Product %d" % (i + 1),
        "description": "Deterministic sandbox product number %d." % (i + 1),
        "type": "physical",
        "price": float(990 + (i * 370) % 49010),
        "discount": 0.0,
        "weight": 1.0,
        "stock": (i * 7) % 50,
        "stock_unlimited": False,
        "sku": "SBX-%04d" % (i + 1),
        "status": "available",
        "permalink": "sandbox-product-%d" % (i + 1),
        "created_at": _stamp(i * 600),
        "updated_at": _stamp(i * 600),
    }


def _seed_order(i, products):
    product = products[2001 + (i % PRODUCT_SEED)]
    qty = 1 + i % 3
    subtotal = product["price"] * qty
    shipping = 2990.0
    cid = i % 40
    return {
        "id": 1001 + i,
        "status": ORDER_STATUSES[i % len(ORDER_STATUSES)],
        "created_at": _stamp(i * 3600),
        "completed_at": _stamp(i * 3600 + 300),
        "currency": "CLP",
        "subtotal": subtotal,
        "tax": 0.0,
        "shipping": shipping,
        "discount": 0.0,
        "total": subtotal + shipping,
        "payment_method_name": "Sandbox Pay",
        "shipping_method_name": "Sandbox Courier",
        "customer": {
            "id": 5001 + cid,
            "email": "customer%d@sandboxstore.example" % (cid + 1),
            "fullname": "%s %s" % (FIRST_NAMES[cid % 8], LAST_NAMES[(cid // 8) % 8]),
            "phone": "+5691234%04d" % cid,
        },
        "products": [{
            "id": product["id"],
            "name": product["name"],
            "sku": product["sku"],
            "qty": qty,
            "price": product["price"],
        }],
    }
