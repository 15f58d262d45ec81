"""Rate limits: calendar and sliding windows, per-minute quotas, advertise-only
mode, Retry-After, the server's clock offset, and the stats that count them.

Run: python3 -m unittest discover -s tests/sandbox -v
"""

import email.utils
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sandbox as base  # noqa: E402  (the Sandbox helper and the shared fixtures)

JS_AUTH = {"Authorization": base.basic("storelogin", "storetoken")}
JS_INFO = "/v1/store/info.json"


align_clock = base.align_clock


class JumpsellerChurnTest(base.ProviderTestCase):
    """The server seen in the churn run: 240/min and 8/s in calendar windows,
    advertised but not enforced, 2 s access tokens revoked on refresh."""
    provider = "jumpseller"
    extra_args = ("--basic-login", "storelogin", "--basic-token", "storetoken",
                  "--rate-limit-per-minute", "240", "--rate-limit-per-second", "8",
                  "--no-rate-limit-enforce", "--access-ttl", "2",
                  "--revoke-access-on-refresh")
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    scope = "read_store"

    def get(self, headers=JS_AUTH):
        return self.sbx.request("GET", JS_INFO, headers=headers)

    def test_flags_set_the_config(self):
        cfg = self.sbx.control("GET", "config")
        self.assertEqual(
            {k: cfg[k] for k in ("rate_limit_per_minute", "rate_limit_per_second",
                                 "rate_limit_enforce", "rate_limit_windows",
                                 "rate_limit_retry_after", "rate_limit_clock_offset_ms",
                                 "access_ttl", "revoke_access_on_refresh")},
            {"rate_limit_per_minute": 240, "rate_limit_per_second": 8,
             "rate_limit_enforce": False, "rate_limit_windows": "calendar",
             "rate_limit_retry_after": True, "rate_limit_clock_offset_ms": 0,
             "access_ttl": 2, "revoke_access_on_refresh": True})

    def test_advertise_only_counts_down_to_zero_and_serves_everything(self):
        align_clock(self.sbx, period=60)
        answers = [self.get() for _ in range(11)]
        self.assertEqual([a[0] for a in answers], [200] * 11)
        self.assertEqual([a[1]["jumpseller-persecondratelimit-remaining"] for a in answers],
                         ["7", "6", "5", "4", "3", "2", "1", "0", "0", "0", "0"])
        self.assertEqual([a[1]["jumpseller-perminuteratelimit-remaining"] for a in answers],
                         [str(240 - n) for n in range(1, 12)])
        headers = answers[0][1]
        self.assertEqual((headers["jumpseller-persecondratelimit-limit"],
                          headers["jumpseller-perminuteratelimit-limit"]), ("8", "240"))
        # No reset header, no Retry-After: nothing was refused.
        self.assertFalse([h for h in headers if "reset" in h or h == "retry-after"])
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["rate_limited"], stats["rate_over_limit"]), (0, 3))
        self.assertEqual(stats["rate_windows"]["second"]["peak"], 11)
        self.assertEqual(stats["rate_windows"]["minute"]["used"], 11)

    def test_401s_count_against_the_windows_and_by_status(self):
        align_clock(self.sbx, period=60)
        self.assertEqual(self.get()[0], 200)
        status, headers, _ = self.get({"Authorization": "Bearer not-a-token"})
        self.assertEqual(status, 401)
        self.assertEqual(headers["jumpseller-persecondratelimit-remaining"], "6")
        self.assertEqual(headers["jumpseller-perminuteratelimit-remaining"], "238")
        self.get({})
        stats = self.sbx.control("GET", "stats")
        self.assertEqual(stats["api_by_status"], {"200": 1, "401": 2})
        self.assertEqual(stats["api_unauthorized"], 2)

    def test_churn_access_tokens_die_on_refresh_and_after_two_seconds(self):
        first = self.new_tokens()
        self.assertEqual(first["expires_in"], 2)
        status, _, second = self.token_request({
            "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
            "client_id": base.CLIENT_ID, "client_secret": base.CLIENT_SECRET})
        self.assertEqual(status, 200, second)
        bearer = {"Authorization": "Bearer " + first["access_token"]}
        self.assertEqual(self.get(bearer)[0], 401)  # revoked by the refresh
        self.assertEqual(self.get({"Authorization": "Bearer " + second["access_token"]})[0], 200)

    def test_reset_clears_the_windows(self):
        align_clock(self.sbx, period=60)
        for _ in range(3):
            self.get()
        self.sbx.control("POST", "reset")
        _, headers, _ = self.get()
        self.assertEqual(headers["jumpseller-persecondratelimit-remaining"], "7")
        self.assertEqual(headers["jumpseller-perminuteratelimit-remaining"], "239")
        stats = self.sbx.control("GET", "stats")
        self.assertEqual((stats["api_by_status"], stats["rate_over_limit"]), ({"200": 1}, 0))


