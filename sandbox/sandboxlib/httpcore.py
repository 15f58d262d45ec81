"""HTTP/1.1 plumbing: request/response objects, the handler and the server.

The handler knows nothing of OAuth; it reads one request, asks the app for
an outcome (a Response, or a Fault to act out on the socket) and writes it.
Keep-alive matters: libcurl reuses connections, and the NTLM handshake only
works when the three legs share one connection, so every response carries
Content-Length (none for 204, which RFC 9110 8.6 forbids) and we close only
when the client asked (Connection: close) or the request was unreadable.
"""

import email.utils
import json
import socket
import ssl
import sys
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 10 * 1024 * 1024  # a sandbox has no business receiving more
IDLE_TIMEOUT = 60            # seconds an idle keep-alive connection is kept
HANG_LIMIT = 120             # seconds a "hang" fault holds its socket at most


class BadRequestBody(Exception):
    pass


class Request:
    """One parsed request. headers: dict with lower-case names (repeated
    headers joined with ", "); query: dict, last value wins."""

    def __init__(self, method, target, headers, body, scheme, server_host,
                 conn):
        split = urllib.parse.urlsplit(target)
        self.method = method
        self.path = split.path or "/"
        self.raw_query = split.query
        self.query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        self.headers = headers
        self.body = body
        self.scheme = scheme
        self.host = headers.get("host") or server_host
        self.conn = conn  # per-connection scratch dict (NTLM state lives here)

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self):
        """Media type without parameters, lower case ('' when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def base_url(self):
        return "%s://%s" % (self.scheme, self.host)

    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def form(self):
        return dict(urllib.parse.parse_qsl(self.text(), keep_blank_values=True))

    def json(self):
        """The body as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def log_entry(self):
        return {
            "time": time.time(),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "body": self.text(),
        }


class Response:
    def __init__(self, status, body=b"", headers=None, content_type=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))
        self.after_send = None  # called once the response is on the wire

    def add_headers(self, headers):
        self.headers.extend(headers)
        return self

    @classmethod
    def json(cls, status, obj, headers=None):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return cls(status, body, headers, "application/json; charset=utf-8")

    @classmethod
    def html(cls, status, text, headers=None):
        return cls(status, text, headers, "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location):
        return cls(302, b"", [("Location", location), ("Cache-Control", "no-store")])

    @classmethod
    def empty(cls, status=204, headers=None):
        return cls(status, b"", headers)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's
        # algorithm meets the client's delayed ACK and every keep-alive
        # answer after the first waits 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Per-connection scratch space: the NTLM challenge belongs to the
        # connection, as it does on IIS.
        self.conn_state = {}
        if isinstance(self.connection, ssl.SSLSocket):
            # The listening socket does not handshake in accept() (that would
            # let one slow client stall every other); do it here instead.
            self.connection.do_handshake()

    def version_string(self):
        return "oauthconnect-sandbox/1.0"

    def date_time_string(self, timestamp=None):
        # The Date header reads the server's clock, which
        # rate_limit_clock_offset_ms may shift from the local one.
        if timestamp is None:
            timestamp = self.server.app.state.wall_time()
        return email.utils.formatdate(timestamp, usegmt=True)

    # One entry point for every method the providers use.
    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _serve(self):
        app = self.server.app
        try:
            body = self._read_body()
        except BadRequestBody as exc:
            self.close_connection = True
            self._send(Response.json(400, {"error": "invalid_request",
                                           "error_description": str(exc)}))
            return
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        host, port = self.server.server_address[:2]
        server_host = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        req = Request(self.command, self.path, headers, body, scheme,
                      server_host, self.conn_state)
        try:
            outcome = app.handle(req)
        except Exception:  # a bug in the sandbox: say so loudly, answer 500
            traceback.print_exc(file=sys.stderr)
            outcome = Response.json(500, {"error": "sandbox_bug",
                                          "error_description": "see server stderr"})
        if isinstance(outcome, Response):
            self._send(outcome)
        else:
            self._act_out(outcome)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BadRequestBody("Content-Length is not a number")
        if n < 0 or n > MAX_BODY:
            raise BadRequestBody("Content-Length out of range")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BadRequestBody("body shorter than Content-Length")
        return data

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequestBody("bad chunk size")
            if size < 0:
                raise BadRequestBody("bad chunk size")
            if size == 0:
                # Skip trailers up to the blank line.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise BadRequestBody("body too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise BadRequestBody("body ended inside a chunk")
            chunks.append(chunk)
            self.rfile.readline(16)  # CRLF after the chunk

    def _send(self, resp, declared_length=None):
        self.send_response(resp.status)
        for name, value in resp.headers:
            # Framing is ours alone, even when a fault supplies headers.
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if resp.status != 204 and resp.status >= 200 and resp.status != 304:
            length = len(resp.body) if declared_length is None else declared_length
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if resp.status != 204 and self.command != "HEAD":
            self.wfile.write(resp.body)
        self.wfile.flush()
        if resp.after_send is not None:
            resp.after_send()

    def _act_out(self, fault):
        """Play a queued fault (see state.Fault) on this connection."""
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000.0)
        resp = Response(fault.status, fault.body, list(fault.headers.items()))
        if fault.action == "respond":
            self._send(resp)
        elif fault.action == "hang":
            # Request read, never answered: the client's timeout must fire.
            self.server.app.state.stopping.wait(HANG_LIMIT)
            self.close_connection = True
        elif fault.action == "close":
            self.close_connection = True
        elif fault.action == "truncate":
            self.close_connection = True
            self._send(resp, declared_length=len(resp.body) + 1024)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True       # a stuck client never blocks the exit
    allow_reuse_address = True
    # nginx opens a connection per subrequest: with 200 requests in flight
    # (bench/nginx_lateness) a backlog of 128 overflowed, and each dropped
    # SYN came back 1, 3, 7 s later, its token expired meanwhile. The kernel
    # caps this at net.core.somaxconn.
    request_queue_size = 1024

    def __init__(self, address, app, verbose=False, ipv6=False, tls_context=None):
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self.app = app
        self.verbose = verbose
        super().__init__(address, SandboxHandler)
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        # Clients hanging up, timing out or failing the TLS handshake are
        # normal in fault tests: stay quiet about them unless --verbose.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # includes ConnectionError, ssl.SSLError
            if self.verbose:
                sys.stderr.write("connection from %s: %s\n" % (client_address, exc))
            return
        super().handle_error(request, client_address)
