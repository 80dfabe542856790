"""What a matching entry says about its commitment: built-in signal phrases,
moved target years and extracted numbers. Pure functions over normalised text.
"""

from __future__ import annotations

import re
from datetime import date

from tracker.model import SignalKind

# When one text carries several kinds, the most consequential one wins.
PRIORITY = (
    SignalKind.ABANDONED,
    SignalKind.WEAKENED,
    SignalKind.DELAY,
    SignalKind.DOUBT,
    SignalKind.ACHIEVED,
    SignalKind.PROGRESS,
    SignalKind.REAFFIRMED,
)

# Phrases in the normalised form (lower-case, hyphens as spaces); `*` ends a word stem.
BUILTIN_PHRASES: dict[SignalKind, tuple[str, ...]] = {
    SignalKind.PROGRESS: (
        "begins production", "begin production", "began production", "starts production",
        "start production", "started production", "mass production begins", "begins mass production",
        "starts mass production", "start mass production", "pilot line", "pilot production",
        "pilot plant", "breaks ground", "broke ground", "groundbreaking", "opens plant", "opens factory",
        "opens a plant", "opens a factory", "new plant", "new factory", "production line", "milestone",
        "breakthrough", "ramps up", "ramping up", "ahead of schedule", "on schedule", "on track",
        "secures funding", "wins approval", "approves", "approved", "approve", "adopts", "adopted",
        "enacts", "enacted", "signs into law", "signed into law", "finalises", "finalizes", "finalised",
        "finalized", "passes law", "passed a law", "signs agreement", "signed an agreement",
        "unveils", "unveiled", "first deliveries", "delivers first", "rolls out", "ships first", "samples",
        "announces plan", "announced plans", "commits", "pledges", "raises target", "raised its target",
        "strengthens", "more ambitious", "accelerates", "brings forward", "rejoins", "rejoined", "joins",
        "量産開始", "生産開始", "着工", "量产", "投产", "开工", "양산 개시", "양산 돌입", "착공",
    ),
    SignalKind.REAFFIRMED: (
        "reaffirms", "reaffirmed", "reiterates", "reiterated", "sticks to", "sticking to", "stands by",
        "remains committed", "still committed", "recommits", "confirms target", "confirms plan",
        "confirmed its target", "confirmed its plan", "keeps target", "maintains target",
        "maintains its target", "on course", "堅持", "维持", "重申", "재확인",
    ),
    SignalKind.DOUBT: (
        "doubt*", "concerns over", "concerns about", "at risk", "struggles", "struggling", "setback*",
        "hurdles", "uncertain", "uncertainty", "skeptic*", "sceptic*", "unlikely", "could miss",
        "may miss", "might miss", "set to miss", "off track", "falls behind", "falling behind",
        "behind schedule", "lagging", "questions over", "in jeopardy", "jeopardi*", "slow progress",
        "懸念", "难以", "우려",
    ),
    SignalKind.DELAY: (
        "delay", "delays", "delayed", "delaying", "postpone*", "pushes back", "pushed back", "push back",
        "pushing back", "later than planned", "slips to", "slipped to", "defers", "deferred", "puts off",
        "put off", "延期", "先送り", "延迟", "推迟", "연기", "늦춰",
    ),
    SignalKind.WEAKENED: (
        "waters down", "watered down", "watering down", "water down", "scales back", "scaled back",
        "scaling back", "scale back", "weakens", "weakened", "weakening", "softens", "softened",
        "loosens", "loosened", "relaxes", "relaxed", "cuts target", "cut its target", "lowers target",
        "lowered its target", "lowers its target", "dilutes", "diluted", "exemption*", "loophole*",
        "carve out", "縮小", "下方修正", "放宽", "削减目标", "축소", "완화",
    ),
    SignalKind.ABANDONED: (
        "abandons", "abandoned", "abandoning", "scraps", "scrapped", "scrapping", "drops plan",
        "dropped plans", "dropped its", "withdraws", "withdrew", "withdrawn", "withdrawal", "pulls out",
        "pulled out", "pulling out", "exits the", "exit from", "cancels", "cancelled", "canceled",
        "repeals", "repealed", "ditches", "ditched", "shelves", "shelved", "gives up", "gave up",
        "terminates", "terminated", "断念", "撤回", "中止", "放弃", "退出", "철회", "포기", "중단",
    ),
    SignalKind.ACHIEVED: (
        "achieves", "achieved", "meets target", "meets its target", "met its target", "met the target",
        "hits target", "hit its target", "reached its target", "reaches target", "reaches its target",
        "target met", "goal met", "fulfils", "fulfilled", "fulfills", "surpasses", "surpassed",
        "exceeds target", "exceeded its target", "exceeds its target", "達成", "达成", "实现目标", "달성",
    ),
}

