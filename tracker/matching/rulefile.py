"""Loading rule files strictly: every problem, all at once, with its file, line and column.

A file with a problem is left out and every other file still loads, so one typo
never blinds the tracker to the rest of its commitments.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from tracker.model import Entry
from tracker.matching.rulecache import cached_rule, remember_rule
from tracker.matching.yamlguard import Refused, read_capped, refuse_expansions
from tracker.matching.ruleformat import Rule, compile_regex, known_field_names

RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule file. `excludes_rule`: the file's rule cannot be used."""

    path: Path
    line: int
    column: int
    message: str
    excludes_rule: bool = True

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    problems: tuple[Problem, ...]
    files: tuple[Path, ...] = ()
    locations: dict[str, tuple[Path, Any]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    path: Path
    line: int
    column: int
    expected_match: bool
    passed: bool
    text: str
    reasons: tuple[str, ...]


def find_rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
    return files


def load_rules(paths: Sequence[Path]) -> RuleSet:
    """Every rule under `paths`; problems for the files that cannot be used."""
    problems: list[Problem] = []
    missing = [path for path in paths if not path.exists()]
    problems.extend(Problem(path, 0, 0, "no such file or folder") for path in missing)
    files = find_rule_files(paths)
    rules: list[Rule] = []
    locations: dict[str, tuple[Path, Any]] = {}
    for path in files:
        rule, document, file_problems = _load_file(path)
        problems.extend(file_problems)
        if rule is None:
            continue
        if rule.id in locations:
            kept_path, kept_document = locations[rule.id]
            # The file named after the id wins over a copy being edited; else the first one.
            if path.stem == rule.id and kept_path.stem != rule.id:
                rules = [rule if existing.id == rule.id else existing for existing in rules]
                locations[rule.id] = (path, document)
                path, document, kept_path = kept_path, kept_document, path
            line, column = _position(_document_with_positions(path, document), ("id",))
            problems.append(Problem(path, line, column, f"duplicate id {rule.id!r}: also defined in {kept_path} (which is used)"))
            continue
        rules.append(rule)
        locations[rule.id] = (path, document)
    return RuleSet(tuple(rules), tuple(problems), tuple(files), locations)


def check_rules(paths: Sequence[Path], signal_model=None) -> tuple[RuleSet, list[ExampleResult]]:
    """Load, then run every example: what `tracker rules check` reports (reading signals
    with `signal_model`, as the bot does)."""
    loaded = load_rules(paths)
    results = run_examples(loaded, signal_model=signal_model)
    failures = [
        Problem(result.path, result.line, result.column, _example_failure(result), excludes_rule=False)
        for result in results
        if not result.passed
    ]
    return RuleSet(loaded.rules, loaded.problems + tuple(failures), loaded.files, loaded.locations), results


def run_examples(rule_set: RuleSet, only: str | None = None, signal_model=None) -> list[ExampleResult]:
    from tracker.matching.matcher import RuleMatcher  # matching imports the format; keep the loader light

    matcher = RuleMatcher(rule_set.rules, signal_model=signal_model)
    results = []
    for rule in rule_set.rules:
        if only and rule.id != only:
            continue
        path, document = rule_set.locations[rule.id]
        document = _document_with_positions(path, document)
        for expected_match, examples in ((True, rule.examples.match), (False, rule.examples.no_match)):
            key = "match" if expected_match else "no_match"
            for number, example in enumerate(examples):
                entry = Entry(key=f"example:{rule.id}:{key}:{number}", title=example.title, summary=example.text)
                explanation = matcher.explain(rule.id, entry)
                passed, reasons = _judge(example, expected_match, explanation)
                line, column = _position(document, ("examples", key, number))
                results.append(
                    ExampleResult(rule.id, path, line, column, expected_match, passed, example.title or example.text, reasons)
                )
    return results


def _judge(example, expected_match: bool, explanation) -> tuple[bool, tuple[str, ...]]:
    if not expected_match:
        if explanation.matched:
            return False, ("matched but must not",) + explanation.reasons
        return True, explanation.reasons
    if not explanation.matched:
        return False, ("did not match",) + explanation.reasons
    found = explanation.match
    wrong = []
    if example.signal and found.signal.value != example.signal:
        wrong.append(f"signal is {found.signal.value}, expected {example.signal}")
    if example.value is not None and (found.value is None or abs(found.value - example.value) > 1e-9):
        wrong.append(f"value is {found.value}, expected {example.value:g}")
    if example.change is not None and (found.change is None or abs(found.change - example.change) > 1e-9):
        wrong.append(f"change is {found.change}, expected {example.change:g}")
    if example.value is None and example.change is not None and found.value is not None:
        wrong.append(f"a change was stored as the level {found.value:g}")
    if example.target_year is not None and found.target_year != example.target_year:
        wrong.append(f"target year is {found.target_year}, expected {example.target_year}")
    return (not wrong), tuple(wrong) + explanation.reasons


def _example_failure(result: ExampleResult) -> str:
    kind = "match" if result.expected_match else "no_match"
    text = result.text if len(result.text) <= 80 else result.text[:79] + "…"
    return f"{result.rule_id}: {kind} example {text!r}: {result.reasons[0]}"


class _DatesAsText(RoundTripConstructor):
    """Dates stay text until the format validates them: ruamel would raise a bare
    ValueError on 2030-13-01, losing the file's position and its other problems."""


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


class _SafeDatesAsText(SafeConstructor):
    """The same for the fast loader: dates stay text for the format to validate."""


_SafeDatesAsText.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _load_file(path: Path) -> tuple[Rule | None, Any, list[Problem]]:
    """A file's rule, its document with positions (None when the fast path was enough), its problems."""
    try:
        text = read_capped(path)
    except (UnicodeDecodeError, OSError) as error:
        return None, None, [Problem(path, 1, 1, f"cannot read: {error}")]
    except Refused as refused:
        return None, None, [Problem(path, refused.line, refused.column, str(refused))]
    rule = cached_rule(text)  # these very bytes were read, checked and valid before
    if rule is not None:
        return rule, None, []
    try:
        refuse_expansions(text)
    except Refused as refused:
        return None, None, [Problem(path, refused.line, refused.column, str(refused))]
    rule = _load_quickly(path, text)
    if rule is not None:
        remember_rule(text, rule)
        return rule, None, []
    try:
        return _load_with_positions(path, text)
    except (RecursionError, AssertionError, ValueError, TypeError) as error:  # the YAML library's own limits (e.g. %YAML 1.3)
        return None, None, [Problem(path, 1, 1, f"cannot read: {type(error).__name__}: {error}")]


def _load_quickly(path: Path, text: str) -> Rule | None:
    """The common case, a valid file, through libyaml (about 8× faster than the
    round-trip loader, which every command would otherwise pay at start). None sends
    the file through the round-trip loader, which knows where each problem is."""
    yaml = YAML(typ="safe")
    yaml.Constructor = _SafeDatesAsText
    try:
        document = yaml.load(text)
        if not isinstance(document, dict) or _check_regexes(path, document):
            return None
        return Rule.model_validate(document)
    except (YAMLError, ValidationError, ValueError, TypeError):
        return None


def _document_with_positions(path: Path, document: Any) -> Any:
    """The round-trip document, for a file the fast path loaded (positions of examples, ids)."""
    if document is not None:
        return document
    yaml = YAML(typ="rt")
    yaml.Constructor = _DatesAsText
    return yaml.load(path.read_text(encoding="utf-8"))


# The parser's words for the usual slips of someone editing a rule file, in plain words
# (the parser's own message follows, for whoever knows YAML).
_YAML_HINTS = (
    ("expected <block end>", "this line does not fit the lines above it: indented differently, or text after a quoted value or a closing bracket"),
    ("mapping values are not allowed here", "a ':' where none is expected: a line indented too far, or text holding ': ' that needs quotes"),
    ("could not find expected ':'", "a line without 'key: value', or one that should be indented under the line above"),
    ("'\\t' that cannot start any token", "a tab: indent with spaces"),
    ("cannot start any token", "a value starting with a character YAML reserves (@, `, %…): put it in quotes"),
    ("found unexpected end of stream", "a quote or bracket opened and never closed"),
    ("expected ',' or ']'", "a list in [brackets] not closed, or an item in it that needs quotes"),
    ("expected ',' or '}'", "a mapping in {braces} not closed, or a value in it that needs quotes"),
)


def _load_with_positions(path: Path, text: str) -> tuple[Rule | None, Any, list[Problem]]:
    yaml = YAML(typ="rt")
    yaml.Constructor = _DatesAsText
    try:
        document = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        context = error.context or ""
        if error.context_mark and error.problem_mark and error.context_mark.line != error.problem_mark.line:
            context += f" (from line {error.context_mark.line + 1}, column {error.context_mark.column + 1})"
        message = ": ".join(part for part in (context, error.problem) if part) or str(error)
        hint = next((words for problem, words in _YAML_HINTS if problem in (error.problem or "")), None)
        message = f"{hint} (parser: {message})" if hint else message
        return None, None, [Problem(path, line, column, f"YAML syntax: {message}")]
    except YAMLError as error:
        return None, None, [Problem(path, 1, 1, f"cannot read: {error}")]
    if not isinstance(document, dict):
        return None, document, [Problem(path, 1, 1, "a rule file must be a mapping of fields (id, title, …)")]
    problems = _check_regexes(path, document)
    try:
        rule = Rule.model_validate(_plain(document))
    except ValidationError as error:
        described = [_describe(path, document, problem) for problem in error.errors()]
        return None, document, _merge_union_errors(described) + problems
    return (None if problems else rule), document, problems


def _check_regexes(path: Path, document: Any) -> list[Problem]:
    """Compile every `{regex: …}` term with RE2, whatever else is wrong with the file."""
    match = document.get("match")
    if not isinstance(match, dict):
        return []
    places: list[tuple[tuple[Any, ...], Any]] = []
    groups = match.get("all")
    if isinstance(groups, list):
        for g, group in enumerate(groups):
            if isinstance(group, list):
                places += [(("match", "all", g, t), term) for t, term in enumerate(group)]
    for key in ("any", "none"):
        if isinstance(match.get(key), list):
            places += [(("match", key, t), term) for t, term in enumerate(match[key])]
    problems = []
    for location, term in places:
        if not isinstance(term, dict) or not isinstance(term.get("regex"), str):
            continue
        try:
            compile_regex(term["regex"])
        except ValueError as error:
            line, column = _position(document, location + ("regex",))
            problems.append(
                Problem(path, line, column, f"bad regex /{term['regex']}/: {error} (RE2 syntax: no back-references or look-arounds)")
            )
    return problems


def _describe(path: Path, document: Any, problem: dict[str, Any]) -> Problem:
    location = tuple(part for part in problem["loc"] if not _is_union_tag(part))
    line, column = _position(document, location)
    dotted = ".".join(str(part) for part in location)
    if problem["type"] == "extra_forbidden":
        unknown = str(location[-1])
        guess = difflib.get_close_matches(unknown, sorted(known_field_names()), n=1, cutoff=0.6)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return Problem(path, line, column, f"unknown field {unknown!r}{hint}")
    if problem["type"] == "missing":
        return Problem(path, line, column, f"missing field {dotted!r}")
    message = problem["msg"].removeprefix("Value error, ")
    return Problem(path, line, column, f"{dotted}: {message}" if dotted else message)


def _merge_union_errors(problems: list[Problem]) -> list[Problem]:
    """A term that is neither text nor {regex: …} fails both; say it once, plainly."""
    merged: dict[tuple[int, int, str], Problem] = {}
    for problem in problems:
        place = (problem.line, problem.column, problem.message.split(":")[0])
        if place in merged and "Input should be a valid" in problem.message:
            field = problem.message.split(":")[0]
            merged[place] = Problem(problem.path, problem.line, problem.column, f"{field}: a term is text or {{regex: …}}")
        else:
            merged.setdefault(place, problem)
    return list(merged.values())


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in ("str", "RegexTerm") or part.startswith(("function-", "literal[")))


def _position(document: Any, location: Sequence[Any]) -> tuple[int, int]:
    """Line and column (1-based) of the deepest node of `location` that exists."""
    node = document
    line, column = 1, 1
    if hasattr(node, "lc"):
        line, column = node.lc.line + 1, node.lc.col + 1
    for part in location:
        try:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                line, column = (value + 1 for value in node.lc.item(part))
                node = node[part]
            elif isinstance(node, dict) and part in node:
                line, column = (value + 1 for value in node.lc.key(part))
                node = node[part]
            else:
                break
        except (AttributeError, KeyError, TypeError):
            break
    return line, column


def _plain(node: Any) -> Any:
    """ruamel's commented containers and scalars → plain Python for validation."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node
