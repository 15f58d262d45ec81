"""Tests of sandbox/server.py, the local stand-in for the providers.

Run: python3 -m unittest discover -s tests/sandbox -v
Standard library only; each test class starts its own server subprocess.
"""

import base64
import hashlib
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "sandbox", "server.py")
CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sbx-s3cr3t-Zq7RkA9dW"
REDIRECT = "http://127.0.0.1:8765/callback"


class Sandbox:
    """A server subprocess and a tiny HTTP client for it."""

    def __init__(self, provider, *extra):
        self.argv = [sys.executable, SERVER, "--provider", provider, *extra]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = _readline_with_timeout(self.proc, 10)
        if not line:
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError("server did not start: %s" % err)
        self.ready_line = line.decode().rstrip("\n")
        self.info = json.loads(self.ready_line)
        parts = urllib.parse.urlsplit(self.info["url"])
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.ssl_context = None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode

    def connect(self, timeout=5):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=5, conn=None):
        """(status, headers dict lower-case, body bytes) on a fresh connection
        unless conn is given."""
        own = conn is None
        conn = conn or self.connect(timeout)
        hdrs = dict(headers or {})
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            if own:
                conn.close()

    def json(self, method, path, obj=None, headers=None):
        hdrs = dict(headers or {})
        body = None
        if obj is not None:
            body = json.dumps(obj)
            hdrs["Content-Type"] = "application/json"
        status, h, data = self.request(method, path, body, hdrs)
        return status, h, (json.loads(data) if data else None)

    def control(self, method, name, obj=None):
        return self.json(method, "/_sandbox/" + name, obj)[2]


def _readline_with_timeout(proc, seconds):
    out = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return out[0] if out else b""


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def align_clock(sbx, period=1.0, phase=0.02):
    """Shift the server's clock so that it is now `phase` seconds into a
    whole `period` (1 s or 60 s) of its own: every calendar window starts
    fresh, whatever the local clock says. Returns the offset in ms."""
    t = time.time()
    offset = (math.floor(t / period) + 1) * period + phase - t
    offset_ms = int(round(offset * 1000))
    sbx.control("POST", "config", {"rate_limit_clock_offset_ms": offset_ms})
    return offset_ms


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class ProviderTestCase(unittest.TestCase):
    provider = None
    extra_args = ()
    authorize_path = None
    token_path = None
    scope = None

    @classmethod
    def setUpClass(cls):
        cls.sbx = Sandbox(cls.provider, *cls.extra_args)

    @classmethod
    def tearDownClass(cls):
        cls.sbx.stop()
        # Quiet unless --verbose: anything on stderr is a sandbox bug.
        if cls.sbx.stderr:
            raise AssertionError("server stderr:\n" + cls.sbx.stderr)

    def setUp(self):
        self.sbx.control("POST", "reset")
        self.sbx.control("POST", "config", {"defaults": True})

    # -- helpers ------------------------------------------------------------------

    def authorize(self, **params):
        query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT,
                 "response_type": "code"}
        if self.scope:
            query["scope"] = self.scope
        query.update(params)
        query = {k: v for k, v in query.items() if v is not None}
        status, headers, body = self.sbx.request(
            "GET", self.authorize_path + "?" + urllib.parse.urlencode(query))
        location = headers.get("location")
        params = None
        if location:
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        return status, location, params, body

    def get_code(self, **params):
        status, _, q, _ = self.authorize(**params)
        self.assertEqual(status, 302)
        return q["code"]

    def token_request(self, params, headers=None):
        status, h, data = self.sbx.request("POST", self.token_path, dict(params), headers)
        return status, h, json.loads(data)

    def exchange(self, code, **extra):
        params = {"grant_type": "authorization_code", "code": code,
                  "redirect_uri": REDIRECT, "client_id": CLIENT_ID,
                  "client_secret": CLIENT_SECRET}
        params.update(extra)
        params = {k: v for k, v in params.items() if v is not None}
        return self.token_request(params)

    def new_tokens(self):
        status, _, body = self.exchange(self.get_code())
        self.assertEqual(status, 200, body)
        return body


# ---------------------------------------------------------------------------------
# Jumpseller, plus the behaviour every provider shares (control endpoints, faults,
# process lifecycle), tested once here.
# ---------------------------------------------------------------------------------

