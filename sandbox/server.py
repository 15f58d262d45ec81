#!/usr/bin/env python3
"""Local stand-in for the Jumpseller, BigCommerce and Keap OAuth + API servers,
plus a plain RFC 6749 server ("generic") standing in for any other.

    python3 sandbox/server.py --provider jumpseller|bigcommerce|keap|generic [options]

When ready it prints one JSON line to stdout,
    {"url": "http://127.0.0.1:PORT", "provider": "...", "pid": N}
and serves until SIGTERM/SIGINT, POST /_sandbox/shutdown, or (with
--parent-pid) the death of its parent. See sandbox/README.md.
"""

import argparse
import ipaddress
import json
import os
import signal
import ssl
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sandboxlib import config  # noqa: E402
from sandboxlib.app import SandboxApp  # noqa: E402
from sandboxlib.httpcore import SandboxHTTPServer  # noqa: E402
from sandboxlib.oauth import ClientRegistry  # noqa: E402
from sandboxlib.providers import PROVIDERS  # noqa: E402
from sandboxlib.state import SandboxState  # noqa: E402
from sandboxlib.tokens import TokenStore  # noqa: E402

PARENT_POLL = 0.5  # seconds between checks that --parent-pid is alive


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Local OAuth 2 / API stand-in for Jumpseller, BigCommerce, Keap "
                    "and a generic RFC 6749 server.")
    p.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="also write the ready line to this file (atomically)")
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    p.add_argument("--access-ttl", type=float,
                   help="access token lifetime in seconds (default: jumpseller and "
                        "generic 3600, keap 86400, bigcommerce never expires)")
    p.add_argument("--client-id", default="sandbox-client-id")
    # also from the environment, so a test can keep it off every command line
    p.add_argument("--client-secret", default=os.environ.get("SANDBOX_CLIENT_SECRET", "sbx-s3cr3t-Zq7RkA9dW"))
    p.add_argument("--client-auth", choices=("any", "basic", "post"), default="any",
                   help="generic: the client authentication the token endpoint takes "
                        "(RFC 6749 2.3.1: basic is the one every server must)")
    p.add_argument("--public-client", action="store_true",
                   help="the client has no secret (RFC 6749 2.1) and must use PKCE")
    p.add_argument("--redirect-uri", action="extend", nargs="+", default=[],
                   help="extra redirect URIs accepted exactly (loopback and oob always are)")
    p.add_argument("--orders", type=int, default=300, help="number of seeded orders")
    p.add_argument("--tls-cert", help="PEM certificate: serve HTTPS only")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    p.add_argument("--deny", action="store_true", help="authorize answers error=access_denied")
    p.add_argument("--api-key", action="extend", nargs="+", default=[],
                   help="static API keys/tokens accepted (BigCommerce X-Auth-Token, "
                        "Keap X-Keap-API-Key, generic X-API-Key)")
    p.add_argument("--basic-login", help="Jumpseller BASIC auth login / generic API Basic user")
    p.add_argument("--basic-token", help="Jumpseller BASIC auth authtoken / generic API Basic "
                                         "password")
    p.add_argument("--store-hash", default="sbx123abc", help="BigCommerce store hash")
    p.add_argument("--revoke-access-on-refresh", action="store_true",
                   help="a refresh revokes the access tokens issued before it")
    rate = p.add_argument_group("rate limits (runtime config rate_limit_*)")
    rate.add_argument("--rate-limit-per-second", type=int, default=0, metavar="N",
                      help="API requests per second (0: no limit)")
    rate.add_argument("--rate-limit-per-minute", type=int, default=0, metavar="N",
                      help="API requests per minute (0: no limit)")
    rate.add_argument("--rate-limit-windows", choices=("calendar", "sliding"),
                      help="calendar (whole seconds and minutes of the server's clock; "
                           "jumpseller's default) or sliding (the last 1 s and 60 s; the "
                           "others' default)")
    rate.add_argument("--rate-limit-enforce", action=argparse.BooleanOptionalAction,
                      default=True,
                      help="refuse requests past a limit (--no-rate-limit-enforce: only "
                           "advertise the limits in the headers, serve everything)")
    rate.add_argument("--rate-limit-retry-after", action=argparse.BooleanOptionalAction,
                      default=None,
                      help="send Retry-After with a limit answer (default: every provider "
                           "but bigcommerce)")
    rate.add_argument("--rate-limit-status", type=int, choices=(429, 403), default=429,
                      help="status of a limit answer (403: Jumpseller's older docs)")
    rate.add_argument("--rate-limit-clock-offset-ms", type=int, default=0, metavar="MS",
                      help="shift the server's clock (calendar windows, Date header) by MS")
    gen = p.add_argument_group("generic and jumpseller")
    gen.add_argument("--require-pkce", action="store_true", default=None,
                     help="authorize refuses a request without an S256 code_challenge")
    gen = p.add_argument_group("generic only")
    gen.add_argument("--public-client-id", metavar="ID",
                     help="the public client, which has no secret and must use PKCE "
                          "(default sandbox-public-client)")
    gen.add_argument("--issuer-path", metavar="PATH",
                     help='a path in the issuer identifier, e.g. "/tenant1" (RFC 8414 3)')
    gen.add_argument("--device-interval", type=int, metavar="SECONDS",
                     help="RFC 8628 polling interval (default 5; 0: no minimum)")
    gen.add_argument("--device-expires-in", type=int, metavar="SECONDS",
                     help="RFC 8628 device code lifetime (default 600)")
    gen.add_argument("--device-auto-approve-after", type=float, metavar="SECONDS",
                     help="approve every device code this long after it was issued")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if bool(args.basic_login) != bool(args.basic_token):
        p.error("--basic-login and --basic-token go together")
    if args.orders < 0:
        p.error("--orders must be >= 0")
    if args.access_ttl is not None and args.access_ttl < 0:
        p.error("--access-ttl must be >= 0")
    if args.access_ttl is not None and args.access_ttl == int(args.access_ttl):
        args.access_ttl = int(args.access_ttl)
    if not 0 <= args.port <= 65535:
        p.error("--port must be between 0 and 65535")
    try:
        args.bind_host = loopback_address(args.host)
    except ValueError as exc:
        p.error(str(exc))
    # A flag whose config key the provider lacks is refused, not ignored.
    for flag, key in (("--require-pkce", "require_pkce"),
                      ("--public-client-id", "public_client_id"),
                      ("--issuer-path", "issuer_path"),
                      ("--device-interval", "device_interval"),
                      ("--device-expires-in", "device_expires_in"),
                      ("--device-auto-approve-after", "device_auto_approve_after")):
        if getattr(args, key) is not None and not config.provider_has(args.provider, key):
            p.error("%s does not apply to --provider %s" % (flag, args.provider))
    try:
        args.config = config.defaults(PROVIDERS[args.provider], args)
    except config.ConfigError as exc:
        p.error(str(exc))
    return args


