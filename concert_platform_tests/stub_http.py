"""A real HTTP server on 127.0.0.1 for client tests: scripted answers, recorded requests.

    with StubServer() as stub:
        stub.add("GET", "/v1/artists/abc", [Reply(429, headers={"Retry-After": "1"}), Reply(200, {"id": "abc"})])
        client = SomeClient(base_url=stub.url + "/v1")

A route answers with its replies in turn and repeats the last one; a callable
route gets the request and returns a Reply. Unknown paths answer 404.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: dict | list | str | bytes | None = None
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0  # to provoke client timeouts


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float  # time.monotonic() when it arrived


class StubServer:
    def __init__(self):
        self.routes: dict[tuple[str, str], list | Callable] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers),
                    self.rfile.read(length) if length else b"",
                    time.monotonic(),
                )
                reply = stub._reply(seen)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body
                if isinstance(body, (dict, list)):
                    body, content_type = json.dumps(body).encode(), "application/json"
                else:
                    body, content_type = (body.encode() if isinstance(body, str) else body or b""), "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", content_type))
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in reply.headers.items():
                        if key != "Content-Type":
                            self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            do_GET = do_POST = _serve

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, method: str, path: str, replies: Reply | list | Callable) -> None:
        self.routes[(method, path)] = [replies] if isinstance(replies, Reply) else replies

    def _reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            route = self.routes.get((seen.method, seen.path))
            if route is None:
                return Reply(404, {"error": "not found"})
            if callable(route):
                return route(seen)
            return route.pop(0) if len(route) > 1 else route[0]

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
