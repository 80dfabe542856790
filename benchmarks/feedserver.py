"""A feed server for benchmarks, run as its own process so its CPU is not the tracker's.

Serves every feed file of a folder (*.xml, *.atom, *.rdf, *.json) on 127.0.0.1,
`--count` URLs in all (files are reused under new URLs when there are fewer files).
On start it prints one JSON line on stdout: {"port": …, "paths": [...]}.

Validators are switched at run time, so one database can see every kind of cycle:
  GET /__bench/validators/on   ETag on every feed, 304 for a matching If-None-Match
  GET /__bench/validators/off  the same bytes, no ETag, conditional headers ignored
  GET /__bench/stats           JSON counts by status since the last switch
  GET /__bench/grow/N          N new items at the top of every feed (copies of its first
                               item with new ids, links and titles), new ETags: a feed
                               read before that now has a few new stories
  GET /__bench/reset           every feed's original bytes again

`--log FILE` appends one line per feed request: "UNIX_TIME STATUS PATH" (instances.py
reads it to prove no feed was fetched twice within one interval).

`--hostile N` adds N copies (own URLs, fetched at once) of a 200 MB body (chunked,
generated on the fly, never held in memory), of the same with its Content-Length
declared, and of a gzip bomb (1 GiB once inflated, 1 MB on the wire).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEED_SUFFIXES = {
    ".xml": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".json": "application/json",
}
SKIPPED = {"manifest.json", "README.md"}
HOSTILE = ("huge-chunked.xml", "huge-declared.xml", "gzip-bomb.xml")
HUGE_BYTES = 200 * 1024 * 1024
BOMB_BYTES = 1024 * 1024 * 1024
CHUNK = 64 * 1024
_PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>hostile</title>\n'


def feed_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in FEED_SUFFIXES and p.name not in SKIPPED and p.is_file())


def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """A gzip member inflating to `size` bytes, built from one compressed MiB repeated.

    After a full flush the compressor forgets its window, so every further MiB of
    spaces compresses to the same bytes: 1 GiB costs three compress calls and a CRC.
    """
    block = b" " * (1024 * 1024)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(_PROLOG) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeated = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush(zlib.Z_FINISH)
    blocks = (size - len(_PROLOG)) // len(block)
    crc = zlib.crc32(_PROLOG)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    total = len(_PROLOG) + blocks * len(block)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (total % 2**32).to_bytes(4, "little")
    return header + head + repeated * blocks + tail + trailer


def _endless_chunk() -> bytes:
    item = (b"<item><title>More of the same</title><description>" + b"filler text " * 40 + b"</description></item>\n")
    return (item * (CHUNK // len(item) + 1))[:CHUNK]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 16+ connections at once must not wait for a SYN retry

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up (a capped fetch, the end of a poll) is not an error here.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class State:
    def __init__(self, routes: dict[str, tuple[bytes, str, str]], bomb: bytes | None, log: Path | None = None) -> None:
        self.routes = routes
        self.originals = dict(routes)
        self.grown = 0
        self.bomb = bomb
        self.log = log.open("a", encoding="utf-8", buffering=1) if log else None
        self.validators = True
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def count(self, key: str, amount: int = 1) -> None:
        with self.lock:
            self.counts[key] += amount

    def record(self, arrived: float, status: int, path: str) -> None:
        if self.log is not None:
            with self.lock:
                self.log.write(f"{arrived:.6f} {status} {path}\n")


_FIRST_ITEM = re.compile(rb"<(item|entry)[\s>].*?</\1\s*>", re.DOTALL)


def grow(route: tuple[bytes, str, str], number: int) -> tuple[bytes, str, str]:
    """The feed with one new item before its first: the first item, with its id, link and
    title marked as story `number`. A feed without items stays as it is."""
    body, content_type, _etag = route
    found = _FIRST_ITEM.search(body)
    if found is None:
        return route
    item, mark = found.group(0), b"-new%d" % number
    for closing in (b"</guid>", b"</id>", b"</link>", b"</title>"):
        item = item.replace(closing, mark + closing, 1)
    item = re.sub(rb'(<link\b[^>]*\bhref=")([^"]*)"', lambda m: m.group(1) + m.group(2) + b"#" + mark[1:] + b'"', item, count=1)
    grown = body[: found.start()] + item + b"\n" + body[found.start():]
    return grown, content_type, '"' + hashlib.sha256(grown).hexdigest()[:16] + '"'


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    filler = _endless_chunk()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            arrived = time.time()
            if self.path.startswith("/__bench/"):
                return self._control()
            if self.path.startswith("/hostile/"):
                return self._hostile()
            route = state.routes.get(self.path)
            if route is None:
                return self._send(404, {"Content-Type": "text/plain"}, b"not found")
            body, content_type, etag = route
            if state.validators and self.headers.get("If-None-Match") == etag:
                state.count("304")
                state.record(arrived, 304, self.path)
                return self._send(304, {"ETag": etag}, b"")
            headers = {"Content-Type": content_type}
            if state.validators:
                headers["ETag"] = etag
            state.count("200")
            state.count("bytes", len(body))
            state.record(arrived, 200, self.path)
            self._send(200, headers, body)

        def _control(self) -> None:
            if self.path.startswith("/__bench/grow/"):
                with state.lock:
                    for _ in range(int(self.path.rsplit("/", 1)[-1])):
                        state.grown += 1
                        state.routes = {path: grow(route, state.grown) for path, route in state.routes.items()}
            elif self.path == "/__bench/reset":
                with state.lock:
                    state.routes, state.grown = dict(state.originals), 0
            if self.path in ("/__bench/validators/on", "/__bench/validators/off"):
                with state.lock:
                    state.validators = self.path.endswith("/on")
                    state.counts.clear()
            body = json.dumps({"validators": state.validators, **state.counts}).encode()
            self._send(200, {"Content-Type": "application/json"}, body)

        def _hostile(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            state.count(name)
            if name == "gzip-bomb.xml" and state.bomb is not None:
                headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
                return self._send(200, headers, state.bomb)
            if name not in HOSTILE or state.bomb is None:
                return self._send(404, {"Content-Type": "text/plain"}, b"not found")
            chunked = name == "huge-chunked.xml"
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(HUGE_BYTES))))
            self.end_headers()
            try:
                self._stream(filler, chunked)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up: what a capped fetcher should do

        def _stream(self, filler: bytes, chunked: bool) -> None:
            sent = 0
            while sent < HUGE_BYTES:
                piece = (_PROLOG + filler)[:CHUNK] if sent == 0 else filler
                piece = piece[: HUGE_BYTES - sent]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler


def build_routes(folder: Path, count: int | None) -> dict[str, tuple[bytes, str, str]]:
    files = feed_files(folder)
    if not files:
        raise SystemExit(f"feedserver: no feed files (*.xml, *.atom, *.rdf, *.json) in {folder}")
    bodies = {path: path.read_bytes() for path in files}
    routes = {}
    for number in range(count or len(files)):
        path = files[number % len(files)]
        body = bodies[path]
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        routes[f"/feeds/{number:04d}/{path.name}"] = (body, FEED_SUFFIXES[path.suffix], etag)
    return routes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--hostile", type=int, default=0, metavar="N", help="copies of each hostile URL")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, help="append 'UNIX_TIME STATUS PATH' per feed request")
    args = parser.parse_args()
    routes = build_routes(args.root, args.count)
    state = State(routes, gzip_bomb() if args.hostile else None, args.log)
    paths = list(routes)
    paths += [f"/hostile/{copy}/{name}" for copy in range(args.hostile) for name in HOSTILE]
    server = QuietServer(("127.0.0.1", args.port), make_handler(state))
    print(json.dumps({"port": server.server_address[1], "paths": paths}), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