_YEAR = r"(?:(?P<fiscal>fiscal year|fiscal|fy)\s*)?(?P<year>20\d\d)"
_MOVED_YEAR_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\bnow (?:expects?|expected|targets?|targeted|aims?|plans?|planned|sees|seen|eyes|scheduled|slated|due|says|said|forecasts?|projects?)\b[^.!?。]{0,60}?\b(?:in|by|for|until|from)\s+(?:the end of |late |early |mid |the first half of |the second half of )?" + _YEAR,
        r"\bnow (?:expects?|expected|targets?|targeted|aims? for|plans? for|sees|eyes|scheduled for|slated for|due in|due by)\s+" + _YEAR,
        r"\b(?:delay\w*|postpon\w*|push\w* back|pushed back|mov\w* back|defer\w*|slip\w*)\b[^.!?。]{0,80}?\b(?:to|until|till|into)\s+(?:the end of |late |early |mid )?" + _YEAR,
        r"\bfrom (?:fiscal |fy)?20\d\d to " + _YEAR,
        _YEAR + r" instead of (?:fiscal |fy)?20\d\d",
        _YEAR + r" rather than (?:fiscal |fy)?20\d\d",
        r"\bno (?:earlier|sooner) than " + _YEAR,
        r"\bnot (?:before|until) " + _YEAR,
        r"(?P<year>20\d\d)\s*年度?\D{0,6}(?:に|へ|まで)?\s*(?:延期|先送り|ずれ込)",
        r"(?:推迟|延迟|延期|推后)(?:到|至)\s*(?P<year>20\d\d)",
        r"(?P<year>20\d\d)\s*년\D{0,4}(?:으로|로)?\s*(?:연기|늦춰|미뤄)",
    )
)

