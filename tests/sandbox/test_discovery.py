"""Generic provider: authorization server metadata (RFC 8414, OpenID Connect
Discovery 1.0) and the config keys that break it.

Run: python3 -m unittest discover -s tests/sandbox -v
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox as base  # noqa: E402  (the Sandbox helper and the shared fixtures)

MEMBERS = {"issuer", "authorization_endpoint", "token_endpoint",
           "device_authorization_endpoint", "revocation_endpoint",
           "response_types_supported", "response_modes_supported", "grant_types_supported",
           "code_challenge_methods_supported", "token_endpoint_auth_methods_supported",
           "revocation_endpoint_auth_methods_supported"}


class DiscoveryTest(base.ProviderTestCase):
    provider = "generic"
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"

    def meta(self, path="/.well-known/oauth-authorization-server"):
        return self.sbx.request("GET", path)

    def doc(self, path="/.well-known/oauth-authorization-server"):
        status, headers, body = self.meta(path)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        return json.loads(body)

    def test_both_documents(self):
        url = self.sbx.info["url"]
        for path in ("/.well-known/oauth-authorization-server",
                     "/.well-known/openid-configuration"):
            doc = self.doc(path)
            self.assertEqual(set(doc), MEMBERS)
            self.assertEqual(doc["issuer"], url)
            self.assertEqual((doc["authorization_endpoint"], doc["token_endpoint"],
                              doc["device_authorization_endpoint"], doc["revocation_endpoint"]),
                             (url + "/oauth2/authorize", url + "/oauth2/token",
                              url + "/oauth2/device_authorization", url + "/oauth2/revoke"))
            self.assertEqual(doc["grant_types_supported"], [
                "authorization_code", "refresh_token", "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"])
            self.assertEqual(doc["response_types_supported"], ["code"])
            self.assertEqual(doc["code_challenge_methods_supported"], ["S256", "plain"])
            self.assertEqual(doc["token_endpoint_auth_methods_supported"],
                             ["client_secret_basic", "client_secret_post", "none"])
            self.assertEqual(doc["revocation_endpoint_auth_methods_supported"],
                             ["client_secret_basic", "client_secret_post", "none"])
        self.assertEqual(self.sbx.control("GET", "stats")["discovery"], 2)
        self.assertEqual(self.sbx.request("POST", "/.well-known/openid-configuration")[0], 405)

    def test_documented_endpoints_work(self):
        doc = self.doc()
        status, _, body = self.sbx.request(
            "POST", doc["token_endpoint"][len(self.sbx.info["url"]):],
            {"grant_type": "client_credentials", "client_id": base.CLIENT_ID,
             "client_secret": base.CLIENT_SECRET})
        self.assertEqual(status, 200, body)

    def test_documents_follow_config(self):
        self.sbx.control("POST", "config", {"public_client_id": None, "require_pkce": True})
        doc = self.doc()
        self.assertEqual(doc["token_endpoint_auth_methods_supported"],
                         ["client_secret_basic", "client_secret_post"])
        self.assertEqual(doc["code_challenge_methods_supported"], ["S256"])

    def test_issuer_path_at_runtime(self):
        self.sbx.control("POST", "config", {"issuer_path": "/tenant1"})
        url = self.sbx.info["url"]
        # RFC 8414 3.1: the well-known segment goes before the path ...
        self.assertEqual(self.doc("/.well-known/oauth-authorization-server/tenant1")["issuer"],
                         url + "/tenant1")
        # ... OpenID Connect Discovery 4.1 appends it after the path.
        self.assertEqual(self.doc("/tenant1/.well-known/openid-configuration")["issuer"],
                         url + "/tenant1")
        for wrong in ("/.well-known/oauth-authorization-server",
                      "/tenant1/.well-known/oauth-authorization-server",
                      "/.well-known/openid-configuration"):
            self.assertEqual(self.meta(wrong)[0], 404, wrong)
        for bad in ("tenant1", "/tenant1/", "/_sandbox/x", 3):
            self.assertEqual(self.sbx.json("POST", "/_sandbox/config", {"issuer_path": bad})[0],
                             400, bad)

    def test_discovery_issuer_overrides_the_issuer(self):
        self.sbx.control("POST", "config", {"discovery_issuer": "https://elsewhere.example"})
        doc = self.doc()
        self.assertEqual(doc["issuer"], "https://elsewhere.example")
        self.assertTrue(doc["token_endpoint"].startswith(self.sbx.info["url"]))

    def test_discovery_status(self):
        self.sbx.control("POST", "config", {"discovery_status": 503})
        status, _, body = self.meta()
        self.assertEqual(status, 503)
        self.assertNotIn("issuer", json.loads(body))
        self.assertEqual(self.meta("/.well-known/openid-configuration")[0], 503)
        self.assertEqual(self.sbx.control("GET", "stats")["discovery"], 2)

    def test_discovery_body(self):
        self.sbx.control("POST", "config", {"discovery_body": "{\"issuer\": "})
        status, headers, body = self.meta()
        self.assertEqual((status, body), (200, b"{\"issuer\": "))
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.sbx.control("POST", "config", {"discovery_status": 404})
        status, _, body = self.meta()
        self.assertEqual((status, body), (404, b"{\"issuer\": "))

    def test_discovery_omit(self):
        self.sbx.control("POST", "config", {"discovery_omit": ["token_endpoint", "issuer",
                                                               "no_such_member"]})
        doc = self.doc()
        self.assertEqual(set(doc), MEMBERS - {"token_endpoint", "issuer"})
        self.assertEqual(self.sbx.json("POST", "/_sandbox/config",
                                       {"discovery_omit": "issuer"})[0], 400)

    def test_discovery_endpoints_prefix(self):
        self.sbx.control("POST", "config", {"discovery_endpoints_prefix": "/v2"})
        url = self.sbx.info["url"]
        doc = self.doc()
        self.assertEqual((doc["authorization_endpoint"], doc["token_endpoint"],
                          doc["device_authorization_endpoint"], doc["revocation_endpoint"]),
                         (url + "/v2/oauth2/authorize", url + "/v2/oauth2/token",
                          url + "/v2/oauth2/device_authorization", url + "/v2/oauth2/revoke"))
        self.assertEqual(doc["issuer"], url)
        # The prefixed endpoints work: a whole code flow through them.
        self.authorize_path = "/v2/oauth2/authorize"
        self.token_path = "/v2/oauth2/token"
        tokens = self.new_tokens()
        status, _, _ = self.sbx.request("POST", "/v2/oauth2/revoke", {
            "token": tokens["refresh_token"], "client_id": base.CLIENT_ID,
            "client_secret": base.CLIENT_SECRET})
        self.assertEqual(status, 200)
        status, _, body = self.sbx.request("POST", "/v2/oauth2/device_authorization", {
            "client_id": base.CLIENT_ID, "client_secret": base.CLIENT_SECRET})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.sbx.control("GET", "requests?path=/v2/oauth2/token")), 1)
        self.assertEqual(self.sbx.request("POST", "/v3/oauth2/token", {})[0], 404)
        # The plain paths keep working.
        self.authorize_path, self.token_path = "/oauth2/authorize", "/oauth2/token"
        self.assertTrue(self.new_tokens()["access_token"])


class IssuerPathFlagTest(base.ProviderTestCase):
    provider = "generic"
    extra_args = ("--issuer-path", "/tenant1")

    def test_issuer_path_flag(self):
        url = self.sbx.info["url"]
        self.assertEqual(self.sbx.control("GET", "config")["issuer_path"], "/tenant1")
        for path in ("/.well-known/oauth-authorization-server/tenant1",
                     "/tenant1/.well-known/openid-configuration"):
            status, _, body = self.sbx.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertEqual(json.loads(body)["issuer"], url + "/tenant1")
        self.assertEqual(self.sbx.request("GET", "/.well-known/oauth-authorization-server")[0],
                         404)
        # The OAuth endpoints stay where they were.
        self.assertEqual(json.loads(self.sbx.request(
            "GET", "/tenant1/.well-known/openid-configuration")[2])["token_endpoint"],
            url + "/oauth2/token")


if __name__ == "__main__":
    unittest.main()
