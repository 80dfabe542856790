"""A local server that answers like Slack's Web API, for the real slack-sdk to talk to.

It keeps the messages it was sent (with their metadata and threads), answers
conversations.history / replies / list, chat.update, chat.postEphemeral and
auth.test, can play a script of failures first, and can hold a post's answer
back so a test can kill the sender between the send and the record.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a poll opens 16 at once.
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up early (a cap, a timeout, a killed sender) is part of the test."""


class SlackStub:
    """Records every call; `script` is a list of (status, body, headers) answers to give first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, dict]] = []
        self.script: list[tuple[int, dict, dict]] = []
        self.messages: list[dict] = []
        self.channel_ids: dict[str, str] = {}
        # Like Slack: a token other than this one is refused (None: any token works), and
        # conversations.list says the bot is not a member of these channels.
        self.valid_token: str | None = None
        self.not_member: set[str] = set()
        self.hold_posts = threading.Event()  # set: post answers wait until released
        self.outage = threading.Event()  # set: every call answers 503 until cleared
        self.post_arrived = threading.Event()
        self.release = threading.Event()
        self._ts = 1000
        self._lock = threading.Lock()
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
                method = self.path.rsplit("/", 1)[-1]
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if stub.outage.is_set():
                    status, answer, headers = 503, {"ok": False, "error": "service_unavailable"}, {}
                elif stub.valid_token is not None and token != stub.valid_token:
                    status, answer, headers = 200, {"ok": False, "error": "invalid_auth"}, {}
                elif stub.script:
                    status, answer, headers = stub.script.pop(0)
                else:
                    status, answer, headers = 200, stub.answer(method, body), {}
                if method == "chat.postMessage" and stub.hold_posts.is_set():
                    stub.post_arrived.set()
                    stub.release.wait(30)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender died while we held its answer

            def log_message(self, *args) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "SlackStub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def channel_id(self, channel: str) -> str:
        if channel.startswith("C") and channel[1:].isdigit():
            return channel
        name = channel.lstrip("#")
        return self.channel_ids.setdefault(name, f"C{len(self.channel_ids) + 1}")

    def answer(self, method: str, body: dict) -> dict:
        with self._lock:
            if method == "chat.postMessage":
                self._ts += 1
                metadata = body.get("metadata")
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                message = {
                    "ts": f"{self._ts}.000100",
                    "channel": self.channel_id(body["channel"]),
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "thread_ts": body.get("thread_ts"),
                    "reply_broadcast": body.get("reply_broadcast"),
                    "metadata": metadata,
                }
                self.messages.append(message)
                return {"ok": True, "channel": message["channel"], "ts": message["ts"]}
            if method == "chat.update":
                for message in self.messages:
                    if message["ts"] == body.get("ts"):
                        message.update(text=body.get("text"), blocks=body.get("blocks"), updated=True)
                        return {"ok": True, "channel": message["channel"], "ts": message["ts"]}
                return {"ok": False, "error": "message_not_found"}
            if method == "conversations.history":
                channel = self.channel_id(body["channel"])
                found = [m for m in self.messages if m["channel"] == channel and (not m["thread_ts"] or m["reply_broadcast"])]
                return {"ok": True, "messages": [self._shown(m, body) for m in reversed(found)]}
            if method == "conversations.replies":
                thread = body.get("ts")
                found = [m for m in self.messages if m["ts"] == thread or m["thread_ts"] == thread]
                return {"ok": True, "messages": [self._shown(m, body) for m in found]}
            if method == "conversations.list":
                channels = [{"id": cid, "name": name, "is_member": name not in self.not_member} for name, cid in self.channel_ids.items()]
                return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
            if method == "chat.postEphemeral":
                self._ts += 1
                return {"ok": True, "message_ts": f"{self._ts}.000200"}
            if method == "auth.test":
                return {"ok": True, "user": "tracker-bot", "team": "Policy"}
            return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _shown(message: dict, body: dict) -> dict:
        shown = dict(message)
        if str(body.get("include_all_metadata")).lower() not in ("true", "1"):
            shown.pop("metadata", None)
        return shown

    def posted(self) -> list[dict]:
        return [body for path, body, _headers in self.calls if path.endswith("chat.postMessage")]

    def updates(self) -> list[dict]:
        return [body for path, body, _headers in self.calls if path.endswith("chat.update")]

    def ephemerals(self) -> list[dict]:
        return [body for path, body, _headers in self.calls if path.endswith("chat.postEphemeral")]

    def delivered_ids(self) -> list[str]:
        return [str((m["metadata"] or {}).get("event_payload", {}).get("delivery_id")) for m in self.messages]
