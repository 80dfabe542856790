"""Matching entries against rules: pure, with reasons.

One Aho-Corasick pass over an entry finds every literal term of every rule, so
the cost grows with the text, not with the number of rules; only rules whose
terms hit are then evaluated (regex terms, `within`, signals, numbers).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Sequence

import ahocorasick

from tracker.matching import numbers
from tracker.matching import signals as builtin_signals
from tracker.matching.ruleformat import RegexTerm, Rule, Term, compile_regex
from tracker.matching.signal_model import SignalModel
from tracker.matching.textnorm import is_word_char, normalise
from tracker.model import Entry, Match, SignalKind, TermHit

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


# How much of a summary and of a content is read: about the first three paragraphs.
CONTENT_LEAD_CHARS = 1500


def lead_of(text: str) -> str:
    """The opening of a field, cut at a space so that no word is cut in two."""
    if len(text) <= CONTENT_LEAD_CHARS:
        return text
    cut = text.rfind(" ", 0, CONTENT_LEAD_CHARS + 1)
    return text[:cut if cut > 0 else CONTENT_LEAD_CHARS]


@dataclass(frozen=True)
class EntryText:
    """An entry's fields joined into one normalised text, with where each field lies."""

    text: str
    spans: tuple[tuple[str, int, int], ...]
    originals: dict[str, str]
    # When it was published: a year before that is history, never a date for a target.
    published_year: int | None = None

    @classmethod
    def of_entry(cls, entry: Entry) -> "EntryText":
        text = cls.of(entry.title, entry.summary, entry.content)
        return replace(text, published_year=entry.published_at.year) if entry.published_at else text

    @classmethod
    def of(cls, title: str, summary: str = "", content: str = "") -> "EntryText":
        # News about a commitment names it in the title or the opening: only that much of
        # the summary and the content is read. An article that gets to a pledge far down
        # mentions it in passing, and its broad words ("parliament", "mandate", "cars")
        # matched rules in long articles about something else (an election, robotaxis).
        summary, content = lead_of(summary), lead_of(content)
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

    def original_of(self, scope: Iterable[tuple[int, int]]) -> str:
        """The scope's (start, end) spans as the entry wrote them, before normalising: the
        whole sentences around each span, once each. What the sentence encoder reads: it
        learnt on text with its capitals, hyphens and accents."""
        sentences: list[str] = []
        for begin, end in scope:
            name = self.field_at(begin)
            original, offset, normalised = self.originals.get(name, ""), self.start_of(name), self.field_text(name)
            if not original:
                continue
            if begin <= offset and end >= offset + len(normalised):
                sentence = original.strip()
            else:
                first, _ = _original_sentence(original, _original_position(original, normalised, begin - offset))
                _, last = _original_sentence(original, _original_position(original, normalised, max(begin, end - 1) - offset))
                sentence = original[first:last].strip()
            if sentence and sentence not in sentences:
                sentences.append(sentence)
        return "\n".join(sentences)

    def start_of(self, name: str) -> int:
        """Where a field begins in the normalised text."""
        return next(start for span_name, start, _end in self.spans if span_name == name)


@dataclass
class _CompiledRule:
    rule: Rule
    regexes: dict[tuple[str, int], list[tuple[str, object]]] = field(default_factory=dict)
    # Each role's regexes as one alternation: one linear-time scan per field instead of
    # one per regex (a rule may hold dozens).
    combined_regexes: dict[tuple[str, int], object] = field(default_factory=dict)
    groups_with_literals: set[int] = field(default_factory=set)
    # Groups (and `any`) made only of literals: without a literal hit they cannot hit,
    # so a rule missing one is ruled out before any evaluation.
    literal_only_groups: tuple[int, ...] = ()
    any_is_literal_only: bool = False
    has_any_literal: bool = False
    extra_signals: TermIndex | None = None
    other_quantities: TermIndex | None = None


@dataclass(frozen=True)
class Explanation:
    """Why a rule matched an entry or not: for `rules explain` and failing examples."""

    rule_id: str
    matched: bool
    reasons: tuple[str, ...]
    match: Match | None


