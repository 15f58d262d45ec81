"""Generic provider: the device authorization grant (RFC 8628).

Run: python3 -m unittest discover -s tests/sandbox -v
"""

import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox as base  # noqa: E402  (the Sandbox helper and the shared fixtures)

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC_ID = "sandbox-public-client"
USER_CODE_RE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


class DeviceFlowTest(base.ProviderTestCase):
    provider = "generic"
    extra_args = ("--device-interval", "1")
    token_path = "/oauth2/token"

    def start(self, client_id=PUBLIC_ID, **extra):
        params = {"client_id": client_id}
        params.update(extra)
        status, headers, body = self.sbx.request("POST", "/oauth2/device_authorization", params)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["cache-control"], "no-store")
        return json.loads(body)

    def poll(self, device_code, client_id=PUBLIC_ID, **extra):
        params = {"grant_type": GRANT, "device_code": device_code, "client_id": client_id}
        params.update(extra)
        return self.token_request(params)

    def device(self, user_code):
        return [d for d in self.sbx.control("GET", "device") if d["user_code"] == user_code][0]

    def test_device_authorization_response(self):
        url = self.sbx.info["url"]
        d = self.start(scope="read write")
        self.assertEqual(set(d), {"device_code", "user_code", "verification_uri",
                                  "verification_uri_complete", "expires_in", "interval"})
        self.assertRegex(d["user_code"], USER_CODE_RE)
        self.assertEqual(d["verification_uri"], url + "/device")
        self.assertEqual(d["verification_uri_complete"],
                         url + "/device?user_code=" + d["user_code"])
        self.assertEqual((d["expires_in"], d["interval"]), (600, 1))
        self.assertEqual(self.device(d["user_code"])["scope"], "read write")
        self.assertEqual(self.sbx.control("GET", "stats")["device_authorizations"], 1)
        # Confidential client: as at the token endpoint.
        status, headers, body = self.sbx.request(
            "POST", "/oauth2/device_authorization", {"client_id": base.CLIENT_ID},
            {"Authorization": base.basic(base.CLIENT_ID, "wrong")})
        self.assertEqual((status, json.loads(body)["error"]), (401, "invalid_client"))
        self.assertIn("www-authenticate", headers)
        status, _, body = self.sbx.request(
            "POST", "/oauth2/device_authorization", {},
            {"Authorization": base.basic(base.CLIENT_ID, base.CLIENT_SECRET)})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.sbx.request("GET", "/oauth2/device_authorization")[0], 405)
        self.sbx.control("POST", "config", {"device_expires_in": 30, "device_interval": 0})
        self.assertEqual((self.start()["expires_in"], self.start()["interval"]), (30, 0))

    def test_pending_then_slow_down_grows_the_interval(self):
        d = self.start()
        status, headers, body = self.poll(d["device_code"])
        self.assertEqual((status, body["error"]), (400, "authorization_pending"))
        self.assertEqual(headers["cache-control"], "no-store")
        # Faster than the interval: slow_down, and 5 s more for this device code.
        self.assertEqual(self.poll(d["device_code"])[2]["error"], "slow_down")
        self.assertEqual(self.device(d["user_code"])["interval"], 6)
        self.assertEqual(self.poll(d["device_code"])[2]["error"], "slow_down")
        self.assertEqual(self.device(d["user_code"])["interval"], 11)
        # Another device code keeps the configured interval: waiting it is enough.
        other = self.start()
        self.assertEqual(self.poll(other["device_code"])[2]["error"], "authorization_pending")
        time.sleep(1.05)
        self.assertEqual(self.poll(other["device_code"])[2]["error"], "authorization_pending")
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["device_polls"], stats["device_slow_down"],
                          stats["device_tokens"]), (5, 2, 0))

    def test_no_minimum_interval(self):
        self.sbx.control("POST", "config", {"device_interval": 0})
        d = self.start()
        errors = [self.poll(d["device_code"])[2]["error"] for _ in range(4)]
        self.assertEqual(errors, ["authorization_pending"] * 4)

    def test_approve_in_the_browser_then_single_use(self):
        d = self.start()
        self.assertEqual(self.poll(d["device_code"])[2]["error"], "authorization_pending")
        # The page, then the approval, with the code as a user might type it.
        page = self.sbx.request("GET", "/device?user_code=" + d["user_code"])
        self.assertEqual(page[0], 200)
        self.assertIn(d["user_code"].encode(), page[2])
        typed = d["user_code"].lower().replace("-", " ")
        status, _, body = self.sbx.request(
            "GET", "/device?" + urllib.parse.urlencode({"user_code": typed, "action": "approve"}))
        self.assertEqual(status, 200)
        self.assertIn(b'<span id="result">approved</span>', body)
        # Approved: tokens however soon the client polls.
        status, _, tokens = self.poll(d["device_code"])
        self.assertEqual(status, 200, tokens)
        self.assertEqual(set(tokens), {"access_token", "token_type", "expires_in",
                                       "refresh_token", "scope"})
        status, _, body = self.sbx.json("GET", "/api/me",
                                        headers={"Authorization": "Bearer "
                                                 + tokens["access_token"]})
        self.assertEqual((status, body["grant"], body["client_id"]),
                         (200, "device_code", PUBLIC_ID))
        # Single use.
        status, _, body = self.poll(d["device_code"])
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        # The refresh token rotates as any other.
        status, _, new = self.token_request({"grant_type": "refresh_token",
                                             "refresh_token": tokens["refresh_token"],
                                             "client_id": PUBLIC_ID})
        self.assertEqual(status, 200, new)
        self.assertNotEqual(new["refresh_token"], tokens["refresh_token"])
        # A decided code cannot be decided again; an unknown one is a 404 page.
        again = self.sbx.request("GET", "/device?user_code=%s&action=deny" % d["user_code"])
        self.assertEqual(again[0], 400)
        self.assertEqual(self.sbx.request("GET", "/device?user_code=BBBB-BBBB")[0], 404)
        self.assertEqual(self.sbx.request("GET", "/device")[0], 200)  # the code entry form
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["device_tokens"], stats["invalid_grant"]), (1, 1))

    def test_deny_and_expire_through_the_control_endpoint(self):
        d = self.start()
        answer = self.sbx.control("POST", "device", {"user_code": d["user_code"],
                                                     "action": "deny"})
        self.assertEqual(answer, {"ok": True, "user_code": d["user_code"], "status": "denied"})
        status, _, body = self.poll(d["device_code"])
        self.assertEqual((status, body["error"]), (400, "access_denied"))
        d = self.start()
        self.sbx.control("POST", "device", {"device_code": d["device_code"], "action": "expire"})
        self.assertEqual(self.poll(d["device_code"])[2]["error"], "expired_token")
        self.assertEqual(self.device(d["user_code"])["status"], "expired")
        status, _, _ = self.sbx.json("POST", "/_sandbox/device",
                                     {"user_code": "ZZZZ-ZZZZ", "action": "approve"})
        self.assertEqual(status, 404)
        status, _, _ = self.sbx.json("POST", "/_sandbox/device",
                                     {"user_code": d["user_code"], "action": "maybe"})
        self.assertEqual(status, 400)
        # Approve through the control endpoint too.
        d = self.start()
        self.sbx.control("POST", "device", {"user_code": d["user_code"], "action": "approve"})
        self.assertEqual(self.poll(d["device_code"])[0], 200)

    def test_expiry(self):
        self.sbx.control("POST", "config", {"device_expires_in": 1})
        d = self.start()
        self.assertEqual(self.poll(d["device_code"])[2]["error"], "authorization_pending")
        time.sleep(1.1)
        self.assertEqual(self.poll(d["device_code"])[2]["error"], "expired_token")
        page = self.sbx.request("GET", "/device?user_code=%s&action=approve" % d["user_code"])
        self.assertEqual(page[0], 400)

    def test_auto_approve(self):
        self.sbx.control("POST", "config", {"device_auto_approve_after": 0})
        d = self.start()
        self.assertEqual(self.poll(d["device_code"])[0], 200)

    def test_device_code_belongs_to_its_client(self):
        d = self.start()
        status, _, body = self.poll(d["device_code"], client_id=base.CLIENT_ID,
                                    client_secret=base.CLIENT_SECRET)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        self.assertEqual(self.poll("no-such-code")[2]["error"], "invalid_grant")
        status, _, body = self.token_request({"grant_type": GRANT, "client_id": PUBLIC_ID})
        self.assertEqual((status, body["error"]), (400, "invalid_request"))
        status, _, body = self.poll(d["device_code"], client_secret="guess")
        self.assertEqual((status, body["error"]), (401, "invalid_client"))


class DeviceFlagsTest(unittest.TestCase):
    def test_flags_and_other_providers(self):
        sbx = base.Sandbox("generic", "--device-interval", "0", "--device-expires-in", "5",
                           "--device-auto-approve-after", "0.5")
        try:
            cfg = sbx.control("GET", "config")
            self.assertEqual((cfg["device_interval"], cfg["device_expires_in"],
                              cfg["device_auto_approve_after"]), (0, 5, 0.5))
        finally:
            sbx.stop()
        sbx = base.Sandbox("jumpseller")
        try:
            status, _, body = sbx.request("POST", "/oauth/token", {
                "grant_type": GRANT, "device_code": "x", "client_id": base.CLIENT_ID,
                "client_secret": base.CLIENT_SECRET})
            self.assertEqual((status, json.loads(body)["error"]), (400, "unsupported_grant_type"))
            self.assertEqual(sbx.json("GET", "/_sandbox/device")[0], 404)
            self.assertEqual(sbx.request("GET", "/device")[0], 404)
        finally:
            sbx.stop()


if __name__ == "__main__":
    unittest.main()
