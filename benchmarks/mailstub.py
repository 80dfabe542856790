"""An SMTP stub for benchmarks: accepts every message and appends it to an mbox file.

Run as its own process (its CPU is not the mail sender's), on 127.0.0.1:

    python benchmarks/mailstub.py --mbox OUT.mbox

On start it prints one JSON line on stdout: {"port": …}. Speaks just enough SMTP
for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT); no auth, no TLS.
Messages are written in mbox form ("From " lines inside a message are quoted as
">From "), so the number of messages is the number of lines starting with "From ".
"""

from __future__ import annotations

import argparse
import json
import socketserver
import sys
import threading
from pathlib import Path

SEPARATOR = b"From stub@127.0.0.1 Thu Jan  1 00:00:00 1970\n"


def count_messages(mbox: Path) -> int:
    if not mbox.exists():
        return 0
    with mbox.open("rb") as handle:
        return sum(1 for line in handle if line.startswith(b"From "))


def make_handler(mbox: Path, lock: threading.Lock) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, text: str) -> None:
            self.wfile.write(text.encode("ascii") + b"\r\n")
            self.wfile.flush()

        def handle(self) -> None:
            self.reply("220 127.0.0.1 stub ESMTP")
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self.wfile.write(b"250-127.0.0.1\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    self.wfile.flush()
                elif verb == b"DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    self.store(self.read_data())
                    self.reply("250 stored")
                elif verb == b"QUIT":
                    self.reply("221 bye")
                    return
                else:  # HELO, MAIL, RCPT, RSET, NOOP: accepted as they are
                    self.reply("250 ok")

        def read_data(self) -> list[bytes]:
            lines = []
            while (line := self.rfile.readline()) and line.rstrip(b"\r\n") != b".":
                line = line.rstrip(b"\r\n")
                line = line[1:] if line.startswith(b"..") else line
                lines.append(b">" + line if line.startswith(b"From ") else line)
            return lines

        def store(self, lines: list[bytes]) -> None:
            with lock, mbox.open("ab") as handle:
                handle.write(SEPARATOR + b"\n".join(lines) + b"\n\n")

    return Handler


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mbox", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), make_handler(args.mbox, threading.Lock()))
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