class JumpsellerWindowsTest(base.ProviderTestCase):
    """Enforced limits in calendar and sliding windows."""
    provider = "jumpseller"
    extra_args = ("--basic-login", "storelogin", "--basic-token", "storetoken")
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"

    def get(self):
        return self.sbx.request("GET", JS_INFO, headers=JS_AUTH)

    def test_defaults(self):
        cfg = self.sbx.control("GET", "config")
        self.assertEqual((cfg["rate_limit_windows"], cfg["rate_limit_enforce"],
                          cfg["rate_limit_retry_after"], cfg["rate_limit_per_minute"],
                          cfg["rate_limit_clock_offset_ms"]), ("calendar", True, True, 0, 0))
        _, headers, _ = self.get()
        # per-minute 0 = off: the documented limits are reported.
        self.assertEqual((headers["jumpseller-perminuteratelimit-limit"],
                          headers["jumpseller-persecondratelimit-limit"]), ("800", "20"))

    def test_calendar_second_resets_at_the_servers_whole_second(self):
        self.sbx.control("POST", "config", {"rate_limit_per_second": 3})
        # The server's clock is 0.7 s into a second: the window ends in 0.3 s,
        # wherever the local clock's seconds begin.
        align_clock(self.sbx, phase=0.7)
        answers = [self.get() for _ in range(4)]
        self.assertEqual([a[0] for a in answers], [200, 200, 200, 429])
        self.assertEqual(answers[3][1]["retry-after"], "1")
        self.assertEqual(answers[3][1]["jumpseller-persecondratelimit-remaining"], "0")
        time.sleep(0.4)
        status, headers, _ = self.get()
        self.assertEqual(status, 200)  # a new calendar second
        self.assertEqual(headers["jumpseller-persecondratelimit-remaining"], "2")

    def test_sliding_second_does_not_reset_at_the_whole_second(self):
        self.sbx.control("POST", "config", {"rate_limit_per_second": 3,
                                            "rate_limit_windows": "sliding"})
        align_clock(self.sbx, phase=0.7)
        self.assertEqual([self.get()[0] for _ in range(4)], [200, 200, 200, 429])
        time.sleep(0.4)
        self.assertEqual(self.get()[0], 429)  # the last 1 s still holds three
        time.sleep(0.7)
        self.assertEqual(self.get()[0], 200)

    def test_calendar_minute_and_its_retry_after(self):
        self.sbx.control("POST", "config", {"rate_limit_per_minute": 3})
        offset = align_clock(self.sbx, period=60, phase=30)  # 30 s left in the minute
        answers = [self.get() for _ in range(4)]
        self.assertEqual([a[0] for a in answers], [200, 200, 200, 429])
        self.assertEqual([a[1]["jumpseller-perminuteratelimit-remaining"] for a in answers],
                         ["2", "1", "0", "0"])
        self.assertIn(int(answers[3][1]["retry-after"]), (29, 30, 31))
        self.assertIn("per minute", answers[3][2].decode())
        self.assertEqual(self.sbx.control("GET", "stats")["rate_limited"], 1)
        # Move the server's clock on by 30 s: a new minute, a new quota.
        self.sbx.control("POST", "config", {"rate_limit_clock_offset_ms": offset + 30000})
        status, headers, _ = self.get()
        self.assertEqual((status, headers["jumpseller-perminuteratelimit-remaining"]), (200, "2"))

    def test_retry_after_can_be_left_out(self):
        self.sbx.control("POST", "config", {"rate_limit_per_second": 1,
                                            "rate_limit_retry_after": False})
        align_clock(self.sbx)
        status, headers, _ = [self.get() for _ in range(2)][1]
        self.assertEqual(status, 429)
        self.assertNotIn("retry-after", headers)
        self.assertFalse([h for h in headers if "reset" in h])

    def test_date_header_uses_the_shifted_clock(self):
        self.sbx.control("POST", "config", {"rate_limit_clock_offset_ms": 3600 * 1000})
        for path in (JS_INFO, "/_sandbox/stats", "/oauth/token"):
            _, headers, _ = self.sbx.request("GET", path, headers=JS_AUTH)
            served = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
            self.assertLess(abs(served - (time.time() + 3600)), 2.5, path)
        self.sbx.control("POST", "config", {"rate_limit_clock_offset_ms": 0})
        _, headers, _ = self.get()
        served = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
        self.assertLess(abs(served - time.time()), 2.5)

    def test_config_validation(self):
        for bad in ({"rate_limit_windows": "rolling"}, {"rate_limit_per_minute": -1},
                    {"rate_limit_enforce": "no"}, {"rate_limit_retry_after": 1},
                    {"rate_limit_clock_offset_ms": 1.5}, {"discovery_status": 500},
                    {"device_interval": 1}, {"public_client_id": "x"}):
            status, _, body = self.sbx.json("POST", "/_sandbox/config", bad)
            self.assertEqual(status, 400, (bad, body))
        self.assertEqual(self.sbx.control("GET", "config")["rate_limit_windows"], "calendar")


