"""What a matching entry says about its commitment: built-in signal phrases (in the nine
languages of the news), target years stated as moved, and years stated for the target.
Pure functions over normalised text; the numbers it states are tracker.matching.numbers'.
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
        "hurdle*", "uncertain", "uncertainty", "skeptic*", "sceptic*", "unlikely", "could miss",
        "may miss", "might miss", "set to miss", "off track", "falls behind", "falling behind",
        "behind schedule", "lagging", "questions over", "in jeopardy", "jeopardi*", "slow progress",
        "懸念", "难以", "우려",
        # English
        "falls short", "fell short", "fall short", "missed", "misses", "off course", "in doubt", "under threat",
        "faces delays", "risk missing", "risks missing", "warns", "struggle", "unrealistic",
        "out of reach", "lags", "slowdown", "shortfall",
        # How the news words a risk without a verb of failure: cautions, clouds, hurdles,
        # headwinds, hype, a plan on the chopping block, a yellow light.
        "years off", "meets caution", "urges caution", "cautious", "casts doubt", "clouds", "cloud over",
        "chopping block", "chopping list", "bubble", "hype", "high risk", "remains to be seen",
        "obstacle*", "roadblock*", "headwind*", "stumbling block*", "question mark*", "cold water",
        "hurde*", "fragezeichen", "skepsis", "gegenwind", "dampfer", "frein*",
        "escepticismo", "obstaculo*", "scetticismo", "ostacol*",
        "黄灯", "泼冷水", "潑冷水", "疑问", "靠得住", "隐忧", "隱憂", "冷や水", "逆風", "黄信号", "課題山積",
        "흔들", "경고", "허들", "물음표", "제동", "회의론", "걸림돌",
        # Emissions going up, against a pledge to cut them ("reached a new record" is not
        # the target reached), in the languages of the news.
        "emissions rose", "emissions rise", "emissions rising", "emissions climbed", "emissions increased",
        "emissions grew", "emissions hit a record", "emissions reached a record", "emissions reached a new record",
        "record emissions", "rise in emissions", "emissions rebound*",
        "emissionen steigen", "emissionen gestiegen", "emissionen auf rekordhoch", "rekordemissionen", "anstieg der emissionen",
        "hausse des emissions", "emissions en hausse", "emissions record",
        "aumento de las emisiones", "emisiones record", "emisiones aumentan", "aumento delle emissioni", "aumento das emissoes",
        "排放创新高", "排放创历史新高", "排放量创新高", "排放上升", "排放增加", "排放反弹", "排放量上升", "排放量增加",
        "排出量が過去最高", "排出量が増加", "排出量増加", "배출량 증가", "배출량 사상 최대", "배출 증가",
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
        r"\b(?:delay\w*|postpon\w*|push(?:es|ed|ing)?|mov(?:es|ed|ing)|defer\w*|slip\w*|shift\w*|reschedul\w*)\b[^.!?。]{0,80}?"
        r"\b(?:to|until|till|into)\s+(?:the end of |late |early |mid )?" + _YEAR,
        # German, French, Spanish, Italian, Portuguese: "verschiebt … auf 2028", "reporté à 2030",
        # "retrasa … hasta 2029", "slitta al 2030", "adia … para 2029" (accents folded)
        r"\b(?:verschieb\w*|verschob\w*|vertag\w*|verzoger\w*|rutsch\w*)\b[^.!?。]{0,60}?\b(?:auf|bis|ins jahr)\s+" + _YEAR,
        r"\b(?:report(?:e|ee|es|ees|ent)|repouss\w*|decal\w*|retard\w*|glisse\w*)\b[^.!?。]{0,60}?\b(?:a|en|au|jusqu'en|jusqu'a)\s+(?:l'horizon\s+)?" + _YEAR,
        r"\b(?:retras\w*|aplaz\w*|pospon\w*|pospus\w*|demor\w*)\b[^.!?。]{0,60}?\b(?:a|al|hasta|para)\s+(?:el\s+)?" + _YEAR,
        r"\b(?:rinvi\w*|slitt\w*|posticip\w*|rimand\w*)\b[^.!?。]{0,60}?\b(?:al|a|fino al)\s+" + _YEAR,
        r"\b(?:adia\w*|adiou|posterg\w*)\b[^.!?。]{0,60}?\b(?:para|ate)\s+(?:o\s+)?" + _YEAR,
        r"\bfrom (?:fiscal |fy)?20\d\d to " + _YEAR,
        _YEAR + r" instead of (?:fiscal |fy)?20\d\d",
        _YEAR + r" rather than (?:fiscal |fy)?20\d\d",
        r"\bno (?:earlier|sooner) than " + _YEAR,
        r"\bnot (?:before|until) " + _YEAR,
        r"(?P<year>20\d\d)\s*年度?\D{0,8}(?:に|へ|まで)?\s*(?:延期|先送り|ずれ込|持ち越|後ずれ)",
        r"(?:推迟|延迟|延期|推后|推遲|延遲|推後|押后|顺延|順延)(?:到|至)?\s*(?P<year>20\d\d)",
        r"(?:改到|改至|推至|延至|延到)\s*(?P<year>20\d\d)",
        r"(?P<year>20\d\d)\s*년\D{0,4}(?:으로|로)?\s*(?:연기|늦춰|미뤄|미룬|지연)",
    )
)

# A target year stated as brought forward: "moves the launch up to 2026", "auf 2026
# vorgezogen", "adelanta a 2026", "提前至2026年", "2026年に前倒し", "2026년으로 앞당겨".
_FORWARD_YEAR_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(?:mov(?:es|ed|ing) up|brings? forward|brought forward|bringing forward|pull(?:s|ed|ing)? (?:forward|ahead)|"
        r"advanc(?:es|ed|ing))\b[^.!?。]{0,80}?\b(?:to|into)\s+(?:the end of |late |early |mid )?" + _YEAR,
        r"\b(?:vorgezogen|vorzieh\w*|zieh\w* \w+ vor)\b[^.!?。]{0,60}?\b(?:auf|ins jahr)\s+" + _YEAR,
        r"\bauf\s+" + _YEAR + r"\s+vorgezogen",
        r"\bzieh\w*\b[^.!?。]{0,60}?\bauf\s+" + _YEAR + r"\s+vor\b",
        r"\b(?:avance\w*|anticip\w*|adelant\w*|antecip\w*|adiant\w*)\b[^.!?。]{0,60}?\b(?:a|au|en|al|para|hasta)\s+(?:el\s+|o\s+)?" + _YEAR,
        r"(?:提前(?:到|至)|提早(?:到|至))\s*(?P<year>20\d\d)",
        r"(?P<year>20\d\d)\s*年度?\D{0,8}(?:に|へ)?\s*前倒し",
        r"(?P<year>20\d\d)\s*년\D{0,4}(?:으로|로)?\s*앞당",
    )
)


def find_forward_year(text: str, years: tuple[int, ...]) -> int | None:
    """A target year stated as brought forward to before the commitment's own, else None."""
    found_years = [int(found.group("year")) for pattern in _FORWARD_YEAR_PATTERNS for found in pattern.finditer(text)]
    earlier = [year for year in found_years if year < min(years)]
    return min(earlier) if earlier else None


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


