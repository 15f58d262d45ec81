"""Routing of one request: control endpoints, fault injection, NTLM, provider.

Control requests (/_sandbox/*) bypass the log and the fault queue, so a spec
can always inspect and repair the server whatever faults it queued.
"""

from . import control, ntlm


class SandboxApp:
    def __init__(self, state, tokens, provider, on_shutdown):
        self.state = state
        self.tokens = tokens
        self.provider = provider
        provider.attach(self)  # providers reach state and tokens through the app
        self.on_shutdown = on_shutdown  # called by POST /_sandbox/shutdown

    def handle(self, req):
        if req.path.startswith("/_sandbox/"):
            return control.handle(self, req)
        self.state.enter_request()
        try:
            return self._handle(req)
        finally:
            self.state.leave_request()

    def _handle(self, req):
        self.state.record_request(req.log_entry())
        fault = self.state.take_fault(req.method, req.path)
        if fault is not None and fault.action != "delay":
            return fault
        if fault is not None:
            # "delay": the normal answer, late (timeouts and concurrency tests).
            self.state.stopping.wait(fault.delay_ms / 1000.0)
        if req.path == ntlm.PATH:
            return ntlm.handle(req)
        resp = self.provider.handle(req)
        if resp is None:
            resp = self.provider.not_found(req)
        return resp
