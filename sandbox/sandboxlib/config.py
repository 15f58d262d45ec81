"""The runtime config keys (POST /_sandbox/config): which providers have
each one, how a value is checked, and the defaults the command line sets.

A key a provider does not have is unknown there (400), never silently
ignored. A new key is one line in KEYS plus its default in defaults().
"""

import re

ALL = None  # every provider has the key
JUMPSELLER_GENERIC = ("jumpseller", "generic")
GENERIC = ("generic",)

# A path prefix: "/seg/seg", no trailing slash, no query or fragment.
_PATH_RE = re.compile(r"^(/[A-Za-z0-9\-._~!$&'()*+,;=:@%]+)+$")


class ConfigError(ValueError):
    """A /_sandbox/config or /_sandbox/inject body that cannot be applied."""


def _bool(key, value):
    if not isinstance(value, bool):
        raise ConfigError("%s must be true or false" % key)
    return value


def _int(minimum=None, nullable=False, maximum=None):
    def check(key, value):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) \
                or (minimum is not None and value < minimum) \
                or (maximum is not None and value > maximum):
            bounds = []
            if minimum is not None:
                bounds.append(">= %d" % minimum)
            if maximum is not None:
                bounds.append("<= %d" % maximum)
            raise ConfigError("%s must be an integer%s%s" % (
                key, " " + " and ".join(bounds) if bounds else "", " or null" if nullable else ""))
        return value
    return check


def _seconds(nullable):
    def check(key, value):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError("%s must be a number of seconds >= 0%s"
                              % (key, " or null" if nullable else ""))
        return value
    return check


def _choice(*choices):
    def check(key, value):
        if value not in choices or isinstance(value, bool):
            raise ConfigError("%s must be %s" % (key, " or ".join(str(c) for c in choices)))
        return value
    return check


def _string(nullable):
    def check(key, value):
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise ConfigError("%s must be a string%s" % (key, " or null" if nullable else ""))
        return value
    return check


def _client_id(key, value):
    if value is None:
        return None
    if not isinstance(value, str) or not value or any(ord(c) < 0x20 for c in value):
        raise ConfigError("%s must be a non-empty string or null" % key)
    return value


def _path(key, value):
    """"" (none) or "/a/b": a path prefix without trailing slash."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _PATH_RE.match(value):
        raise ConfigError('%s must be "" or a path like "/tenant1" (no trailing slash)' % key)
    if value.startswith("/_sandbox") or value.startswith("/.well-known"):
        raise ConfigError("%s must not start with %s" % (key, value.split("/")[1]))
    return value


def _names(key, value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("%s must be a list of member names" % key)
    return list(value)


# name -> (check, providers that have it)
KEYS = {
    "access_ttl": (_seconds(nullable=True), ALL),
    "deny": (_bool, ALL),
    "revoke_access_on_refresh": (_bool, ALL),
    "rate_limit_per_second": (_int(minimum=0), ALL),
    "rate_limit_per_minute": (_int(minimum=0), ALL),
    "rate_limit_status": (_choice(429, 403), ALL),
    "rate_limit_windows": (_choice("calendar", "sliding"), ALL),
    "rate_limit_enforce": (_bool, ALL),
    "rate_limit_retry_after": (_bool, ALL),
    "rate_limit_clock_offset_ms": (_int(), ALL),
    "require_pkce": (_bool, JUMPSELLER_GENERIC),
    "revocation_status": (_int(minimum=200, maximum=599, nullable=True), JUMPSELLER_GENERIC),
    "public_client_id": (_client_id, GENERIC),
    "issuer_path": (_path, GENERIC),
    "discovery_issuer": (_string(nullable=True), GENERIC),
    "discovery_status": (_int(minimum=200, maximum=599, nullable=True), GENERIC),
    "discovery_body": (_string(nullable=True), GENERIC),
    "discovery_omit": (_names, GENERIC),
    "discovery_endpoints_prefix": (_path, GENERIC),
    "device_expires_in": (_int(minimum=1), GENERIC),
    "device_interval": (_int(minimum=0), GENERIC),
    "device_auto_approve_after": (_seconds(nullable=True), GENERIC),
}


def check_config_value(key, value):
    """The value to store for key, or ConfigError."""
    if key not in KEYS:
        raise ConfigError("unknown config key: %s" % key)
    return KEYS[key][0](key, value)


def provider_has(provider_name, key):
    providers = KEYS[key][1]
    return providers is None or provider_name in providers


def defaults(provider_cls, args):
    """The provider's config as the command line sets it; {"defaults": true}
    restores exactly this."""
    ttl = args.access_ttl if args.access_ttl is not None else provider_cls.default_access_ttl
    values = {
        "access_ttl": ttl,
        "deny": args.deny,
        "revoke_access_on_refresh": args.revoke_access_on_refresh,
        "rate_limit_per_second": args.rate_limit_per_second,
        "rate_limit_per_minute": args.rate_limit_per_minute,
        "rate_limit_status": args.rate_limit_status,
        "rate_limit_windows": args.rate_limit_windows or provider_cls.default_rate_windows,
        "rate_limit_enforce": args.rate_limit_enforce,
        "rate_limit_retry_after": (provider_cls.sends_retry_after
                                   if args.rate_limit_retry_after is None
                                   else args.rate_limit_retry_after),
        "rate_limit_clock_offset_ms": args.rate_limit_clock_offset_ms,
        "require_pkce": bool(args.require_pkce),
        "revocation_status": None,
        "public_client_id": (args.public_client_id if args.public_client_id is not None
                             else "sandbox-public-client"),
        "issuer_path": args.issuer_path or "",
        "discovery_issuer": None,
        "discovery_status": None,
        "discovery_body": None,
        "discovery_omit": [],
        "discovery_endpoints_prefix": "",
        "device_expires_in": args.device_expires_in if args.device_expires_in is not None else 600,
        "device_interval": args.device_interval if args.device_interval is not None else 5,
        "device_auto_approve_after": args.device_auto_approve_after,
    }
    out = {}
    for key, value in values.items():
        if provider_has(provider_cls.name, key):
            out[key] = check_config_value(key, value)
    return out
