"""How the tracker reads news, as an analyst would notice: a change is not a level, a
word about another subject is not the commitment's move, an umbrella stands while a
child does, history is told in the dates things happened, and a person's reading holds
through retraining and polling."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from tests.conftest import DATA, REPO, write_config
from tracker.matching.matcher import RuleMatcher
from tracker.matching.model_store import shipped_model
from tracker.matching.rulefile import load_rules
from tracker.model import Entry, Status
from tracker.status.derive import Derived, rollup
from tracker.web import create_app


@pytest.fixture(scope="module")
def shipped_matcher() -> RuleMatcher:
    return RuleMatcher(list(load_rules([REPO / "rules"]).rules), signal_model=shipped_model(), min_confidence=0.25)


@pytest.fixture(scope="module")
def phrase_matcher() -> RuleMatcher:
    """Without a model: the built-in phrases decide."""
    return RuleMatcher(list(load_rules([REPO / "rules"]).rules))


def read(matcher: RuleMatcher, title: str, text: str = "") -> dict:
    return {match.rule_id: match for match in matcher.match(Entry(key=title, title=title, summary=text))}


def test_a_number_told_as_a_change_is_never_stored_as_the_level(shipped_matcher):
    found = read(shipped_matcher, "China's share of US lithium-ion battery imports plunges by 36.2%")
    assert "us-battery-imports-china" in found
    match = found["us-battery-imports-china"]
    assert match.value is None and match.change == -36.2
    level = read(shipped_matcher, "China's share of US lithium-ion battery imports falls to 58% as tariffs bite")["us-battery-imports-china"]
    assert level.value == 58.0 and level.change is None


def test_a_delay_that_belongs_to_another_subject_does_not_delay_the_commitment(shipped_matcher):
    found = read(shipped_matcher, "US lithium-ion battery imports from China rise despite tariff delay")
    assert found["us-battery-imports-china"].signal.value != "delay"


def test_a_year_stated_later_than_the_target_is_a_delay_with_the_new_target(shipped_matcher):
    match = read(shipped_matcher, "Toyota now expects its first solid-state battery cars in 2030")["toyota-solid-state"]
    assert (match.signal.value, match.target_year, match.signal_source) == ("delay", 2030, "target")


def test_an_umbrella_stands_while_any_child_stands():
    own = Derived(Status.ABANDONED)
    assert rollup(own, [Status.ABANDONED, Status.ON_TRACK]).status is Status.WEAKENED
    assert rollup(Derived(Status.PENDING), [Status.ABANDONED, Status.ABANDONED]).status is Status.ABANDONED
    assert rollup(own, [Status.ON_TRACK, Status.PENDING]).status is Status.ON_TRACK


def test_a_childs_news_moves_the_child_and_the_umbrella_follows(tmp_path, cli):
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("ice-phaseout-2035.yaml", "ice-phaseout-2035-california.yaml", "ice-phaseout-2035-eu.yaml"):
        (rules / name).write_text((REPO / "rules" / "vehicles" / name).read_text(encoding="utf-8"), encoding="utf-8")
    config = write_config(tmp_path, [], rules=[rules])
    feed = tmp_path / "news.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Congress repeals California's 2035 ban on new gasoline cars</title><link>https://news.example/ca</link>"
        "<pubDate>Thu, 22 May 2025 08:00:00 GMT</pubDate></item></channel></rss>", encoding="utf-8")
    cli("--config", str(config), "poll", "--file", str(feed))
    rows = {row["id"]: row["status"] for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}
    assert rows["ice-phaseout-2035-california"] == "abandoned"
    assert rows["ice-phaseout-2035"] == "weakened"  # the EU's rule stands: the umbrella is weakened, not felled
    evidence = json.loads(cli("--config", str(config), "evidence", "ice-phaseout-2035", "--format", "json").stdout)
    assert evidence == []  # the news is California's, not the umbrella's own


STEPS = (
    ("Toyota starts a solid-state battery pilot line", "Mon, 07 Mar 2022 08:00:00 GMT"),
    ("Toyota delays solid-state battery output again", "Tue, 14 Nov 2023 08:00:00 GMT"),
    ("Toyota scraps its solid-state battery plan", "Wed, 04 Jun 2025 08:00:00 GMT"),
)


def test_three_years_of_news_in_a_first_poll_build_the_timeline_in_event_dates_and_one_alert(tmp_path, cli):
    config = write_config(tmp_path, [])
    items = "".join(f"<item><title>{title}</title><link>https://news.example/{n}</link><pubDate>{at}</pubDate></item>" for n, (title, at) in enumerate(STEPS))
    feed = tmp_path / "years.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>', encoding="utf-8")
    poll = cli("--config", str(config), "poll", "--file", str(feed))
    assert poll.stdout.count("Toyota begins solid-state battery production for EVs:") == 1  # one alert for the commitment
    assert "pending → abandoned" in poll.stdout and "Timeline: 2022-03-07 on track → 2023-11-14 delayed → 2025-06-04 abandoned" in poll.stdout
    card = json.loads(cli("--config", str(config), "show", "toyota-solid-state", "--format", "json").stdout)
    assert [(change["new"], change["event_at"][:10]) for change in card["history"]] == [
        ("on_track", "2022-03-07"), ("delayed", "2023-11-14"), ("abandoned", "2025-06-04")]
    assert card["status_since"].startswith("2025-06-04")  # since when it happened, not since the poll


def test_a_label_holds_through_retraining_and_the_next_poll(tmp_path, cli):
    config = write_config(tmp_path, [], extra='[signals]\nreader = "model"')
    feed = tmp_path / "news.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                    "<item><title>Toyota and Idemitsu talk up solid-state battery hopes</title><link>https://news.example/a</link>"
                    "<pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate></item></channel></rss>", encoding="utf-8")
    cli("--config", str(config), "poll", "--file", str(feed))
    [evidence] = json.loads(cli("--config", str(config), "evidence", "toyota-solid-state", "--format", "json").stdout)
    labelled = cli("--config", str(config), "evidence", "label", str(evidence["entry_id"]), "toyota-solid-state", "doubt",
                   "--note", "hopes are not a step", "--by", "ana")
    assert labelled.exit_code == 0, labelled.output
    trained = cli("--config", str(config), "signals", "train")
    assert trained.exit_code == 0 and "1 labels" in trained.stdout, trained.output
    second = tmp_path / "again.xml"
    second.write_text(feed.read_text(encoding="utf-8").replace("news.example/a", "other.example/a"), encoding="utf-8")
    cli("--config", str(config), "poll", "--file", str(second))
    row = {row["id"]: row for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}["toyota-solid-state"]
    assert row["status"] == "at_risk"
    history = json.loads(cli("--config", str(config), "show", "toyota-solid-state", "--format", "json").stdout)["history"]
    assert any(change["by"] == "ana" and "hopes are not a step" in change["note"] for change in history)
    card = cli("--config", str(config), "show", "toyota-solid-state").stdout
    assert "read as doubt by ana: hopes are not a step" in card  # who and why, where a reviewer reads the history
    info = json.loads(cli("--config", str(config), "signals").stdout)
    assert info["person_labels"] == 1


def test_signals_evaluate_prints_precision_recall_and_a_confusion_matrix(tmp_path, cli):
    config = write_config(tmp_path, [], extra='[signals]\nreader = "model"')
    result = cli("--config", str(config), "signals", "evaluate", "--folds", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["shipped examples (cross-validated)"]
    assert set(report["by_signal"]) >= {"delay", "weakened", "abandoned", "achieved", "doubt"}
    assert len(report["confusion"]) == len(report["labels"]) and report["readings"] > 1000


# The web page's form.


@pytest.fixture
def labelled_page(tmp_path, cli):
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(DATA / "feeds" / "climate_news.xml"))
    [delay] = [row for row in json.loads(cli("--config", str(config), "evidence", "nissan-solid-state", "--format", "json").stdout) if "2030" in row["item_title"]]
    with TestClient(create_app(config)) as client:
        yield config, client, delay["entry_id"]


def _form(page: str, entry_id: int) -> dict:
    start = page.index(f'/evidence/{entry_id}/label"')
    token = page[page.index('name="csrf" value="', start) + len('name="csrf" value="'):].split('"', 1)[0]
    return {"csrf": token, "signal": "reaffirmed", "note": "a later year in a rumour", "by": "bo"}


def test_the_page_form_labels_evidence_and_moves_the_status(labelled_page, cli):
    config, client, entry_id = labelled_page
    page = client.get("/commitments/nissan-solid-state").text
    answer = client.post(f"/commitments/nissan-solid-state/evidence/{entry_id}/label", data=_form(page, entry_id), follow_redirects=False,
                         headers={"Origin": "http://testserver"})
    assert answer.status_code == 303
    row = {row["id"]: row for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}["nissan-solid-state"]
    assert row["status"] == "on_track"


@pytest.mark.parametrize("change", ["no token", "another site", "token of another entry"])
def test_the_page_form_refuses_what_another_site_could_send(labelled_page, cli, change):
    config, client, entry_id = labelled_page
    before = cli("--config", str(config), "status", "--format", "json").stdout
    form = _form(client.get("/commitments/nissan-solid-state").text, entry_id)
    headers = {"Origin": "http://testserver"}
    if change == "no token":
        form.pop("csrf")
    elif change == "another site":
        headers = {"Origin": "https://evil.example"}
    else:  # a good token, made for another entry of the page
        from tracker.web.forms import form_token

        form["csrf"] = form_token(client.app.state.form_secret, "nissan-solid-state", entry_id + 1)
    answer = client.post(f"/commitments/nissan-solid-state/evidence/{entry_id}/label", data=form, headers=headers, follow_redirects=False)
    assert answer.status_code == 403
    assert cli("--config", str(config), "status", "--format", "json").stdout == before


def test_umbrellas_are_locked_after_their_children_so_instances_never_wait_on_each_other():
    from tracker.status.commitments import lock_order

    assert lock_order(["ice-phaseout-2035", "ice-phaseout-2035-eu", "bri-green", "ice-phaseout-2035-uk"], {"ice-phaseout-2035"}) == [
        "bri-green", "ice-phaseout-2035-eu", "ice-phaseout-2035-uk", "ice-phaseout-2035"]


def test_a_console_alert_for_an_unsure_reading_says_it_needs_a_look():
    from datetime import date

    from notifiers.render import plain_text
    from tracker.model import Alert

    alert = Alert(kind="evidence", commitment_id="x", commitment_title="X", signal="abandoned", needs_review=True, entry_id=1)
    assert "needs a look: it moved no status" in plain_text(alert, date(2026, 1, 1))


def test_a_commitment_named_only_deep_in_a_long_article_is_a_passing_mention(shipped_matcher):
    filler = "The city council debated parking fees and the new library for most of the evening. " * 30
    deep = Entry(key="deep", title="Council meeting notes", content=filler + "Toyota says its solid-state battery plan is on schedule.")
    lead = Entry(key="lead", title="Council meeting notes", content="Toyota says its solid-state battery plan is on schedule. " + filler)
    assert "toyota-solid-state" not in {match.rule_id for match in shipped_matcher.match(deep)}
    assert "toyota-solid-state" in {match.rule_id for match in shipped_matcher.match(lead)}


def test_chinese_terms_far_apart_in_one_paragraph_are_not_near_each_other(shipped_matcher):
    far = "丰田" + "今天的天气很好，我们去公园散步，然后吃了午饭，下午看了一场电影，晚上和朋友聊天。" * 4 + "固态电池"
    near = "丰田宣布固态电池将于2027年量产"
    assert "toyota-solid-state" not in {match.rule_id for match in shipped_matcher.match(Entry(key="far", title="x", summary=far))}
    assert "toyota-solid-state" in {match.rule_id for match in shipped_matcher.match(Entry(key="near", title=near))}


@pytest.mark.parametrize("title", ["Xi pledges carbon neutrality before 2060 at the UN", "China sets its 2035 climate goal: emissions 7-10% below peak"])
def test_a_later_year_for_another_goal_is_not_a_delay(shipped_matcher, title):
    """China's NDC targets 2030; a 2035 or 2060 goal beside it is a new pledge, not a slip."""
    match = read(shipped_matcher, title)["china-ndc"]
    assert match.signal.value != "delay" and match.signal_source != "target"


