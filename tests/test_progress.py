"""Progress of long operations: a bar on a terminal, a few plain lines anywhere else."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tests.conftest import Route, write_config
from tracker.progress import show_progress


def _report(console: Console, total: int, label: str = "backfill", unit: str = "entries") -> None:
    with show_progress(label, unit, console=console) as progress:
        progress(0, total)
        for done in range(1, total + 1):
            progress(done, total)


def _plain_console() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, width=120), stream


@pytest.mark.parametrize("total", [10, 37, 1000, 25_000])
def test_without_a_terminal_it_prints_at_most_a_dozen_plain_lines_ending_at_all_done(total):
    console, stream = _plain_console()
    _report(console, total)
    lines = stream.getvalue().splitlines()
    assert 1 <= len(lines) <= 12
    assert lines[-1] == f"backfill: {total}/{total} entries (100%)"
    assert "\x1b[" not in stream.getvalue()  # no colours or cursor moves in a log file


def test_a_quick_operation_prints_no_progress_lines():
    console, stream = _plain_console()
    _report(console, 3, label="poll", unit="feeds")
    assert stream.getvalue() == ""


def test_on_a_terminal_it_draws_a_rich_bar():
    stream = io.StringIO()
    _report(Console(file=stream, force_terminal=True, width=100), 500)
    output = stream.getvalue()
    assert "━" in output and "500/500" in output and "entries" in output
    assert "backfill: 500/500" not in output  # the bar, not the plain lines


def test_nothing_to_do_draws_no_bar():
    stream = io.StringIO()
    _report(Console(file=stream, force_terminal=True, width=100), 0)
    assert "━" not in stream.getvalue()


def _rss(title: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://example.org/{title}</link></item></channel></rss>"
    ).encode()


def test_a_first_poll_of_many_feeds_reports_progress_in_plain_lines(feed_server, tmp_path, cli):
    feeds = []
    for number in range(20):
        feed_server.routes[f"/{number}.xml"] = Route(_rss(f"story-{number}"))
        feeds.append((f"feed-{number:02}", feed_server.url(f"/{number}.xml")))
    config = write_config(tmp_path, feeds)
    poll = cli("--config", str(config), "poll")
    assert poll.exit_code == 0, poll.output
    lines = [line for line in poll.stderr.splitlines() if line.startswith("poll: ") and "/20 feeds" in line]
    assert 1 <= len(lines) <= 10
    assert lines[-1] == "poll: 20/20 feeds (100%)"
    assert "feeds_checked=20" in poll.stderr


def test_ingesting_saved_files_reports_progress_per_file(tmp_path, cli):
    files = []
    for number in range(12):
        path = tmp_path / f"saved-{number}.xml"
        path.write_bytes(_rss(f"saved-{number}"))
        files += ["--file", str(path)]
    config = write_config(tmp_path, [])
    poll = cli("--config", str(config), "poll", *files)
    assert poll.exit_code == 0, poll.output
    assert "poll: 12/12 files (100%)" in poll.stderr