# A phrase's kind wins over the model's first choice when the model gives it at least
# this share of that choice's probability (cross-validated on the shipped examples:
# 0.4 was the best of 0.2-1.0 once the examples grew to 1,600, 0.542 against 0.539 for
# 0.8, the best on the first 1,300: benchmarks/README.md, "Signals").
PHRASE_BACKING = 0.4
# How sure a model reading is at least when a built-in phrase of the same kind is there,
# and a reading decided by a year stated for the commitment against its target.
AGREEMENT_CONFIDENCE = 0.6
TARGET_CONFIDENCE = 0.6
# Signals a stated year never overrides: the model read a move that a year cannot undo.
_MOVES = (SignalKind.ABANDONED, SignalKind.WEAKENED, SignalKind.DELAY)


class RuleMatcher:
    """Rules compiled once; `match` is called per entry.

    `signal_model`: what reads the signal where a rule's own phrases do not settle it
    (tracker.matching.model_store gives the shipped one; None: the built-in phrases
    alone). A reading less sure than `min_confidence` is marked as needing a look.
    """

    def __init__(self, rules: Sequence[Rule], signal_model: SignalModel | None = None, min_confidence: float = 0.0) -> None:
        self.rules = list(rules)
        self._parent = {rule.id: rule.parent for rule in self.rules if rule.parent}
        self._signal_model = signal_model
        self.min_confidence = min_confidence
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
        # A rule its regexes alone can satisfy (every `all` group, and `any`, holds a regex)
        # is evaluated on every entry: the literal index only finds literals. A rule with
        # a group of literals only needs one of them, so its literal hits decide.
        regex_roles = {role for role in compiled.regexes if role[0] in (ALL, ANY)}
        if regex_roles and not compiled.literal_only_groups and not compiled.any_is_literal_only:
            self._always.append(number)
        for role, patterns in compiled.regexes.items():
            if len(patterns) > 1:
                try:
                    compiled.combined_regexes[role] = compile_regex("|".join(f"(?:{source})" for source, _pattern in patterns))
                except ValueError:
                    pass  # each is scanned on its own
        if rule.extract:
            compiled.other_quantities = TermIndex()
            for term in OTHER_QUANTITIES + tuple(rule.extract.not_near):
                if literal := compile_literal(term):
                    compiled.other_quantities.add(literal, None)
            compiled.other_quantities.build()
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
        text = EntryText.of_entry(entry)
        hits_by_rule = self._literal_hits(text)
        matches = []
        for number in sorted(set(hits_by_rule) | set(self._always)):
            if not self._could_match(number, hits_by_rule.get(number, [])):
                continue
            result = self._evaluate(number, entry.key, text, hits_by_rule.get(number, []))
            if isinstance(result, Match):
                matches.append(result)
        # A jurisdiction's news moves that jurisdiction's rule: its umbrella (`parent`)
        # follows from its children and does not take the news as its own as well.
        parents = {self._parent[match.rule_id] for match in matches if self._parent.get(match.rule_id)}
        return [match for match in matches if match.rule_id not in parents] if parents else matches

    def explain(self, rule_id: str, entry: Entry) -> Explanation:
        number = next((n for n, rule in enumerate(self.rules) if rule.id == rule_id), None)
        if number is None:
            raise KeyError(rule_id)
        text = EntryText.of_entry(entry)
        result = self._evaluate(number, entry.key, text, self._literal_hits(text).get(number, []), explain=True)
        if isinstance(result, Match):
            return Explanation(rule_id, True, _describe_match(result), result)
        if max(len(entry.summary or ""), len(entry.content or "")) > CONTENT_LEAD_CHARS:
            result = [*result, f"(only the title and the first {CONTENT_LEAD_CHARS} characters of the summary and the content are read)"]
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

    def _evaluate(self, number: int, entry_key: str, text: EntryText, literal_hits, scope_only: bool = False, explain: bool = False):
        compiled = self._compiled[number]
        spec = compiled.rule.match
        by_role: dict[tuple[str, int], list[TermHit]] = {}
        for role, hit in literal_hits:
            if hit.field in spec.fields or role[0] == NEAR:
                by_role.setdefault(role, []).append(hit)
        if compiled.regexes:
            fields = [(name, next(start for span, start, _end in text.spans if span == name), text.field_text(name)) for name in spec.fields]
            roles = list(compiled.regexes)
            if not explain:
                # Most evaluated rules do not match: first the groups no literal hit, and
                # stop at the first one its regexes miss too; the rest only for a match.
                needed = [(ALL, n) for n in range(len(spec.all)) if (ALL, n) not in by_role] + ([(ANY, 0)] if spec.any and (ANY, 0) not in by_role else [])
                for role in needed:
                    hits = self._regex_hits(compiled, role, fields) if role in compiled.regexes else []
                    if not hits:
                        return ["no match"]
                    by_role[role] = hits
                roles = [role for role in roles if role not in needed]
            for role in roles:
                hits = self._regex_hits(compiled, role, fields)
                if hits:
                    by_role.setdefault(role, []).extend(hits)
        reasons = []
        vetoes = by_role.get((NONE, 0), [])
        missing = [n for n in range(len(spec.all)) if not by_role.get((ALL, n))]
        if not explain and (vetoes or missing or (spec.any and not by_role.get((ANY, 0)))):
            return ["no match"]  # the reasons in words are for `explain`: long groups cost to spell out
        if vetoes:
            reasons.append(f"excluded by {_quote_terms(vetoes)} (none)")
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
        if scope_only:
            return _Scope(scope)
        return self._describe(compiled, entry_key, text, positive, by_role.get((NEAR, 0), []), scope)

    @staticmethod
    def _regex_hits(compiled: _CompiledRule, role, fields) -> list[TermHit]:
        """The hits of one role's regexes in the fields (as one alternation where it compiles)."""
        patterns, combined = compiled.regexes[role], compiled.combined_regexes.get(role)
        hits = []
        for name, base, field_text in fields:
            if combined is not None:
                for found in combined.finditer(field_text):
                    source = _which_regex(patterns, field_text, found.start(), found.end())
                    hits.append(TermHit(term=f"/{source}/", field=name, start=base + found.start(), end=base + found.end()))
            else:
                for source, pattern in patterns:
                    for found in pattern.finditer(field_text):
                        hits.append(TermHit(term=f"/{source}/", field=name, start=base + found.start(), end=base + found.end()))
        return hits

    def _describe(self, compiled: _CompiledRule, entry_key: str, text: EntryText, positive, near, scope) -> Match:
        rule = compiled.rule
        positive = sorted(positive, key=lambda hit: hit.start)
        reading = self._read(compiled, text, scope)
        value, change = _extract_number(rule, text.text, near, compiled.other_quantities) if rule.extract else (None, None)
        # The quote is the sentence that gave the signal: why a status moves, where a
        # reviewer checks it. Without one, the sentence of the first hit.
        position = reading.position
        quoted = TermHit(reading.phrase or "", text.field_at(position), position, position) if position is not None else next(iter(positive), None)
        return Match(
            rule_id=rule.id,
            entry_key=entry_key,
            hits=tuple(positive),
            signal=reading.signal,
            signal_phrase=reading.phrase,
            target_year=reading.target_year,
            value=value,
            quote=_quote(text, quoted) if quoted else "",
            confidence=round(reading.confidence, 3),
            signal_source=reading.source,
            change=change,
            needs_review=reading.confidence < self.min_confidence,
        )

    def _read(self, compiled: _CompiledRule, text: EntryText, scope) -> "_Reading":
        """What the entry says about the commitment, in this order:

        1. the rule's own signal phrases, reviewed by people: they win when they fire,
           except a phrase of a step against a date stated as moved past the deadline;
        2. a target year stated as moved ("pushed back to 2030") past the deadline: a delay;
        3. the signal model over the title and the sentences about the commitment, with
           the built-in phrases and the stated year as cues; where it reads no move, a
           year stated for the commitment decides a bare mention against the target: the
           same year is a reaffirmation, an earlier one progress, a later one a delay.
        Without a model, the built-in phrases decide (the most consequential kind wins).
        """
        rule = compiled.rule
        own_spans: list[tuple[int, int]] = []
        own = self._phrases_in(compiled.extra_signals, text, scope, own_spans) if compiled.extra_signals else {}
        builtin = self._phrases_in(self._signals, text, scope, background=True)
        # A rule's own phrase overrides the built-in phrases it overlaps: "scraps the
        # ownership cap" is progress for a market-access pledge, not abandonment.
        beside_own = self._phrases_in(self._signals, text, scope, skip=own_spans, background=True) if own else {}
        scope_text = " \n ".join(text.text[begin:end] for begin, end in scope)
        moved_year, later = builtin_signals.find_moved_year(scope_text, rule.deadline)
        stated = builtin_signals.stated_year(scope_text, rule.stated_years, earliest=text.published_year)
        year = moved_year or (stated[1] if stated else None)
        if own:
            # With the built-in phrases beside it, the most consequential kind wins:
            # "working group meeting postponed" is a delay, not the meeting's progress.
            kind = builtin_signals.strongest(set(own) | set(beside_own))
            phrase, position = own.get(kind) or beside_own[kind]
            # A date stated as moved past the deadline outweighs a phrase of a step
            # ("pushed back to 2030, citing problems at the pilot line"): a slip.
            if not (later and kind not in _MOVES):
                return _Reading(kind, 1.0, "rule" if kind in own else "phrase", phrase, position, year)
        if later:
            return _Reading(SignalKind.DELAY, 0.95, "target", f"target year {moved_year}", self._year_position(text, scope, moved_year), moved_year)
        forward = builtin_signals.find_forward_year(scope_text, rule.stated_years)
        if forward and not _QUESTION.search(scope_text):
            return _Reading(SignalKind.PROGRESS, 0.9, "target", f"target year {forward} brought forward",
                            self._year_position(text, scope, forward), forward)
        model = self._signal_model
        cues = reading_cues(builtin, stated)
        if model is None:
            kind = builtin_signals.strongest(set(builtin))
            confidence, source = (1.0 if kind in builtin else 0.5), "phrase"
        else:
            read = model.read(rule.category, scope_text, cues, text.original_of(scope))
            kind, confidence, source = read.signal, read.confidence, "model"
            # A built-in phrase names a kind the model also finds likely: the phrase
            # settles between the model's close candidates ("delays … again": a delay).
            backed = [found for found in builtin if read.probabilities[found.value] >= PHRASE_BACKING * confidence]
            if backed and kind not in backed:
                kind = max(backed, key=lambda found: read.probabilities[found.value])
                confidence = read.probabilities[kind.value]
        restated = builtin_signals.restated_year(scope_text, rule.stated_years, earliest=text.published_year)
        if restated and _restated_decides(restated, kind, builtin, scope_text):
            relation, restated_value, _ = restated
            decided = _BY_RELATION[relation]
            return _Reading(decided, max(confidence, TARGET_CONFIDENCE), "target", f"target year {restated_value} restated",
                            self._year_position(text, scope, restated_value), restated_value)
        if stated and kind not in _MOVES and kind is not SignalKind.DOUBT and kind is not SignalKind.ACHIEVED:
            relation, stated_value, _ = stated
            decided = _BY_RELATION[relation]
            # The year settles only what the model reads as a bare mention: the same year is
            # a reaffirmation, a later one a delay. A later year beside a step is most often
            # another goal (a 2035 pledge beside a 2030 one, a 2030 scale beside a 2027
            # launch): overriding the model there was right for 1 of 14 shipped examples,
            # cross-validated. A date stated as *moved* is a delay above, whatever else.
            # Nor does it settle a question ("Can Nissan really land by 2028?") or a text
            # whose built-in phrases say something else: neither restates the date.
            if kind is SignalKind.MENTION and not _QUESTION.search(scope_text) and set(builtin) <= {decided}:
                return _Reading(decided, max(confidence, TARGET_CONFIDENCE), "target", f"target year {stated_value}",
                                self._year_position(text, scope, stated_value), stated_value)
        phrase, position = builtin.get(kind, (None, None))
        if model is None:
            return _Reading(kind, confidence, source, phrase, position, year)
        if phrase is not None:
            # The model and a built-in phrase read the same: two readings agree.
            confidence = max(confidence, AGREEMENT_CONFIDENCE)
        if position is None:
            position = self._best_sentence(model, rule.category, text, scope, kind, cues)
        return _Reading(kind, confidence, "model", phrase, position, year if kind in (SignalKind.DELAY, SignalKind.REAFFIRMED) else None)

    def _phrases_in(self, index: TermIndex, text: EntryText, scope, spans: list | None = None, skip=(), background: bool = False) -> dict[SignalKind, tuple[str, int]]:
        """Each kind of phrase of the index in the scope: its first phrase, and where it is.
        Phrases overlapping a span of `skip` are left out; `spans` collects where each was.
        With `background`, a phrase in a concessive clause ("imports rise despite a tariff
        delay") is left out: it tells the circumstances, not what happened to the subject."""
        found: dict[SignalKind, tuple[str, int]] = {}
        for begin, end in scope:
            for start, stop, literal, kind in index.find(text.text[begin:end]):
                at, until = begin + start, begin + stop
                if any(at < skip_end and skip_start < until for skip_start, skip_end in skip):
                    continue
                if background and _CONCESSIVE.search(text.text, max(begin, at - 60), at):
                    continue
                found.setdefault(kind, (literal.original, at))
                if spans is not None:
                    spans.append((at, until))
        return found

    @staticmethod
    def _year_position(text: EntryText, scope, year: int | None) -> int | None:
        for begin, end in scope:
            found = text.text.find(str(year), begin, end) if year else -1
            if found >= 0:
                return found
        return None

    @staticmethod
    def _best_sentence(model: SignalModel, category: str, text: EntryText, scope, kind: SignalKind, cues) -> int | None:
        """Where the model reads `kind` most strongly: the quote a reviewer checks."""
        if len(scope) == 1:
            return scope[0][0]
        scored = [(model.probabilities(model.feature_values(category, text.text[begin:end], cues, text.original_of([(begin, end)])))[kind.value], begin)
                  for begin, end in scope]
        return max(scored)[1]

    def reading_input(self, rule_id: str, entry: Entry) -> tuple[str, tuple[str, ...], str] | None:
        """The text, cues and original text the model reads for this entry and rule (None if
        it does not match): what a person's label is learnt from."""
        number = next((n for n, rule in enumerate(self.rules) if rule.id == rule_id), None)
        if number is None:
            return None
        compiled = self._compiled[number]
        text = EntryText.of_entry(entry)
        scope = self._scope_of(number, text)
        if scope is None:
            return None
        scope_text = " \n ".join(text.text[begin:end] for begin, end in scope)
        builtin = self._phrases_in(self._signals, text, scope, background=True)  # as `_read` finds them
        return (scope_text, reading_cues(builtin, builtin_signals.stated_year(scope_text, compiled.rule.stated_years, earliest=text.published_year)),
                text.original_of(scope))

    def text_reading(self, entry: Entry) -> tuple[str, tuple[str, ...], str]:
        """The whole entry as the model would read it, for a text no rule matches."""
        text = EntryText.of_entry(entry)
        whole = [(start, end) for _name, start, end in text.spans if end > start]
        return text.text, reading_cues(self._phrases_in(self._signals, text, [(0, len(text.text))], background=True), None), text.original_of(whole)

    def _scope_of(self, number: int, text: EntryText) -> "_Scope | None":
        """The sentences the rule's reading looks at, or None when the rule does not match."""
        result = self._evaluate(number, "", text, self._literal_hits(text).get(number, []), scope_only=True)
        return result if isinstance(result, _Scope) else None