def loopback_address(host):
    """The address to bind for --host; refuses anything but loopback, since
    this server hands out tokens to anyone who asks."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError("--host must be a loopback IP address or localhost, not %r" % host)
    if not addr.is_loopback:
        raise ValueError("--host must be a loopback address, not %s" % host)
    return str(addr)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def write_atomically(path, text):
    """Readers polling for the file never see it half written."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parent_alive(pid, original_ppid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    # A dead parent can linger as a zombie that kill(0) still finds; being
    # re-parented tells us it is gone.
    if pid == original_ppid and os.getppid() != original_ppid:
        return False
    return True


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    provider_cls = PROVIDERS[args.provider]
    state = SandboxState(args.config)
    tokens = TokenStore(state.lock)
    clients = ClientRegistry(args.client_id, args.client_secret, args.redirect_uri,
                             public=args.public_client)
    provider = provider_cls(clients, args)
    stop = threading.Event()
    app = SandboxApp(state, tokens, provider, on_shutdown=stop.set)

    ctx = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    ipv6 = ":" in args.bind_host
    server = SandboxHTTPServer((args.bind_host, args.port), app, verbose=args.verbose,
                               ipv6=ipv6, tls_context=ctx)
    port = server.server_address[1]
    host = "[%s]" % args.bind_host if ipv6 else args.bind_host
    url = "%s://%s:%d" % ("https" if ctx else "http", host, port)
    provider.base_url = url  # the issuer and the device verification_uri start with it
    ready = json.dumps({"url": url, "provider": args.provider, "pid": os.getpid()})

    # Signal handlers only set the flag; the main thread does the stopping
    # (server.shutdown() from a handler running in serve_forever's thread
    # would deadlock, so serve_forever runs in its own thread).
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                               name="serve_forever", daemon=True)
    serving.start()

    if args.port_file:
        write_atomically(args.port_file, ready + "\n")
    sys.stdout.write(ready + "\n")
    sys.stdout.flush()

    original_ppid = os.getppid()
    while not stop.wait(PARENT_POLL):
        if args.parent_pid and not parent_alive(args.parent_pid, original_ppid):
            break
    state.stopping.set()  # releases "hang" faults
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
