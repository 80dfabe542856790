"""The matcher: what a rule writer expects a term to hit, and not hit."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.matching.matcher import RuleMatcher
from tracker.model import Entry, SignalKind
from tracker.matching.ruleformat import Rule


def make_rule(match: dict, **extra) -> Rule:
    data = {
        "id": "test-rule",
        "title": "Test rule",
        "actor": "Someone",
        "category": "batteries",
        "target": "Something",
        "deadline": 2028,
        "strength": "plan",
        "source": {"document": "001_c0028fe4bae245fb.txt", "quote": "a quote"},
        "match": match,
        "examples": {"match": ["x"], "no_match": ["y"]},
    }
    data.update(extra)
    return Rule.model_validate(data)


def matches(rule: Rule, text: str, title: str = "") -> bool:
    return bool(RuleMatcher([rule]).match(Entry(key="e", title=title, summary=text)))


SOLID_STATE = {"all": [["toyota", "トヨタ"], ["solid state batter*", "全固体電池"]], "none": ["solid state drive"]}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Toyota bets on solid-state batteries", True),
        ("TOYOTA bets on SOLID STATE BATTERY tech", True),
        ("Toyota bets on solid–state battery tech, spelt with an en dash", True),
        ("Toyota bets on solid\u00adstate batteries", False),  # a soft hyphen is not a separator a writer means
        ("トヨタ、全固体電池の量産へ", True),
        ("Toyota's new solid-state drive", False),
        ("Toyota bets on solid-state drives and batteries", False),
        ("Toyotas everywhere, solid-state batteries nowhere", False),  # whole words for Latin script
        ("Toyota unveils a new hybrid", False),
    ],
)
def test_literal_terms_match_as_a_reader_expects(text, expected):
    assert matches(make_rule(SOLID_STATE), text) is expected


def test_accents_and_case_do_not_matter():
    rule = make_rule({"all": [["societe generale"], ["energie"]]})
    assert matches(rule, "Société Générale finance l'ÉNERGIE solaire")


def test_korean_terms_match_with_particles_attached():
    rule = make_rule({"all": [["삼성sdi"], ["전고체"]]})
    assert matches(rule, "삼성SDI는 2027년 전고체 배터리를 양산한다")


def test_within_requires_the_groups_close_together():
    rule = make_rule({"all": [["toyota"], ["solid state batter*"]], "within": 5})
    assert matches(rule, "Toyota will make solid-state batteries")
    far = "Toyota " + "word " * 30 + "solid-state batteries"
    assert not matches(rule, far)


def test_only_the_opening_of_a_long_article_is_read():
    rule = make_rule(SOLID_STATE)
    body = "The election count went on through the night in every district. " * 40
    # Named in the lead: a long article about it matches.
    assert RuleMatcher([rule]).match(Entry(key="a", title="Battery day", content="Toyota bets on solid-state batteries. " + body))
    # A long article about something else, whose opening has one of the rule's words and
    # whose last paragraph the other: a passing mention.
    election = "Toyota workers queued to vote in Aichi. " + body + "Solid-state batteries were a campaign theme."
    assert not RuleMatcher([rule]).match(Entry(key="b", title="Election night", content=election))
    assert not RuleMatcher([rule]).match(Entry(key="c", title="Election night", summary=election))


def test_any_and_none_terms():
    rule = make_rule({"any": ["paris agreement", "paris climate accord"], "none": ["fashion"]})
    assert matches(rule, "The US rejoins the Paris Agreement")
    assert not matches(rule, "Paris fashion week and the Paris Agreement")
    assert not matches(rule, "Paris hotels are full")


def test_regex_terms_run_on_the_normalised_text():
    rule = make_rule({"all": [[{"regex": r"\b(?:ice|combustion engine) (?:car )?ban\b"}], ["2035"]]})
    assert matches(rule, "EU confirms combustion-engine ban from 2035")
    assert not matches(rule, "EU confirms ice cream ban")


def test_fields_limit_where_terms_are_looked_for():
    rule = make_rule({"all": [["toyota"]], "fields": ["title"]})
    assert not matches(rule, "Toyota in the summary only", title="A headline")
    assert matches(rule, "", title="Toyota in the headline")


@pytest.mark.parametrize(
    "text, signal, year",
    [
        ("Toyota now expects solid-state batteries in 2030", SignalKind.DELAY, 2030),
        ("Toyota delays its solid-state battery launch to 2029", SignalKind.DELAY, 2029),
        ("Toyota scraps its solid-state battery plan", SignalKind.ABANDONED, None),
        ("Toyota starts mass production of solid-state batteries", SignalKind.PROGRESS, None),
        ("Toyota reaffirms its solid-state battery timeline", SignalKind.REAFFIRMED, None),
        ("Analysts doubt Toyota's solid-state battery timeline", SignalKind.DOUBT, None),
        ("Toyota shows a solid-state battery prototype", SignalKind.MENTION, None),
    ],
)
def test_signals_and_moved_target_years(text, signal, year):
    [found] = RuleMatcher([make_rule(SOLID_STATE)]).match(Entry(key="e", title=text))
    assert found.signal == signal
    assert found.target_year == year


def test_a_number_is_extracted_near_its_words():
    rule = make_rule(
        {"all": [["battery", "batteries"], ["china"]]},
        extract={"near": ["imports from china", "imported from china"], "unit": "percent"},
    )
    [found] = RuleMatcher([rule]).match(
        Entry(key="e", title="", summary="In 2025, 61% of US lithium-ion battery imports from China, down from 72% two years before; tariffs rose 25 percent.")
    )
    assert found.value == 61


def test_the_quote_is_the_original_sentence_around_the_hit():
    [found] = RuleMatcher([make_rule(SOLID_STATE)]).match(
        Entry(key="e", title="", summary="Markets rose. Toyota said its Solid-State Battery line is ready! Other news.")
    )
    assert found.quote == "Toyota said its Solid-State Battery line is ready!"


def test_the_quote_is_the_sentence_that_gives_the_signal():
    [found] = RuleMatcher([make_rule(SOLID_STATE)]).match(
        Entry(key="e", title="Toyota solid-state battery plans", summary="Shares fell. Toyota postponed its solid-state battery line to 2030. More later.")
    )
    assert found.signal == SignalKind.DELAY
    assert found.quote == "Toyota postponed its solid-state battery line to 2030."


def test_the_quote_is_where_the_signal_was_read_title_or_sentence_in_scope():
    rule = make_rule({"all": [["us", "u.s."], ["china"], ["battery", "batteries"], ["imports", "tariffs"]]})
    two_sentences = "Nearly 46% of U.S. imports saw tariffs scaled back. The U.S. scaled back tariffs on battery imports from China."
    [found] = RuleMatcher([rule]).match(Entry(key="e", title="", summary=two_sentences))
    assert found.quote == "The U.S. scaled back tariffs on battery imports from China."
    [found] = RuleMatcher([make_rule(SOLID_STATE)]).match(
        Entry(key="e", title="Toyota postpones its solid-state battery line", summary="Toyota solid-state battery work goes on.")
    )
    assert found.signal == SignalKind.DELAY and found.quote == "Toyota postpones its solid-state battery line"


def test_any_terms_count_as_a_group_of_the_signal_scope():
    rule = make_rule({"all": [["toyota"]], "any": ["solid state batter*"]})
    [found] = RuleMatcher([rule]).match(Entry(key="e", title="", summary="Toyota outlined plans. Its solid-state battery line was postponed."))
    assert found.signal == SignalKind.DELAY  # one group of two in that sentence: enough


def test_a_signal_counts_only_in_a_sentence_about_the_commitment():
    rule = make_rule({"all": [["us", "u.s."], ["china"], ["battery", "batteries"], ["imports", "tariffs"]]})
    about_it = "The U.S. scaled back tariffs on battery imports from China."
    beside_it = "U.S. battery imports from China keep growing. The U.S. scaled back tariffs on steel."
    [found] = RuleMatcher([rule]).match(Entry(key="e", title="", summary=about_it))
    assert found.signal == SignalKind.WEAKENED
    [found] = RuleMatcher([rule]).match(Entry(key="e", title="", summary=beside_it))
    assert found.signal == SignalKind.MENTION  # that sentence holds two of the four groups: not about batteries from China


def test_the_matcher_only_evaluates_rules_whose_terms_hit():
    rules = [make_rule({"all": [[f"term{i}"]]}, id=f"rule-{i}") for i in range(200)]
    found = RuleMatcher(rules).match(Entry(key="e", title="news about term7 and term150"))
    assert sorted(m.rule_id for m in found) == ["rule-150", "rule-7"]


def test_a_deadline_year_is_end_of_year():
    assert make_rule(SOLID_STATE).deadline == date(2028, 12, 31)


def test_rules_sharing_a_prefix_term_all_see_it():
    """A `batter*` hit extended to `batteries` for one rule must not shift it for the next."""
    rules = [make_rule({"all": [[actor], ["solid state batter*"]]}, id=f"rule-{actor}") for actor in ("toyota", "nissan", "samsung")]
    found = RuleMatcher(rules).match(Entry(key="e", title="Toyota, Nissan and Samsung bet on solid-state batteries"))
    assert sorted(m.rule_id for m in found) == ["rule-nissan", "rule-samsung", "rule-toyota"]


def test_a_rules_own_signal_phrases_beat_the_built_in_ones():
    rule = make_rule({"all": [["china"], ["ownership cap*"]]}, signals={"progress": ["scraps"]})
    [found] = RuleMatcher([rule]).match(Entry(key="e", title="China scraps foreign ownership caps for carmakers"))
    assert found.signal == SignalKind.PROGRESS


def test_less_than_figures_are_extracted_but_down_from_figures_are_not():
    rule = make_rule({"all": [["us"], ["market"]]}, extract={"near": ["market"], "unit": "percent"})
    [found] = RuleMatcher([rule]).match(Entry(key="e", title="US to win less than 15% of the battery market"))
    assert found.value == 15


def test_typographic_apostrophes_match_plain_ones():
    rule = make_rule({"all": [["nissan's solid state"]]})
    assert matches(rule, "Nissan’s solid-state pilot line opens")


def test_the_sentence_encoder_reads_the_entrys_own_words_of_the_sentences_about_it():
    # The embedding was learnt on written text: it gets the entry's capitals, hyphens and
    # typographic quotes, and only the sentences the signal is read in.
    entry = Entry(key="e", title="Toyota’s Solid-State Battery: Still 2028?",
                  summary="Sales of hybrids rose again. Toyota says its all-solid-state battery line is on track.")
    text, _cues, original = RuleMatcher([make_rule(SOLID_STATE)]).reading_input("test-rule", entry)
    assert original == "Toyota’s Solid-State Battery: Still 2028?\nToyota says its all-solid-state battery line is on track."
    assert "hybrids" not in text and "Solid-State" not in text  # the n-grams read the normalised scope