# A clause that gives the circumstances: what follows in it is not the subject's move.
_CONCESSIVE = re.compile(
    r"(?:\b(?:despite|in spite of|notwithstanding|regardless of|even as|amid|amidst|trotz|malgre|pese a|a pesar de|nonostante)\b|尽管|儘管|不顾)[^,;:.!?，。、]*$"
)


_QUESTION = re.compile(r"[?？]")
# A year for the commitment against its own date.
_BY_RELATION = {"same": SignalKind.REAFFIRMED, "earlier": SignalKind.PROGRESS, "later": SignalKind.DELAY}


def _restated_decides(restated, kind: SignalKind, builtin: dict, scope_text: str) -> bool:
    """A date said again settles the reading unless the model reads a move ("lets cars stay
    on sale after 2035" weakens the pledge, whatever the date), the text asks ("still on
    track for 2028?"), or its built-in phrases name another kind of move."""
    decided = _BY_RELATION[restated[0]]
    if kind in _MOVES or _QUESTION.search(scope_text):
        return False
    return set(builtin) <= {SignalKind.REAFFIRMED, SignalKind.PROGRESS, decided}


class _Scope(list):
    """The (begin, end) spans a match's signal is read in (what `scope_only` returns, not reasons)."""


@dataclass(frozen=True)
class _Reading:
    signal: SignalKind
    confidence: float
    source: str
    phrase: str | None
    position: int | None
    target_year: int | None


