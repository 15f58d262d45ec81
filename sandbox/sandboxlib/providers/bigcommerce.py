"""BigCommerce stand-in: login.bigcommerce.com (app install + token) and
api.bigcommerce.com/stores/{hash}/v2|v3 served from one origin.

Sources: the bigcommerce/docs repository (app authentication, REST API
overview, rate limits, catalog and orders references) and
developer.bigcommerce.com/api-docs/getting-started/api-status-codes, as
summarised in /work/shared/PROVIDERS.md.
"""

import datetime
import email.utils
import math

from ..httpcore import Response
from ..oauth import OAuthError, authenticate_client, json_object_body
from .base import Principal, Provider, int_param, page_slice

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
LIMIT_MAX = 250          # documented maximum page size
PRODUCT_SEED = 320       # "a few hundred", not a multiple of 50: the last page is short
ACCOUNT_UUID = "5b0c6a8e-7f52-4a4f-9d3a-1f0c2b7a9e11"
USER = {"id": 9876543, "username": "merchant@sandbox.example", "email": "merchant@sandbox.example"}
DEFAULT_SCOPE = "store_v2_products store_v2_orders_read_only"
# When no limit is configured we still send the headers, with a quota large
# enough that a client pacing itself on Requests-Left never waits in tests.
UNLIMITED_WINDOW_MS = 60000
UNLIMITED_QUOTA = 20000

ORDER_STATUSES = ((11, "Awaiting Fulfillment"), (2, "Shipped"), (10, "Completed"),
                  (7, "Awaiting Payment"), (5, "Cancelled"))
SEED_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


