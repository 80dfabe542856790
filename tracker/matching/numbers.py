"""Numbers in a matching entry's text: the tracked quantity's level, or its change.

A share, a capacity or a count as the news states it, in the languages it is written in:
digits with decimal commas, shares in words ("three in four", "七成"), Chinese and
Japanese units (万, 亿千瓦), and whether the number is a level ("fell to 65%"), a change
("plunged 36.2%", "同比下降", "12.8%p") or where the quantity was before ("down from 72%").
Pure functions over normalised text (tracker.matching.textnorm).
"""

from __future__ import annotations

import re

# "1,206" is a thousand and more; "15,1" (two digits at most after the comma) is the
# decimal comma of German, French, Spanish, Italian and Portuguese news.
_NUMBER = r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+,\d{1,2}(?![\d,])|\d+(?:\.\d+)?)"
# Percentage points are a change whatever is said around them ("12.8%p" in Korean news).
_POINT_WORDS = (r"percentage points?\b|prozentpunkt\w*|points? de pourcentage|puntos porcentuales|punti percentuali|"
                r"pontos percentuais|个百分点|個百分點|百分点|ポイント|포인트|%p(?![a-z.])")
_PERCENT_WORDS = (r"%|percent\b|per cent\b|pct\b|prozent(?!punkt)\w*|pour cent\b|por ciento\b|por cento\b|"
                  r"per cento\b|procent\w*|퍼센트|パーセント")
_GW_WORDS = r"gw\b|gigawatts?\b|gigavatios?\b|gigawatios?\b|吉瓦|ギガワット|기가와트"
# Chinese and Japanese count power in ten-thousands (万) and hundred-millions (亿, 億) of
# kilowatts: 1亿千瓦 is 100 GW, 1321万千瓦 13.21 GW, 1億1300万キロワット 113 GW.
_KILOWATTS = r"(?:千瓦|キロワット|kw\b)"
_CJK_GW = re.compile(r"(?P<yi>\d+(?:\.\d+)?)\s*[亿億](?:\s*(?P<wan>\d+(?:\.\d+)?)\s*[万萬])?\s*" + _KILOWATTS
                     + r"|(?<![\d.亿億])(?P<wan_only>\d+(?:\.\d+)?)\s*[万萬]\s*" + _KILOWATTS)
# 6万6000台: a count in ten-thousands.
_CJK_COUNT = re.compile(r"(?<![\d.])(?P<man>\d+)\s*[万萬](?P<rest>\d{1,4}(?!\d))?(?![\d.])(?!\s*(?:千瓦|キロワット|kw|円|元|ドル|美元|달러|원))")
_VALUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "percent": re.compile(_NUMBER + r"\s*(?:(?P<points>" + _POINT_WORDS + ")|" + _PERCENT_WORDS + ")"),
    "gw": re.compile(_NUMBER + r"\s*(?:" + _GW_WORDS + ")"),
    "gwh": re.compile(_NUMBER + r"\s*(?:gwh\b|gigawatt hours?\b|gigawattstunden\b)"),
    "usd": re.compile(r"(?:\$|us\$|usd\s?)" + _NUMBER + r"(?P<scale>\s*(?:million|billion|trillion|bn|m)\b)?"),
    "count": re.compile(r"(?<![\d.,万萬億亿])" + _NUMBER + r"(?![\d.,]*\s*(?:%|percent|per cent|[万萬億亿]))"),
    "plants": re.compile(r"(?<![\d.,万萬億亿])" + _NUMBER + r"(?![\d.,]*\s*(?:%|percent|per cent|[万萬億亿]))"),
}