def _which_regex(patterns, text: str, start: int, end: int) -> str:
    """Which of a role's regexes made a hit of their alternation (for the reviewer)."""
    for source, pattern in patterns:
        found = pattern.search(text, start, end)
        if found is not None and found.start() == start:
            return source
    return patterns[0][0]


def reading_cues(builtin: dict, stated: tuple[str, int, int] | None) -> tuple[str, ...]:
    """What the rules' machinery saw, as features for the model: the kinds of built-in
    phrase found, and how a stated year compares with the target."""
    cues = [f"phrase_{kind.value}" for kind in builtin]
    if stated:
        cues.append(f"year_{stated[0]}")
    return tuple(sorted(cues))


_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_UNSPACED}]{{1,2}}|[^\s{_UNSPACED}]+")


def _within(text: str, group_hits: list[list[TermHit]], words: int) -> bool:
    """Is there a window of `words` words holding a hit of every group?

    Chinese and Japanese are written without spaces: there every two characters count
    as a word (about a word's length), or a whole paragraph would be one "word" and
    every term in it "near" every other."""
    starts = [found.start() for found in _WORD.finditer(text)]
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


# Words that tie a number to another quantity than a share or a capacity: "a 25% tariff",
# "duties of 100%", "shares rose 5%". A rule adds its own in `extract.not_near`.
OTHER_QUANTITIES = ("tariff*", "duty", "duties", "levy", "levies", "tax*", "rate", "rates", "stake", "stock*",
                    "price*", "cost*", "margin*", "efficiency", "interest", "discount*", "subsid*", "credit*",
                    "关税", "関税", "税率", "관세")