class PerMinuteAcrossProvidersTest(unittest.TestCase):
    """Every provider can run under a per-minute quota."""

    def run_provider(self, provider, path, headers, *extra):
        sbx = base.Sandbox(provider, *extra)
        try:
            sbx.control("POST", "config", {"rate_limit_per_minute": 2})
            answers = [sbx.request("GET", path, headers=headers) for _ in range(3)]
            stats = sbx.control("GET", "stats")
        finally:
            self.assertEqual(sbx.stop(), 0)
            self.assertEqual(sbx.stderr, "")
        self.assertEqual([a[0] for a in answers], [200, 200, 429])
        self.assertEqual((stats["rate_limited"], stats["api_by_status"]),
                         (1, {"200": 2, "429": 1}))
        return [a[1] for a in answers]

    def test_generic_ratelimit_headers(self):
        h = self.run_provider("generic", "/api/me", {"X-API-Key": "k"}, "--api-key", "k")
        self.assertEqual([x["ratelimit-limit"] for x in h], ["2"] * 3)
        self.assertEqual([x["ratelimit-remaining"] for x in h], ["1", "0", "0"])
        # Sliding by default: the minute frees a slot 60 s after the first request.
        self.assertTrue(55 <= int(h[2]["ratelimit-reset"]) <= 60, h[2])
        self.assertTrue(55 <= int(h[2]["retry-after"]) <= 60, h[2])

    def test_bigcommerce_window_headers(self):
        h = self.run_provider("bigcommerce", "/stores/sbx123abc/v2/store",
                              {"X-Auth-Token": "k"}, "--api-key", "k")
        self.assertEqual([x["x-rate-limit-time-window-ms"] for x in h], ["60000"] * 3)
        self.assertEqual([x["x-rate-limit-requests-quota"] for x in h], ["2"] * 3)
        self.assertEqual([x["x-rate-limit-requests-left"] for x in h], ["1", "0", "0"])
        self.assertTrue(55000 <= int(h[2]["x-rate-limit-time-reset-ms"]) <= 60000, h[2])
        self.assertNotIn("retry-after", h[2])  # the docs say: wait Time-Reset-Ms

    def test_bigcommerce_retry_after_when_asked(self):
        sbx = base.Sandbox("bigcommerce", "--api-key", "k", "--rate-limit-per-second", "1",
                           "--rate-limit-retry-after")
        try:
            answers = [sbx.request("GET", "/stores/sbx123abc/v2/store",
                                   headers={"X-Auth-Token": "k"}) for _ in range(2)]
        finally:
            sbx.stop()
        self.assertEqual((answers[1][0], answers[1][1]["retry-after"]), (429, "1"))

    def test_keap_throttle_headers(self):
        h = self.run_provider("keap", "/crm/rest/v1/contacts/1", {"X-Keap-API-Key": "k"},
                              "--api-key", "k")
        self.assertEqual([x["x-keap-product-throttle-limit"] for x in h], ["2"] * 3)
        self.assertEqual([x["x-keap-product-throttle-time-unit"] for x in h], ["minute"] * 3)
        self.assertEqual([x["x-keap-product-throttle-available"] for x in h], ["1", "0", "0"])
        self.assertTrue(55 <= int(h[2]["retry-after"]) <= 60, h[2])

    def test_tightest_limit_is_reported(self):
        sbx = base.Sandbox("generic", "--api-key", "k", "--rate-limit-per-second", "5",
                           "--rate-limit-per-minute", "100")
        try:
            _, headers, _ = sbx.request("GET", "/api/me", headers={"X-API-Key": "k"})
            sbx.control("POST", "config", {"rate_limit_per_minute": 3})
            _, headers2, _ = sbx.request("GET", "/api/me", headers={"X-API-Key": "k"})
        finally:
            sbx.stop()
        self.assertEqual((headers["ratelimit-limit"], headers["ratelimit-remaining"],
                          headers["ratelimit-reset"]), ("5", "4", "1"))
        self.assertEqual((headers2["ratelimit-limit"], headers2["ratelimit-remaining"]),
                         ("3", "1"))

    def test_generic_calendar_minute_reset(self):
        sbx = base.Sandbox("generic", "--api-key", "k", "--rate-limit-per-minute", "1",
                           "--rate-limit-windows", "calendar")
        try:
            align_clock(sbx, period=60, phase=50)  # 10 s left in the server's minute
            answers = [sbx.request("GET", "/api/me", headers={"X-API-Key": "k"})
                       for _ in range(2)]
        finally:
            sbx.stop()
        self.assertEqual([a[0] for a in answers], [200, 429])
        self.assertIn(answers[1][1]["ratelimit-reset"], ("9", "10", "11"))
        self.assertIn(answers[1][1]["retry-after"], ("9", "10", "11"))


class RateFlagsTest(unittest.TestCase):
    def test_provider_specific_flags_are_refused_elsewhere(self):
        for provider, flag in (("jumpseller", ["--issuer-path", "/t"]),
                               ("bigcommerce", ["--require-pkce"]),
                               ("keap", ["--device-interval", "1"])):
            proc = subprocess.run([sys.executable, base.SERVER, "--provider", provider, *flag],
                                  capture_output=True, timeout=10)
            self.assertEqual(proc.returncode, 2, flag)
            self.assertEqual(proc.stdout, b"")
            self.assertIn(b"does not apply", proc.stderr)

    def test_bad_flag_value(self):
        proc = subprocess.run([sys.executable, base.SERVER, "--provider", "jumpseller",
                               "--rate-limit-per-minute", "-3"], capture_output=True, timeout=10)
        self.assertEqual((proc.returncode, proc.stdout), (2, b""))


if __name__ == "__main__":
    unittest.main()
