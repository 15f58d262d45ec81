"""Shared mutable state of one sandbox server: counters, runtime config,
the request log, queued faults, the server's clock and the rate-limit
windows (kept by ratelimit.RateLimiter).

Every handler thread goes through this object, so all of it sits behind ONE
lock (also handed to the token store): with a single lock there is no lock
ordering to get wrong, and the work done while holding it is tiny.
"""

import collections
import json
import threading
import time

from .config import ConfigError, check_config_value
from .ratelimit import RateLimiter

COUNTER_NAMES = (
    "authorize",           # every authorize request
    "token",               # every token endpoint request, whatever its outcome
    "code_exchanges",      # successful authorization_code grants
    "refreshes",           # successful refresh_token grants
    "refresh_failures",    # refused refresh_token grants (any reason)
    "invalid_grant",       # any grant refused for a bad code / refresh token
    "client_credentials",  # client_credentials attempts (only generic grants them)
    "client_credentials_issued",  # successful client_credentials grants
    "api",                 # API requests (everything under the provider's API prefix)
    "api_unauthorized",    # API requests answered 401
    "rate_limited",        # API requests refused by the rate limiter
    "rate_over_limit",     # API requests past a limit, served (rate_limit_enforce false)
    "injected",            # requests answered by a queued fault instead
    "peak_in_flight",      # the most provider requests in progress at once
    "discovery",           # metadata fetches (RFC 8414 / OIDC well-known URLs), any outcome
    "device_authorizations",  # device codes issued (RFC 8628 3.2)
    "device_polls",        # token requests with the device_code grant
    "device_slow_down",    # polls answered slow_down
    "device_tokens",       # device_code grants that issued tokens
    "revocations",         # revocation endpoint requests (RFC 7009), any outcome
    "revoked_refresh",     # refresh tokens revoked there
    "revoked_access",      # access tokens revoked there (directly or with their grant)
)

FAULT_ACTIONS = ("respond", "hang", "close", "truncate", "delay")

# How many requests the log keeps; /_sandbox/requests returns the last 50
# that match a prefix, so a larger backlog lets a spec filter by path.
REQUEST_LOG_SIZE = 2000
REQUESTS_RETURNED = 50


class Fault:
    """One queued fault (see /_sandbox/inject): what to do instead of answering."""

    def __init__(self, action, status, headers, body, delay_ms):
        self.action = action
        self.status = status
        self.headers = headers
        self.body = body
        self.delay_ms = delay_ms


