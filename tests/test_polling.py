"""Polling over time: one story across feeds, feeds that break and recover, saved files, OPML, reloads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from storage.engine import make_engine
from storage.tables import EntryRow
from tests.conftest import DATA, Route, write_config

FEED = (DATA / "feeds" / "climate_news.xml").read_bytes()


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate><description>{title}.</description></item>"
        for title, link, date in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def _database(tmp_path: Path):
    return make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")


def test_a_syndicated_story_is_stored_matched_and_alerted_once(feed_server, tmp_path, cli):
    story = "Nissan now expects its all-solid-state battery EVs in 2030"
    feed_server.routes["/a.xml"] = Route(_rss([(story, "https://a.example/nissan?utm_source=x", "Wed, 15 Apr 2026 09:30:00 GMT")]))
    feed_server.routes["/b.xml"] = Route(_rss([(f"{story} - Wire B", "https://b.example/2026/nissan", "Wed, 15 Apr 2026 11:00:00 GMT")]))
    feed_server.routes["/c.xml"] = Route(_rss([(story, "https://a.example/nissan", "Wed, 15 Apr 2026 12:00:00 GMT")]))
    config = write_config(tmp_path, [("a", feed_server.url("/a.xml")), ("b", feed_server.url("/b.xml")), ("c", feed_server.url("/c.xml"))])
    poll = cli("--config", str(config), "poll")
    assert poll.stdout.count("pending → delayed") == 1
    evidence = json.loads(cli("--config", str(config), "evidence", "--format", "json").stdout)
    assert len(evidence) == 1
    with Session(_database(tmp_path)) as session:
        assert len(session.exec(select(EntryRow)).all()) == 1
    feeds = {row["name"]: row["items"] for row in json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)}
    assert feeds == {"a": 1, "b": 1, "c": 1}  # every feed that carried it


def test_a_broken_feed_gives_one_notice_when_it_breaks_and_one_when_it_recovers(feed_server, tmp_path, cli):
    feed_server.routes["/f.xml"] = Route(b"down", status=503)
    config = write_config(tmp_path, [("flaky", feed_server.url("/f.xml"))], extra="[fetch]\nbroken_after = 2")
    outputs = [cli("--config", str(config), "poll").stdout for _ in range(4)]
    assert sum("Feed flaky is broken" in output for output in outputs) == 1
    assert "Feed flaky is broken" in outputs[1]
    feed_server.routes["/f.xml"] = Route(FEED)
    recovered = cli("--config", str(config), "poll").stdout
    assert "Feed flaky recovered" in recovered and "after 4 failed checks" in recovered
    assert "recovered" not in cli("--config", str(config), "poll").stdout


def test_failures_back_off_exponentially_and_success_resets(feed_server, tmp_path, cli):
    feed_server.routes["/f.xml"] = Route(b"down", status=500)
    config = write_config(tmp_path, [("f", feed_server.url("/f.xml"))], extra='[schedule]\ninterval = "30m"\njitter = 0')
    delays = []
    for _ in range(3):
        cli("--config", str(config), "poll")
        row = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)[0]
        delays.append(datetime.fromisoformat(row["next_check"]) - datetime.fromisoformat(row["last_polled"]))
    assert [round(d / timedelta(minutes=30)) for d in delays] == [1, 2, 4]
    feed_server.routes["/f.xml"] = Route(FEED, headers={"Content-Type": "application/rss+xml", "Cache-Control": "max-age=7200"})
    cli("--config", str(config), "poll")
    row = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)[0]
    assert row["consecutive_failures"] == 0
    # The server asked for at most one visit in two hours: that beats the 30-minute interval.
    assert datetime.fromisoformat(row["next_check"]) - datetime.fromisoformat(row["last_polled"]) >= timedelta(hours=2)


def test_a_permanent_redirect_updates_the_stored_url(feed_server, tmp_path, cli):
    feed_server.routes["/old.xml"] = Route(status=308, headers={"Location": "/new.xml"})
    feed_server.routes["/new.xml"] = Route(FEED)
    config = write_config(tmp_path, [("moved", feed_server.url("/old.xml"))])
    poll = cli("--config", str(config), "poll")
    assert "moved permanently" in poll.stderr
    assert json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)[0]["url"] == feed_server.url("/new.xml")
    cli("--config", str(config), "poll")
    assert len(feed_server.requests_to("/old.xml")) == 1


def test_poll_file_ingests_a_saved_feed_without_fetching(tmp_path, cli):
    config = write_config(tmp_path, [("never", "http://127.0.0.1:9/never.xml")])
    poll = cli("--config", str(config), "poll", "--file", str(DATA / "feeds" / "climate_news.xml"))
    assert poll.exit_code == 0 and "pending → delayed" in poll.stdout
    evidence = json.loads(cli("--config", str(config), "evidence", "--format", "json").stdout)
    assert {row["feed"] for row in evidence} == {"file:climate_news.xml"}
    again = cli("--config", str(config), "poll", "--file", str(DATA / "feeds" / "climate_news.xml"))
    assert "new_entries=0" in again.stderr


def test_opml_import_adds_new_feeds_to_the_config_and_export_lists_them(tmp_path, cli):
    config = write_config(tmp_path, [("carbon-brief", "https://www.carbonbrief.org/feed/")])
    opml = tmp_path / "reader.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Energy">'
        '<outline text="Carbon Brief" xmlUrl="https://www.carbonbrief.org/feed/"/>'
        '<outline text="Electrek &amp; co" xmlUrl="https://electrek.co/feed/"/>'
        '<outline text="Local file" xmlUrl="file:///etc/passwd"/></outline></body></opml>',
        encoding="utf-8",
    )
    result = cli("--config", str(config), "feeds", "import", str(opml))
    assert result.exit_code == 0 and "added 1 feeds" in result.stdout
    exported = cli("--config", str(config), "feeds", "export").stdout
    assert 'xmlUrl="https://electrek.co/feed/"' in exported and "passwd" not in exported
    assert exported.count("<outline") == 2


def test_a_running_bot_picks_up_config_and_rule_changes_and_keeps_good_rules(feed_server, tmp_path):
    feed_server.routes["/one.xml"] = Route(_rss([("Quiet day", "https://a.example/1", "Mon, 01 Jun 2026 00:00:00 GMT")]))
    feed_server.routes["/two.xml"] = Route(FEED)
    rules = tmp_path / "rules"
    rules.mkdir()
    for rule in (DATA / "rules").glob("*.yaml"):
        (rules / rule.name).write_bytes(rule.read_bytes())
    config = write_config(tmp_path, [("one", feed_server.url("/one.xml"))], rules=[rules], extra='[schedule]\ntick = "1s"')
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "TRACKER_DATABASE_URL")}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "tracker"), "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )
    try:
        _wait_for(lambda: feed_server.requests_to("/one.xml"))
        (rules / "nissan-solid-state.yaml").write_text("id: nissan-solid-state\ntitle: [broken\n", encoding="utf-8")
        with config.open("a", encoding="utf-8") as handle:
            handle.write(f'[[feeds]]\nname = "two"\nurl = "{feed_server.url("/two.xml")}"\n')
        _wait_for(lambda: feed_server.requests_to("/two.xml"))
        time.sleep(2)
        process.send_signal(signal.SIGHUP)
        time.sleep(2)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "keeping the last good rule set" in stderr, stderr and "nissan-solid-state.yaml:2" in stderr
    # The broken file's commitment kept working: the Nissan delay in feed two was seen.
    assert "Nissan all-solid-state battery EVs by fiscal 2028: pending → delayed" in stdout
    assert stdout.count("Rule files have errors") == 1


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_a_broken_document_sent_again_fails_again_without_being_parsed_again(feed_server, tmp_path, cli, monkeypatch):
    import tracker.feeds.pool as parallel

    parsed = []
    original = parallel.parse_document
    monkeypatch.setattr(parallel, "parse_document", lambda *args: parsed.append(args[2]) or original(*args))
    feed_server.routes["/page.html"] = Route(b"<html><body>Shop</body></html>", headers={"Content-Type": "text/html", "ETag": '"p1"'})
    config = write_config(tmp_path, [("page", feed_server.url("/page.html"))])
    cli("--config", str(config), "poll")
    cli("--config", str(config), "poll")
    row = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)[0]
    assert len(parsed) == 1
    assert "no entries" in row["last_error"] and row["consecutive_failures"] == 2
    assert "if-none-match" not in feed_server.requests_to("/page.html")[-1]  # a 304 must not pass for health


def test_a_repaired_document_keeps_its_warning_while_it_is_not_modified(feed_server, tmp_path, cli):
    body = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item><title>Énergie nucléaire en Chine</title><link>https://x.example/a</link></item></channel></rss>'.encode("latin-1")
    feed_server.routes["/f.xml"] = Route(body, etag='"e1"')
    config = write_config(tmp_path, [("f", feed_server.url("/f.xml"))])
    for _ in range(2):
        cli("--config", str(config), "poll")
    row = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)[0]
    assert row["last_status"] == "304" and row["last_error"].startswith("recovered: CharacterEncodingOverride")


def test_a_feeds_item_count_grows_by_what_it_newly_carries(feed_server, tmp_path, cli):
    older = [(f"Grid story number {n} about storage", f"https://a.example/{n}", "Wed, 15 Apr 2026 09:30:00 GMT") for n in range(2)]
    feed_server.routes["/a.xml"] = Route(_rss(older))
    config = write_config(tmp_path, [("a", feed_server.url("/a.xml"))])
    cli("--config", str(config), "poll")
    newer = older + [("Grid story number 2 about storage", "https://a.example/2", "Thu, 16 Apr 2026 09:30:00 GMT")]
    feed_server.routes["/a.xml"] = Route(_rss(newer))
    cli("--config", str(config), "poll")
    feeds = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)
    assert feeds[0]["items"] == 3  # the two it carried before are not counted again


def test_a_big_feed_polled_again_stores_nothing_twice(feed_server, tmp_path, cli):
    # 400 entries: more than one lookup's worth of keys, links and titles (SQLite binds
    # at most 999 values), so the stored ones are found a part at a time.
    items = [(f"Grid operator note number {n} on storage tenders and regional capacity", f"https://grid.example/notes/{n}",
              "Wed, 15 Apr 2026 09:30:00 GMT") for n in range(400)]
    feed_server.routes["/big.xml"] = Route(_rss(items))
    config = write_config(tmp_path, [("big", feed_server.url("/big.xml"))])
    assert "new_entries=400" in cli("--config", str(config), "poll").stderr
    # The same stories again, their links with tracking parameters: the same entries.
    feed_server.routes["/big.xml"] = Route(_rss([(title, f"{link}?utm_source=rss", date) for title, link, date in items]))
    assert "new_entries=0" in cli("--config", str(config), "poll").stderr
    with Session(_database(tmp_path)) as session:
        assert len(session.exec(select(EntryRow)).all()) == 400
