"""Matching entries against rules: pure, with reasons.

One Aho-Corasick pass over an entry finds every literal term of every rule, so
the cost grows with the text, not with the number of rules; only rules whose
terms hit are then evaluated (regex terms, `within`, signals, numbers).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import ahocorasick

from tracker.matching import signals as builtin_signals
from tracker.model import Entry, Match, SignalKind, TermHit
from tracker.matching.ruleformat import RegexTerm, Rule, Term, compile_regex
from tracker.matching.textnorm import is_word_char, normalise

_FIELD_SEPARATOR = " \n "
# A sentence ends at . ! ? followed by a space (or the end), but not after a lone
# letter: "U.S." and "E.U." do not end sentences. CJK full stops always do.
_SENTENCE_END = r"(?:(?<![\s.]\w)(?<!^\w)[.!?]+(?=\s|$)|[。！？\n])"
_SENTENCE = re.compile(rf"(?:(?!{_SENTENCE_END}).)+(?:{_SENTENCE_END})?", re.S)
_ORIGINAL_SENTENCE_END = re.compile(_SENTENCE_END)
QUOTE_CHARS = 300

# Roles a term plays in its rule.
ALL, ANY, NONE, NEAR = "all", "any", "none", "near"


@dataclass(frozen=True)
class _Literal:
    text: str  # normalised, without the trailing *
    original: str
    prefix: bool
    left_boundary: bool
    right_boundary: bool


def compile_literal(term: str) -> _Literal | None:
    prefix = term.rstrip().endswith("*")
    text = normalise(term.rstrip().rstrip("*"))
    if not text:
        return None
    return _Literal(
        text=text,
        original=term,
        prefix=prefix,
        left_boundary=is_word_char(text[0]),
        right_boundary=is_word_char(text[-1]) and not prefix,
    )


class TermIndex:
    """Many literal terms found in one pass, each hit checked for word boundaries."""

    def __init__(self) -> None:
        self._automaton = ahocorasick.Automaton()
        self._payloads: dict[str, list[tuple[_Literal, object]]] = {}

    def add(self, literal: _Literal, payload: object) -> None:
        self._payloads.setdefault(literal.text, []).append((literal, payload))

    def build(self) -> "TermIndex":
        for text, payloads in self._payloads.items():
            self._automaton.add_word(text, payloads)
        if self._payloads:
            self._automaton.make_automaton()
        return self

    def find(self, text: str) -> Iterator[tuple[int, int, _Literal, object]]:
        if not self._payloads:
            return
        for end_index, payloads in self._automaton.iter(text):
            term_end = end_index + 1
            for literal, payload in payloads:
                start, end = term_end - len(literal.text), term_end
                if literal.left_boundary and start > 0 and is_word_char(text[start - 1]):
                    continue
                if literal.prefix:
                    while end < len(text) and is_word_char(text[end]):
                        end += 1
                elif literal.right_boundary and end < len(text) and is_word_char(text[end]):
                    continue
                yield start, end, literal, payload


@dataclass(frozen=True)
class EntryText:
    """An entry's fields joined into one normalised text, with where each field lies."""

    text: str
    spans: tuple[tuple[str, int, int], ...]
    originals: dict[str, str]

    @classmethod
    def of(cls, title: str, summary: str = "", content: str = "") -> "EntryText":
        parts, spans, position = [], [], 0
        for name, value in (("title", title), ("summary", summary), ("content", content)):
            normalised = normalise(value) if value else ""
            spans.append((name, position, position + len(normalised)))
            parts.append(normalised)
            position += len(normalised) + len(_FIELD_SEPARATOR)
        return cls(_FIELD_SEPARATOR.join(parts), tuple(spans), {"title": title, "summary": summary, "content": content})

    def field_at(self, position: int) -> str:
        for name, start, end in self.spans:
            if start <= position <= end:
                return name
        return "content"

    def field_text(self, name: str) -> str:
        for span_name, start, end in self.spans:
            if span_name == name:
                return self.text[start:end]
        return ""


@dataclass
class _CompiledRule:
    rule: Rule
    regexes: dict[tuple[str, int], list[tuple[str, object]]] = field(default_factory=dict)
    groups_with_literals: set[int] = field(default_factory=set)
    # Groups (and `any`) made only of literals: without a literal hit they cannot hit,
    # so a rule missing one is ruled out before any evaluation.
    literal_only_groups: tuple[int, ...] = ()
    any_is_literal_only: bool = False
    has_any_literal: bool = False
    extra_signals: TermIndex | None = None