class BigCommerce(Provider):
    name = "bigcommerce"
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"
    issues_refresh_tokens = False
    default_access_ttl = None  # documented: tokens do not expire
    # The real install flow has no authorize request of the client's making,
    # so a client may leave response_type out of this stand-in's URL.
    default_response_type = "code"
    # The documented callback is /auth?code&scope&context&account_uuid: no state.
    echoes_state = False
    # Documented: a 429 says how long to wait in X-Rate-Limit-Time-Reset-Ms.
    sends_retry_after = False

    def __init__(self, clients, options):
        super().__init__(clients, options)
        self.store_hash = options.store_hash
        self.context = "stores/" + self.store_hash
        # A wrong store hash is not an API path at all: it falls through to
        # not_found (404), as the real API answers for an unknown store.
        self.api_prefixes = ("/stores/%s/" % self.store_hash,)
        self.api_keys = set(options.api_key or [])
        self.products = {p["id"]: p for p in (_seed_product(i) for i in range(PRODUCT_SEED))}
        self.next_product_id = max(self.products) + 1
        self.orders = [_seed_order(i) for i in range(options.orders)]
        self.orders_by_id = {o["id"]: o for o in self.orders}

    # -- OAuth hooks ------------------------------------------------------------

    def authorize_scope(self, query):
        scope = " ".join(query.get("scope", "").split()) or DEFAULT_SCOPE
        return scope, {}

    def authorize_callback_params(self, scope, extra):
        # What BigCommerce appends to the app's auth callback URL.
        return {"scope": scope, "context": self.context, "account_uuid": ACCOUNT_UUID}

    def token_params(self, req):
        # The documented token request is a JSON body.
        if req.content_type != "application/json":
            raise OAuthError(400, "invalid_request",
                             "The token request body must be application/json.")
        data = json_object_body(req)
        return {k: str(v) for k, v in data.items() if v is not None}

    def authenticate_for_code(self, req, params):
        return authenticate_client(self.clients, req, params, allow_basic=False)

    def check_code_params(self, params):
        for key in ("context", "scope"):
            if not params.get(key):
                raise OAuthError(400, "invalid_request", "%s is missing." % key)
        if params["context"] != self.context:
            raise OAuthError(400, "invalid_grant",
                             "context does not match the store that installed the app.")

    def token_body(self, issued):
        return {
            "access_token": issued.access_token,
            "scope": issued.grant.scope,
            "user": dict(USER),
            "owner": dict(USER),
            "context": self.context,
            "account_uuid": ACCOUNT_UUID,
        }

    # -- API --------------------------------------------------------------------

    def _version(self, req):
        rest = req.path[len(self.api_prefixes[0]):]
        version, _, tail = rest.partition("/")
        return version, tail.rstrip("/")

    def authenticate_api(self, req):
        token = (req.header("x-auth-token") or "").strip()
        if token and token in self.api_keys:
            return Principal("apikey")
        if token:
            status, _ = self.app.tokens.check_access(token)
            if status == "ok":
                return Principal("oauth")
        # Authorization: Bearer is not BigCommerce's header: it gets a 401 too.
        version, _ = self._version(req)
        message = "No valid X-Auth-Token was found in this request."
        if version == "v2":
            return Response.json(401, [{"status": 401, "message": message}])
        return _v3_error(401, message)

    def route_api(self, req, principal):
        version, tail = self._version(req)
        with self.app.state.lock:
            if version == "v3":
                return self._v3(req, tail)
            if version == "v2":
                return self._v2(req, tail)
        return None

    def not_found(self, req):
        if req.path.startswith(self.api_prefixes[0] + "v2/"):
            return Response.json(404, [{"status": 404,
                                        "message": "The requested resource was not found."}])
        return _v3_error(404, "The requested resource was not found.")

    # -- v3 catalog ---------------------------------------------------------------

    def _v3(self, req, tail):
        if tail == "catalog/products":
            if req.method == "GET":
                return self._v3_list(req)
            if req.method == "POST":
                return self._v3_create(req)
            return None
        if tail.startswith("catalog/products/"):
            try:
                pid = int(tail[len("catalog/products/"):])
            except ValueError:
                return None
            product = self.products.get(pid)
            if product is None:
                return _v3_error(404, "The requested product was not found.")
            if req.method == "GET":
                return Response.json(200, {"data": product, "meta": {}})
            if req.method == "PUT":
                fields, error = self._product_fields(req, partial=True, exclude=pid)
                if error:
                    return error
                product.update(fields)
                product["date_modified"] = _iso(datetime.datetime.now(datetime.timezone.utc))
                return Response.json(200, {"data": product, "meta": {}})
            if req.method == "DELETE":
                del self.products[pid]
                return Response.empty(204)
        return None

    def _v3_list(self, req):
        try:
            page = int_param(req.query, "page", 1, minimum=1)
            limit = int_param(req.query, "limit", 50, minimum=1)
        except ValueError as exc:
            return _v3_error(422, str(exc))
        if limit > LIMIT_MAX:
            # Documented: 413 "when the client requests too many objects,
            # for example the limit parameter exceeded the maximum".
            return _v3_error(413, "The limit parameter exceeds the maximum of %d." % LIMIT_MAX)
        items = sorted(self.products.values(), key=lambda p: p["id"])
        total = len(items)
        total_pages = max(1, math.ceil(total / limit))
        data = page_slice(items, page, limit)
        links = {"current": "?page=%d&limit=%d" % (page, limit)}
        if page > 1:
            links["previous"] = "?page=%d&limit=%d" % (page - 1, limit)
        if page < total_pages:
            links["next"] = "?page=%d&limit=%d" % (page + 1, limit)
        return Response.json(200, {"data": data, "meta": {"pagination": {
            "total": total, "count": len(data), "per_page": limit,
            "current_page": page, "total_pages": total_pages, "links": links}}})

    def _v3_create(self, req):
        fields, error = self._product_fields(req, partial=False)
        if error:
            return error
        pid = self.next_product_id
        self.next_product_id += 1
        now = _iso(datetime.datetime.now(datetime.timezone.utc))
        product = {"id": pid, "sku": "", "inventory_level": 0, "is_visible": True,
                   "categories": [], "date_created": now, "date_modified": now}
        product.update(fields)
        self.products[pid] = product
        return Response.json(200, {"data": product, "meta": {}})

    def _product_fields(self, req, partial, exclude=None):
        try:
            data = req.json()
        except ValueError:
            return None, _v3_error(400, "The request body is not valid JSON.")
        if not isinstance(data, dict):
            return None, _v3_error(422, "JSON data is missing or invalid",
                                   {"product": "error.type.object"})
        errors = {}
        if not partial:
            for key in ("name", "type", "weight", "price"):  # documented required fields
                if key not in data:
                    errors[key] = "error.path.missing"
        if "type" in data and data["type"] not in ("physical", "digital"):
            errors["type"] = "error.enum.invalid"
        for key in ("weight", "price"):
            if key in data and (isinstance(data[key], bool)
                                or not isinstance(data[key], (int, float))):
                errors[key] = "error.type.number"
        if errors:
            return None, _v3_error(422, "JSON data is missing or invalid", errors)
        if "name" in data and any(p["name"] == data["name"] and p["id"] != exclude
                                  for p in self.products.values()):
            return None, _v3_error(409, "The product name is a duplicate",
                                   {"name": "The product name is a duplicate"})
        allowed = ("name", "type", "weight", "price", "sku", "inventory_level",
                   "is_visible", "categories", "description")
        return {k: data[k] for k in allowed if k in data}, None

    # -- v2 -----------------------------------------------------------------------

    def _v2(self, req, tail):
        if req.method != "GET":
            return None
        if tail == "store":
            return Response.json(200, self._store_info(req))
        if tail == "orders":
            try:
                page = int_param(req.query, "page", 1, minimum=1)
                limit = int_param(req.query, "limit", 50, minimum=1)
            except ValueError as exc:
                return Response.json(400, [{"status": 400, "message": str(exc)}])
            if limit > LIMIT_MAX:
                return Response.json(413, [{"status": 413, "message":
                                            "The limit parameter exceeds the maximum of 250."}])
            orders = self.orders
            if req.query.get("status_id"):
                orders = [o for o in orders if str(o["status_id"]) == req.query["status_id"]]
            data = page_slice(orders, page, limit)
            if not data:
                return Response.empty(204)  # v2 answers an empty collection with 204
            return Response.json(200, data)
        if tail == "orders/count":
            return Response.json(200, {"count": len(self.orders)})
        if tail.startswith("orders/"):
            try:
                order = self.orders_by_id.get(int(tail[len("orders/"):]))
            except ValueError:
                return None
            if order is None:
                return self.not_found(req)
            return Response.json(200, order)
        return None

    def _store_info(self, req):
        return {
            "id": self.store_hash,
            "domain": "sandbox-store.mybigcommerce.com",
            "secure_URL": "https://sandbox-store.mybigcommerce.com",
            "name": "Sandbox Store",
            "first_name": "Sandra",
            "last_name": "Box",
            "address": "1 Loopback Way, Austin, TX 78701",
            "country": "United States",
            "country_code": "US",
            "phone": "+1 512 555 0100",
            "admin_email": USER["email"],
            "order_email": USER["email"],
            "timezone": {"name": "America/Chicago"},
            "language": "en",
            "currency": "USD",
            "currency_symbol": "$",
            "weight_units": "LBS",
            "dimension_units": "Inches",
            "plan_name": "Sandbox",
            "account_uuid": ACCOUNT_UUID,
        }

    # -- rate limits --------------------------------------------------------------

    def rate_headers(self, decision, principal):
        # One window is reported: the configured one closest to exhaustion.
        policy = decision.tightest()
        if policy is not None:
            quota, used, reset, window = policy[:4]
        else:
            window, quota = UNLIMITED_WINDOW_MS, UNLIMITED_QUOTA
            used, reset = decision.used_minute, decision.minute_reset_ms
        left = 0 if not decision.allowed else max(0, quota - used)
        return [
            ("X-Rate-Limit-Time-Window-Ms", str(window)),
            ("X-Rate-Limit-Time-Reset-Ms", str(reset)),
            ("X-Rate-Limit-Requests-Quota", str(quota)),
            ("X-Rate-Limit-Requests-Left", str(left)),
        ]

    def rate_limited(self, req, decision):
        # Documented: wait X-Rate-Limit-Time-Reset-Ms (no Retry-After unless
        # rate_limit_retry_after is set).
        return _v3_error(429, "Too many requests: the request quota is used up.")