_NUMBER = r"(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_VALUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "percent": re.compile(_NUMBER + r"\s*(?:%|percent\b|per cent\b|pct\b|percentage points?\b)"),
    "gw": re.compile(_NUMBER + r"\s*(?:gw\b|gigawatts?\b)"),
    "gwh": re.compile(_NUMBER + r"\s*(?:gwh\b|gigawatt hours?\b)"),
    "usd": re.compile(r"(?:\$|us\$|usd\s?)" + _NUMBER + r"(?P<scale>\s*(?:million|billion|trillion|bn|m)\b)?"),
    "count": re.compile(r"(?<![\d.,])" + _NUMBER + r"(?![\d.,]*\s*(?:%|percent|per cent))"),
    "plants": re.compile(r"(?<![\d.,])" + _NUMBER + r"(?![\d.,]*\s*(?:%|percent|per cent))"),
}
_SCALE = {"million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}


def strongest(kinds: set[SignalKind]) -> SignalKind:
    for kind in PRIORITY:
        if kind in kinds:
            return kind
    return SignalKind.MENTION


def find_moved_year(text: str, deadline: date) -> tuple[int | None, bool]:
    """A target year stated as moved ("now expects 2030"): (year, is_later_than_deadline)."""
    best: tuple[int, bool] | None = None
    for pattern in _MOVED_YEAR_PATTERNS:
        for found in pattern.finditer(text):
            year = int(found.group("year"))
            fiscal = "fiscal" in found.groupdict() and found.group("fiscal")
            ends = date(year + 1, 3, 31) if fiscal else date(year, 12, 31)
            candidate = (year, ends > deadline)
            if best is None or year > best[0]:
                best = candidate
    return best if best else (None, False)


# "down from 72%", "up from", "compared with": the number before the change, not the news.
_PREVIOUS_VALUE = re.compile(r"(?:\bfrom|\bversus|\bvs\.?|\bcompared (?:with|to)|\bwas)\s*(?:\$|us\$)?$")

# A number told as a change, not a level: "up 66%", "plunged 36.2%", "fell by 12%", "a 5% rise",
# "66% year on year". "fell to 65%" is a level: "to" names where it landed.
_FALLING = r"down|fell|falls?|fall(?:en|ing)|drop(?:s|ped|ping)?|declin\w*|decreas\w*|plung\w*|plummet\w*|slump\w*|slid|slides?|slip(?:s|ped)?|tumbl\w*|shr[aiu]nk\w*|sank|sinks?|cut|lower\w*|less"
_RISING = r"up|rose|rises?|ris(?:en|ing)|jump\w*|surg\w*|soar\w*|climb\w*|grew|grows?|grow(?:n|ing)|gain\w*|increas\w*|spik\w*|higher|more|rebound\w*|add(?:s|ed)?"
_CHANGE_BEFORE = re.compile(rf"\b(?P<verb>{_FALLING}|{_RISING})\s+(?:by\s+)?(?:about |around |nearly |almost |over |more than |some |roughly |just |an? )?(?:\$|us\$)?$")
_CHANGE_AFTER = re.compile(
    rf"^\s*(?:%|percent\b|per cent\b|pct\b)?\s*(?:(?P<verb>{_FALLING}|{_RISING}|rise|drop|jump|decline|fall|growth|increase|decrease|plunge|surge|gain|slump)\b|"
    r"(?:year on year|year over year|yoy|y o y|from a year (?:earlier|ago|before)|on the year|on year|over the previous year|compared with|versus)\b)"
)
_FALLING_WORD = re.compile(rf"^(?:{_FALLING}|drop|decline|fall|decrease|plunge|slump)$")
_POINTS = re.compile(r"^\s*percentage points?\b")


def value_kind(text: str, start: int, end: int) -> tuple[str, float]:
    """Whether the number at text[start:end] is a level or a change, and the change's sign."""
    before = text[max(0, start - 40):start]
    after = text[end:end + 40]
    if _POINTS.match(after):
        verb = _CHANGE_BEFORE.search(before)
        return "change", -1.0 if verb and _FALLING_WORD.match(verb.group("verb")) else 1.0
    for found in (_CHANGE_BEFORE.search(before), _CHANGE_AFTER.match(after)):
        if found:
            verb = found.groupdict().get("verb") or ""
            return "change", -1.0 if _FALLING_WORD.match(verb) else 1.0
    return "level", 1.0


def find_values(text: str, unit: str) -> list[tuple[int, float]]:
    """(position, value) of every level of `unit` in a normalised text: earlier values
    ("down from 72%") and changes ("up 66%") left out."""
    return [(position, value) for position, value, kind in find_numbers(text, unit) if kind == "level"]


def find_numbers(text: str, unit: str) -> list[tuple[int, float, str]]:
    """(position, value, "level" | "change") of every number of `unit`; a change is signed."""
    found: list[tuple[int, float, str]] = []
    for match in _VALUE_PATTERNS[unit].finditer(text):
        if _PREVIOUS_VALUE.search(text, max(0, match.start() - 20), match.start()):
            continue
        value = float(match.group("num").replace(",", ""))
        if unit in ("count", "plants") and 1900 <= value <= 2200 and "," not in match.group("num"):
            continue  # a year, not a quantity
        scale = match.groupdict().get("scale")
        if scale:
            value *= _SCALE.get(scale.strip(), 1.0)
        kind, sign = value_kind(text, match.start(), match.end())
        found.append((match.start(), value * sign if kind == "change" else value, kind))
    return found


# A year stated for the commitment: "by 2028", "in fiscal 2028", "a 2027 launch", "2028年までに".
_STATED_YEAR_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(?:in|by|from|until|till|for|before|around|within|toward|towards|through|starting|as early as|as soon as|"
        r"no later than|not until|end of|start of|beginning of)\s+(?:the end of |the start of |the beginning of |late |early |mid |"
        r"the first half of |the second half of |the middle of |about |around )?" + _YEAR + r"\b",
        _YEAR + r"\s+(?:target|deadline|goal|launch|debut|start|timeline|timeframe|date|rollout|introduction|release)\b",
        r"(?P<year>20\d\d)\s*(?:年度?|년)",
    )
)


def stated_year(text: str, years: tuple[int, ...], earliest: int | None = None) -> tuple[str, int, int] | None:
    """The first year the text states for a date (not a past one, when `earliest` is the
    publication year), against the commitment's own: ("same" | "later" | "earlier", year, position)."""
    best: tuple[int, int] | None = None
    for pattern in _STATED_YEAR_PATTERNS:
        for found in pattern.finditer(text):
            year = int(found.group("year"))
            if earliest is not None and year < earliest:
                continue
            if best is None or found.start() < best[1]:
                best = (year, found.start())
    if best is None:
        return None
    year, position = best
    relation = "same" if year in years else "later" if year > max(years) else "earlier"
    return relation, year, position
