"""A bad config stops every command with exit status 2 and names the file and the key."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tracker.config import ConfigError, load_settings, parse_duration


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[database]\nurl = "sqlite:///x.db"\ncolour = "blue"\n', "database.colour: unknown key"),
        ("[schedul]\ninterval = '30m'\n", "schedul: unknown key"),
        ('[[feeds]]\nname = "a"\nurl = "ftp://example.org/feed"\n', "feeds[0].url: 'ftp://example.org/feed' is not an http(s) URL"),
        ('[[feeds]]\nname = "a"\n', "feeds[0].url: required key is missing"),
        ('[schedule]\ninterval = "soon"\n', "schedule.interval: 'soon' is not a duration"),
        ('[fetch]\nper_host = 0\n', "fetch.per_host"),
        ('[[feeds]]\nname = "a"\nurl = "https://a.example/f"\n[[feeds]]\nname = "a"\nurl = "https://b.example/f"\n', "two feeds are named 'a'"),
        ("[database\n", "not valid TOML"),
    ],
)
def test_a_bad_config_names_the_file_and_the_key(tmp_path, cli, text, expected):
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    result = cli("--config", str(config), "status")
    assert result.exit_code == 2
    assert str(config) in result.stderr
    assert expected in result.stderr


def test_a_missing_config_file_exits_2(tmp_path, cli):
    result = cli("--config", str(tmp_path / "nowhere.toml"), "poll")
    assert result.exit_code == 2
    assert "nowhere.toml: config file not found" in result.stderr


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    config = tmp_path / "sub" / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///data/t.db"\n[rules]\npaths = ["my-rules"]\n', encoding="utf-8")
    settings = load_settings(config, environ={})
    assert settings.database.url == f"sqlite:///{tmp_path / 'sub' / 'data' / 't.db'}"
    assert settings.rule_paths == [tmp_path / "sub" / "my-rules"]


def test_environment_variables_override_the_database_and_slack_urls(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    settings = load_settings(
        config,
        environ={"TRACKER_DATABASE_URL": "postgresql+psycopg://db/t", "SLACK_API_URL": "http://127.0.0.1:9/api/"},
    )
    assert settings.database.url == "postgresql+psycopg://db/t"
    assert settings.slack.api_url == "http://127.0.0.1:9/api/"


def test_the_database_url_can_come_from_a_file_and_a_missing_file_is_named(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    secret_file = tmp_path / "db-url"
    secret_file.write_text("postgresql+psycopg://tracker:pw@db/t\n", encoding="utf-8")
    settings = load_settings(config, environ={"TRACKER_DATABASE_URL_FILE": str(secret_file)})
    assert settings.database.url == "postgresql+psycopg://tracker:pw@db/t"
    with pytest.raises(ConfigError, match="TRACKER_DATABASE_URL_FILE: cannot read"):
        load_settings(config, environ={"TRACKER_DATABASE_URL_FILE": str(tmp_path / "absent")})
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TRACKER_DATABASE_URL_FILE: .*empty is empty"):  # not a quiet fallback to SQLite
        load_settings(config, environ={"TRACKER_DATABASE_URL_FILE": str(tmp_path / "empty")})
    with pytest.raises(ConfigError, match="both TRACKER_DATABASE_URL and TRACKER_DATABASE_URL_FILE are set"):
        load_settings(config, environ={"TRACKER_DATABASE_URL": "sqlite:///x.db", "TRACKER_DATABASE_URL_FILE": str(secret_file)})


def test_a_lease_shorter_than_a_fetch_is_refused(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\nlease = "30s"\n[fetch]\ndeadline = "60s"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"schedule.lease \(30s\) must be longer than fetch.deadline \(60s\)"):
        load_settings(config, environ={})


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("30m", 1800), ("2h", 7200), ("1d", 86400), (90, 90), ("1.5h", 5400)])
def test_durations_read_as_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


def test_the_shipped_config_is_valid_and_lists_real_feeds():
    settings = load_settings(REPO / "config.toml", environ={})
    assert len(settings.feeds) >= 10
    assert all(feed.url.startswith("https://") for feed in settings.feeds)


def test_every_key_of_the_shipped_config_is_explained_by_a_comment():
    """Docs as tests: each key line in config.toml is preceded by (or carries) a comment."""
    lines = (REPO / "config.toml").read_text(encoding="utf-8").splitlines()
    from tracker.config import Settings

    sections = {name: field.annotation for name, field in Settings.model_fields.items() if name != "feeds"}
    text = "\n".join(lines)
    for section, model in sections.items():
        assert f"[{section}]" in text, section
        for key in model.model_fields:
            # A key may be shown commented out when it has no default value.
            index = next((i for i, line in enumerate(lines) if re.match(rf"^(# )?{key} =", line)), None)
            assert index is not None, f"[{section}] {key} is not in the shipped config.toml"
            assert lines[index - 1].lstrip().startswith("#"), f"{key} has no comment above it"


def test_config_errors_never_become_tracebacks(tmp_path):
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xff\xfe not text")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(config)


def test_an_unknown_key_close_to_a_real_one_gets_a_suggestion(tmp_path, cli):
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\nintervall = "30m"\n', encoding="utf-8")
    result = cli("--config", str(config), "status")
    assert result.exit_code == 2 and "schedule.intervall: unknown key (did you mean 'interval'?)" in result.stderr
