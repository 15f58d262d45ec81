"""Generic provider's public client (RFC 6749 2.1, RFC 9700 2.1.1) and the
require_pkce key (generic and Jumpseller).

Run: python3 -m unittest discover -s tests/sandbox -v
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox as base  # noqa: E402  (the Sandbox helper and the shared fixtures)

PUBLIC_ID = "sandbox-public-client"


class PublicClientTest(base.ProviderTestCase):
    provider = "generic"
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"

    def exchange_public(self, code, verifier, **extra):
        params = {"grant_type": "authorization_code", "code": code,
                  "redirect_uri": base.REDIRECT, "client_id": PUBLIC_ID,
                  "code_verifier": verifier}
        params.update(extra)
        return self.token_request({k: v for k, v in params.items() if v is not None})

    def public_code(self, challenge, **extra):
        return self.get_code(client_id=PUBLIC_ID, code_challenge=challenge,
                             code_challenge_method="S256", **extra)

    def test_login_and_refresh_with_client_id_alone(self):
        verifier, challenge = base.pkce_pair()
        status, _, tokens = self.exchange_public(self.public_code(challenge), verifier)
        self.assertEqual(status, 200, tokens)
        me = self.sbx.json("GET", "/api/me",
                           headers={"Authorization": "Bearer " + tokens["access_token"]})[2]
        self.assertEqual(me["client_id"], PUBLIC_ID)
        status, _, new = self.token_request({"grant_type": "refresh_token",
                                             "refresh_token": tokens["refresh_token"],
                                             "client_id": PUBLIC_ID})
        self.assertEqual(status, 200, new)
        # The confidential client may not use the public client's refresh token.
        status, _, body = self.token_request({"grant_type": "refresh_token",
                                              "refresh_token": new["refresh_token"],
                                              "client_id": base.CLIENT_ID,
                                              "client_secret": base.CLIENT_SECRET})
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_public_client_must_use_pkce(self):
        _, _, q, _ = self.authorize(client_id=PUBLIC_ID, state="s")
        self.assertEqual((q["error"], q["state"]), ("invalid_request", "s"))
        verifier, challenge = base.pkce_pair()
        code = self.public_code(challenge)
        status, _, body = self.exchange_public(code, None)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_public_client_sends_no_secret(self):
        verifier, challenge = base.pkce_pair()
        status, headers, body = self.exchange_public(self.public_code(challenge), verifier,
                                                     client_secret="anything")
        self.assertEqual((status, body["error"]), (401, "invalid_client"))
        self.assertIn("www-authenticate", headers)
        status, _, body = self.token_request(
            {"grant_type": "authorization_code", "code": self.public_code(challenge),
             "redirect_uri": base.REDIRECT, "code_verifier": verifier},
            {"Authorization": base.basic(PUBLIC_ID, "")})
        self.assertEqual((status, body["error"]), (401, "invalid_client"))

    def test_no_client_credentials_grant(self):
        status, _, body = self.token_request({"grant_type": "client_credentials",
                                              "client_id": PUBLIC_ID})
        self.assertEqual((status, body["error"]), (400, "unauthorized_client"))
        self.assertEqual(self.sbx.control("GET", "stats")["client_credentials_issued"], 0)

    def test_public_client_id_config(self):
        self.sbx.control("POST", "config", {"public_client_id": "my-cli"})
        verifier, challenge = base.pkce_pair()
        code = self.get_code(client_id="my-cli", code_challenge=challenge,
                             code_challenge_method="S256")
        status, _, body = self.token_request({
            "grant_type": "authorization_code", "code": code, "redirect_uri": base.REDIRECT,
            "client_id": "my-cli", "code_verifier": verifier})
        self.assertEqual(status, 200, body)
        status, _, _, page = self.authorize(client_id=PUBLIC_ID, code_challenge=challenge)
        self.assertEqual(status, 400)  # no longer a known client
        self.assertIn(b'id="error"', page)
        self.sbx.control("POST", "config", {"public_client_id": None})
        self.assertEqual(self.authorize(client_id="my-cli", code_challenge=challenge)[0], 400)
        for bad in ("", 5):
            self.assertEqual(self.sbx.json("POST", "/_sandbox/config",
                                           {"public_client_id": bad})[0], 400)

    def test_public_client_id_flag(self):
        sbx = base.Sandbox("generic", "--public-client-id", "cli-1")
        try:
            self.assertEqual(sbx.control("GET", "config")["public_client_id"], "cli-1")
        finally:
            sbx.stop()


class PublicClientFlagTest(unittest.TestCase):
    """--public-client makes the one registered client public, as before;
    --client-auth limits the confidential methods, never the public one."""

    def test_public_client_flag(self):
        sbx = base.Sandbox("generic", "--public-client", "--client-auth", "basic")
        try:
            query = {"client_id": base.CLIENT_ID, "redirect_uri": base.REDIRECT,
                     "response_type": "code"}
            status, headers, _ = sbx.request(
                "GET", "/oauth2/authorize?" + base.urllib.parse.urlencode(query))
            self.assertIn("error=invalid_request", headers["location"])
            verifier, challenge = base.pkce_pair()
            query.update(code_challenge=challenge, code_challenge_method="S256")
            status, headers, _ = sbx.request(
                "GET", "/oauth2/authorize?" + base.urllib.parse.urlencode(query))
            code = dict(base.urllib.parse.parse_qsl(
                base.urllib.parse.urlsplit(headers["location"]).query))["code"]
            status, _, body = sbx.request("POST", "/oauth2/token", {
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": base.REDIRECT, "client_id": base.CLIENT_ID,
                "code_verifier": verifier})
            self.assertEqual(status, 200, body)
            doc = sbx.json("GET", "/.well-known/oauth-authorization-server")[2]
            self.assertEqual(doc["token_endpoint_auth_methods_supported"],
                             ["client_secret_basic", "none"])
        finally:
            sbx.stop()


class RequirePkceTest(unittest.TestCase):
    """require_pkce: authorize refuses a request without an S256 challenge."""

    def check(self, provider, authorize_path, scope, *extra):
        sbx = base.Sandbox(provider, *extra)
        try:
            def authorize(**params):
                query = {"client_id": base.CLIENT_ID, "redirect_uri": base.REDIRECT,
                         "response_type": "code", "scope": scope, "state": "st"}
                query.update(params)
                status, headers, _ = sbx.request(
                    "GET", authorize_path + "?" + base.urllib.parse.urlencode(query))
                self.assertEqual(status, 302)
                return dict(base.urllib.parse.parse_qsl(
                    base.urllib.parse.urlsplit(headers["location"]).query))

            if not extra:
                self.assertIn("code", authorize())  # off by default
                sbx.control("POST", "config", {"require_pkce": True})
            self.assertTrue(sbx.control("GET", "config")["require_pkce"])
            q = authorize()
            self.assertEqual((q["error"], q["state"]), ("invalid_request", "st"))
            plain = base.secrets.token_urlsafe(40)
            self.assertEqual(authorize(code_challenge=plain)["error"], "invalid_request")
            self.assertEqual(authorize(code_challenge=plain,
                                       code_challenge_method="plain")["error"], "invalid_request")
            _, challenge = base.pkce_pair()
            self.assertIn("code", authorize(code_challenge=challenge,
                                            code_challenge_method="S256"))
        finally:
            sbx.stop()

    def test_generic(self):
        self.check("generic", "/oauth2/authorize", "api")

    def test_jumpseller(self):
        self.check("jumpseller", "/oauth/authorize", "read_store")

    def test_flag(self):
        self.check("jumpseller", "/oauth/authorize", "read_store", "--require-pkce")

    def test_not_for_keap(self):
        sbx = base.Sandbox("keap")
        try:
            status, _, body = sbx.json("POST", "/_sandbox/config", {"require_pkce": True})
            self.assertEqual(status, 400)
            self.assertIn("require_pkce", json.dumps(body))
        finally:
            sbx.stop()


if __name__ == "__main__":
    unittest.main()