def _extract_number(rule: Rule, text: str, near: list[TermHit], other_quantities: "TermIndex") -> tuple[float | None, float | None]:
    """The tracked quantity's level and its change, from the numbers nearest a `near` term.

    A number stated as a change ("up 66%", "plunged by 36.2%") is never a level; a number
    nearer a word of another quantity (a tariff rate, a price) than to a `near` term is
    neither."""
    if not near or rule.extract is None:
        return None, None
    starts = [found.start() for found in re.finditer(r"\S+", text)]

    def word(position: int) -> int:
        return bisect.bisect_right(starts, position) - 1

    near_words = [word(hit.start) for hit in near] + [word(hit.end - 1) for hit in near]
    others = [word(start) for start, _end, _literal, _payload in other_quantities.find(text)]
    best: dict[str, tuple[int, float]] = {}
    for position, value, kind in numbers.find_numbers(text, rule.extract.unit):
        at = word(position)
        distance = min(abs(at - w) for w in near_words)
        if distance > rule.extract.within:
            continue
        # "a 25% tariff" (the word right after), "tariffs of 25%" (a few words before).
        if any((0 < other - at <= 1 or 0 < at - other <= 3) and abs(at - other) < distance for other in others):
            continue
        if kind not in best or distance < best[kind][0]:
            best[kind] = (distance, value)
    return (best["level"][1] if "level" in best else None), (best["change"][1] if "change" in best else None)