@dataclass(frozen=True)
class Explanation:
    """Why a rule matched an entry or not: for `rules explain` and failing examples."""

    rule_id: str
    matched: bool
    reasons: tuple[str, ...]
    match: Match | None


class RuleMatcher:
    """Rules compiled once; `match` is called per entry."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self._index = TermIndex()
        self._compiled: list[_CompiledRule] = []
        self._always: list[int] = []  # rules with a regex-only group: no literal can rule them out
        for number, rule in enumerate(self.rules):
            self._compiled.append(self._compile(number, rule))
        self._index.build()
        self._signals = TermIndex()
        for kind, phrases in builtin_signals.BUILTIN_PHRASES.items():
            for phrase in phrases:
                if literal := compile_literal(phrase):
                    self._signals.add(literal, kind)
        self._signals.build()

    def _compile(self, number: int, rule: Rule) -> _CompiledRule:
        compiled = _CompiledRule(rule)
        spec = rule.match
        for group_number, group in enumerate(spec.all):
            for term in group:
                if self._add_term(compiled, number, term, (ALL, group_number)):
                    compiled.groups_with_literals.add(group_number)
        for term in spec.any:
            compiled.has_any_literal |= self._add_term(compiled, number, term, (ANY, 0))
        for term in spec.none:
            self._add_term(compiled, number, term, (NONE, 0))
        if rule.extract:
            for term in rule.extract.near:
                self._add_term(compiled, number, term, (NEAR, 0))
        compiled.literal_only_groups = tuple(
            n for n, group in enumerate(spec.all) if not any(isinstance(term, RegexTerm) for term in group)
        )
        compiled.any_is_literal_only = bool(spec.any) and not any(isinstance(term, RegexTerm) for term in spec.any)
        # A rule no literal can trigger (only regex terms) is evaluated on every entry.
        if (spec.all and not compiled.groups_with_literals) or (not spec.all and not compiled.has_any_literal):
            self._always.append(number)
        extras = rule.signals.by_kind()
        if any(extras.values()):
            index = TermIndex()
            for kind, phrases in extras.items():
                for phrase in phrases:
                    if literal := compile_literal(phrase):
                        index.add(literal, kind)
            compiled.extra_signals = index.build()
        return compiled

    def _add_term(self, compiled: _CompiledRule, number: int, term: Term, role: tuple[str, int]) -> bool:
        """Index a literal term (True) or keep a regex term for later (False)."""
        if isinstance(term, RegexTerm):
            compiled.regexes.setdefault(role, []).append((term.regex, compile_regex(term.regex)))
            return False
        literal = compile_literal(term)
        if literal is None:
            return False
        self._index.add(literal, (number, role))
        return True

    # -- matching -------------------------------------------------------------------

    def match(self, entry: Entry) -> list[Match]:
        text = EntryText.of(entry.title, entry.summary, entry.content)
        hits_by_rule = self._literal_hits(text)
        matches = []
        for number in sorted(set(hits_by_rule) | set(self._always)):
            if not self._could_match(number, hits_by_rule.get(number, [])):
                continue
            result = self._evaluate(number, entry.key, text, hits_by_rule.get(number, []))
            if isinstance(result, Match):
                matches.append(result)
        return matches

    def explain(self, rule_id: str, entry: Entry) -> Explanation:
        number = next((n for n, rule in enumerate(self.rules) if rule.id == rule_id), None)
        if number is None:
            raise KeyError(rule_id)
        text = EntryText.of(entry.title, entry.summary, entry.content)
        result = self._evaluate(number, entry.key, text, self._literal_hits(text).get(number, []))
        if isinstance(result, Match):
            return Explanation(rule_id, True, _describe_match(result), result)
        return Explanation(rule_id, False, tuple(result), None)

    def _could_match(self, number: int, literal_hits) -> bool:
        """A cheap look at the literal hits alone: vetoed, or a literal-only group missing?"""
        compiled = self._compiled[number]
        fields = compiled.rule.match.fields
        roles = {role for role, hit in literal_hits if hit.field in fields}
        if (NONE, 0) in roles:
            return False
        if compiled.any_is_literal_only and (ANY, 0) not in roles:
            return False
        return all((ALL, group) in roles for group in compiled.literal_only_groups)

    def _literal_hits(self, text: EntryText) -> dict[int, list[tuple[tuple[str, int], TermHit]]]:
        hits: dict[int, list[tuple[tuple[str, int], TermHit]]] = {}
        for start, end, literal, (number, role) in self._index.find(text.text):
            hit = TermHit(term=literal.original, field=text.field_at(start), start=start, end=end)
            hits.setdefault(number, []).append((role, hit))
        return hits

    def _evaluate(self, number: int, entry_key: str, text: EntryText, literal_hits) -> Match | list[str]:
        compiled = self._compiled[number]
        spec = compiled.rule.match
        by_role: dict[tuple[str, int], list[TermHit]] = {}
        for role, hit in literal_hits:
            if hit.field in spec.fields or role[0] == NEAR:
                by_role.setdefault(role, []).append(hit)
        for role, patterns in compiled.regexes.items():
            for source, pattern in patterns:
                for name in spec.fields:
                    base = next(start for span, start, _end in text.spans if span == name)
                    for found in pattern.finditer(text.field_text(name)):
                        hit = TermHit(term=f"/{source}/", field=name, start=base + found.start(), end=base + found.end())
                        by_role.setdefault(role, []).append(hit)
        reasons = []
        vetoes = by_role.get((NONE, 0), [])
        if vetoes:
            reasons.append(f"excluded by {_quote_terms(vetoes)} (none)")
        missing = [n for n in range(len(spec.all)) if not by_role.get((ALL, n))]
        for group_number in missing:
            reasons.append(f"no term of `all` group {group_number + 1} found: {_group_terms(spec.all[group_number])}")
        if spec.any and not by_role.get((ANY, 0)):
            reasons.append(f"none of the `any` terms found: {_group_terms(spec.any)}")
        if reasons:
            return reasons
        group_hits = [by_role[(ALL, n)] for n in range(len(spec.all))]
        if spec.within and len(group_hits) > 1 and not _within(text.text, group_hits, spec.within):
            return [f"the `all` groups hit, but not within {spec.within} words of each other"]
        any_hits = by_role.get((ANY, 0), [])
        positive = [hit for hits in group_hits for hit in hits] + any_hits
        scope = _signal_scope(text, group_hits + ([any_hits] if any_hits else []))
        return self._describe(compiled, entry_key, text, positive, by_role.get((NEAR, 0), []), scope)

    def _describe(self, compiled: _CompiledRule, entry_key: str, text: EntryText, positive, near, scope) -> Match:
        rule = compiled.rule
        positive = sorted(positive, key=lambda hit: hit.start)
        found = self._signals_in(compiled, text, scope)
        year, later = builtin_signals.find_moved_year(" \n ".join(text.text[begin:end] for begin, end in scope), rule.deadline)
        signal = builtin_signals.strongest(set(found))
        phrase, position = found.get(signal, (None, None))
        if later and signal not in (SignalKind.ABANDONED, SignalKind.WEAKENED, SignalKind.DELAY):
            signal, phrase, position = SignalKind.DELAY, f"target year {year}", None
        value = _extract_value(rule, text.text, near) if rule.extract else None
        # The quote is the sentence whose phrase gave the signal: why a status moves, where
        # a reviewer checks it. Without a phrase, the sentence of the first hit.
        quoted = TermHit(phrase, text.field_at(position), position, position) if position is not None else next(iter(positive), None)
        return Match(
            rule_id=rule.id,
            entry_key=entry_key,
            hits=tuple(positive),
            signal=signal,
            signal_phrase=phrase,
            target_year=year,
            value=value,
            quote=_quote(text, quoted) if quoted else "",
        )

    def _signals_in(self, compiled: _CompiledRule, text: EntryText, scope) -> dict[SignalKind, tuple[str, int]]:
        """Each kind of signal in the scope: its first phrase, and where it is in the text.

        A rule's own phrase overrides the built-in phrases it overlaps: "scraps the
        ownership cap" is progress for a market-access pledge, not abandonment.
        """
        found: dict[SignalKind, tuple[str, int]] = {}
        own_spans: list[tuple[int, int]] = []
        if compiled.extra_signals is not None:
            for begin, end in scope:
                for start, stop, literal, kind in compiled.extra_signals.find(text.text[begin:end]):
                    found.setdefault(kind, (literal.original, begin + start))
                    own_spans.append((begin + start, begin + stop))
        for begin, end in scope:
            for start, stop, literal, kind in self._signals.find(text.text[begin:end]):
                if not any(begin + start < own_end and own_start < begin + stop for own_start, own_end in own_spans):
                    found.setdefault(kind, (literal.original, begin + start))
        return found



def _within(text: str, group_hits: list[list[TermHit]], words: int) -> bool:
    """Is there a window of `words` words holding a hit of every group?"""
    starts = [found.start() for found in re.finditer(r"\S+", text)]
    positions = sorted(
        (bisect.bisect_right(starts, hit.start) - 1, group)
        for group, hits in enumerate(group_hits)
        for hit in hits
    )
    need = len(group_hits)
    counts: dict[int, int] = {}
    left = 0
    for word, group in positions:
        counts[group] = counts.get(group, 0) + 1
        while positions[left][0] < word - words:
            left_group = positions[left][1]
            counts[left_group] -= 1
            if not counts[left_group]:
                del counts[left_group]
            left += 1
        if len(counts) == need:
            return True
    return False


def _signal_scope(text: EntryText, group_hits: list[list[TermHit]]) -> list[tuple[int, int]]:
    """Where a signal is about this commitment, as (start, end) in the text: the title,
    and every sentence holding hits of all the rule's groups but one at least (the `any`
    terms count as a group). "Nearly 46% of U.S. imports were exempted from tariffs", in
    an article about batteries from China elsewhere, holds two of that rule's four
    groups: its "exempted" says nothing of batteries."""
    title = next((start, end) for name, start, end in text.spans if name == "title")
    scope = [title]
    need = max(1, len(group_hits) - 1)
    for found in _SENTENCE.finditer(text.text, title[1]):
        groups = sum(any(found.start() <= hit.start < found.end() for hit in hits) for hits in group_hits)
        if groups >= need:
            scope.append(found.span())
    return scope


def _extract_value(rule: Rule, text: str, near: list[TermHit]) -> float | None:
    if not near or rule.extract is None:
        return None
    starts = [found.start() for found in re.finditer(r"\S+", text)]

    def word(position: int) -> int:
        return bisect.bisect_right(starts, position) - 1

    near_words = [word(hit.start) for hit in near] + [word(hit.end - 1) for hit in near]
    best: tuple[int, float] | None = None
    for position, value in builtin_signals.find_values(text, rule.extract.unit):
        distance = min(abs(word(position) - w) for w in near_words)
        if distance <= rule.extract.within and (best is None or distance < best[0]):
            best = (distance, value)
    return best[1] if best else None


def _quote(text: EntryText, hit: TermHit) -> str:
    """The sentence of the original (not normalised) text around a hit."""
    original = text.originals.get(hit.field, "")
    normalised = text.field_text(hit.field)
    if not original:
        return ""
    offset = next(start for name, start, _end in text.spans if name == hit.field)
    # Normalisation keeps lengths nearly equal, so a proportional position lands in the sentence.
    ratio = (hit.start - offset) / max(1, len(normalised))
    position = min(len(original) - 1, int(ratio * len(original)))
    begin = 0
    for found in _ORIGINAL_SENTENCE_END.finditer(original, 0, position):
        begin = found.end()
    end_found = _ORIGINAL_SENTENCE_END.search(original, position)
    end = end_found.end() if end_found else len(original)
    sentence = original[begin:end].strip()
    return sentence if len(sentence) <= QUOTE_CHARS else sentence[: QUOTE_CHARS - 1].rstrip() + "…"


def _group_terms(terms: Sequence[Term]) -> str:
    return ", ".join(term if isinstance(term, str) else f"/{term.regex}/" for term in terms)


def _quote_terms(hits: list[TermHit]) -> str:
    return ", ".join(sorted({f"{hit.term!r} in {hit.field}" for hit in hits}))


def _describe_match(found: Match) -> tuple[str, ...]:
    reasons = [f"matched {hit.term!r} in {hit.field}" for hit in found.hits]
    reasons.append(
        f"signal: {found.signal.value}" + (f" ({found.signal_phrase!r})" if found.signal_phrase else "")
    )
    if found.target_year:
        reasons.append(f"target year mentioned: {found.target_year}")
    if found.value is not None:
        reasons.append(f"value extracted: {found.value:g}")
    return tuple(dict.fromkeys(reasons))
