"""Rule files: every problem reported at once with file:line:column, the rest still used."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import DATA, REPO, Route, write_config
from tracker.matching.rulefile import check_rules, load_rules

BAD = DATA / "bad_rules"


def _expected() -> list[str]:
    return [line for line in (BAD / "expected.txt").read_text(encoding="utf-8").splitlines() if line]


def test_rules_check_reports_every_problem_with_its_place_and_exits_1(cli, tmp_path):
    result = cli("--config", str(write_config(tmp_path, [])), "rules", "check", str(BAD))
    assert result.exit_code == 1
    for expected in _expected():
        assert f"{BAD}/{expected}" in result.stdout, expected


@pytest.mark.parametrize("expected", _expected())
def test_each_kind_of_problem_is_reported_where_it_is(expected):
    rule_set, _results = check_rules([BAD])
    assert any(str(problem).startswith(f"{BAD}/{expected}") for problem in rule_set.problems), [
        str(p) for p in rule_set.problems
    ]


def test_a_duplicate_id_across_files_is_an_error_naming_the_other_file(tmp_path):
    source = DATA / "rules" / "toyota-solid-state.yaml"
    (tmp_path / "a").mkdir()
    shutil.copy(source, tmp_path / "a" / "one.yaml")
    shutil.copy(source, tmp_path / "a" / "two.yaml")
    rule_set = load_rules([tmp_path / "a"])
    assert [rule.id for rule in rule_set.rules] == ["toyota-solid-state"]
    assert any("duplicate id 'toyota-solid-state': also defined in" in str(p) and "one.yaml" in str(p) for p in rule_set.problems)


def test_a_poll_keeps_using_the_good_rules_when_a_file_breaks(feed_server, tmp_path, cli):
    rules = tmp_path / "rules"
    shutil.copytree(DATA / "rules", rules)
    shutil.copy(BAD / "syntax_error.yaml", rules / "syntax_error.yaml")
    feed_server.routes["/news.xml"] = Route((DATA / "feeds" / "climate_news.xml").read_bytes())
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))], rules=[rules])
    poll = cli("--config", str(config), "poll")
    assert poll.exit_code == 0
    assert "syntax_error.yaml:3:6: YAML syntax" in poll.stderr
    statuses = {row["id"]: row["status"] for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}
    assert statuses == {"toyota-solid-state": "on_track", "nissan-solid-state": "delayed"}


def test_a_broken_file_does_not_retire_its_commitment(feed_server, tmp_path, cli):
    rules = tmp_path / "rules"
    shutil.copytree(DATA / "rules", rules)
    config = write_config(tmp_path, [], rules=[rules])
    cli("--config", str(config), "status")
    (rules / "nissan-solid-state.yaml").write_text("id: nissan-solid-state\ntitle: [broken\n", encoding="utf-8")
    ids = {row["id"] for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}
    assert ids == {"toyota-solid-state", "nissan-solid-state"}


def test_rules_test_prints_pass_and_fail_per_example(cli, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(BAD / "failing_example.yaml", rules)
    shutil.copy(DATA / "rules" / "toyota-solid-state.yaml", rules)
    result = cli("--config", str(write_config(tmp_path, [], rules=[rules])), "rules", "test")
    assert result.exit_code == 1
    assert "FAIL failing-example match    sodium batteries get cheaper" in result.stdout
    assert "PASS toyota-solid-state no_match Toyota recalls" in result.stdout
    only = cli("--config", str(write_config(tmp_path, [], rules=[rules])), "rules", "test", "toyota-solid-state")
    assert only.exit_code == 0 and "4 passed, 0 failed" in only.stdout


def test_rules_explain_says_which_terms_hit_and_what_the_text_means(cli, tmp_path):
    config = write_config(tmp_path, [])
    result = cli("--config", str(config), "rules", "explain", "nissan-solid-state", "--text", "Nissan now expects solid-state batteries in 2030.")
    assert result.exit_code == 0
    assert "nissan-solid-state: MATCH" in result.stdout
    assert "matched 'nissan' in summary" in result.stdout
    assert "signal: delay" in result.stdout and "target year mentioned: 2030" in result.stdout
    assert "decided by: target, confidence 0.95" in result.stdout  # a date stated as moved, not the model's guess
    miss = cli("--config", str(config), "rules", "explain", "nissan-solid-state", "--text", "Nissan cuts Leaf prices")
    assert "no match" in miss.stdout and "no term of `all` group 2 found" in miss.stdout


def test_rules_schema_is_a_json_schema_of_the_format(cli, tmp_path):
    schema = json.loads(cli("--config", str(write_config(tmp_path, [])), "rules", "schema").stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"id", "title", "match", "examples", "deadline"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_the_shipped_rules_pass_check_and_test(cli):
    rules = REPO / "rules"
    if not any(rules.rglob("*.yaml")):
        pytest.skip("no shipped rule files yet")
    check = cli("--config", str(REPO / "config.toml"), "rules", "check")
    assert check.exit_code == 0, check.stdout
    test = cli("--config", str(REPO / "config.toml"), "rules", "test")
    assert test.exit_code == 0, test.stdout


def test_the_shipped_schema_is_current():
    """rules/schema.json is what editors validate against: regenerate it with `tracker rules schema`."""
    from tracker.matching.ruleformat import json_schema

    shipped = json.loads((REPO / "rules" / "schema.json").read_text(encoding="utf-8"))
    assert shipped == json_schema()


def test_rules_preview_shows_what_an_edited_rule_would_match_among_stored_entries(feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route((DATA / "feeds" / "climate_news.xml").read_bytes())
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])
    cli("--config", str(config), "poll")
    edited = tmp_path / "toyota.yaml"
    text = (DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8")
    # Drop the battery-term group: every Toyota story now matches, recalls included.
    edited.write_text(text.replace("    - [solid state batter*, all solid state, 全固体電池]\n", ""), encoding="utf-8")
    preview = cli("--config", str(config), "rules", "preview", str(edited))
    assert preview.exit_code == 0
    assert "toyota-solid-state: 2 of 6 stored entries match (1 new, 0 no longer matched)" in preview.stdout
    assert "+" in preview.stdout and "Toyota recalls 40,000 hybrids" in preview.stdout
    statuses = {row["id"]: row["evidence_count"] for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}
    assert statuses["toyota-solid-state"] == 1  # nothing went live


def test_a_copy_with_a_duplicate_id_never_displaces_the_file_named_after_it(tmp_path):
    (tmp_path / "r").mkdir()
    shutil.copy(DATA / "rules" / "toyota-solid-state.yaml", tmp_path / "r" / "toyota-solid-state.yaml")
    text = (DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8").replace("title: Toyota begins", "title: COPY Toyota begins")
    (tmp_path / "r" / "a-copy.yaml").write_text(text, encoding="utf-8")
    rule_set = load_rules([tmp_path / "r"])
    assert [rule.title for rule in rule_set.rules] == ["Toyota begins solid-state battery production for EVs"]
    [problem] = rule_set.problems
    assert problem.path.name == "a-copy.yaml" and "toyota-solid-state.yaml (which is used)" in problem.message


@pytest.mark.parametrize(
    "text, words",
    [
        ("id: a\ntitle:\n    text: b\n  category: c\n", "4:3: YAML syntax: this line does not fit the lines above it: indented differently"),
        ("id: a\ntitle: Toyota: solid-state\n", "2:14: YAML syntax: a ':' where none is expected"),
        ("id: a\n\ttitle: b\n", "YAML syntax: a tab: indent with spaces"),
        ("id: a\ntitle: @toyota\n", "YAML syntax: a value starting with a character YAML reserves (@, `, %…): put it in quotes"),
        ("id: 'a\ntitle: b\n", "YAML syntax: a quote or bracket opened and never closed"),
    ],
)
def test_a_yaml_slip_is_told_in_plain_words_with_the_parsers_own_after_them(tmp_path, text, words):
    (tmp_path / "rule.yaml").write_text(text, encoding="utf-8")
    [problem] = load_rules([tmp_path]).problems
    assert words in str(problem) and "(parser: " in str(problem)


def _laughs(depth: int) -> str:
    """A rule file whose aliases nest `depth` deep: 9**depth strings once expanded."""
    lines = ["id: lol", "title: laughs", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


def test_a_rule_file_full_of_aliases_is_refused_at_once_with_its_place(cli, tmp_path):
    (tmp_path / "laughs.yaml").write_text(_laughs(12), encoding="utf-8")  # 9**12 strings if expanded
    result = cli("--config", str(write_config(tmp_path, [], rules=[tmp_path])), "rules", "check")
    assert result.exit_code == 1
    assert "laughs.yaml:3:5: YAML anchor &a0: rule files may not use anchors or aliases" in result.output


@pytest.mark.parametrize(
    "text, words",
    [
        ("id: a\ntitle: &t b\n", "2:8: YAML anchor &t"),
        ("id: a\ntitle: b\nlabel: *t\n", "3:8: YAML alias *t"),
        ("id: a\ntitle: b\nmatch:\n  <<: {any: [x]}\n", "4:3: YAML merge key <<"),
        ("id: a\ntitle: b\nnotes: [" + ", ".join(["x"] * 60_000) + "]\n", "too many for a rule file"),
        ("id: a\ntitle: b\nnotes: '" + "x" * 600_000 + "'\n", "over 524,288 bytes: too big for a rule file"),
        ("id: a\ntitle: b\nmatch:\n  any: " + "[" * 2000 + "]" * 2000 + "\n", "nested more than 64 levels deep"),
        ("%YAML 1.3\n---\nid: a\ntitle: b\n", "rule.yaml:1:1"),
    ],
)
def test_anchors_aliases_merge_keys_and_giant_files_are_refused(tmp_path, text, words):
    (tmp_path / "rule.yaml").write_text(text, encoding="utf-8")
    [problem] = load_rules([tmp_path]).problems
    assert words in str(problem)


def test_a_quoted_double_angle_is_text_not_a_merge(tmp_path):
    text = (DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    (tmp_path / "toyota.yaml").write_text(text.replace(title, "title: '<<'"), encoding="utf-8")
    loaded = load_rules([tmp_path])
    assert not loaded.problems and loaded.rules[0].title == "<<"


def test_rule_files_read_before_load_from_the_cache_and_an_edit_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    first = load_rules([rules])
    assert first.ok and len(list((tmp_path / "cache" / "rules").glob("*.json"))) == len(first.rules)
    again = load_rules([rules])
    assert again.rules == first.rules
    toyota = next(rules.rglob("toyota-solid-state.yaml"))
    toyota.write_text(toyota.read_text().replace("deadline: 2028", "deadline: 2029"))
    edited = {rule.id: rule for rule in load_rules([rules]).rules}
    assert edited["toyota-solid-state"].deadline.year == 2029
    toyota.write_text(toyota.read_text().replace("deadline: 2029", "deadline: 'soon'"))
    broken = load_rules([rules])  # never valid, so never cached: the problem is told with its place
    assert "toyota-solid-state" not in {rule.id for rule in broken.rules} and broken.problems[0].path == toyota


def test_a_cache_that_cannot_be_written_is_no_cache(tmp_path, monkeypatch):
    from tracker.matching.rulefile import load_rules

    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(blocked))
    loaded = load_rules([REPO / "rules"])
    assert loaded.ok and len(loaded.rules) >= 20
