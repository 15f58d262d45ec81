"""An NTLM-protected resource (GET /ntlm/whoami), answering as IIS would, so
the client's proxy/NTLM support can be exercised against something real.

The handshake is connection-bound (MS-NLMP 3.1): the Type 2 challenge is
remembered in the connection's scratch dict, and a Type 3 on another
connection starts over. Messages are parsed structurally per MS-NLMP 2.2;
the NTLMv2 response itself is not verified (no password database).
"""

import base64
import binascii
import secrets
import struct
import time

from .httpcore import Response

PATH = "/ntlm/whoami"
SIGNATURE = b"NTLMSSP\x00"

NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_OEM = 0x00000002
REQUEST_TARGET = 0x00000004
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_56 = 0x80000000

DOMAIN = "SANDBOX"
SERVER = "SBXSERVER"
DNS_DOMAIN = "sandbox.local"

# AV_PAIR ids (MS-NLMP 2.2.2.1)
MSV_AV_EOL, MSV_AV_NB_COMPUTER, MSV_AV_NB_DOMAIN = 0, 1, 2
MSV_AV_DNS_COMPUTER, MSV_AV_DNS_DOMAIN, MSV_AV_TIMESTAMP = 3, 4, 7


class NTLMError(ValueError):
    pass


def handle(req):
    if req.method != "GET":
        return Response.json(405, {"message": "Method Not Allowed"}, [("Allow", "GET")])
    scheme, _, blob = (req.header("authorization") or "").partition(" ")
    if scheme.lower() != "ntlm" or not blob.strip():
        return _challenge()
    try:
        msg = base64.b64decode(blob.strip(), validate=True)
        msg_type = _message_type(msg)
        if msg_type == 1:
            flags = _negotiate_flags(msg)
            challenge = secrets.token_bytes(8)
            type2, negotiated = build_challenge(flags, challenge)
            req.conn["ntlm"] = {"challenge": challenge, "flags": negotiated}
            return _challenge(base64.b64encode(type2).decode("ascii"))
        if msg_type == 3:
            pending = req.conn.pop("ntlm", None)
            if pending is None:
                # A Type 3 without a Type 2 on this connection: start again.
                return _challenge()
            info = parse_authenticate(msg, pending["flags"])
            return Response.json(200, info)
        raise NTLMError("unexpected NTLM message type %d" % msg_type)
    except (NTLMError, binascii.Error, struct.error) as exc:
        req.conn.pop("ntlm", None)
        return Response.json(400, {"message": "malformed NTLM message: %s" % exc})


def _challenge(token=None):
    header = "NTLM" if token is None else "NTLM " + token
    # No Connection: close: the next leg must come on this same connection.
    return Response.json(401, {"message": "NTLM authentication required"},
                         [("WWW-Authenticate", header)])


def _message_type(msg):
    if len(msg) < 12 or msg[:8] != SIGNATURE:
        raise NTLMError("bad signature")
    return struct.unpack_from("<I", msg, 8)[0]


def _negotiate_flags(msg):
    if len(msg) < 16:
        raise NTLMError("Type 1 message too short")
    return struct.unpack_from("<I", msg, 12)[0]


def build_challenge(client_flags, challenge):
    """(Type 2 message bytes, negotiated flags) answering a Type 1."""
    unicode = bool(client_flags & NEGOTIATE_UNICODE)
    flags = (NEGOTIATE_NTLM | REQUEST_TARGET | NEGOTIATE_ALWAYS_SIGN
             | TARGET_TYPE_DOMAIN | NEGOTIATE_TARGET_INFO)
    flags |= NEGOTIATE_UNICODE if unicode else NEGOTIATE_OEM
    flags |= client_flags & (NEGOTIATE_EXTENDED_SESSIONSECURITY | NEGOTIATE_128 | NEGOTIATE_56)
    target = DOMAIN.encode("utf-16-le" if unicode else "ascii")
    target_info = _av_pairs()
    header_len = 48  # no Version field: NEGOTIATE_VERSION is not set
    target_off = header_len
    info_off = target_off + len(target)
    msg = (SIGNATURE + struct.pack("<I", 2)
           + struct.pack("<HHI", len(target), len(target), target_off)
           + struct.pack("<I", flags)
           + challenge
           + b"\x00" * 8
           + struct.pack("<HHI", len(target_info), len(target_info), info_off)
           + target + target_info)
    return msg, flags


def _av_pairs():
    def pair(av_id, value):
        return struct.pack("<HH", av_id, len(value)) + value

    # FILETIME: 100 ns ticks since 1601-01-01.
    filetime = int((time.time() + 11644473600) * 10_000_000)
    dns_computer = "%s.%s" % (SERVER.lower(), DNS_DOMAIN)
    return (pair(MSV_AV_NB_DOMAIN, DOMAIN.encode("utf-16-le"))
            + pair(MSV_AV_NB_COMPUTER, SERVER.encode("utf-16-le"))
            + pair(MSV_AV_DNS_DOMAIN, DNS_DOMAIN.encode("utf-16-le"))
            + pair(MSV_AV_DNS_COMPUTER, dns_computer.encode("utf-16-le"))
            + pair(MSV_AV_TIMESTAMP, struct.pack("<Q", filetime))
            + pair(MSV_AV_EOL, b""))


def parse_authenticate(msg, negotiated_flags):
    """User, domain and workstation from a Type 3 (MS-NLMP 2.2.1.3)."""
    if len(msg) < 52:
        raise NTLMError("Type 3 message too short")
    # Old clients omit the flags field; then the negotiated ones apply.
    flags = struct.unpack_from("<I", msg, 60)[0] if len(msg) >= 64 else negotiated_flags
    encoding = "utf-16-le" if flags & NEGOTIATE_UNICODE else "latin-1"

    def field(offset):
        length, _, start = struct.unpack_from("<HHI", msg, offset)
        if start + length > len(msg):
            raise NTLMError("security buffer at %d points past the message" % offset)
        return msg[start:start + length]

    nt_response = field(20)
    try:
        domain = field(28).decode(encoding)
        user = field(36).decode(encoding)
        workstation = field(44).decode(encoding)
    except UnicodeDecodeError:
        raise NTLMError("undecodable name")
    if not user:
        raise NTLMError("empty user name (anonymous authentication is refused)")
    # NTLMv1 responses are exactly 24 bytes; NTLMv2 ones carry a blob.
    version = "NTLMv2" if len(nt_response) > 24 else "NTLMv1"
    return {"user": user, "domain": domain, "workstation": workstation,
            "unicode": bool(flags & NEGOTIATE_UNICODE), "response": version}
