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

# Phrases in the normalised form (lower-case, accents removed, hyphens as spaces); `*` ends a
# word stem. Each kind lists how news words it in English, German, French, Spanish, Italian,
# Portuguese, Chinese, Japanese and Korean (CJK matched without word boundaries).
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
        # English
        "starts construction", "started construction", "inaugurat*", "invests", "awards contract", "speeds up",
        "fast track*", "launches", "launched", "signs deal", "signs law", "opened", "begins", "awarded",
        "expands", "boosts",
        # German
        "baubeginn", "spatenstich", "eroffnet", "beschlossen", "beschliesst", "genehmigt", "verabschiedet",
        "investiert", "vorgezogen", "zieht vor", "verscharft", "beschleunigt", "produktionsstart",
        "grunes licht", "baut", "beginnt", "startet",
        # French
        "demarre", "debute", "adopte", "approuve", "accelere", "premiere pierre", "feu vert", "renforce",
        "releve", "lance", "ouvre", "avance", "construit", "investit",
        # Spanish
        "aprueba", "aprobado", "arranca", "acelera", "adelanta", "luz verde", "pone en marcha", "impulsa",
        "invierte", "construye", "lanza", "inicia",
        # Italian
        "avvia", "approva", "approvato", "via libera", "inaugura", "accelera", "lancia",
        # Portuguese
        "aprova", "lanca", "investe",
        # Chinese, simplified and traditional
        "提前", "加快", "加速", "启动", "啟動", "开建", "開建", "開工", "投產", "量產", "批准", "签署", "簽署", "上调", "上調", "提高目标",
        "提高目標", "落地",
        # Japanese
        "前倒し", "着手", "稼働へ", "引き上げ", "承認", "決定", "建設", "開始",
        # Korean
        "앞당겨", "앞당긴", "착수", "추진", "상향", "본격화", "승인", "가속",
    ),
    SignalKind.REAFFIRMED: (
        "reaffirms", "reaffirmed", "reiterates", "reiterated", "sticks to", "sticking to", "stands by",
        "remains committed", "still committed", "recommits", "confirms target", "confirms plan",
        "confirmed its target", "confirmed its plan", "keeps target", "maintains target",
        "maintains its target", "on course", "堅持", "维持", "重申", "재확인",
        # English
        "holds firm", "stays the course", "remains on track", "still on track", "sticks with", "stuck to",
        "stands firm", "insists", "no change to", "keeps its target", "keeps the target", "maintains",
        # German
        "halt fest an", "halt an", "festhalten", "bekraftigt", "bekennt sich", "bleibt bei", "bestatigt",
        "unverandert", "halt am", "halten am", "kurs halten", "halt kurs",
        # French
        "maintient", "maintenu", "reaffirme", "confirme", "tient bon", "garde le cap", "conserve",
        "reste engage", "ne renonce pas", "reitere",
        # Spanish
        "mantiene", "mantendra", "reafirma", "ratifica", "confirma", "reitera", "sigue adelante", "se mantiene",
        # Italian
        "conferma", "ribadisce", "tira dritto",
        # Portuguese
        "mantem",
        # Chinese, simplified and traditional
        "坚持", "維持", "不变", "不變", "如期", "再次确认", "仍将", "仍將",
        # Japanese
        "据え置き", "変えず", "再確認", "改めて", "堅持する",
        # Korean
        "유지", "고수", "재천명",
    ),
    SignalKind.DOUBT: (
        "doubt*", "concerns over", "concerns about", "at risk", "struggles", "struggling", "setback*",
        "hurdles", "uncertain", "uncertainty", "skeptic*", "sceptic*", "unlikely", "could miss",
        "may miss", "might miss", "set to miss", "off track", "falls behind", "falling behind",
        "behind schedule", "lagging", "questions over", "in jeopardy", "jeopardi*", "slow progress",
        "懸念", "难以", "우려",
        # English
        "falls short", "fell short", "fall short", "missed", "misses", "off course", "in doubt", "under threat",
        "faces delays", "risk missing", "risks missing", "warns", "struggle", "unrealistic",
        "out of reach", "lags", "slowdown", "shortfall",
        # German
        "zweifel*", "gefahrdet", "verfehlt", "verfehlen", "wackelt", "in gefahr", "kaum zu schaffen",
        "unrealistisch", "hinkt hinterher", "ruckstand", "fraglich", "stockt", "stocken", "kritik an",
        "droht zu scheitern", "probleme", "schwierigkeiten",
        # French
        "doute*", "menace", "compromis", "en peril", "incertain*", "peine a", "difficilement",
        "hors d'atteinte", "ne sera pas atteint", "en retard", "inquietude*", "critique*",
        # Spanish
        "duda*", "en riesgo", "peligra", "en peligro", "incumpl*", "lejos de", "no cumplira", "incertidumbre",
        "dificil", "preocupacion",
        # Italian
        "dubbi", "a rischio", "in bilico", "lontano da", "difficile",
        # Portuguese
        "duvida*", "em risco", "ameaca", "longe da meta",
        # Chinese, simplified and traditional
        "落空", "难以实现", "難以實現", "難以", "恐难", "恐難", "不如预期", "不如預期", "落后", "落後", "质疑", "質疑", "担忧", "擔憂", "挑战", "挑戰",
        "困难", "困難", "存疑",
        # Japanese
        "難しい", "危ぶまれ", "厳しい", "暗雲", "遠い", "届かず", "未達", "疑問",
        # Korean
        "불투명", "난항", "빨간불", "적신호", "어려워", "미달", "차질",
    ),
    SignalKind.DELAY: (
        "delay", "delays", "delayed", "delaying", "postpone*", "pushes back", "pushed back", "push back",
        "pushing back", "later than planned", "slips to", "slipped to", "defers", "deferred", "puts off",
        "put off", "延期", "先送り", "延迟", "推迟", "연기", "늦춰",
        # English
        "years away", "stalls", "stalled", "stalling", "on hold", "in limbo", "slips", "slipped", "reschedul*",
        "later than expected", "behind its timeline", "holds off", "held off", "pauses", "paused", "pausing",
        # German
        "verschieb*", "verschoben", "verzoger*", "aufgeschoben", "verspat*", "auf eis gelegt", "auf eis",
        "spater als geplant", "ruckt in die ferne", "lasst auf sich warten", "vertagt*", "hinausgezogert",
        "aufschub",
        # French
        "repousse", "repousser", "reporte", "reporter", "report de", "retard*", "decale", "differe", "ajourne",
        "suspendu", "suspend", "met en pause", "en suspens", "glisse", "plus tard que prevu",
        # Spanish
        "aplaza", "aplazado", "aplazamiento", "retrasa", "retrasado", "retraso", "pospone", "pospuesto",
        "demora", "congela", "congelado", "paraliza", "paralizado", "en suspenso", "prorroga",
        # Italian
        "rinvia", "rinviato", "rinvio", "slitta", "slittamento", "posticip*", "ritard*", "rimanda", "sospeso",
        "congelato",
        # Portuguese
        "adia", "adiado", "adiamento", "atrasa", "atrasado", "atraso", "posterga", "suspende",
        # Chinese, simplified and traditional
        "推遲", "延后", "延後", "搁置", "擱置", "暂缓", "暫緩", "推后", "推後", "延宕", "晚于预期", "晚於預期", "滞后", "滯後",
        # Japanese
        "見送り", "見送る", "遅れ", "遅延", "後ろ倒し", "ずれ込", "先延ばし", "凍結", "棚上げ", "保留",
        # Korean
        "보류", "미뤄", "미룬", "지연", "유예", "늦어",
    ),
    SignalKind.WEAKENED: (
        "waters down", "watered down", "watering down", "water down", "scales back", "scaled back",
        "scaling back", "scale back", "weakens", "weakened", "weakening", "softens", "softened",
        "loosens", "loosened", "relaxes", "relaxed", "cuts target", "cut its target", "lowers target",
        "lowered its target", "lowers its target", "dilutes", "diluted", "exemption*", "loophole*",
        "carve out", "縮小", "下方修正", "放宽", "削减目标", "축소", "완화",
        # English
        "slashes", "slashed", "rethink", "rethinks", "downgrades", "downgraded", "cuts back", "pares back",
        "pared back", "delays and dilutes", "less ambitious", "lowers its goal", "cuts its goal",
        "reduces target", "reduced its target", "revises down", "revised down", "backpedal*", "trims",
        "trimmed",
        # German
        "abgeschwacht", "schwacht ab", "aufgeweicht", "weicht auf", "lockert", "gelockert", "lockerung",
        "senkt ziel", "abgespeckt", "ruckt ab von", "abstriche", "ausnahme*", "verwassert", "entscharft",
        "zuruckgefahren", "gesenkt", "kurzt", "gekurzt",
        # French
        "assouplit", "assoupli", "assouplissement", "affaiblit", "edulcore", "revu a la baisse",
        "revoit a la baisse", "abaisse", "allege", "detricote", "derogation*", "moins ambitieux",
        # Spanish
        "suaviza", "suavizado", "flexibiliza", "flexibilizacion", "rebaja", "rebajado", "relaja", "debilita",
        "descafeina", "rebaja la ambicion", "recorta", "recorte",
        # Italian
        "ammorbidisce", "allenta", "ridimension*", "annacqua", "taglia",  # Italian "deroga" is also Spanish "repeals": abandoned
        # Portuguese
        "flexibilizacao", "enfraquece", "afrouxa", "rebaixa",
        # Chinese, simplified and traditional
        "放寬", "下调", "下調", "降低目标", "降低目標", "松绑", "鬆綁", "弱化", "豁免", "打折扣",
        # Japanese
        "緩和", "引き下げ", "後退", "骨抜き", "弱め",
        # Korean
        "하향", "낮춰", "낮췄", "후퇴", "약화",
    ),
    SignalKind.ABANDONED: (
        "abandons", "abandoned", "abandoning", "scraps", "scrapped", "scrapping", "drops plan",
        "dropped plans", "dropped its", "withdraws", "withdrew", "withdrawn", "withdrawal", "pulls out",
        "pulled out", "pulling out", "exits the", "exit from", "cancels", "cancelled", "canceled",
        "repeals", "repealed", "ditches", "ditched", "shelves", "shelved", "gives up", "gave up",
        "terminates", "terminated", "断念", "撤回", "中止", "放弃", "退出", "철회", "포기", "중단",
        # English
        "u turn", "foils", "foiled", "kills", "killed", "axes", "axed", "axing", "rolls back", "rolled back",
        "rolling back", "reverses", "reversed", "backtracks", "backtracked", "walks back", "walked back",
        "ends plan", "pulls the plug", "pulled the plug", "calls off", "called off", "overturns", "overturned",
        "rescinds", "rescinded", "revokes", "revoked", "halts", "halted",
        # German
        "kippt", "gekippt", "kippen", "gestoppt", "stoppt", "stopp fur", "beerdigt", "streicht", "gestrichen",
        "aus fur", "abgesagt", "sagt ab", "verabschiedet sich von", "gibt auf", "aufgegeben", "beendet",
        "zuruckgezogen", "zieht zuruck", "ruckzieher", "kehrtwende", "steigt aus", "ausstieg aus dem",
        "abgeblasen", "platzt", "geplatzt", "kassiert", "aufgehoben", "eingestellt", "stellt ein",
        # French
        "renonce", "abandonne", "abandon", "enterre", "supprime", "suppression", "annule", "annulation",
        "met fin", "retire", "retrait", "fait marche arriere", "recule", "volte face", "sort de",
        "stoppe", "jette l'eponge",
        # Spanish
        "abandona", "abandonado", "renuncia", "cancela", "cancelado", "deroga", "derogado", "suprime", "retira",
        "da marcha atras", "marcha atras", "da carpetazo", "entierra", "tumba", "frena", "sale del",
        # Italian
        "abbandona", "rinuncia", "cancella", "cancellato", "abolisce", "stop al", "ritira", "marcia indietro",
        "dietrofront", "affossa",
        # Portuguese
        "desiste", "recua", "revoga", "encerra",
        # Chinese, simplified and traditional
        "叫停", "喊停", "取消", "废除", "廢除", "撤销", "撤銷", "放棄", "终止", "終止", "停止", "停建", "砍掉", "废止", "廢止",
        # Japanese
        "撤退", "廃止", "取りやめ", "白紙", "打ち切り", "離脱",
        # Korean
        "폐지", "백지화", "취소", "철수", "무산", "탈퇴",
    ),
    SignalKind.ACHIEVED: (
        "achieves", "achieved", "meets target", "meets its target", "met its target", "met the target",
        "hits target", "hit its target", "reached its target", "reaches target", "reaches its target",
        "target met", "goal met", "fulfils", "fulfilled", "fulfills", "surpasses", "surpassed",
        "exceeds target", "exceeded its target", "exceeds its target", "達成", "达成", "实现目标", "달성",
        # English
        "completes", "completed", "commissioned", "goes live", "went live", "enters service", "entered service",
        "reached", "goal reached", "target reached", "ahead of target", "starts operation",
        "begins operation", "began operation", "comes online", "came online", "fully operational",
        "delivered on", "tops", "exceeds", "exceeded", "in operation",
        # German
        "erreicht", "erfullt", "ubertroffen", "ubertrifft", "geschafft", "in betrieb genommen",
        "geht in betrieb", "ans netz", "fertiggestellt", "abgeschlossen", "vorzeitig",
        # French
        "atteint", "depasse", "rempli", "accompli", "mis en service", "mise en service", "inaugure",
        "en avance",
        # Spanish
        "cumple", "cumplido", "alcanza", "alcanzado", "logra", "logrado", "supera", "superado",
        "entra en funcionamiento", "en servicio",
        # Italian
        "raggiunge", "raggiunto", "superato", "centrato", "centra l'obiettivo",
        # Portuguese
        "atinge", "atingiu", "alcanca", "alcancou", "cumpre", "cumpriu", "superou", "bate meta",
        # Chinese, simplified and traditional
        "提前完成", "提前实现", "提前實現", "完成目标", "完成目標", "超额完成", "超額完成", "建成", "投运", "投運", "并网", "併網", "竣工",
        # Japanese
        "到達", "稼働", "運転開始", "完成",
        # Korean
        "돌파", "준공", "가동", "완공", "넘어",
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
# Percentage points: always a change ("12.8%p" in Korean news, "个百分点", "ポイント").
_POINTS_AFTER = re.compile(r"^\s*(?:percentage points?\b|prozentpunkt\w*)")


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
    if points or _POINTS_AFTER.match(after):
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