def _quote(text: EntryText, hit: TermHit) -> str:
    """The sentence of the original (not normalised) text around a hit."""
    original = text.originals.get(hit.field, "")
    if not original:
        return ""
    position = _original_position(original, text.field_text(hit.field), hit.start - text.start_of(hit.field))
    begin, end = _original_sentence(original, position)
    sentence = original[begin:end].strip()
    return sentence if len(sentence) <= QUOTE_CHARS else sentence[: QUOTE_CHARS - 1].rstrip() + "…"


def _original_position(original: str, normalised: str, position: int) -> int:
    """Where a position of a normalised field falls in the original: normalisation keeps
    lengths nearly equal, so a proportional position lands in the same sentence."""
    ratio = position / max(1, len(normalised))
    return max(0, min(len(original) - 1, int(ratio * len(original))))


def _original_sentence(original: str, position: int) -> tuple[int, int]:
    """The (start, end) of the original's sentence around a position."""
    begin = 0
    for found in _ORIGINAL_SENTENCE_END.finditer(original, 0, position):
        begin = found.end()
    end_found = _ORIGINAL_SENTENCE_END.search(original, position)
    return begin, (end_found.end() if end_found else len(original))


def _group_terms(terms: Sequence[Term]) -> str:
    return ", ".join(term if isinstance(term, str) else f"/{term.regex}/" for term in terms)


def _quote_terms(hits: list[TermHit]) -> str:
    return ", ".join(sorted({f"{hit.term!r} in {hit.field}" for hit in hits}))


def _describe_match(found: Match) -> tuple[str, ...]:
    reasons = [f"matched {hit.term!r} in {hit.field}" for hit in found.hits]
    reasons.append(
        f"signal: {found.signal.value}" + (f" ({found.signal_phrase!r})" if found.signal_phrase else "")
    )
    # What decided the signal, and how sure it is: what a reviewer weighs it by.
    reasons.append(f"decided by: {found.signal_source}, confidence {found.confidence:.2f}" + (" (needs a look)" if found.needs_review else ""))
    if found.target_year:
        reasons.append(f"target year mentioned: {found.target_year}")
    if found.value is not None:
        reasons.append(f"value extracted: {found.value:g}")
    return tuple(dict.fromkeys(reasons))