@pytest.mark.parametrize("text, levels, changes", [
    ("Die Importe aus China sind um 36,2 Prozent gesunken", [], [-36.2]),
    ("von 72 Prozent auf 50 Prozent gesunken", [50.0], []),
    ("ein Anteil von 72 Prozent auf dem deutschen Markt", [72.0], []),
    ("les importations chinoises en baisse de 36 %", [], [-36.0]),
    ("la part chinoise atteint 72,4 %", [72.4], []),
    ("cayó un 36% la cuota china", [], [-36.0]),
    ("同比下降36.2%", [], [-36.2]),
    ("占比降至65%", [65.0], []),
    ("前年比36%減", [], [-36.0]),
    ("30%より高い", [30.0], []),
    ("비중 70%→40%대", [40.0], []),
    ("2012년 61.4%에서 3년 만에 12.8%p↑", [], [12.8]),
    ("a gap of 5 percentage points", [], [5.0]),
    ("3 Prozentpunkte mehr", [], [3.0]),
    ("growth of 5% p.a. in China's share", [5.0], []),
    ("全球七成动力电池产自中国", [70.0], []),
    ("7割から5割に", [50.0], []),
    ("세계 동력배터리 10개 중 6개는 중국산", [60.0], []),
    ("three in four cells are made in China", [75.0], []),
    ("more than half of US battery imports", [50.0], []),
    ("China's share of imports in the first half of 2025 stood at 70%", [70.0], []),
    ("six in 10 years of growth", [], []),
    ("一成不变的政策", [], []),
    ("15分の2", [], []),
])
def test_shares_are_read_as_levels_or_changes_in_the_languages_of_the_news(text, levels, changes):
    from tracker.matching.numbers import find_numbers
    from tracker.matching.textnorm import normalise

    found = find_numbers(normalise(text), "percent")
    assert [value for _, value, kind in found if kind == "level"] == levels, found
    assert [value for _, value, kind in found if kind == "change"] == changes, found


