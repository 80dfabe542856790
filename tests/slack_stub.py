"""A local server that answers like Slack's Web API, for the real slack-sdk to talk to."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a poll opens 16 at once.
    request_queue_size = 128
    daemon_threads = True


class SlackStub:
    """Records every call; `script` is a list of (status, body, headers) answers to give first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, dict]] = []
        self.script: list[tuple[int, dict, dict]] = []
        self._ts = 1000
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {key: values[0] for key, values in parse_qs(raw).items()}
                stub.calls.append((self.path, body, {k.lower(): v for k, v in self.headers.items()}))
                if stub.script:
                    status, answer, headers = stub.script.pop(0)
                else:
                    stub._ts += 1
                    status, answer, headers = 200, {"ok": True, "channel": "C1", "ts": f"{stub._ts}.000100"}, {}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "SlackStub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def posted(self) -> list[dict]:
        return [body for path, body, _headers in self.calls if path.endswith("chat.postMessage")]
