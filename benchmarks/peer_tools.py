"""The four tools peers.py compares, each behind one small interface.

A tool is set up on a fresh state (untimed), then run once per cycle as a command
(timed by peers.py); after each cycle it counts, from its own stored state, what it
did, so a tool that silently failed shows as such. Every tool is told the same
concurrency where it has such a setting.

    prepare(folder)       fresh state for a round: config, empty database, feeds added
    command()             the timed command line of one cycle
    warm_up(cycle)        anything the tool needs before a cycle that is not the cycle
    work()                counts from the tool's own state (and the mail stub)
    said(run)             the tool's own one-line account of the cycle, when it has one
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from harness import TIMED_TRACKER, TRACKER, Run, count_rows, require_ok, run_tracker, write_config
from mailstub import count_messages

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers"
PEERS_BIN = PEERS_VENV / "bin"
# Pinned: the versions the README's figures were measured with.
PEER_PACKAGES = ("rss2email==3.14", "reader==3.26", "sgmllib3k==1.0.0")


class Tool:
    name = "tool"
    python = True  # a Python program (the bar compares the tracker with these and with newsboat apart)

    def __init__(self, urls: list[str], concurrency: int) -> None:
        self.urls = urls
        self.concurrency = concurrency
        self.folder = Path()

    def prepare(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def warm_up(self, cycle: str) -> str | None:
        """Run before `cycle`, untimed; returns what was done, for the report."""
        return None

    def work(self) -> dict[str, int]:
        return {}

    def said(self, run: Run) -> str:
        return ""

    def write_urls(self) -> Path:
        path = self.folder / "urls.txt"
        path.write_text("\n".join(self.urls) + "\n", encoding="utf-8")
        return path


class TrackerTool(Tool):
    """`tracker --config … poll` through timed_cli.py (the console script's own main)."""

    name = "tracker"

    def __init__(self, urls: list[str], concurrency: int, rules: Path, extra: dict) -> None:
        super().__init__(urls, concurrency)
        self.rules, self.extra = rules, extra

    def prepare(self, folder: Path) -> None:
        super().prepare(folder)
        self.database = folder / "tracker.db"
        self.config = write_config(folder / "config.toml", self.database, self.rules, self.urls, self.concurrency,
                                   self.extra)
        # Migrations are set-up, not a cycle: poll_cycles.py does the same.
        require_ok(run_tracker([str(TRACKER), "--config", str(self.config), "db", "upgrade"], folder), "db upgrade")

    def command(self) -> list[str]:
        return [*TIMED_TRACKER, "--config", str(self.config), "poll"]

    def work(self) -> dict[str, int]:
        rows = count_rows(self.database)
        return {"feed items": rows["entry_feed"], "distinct entries": rows["entry"], "alerts": rows["delivery"]}

    def said(self, run: Run) -> str:
        text = " ".join(f"{key}={value}" for key, value in run.summary.items())
        return text + (f" tick={run.tick:.2f}s" if run.tick is not None else "")


class Rss2emailTool(Tool):
    """`r2e run`: fetch with feedparser, one mail per new entry, sent to the SMTP stub.

    Feeds are declared in its config file (`[feed.NAME]` sections: r2e reads them as
    feeds when its data file does not know them), which is what `r2e add` writes, minus
    one process per feed. rss2email fetches one feed after the other: it has no
    concurrency setting.
    """

    name = "rss2email"

    def __init__(self, urls: list[str], concurrency: int, smtp_port: int, mbox: Path) -> None:
        super().__init__(urls, concurrency)
        self.smtp_port, self.mbox = smtp_port, mbox
        self.sent_before = 0

    def prepare(self, folder: Path) -> None:
        super().prepare(folder)
        self.data = folder / "r2e.json"
        self.config = folder / "r2e.cfg"
        lines = [
            "[DEFAULT]",
            "from = bench@127.0.0.1",
            "to = reader@127.0.0.1",
            "email-protocol = smtp",
            f"smtp-server = 127.0.0.1:{self.smtp_port}",
            "verbose = warning",
            "",
        ]
        for number, url in enumerate(self.urls):
            lines += [f"[feed.feed-{number:04d}]", f"url = {url}", ""]
        self.config.write_text("\n".join(lines), encoding="utf-8")
        self.sent_before = count_messages(self.mbox)

    def command(self) -> list[str]:
        return [str(PEERS_BIN / "r2e"), "-c", str(self.config), "-d", str(self.data), "run"]

    def work(self) -> dict[str, int]:
        sent = count_messages(self.mbox)
        mails, self.sent_before = sent - self.sent_before, sent
        feeds = json.loads(self.data.read_text(encoding="utf-8"))["feeds"] if self.data.exists() else []
        return {"mails sent": mails, "entries seen": sum(len(feed.get("seen", {})) for feed in feeds),
                "feeds with entries": sum(1 for feed in feeds if feed.get("seen"))}

    def said(self, run: Run) -> str:
        errors = run.stderr.count("[ERROR]")
        return f"{errors} [ERROR] lines" if errors else ""


class ReaderTool(Tool):
    """reader's update_feeds_iter(workers=N, scheduled=False) in reader_cycle.py."""

    name = "reader"

    def prepare(self, folder: Path) -> None:
        super().prepare(folder)
        self.database = folder / "reader.sqlite"
        self.script = str(HERE / "reader_cycle.py")
        _check([str(PEERS_BIN / "python"), self.script, "setup", str(self.database), str(self.write_urls())])

    def command(self) -> list[str]:
        return [str(PEERS_BIN / "python"), self.script, "update", str(self.database), "--workers", str(self.concurrency)]

    def work(self) -> dict[str, int]:
        counts = json.loads(_check([str(PEERS_BIN / "python"), self.script, "count", str(self.database)]))
        return {"entries": counts["entries"], "feeds with entries": counts["feeds_with_entries"],
                "feeds in error": counts["feeds_with_error"]}

    def said(self, run: Run) -> str:
        return next((line[len("peer: "):] for line in run.stderr.splitlines() if line.startswith("peer: ")), "")


class NewsboatTool(Tool):
    """`newsboat -x reload` with its own urls file, config and cache, HOME in the temp folder.

    newsboat stores a feed's ETag only from its second fetch on (on the first, the
    validators are written before the feed's row exists and are lost), so its first
    conditional request comes on the third reload: one untimed reload runs before its
    unchanged cycle, or that cycle would be a second fresh-looking download.
    """

    name = "newsboat"
    python = False

    def prepare(self, folder: Path) -> None:
        super().prepare(folder)
        self.cache = folder / "cache.db"
        self.settings = folder / "config"
        # reload-threads: newsboat's fetch concurrency (default 1), set like the others'.
        self.settings.write_text(f"reload-threads {self.concurrency}\n", encoding="utf-8")
        self.url_file = self.write_urls()

    def command(self) -> list[str]:
        binary = shutil.which("newsboat") or "newsboat"
        return ["env", f"HOME={self.folder}", binary, "-u", str(self.url_file), "-c", str(self.cache),
                "-C", str(self.settings), "-x", "reload"]

    def warm_up(self, cycle: str) -> str | None:
        if cycle != "unchanged":
            return None
        require_ok(run_tracker(self.command(), self.folder), "(newsboat warm-up reload)")
        return "one untimed reload first, so newsboat has stored the ETags"

    def work(self) -> dict[str, int]:
        if not self.cache.exists():
            return {"items": 0}
        with sqlite3.connect(self.cache) as connection:
            items, feeds = connection.execute("SELECT count(*), count(DISTINCT feedurl) FROM rss_item").fetchone()
        return {"items": items, "feeds with items": feeds}


def _check(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} … failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def ensure_peers(install: bool) -> list[str]:
    """The peers' virtualenv (benchmarks/.peers, ignored by git) and newsboat; what is missing after trying."""
    if not (PEERS_BIN / "r2e").exists() or not (PEERS_BIN / "python").exists():
        if not install:
            return ["rss2email and reader (benchmarks/.peers): run without --no-install"]
        print(f"installing {', '.join(PEER_PACKAGES)} into {PEERS_VENV}", flush=True)
        _check([sys.executable, "-m", "venv", str(PEERS_VENV)])
        _check([str(PEERS_BIN / "pip"), "install", "--quiet", *PEER_PACKAGES])
    if shutil.which("newsboat") is None and install and shutil.which("apt-get"):
        print("installing newsboat (apt-get install -y newsboat)", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "newsboat"], check=False)
    return [] if shutil.which("newsboat") else ["newsboat (Debian: apt-get install -y newsboat)"]


def versions() -> str:
    """What was compared, as installed."""
    script = ("import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
              "('rss2email', 'reader', 'feedparser')))")
    peers = _check([str(PEERS_BIN / "python"), "-c", script]).strip()
    newsboat = subprocess.run(["newsboat", "--version"], capture_output=True, text=True).stdout.splitlines()
    return f"{peers}; {newsboat[0] if newsboat else 'newsboat ?'}"