def test_capacity_in_chinese_and_japanese_units_is_read_in_gigawatts():
    from tracker.matching.numbers import find_numbers
    from tracker.matching.textnorm import normalise

    assert [value for _, value, _ in find_numbers(normalise("光伏以1321万千瓦领跑"), "gw")] == [13.21]
    assert [value for _, value, _ in find_numbers(normalise("装机达1.13亿千瓦"), "gw")] == [113.0]
    assert [value for _, value, _ in find_numbers(normalise("中国の原発は計1億1300万キロワット規模"), "gw")] == [113.0]
    assert [value for _, value, _ in find_numbers(normalise("郵便配達車6万6000台"), "count")] == [66000.0]
    assert find_numbers(normalise("50 Gigawattstunden"), "gw") == []
    assert [value for _, value, _ in find_numbers(normalise("从1亿千瓦增至2亿千瓦"), "gw")] == [200.0]


def test_a_year_before_publication_is_history_not_a_target(shipped_matcher):
    title = "China supplied 70% of the lithium-ion batteries the US imported in 2024"
    published = datetime(2025, 3, 1, tzinfo=timezone.utc)
    [match] = [found for found in shipped_matcher.match(Entry(key="past", title=title, published_at=published))
               if found.rule_id == "us-battery-imports-china"]
    assert match.signal_source != "target" and match.signal.value != "progress"