def _v3_error(status, title, errors=None):
    return Response.json(status, {"status": status, "title": title,
                                  "type": ERROR_TYPE, "errors": errors or {}})


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _seed_product(i):
    created = SEED_EPOCH + datetime.timedelta(hours=i)
    return {
        "id": 101 + i,
        "name": "Sandbox Product %d" % (i + 1),
        "type": "physical" if i % 5 else "digital",
        "sku": "SBX-%04d" % (i + 1),
        "price": round(9.99 + (i * 3.5) % 240, 2),
        "weight": float(1 + i % 10),
        "inventory_level": (i * 11) % 100,
        "is_visible": i % 7 != 0,
        "categories": [23 + i % 4],
        "date_created": _iso(created),
        "date_modified": _iso(created),
    }


def _seed_order(i):
    created = SEED_EPOCH + datetime.timedelta(hours=2 * i)
    status_id, status = ORDER_STATUSES[i % len(ORDER_STATUSES)]
    subtotal = 20 + (i * 7.25) % 480
    return {
        "id": 100 + i,
        "customer_id": 1 + i % 50,
        # v2 dates are RFC 2822, e.g. "Mon, 01 Jan 2024 00:00:00 +0000".
        "date_created": email.utils.format_datetime(created),
        "date_modified": email.utils.format_datetime(created),
        "status_id": status_id,
        "status": status,
        "subtotal_ex_tax": "%.4f" % subtotal,
        "subtotal_inc_tax": "%.4f" % subtotal,
        "shipping_cost_inc_tax": "5.0000",
        "total_ex_tax": "%.4f" % (subtotal + 5),
        "total_inc_tax": "%.4f" % (subtotal + 5),
        "items_total": 1 + i % 3,
        "payment_method": "Cash on Delivery",
        "currency_code": "USD",
        "billing_address": {
            "first_name": "Customer",
            "last_name": str(1 + i % 50),
            "email": "customer%d@sandbox.example" % (1 + i % 50),
            "country_iso2": "US",
        },
    }
