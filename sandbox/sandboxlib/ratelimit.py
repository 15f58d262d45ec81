"""The rate-limit windows: which API requests fit the configured quotas,
and the numbers each provider turns into its own rate-limit headers.

Two kinds of window, both kept up to date on every request so that a spec
may switch between them at any time:

- calendar: a second (a minute) is the wall clock's whole second (whole
  minute); the count starts over when the clock passes the next one. The
  clock is the server's own, which rate_limit_clock_offset_ms shifts away
  from the local one (the Date header uses the same clock).
- sliding: the requests of the last 1 s (60 s), on the monotonic clock.

Every API request is counted, 401s included, as a gateway does. A request
the limiter refuses is not counted, so a client that waits Retry-After gets
through. With rate_limit_enforce false nothing is refused: the counts run
past the limits (the headers show 0 remaining) and every request is served.

The limiter holds no lock of its own: SandboxState calls it with its single
lock held.
"""

import collections
import math
import time


class RateDecision:
    """Outcome of admitting one API request."""

    def __init__(self, allowed, over_second, over_minute, used_second, used_minute,
                 limit_second, limit_minute, reset_ms, minute_reset_ms, total, windows):
        self.allowed = allowed
        self.over_second = over_second    # the request went past the per-second limit
        self.over_minute = over_minute    # ... past the per-minute limit
        self.used_second = used_second    # requests counted in this second's window
        self.used_minute = used_minute    # requests counted in this minute's window
        self.limit_second = limit_second  # configured limit, 0 when off
        self.limit_minute = limit_minute  # configured limit, 0 when off
        self.reset_ms = reset_ms                # ms until the 1 s window frees a slot
        self.minute_reset_ms = minute_reset_ms  # same for the 60 s window
        self.total = total                # counted API requests since start
        self.windows = windows            # "calendar" or "sliding"

    @property
    def over(self):
        return self.over_second or self.over_minute

    @property
    def retry_after(self):
        """Whole seconds until the window that refused the request has room."""
        ms = 0
        if self.over_second:
            ms = max(ms, self.reset_ms)
        if self.over_minute:
            ms = max(ms, self.minute_reset_ms)
        return max(1, math.ceil(ms / 1000))

    def policies(self):
        """The configured limits as (limit, used, reset_ms, window_ms, unit)."""
        out = []
        if self.limit_second:
            out.append((self.limit_second, self.used_second, self.reset_ms, 1000, "second"))
        if self.limit_minute:
            out.append((self.limit_minute, self.used_minute, self.minute_reset_ms, 60000,
                        "minute"))
        return out

    def tightest(self):
        """The configured limit closest to exhaustion (the fewest requests
        left; on a tie, the one that resets last), None when no limit is
        set: what a provider reporting a single limit reports."""
        policies = self.policies()
        if not policies:
            return None
        return min(policies, key=lambda p: (max(0, p[0] - p[1]), -p[2]))


class RateLimiter:
    def __init__(self, wall_clock):
        self._wall = wall_clock          # the server's (possibly shifted) epoch time
        self.reset()

    def reset(self):
        self._times = collections.deque()  # monotonic times of counted requests, last 60 s
        self._second = None                # calendar second (epoch // 1) being counted
        self._second_count = 0
        self._minute = None                # calendar minute (epoch // 60) being counted
        self._minute_count = 0
        self.total = 0
        self.peak_second = 0               # the most requests counted in one 1 s window
        self.peak_minute = 0               # ... in one 60 s window

    def admit(self, config):
        """Count one API request; returns its RateDecision."""
        windows = config["rate_limit_windows"]
        per_second = config["rate_limit_per_second"]
        per_minute = config["rate_limit_per_minute"]
        now, wall = time.monotonic(), self._wall()
        self._roll(now, wall)
        used_s, used_m = self._used(windows, now)
        over_s = bool(per_second) and used_s >= per_second
        over_m = bool(per_minute) and used_m >= per_minute
        allowed = not ((over_s or over_m) and config["rate_limit_enforce"])
        if allowed:
            self._times.append(now)
            self._second_count += 1
            self._minute_count += 1
            self.total += 1
            used_s, used_m = used_s + 1, used_m + 1
            self.peak_second = max(self.peak_second, used_s)
            self.peak_minute = max(self.peak_minute, used_m)
        reset_s, reset_m = self._resets(windows, now, wall)
        return RateDecision(allowed, over_s, over_m, used_s, used_m, per_second, per_minute,
                            reset_s, reset_m, self.total, windows)

    def snapshot(self, config):
        """The current windows, for /_sandbox/stats."""
        windows = config["rate_limit_windows"]
        now, wall = time.monotonic(), self._wall()
        self._roll(now, wall)
        used_s, used_m = self._used(windows, now)
        reset_s, reset_m = self._resets(windows, now, wall)
        return {
            "windows": windows,
            "second": {"used": used_s, "limit": config["rate_limit_per_second"],
                       "reset_ms": reset_s, "peak": self.peak_second},
            "minute": {"used": used_m, "limit": config["rate_limit_per_minute"],
                       "reset_ms": reset_m, "peak": self.peak_minute},
        }

    # -- internals ------------------------------------------------------------

    def _roll(self, now, wall):
        """Drop what fell out of every window."""
        while self._times and self._times[0] <= now - 60.0:
            self._times.popleft()
        second, minute = math.floor(wall), math.floor(wall / 60.0)
        if second != self._second:
            self._second, self._second_count = second, 0
        if minute != self._minute:
            self._minute, self._minute_count = minute, 0

    def _used(self, windows, now):
        if windows == "calendar":
            return self._second_count, self._minute_count
        in_second = 0
        for t in reversed(self._times):
            if t <= now - 1.0:
                break
            in_second += 1
        return in_second, len(self._times)

    def _resets(self, windows, now, wall):
        """(ms until the 1 s window has room, ms until the 60 s one has)."""
        if windows == "calendar":
            reset_s = math.ceil((math.floor(wall) + 1.0 - wall) * 1000)
            reset_m = math.ceil((math.floor(wall / 60.0) * 60.0 + 60.0 - wall) * 1000)
            return max(1, reset_s), max(1, reset_m)
        oldest_in_second = now
        for t in reversed(self._times):
            if t <= now - 1.0:
                break
            oldest_in_second = t
        reset_s = max(1, math.ceil((oldest_in_second + 1.0 - now) * 1000))
        reset_m = (max(1, math.ceil((self._times[0] + 60.0 - now) * 1000))
                   if self._times else 60000)
        return reset_s, reset_m
