"""Building blocks of the OAuth/API sandbox server (see sandbox/README.md).

server.py is the entry point; this package holds one concern per module:
state (counters, config, request log, faults, rate windows), tokens (codes,
grants, access and refresh tokens), httpcore (HTTP/1.1 plumbing), app
(routing), oauth (RFC 6749/7636 endpoints), control (/_sandbox/*), ntlm
(the NTLM handshake stand-in) and providers/* (one module per service).
"""
