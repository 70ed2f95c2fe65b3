"""The local stack's HTTP server: chalice's local server made to answer what API Gateway answers itself (the stack's
GatewayResponses, infra/resources.json), to log without secrets, and to stop completely."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

_ACTIVATION_TOKEN = re.compile(r"(/activate/)[^\s?#/\"'\\]+", re.IGNORECASE)
_QUERY_STRING = re.compile(r"\?[^\s\"'\\]*")


def redact(line: str) -> str:
    """A log line without activation tokens (invariant 5: never logged) and without query strings (a developer's curl
    can carry anything there, card numbers included)."""
    return _QUERY_STRING.sub("", _ACTIVATION_TOKEN.sub("\\1\u2026", line))


def gateway_handler_class() -> Any:
    """chalice's request handler, answering what API Gateway answers itself as the stack's GatewayResponses shape it
    (infra/resources.json): an unknown route or method is the API's JSON 404, not chalice local's bare 403."""
    from chalice import local

    class Handler(local.ChaliceRequestHandler):  # type: ignore[misc]
        def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
            self.local_gateway = api_gateway_class()(app_object, config)
            BaseHTTPRequestHandler.__init__(self, request, client_address, server)

        def __getattr__(self, name: str) -> Any:
            """Any other method (TRACE, PROPFIND, ...) goes to the gateway too, which answers it like API Gateway
            (the API's JSON 404), where http.server would answer its own HTML 501."""
            if name.startswith("do_") and name[3:].isalpha():
                return self._generic_handle
            raise AttributeError(name)

        def _generic_handle(self) -> None:
            """A Content-Length that is not a number of bytes gets API Gateway's 400, not a dropped connection
            (chalice's handler would raise on it and answer nothing); the body cannot be framed, so the connection
            closes after the answer."""
            length = (self.headers.get("content-length") or "0").strip()
            if length.isascii() and length.isdigit():
                super()._generic_handle()
                return
            from chalicelib.api.http import api_headers
            from chalicelib.domain.errors import InvalidInput

            body = json.dumps({"Code": InvalidInput.code, "Message": "The Content-Length header is not a number."})
            self.close_connection = True
            self.send_response(400)
            for name, value in {**api_headers(), "Content-Length": str(len(body)), "Connection": "close"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            """The access log line without the query string or an activation token (http.server logs both)."""
            # A request line http.server refused leaves no command or path: the status alone is logged.
            command, path = getattr(self, "command", None) or "-", getattr(self, "path", None) or "-"
            sys.stderr.write(f"{command} {loggable_path(path)} {getattr(code, 'value', code)}\n")

        def log_message(self, format: str, *args: Any) -> None:
            """Every other line http.server writes (errors, a malformed request line quoted raw), redacted."""
            sys.stderr.write(
                redact(f"{self.address_string()} - - [{self.log_date_time_string()}] {format % args}") + "\n"
            )

    return Handler


def loggable_path(path: str) -> str:
    """A request path for the access log: redacted like every other line, and without its fragment."""
    return redact(path.split("#", 1)[0])


@functools.cache
def api_gateway_class() -> Any:
    """chalice's LocalGateway (built on first use: chalice.local is not imported with this module)."""
    from chalice import local

    class Gateway(local.LocalGateway):  # type: ignore[misc]
        def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
            try:
                return super().handle_request(method, path, headers, body)
            except local.ForbiddenError:  # no route (this app has no authorizers, the other source of it)
                from chalicelib.api.http import NO_SUCH_ROUTE, api_headers

                return {
                    "statusCode": 404,
                    "headers": api_headers(),
                    "multiValueHeaders": {},
                    "body": json.dumps(NO_SUCH_ROUTE),
                }

    return Gateway


def stoppable_server_class() -> Any:
    from chalice.local import ThreadedHTTPServer

    class StoppableHTTPServer(ThreadedHTTPServer):  # type: ignore[misc]
        """chalice's threaded server, plus: stop() also ends the keep-alive connections browsers hold open, and waits
        for their handler threads, so nothing keeps serving after the stack stopped."""

        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128  # the socketserver default (5) resets a burst of parallel requests

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._connections: dict[Any, threading.Thread] = {}
            self._connections_lock = threading.Lock()
            super().__init__(*args, **kwargs)

        def process_request(self, request: Any, client_address: Any) -> None:
            thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                      name="devstack-http-request", daemon=True)
            with self._connections_lock:
                self._connections[request] = thread
            thread.start()

        def shutdown_request(self, request: Any) -> None:
            with self._connections_lock:
                self._connections.pop(request, None)
            super().shutdown_request(request)

        def close_connections(self, timeout_s: float = 10.0) -> None:
            with self._connections_lock:
                open_now = list(self._connections.items())
            for connection, _ in open_now:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)  # a handler blocked reading the next request sees EOF
            for _, thread in open_now:
                if thread is not threading.current_thread():
                    thread.join(timeout_s)

    return StoppableHTTPServer
