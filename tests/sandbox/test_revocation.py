"""Token revocation (RFC 7009): generic POST /oauth2/revoke and Jumpseller's
Doorkeeper POST /oauth/revoke.

Run: python3 -m unittest discover -s tests/sandbox -v
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox as base  # noqa: E402  (the Sandbox helper and the shared fixtures)

PUBLIC_ID = "sandbox-public-client"
CONFIDENTIAL = {"client_id": base.CLIENT_ID, "client_secret": base.CLIENT_SECRET}


class GenericRevocationTest(base.ProviderTestCase):
    provider = "generic"
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"
    revoke_path = "/oauth2/revoke"
    me = "/api/me"

    def revoke(self, token, hint=None, auth=CONFIDENTIAL, headers=None):
        params = dict(auth)
        if token is not None:
            params["token"] = token
        if hint is not None:
            params["token_type_hint"] = hint
        return self.sbx.request("POST", self.revoke_path, params, headers)

    def api_status(self, token):
        return self.sbx.request("GET", self.me, headers={"Authorization": "Bearer " + token})[0]

    def refresh(self, refresh_token):
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        params.update(CONFIDENTIAL)
        return self.token_request(params)

    def test_revoking_a_refresh_token_revokes_its_grant(self):
        first = self.new_tokens()
        status, _, second = self.refresh(first["refresh_token"])
        self.assertEqual(status, 200)
        status, headers, body = self.revoke(second["refresh_token"], "refresh_token")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["cache-control"], "no-store")
        # RFC 7009 2.1: the access tokens of the same grant go with it.
        self.assertEqual(self.api_status(first["access_token"]), 401)
        self.assertEqual(self.api_status(second["access_token"]), 401)
        self.assertEqual(self.refresh(second["refresh_token"])[2]["error"], "invalid_grant")
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["revocations"], stats["revoked_refresh"],
                          stats["revoked_access"], stats["revoked_hints"]),
                         (1, 1, 2, ["refresh_token"]))

    def test_revoking_an_access_token_leaves_the_refresh_token(self):
        tokens = self.new_tokens()
        self.assertEqual(self.revoke(tokens["access_token"], "access_token")[0], 200)
        self.assertEqual(self.api_status(tokens["access_token"]), 401)
        self.assertEqual(self.refresh(tokens["refresh_token"])[0], 200)
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["revoked_refresh"], stats["revoked_access"]), (0, 1))

    def test_hints_only_say_where_to_look_first(self):
        tokens = self.new_tokens()
        # A wrong hint: the search goes on across both kinds.
        self.assertEqual(self.revoke(tokens["refresh_token"], "access_token")[0], 200)
        self.assertEqual(self.refresh(tokens["refresh_token"])[2]["error"], "invalid_grant")
        # A hint the server does not know is no error either (no unsupported_token_type).
        tokens = self.new_tokens()
        status, _, body = self.revoke(tokens["access_token"], "id_token")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(self.api_status(tokens["access_token"]), 401)
        self.assertEqual(self.sbx.control("GET", "stats")["revoked_hints"],
                         ["access_token", "id_token"])

    def test_unknown_and_dead_tokens_answer_200(self):
        tokens = self.new_tokens()
        self.assertEqual(self.revoke("no-such-token")[0], 200)
        self.assertEqual(self.revoke(tokens["refresh_token"])[0], 200)
        self.assertEqual(self.revoke(tokens["refresh_token"])[0], 200)  # already revoked
        used = self.new_tokens()
        self.refresh(used["refresh_token"])
        self.assertEqual(self.revoke(used["refresh_token"])[0], 200)  # used: nothing to revoke
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["revocations"], stats["revoked_refresh"],
                          stats["revoked_hints"]), (4, 1, [None] * 4))

    def test_request_errors(self):
        tokens = self.new_tokens()
        status, _, body = self.revoke(None)
        self.assertEqual((status, json.loads(body)["error"]), (400, "invalid_request"))
        status, headers, body = self.revoke(tokens["refresh_token"],
                                            auth={"client_id": base.CLIENT_ID,
                                                  "client_secret": "wrong"})
        self.assertEqual((status, json.loads(body)["error"]), (401, "invalid_client"))
        self.assertIn("www-authenticate", headers)
        status, _, _ = self.revoke(tokens["refresh_token"], auth={},
                                   headers={"Authorization": base.basic("x", "y")})
        self.assertEqual(status, 401)
        self.assertEqual(self.refresh(tokens["refresh_token"])[0], 200)  # nothing revoked
        self.assertEqual(self.sbx.request("GET", self.revoke_path)[0], 405)

    def test_basic_authentication(self):
        tokens = self.new_tokens()
        status, _, _ = self.revoke(tokens["refresh_token"], auth={},
                                   headers={"Authorization": base.basic(base.CLIENT_ID,
                                                                        base.CLIENT_SECRET)})
        self.assertEqual(status, 200)
        self.assertEqual(self.refresh(tokens["refresh_token"])[2]["error"], "invalid_grant")

    def test_public_client_revokes_its_own_tokens_only(self):
        verifier, challenge = base.pkce_pair()
        code = self.get_code(client_id=PUBLIC_ID, code_challenge=challenge,
                             code_challenge_method="S256")
        status, _, tokens = self.token_request({
            "grant_type": "authorization_code", "code": code, "redirect_uri": base.REDIRECT,
            "client_id": PUBLIC_ID, "code_verifier": verifier})
        self.assertEqual(status, 200, tokens)
        # Another client may not revoke them.
        status, _, body = self.revoke(tokens["refresh_token"])
        self.assertEqual((status, json.loads(body)["error"]), (400, "unauthorized_client"))
        status, _, _ = self.revoke(tokens["refresh_token"], auth={"client_id": PUBLIC_ID})
        self.assertEqual(status, 200)
        self.assertEqual(self.api_status(tokens["access_token"]), 401)

    def test_revocation_status_forces_the_answer(self):
        tokens = self.new_tokens()
        self.sbx.control("POST", "config", {"revocation_status": 503})
        status, _, body = self.revoke(tokens["refresh_token"], "refresh_token")
        self.assertEqual((status, json.loads(body)["error"]), (503, "temporarily_unavailable"))
        self.assertEqual(self.refresh(tokens["refresh_token"])[0], 200)  # not revoked
        self.sbx.control("POST", "config", {"revocation_status": 500})
        self.assertEqual(self.revoke("x")[0], 500)
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["revocations"], stats["revoked_refresh"]), (2, 0))
        self.assertEqual(self.sbx.json("POST", "/_sandbox/config",
                                       {"revocation_status": 99})[0], 400)

    def test_faults_reach_the_revocation_endpoint(self):
        self.sbx.control("POST", "inject", {"path": self.revoke_path, "status": 502})
        self.assertEqual(self.revoke("x")[0], 502)
        self.assertEqual(self.revoke("x")[0], 200)


class JumpsellerRevocationTest(base.ProviderTestCase):
    """Doorkeeper's /oauth/revoke: {} bodies, a 403 for a bad client, and an
    access token and its refresh token revoked together."""
    provider = "jumpseller"
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    scope = "read_store"

    def revoke(self, token, auth=CONFIDENTIAL, **extra):
        params = dict(auth)
        if token is not None:
            params["token"] = token
        params.update(extra)
        status, headers, body = self.sbx.request("POST", "/oauth/revoke", params)
        return status, headers, json.loads(body)

    def api_status(self, token):
        return self.sbx.request("GET", "/v1/store/info.json",
                                headers={"Authorization": "Bearer " + token})[0]

    def refresh(self, refresh_token):
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        params.update(CONFIDENTIAL)
        return self.token_request(params)

    def test_refresh_token_and_its_access_token_go_together(self):
        first = self.new_tokens()
        status, _, second = self.refresh(first["refresh_token"])
        self.assertEqual(status, 200)
        self.assertEqual(self.revoke(second["refresh_token"])[:3:2], (200, {}))
        self.assertEqual(self.api_status(second["access_token"]), 401)
        self.assertEqual(self.refresh(second["refresh_token"])[2]["error"], "invalid_grant")
        # One record: the earlier access token is not part of it.
        self.assertEqual(self.api_status(first["access_token"]), 200)

    def test_access_token_revokes_its_refresh_token(self):
        tokens = self.new_tokens()
        self.assertEqual(self.revoke(tokens["access_token"], token_type_hint="access_token")[0],
                         200)
        self.assertEqual(self.api_status(tokens["access_token"]), 401)
        self.assertEqual(self.refresh(tokens["refresh_token"])[2]["error"], "invalid_grant")
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["revocations"], stats["revoked_access"],
                          stats["revoked_refresh"], stats["revoked_hints"]),
                         (1, 1, 1, ["access_token"]))

    def test_expired_access_token_is_not_revoked(self):
        self.sbx.control("POST", "config", {"access_ttl": 0.2})
        tokens = self.new_tokens()
        time.sleep(0.3)
        self.assertEqual(self.revoke(tokens["access_token"])[:3:2], (200, {}))
        self.assertEqual(self.refresh(tokens["refresh_token"])[0], 200)  # still live
        # Its refresh token can be revoked, expired access token or not.
        tokens = self.new_tokens()
        time.sleep(0.3)
        self.assertEqual(self.revoke(tokens["refresh_token"])[0], 200)
        self.assertEqual(self.refresh(tokens["refresh_token"])[2]["error"], "invalid_grant")

    def test_bad_client_and_blank_token(self):
        tokens = self.new_tokens()
        for auth in ({}, {"client_id": base.CLIENT_ID, "client_secret": "wrong"}):
            status, _, body = self.revoke(tokens["refresh_token"], auth=auth)
            self.assertEqual((status, body["error"]), (403, "unauthorized_client"))
        self.assertEqual(self.refresh(tokens["refresh_token"])[0], 200)
        self.assertEqual(self.revoke(None)[:3:2], (200, {}))
        self.assertEqual(self.revoke("unknown")[:3:2], (200, {}))

    def test_revocation_status(self):
        self.sbx.control("POST", "config", {"revocation_status": 500})
        self.assertEqual(self.revoke("x")[0], 500)


class NoRevocationElsewhereTest(unittest.TestCase):
    def test_keap_and_bigcommerce_have_none(self):
        for provider, path in (("keap", "/oauth/revoke"), ("bigcommerce", "/oauth2/revoke")):
            sbx = base.Sandbox(provider)
            try:
                self.assertEqual(sbx.request("POST", path, {"token": "x"})[0], 404)
                self.assertEqual(sbx.json("POST", "/_sandbox/config",
                                          {"revocation_status": 500})[0], 400)
            finally:
                sbx.stop()


if __name__ == "__main__":
    unittest.main()