class SandboxState:
    def __init__(self, default_config):
        self.lock = threading.RLock()
        self._defaults = dict(default_config)
        self.config = dict(default_config)
        self.counters = dict.fromkeys(COUNTER_NAMES, 0)
        self.refresh_times = []
        self.api_by_status = {}   # status code (a string, as JSON has it) -> API answers
        self.revoked_hints = []   # token_type_hint of each revocation request (None: absent)
        self._requests = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self._faults = []
        self._in_flight = 0
        self._rates = RateLimiter(self.wall_time)
        # Set when the server stops, so "hang" faults let go of their socket.
        self.stopping = threading.Event()

    # -- the server's clock -----------------------------------------------------

    def wall_time(self):
        """The server's epoch time: the local clock shifted by
        rate_limit_clock_offset_ms. The Date header, the calendar rate
        windows, Jumpseller's created_at and Keap's quota expiry read it."""
        offset = self.config.get("rate_limit_clock_offset_ms", 0)
        return time.time() + offset / 1000.0

    # -- counters -----------------------------------------------------------

    def count(self, name, n=1):
        with self.lock:
            self.counters[name] += n

    def note_refresh(self):
        with self.lock:
            self.counters["refreshes"] += 1
            self.refresh_times.append(time.time())

    def enter_request(self):
        """One more provider request in progress; the peak says how many a
        client had in flight at once (a blocking client never has two)."""
        with self.lock:
            self._in_flight += 1
            if self._in_flight > self.counters["peak_in_flight"]:
                self.counters["peak_in_flight"] = self._in_flight

    def leave_request(self):
        with self.lock:
            self._in_flight -= 1

    def count_api_status(self, status):
        with self.lock:
            key = str(status)
            self.api_by_status[key] = self.api_by_status.get(key, 0) + 1

    def note_revocation_hint(self, hint):
        with self.lock:
            self.revoked_hints.append(hint)

    def snapshot_counters(self):
        with self.lock:
            out = dict(self.counters)
            out["refresh_times"] = list(self.refresh_times)
            out["api_by_status"] = dict(self.api_by_status)
            out["revoked_hints"] = list(self.revoked_hints)
            out["rate_windows"] = self._rates.snapshot(self.config)
            return out

    def reset(self):
        """Counters, request log, queued faults and rate windows start over;
        tokens and config are kept (a spec resets between cases without
        losing the grant it set up)."""
        with self.lock:
            self.counters = dict.fromkeys(COUNTER_NAMES, 0)
            self.refresh_times = []
            self.api_by_status = {}
            self.revoked_hints = []
            self._requests.clear()
            self._faults = []
            self._rates.reset()

    # -- runtime config -----------------------------------------------------

    def get_config(self):
        with self.lock:
            return dict(self.config)

    def update_config(self, changes):
        """Validate every key first, then apply all of them (all or nothing)."""
        if not isinstance(changes, dict):
            raise ConfigError("config body must be a JSON object")
        clean = {}
        for key, value in changes.items():
            if key == "defaults":
                # {"defaults": true} restores the command-line configuration.
                if value is not True:
                    raise ConfigError("defaults must be true")
                continue
            if key not in self._defaults:
                raise ConfigError("unknown config key: %s" % key)
            clean[key] = check_config_value(key, value)
        with self.lock:
            if changes.get("defaults") is True:
                self.config = dict(self._defaults)
            self.config.update(clean)
            return dict(self.config)

    def cfg(self, key):
        with self.lock:
            return self.config[key]

    def option(self, key, default=None):
        """A config key only some providers have; default where it is absent."""
        with self.lock:
            return self.config.get(key, default)

    # -- request log ----------------------------------------------------------

    def record_request(self, entry):
        with self.lock:
            self._requests.append(entry)

    def recent_requests(self, prefix):
        with self.lock:
            hits = [r for r in self._requests if r["path"].startswith(prefix)]
        return hits[-REQUESTS_RETURNED:]

    # -- fault injection ------------------------------------------------------

    def add_fault(self, spec):
        """Queue a fault from a /_sandbox/inject body; returns the normalised entry."""
        if not isinstance(spec, dict):
            raise ConfigError("inject body must be a JSON object")
        path = spec.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError("path must be a string starting with /")
        if path.startswith("/_sandbox"):
            raise ConfigError("control endpoints cannot be faulted")
        action = spec.get("action", "respond")
        if action not in FAULT_ACTIONS:
            raise ConfigError("action must be one of " + ", ".join(FAULT_ACTIONS))
        method = spec.get("method")
        if method is not None and not isinstance(method, str):
            raise ConfigError("method must be a string")
        count = _int_field(spec, "count", 1, minimum=1)
        status = _int_field(spec, "status", 503, minimum=200, maximum=599)
        delay_ms = _int_field(spec, "delay_ms", 0, minimum=0)
        headers = spec.get("headers", {})
        if not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float))
                for k, v in headers.items()):
            raise ConfigError("headers must be an object of strings")
        body = spec.get("body", "")
        if not isinstance(body, str):
            # A JSON value is accepted as a convenience and sent serialised.
            body = json.dumps(body)
        # "pad": N inserts N filler bytes at the first "{PAD}" in the body (or
        # appends them): answers far larger than a request body may be.
        pad = _int_field(spec, "pad", 0, minimum=0, maximum=200 * 1024 * 1024)
        if pad:
            filler = "a" * pad
            body = body.replace("{PAD}", filler, 1) if "{PAD}" in body else body + filler
        entry = {
            "path": path,
            "method": method.upper() if method else None,
            "count": count,
            "action": action,
            "status": status,
            "headers": {k: str(v) for k, v in headers.items()},
            "body": body,
            "delay_ms": delay_ms,
        }
        with self.lock:
            self._faults.append(entry)
            return dict(entry)

    def take_fault(self, method, path):
        """The first queued fault matching this request (FIFO), consuming one
        of its uses, or None."""
        with self.lock:
            for entry in self._faults:
                if not path.startswith(entry["path"]):
                    continue
                if entry["method"] and entry["method"] != method:
                    continue
                entry["count"] -= 1
                if entry["count"] <= 0:
                    self._faults.remove(entry)
                self.counters["injected"] += 1
                return Fault(entry["action"], entry["status"], entry["headers"],
                             entry["body"].encode("utf-8"), entry["delay_ms"])
            return None

    def pending_faults(self):
        with self.lock:
            return [dict(f) for f in self._faults]

    # -- rate limiting --------------------------------------------------------

    def admit_api_request(self):
        """Count one API request against the rate windows (see ratelimit)."""
        with self.lock:
            decision = self._rates.admit(self.config)
            if not decision.allowed:
                self.counters["rate_limited"] += 1
            elif decision.over:
                self.counters["rate_over_limit"] += 1
            return decision


def _int_field(spec, name, default, minimum=None, maximum=None):
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("%s must be an integer" % name)
    if minimum is not None and value < minimum:
        raise ConfigError("%s must be >= %d" % (name, minimum))
    if maximum is not None and value > maximum:
        raise ConfigError("%s must be <= %d" % (name, maximum))
    return value