def test_the_target_year_restated_is_reaffirmed_but_asked_about_is_not(shipped_matcher):
    said = read(shipped_matcher, "Nissan says its all-solid-state battery EV will arrive in fiscal 2028")["nissan-solid-state"]
    # Read by the year against the target, or by the model that learnt it: reaffirmed either way.
    assert (said.signal.value, said.target_year) == ("reaffirmed", 2028)
    asked = read(shipped_matcher, "Can Nissan's solid-state battery EVs really arrive by fiscal 2028?")["nissan-solid-state"]
    assert asked.signal.value != "reaffirmed"


@pytest.mark.parametrize("title, rule", [
    ("Toyota says its solid-state EV still comes in 2028", "toyota-solid-state"),
    ("Samsung SDI sticks to 2027 for mass production of solid-state batteries", "samsung-sdi-solid-state"),
    ("Nissan remains on track for its 2028 all-solid-state launch", "nissan-solid-state"),
    ("Nissan hält an 2028 für seine Feststoffbatterien fest", "nissan-solid-state"),
    ("日産、全固体電池の2028年度量産計画を維持", "nissan-solid-state"),
    ("닛산, 2028년 전고체 배터리 양산 계획 재확인", "nissan-solid-state"),
    ("日产重申2028年量产全固态电池", "nissan-solid-state"),
])
def test_a_date_said_again_is_a_reaffirmation_even_beside_words_of_doubt(shipped_matcher, title, rule):
    match = read(shipped_matcher, title)[rule]
    assert (match.signal.value, match.signal_source) == ("reaffirmed", "target")


