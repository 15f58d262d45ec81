"""Building blocks of the OAuth/API sandbox server (see sandbox/README.md).

server.py is the entry point; this package holds one concern per module:
state (counters, config, request log, faults, the server's clock), config
(the runtime config keys and their checks), ratelimit (the rate windows),
tokens (codes, grants, access and refresh tokens), httpcore (HTTP/1.1
plumbing), app (routing), oauth (RFC 6749/7636 endpoints), revocation
(RFC 7009), discovery (RFC 8414 metadata), device (RFC 8628), control
(/_sandbox/*), ntlm (the NTLM handshake stand-in) and providers/* (one
module per service).
"""