# A share told in words: "three in four", "seis de cada diez", "七成", "7割", "넷 중 셋".
_SMALL = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "ein": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
    "um": 1, "uma": 1, "duas": 2, "sete": 7, "oito": 8, "nove": 9, "dez": 10,
    "sex": 6, "tio": 10,  # Swedish ("sex av tio"), as one shipped example says it
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
    "하나": 1, "둘": 2, "셋": 3, "넷": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10,
}
_WORD = "|".join(sorted(map(re.escape, _SMALL), key=len, reverse=True))
_SHARE_IN_WORDS = tuple(
    (re.compile(pattern), order)
    for pattern, order in (
        # part first: "three in four", "drei von vier", "trois sur quatre", "seis de cada diez", "sex av tio"
        (rf"\b(?P<part>{_WORD}|\d)\s+(?:in|out of|von|sur|de cada|em cada|av)\s+(?P<whole>{_WORD}|10|\d)\b"
         r"(?!\s*(?:years?|months?|weeks?|days?|hours?|jahren?|monaten?|ans|mois|anos|anos|dias|jours|tagen?))", "part-whole"),
        # whole first: "10개 중 6개", "넷 중 셋", "四分之三", "4分の3"
        (rf"(?<![\d가-힣])(?P<whole>\d+|{_WORD})\s*(?:개\s*)?중\s*(?P<part>\d+|{_WORD})\s*(?:개|곳)?", "whole-part"),
        (r"(?<![\d一二三四五六七八九十百])(?P<whole>[一二三四五六七八九十\d])\s*分之\s*(?P<part>[一二三四五六七八九\d])", "whole-part"),
        (r"(?<![\d一二三四五六七八九十百])(?P<whole>[一二三四五六七八九十\d])\s*分の\s*(?P<part>[一二三四五六七八九\d])", "whole-part"),
        # tenths: "七成" (Chinese), "7割" (Japanese)
        # not 一成不变 ("unchanged"), 成功, 成果…, nor 5割引 (50% off) or 割合, 割高
        (r"(?<![\d一二三四五六七八九十])(?P<part>[一二三四五六七八九\d])\s*(?:成(?![功立分长長績绩果不])|割(?![引安高合]))", "tenths"),
        (r"\b(?:three quarters|drei viertel|trois quarts|tres cuartas partes|tres quartos)\b", "75"),
        (r"\b(?:two thirds|zwei drittel|deux tiers|dos tercios|dois tercos)\b", "66.7"),
        # not "the first half of 2025", "die erste Halfte"
        (r"(?<!first )(?<!second )\bhalf of\b(?!\s+(?:the\s+)?(?:year|decade|century|20\d\d))|\bdie halfte\b|"
         r"\bla moitie\b|\bla mitad\b|\ba metade\b|一半|过半|過半", "50"),
    )
)


def _small_number(word: str) -> int | None:
    return int(word) if word.isdigit() else _SMALL.get(word)


def _shares_in_words(text: str) -> list[tuple[int, int, float]]:
    found = []
    for pattern, order in _SHARE_IN_WORDS:
        for match in pattern.finditer(text):
            if order in ("75", "66.7", "50"):
                found.append((match.start(), match.end(), float(order)))
                continue
            part = _small_number(match.group("part"))
            whole = 10 if order == "tenths" else _small_number(match.group("whole"))
            if part and whole and part < whole:
                found.append((match.start(), match.end(), round(100.0 * part / whole, 1)))
    return found