def test_a_date_said_again_does_not_outweigh_a_doubt_or_a_question(shipped_matcher):
    doubted = read(shipped_matcher, "Analysts doubt Nissan is still on track for its 2028 solid-state launch")["nissan-solid-state"]
    assert doubted.signal.value == "doubt"
    asked = read(shipped_matcher, "Is Nissan still on track for 2028 solid-state batteries?")["nissan-solid-state"]
    assert asked.signal_source != "target"


@pytest.mark.parametrize("title", [
    "Samsung SDI pushes solid-state battery mass production to 2029",
    "Samsung SDI verschiebt die Serienfertigung seiner Feststoffbatterie auf 2029",
    "Samsung SDI repousse à 2029 la production de masse de ses batteries à l'état solide",
    "Samsung SDI retrasa hasta 2029 sus baterías de estado sólido",
    "Samsung SDI, le batterie allo stato solido slittano al 2029",
    "三星SDI全固态电池量产时间改到2029年",
    "삼성SDI, 전고체 배터리 양산 2029년으로 미룬다",
])
def test_a_date_moved_past_the_target_is_a_delay_in_the_languages_of_the_news(shipped_matcher, title):
    match = read(shipped_matcher, title)["samsung-sdi-solid-state"]
    assert (match.signal.value, match.target_year) == ("delay", 2029)


@pytest.mark.parametrize("title", [
    "Toyota moves up its solid-state battery launch to 2026",
    "Toyota zieht die Feststoffbatterie auf 2026 vor",
    "丰田将固态电池量产提前至2026年",
    "トヨタ、全固体電池の量産を2026年に前倒し",
])
def test_a_date_brought_forward_is_progress(shipped_matcher, title):
    match = read(shipped_matcher, title)["toyota-solid-state"]
    assert (match.signal.value, match.signal_source, match.target_year) == ("progress", "target", 2026)



@pytest.mark.parametrize("title, rule", [
    # Emissions going up: "reached a new record" is not the target reached.
    ("China's carbon emissions reached a new record high last year, a test for its climate goals", "china-ndc"),
    ("Chinas CO2-Emissionen steigen trotz Ausbau von Wind und Sonne, das Klimaziel wackelt", "china-ndc"),
    ("中国碳排放创历史新高 2030年前达峰目标受关注", "china-ndc"),
    # A risk told without a verb of failure.
    ("QuantumScape's solid-state cells are still years off, analysts say", "quantumscape-powerco"),
    ("Toyota's solid-state battery claim meets caution from suppliers", "toyota-solid-state"),
    ("퀀텀스케이프 전고체 배터리 양산에 걸림돌", "quantumscape-powerco"),
    ("宁德时代董事长给全固态电池泼冷水", "catl-byd-solid-state"),
])
def test_doubt_as_the_news_words_it(phrase_matcher, title, rule):
    found = read(phrase_matcher, title)
    assert rule in found
    assert found[rule].signal.value == "doubt"
