"""The /_sandbox/* control endpoints that specs use to observe and steer
the server. They are never logged, faulted or rate limited."""

from . import device
from .httpcore import Response
from .state import ConfigError


def handle(app, req):
    name = req.path[len("/_sandbox/"):].rstrip("/")
    route = ROUTES.get(name)
    if route is None:
        return Response.json(404, {"error": "unknown control endpoint",
                                   "endpoints": sorted(ROUTES)})
    methods, func = route
    if req.method not in methods:
        return Response.json(405, {"error": "use " + " or ".join(methods)},
                             [("Allow", ", ".join(methods))])
    try:
        return func(app, req)
    except ConfigError as exc:
        return Response.json(400, {"error": str(exc)})


def _json_body(req):
    if not req.body.strip():
        raise ConfigError("a JSON object body is required")
    try:
        return req.json()
    except ValueError:
        raise ConfigError("the body is not valid JSON")


def stats(app, req):
    out = app.state.snapshot_counters()
    access, refresh = app.tokens.live_tokens()
    out["live_refresh_tokens"] = len(refresh)
    out["live_access_tokens"] = len(access)
    return Response.json(200, out)


def reset(app, req):
    app.state.reset()
    return Response.json(200, {"ok": True})


def config(app, req):
    if req.method == "GET":
        return Response.json(200, app.state.get_config())
    return Response.json(200, app.state.update_config(_json_body(req)))


def expire(app, req):
    return Response.json(200, {"ok": True, "expired": app.tokens.expire_all()})


def revoke(app, req):
    app.tokens.revoke_all()
    return Response.json(200, {"ok": True})


def inject(app, req):
    if req.method == "GET":
        return Response.json(200, {"pending": app.state.pending_faults()})
    return Response.json(200, {"ok": True, "queued": app.state.add_fault(_json_body(req))})


def requests(app, req):
    prefix = req.query.get("path", "/")
    return Response.json(200, app.state.recent_requests(prefix))  # a bare array, oldest first


def tokens(app, req):
    access, refresh = app.tokens.live_tokens()
    return Response.json(200, {"access": access, "refresh": refresh})


def shutdown(app, req):
    # Stop only once the answer is sent, or the process could exit first.
    resp = Response.json(200, {"ok": True})
    resp.after_send = app.on_shutdown
    return resp


ROUTES = {
    "stats": (("GET",), stats),
    "reset": (("POST",), reset),
    "config": (("GET", "POST"), config),
    "expire": (("POST",), expire),
    "revoke": (("POST",), revoke),
    "inject": (("GET", "POST"), inject),
    "requests": (("GET",), requests),
    "tokens": (("GET",), tokens),
    "device": (("GET", "POST"), device.control),
    "shutdown": (("POST",), shutdown),
}