_SCALE = {"million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}


# "down from 72%", "up from", "compared with": the number before the change, not the news.
_PREVIOUS_VALUE = re.compile(r"(?:\bfrom|\bversus|\bvs\.?|\bcompared (?:with|to)|\bwas)\s*(?:\$|us\$)?$")

# "70%→40%", "61.4%에서" (from), "61.4%から": the first is where it was.
_LEADS_TO = re.compile(r"\s*(?:→|⇒|➝|>|에서|부터|から)")
_TO_NUMBER = re.compile(r"\s*auf\s+(?:rund |etwa |fast |knapp |nur noch |nur )?\d")
_FROM_BEFORE = re.compile(r"(?:从|從|由)\s*$")

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


# The same in the other languages of the news, the verb or noun of the change right
# before the number ("um 36 Prozent gesunken", "en baisse de 36 %", "cayó un 36%",
# "同比下降36.2%", "前年比36%", "+585 GW") or right after it ("36%減", "36% 감소", "12.8%p↑").
# "auf 65 Prozent", "à 65 %", "降至65%" (fell to) name a level and are left alone.
_FALLING_ML = (r"sank|sinkt|fiel|fallt|gesunken|gefallen|ruckgang|minus|einbruch|verringert\w*|zuruck\w*|"
               r"baisse|recul\w*|chute|diminu\w*|repli|plonge\w*|"
               r"cae|cayo|caen|cayeron|caida|baja|bajo|descenso|desciende|disminu\w*|retroce\w*|desplom\w*|"
               r"cai|caiu|caem|queda|recua|recuou|recuo|despenc\w*|"
               r"cala|calo|calato|scende|sceso|flessione|ribasso|crollo|crolla|diminuzione|"
               r"下降|下跌|下滑|减少|減少|降低|回落|降幅|暴跌|大跌|骤降|驟降|锐减|銳減|萎缩|萎縮|缩水|縮水|跌|降|"
               r"減|低下|下落|縮小|감소|급감|하락|줄|축소|떨어|↓|zuruckgegangen|eingebrochen|weniger")
_CHANGE_BEFORE_ML = re.compile(
    r"(?:\b(?P<verb>(?:stieg|steigt|gestiegen|wuchs|wachst|gewachsen|anstieg|zuwachs|plus|wachstum|sank|sinkt|fiel|fallt|gesunken|gefallen|"
    r"ruckgang|minus|einbruch|verringert\w*|erhoht\w*)\s+(?:\w+\s+){0,2}?um|um)\s+(?:rund |etwa |fast |knapp |mehr als |uber |gut )?"
    r"|\b(?P<verb_fr>baisse|hausse|recul|progression|chute|augmentation|diminution|croissance|bond|repli|plongeon|envolee|"
    r"augmente|diminue|recule|progresse|grimpe|bondit|plonge|croit)\s+(?:de\s+|d\s*)"
    r"|\b(?P<verb_es>cae|cayo|caen|cayeron|caida|sube|subio|suben|subida|aumenta|aumento|aumentan|crece|crecio|crecimiento|baja|bajo|"
    r"descenso|desciende|incremento|alza|disminuye|disminuyo|disminucion|retrocede|retrocedio|retroceso|desplome|salto|repunte|repunta|"
    r"cai|caiu|caem|queda|sobe|subiu|alta|aumentou|cresce|cresceu|recua|recuou|recuo|salta|saltou|despenca|despencou|avanca|avancou|avanco|"
    r"cala|calo|calato|crescita|cresciuto|aumentato|sale|salito|scende|sceso|flessione|ribasso|rialzo|balzo|crollo|crolla|diminuzione)"
    r"\s+(?:de\s+|del\s+|dello\s+|dell\s*|di\s+|do\s+|da\s+|em\s+|en\s+)?(?:un\s+|um\s+|uno\s+)?(?:casi |cerca de |quase |quasi |circa )?"
    r"|(?P<verb_cjk>下降|下跌|下滑|减少|減少|增长|增長|上升|上涨|上漲|增加|提高|降低|回落|增幅|降幅|同比|环比|環比|暴跌|大跌|骤降|驟降|激增|猛增|"
    r"锐减|銳減|萎缩|萎縮|缩水|縮水|跌|涨|漲|增|降|前年比|前年同期比|前年同月比|前期比|伸び率|전년 대비|전년보다|대비)(?:了|达|達|约|約|近|逾|超|で)?\s*"
    r"|(?P<plus>\+)\s*)$"
)
_CHANGE_AFTER_ML = re.compile(r"^\s*(?P<verb>gesunken|gefallen|zuruckgegangen|eingebrochen|weniger|gestiegen|gewachsen|zugelegt|mehr\b|hoher\b|減|増|低下|上昇|下落|増加|減少|伸び|拡大|縮小|감소|증가|급감|급증|하락|상승|늘|줄|성장|확대|축소|뛰|떨어|↑|↓)")
_TO_LEVEL = re.compile(r"\bauf\s+(?:rund |etwa |fast |knapp |nur noch |nur )?$")
_FALLING_ML_WORD = re.compile(rf"(?:{_FALLING_ML})")


def value_kind(text: str, start: int, end: int, is_percent: bool, points: bool = False) -> tuple[str, float]:
    """Whether the number at text[start:end] is a level or a change, and the change's sign.

    A percentage (`is_percent`) is read as a change in any language of the news; other
    quantities in English only: "wachsen um 585 Gigawatt" tells the year's additions,
    which is what an additions pledge tracks. Percentage `points` are always a change."""
    before = text[max(0, start - 40):start]
    after = text[end:end + 40]
    if points:
        verb = _CHANGE_BEFORE.search(before)
        return "change", -1.0 if verb and _FALLING_WORD.match(verb.group("verb")) else 1.0
    for found in (_CHANGE_BEFORE.search(before), _CHANGE_AFTER.match(after)):
        if found:
            verb = found.groupdict().get("verb") or ""
            return "change", -1.0 if _FALLING_WORD.match(verb) else 1.0
    if is_percent and not _TO_LEVEL.search(before):  # "auf 50 Prozent gesunken": fell to, a level
        found = [match for match in (_CHANGE_BEFORE_ML.search(before), _CHANGE_AFTER_ML.match(after)) if match]
        if found:
            # The direction is in the verb, which may come after the number: "um 36 Prozent
            # gesunken", "前年比36%減".
            verbs = " ".join(value for match in found for value in match.groupdict().values() if value)
            return "change", -1.0 if _FALLING_ML_WORD.search(verbs) else 1.0
    return "level", 1.0


def find_values(text: str, unit: str) -> list[tuple[int, float]]:
    """(position, value) of every level of `unit` in a normalised text: earlier values
    ("down from 72%") and changes ("up 66%") left out."""
    return [(position, value) for position, value, kind in find_numbers(text, unit) if kind == "level"]


def find_numbers(text: str, unit: str) -> list[tuple[int, float, str]]:
    """(position, value, "level" | "change") of every number of `unit`, but those where the
    quantity was before the news; a change is signed."""
    found: list[tuple[int, int, float, bool]] = []  # start, end, value, told in percentage points
    for match in _VALUE_PATTERNS[unit].finditer(text):
        value = _number(match.group("num"))
        if unit in ("count", "plants") and 1900 <= value <= 2200 and "," not in match.group("num"):
            continue  # a year, not a quantity
        scale = match.groupdict().get("scale")
        if scale:
            value *= _SCALE.get(scale.strip(), 1.0)
        found.append((match.start(), match.end(), value, bool(match.groupdict().get("points"))))
    if unit == "gw":
        for match in _CJK_GW.finditer(text):
            if match.group("wan_only"):
                value = float(match.group("wan_only")) / 100
            else:
                value = float(match.group("yi")) * 100 + float(match.group("wan") or 0) / 100
            found.append((match.start(), match.end(), round(value, 4), False))
    elif unit in ("count", "plants"):
        for match in _CJK_COUNT.finditer(text):
            found.append((match.start(), match.end(), float(int(match.group("man")) * 10_000 + int(match.group("rest") or 0)), False))
    elif unit == "percent":
        found.extend((start, end, value, False) for start, end, value in _shares_in_words(text))
    told = []
    for start, end, value, points in sorted(found):
        if _was(text, start, end):
            continue
        kind, sign = value_kind(text, start, end, is_percent=unit == "percent", points=points)
        told.append((start, value * sign if kind == "change" else value, kind))
    return told


def _was(text: str, start: int, end: int) -> bool:
    """The number is where the quantity was before the news ("down from 72%", "从72%降至50%")."""
    before = text[max(0, start - 20):start]
    if _PREVIOUS_VALUE.search(before) or _FROM_BEFORE.search(before) or _LEADS_TO.match(text, end):
        return True
    # "von" is a level too ("ein Anteil von 72 Prozent"): a previous one only before "auf" and
    # a number ("von 72 Prozent auf 50 Prozent").
    return before.rstrip().endswith("von") and bool(_TO_NUMBER.match(text, end))


def _number(digits: str) -> float:
    whole, _, decimals = digits.partition(",")
    if decimals and len(decimals) <= 2 and digits.count(",") == 1:
        return float(f"{whole}.{decimals}")  # a decimal comma
    return float(digits.replace(",", ""))
