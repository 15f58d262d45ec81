"""Peer: Python requests-oauthlib OAuth2Session, sequential signed GETs over
one kept-alive connection. Usage: requests_oauthlib_seq.py URL TOKEN N
Prints requests=<n> seconds=<wall> cpu=<user+sys seconds>."""
import os
import resource
import sys
import time

# The benchmark's server is plain http on loopback; oauthlib refuses http
# unless told it is a test.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

from requests_oauthlib import OAuth2Session  # noqa: E402


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = OAuth2Session(client_id="bench", token={"access_token": token, "token_type": "Bearer"})
    c0, t0 = cpu(), time.monotonic()
    for _ in range(n):
        r = session.get(url)
        if r.status_code != 200:
            sys.exit("request failed: %d" % r.status_code)
    print("requests=%d seconds=%.6f cpu=%.6f" % (n, time.monotonic() - t0, cpu() - c0))


main()