# A date said again, in words that say it is the same date as before: "still comes in
# 2028", "sticks to 2027", "reaffirms its 2030 goal", "remains on track for 2035",
# "hält an 2035 fest", "重申2030年", "2027年量産を維持". Against the commitment's own date,
# such a sentence is a reaffirmation (the same year), a step (earlier) or a slip (later),
# whatever else the words around it suggest ("still" is also a word of doubt).
_RESTATING = (
    r"\bstill\s+(?:\w+\s+){0,2}?(?:comes?|coming|due|expected|expects?|aims?|aiming|targets?|targeting|plans?|planned|"
    r"planning|scheduled|slated|set|on track|on course|on schedule|sees|eyes|intends?|committed|wants?|wanting|looks?|"
    r"counts?|bets?|going|headed)\b",
    r"\b(?:sticks?|stuck|sticking|holds?|held|holding|keeps?|kept|keeping|stands?|stood|standing)\s+(?:firm\s+|fast\s+)?"
    r"(?:by|to|with)\b",
    r"\b(?:remains?|remained|stays?|stayed|is|are)\s+(?:still\s+)?(?:committed to|on track for|on course for|on schedule for)\b",
    r"\b(?:keeps?|kept|keeping|maintains?|maintained|maintaining|retains?|retained)\s+(?:its|the|their|a|his|her)\b",
    r"\b(?:on track|on course|on schedule|on target)\s+(?:for|to)\b",
    r"\b(?:reaffirm\w*|reiterat\w*|recommit\w*|restat\w*|re-?confirm\w*|doubles? down|doubled down)\b",
    # German, French, Spanish, Italian, Portuguese (accents folded, as the text is)
    r"\b(?:halt\w*|hielt\w*)\b[^.!?]{0,60}?\b(?:fest|an)\b|\bbekraftig\w*|\bweiterhin\b|\bbleib\w* (?:es )?bei\b|\bim zeitplan\b",
    r"\b(?:maintien\w*|reaffirm\w*|reitere\w*|toujours prevu\w*|toujours (?:en|pour)|garde le cap|tient le cap)\b",
    r"\b(?:mantien\w*|reafirm\w*|reitera\w*|ratifica\w*|sigue (?:previst\w*|en pie)|se mantiene)\b",
    r"\b(?:conferm\w*|ribadisc\w*|mantien\w*|resta (?:fermo|confermat\w*))\b",
    r"\b(?:mantem|mantido|mantida|reafirm\w*|reitera\w*|segue (?:previst\w*|de pe))\b",
    # Chinese, Japanese, Korean
    r"重申|坚持|堅持|维持|維持|仍(?:将|计划|預計|预计|按|然计划|然预计|是)|依然|照计划|如期|不变|不變|"
    r"改めて|再確認|変えず|変わらず|据え置|堅持|予定通り|計画通り|"
    r"재확인|재천명|고수|유지|변함없|예정대로|계획대로|차질 없",
)
_RESTATED = re.compile("|".join(f"(?:{pattern})" for pattern in _RESTATING))
# The restating words and the year, within one clause.
_RESTATED_SPAN = 80
_CLAUSE_END = re.compile(r"[.!?;。！？；]")