class JumpsellerTest(ProviderTestCase):
    provider = "jumpseller"
    extra_args = ("--basic-login", "storelogin", "--basic-token", "storetoken",
                  "--redirect-uri", "https://app.example/cb")
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    scope = "read_orders read_store write_products"

    def api(self, method, path, token, obj=None):
        return self.sbx.json(method, path, obj, {"Authorization": "Bearer " + token})

    # -- authorize --------------------------------------------------------------------

    def test_ready_line_format(self):
        self.assertEqual(list(self.sbx.info), ["url", "provider", "pid"])
        self.assertEqual(self.sbx.info["provider"], "jumpseller")
        self.assertEqual(self.sbx.info["pid"], self.sbx.proc.pid)
        self.assertRegex(self.sbx.info["url"], r"^http://127\.0\.0\.1:\d+$")

    def test_authorize_redirects_with_code_and_exact_state(self):
        state = "a b&c=d/é"
        status, location, q, _ = self.authorize(state=state)
        self.assertEqual(status, 302)
        self.assertTrue(location.startswith(REDIRECT + "?"))
        self.assertEqual(q["state"], state)
        self.assertTrue(q["code"])
        status, _, q, _ = self.authorize()
        self.assertNotIn("state", q)
        self.assertEqual(self.sbx.control("GET", "stats")["authorize"], 2)

    def test_authorize_accepts_loopback_ports_and_registered_uris(self):
        for uri in ("http://localhost:1/x", "http://[::1]:65000/cb", "https://app.example/cb"):
            status, location, _, _ = self.authorize(redirect_uri=uri)
            self.assertEqual(status, 302, uri)
            self.assertTrue(location.startswith(uri + "?"), location)

    def test_authorize_refuses_unknown_client_and_redirect_without_redirecting(self):
        for params in ({"client_id": "nope"},
                       {"redirect_uri": "http://evil.example/cb"},
                       {"redirect_uri": "https://127.0.0.1:5000/cb"},
                       {"redirect_uri": None}):
            status, location, _, body = self.authorize(**params)
            self.assertEqual(status, 400, params)
            self.assertIsNone(location)
            self.assertIn(b'id="error"', body)

    def test_authorize_errors_redirect_with_state(self):
        _, _, q, _ = self.authorize(response_type="token", state="s1")
        self.assertEqual(q, {"error": "unsupported_response_type", "state": "s1",
                             "error_description": q["error_description"]})
        _, _, q, _ = self.authorize(scope="read_nothing", state="s2")
        self.assertEqual(q["error"], "invalid_scope")
        self.sbx.control("POST", "config", {"deny": True})
        _, _, q, _ = self.authorize(state="s3")
        self.assertEqual((q["error"], q["state"]), ("access_denied", "s3"))
        self.assertIn("error_description", q)
        self.assertNotIn("code", q)

    def test_authorize_oob_shows_code(self):
        status, location, _, body = self.authorize(redirect_uri="urn:ietf:wg:oauth:2.0:oob")
        self.assertEqual(status, 200)
        self.assertIsNone(location)
        code = body.decode().split('<code id="code">')[1].split("</code>")[0]
        status, _, tok = self.exchange(code, redirect_uri="urn:ietf:wg:oauth:2.0:oob")
        self.assertEqual(status, 200, tok)

    # -- token endpoint -------------------------------------------------------------

    def test_code_exchange_response(self):
        status, headers, body = self.exchange(self.get_code())
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 3600)
        self.assertEqual(body["scope"], self.scope)
        self.assertAlmostEqual(body["created_at"], time.time(), delta=5)
        self.assertTrue(body["access_token"] and body["refresh_token"])
        self.assertEqual(self.sbx.control("GET", "stats")["code_exchanges"], 1)

    def test_code_reuse_is_refused_and_revokes_its_tokens(self):
        code = self.get_code()
        first = self.exchange(code)[2]
        status, _, body = self.exchange(code)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        self.assertEqual(self.api("GET", "/v1/store/info.json", first["access_token"])[0], 401)
        status, _, body = self.token_request({
            "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        self.assertEqual(body["error"], "invalid_grant")

    def test_code_exchange_checks_redirect_uri_client_and_params(self):
        status, _, body = self.exchange(self.get_code(), redirect_uri="http://127.0.0.1:1/other")
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        status, headers, body = self.exchange(self.get_code(), client_secret="wrong")
        self.assertEqual((status, body["error"]), (401, "invalid_client"))
        status, _, body = self.exchange(None)
        self.assertEqual((status, body["error"]), (400, "invalid_request"))
        status, _, body = self.token_request({"grant_type": "password"})
        self.assertEqual((status, body["error"]), (400, "unsupported_grant_type"))
        status, headers, body = self.token_request(
            {"grant_type": "authorization_code", "code": self.get_code(),
             "redirect_uri": REDIRECT}, {"Authorization": basic(CLIENT_ID, "bad")})
        self.assertEqual(status, 401)
        self.assertTrue(headers["www-authenticate"].startswith("Basic"))
        self.assertEqual(self.sbx.control("GET", "stats")["invalid_grant"], 1)

    def test_client_credentials_refused(self):
        status, _, body = self.token_request({"grant_type": "client_credentials",
                                              "client_id": CLIENT_ID,
                                              "client_secret": CLIENT_SECRET})
        self.assertEqual((status, body["error"]), (400, "unauthorized_client"))
        self.assertEqual(self.sbx.control("GET", "stats")["client_credentials"], 1)

    def test_pkce_s256_and_plain(self):
        verifier, challenge = pkce_pair()
        code = self.get_code(code_challenge=challenge, code_challenge_method="S256")
        self.assertEqual(self.exchange(code, code_verifier=verifier)[0], 200)
        for bad in (None, pkce_pair()[0]):
            code = self.get_code(code_challenge=challenge, code_challenge_method="S256")
            status, _, body = self.exchange(code, code_verifier=bad)
            self.assertEqual((status, body["error"]), (400, "invalid_grant"), bad)
        plain = secrets.token_urlsafe(40)
        code = self.get_code(code_challenge=plain)  # method defaults to plain
        self.assertEqual(self.exchange(code, code_verifier=plain)[0], 200)
        _, _, q, _ = self.authorize(code_challenge=challenge, code_challenge_method="S512")
        self.assertEqual(q["error"], "invalid_request")

    def test_refresh_rotates_and_is_single_use(self):
        first = self.new_tokens()
        params = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                  "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        status, _, second = self.token_request(params)
        self.assertEqual(status, 200, second)
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        status, _, body = self.token_request(params)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        # The old access token stays valid until its own expiry.
        self.assertEqual(self.api("GET", "/v1/store/info.json", first["access_token"])[0], 200)
        # Doorkeeper also accepts the client credentials as HTTP Basic.
        status, _, third = self.token_request(
            {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
            {"Authorization": basic(CLIENT_ID, CLIENT_SECRET)})
        self.assertEqual(status, 200, third)
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["refreshes"], stats["refresh_failures"], stats["invalid_grant"]),
                         (2, 1, 1))
        self.assertEqual(len(stats["refresh_times"]), 2)
        self.assertEqual(stats["live_refresh_tokens"],
                         len(self.sbx.control("GET", "tokens")["refresh"]))
        self.assertIn(third["refresh_token"], self.sbx.control("GET", "tokens")["refresh"])

    def test_revoke_access_on_refresh(self):
        self.sbx.control("POST", "config", {"revoke_access_on_refresh": True})
        first = self.new_tokens()
        status, _, second = self.token_request({
            "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        self.assertEqual(status, 200)
        self.assertEqual(self.api("GET", "/v1/store/info.json", first["access_token"])[0], 401)
        self.assertEqual(self.api("GET", "/v1/store/info.json", second["access_token"])[0], 200)

    def test_concurrent_refresh_has_exactly_one_winner(self):
        tokens = self.new_tokens()
        results = []

        def attempt():
            results.append(self.token_request({
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})[0])

        threads = [threading.Thread(target=attempt) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [200] + [400] * 15)

    def test_expire_and_revoke(self):
        tokens = self.new_tokens()
        self.sbx.control("POST", "expire")
        status, headers, body = self.api("GET", "/v1/store/info.json", tokens["access_token"])
        self.assertEqual(status, 401)
        self.assertIn("expired", body["message"])
        self.assertIn('error="invalid_token"', headers["www-authenticate"])
        self.sbx.control("POST", "revoke")
        status, _, body = self.token_request({
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        self.assertEqual(body["error"], "invalid_grant")
        self.assertEqual(self.sbx.control("GET", "tokens"), {"access": [], "refresh": []})

    def test_access_ttl_config(self):
        self.sbx.control("POST", "config", {"access_ttl": 1})
        tokens = self.new_tokens()
        self.assertEqual(tokens["expires_in"], 1)
        self.assertEqual(self.api("GET", "/v1/store/info.json", tokens["access_token"])[0], 200)
        time.sleep(1.1)
        self.assertEqual(self.api("GET", "/v1/store/info.json", tokens["access_token"])[0], 401)

    # -- API ----------------------------------------------------------------------------

    def test_api_unauthorized(self):
        for headers in ({}, {"Authorization": "Bearer nope"},
                        {"Authorization": basic("storelogin", "wrong")}):
            status, h, body = self.sbx.json("GET", "/v1/store/info.json", headers=headers)
            self.assertEqual(status, 401, headers)
            self.assertIn("message", body)
            self.assertIn("jumpseller-perminuteratelimit-limit", h)
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["api"], stats["api_unauthorized"]), (3, 3))

    def test_store_info_and_basic_auth(self):
        status, headers, body = self.sbx.json(
            "GET", "/v1/store/info.json",
            headers={"Authorization": basic("storelogin", "storetoken")})
        self.assertEqual(status, 200)
        self.assertEqual(body["store"]["currency"], "CLP")
        self.assertEqual(body["store"]["code"], "sandboxstore")
        self.assertEqual(headers["jumpseller-perminuteratelimit-limit"], "800")
        for name in ("jumpseller-perminuteratelimit-remaining",
                     "jumpseller-persecondratelimit-limit",
                     "jumpseller-persecondratelimit-remaining"):
            self.assertIn(name, headers)
        # BASIC grants every scope.
        status, _, _ = self.sbx.json("GET", "/v1/products.json",
                                     headers={"Authorization": basic("storelogin", "storetoken")})
        self.assertEqual(status, 200)

    def test_scope_enforcement(self):
        tok = self.new_tokens()["access_token"]
        self.assertEqual(self.api("GET", "/v1/orders.json", tok)[0], 200)
        status, _, body = self.api("GET", "/v1/products.json", tok)
        self.assertEqual(status, 403)
        self.assertIn("read_products", body["message"])
        status, _, body = self.api("PUT", "/v1/orders/1001.json", tok, {"order": {}})
        self.assertEqual(status, 403)
        self.assertIn("write_orders", body["message"])
        status, _, body = self.api("POST", "/v1/products.json", tok,
                                   {"product": {"name": "Mug", "price": 10}})
        self.assertEqual(status, 200)

    def test_orders_pagination_and_filters(self):
        tok = self.new_tokens()["access_token"]
        status, _, page1 = self.api("GET", "/v1/orders.json?page=1&limit=50", tok)
        self.assertEqual(status, 200)
        self.assertEqual(len(page1), 50)
        self.assertEqual(list(page1[0]), ["order"])
        self.assertEqual(page1[0]["order"]["id"], 1001)
        _, _, default = self.api("GET", "/v1/orders.json", tok)
        self.assertEqual(default, page1)
        _, _, last = self.api("GET", "/v1/orders.json?page=6&limit=50", tok)
        self.assertEqual(last[-1]["order"]["id"], 1300)
        self.assertEqual(self.api("GET", "/v1/orders.json?page=7&limit=50", tok)[2], [])
        status, _, body = self.api("GET", "/v1/orders.json?limit=101", tok)
        self.assertEqual((status, body), (400, {"errors": ["limit must be between 1 and 100"]}))
        _, _, paid = self.api("GET", "/v1/orders.json?status=PAID&limit=100", tok)
        self.assertEqual(len(paid), 75)
        self.assertTrue(all(o["order"]["status"] == "Paid" for o in paid))
        self.assertEqual(self.api("GET", "/v1/orders/count.json", tok)[2], {"count": 300})
        self.assertEqual(self.api("GET", "/v1/orders/count.json?status=canceled", tok)[2],
                         {"count": 75})
        status, _, body = self.api("GET", "/v1/orders/1002.json", tok)
        self.assertEqual((status, body["order"]["status"]), (200, "Pending Payment"))
        status, _, body = self.api("GET", "/v1/orders/9.json", tok)
        self.assertEqual((status, body), (404, {"message": "Order not found"}))

    def test_products_crud_and_validation(self):
        auth = {"Authorization": basic("storelogin", "storetoken")}
        status, _, body = self.sbx.json("POST", "/v1/products.json",
                                        {"product": {"name": "Tea", "price": 1990}}, auth)
        self.assertEqual(status, 200)
        pid = body["product"]["id"]
        self.assertEqual(body["product"]["name"], "Tea")
        status, _, body = self.sbx.request("POST", "/v1/products.json", "not json",
                                           dict(auth, **{"Content-Type": "application/json"}))
        self.assertEqual(status, 400)
        self.assertIsInstance(json.loads(body)["errors"], list)
        status, _, body = self.sbx.json("POST", "/v1/products.json", {"product": {"price": 1}}, auth)
        self.assertEqual((status, body), (422, {"errors": {"name": ["can't be blank"]}}))
        status, _, body = self.sbx.json("PUT", "/v1/products/%d.json" % pid,
                                        {"product": {"price": 2990}}, auth)
        self.assertEqual((status, body["product"]["price"]), (200, 2990))
        status, _, body = self.sbx.json("DELETE", "/v1/products/%d.json" % pid, headers=auth)
        self.assertEqual((status, body), (200, {"message": "Product deleted"}))
        self.assertEqual(self.sbx.json("GET", "/v1/products/%d.json" % pid, headers=auth)[0], 404)

    def test_rate_limit(self):
        auth = {"Authorization": basic("storelogin", "storetoken")}
        self.sbx.control("POST", "config", {"rate_limit_per_second": 2})
        # Jumpseller's windows are calendar seconds: start at the top of one.
        align_clock(self.sbx)
        statuses = [self.sbx.json("GET", "/v1/store/info.json", headers=auth)
                    for _ in range(3)]
        self.assertEqual([s[0] for s in statuses], [200, 200, 429])
        self.assertEqual(statuses[2][1]["retry-after"], "1")
        self.assertEqual(statuses[1][1]["jumpseller-persecondratelimit-remaining"], "0")
        self.sbx.control("POST", "config", {"rate_limit_status": 403})
        self.assertEqual(self.sbx.json("GET", "/v1/store/info.json", headers=auth)[0], 403)
        time.sleep(1.05)
        self.assertEqual(self.sbx.json("GET", "/v1/store/info.json", headers=auth)[0], 200)
        self.assertEqual(self.sbx.control("GET", "stats")["rate_limited"], 2)

    # -- control endpoints and faults ---------------------------------------------------

    def test_config_validation(self):
        status, _, body = self.sbx.json("POST", "/_sandbox/config", {"bogus": 1})
        self.assertEqual(status, 400)
        status, _, body = self.sbx.json("POST", "/_sandbox/config", {"rate_limit_status": 500})
        self.assertEqual(status, 400)
        self.assertEqual(self.sbx.control("GET", "config")["rate_limit_status"], 429)

    def test_requests_log(self):
        tokens = self.new_tokens()
        self.token_request({"grant_type": "refresh_token",
                            "refresh_token": tokens["refresh_token"]},
                           {"Authorization": basic(CLIENT_ID, CLIENT_SECRET)})
        log = self.sbx.control("GET", "requests?path=/oauth/token")
        self.assertEqual(len(log), 2)
        last = log[-1]
        self.assertEqual(last["method"], "POST")
        self.assertTrue(last["headers"]["authorization"].startswith("Basic "))
        self.assertNotIn("client_secret", last["body"])
        self.assertIn("grant_type=refresh_token", last["body"])
        everything = self.sbx.control("GET", "requests")
        self.assertFalse(any(r["path"].startswith("/_sandbox") for r in everything))
        self.assertEqual(everything[0]["path"], "/oauth/authorize")
        self.assertEqual(everything[0]["query"]["client_id"], CLIENT_ID)

    def test_inject_respond(self):
        self.sbx.control("POST", "inject", {
            "path": "/v1/orders.json", "count": 2, "status": 503,
            "headers": {"Retry-After": "3"}, "body": "down for maintenance"})
        auth = {"Authorization": basic("storelogin", "storetoken")}
        for _ in range(2):
            status, headers, body = self.sbx.request("GET", "/v1/orders.json?page=2", None, auth)
            self.assertEqual((status, headers["retry-after"], body),
                             (503, "3", b"down for maintenance"))
        self.assertEqual(self.sbx.request("GET", "/v1/orders.json", None, auth)[0], 200)
        self.assertEqual(self.sbx.control("GET", "stats")["injected"], 2)

    def test_inject_on_token_endpoint_with_method(self):
        self.sbx.control("POST", "inject", {"path": "/oauth/token", "method": "post",
                                            "status": 500, "body": {"error": "boom"}})
        status, _, body = self.exchange(self.get_code())
        self.assertEqual((status, body), (500, {"error": "boom"}))
        self.assertEqual(self.exchange(self.get_code())[0], 200)

    def test_inject_close(self):
        self.sbx.control("POST", "inject", {"path": "/v1/", "action": "close"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.sbx.request("GET", "/v1/store/info.json")

    def test_inject_truncate(self):
        self.sbx.control("POST", "inject", {"path": "/v1/", "action": "truncate",
                                            "status": 200, "body": "{\"store\": "})
        with self.assertRaises(http.client.IncompleteRead):
            self.sbx.request("GET", "/v1/store/info.json")

    def test_inject_hang(self):
        self.sbx.control("POST", "inject", {"path": "/oauth/token", "action": "hang"})
        started = time.monotonic()
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.sbx.request("POST", "/oauth/token", {"grant_type": "x"}, timeout=0.5)
        self.assertLess(time.monotonic() - started, 3)
        # Other connections are served meanwhile.
        self.assertEqual(self.sbx.control("GET", "stats")["token"], 0)

    def test_inject_delay(self):
        self.sbx.control("POST", "inject", {"path": "/oauth/authorize", "action": "delay",
                                            "delay_ms": 300})
        started = time.monotonic()
        status, _, _, _ = self.authorize()
        self.assertEqual(status, 302)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)

    def test_peak_in_flight_counts_overlapping_requests(self):
        self.sbx.control("POST", "inject", {"path": "/oauth/authorize", "action": "delay",
                                            "delay_ms": 400, "count": 3})
        threads = [threading.Thread(target=self.authorize) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(self.sbx.control("GET", "stats")["peak_in_flight"], 3)
        self.authorize()  # alone: the peak stays, the count went back down
        self.sbx.control("POST", "reset")
        self.authorize()
        self.assertEqual(self.sbx.control("GET", "stats")["peak_in_flight"], 1)

    def test_inject_validation(self):
        status, _, _ = self.sbx.json("POST", "/_sandbox/inject", {"path": "/x", "action": "explode"})
        self.assertEqual(status, 400)
        status, _, _ = self.sbx.json("POST", "/_sandbox/inject", {"path": "/_sandbox/stats"})
        self.assertEqual(status, 400)

    def test_keep_alive_and_connection_close(self):
        conn = self.sbx.connect()
        try:
            for _ in range(5):
                status, headers, _ = self.sbx.request("GET", "/_sandbox/stats", conn=conn)
                self.assertEqual(status, 200)
                self.assertNotEqual(headers.get("connection"), "close")
            status, headers, _ = self.sbx.request("GET", "/_sandbox/stats",
                                                  headers={"Connection": "close"}, conn=conn)
            self.assertEqual(headers["connection"], "close")
            self.assertEqual(conn.sock, None)  # http.client closed it as told
        finally:
            conn.close()

    def test_many_concurrent_keep_alive_clients(self):
        auth = {"Authorization": basic("storelogin", "storetoken")}
        errors = []

        def client():
            conn = self.sbx.connect()
            try:
                for i in range(20):
                    status, _, body = self.sbx.request(
                        "GET", "/v1/orders.json?page=%d&limit=10" % (1 + i % 30), None, auth, conn=conn)
                    if status != 200 or len(json.loads(body)) != 10:
                        errors.append(status)
            except Exception as exc:  # noqa: BLE001 - collect, assert below
                errors.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(self.sbx.control("GET", "stats")["api"], 320)

    # -- NTLM -------------------------------------------------------------------------------

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_ntlm_with_curl(self):
        out = subprocess.run(
            ["curl", "-s", "--ntlm", "-u", "alice:secret", "-w", "\n%{http_code}",
             self.sbx.info["url"] + "/ntlm/whoami"],
            capture_output=True, timeout=10)
        body, _, code = out.stdout.decode().rpartition("\n")
        self.assertEqual(code, "200", out.stdout)
        self.assertEqual(json.loads(body)["user"], "alice")

    def test_ntlm_unicode_handshake_on_one_connection(self):
        conn = self.sbx.connect()
        try:
            status, headers, _ = self.sbx.request("GET", "/ntlm/whoami", conn=conn)
            self.assertEqual((status, headers["www-authenticate"]), (401, "NTLM"))
            type1 = b"NTLMSSP\x00" + struct.pack("<II", 1, 0x00088207) + b"\x00" * 16
            status, headers, _ = self.sbx.request(
                "GET", "/ntlm/whoami", headers={"Authorization": "NTLM " + base64.b64encode(type1).decode()},
                conn=conn)
            self.assertEqual(status, 401)
            type2 = base64.b64decode(headers["www-authenticate"].split()[1])
            self.assertEqual(type2[:8], b"NTLMSSP\x00")
            self.assertEqual(struct.unpack_from("<I", type2, 8)[0], 2)
            self.assertTrue(struct.unpack_from("<I", type2, 20)[0] & 1)  # UNICODE chosen
            user, domain, ws = "Bób".encode("utf-16-le"), "CORP".encode("utf-16-le"), b""
            nt = b"\x01" * 48
            payload_off = 64
            fields, payload = b"", b""
            for blob in (b"\x00" * 24, nt, domain, user, ws, b""):
                fields += struct.pack("<HHI", len(blob), len(blob), payload_off + len(payload))
                payload += blob
            type3 = b"NTLMSSP\x00" + struct.pack("<I", 3) + fields + struct.pack("<I", 0x00088205) + payload
            status, _, body = self.sbx.request(
                "GET", "/ntlm/whoami", headers={"Authorization": "NTLM " + base64.b64encode(type3).decode()},
                conn=conn)
            self.assertEqual(status, 200, body)
            info = json.loads(body)
            self.assertEqual((info["user"], info["domain"], info["response"]), ("Bób", "CORP", "NTLMv2"))
        finally:
            conn.close()


class LifecycleTest(unittest.TestCase):
    """Start-up and shutdown behaviour of the process itself."""

    def test_port_file_matches_stdout(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "port.json")
            sbx = Sandbox("keap", "--port-file", path)
            try:
                with open(path) as f:
                    self.assertEqual(f.read().strip(), sbx.ready_line)
            finally:
                self.assertEqual(sbx.stop(), 0)
            self.assertEqual(os.listdir(d), ["port.json"])  # no temp file left behind

    def test_refuses_non_loopback_host(self):
        proc = subprocess.run([sys.executable, SERVER, "--provider", "keap", "--host", "0.0.0.0"],
                              capture_output=True, timeout=10)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, b"")
        self.assertIn(b"loopback", proc.stderr)

    def test_sigint_exits_cleanly(self):
        sbx = Sandbox("jumpseller")
        sbx.proc.send_signal(signal.SIGINT)
        self.assertEqual(sbx.proc.wait(5), 0)
        sbx.stop()

    def test_shutdown_endpoint(self):
        sbx = Sandbox("bigcommerce")
        self.assertEqual(sbx.control("POST", "shutdown"), {"ok": True})
        self.assertEqual(sbx.proc.wait(5), 0)
        sbx.stop()

    def test_exits_when_parent_pid_is_gone(self):
        parent = subprocess.Popen(["sleep", "30"])
        sbx = Sandbox("jumpseller", "--parent-pid", str(parent.pid))
        try:
            time.sleep(0.6)
            self.assertIsNone(sbx.proc.poll())
            parent.kill()
            parent.wait()
            self.assertEqual(sbx.proc.wait(3), 0)
        finally:
            sbx.stop()
            if parent.poll() is None:
                parent.kill()
                parent.wait()

    def test_hanging_request_does_not_block_exit(self):
        sbx = Sandbox("jumpseller")
        sbx.control("POST", "inject", {"path": "/", "action": "hang"})
        conn = sbx.connect(timeout=5)
        conn.request("GET", "/v1/store/info.json")
        time.sleep(0.2)
        started = time.monotonic()
        self.assertEqual(sbx.stop(), 0)
        self.assertLess(time.monotonic() - started, 3)
        conn.close()

    @unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
    def test_tls(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True, timeout=30)
            sbx = Sandbox("keap", "--tls-cert", cert, "--tls-key", key)
            try:
                self.assertTrue(sbx.info["url"].startswith("https://127.0.0.1:"))
                sbx.ssl_context = ssl.create_default_context(cafile=cert)
                self.assertIn("access", sbx.control("GET", "tokens"))
                plain = http.client.HTTPConnection(sbx.host, sbx.port, timeout=3)
                with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
                    plain.request("GET", "/_sandbox/stats")
                    plain.getresponse().read()
                plain.close()
            finally:
                self.assertEqual(sbx.stop(), 0)


# ---------------------------------------------------------------------------------
# BigCommerce
# ---------------------------------------------------------------------------------

class BigCommerceTest(ProviderTestCase):
    provider = "bigcommerce"
    extra_args = ("--api-key", "static-api-token", "--orders", "120")
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"
    scope = "store_v2_products store_v2_orders"
    base = "/stores/sbx123abc"

    def exchange_json(self, code, **extra):
        body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code,
                "context": "stores/sbx123abc", "scope": self.scope,
                "grant_type": "authorization_code", "redirect_uri": REDIRECT}
        body.update(extra)
        body = {k: v for k, v in body.items() if v is not None}
        return self.sbx.json("POST", self.token_path, body)

    def token(self):
        status, _, body = self.exchange_json(self.get_code())
        self.assertEqual(status, 200, body)
        return body["access_token"]

    def api(self, method, path, token=None, obj=None):
        return self.sbx.json(method, self.base + path, obj,
                             {"X-Auth-Token": token or "static-api-token"})

    def test_authorize_callback_params(self):
        status, _, q, _ = self.authorize(state="st")
        self.assertEqual(status, 302)
        self.assertEqual(q["context"], "stores/sbx123abc")
        self.assertEqual(q["scope"], self.scope)
        self.assertNotIn("state", q)  # the documented app callback carries none
        self.assertIn("account_uuid", q)
        status, _, q, _ = self.authorize(response_type=None)  # optional here
        self.assertEqual(status, 302)
        self.assertIn("code", q)

    def test_json_token_exchange(self):
        status, headers, body = self.exchange_json(self.get_code())
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(body["context"], "stores/sbx123abc")
        self.assertEqual(body["scope"], self.scope)
        self.assertEqual(set(body["user"]), {"id", "username", "email"})
        self.assertIn("owner", body)
        self.assertIn("account_uuid", body)
        self.assertNotIn("refresh_token", body)
        self.assertNotIn("expires_in", body)

    def test_token_request_validation(self):
        status, _, body = self.exchange(self.get_code())  # form-encoded
        self.assertEqual((status, body["error"]), (400, "invalid_request"))
        status, _, body = self.exchange_json(self.get_code(), context=None)
        self.assertEqual((status, body["error"]), (400, "invalid_request"))
        status, _, body = self.exchange_json(self.get_code(), context="stores/other")
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        status, _, body = self.sbx.json("POST", self.token_path, {
            "grant_type": "refresh_token", "refresh_token": "x",
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        self.assertEqual((status, body["error"]), (400, "unsupported_grant_type"))

    def test_api_auth(self):
        tok = self.token()
        self.assertEqual(self.api("GET", "/v2/store", tok)[0], 200)
        status, headers, _ = self.sbx.json("GET", self.base + "/v3/catalog/products",
                                           headers={"Authorization": "Bearer " + tok})
        self.assertEqual(status, 401)
        self.assertIn("x-rate-limit-requests-left", headers)
        self.assertEqual(self.api("GET", "/v3/catalog/products", "nope")[0], 401)
        self.assertEqual(self.api("GET", "/v3/catalog/products")[0], 200)  # --api-key
        status, _, _ = self.sbx.json("GET", "/stores/wronghash/v3/catalog/products",
                                     headers={"X-Auth-Token": tok})
        self.assertEqual(status, 404)
        self.sbx.control("POST", "expire")
        self.assertEqual(self.api("GET", "/v2/store", tok)[0], 401)

    def test_v3_pagination(self):
        status, headers, body = self.api("GET", "/v3/catalog/products?page=1&limit=50")
        self.assertEqual(status, 200)
        for name in ("x-rate-limit-time-window-ms", "x-rate-limit-time-reset-ms",
                     "x-rate-limit-requests-quota", "x-rate-limit-requests-left"):
            self.assertIn(name, headers)
        p = body["meta"]["pagination"]
        self.assertEqual((p["total"], p["count"], p["per_page"], p["current_page"],
                          p["total_pages"]), (320, 50, 50, 1, 7))
        self.assertEqual(p["links"], {"current": "?page=1&limit=50", "next": "?page=2&limit=50"})
        self.assertEqual(len(body["data"]), 50)
        _, _, body = self.api("GET", "/v3/catalog/products?page=7&limit=50")
        p = body["meta"]["pagination"]
        self.assertEqual((p["count"], len(body["data"])), (20, 20))
        self.assertEqual(p["links"], {"previous": "?page=6&limit=50", "current": "?page=7&limit=50"})
        _, _, body = self.api("GET", "/v3/catalog/products?page=8&limit=50")
        self.assertEqual(body["data"], [])
        status, _, body = self.api("GET", "/v3/catalog/products?limit=251")
        self.assertEqual(status, 413)
        self.assertEqual(body["status"], 413)
        self.assertEqual(len(self.api("GET", "/v3/catalog/products?limit=250")[2]["data"]), 250)

    def test_v3_products(self):
        status, _, body = self.api("GET", "/v3/catalog/products/101")
        self.assertEqual((status, body["data"]["id"], body["meta"]), (200, 101, {}))
        status, _, body = self.api("POST", "/v3/catalog/products", None,
                                   {"name": "Widget", "type": "physical", "weight": 1, "price": 9.5})
        self.assertEqual(status, 200)
        self.assertEqual((body["data"]["name"], body["meta"]), ("Widget", {}))
        status, _, body = self.api("POST", "/v3/catalog/products", None, {"name": "NoPrice"})
        self.assertEqual(status, 422)
        self.assertEqual(set(body), {"status", "title", "type", "errors"})
        self.assertIn("price", body["errors"])
        status, _, body = self.api("POST", "/v3/catalog/products", None,
                                   {"name": "Widget", "type": "physical", "weight": 1, "price": 1})
        self.assertEqual(status, 409)
        self.assertEqual(self.api("GET", "/v3/catalog/products/99999")[0], 404)

    def test_v2_orders(self):
        status, _, body = self.api("GET", "/v2/orders?page=1&limit=50")
        self.assertEqual(status, 200)
        self.assertIsInstance(body, list)
        self.assertEqual(len(body), 50)
        _, _, body = self.api("GET", "/v2/orders?page=3&limit=50")
        self.assertEqual(len(body), 20)
        status, headers, raw = self.sbx.request("GET", self.base + "/v2/orders?page=4&limit=50",
                                                None, {"X-Auth-Token": "static-api-token"})
        self.assertEqual((status, raw), (204, b""))
        self.assertNotIn("content-length", headers)
        self.assertEqual(self.api("GET", "/v2/orders/count")[2], {"count": 120})
        status, _, body = self.api("GET", "/v2/orders/999999")
        self.assertEqual(status, 404)
        self.assertIsInstance(body, list)
        self.assertEqual(self.api("GET", "/v2/store")[2]["id"], "sbx123abc")

    def test_rate_limit(self):
        self.sbx.control("POST", "config", {"rate_limit_per_second": 1})
        self.assertEqual(self.api("GET", "/v2/store")[0], 200)
        status, headers, _ = self.api("GET", "/v2/store")
        self.assertEqual(status, 429)
        self.assertEqual(headers["x-rate-limit-requests-left"], "0")
        self.assertEqual(headers["x-rate-limit-requests-quota"], "1")
        self.assertLessEqual(int(headers["x-rate-limit-time-reset-ms"]), 1000)


# ---------------------------------------------------------------------------------
# Keap
# ---------------------------------------------------------------------------------

class KeapTest(ProviderTestCase):
    provider = "keap"
    extra_args = ("--api-key", "KeapAK-sandbox-pat")
    authorize_path = "/app/oauth/authorize"
    token_path = "/token"
    scope = "full"

    def refresh(self, refresh_token, headers=None, **extra):
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        params.update(extra)
        hdrs = {"Authorization": basic(CLIENT_ID, CLIENT_SECRET)}
        if headers is not None:
            hdrs = headers
        return self.token_request(params, hdrs)

    def api(self, path, token=None):
        headers = ({"Authorization": "Bearer " + token} if token
                   else {"X-Keap-API-Key": "KeapAK-sandbox-pat"})
        return self.sbx.json("GET", path, headers=headers)

    def test_code_exchange(self):
        body = self.new_tokens()
        self.assertEqual(body["token_type"], "bearer")
        self.assertEqual(body["expires_in"], 86400)
        self.assertEqual(body["scope"], "full|xy123.infusionsoft.com")
        self.assertTrue(body["refresh_token"])
        _, _, q, _ = self.authorize(scope="read_contacts")
        self.assertEqual(q["error"], "invalid_scope")

    def test_refresh_needs_basic_and_rotates(self):
        tokens = self.new_tokens()
        status, _, body = self.refresh(tokens["refresh_token"],
                                       client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        self.assertEqual((status, body["error"]), (400, "invalid_client"))
        status, headers, body = self.refresh(tokens["refresh_token"], headers={},
                                             client_id=CLIENT_ID)
        self.assertEqual((status, body["error"]), (401, "invalid_client"))
        self.assertIn("www-authenticate", headers)
        status, _, new = self.refresh(tokens["refresh_token"])
        self.assertEqual(status, 200, new)
        self.assertNotEqual(new["refresh_token"], tokens["refresh_token"])
        status, _, body = self.refresh(tokens["refresh_token"])
        self.assertEqual((status, body), (400, {"error": "invalid_request",
                                                "error_description": "Invalid Refresh Token"}))
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["refreshes"], stats["refresh_failures"], stats["invalid_grant"]),
                         (1, 3, 1))
        log = self.sbx.control("GET", "requests?path=/token")
        self.assertTrue(log[-1]["headers"]["authorization"].startswith("Basic "))

    def test_api_auth_shapes(self):
        tok = self.new_tokens()["access_token"]
        self.assertEqual(self.api("/crm/rest/v1/contacts/1", tok)[0], 200)
        self.assertEqual(self.api("/crm/rest/v1/contacts/1")[0], 200)  # PAT/SAK
        status, _, body = self.sbx.json("GET", "/crm/rest/v1/contacts/1",
                                        headers={"X-Keap-API-Key": "wrong"})
        self.assertEqual(status, 401)
        status, _, body = self.api("/crm/rest/v1/contacts/1", "nope")
        self.assertEqual(status, 401)
        self.assertEqual(body["fault"]["detail"]["errorcode"],
                         "keymanagement.service.invalid_access_token")
        self.sbx.control("POST", "expire")
        status, _, body = self.api("/crm/rest/v1/contacts/1", tok)
        self.assertEqual(body["fault"]["detail"]["errorcode"],
                         "keymanagement.service.access_token_expired")

    def test_v1_pagination_follows_next(self):
        # 300 seeded contacts, plus any test_create_contact added.
        seen, url, pages = [], "/crm/rest/v1/contacts?limit=100&offset=0", 0
        while True:
            status, headers, body = self.api(url)
            self.assertEqual(status, 200)
            total = body["count"]
            pages += 1
            seen += [c["id"] for c in body["contacts"]]
            if len(body["contacts"]) < 100:
                break
            self.assertTrue(body["next"].startswith(self.sbx.info["url"] + "/crm/rest/v1/contacts"))
            url = body["next"][len(self.sbx.info["url"]):]
        self.assertGreaterEqual(total, 300)
        self.assertEqual((pages, len(set(seen))), (total // 100 + 1, total))
        for name in ("x-keap-product-quota-limit", "x-keap-product-quota-available",
                     "x-keap-product-throttle-limit", "x-keap-product-throttle-available",
                     "x-keap-tenant-throttle-limit", "x-keap-tenant-throttle-available",
                     "x-keap-product-throttle-time-unit"):
            self.assertIn(name, headers)

    def test_v2_page_tokens(self):
        seen, token = [], ""
        while True:
            status, _, body = self.api("/crm/rest/v2/contacts?page_size=128&page_token=" + token)
            self.assertEqual(status, 200)
            seen += [c["id"] for c in body["contacts"]]
            token = body["next_page_token"]
            if not token:
                break
        total = self.api("/crm/rest/v1/contacts?limit=1")[2]["count"]
        self.assertEqual(len(set(seen)), total)
        self.assertEqual(self.api("/crm/rest/v2/contacts?page_token=%%%")[0], 400)

    def test_create_contact(self):
        status, _, body = self.sbx.json(
            "POST", "/crm/rest/v1/contacts",
            {"given_name": "Zoe", "email_addresses": [{"email": "zoe@x.example", "field": "EMAIL1"}]},
            {"X-Keap-API-Key": "KeapAK-sandbox-pat"})
        self.assertEqual(status, 201)
        self.assertEqual(self.api("/crm/rest/v1/contacts/%d" % body["id"])[2]["given_name"], "Zoe")
        status, _, _ = self.sbx.json("POST", "/crm/rest/v1/contacts", {"given_name": "Nobody"},
                                     {"X-Keap-API-Key": "KeapAK-sandbox-pat"})
        self.assertEqual(status, 400)

    def test_update_contact(self):
        key = {"X-Keap-API-Key": "KeapAK-sandbox-pat"}
        status, _, body = self.sbx.json("PATCH", "/crm/rest/v1/contacts/7", {"family_name": "Updated"}, key)
        self.assertEqual(status, 200)
        self.assertEqual((body["id"], body["family_name"], body["given_name"]), (7, "Updated", "Grace"))
        self.assertEqual(self.api("/crm/rest/v1/contacts/7")[2]["family_name"], "Updated")
        self.assertNotEqual(body["last_updated"], body["date_created"])
        self.assertEqual(self.sbx.json("PATCH", "/crm/rest/v1/contacts/99999", {"given_name": "X"}, key)[0], 404)
        self.assertEqual(self.sbx.json("PATCH", "/crm/rest/v1/contacts/7", {"given_name": 5}, key)[0], 400)
        self.assertEqual(self.sbx.json("PATCH", "/crm/rest/v1/contacts/7", ["x"], key)[0], 400)

    def test_rate_limit(self):
        self.sbx.control("POST", "config", {"rate_limit_per_second": 1})
        self.assertEqual(self.api("/crm/rest/v1/contacts/2")[0], 200)
        status, headers, body = self.api("/crm/rest/v1/contacts/2")
        self.assertEqual(status, 429)
        self.assertEqual(headers["retry-after"], "1")
        self.assertIn("fault", body)


# ---------------------------------------------------------------------------------
# Generic (plain RFC 6749 / 7636 / 6750)
# ---------------------------------------------------------------------------------

GEN_ID = "generic-client"
GEN_SECRET = "s3cr+t:%é/ x"  # "+", "%" and ":" tell form-urlencoded Basic from raw


def basic_form(user, password):
    """RFC 6749 2.3.1: form-urlencode both halves, then Basic."""
    return basic(urllib.parse.quote_plus(user), urllib.parse.quote_plus(password))


class GenericTest(ProviderTestCase):
    provider = "generic"
    extra_args = ("--client-id", GEN_ID, "--client-secret", GEN_SECRET,
                  "--api-key", "generic-key", "--basic-login", "apiuser",
                  "--basic-token", "apipass")
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"
    scope = "read write"

    def authorize(self, **params):
        params.setdefault("client_id", GEN_ID)
        return super().authorize(**params)

    def exchange(self, code, headers=None, **extra):
        params = {"grant_type": "authorization_code", "code": code,
                  "redirect_uri": REDIRECT, "client_id": GEN_ID, "client_secret": GEN_SECRET}
        params.update(extra)
        params = {k: v for k, v in params.items() if v is not None}
        return self.token_request(params, headers)

    def refresh(self, refresh_token, **extra):
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        params.update(extra)
        return self.token_request(params, {"Authorization": basic_form(GEN_ID, GEN_SECRET)})

    def client_credentials(self, headers=None, **extra):
        params = {"grant_type": "client_credentials"}
        params.update(extra)
        if headers is None:
            headers = {"Authorization": basic_form(GEN_ID, GEN_SECRET)}
        return self.token_request(params, headers)

    def api(self, method, path, token=None, obj=None, headers=None):
        hdrs = {"Authorization": "Bearer " + token} if token else {}
        hdrs.update(headers or {})
        return self.sbx.json(method, path, obj, hdrs)

    # -- token endpoint -------------------------------------------------------------------

    def test_code_exchange_token_response(self):
        status, headers, body = self.exchange(self.get_code())
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), {"access_token", "token_type", "expires_in",
                                     "refresh_token", "scope"})
        self.assertEqual((body["token_type"], body["expires_in"], body["scope"]),
                         ("Bearer", 3600, "read write"))
        self.assertEqual((headers["cache-control"], headers["pragma"]), ("no-store", "no-cache"))
        # No scope asked for: the default "api"; any well-formed scope-token is granted.
        self.assertEqual(self.exchange(self.get_code(scope=None))[2]["scope"], "api")
        self.assertEqual(self.exchange(self.get_code(scope="a:b  https://x/y a:b"))[2]["scope"],
                         "a:b https://x/y")
        _, _, q, _ = self.authorize(scope='bad"scope', state="s")
        self.assertEqual((q["error"], q["state"]), ("invalid_scope", "s"))

    def test_client_secret_post_and_json_body(self):
        self.assertEqual(self.exchange(self.get_code())[0], 200)  # client_secret_post
        status, headers, body = self.exchange(self.get_code(), client_secret="wrong")
        self.assertEqual((status, body["error"]), (401, "invalid_client"))
        self.assertTrue(headers["www-authenticate"].startswith("Basic"))
        status, _, body = self.sbx.json("POST", self.token_path, {
            "grant_type": "authorization_code", "code": self.get_code(),
            "redirect_uri": REDIRECT, "client_id": GEN_ID, "client_secret": GEN_SECRET})
        self.assertEqual(status, 200, body)
        # RFC 6749 3.2: a repeated parameter is an invalid_request.
        status, _, body = self.sbx.request(
            "POST", self.token_path, "grant_type=client_credentials&grant_type=password",
            {"Content-Type": "application/x-www-form-urlencoded",
             "Authorization": basic_form(GEN_ID, GEN_SECRET)})
        self.assertEqual((status, json.loads(body)["error"]), (400, "invalid_request"))

    def test_client_secret_basic_form_urlencoded_and_raw(self):
        no_body = {"client_id": None, "client_secret": None}
        status, _, body = self.exchange(
            self.get_code(), {"Authorization": basic_form(GEN_ID, GEN_SECRET)}, **no_body)
        self.assertEqual(status, 200, body)
        status, _, body = self.exchange(
            self.get_code(), {"Authorization": basic(GEN_ID, GEN_SECRET)}, **no_body)
        self.assertEqual(status, 200, body)  # raw, as many clients send it
        for bad in (basic_form(GEN_ID, "wrong"), basic(GEN_ID, "s3cr t:%é/ x"), "Basic !!!"):
            status, headers, body = self.exchange(self.get_code(), {"Authorization": bad},
                                                  **no_body)
            self.assertEqual((status, body["error"]), (401, "invalid_client"), bad)
            self.assertTrue(headers["www-authenticate"].startswith("Basic"))
        status, headers, body = self.exchange(self.get_code(), client_id=None,
                                              client_secret=None)
        self.assertEqual((status, body["error"]), (401, "invalid_client"))
        self.assertTrue(headers["www-authenticate"].startswith("Basic"))
        # Basic wins over the body, both ways.
        self.assertEqual(self.exchange(self.get_code(),
                                       {"Authorization": basic_form(GEN_ID, GEN_SECRET)},
                                       client_secret="wrong")[0], 200)
        self.assertEqual(self.exchange(self.get_code(),
                                       {"Authorization": basic_form(GEN_ID, "wrong")})[0], 401)

    def test_client_credentials_issues_no_refresh_token(self):
        live_refresh = self.sbx.control("GET", "stats")["live_refresh_tokens"]
        status, headers, body = self.client_credentials()
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), {"access_token", "token_type", "expires_in", "scope"})
        self.assertEqual((body["token_type"], body["expires_in"], body["scope"]),
                         ("Bearer", 3600, "api"))
        self.assertEqual(headers["cache-control"], "no-store")
        status, _, me = self.api("GET", "/api/me", body["access_token"])
        self.assertEqual((status, me), (200, {"client_id": GEN_ID, "scope": "api",
                                              "grant": "client_credentials"}))
        status, _, body = self.client_credentials(
            {}, scope="reports:read admin", client_id=GEN_ID, client_secret=GEN_SECRET)
        self.assertEqual((status, body["scope"]), (200, "reports:read admin"))
        self.assertNotIn("refresh_token", body)
        status, _, body = self.client_credentials({"Authorization": basic_form(GEN_ID, "x")})
        self.assertEqual((status, body["error"]), (401, "invalid_client"))
        status, _, body = self.client_credentials(scope="a\\b")
        self.assertEqual((status, body["error"]), (400, "invalid_scope"))
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["client_credentials"], stats["client_credentials_issued"],
                          stats["live_refresh_tokens"]), (4, 2, live_refresh))

    def test_unsupported_grant_and_method(self):
        status, _, body = self.client_credentials(grant_type="password", username="u",
                                                  password="p")
        self.assertEqual((status, body["error"]), (400, "unsupported_grant_type"))
        status, headers, _ = self.sbx.request("GET", self.token_path)
        self.assertEqual((status, headers["allow"]), (405, "POST"))

    def test_refresh_rotation_and_scope_narrowing(self):
        tokens = self.new_tokens()
        status, _, new = self.refresh(tokens["refresh_token"])
        self.assertEqual(status, 200, new)
        self.assertNotEqual(new["refresh_token"], tokens["refresh_token"])
        self.assertEqual(new["scope"], "read write")
        status, _, body = self.refresh(tokens["refresh_token"])
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        # The old access token lives on (revoke_access_on_refresh is off).
        self.assertEqual(self.api("GET", "/api/me", tokens["access_token"])[0], 200)
        status, _, body = self.refresh(new["refresh_token"], scope="read admin")
        self.assertEqual((status, body["error"]), (400, "invalid_scope"))
        status, _, narrow = self.refresh(new["refresh_token"], scope="read")
        self.assertEqual((status, narrow["scope"]), (200, "read"))
        self.assertEqual(self.api("GET", "/api/me", narrow["access_token"])[2]["scope"], "read")
        # Omitted scope means the scope originally granted (RFC 6749 6).
        self.assertEqual(self.refresh(narrow["refresh_token"])[2]["scope"], "read write")
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["refreshes"], stats["refresh_failures"], stats["invalid_grant"]),
                         (3, 2, 1))

    def test_pkce(self):
        verifier, challenge = pkce_pair()
        code = self.get_code(code_challenge=challenge, code_challenge_method="S256")
        status, _, body = self.exchange(code, code_verifier=verifier)
        self.assertEqual(status, 200, body)
        code = self.get_code(code_challenge=challenge, code_challenge_method="S256")
        status, _, body = self.exchange(code, code_verifier=pkce_pair()[0])
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        # The code is burnt: the right verifier no longer helps.
        self.assertEqual(self.exchange(code, code_verifier=verifier)[2]["error"], "invalid_grant")
        code = self.get_code(code_challenge=challenge, code_challenge_method="S256")
        self.assertEqual(self.exchange(code)[2]["error"], "invalid_grant")  # no verifier
        plain = secrets.token_urlsafe(40)
        code = self.get_code(code_challenge=plain)  # method defaults to plain
        self.assertEqual(self.exchange(code, code_verifier=plain)[0], 200)
        _, _, q, _ = self.authorize(code_challenge=challenge, code_challenge_method="S512")
        self.assertEqual(q["error"], "invalid_request")

    def test_code_single_use_and_redirect_uri_match(self):
        code = self.get_code()
        status, _, body = self.exchange(code, redirect_uri="http://127.0.0.1:9/other")
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        code = self.get_code()
        tokens = self.exchange(code)[2]
        self.assertEqual(self.exchange(code)[2]["error"], "invalid_grant")
        # A replayed code revokes what it issued (RFC 6749 4.1.2).
        self.assertEqual(self.api("GET", "/api/me", tokens["access_token"])[0], 401)
        self.assertEqual(self.refresh(tokens["refresh_token"])[2]["error"], "invalid_grant")

    # -- API ------------------------------------------------------------------------------

    def test_api_me_shows_the_grant(self):
        tok = self.new_tokens()["access_token"]
        status, headers, body = self.api("GET", "/api/me", tok)
        self.assertEqual((status, body), (200, {"client_id": GEN_ID, "scope": "read write",
                                                "grant": "authorization_code"}))
        for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
            self.assertIn(name, headers)
        status, _, _ = self.sbx.json("GET", "/api/me", headers={"Authorization": "bearer " + tok})
        self.assertEqual(status, 200)  # the auth-scheme is case-insensitive

    def test_unauthorized_challenges(self):
        status, headers, body = self.api("GET", "/api/me")
        self.assertEqual(status, 401)
        # RFC 6750 3.1: no error code when no credentials were sent.
        self.assertEqual(headers["www-authenticate"], 'Bearer realm="sandbox"')
        self.assertIn("ratelimit-remaining", headers)
        status, headers, body = self.api("GET", "/api/items", "nope")
        self.assertEqual((status, body["error"]), (401, "invalid_token"))
        self.assertTrue(headers["www-authenticate"].startswith('Bearer realm="sandbox", '
                                                               'error="invalid_token"'))
        tok = self.new_tokens()["access_token"]
        self.sbx.control("POST", "expire")
        status, headers, _ = self.api("GET", "/api/me", tok)
        self.assertEqual(status, 401)
        self.assertIn('error_description="The access token expired"', headers["www-authenticate"])
        status, headers, _ = self.api("GET", "/api/me",
                                      headers={"Authorization": basic("apiuser", "wrong")})
        self.assertEqual(status, 401)
        self.assertTrue(headers["www-authenticate"].startswith("Basic"))
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["api"], stats["api_unauthorized"]), (4, 4))

    def test_api_key_and_basic(self):
        key = {"X-API-Key": "generic-key"}
        status, _, body = self.api("GET", "/api/items?limit=1", headers=key)
        self.assertEqual((status, body), (200, [{"id": 1, "name": "Item 1"}]))
        self.assertEqual(self.api("GET", "/api/me", headers=key)[2],
                         {"client_id": None, "scope": None, "grant": "api_key"})
        status, headers, body = self.api("GET", "/api/me", headers={"X-API-Key": "wrong"})
        self.assertEqual((status, body["error"]), (401, "invalid_api_key"))
        self.assertIn("www-authenticate", headers)
        status, _, body = self.api("GET", "/api/me",
                                   headers={"Authorization": basic("apiuser", "apipass")})
        self.assertEqual((status, body["grant"]), (200, "basic"))

    def test_items_pagination(self):
        key = {"X-API-Key": "generic-key"}
        _, _, first = self.api("GET", "/api/items", headers=key)
        self.assertEqual([i["id"] for i in first], list(range(1, 21)))  # limit defaults to 20
        # Walk to the end; test_create_item may have added a few past the 250 seeded.
        seen, page = [], 1
        while True:
            status, _, body = self.api("GET", "/api/items?page=%d&limit=20" % page, headers=key)
            self.assertEqual(status, 200)
            seen += [i["id"] for i in body]
            if len(body) < 20:
                break
            page += 1
        self.assertGreaterEqual(len(seen), 250)
        self.assertEqual(seen[:250], list(range(1, 251)))
        self.assertEqual(self.api("GET", "/api/items?page=%d" % (page + 1), headers=key)[2], [])
        self.assertEqual(len(self.api("GET", "/api/items?limit=100", headers=key)[2]), 100)
        for bad in ("limit=101", "limit=0", "page=0", "page=x"):
            status, _, body = self.api("GET", "/api/items?" + bad, headers=key)
            self.assertEqual((status, body["error"]), (400, "invalid_request"), bad)

    def test_create_item(self):
        tok = self.new_tokens()["access_token"]
        status, headers, body = self.api("POST", "/api/items", tok, {"name": "Widget"})
        self.assertEqual(status, 201, body)
        self.assertEqual(set(body), {"id", "name"})
        self.assertGreater(body["id"], 250)
        self.assertEqual(headers["location"], "/api/items/%d" % body["id"])
        self.assertEqual(self.api("GET", headers["location"], tok)[2], body)
        self.assertEqual(self.api("POST", "/api/items", tok, {"name": " "})[0], 422)
        status, _, _ = self.sbx.request("POST", "/api/items", "nope",
                                        {"Authorization": "Bearer " + tok,
                                         "Content-Type": "application/json"})
        self.assertEqual(status, 400)
        status, headers, _ = self.api("DELETE", "/api/items", tok)
        self.assertEqual((status, headers["allow"]), (405, "GET, POST"))
        self.assertEqual(self.api("GET", "/api/items/99999", tok)[0], 404)

    def test_rate_limit(self):
        key = {"X-API-Key": "generic-key"}
        _, headers, _ = self.api("GET", "/api/me", headers=key)
        self.assertEqual(headers["ratelimit-limit"], "20000")  # nominal when unconfigured
        self.sbx.control("POST", "reset")
        self.sbx.control("POST", "config", {"rate_limit_per_second": 2})
        answers = [self.api("GET", "/api/me", headers=key) for _ in range(3)]
        self.assertEqual([a[0] for a in answers], [200, 200, 429])
        self.assertEqual((answers[0][1]["ratelimit-limit"], answers[0][1]["ratelimit-remaining"]),
                         ("2", "1"))
        self.assertEqual(answers[1][1]["ratelimit-remaining"], "0")
        self.assertEqual(answers[2][1]["retry-after"], "1")
        self.assertEqual(answers[2][1]["ratelimit-remaining"], "0")
        self.assertEqual(answers[2][1]["ratelimit-reset"], "1")
        self.assertEqual(answers[2][2]["error"], "rate_limited")
        self.assertEqual(self.sbx.control("GET", "stats")["rate_limited"], 1)


if __name__ == "__main__":
    unittest.main()