def restated_year(text: str, years: tuple[int, ...], earliest: int | None = None) -> tuple[str, int, int] | None:
    """A year the text states again for the commitment, with words saying it is the
    date as before: ("same" | "later" | "earlier", year, position), else None."""
    for restating in _RESTATED.finditer(text):
        # The clause the restating words are in: after them up to its end, before them
        # back to its start, each within _RESTATED_SPAN characters.
        after_end = restating.end() + _RESTATED_SPAN
        ends = _CLAUSE_END.search(text, restating.end(), after_end)
        after_end = ends.start() if ends else min(after_end, len(text))
        before_start = max(0, restating.start() - _RESTATED_SPAN)
        starts = [found.end() for found in _CLAUSE_END.finditer(text, before_start, restating.start())]
        before_start = starts[-1] if starts else before_start
        for start, stop in ((restating.end(), after_end), (before_start, restating.start())):
            window = text[start:stop]
            stated = stated_year(window, years, earliest) or _bare_year(window, years, earliest)
            if stated:
                relation, year, position = stated
                return relation, year, start + position
    return None


_BARE_YEAR = re.compile(r"(?<![\d.,])(?P<year>20\d\d)(?![\d.,%])")


def _bare_year(text: str, years: tuple[int, ...], earliest: int | None) -> tuple[str, int, int] | None:
    """A year with no preposition before it ("reaffirms its 2030 goal", "2027 계획 유지")."""
    for found in _BARE_YEAR.finditer(text):
        year = int(found.group("year"))
        if earliest is not None and year < earliest:
            continue
        return against_target(year, years), year, found.start()
    return None


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
    return against_target(year, years), year, position


def against_target(year: int, years: tuple[int, ...]) -> str:
    """A year stated for the commitment against its own: "same", "later" or "earlier"."""
    return "same" if year in years else "later" if year > max(years) else "earlier"
