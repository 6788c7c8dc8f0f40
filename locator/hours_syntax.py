"""Tolerant front end for OSM ``opening_hours`` values.

Feeds and mappers write hours the way people speak them (``10am-7pm``, ``lun.-ven. 9h-18h``,
``Montags 7-18 Uhr``). ``opening_hours`` (the Rust engine) rightly rejects those, so this module rewrites
the sloppy forms into strict OSM syntax before the engine sees them, records one warning per repair,
and reports anything it cannot make sense of with the position in the *original* text.

The rewriting works on the text outside quoted comments only (a comment is free text and must survive
verbatim), and every output character remembers which input character it came from, so an error found
late (by the engine, on the repaired text) still points into what the user typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import opening_hours

__all__ = ["HoursSyntaxError", "NormalizedHours", "normalize"]


class HoursSyntaxError(ValueError):
    """An opening-hours value that cannot be read, with where and why."""

    def __init__(self, value: str, position: int | None, reason: str) -> None:
        self.value = value
        self.position = position
        self.reason = reason
        where = f" at position {position}" if position is not None else ""
        super().__init__(f'cannot parse opening hours{where} ("{_excerpt(value, position)}"): {reason}')


def _excerpt(value: str, position: int | None, width: int = 100) -> str:
    """The value as an error quotes it: whole, or the part around `position` (a quote left open in a feed made
    a value of megabytes, which every message about it repeated)."""
    if len(value) <= width:
        return value
    start = max(0, min((position or 0) - width // 3, len(value) - width))
    end = start + width
    return f"{'…' if start else ''}{value[start:end]}{'…' if end < len(value) else ''}"


@dataclass(frozen=True)
class NormalizedHours:
    canonical: str
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------------

WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _table(groups: Iterable[tuple[str, str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in groups:
        for spelling in spellings.split():
            table[spelling] = canonical
    return table


# Keys are lower-case, without the abbreviation dot.  Language-ambiguous spellings ("di", "do", "mar")
# are left out here and resolved by _ambiguous_day below.
_WEEKDAY_WORDS = _table(
    [
        ("Mo", "mo mon monday mondays montag montags lu lun lundi lundis lunes пн понедельник понедельникам pn"),
        ("Tu", "tu tue tues tuesday tuesdays dienstag dienstags ma mardi mardis martes вт вторник вторникам wt"),
        (
            "We",
            "we wed weds wednesday wednesdays mi mittwoch mittwochs me mer mercredi mercredis miércoles"
            " miercoles mié mie ср среда средам śr sr",
        ),
        (
            "Th",
            "th thu thur thurs thursday thursdays donnerstag donnerstags je jeu jeudi jeudis ju jue jueves"
            " чт четверг четвергам czw",
        ),
        (
            "Fr",
            "fr fri friday fridays freitag freitags ve ven vendredi vendredis vi vie viernes пт пятница пятницам pt",
        ),
        (
            "Sa",
            "sa sat saturday saturdays samstag samstags sonnabend sonnabends sam samedi samedis sáb sab sá"
            " sábado sabado sábados sabados сб суббота субботам sob",
        ),
        (
            "Su",
            "su sun sunday sundays sonntag sonntags so dim dimanche dimanches dom domingo domingos вс"
            " воскресенье воскресеньям nd niedz",
        ),
        # Italian, Georgian, Thai, Japanese, Arabic: seen in real data, cheap to know.
        ("Mo", "lunedì lunedi ორშაბათი วันจันทร์ 月曜日 月 الاثنين"),
        ("Tu", "martedì martedi სამშაბათი วันอังคาร 火曜日 火 الثلاثاء"),
        ("We", "mercoledì mercoledi ოთხშაბათი วันพุธ 水曜日 水 الأربعاء"),
        ("Th", "giovedì giovedi ხუთშაბათი วันพฤหัสบดี 木曜日 木 الخميس"),
        ("Fr", "venerdì venerdi პარასკევი วันศุกร์ 金曜日 金 الجمعة"),
        ("Sa", "sabato შაბათი วันเสาร์ 土曜日 土 السبت"),
        ("Su", "domenica კვირა วันอาทิตย์ 日曜日 日 الأحد"),
    ]
)

_MONTH_WORDS = _table(
    [
        ("Jan", "jan january januar jänner jaenner janvier janv enero ene январь января янв gennaio"),
        ("Feb", "feb february februar feber février fevrier févr fevr fév fev febrero февраль февраля фев"),
        ("Mar", "march märz maerz mär mars marzo март марта"),
        ("Apr", "apr april avril avr abril abr апрель апреля апр"),
        ("May", "may mai mayo май мая"),
        ("Jun", "jun june juni juin junio июнь июня"),
        ("Jul", "jul july juli juillet juil julio июль июля"),
        ("Aug", "aug august août aout agosto ago август августа авг"),
        ("Sep", "sep sept september septembre septiembre setiembre сентябрь сентября сен"),
        ("Oct", "oct october oktober okt octobre octubre октябрь октября окт"),
        ("Nov", "nov november novembre noviembre ноябрь ноября ноя"),
        ("Dec", "dec december dezember dez décembre decembre déc diciembre dic декабрь декабря дек dicembre"),
        # Italian
        ("Feb", "febbraio"),
        ("Apr", "aprile"),
        ("May", "maggio"),
        ("Jun", "giugno"),
        ("Jul", "luglio"),
        ("Sep", "settembre"),
        ("Oct", "ottobre"),
    ]
)

# Words whose canonical OSM spelling only differs by case (``ph``, ``Off``): fixed silently would hide
# a sloppy source, so they are repaired with a warning like any other word.
_KEYWORDS = {
    word.lower(): word
    for word in (
        [
            "PH",
            "SH",
            "off",
            "closed",
            "open",
            "unknown",
            "week",
            "day",
            "days",
            "easter",
            "sunrise",
            "sunset",
            "dawn",
            "dusk",
        ]
    )
}

_OFF_WORDS = frozenset(
    [
        "fermé",
        "ferme",
        "fermée",
        "fermee",
        "fermés",
        "geschlossen",
        "geschl",
        "zu",
        "cerrado",
        "cerrada",
        "закрыто",
        "выходной",
        "выходные",
        "closed",
    ]
)
_OPEN_WORDS = frozenset(["ouvert", "ouverte", "geöffnet", "geoeffnet", "abierto", "offen", "открыто"])
_PH_WORDS = frozenset(
    [
        "feiertag",
        "feiertage",
        "feiertagen",
        "feiertags",
        "holiday",
        "holidays",
        "festivos",
        "festivo",
        "feriados",
        "feriado",
        "fériés",
        "férié",
        "feries",
        "ferie",
        "праздники",
        "праздничные",
    ]
)
_SH_WORDS = frozenset(["schulferien", "ferien", "schoolholiday", "schoolholidays"])
_RANGE_WORDS = frozenset(
    [
        "to",
        "till",
        "til",
        "until",
        "through",
        "thru",
        "bis",
        "au",
        "à",
        "a",
        "á",
        "as",
        "ás",
        "às",
        "ate",
        "até",
        "al",
        "hasta",
        "до",
        "по",
    ]
)
_JOIN_WORDS = frozenset(["and", "und", "et", "y", "e", "&"])
# Connective words that carry no meaning once the structure is rebuilt ("von 9 bis 18 Uhr").
_FILLER_WORDS = frozenset(["uhr", "von", "from", "de", "du", "des", "le", "les", "am", "an", "um", "on", "at", "с"])
_ALWAYS_WORDS = frozenset(["always", "nonstop", "anytime", "круглосуточно"])
_EVERY_DAY_WORDS = frozenset(["daily", "everyday", "täglich", "taeglich", "tägl", "ежедневно"])

# Day-name spellings whose language decides the day; the other words of the value vote for one.
_AMBIGUOUS_DAYS = {"di": {"de": "Tu", "fr": "Su"}, "do": {"de": "Th", "es": "Su"}}
# The two-letter day abbreviations each language writes.  A value's day tokens are read in one language:
# "Lu-Do" only makes sense in Spanish (German has no "lu", French no "do"), so it is Mo-Su, not Mo-Th.
# OSM's own spellings (Mo, Tu, ... Su) are mixed into any language and rule none out.
_OSM_DAY_TOKENS = frozenset(day.lower() for day in WEEKDAYS)
_DAY_TOKENS = {
    "de": frozenset(["mo", "di", "mi", "do", "fr", "sa", "so"]) | _OSM_DAY_TOKENS,
    "fr": frozenset(["lu", "ma", "me", "je", "ve", "sa", "di"]) | _OSM_DAY_TOKENS,
    "es": frozenset(["lu", "ma", "mi", "ju", "vi", "sa", "do"]) | _OSM_DAY_TOKENS,
}
_ANY_DAY_TOKEN = frozenset().union(*_DAY_TOKENS.values())
# The language a place's country writes day names in, for a value its words leave undecided ("Mi-Do").
_SPANISH_SPEAKING = "ES MX AR CO CL PE VE UY PY BO EC GT CU DO HN SV NI CR PA PR"
_COUNTRY_LANGUAGE = {
    **dict.fromkeys(["DE", "AT", "CH", "LI"], "de"),
    **dict.fromkeys(["FR", "BE", "LU", "MC"], "fr"),
    **dict.fromkeys(_SPANISH_SPEAKING.split(), "es"),
}
_LANGUAGE_HINTS = {
    "de": frozenset(
        [
            "montag",
            "dienstag",
            "mittwoch",
            "donnerstag",
            "freitag",
            "samstag",
            "sonntag",
            "mi",
            "so",
            "uhr",
            "geschlossen",
            "feiertag",
            "feiertage",
            "täglich",
            "bis",
            "und",
        ]
    ),
    "fr": frozenset(
        [
            "lundi",
            "mardi",
            "mercredi",
            "jeudi",
            "vendredi",
            "samedi",
            "dimanche",
            "lu",
            "ma",
            "me",
            "je",
            "ve",
            "lun",
            "mer",
            "jeu",
            "ven",
            "sam",
            "dim",
            "fermé",
            "ferme",
            "fériés",
            "férié",
            "jours",
            "et",
        ]
    ),
    "es": frozenset(
        [
            "lunes",
            "martes",
            "miércoles",
            "jueves",
            "viernes",
            "sábado",
            "domingo",
            "lu",
            "ma",
            "ju",
            "vi",
            "mié",
            "jue",
            "vie",
            "sáb",
            "cerrado",
            "festivos",
            "y",
        ]
    ),
}

# Multi-word phrases, matched (case-insensitively, on word boundaries) before single words.
_PHRASES: tuple[tuple[str, str, str], ...] = (
    # (pattern, replacement, what the warning calls it)
    (r"(?:open\s+)?24\s*(?:hours|hrs|h)\s*(?:a\s+day\s*)?,?\s*7\s*days(?:\s+a\s+week|\s*/\s*week)?", "24/7", "24/7"),
    (r"24\s*[x×]\s*7|24\s*h?\s*/\s*7\s*j?(?:\s*/\s*7)?|24/7", "24/7", "24/7"),
    (
        r"(?:open\s+)?24\s*h(?:ours|rs)?\s*/\s*24\s*h?|24\s*/\s*24|(?:open\s+)?24\s*hours|all\s+day"
        r"|00?\s*-\s*24(?!\s*:)"
        # "Mo-Su 24h" alone: not the end of a range ("8h-24h") nor the start of one.
        r"|(?<![-\d:.]\s)(?<![-\d:.])(?<!\bà\s)(?<!\ba\s)(?<!\bbis\s)(?<!\bto\s)(?<!\btill\s)(?<!\buntil\s)"
        r"(?<!\bhasta\s)(?<!\bдо\s)24\s?h(?!\s*[-\u2013])",
        "00:00-24:00",
        "the whole day",
    ),
    (
        r"7\s*j(?:ours|rs)?\s*/\s*7|7\s*/\s*7|7\s*days\s*(?:a\s+week|/\s*week)|every\s+day|all\s+days"
        r"|tous\s+les\s+jours|todos\s+los\s+d[ií]as|jeden\s+tag",
        "Mo-Su",
        "every day",
    ),
    (r"(?:one\s+)?day\s+after\s+(?:public\s+)?holidays?", "PH +1 day", "the day after a holiday"),
    (r"(?:one\s+)?day\s+before\s+(?:public\s+)?holidays?", "PH -1 day", "the day before a holiday"),
    (r"(?:jours?\s+)?f[ée]ri[ée]s?|(?:public|bank)\s+holidays?|jours?\s+f[ée]ri[ée]s?", "PH", "public holidays"),
    (r"school\s*holidays?|vacances\s+scolaires", "SH", "school holidays"),
    (r"week\s*-?\s*ends?|wochenenden?|fin(?:es)?\s+de\s+semana", "Sa,Su", "the weekend"),
    (r"(?:work|week)\s*days?|werktags?|werktage|en\s+semaine|on\s+work\s+days?", "Mo-Fr", "working days"),
    (
        r"sonn-?\s*(?:und|/|-)\s*feiertag(?:e|en|s)?|sonntag\s+und\s+an\s+feiertagen"
        r"|sonn\s+und\s+feiertag(?:e|en|s)?",
        "Su,PH",
        "Sundays and holidays",
    ),
    (r"open\s*-?\s*end|late", "+", "open end"),
    (r"always\s+(?:closed|off)", "off", "always closed"),
    (r"(?:always\s+open|nonstop\s+ge[öo]ffnet|non-stop)", "24/7", "24/7"),
    (r"(?:12\s+)?midnight|minuit", "00:00", "midnight"),
    (r"daylight|daytime", "sunrise-sunset", "daylight"),
    (r"(?:12\s+)?(?:noon|midday)|mittag|(?<!après-)(?<!apres-)midi", "12:00", "noon"),  # not "après-midi"
)

# Characters feeds put between the two ends of a range.  The wave dash U+301C (and its look-alikes U+FF5E,
# U+3030, U+223C) is the range mark of Japanese and Chinese text ("10:00〜19:00"); U+2053 is the swung dash.
_UNICODE_DASHES = (
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2192\u30fc\uff5e~=\u2e3a\u2e3b\ufe58\ufe63\uff0d"
    "\u301c\u3030\u2053\u223c\ufe31\ufe32"
)


# --------------------------------------------------------------------------------------------------------
# Text with provenance
# --------------------------------------------------------------------------------------------------------


@dataclass
class _Segment:
    """A run of the value: code (rewritten) or a quoted comment (kept verbatim)."""

    text: str
    origin: list[int]  # origin[i] = index in the raw input of text[i]
    comment: bool


@dataclass
class _Rewriter:
    raw: str
    segments: list[_Segment]
    warnings: list[str] = field(default_factory=list)
    country: str | None = None  # ISO code of the place, when known: decides a few language-specific words

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def sub(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str], _Segment], str | None]) -> None:
        """Replace matches in every code segment; ``repl`` returning None leaves the match alone."""
        for seg in self.segments:
            if seg.comment:
                continue
            out: list[str] = []
            origin: list[int] = []
            last = 0
            for match in pattern.finditer(seg.text):
                new = repl(match, seg)
                if new is None or new == match.group(0):
                    continue
                out.append(seg.text[last : match.start()])
                origin.extend(seg.origin[last : match.start()])
                out.append(new)
                anchor = seg.origin[match.start()] if match.start() < len(seg.origin) else len(self.raw)
                origin.extend([anchor] * len(new))
                last = match.end()
            if last:
                out.append(seg.text[last:])
                origin.extend(seg.origin[last:])
                seg.text = "".join(out)
                seg.origin = origin

    def joined(self) -> tuple[str, list[int]]:
        text = "".join(seg.text for seg in self.segments)
        origin = [i for seg in self.segments for i in seg.origin]
        return text, origin


# Quote pairs people type around a comment instead of '"' (keyboards and word processors put them in):
# opening mark -> the marks that may close it.  Only pairs that some language writes this way: "»x«" is
# Danish but opening_hours.js rejects it, "„x„" and "』x«" are no pair at all.
_QUOTE_PAIRS = {
    "'": "'",
    "\u201e": '\u201c\u201d"',  # „x“ (German), „x” (Polish), „x" (the closing one typed on the keyboard)
    "\u201c": "\u201d",  # “x”
    "\u201d": "\u201d",  # ”x” (Swedish, Finnish)
    "\u00ab": "\u00bb",  # «x»
    "\u300c": "\u300d",  # 「x」
    "\u300e": "\u300f",  # 『x』
    "\u201a": "\u2018\u2019",  # ‚x‘ (German), ‚x’ (Polish)
    "\u2018": "\u2018\u2019",  # ‘x’, and ‘x‘ as opening_hours.js reads it
    "\u2019": "\u2019",  # ’x’
}
_QUOTE_MARKS = frozenset("".join(_QUOTE_PAIRS) + "".join(_QUOTE_PAIRS.values()) + "\u00bb\u300d\u300f")


def _fix_quotes(raw: str) -> tuple[str, list[str]]:
    """``“call first”``, ``'call first'``: a comment in other quote marks gets straight ones.

    Runs on the raw value before comments are split off (``„x"`` is only balanced afterwards), one character
    for one so that positions stay those of the raw value.  Straight-quoted comments are skipped: quote
    marks inside them are their text.  A pair is only taken when the opening mark starts a word and the
    closing one ends it, with no other quote mark between ("it's" is not a quote).
    """
    text = list(raw)
    warnings: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            close = raw.find('"', i + 1)
            if close < 0:
                break
            i = close + 1
            continue
        closers = _QUOTE_PAIRS.get(ch)
        if closers is None or (i > 0 and not (raw[i - 1].isspace() or raw[i - 1] in ";,|")):
            i += 1
            continue
        close = next((j for j in range(i + 1, len(raw)) if raw[j] in _QUOTE_MARKS or raw[j] == '"'), -1)
        inner = raw[i + 1 : close]
        after = raw[close + 1 : close + 2]
        if close < 0 or raw[close] not in closers or not inner.strip() or not (after == "" or after in " \t;,|"):
            i += 1
            continue
        text[i] = text[close] = '"'
        warnings.append(f"comment {raw[i : close + 1]!r} written with '\"' quotes")
        i = close + 1
    return "".join(text), warnings


def _split_comments(text: str, raw: str | None = None) -> list[_Segment]:
    """Code and quoted comments of ``text`` (``raw``: the value as typed, same length, for errors)."""
    raw = text if raw is None else raw
    segments: list[_Segment] = []
    pos = 0
    for match in re.finditer(r'"[^"]*"', text):
        if match.start() > pos:
            segments.append(_Segment(text[pos : match.start()], list(range(pos, match.start())), False))
        segments.append(_Segment(match.group(0), list(range(match.start(), match.end())), True))
        pos = match.end()
    if pos < len(text):
        rest = text[pos:]
        if '"' in rest:
            quote = pos + rest.index('"')
            raise HoursSyntaxError(raw, quote, "unterminated comment (missing closing '\"')")
        segments.append(_Segment(rest, list(range(pos, len(text))), False))
    return segments


def _rewriter(raw: str, country: str | None = None) -> _Rewriter:
    """The value split into code and comments, with the repairs that must happen before the split."""
    text, warnings = _fix_quotes(raw)
    segments = _split_comments(text, raw)
    rw = _Rewriter(raw, segments, warnings, country=country.upper() if country else None)
    for k, seg in enumerate(segments):
        if not seg.comment:
            continue
        if seg.text == '""':
            # An empty comment says nothing; the engine wants text between the quotes.
            rw.warn('empty comment "" removed')
            seg.text, seg.origin, seg.comment = "", [], False
            continue
        between = segments[k - 1] if k >= 2 else None
        if between is not None and not between.text.strip() and segments[k - 2].comment:
            raise HoursSyntaxError(
                raw,
                seg.origin[0],
                "two comments side by side in one rule (a rule has one comment: join them, or end the rule with ';')",
            )
    # Code on both sides of a removed comment is one run again (so "12:00 ;" is seen as one piece).
    merged: list[_Segment] = []
    for seg in segments:
        if merged and not seg.comment and not merged[-1].comment:
            merged[-1].text += seg.text
            merged[-1].origin += seg.origin
        else:
            merged.append(seg)
    rw.segments = merged
    return rw


# --------------------------------------------------------------------------------------------------------
# Repairs, in the order they run.  Each one is small and owns its warning text.
# --------------------------------------------------------------------------------------------------------


_FREE_COMMENTS = re.compile(
    r"(?<![\w\"])(?:nach[\s_]+vereinbarung|(?:on|by)[\s_]+appointment|sur[\s_]+rendez[\s_-]*vous"
    r"|auf[\s_]+anfrage|sur[\s_]+demande)(?![\w\"])",
    re.IGNORECASE,
)


def _fix_free_comments(rw: _Rewriter) -> None:
    """``open nach Vereinbarung``, ``open on_appointment``: well-known free text written without quotes
    becomes the rule's comment (``open "nach Vereinbarung"``)."""
    segments: list[_Segment] = []
    for seg in rw.segments:
        if seg.comment:
            segments.append(seg)
            continue
        last = 0
        for match in _FREE_COMMENTS.finditer(seg.text):
            words = re.sub(r"[\s_]+", " ", match.group(0))
            rw.warn(f'free text {match.group(0)!r} read as the comment "{words}"')
            segments.append(_Segment(seg.text[last : match.start()], seg.origin[last : match.start()], False))
            text = f'"{words}"'
            segments.append(_Segment(text, [seg.origin[match.start()]] * len(text), True))
            last = match.end()
        segments.append(_Segment(seg.text[last:], seg.origin[last:], False) if last else seg)
    rw.segments = [seg for seg in segments if seg.text or seg.comment]


def _fix_comment_position(rw: _Rewriter) -> None:
    """``We "call first" 10:00-16:00``: a comment inside a rule belongs at its end (the engine reads it only
    there); the selectors and times after it are moved before it."""
    segs = rw.segments
    k = 0
    while k < len(segs):
        comment = segs[k]
        after = segs[k + 1] if k + 1 < len(segs) else None
        if not comment.comment or after is None or after.comment:
            k += 1
            continue
        end = min((i for i in (after.text.find(";"), after.text.find("||")) if i >= 0), default=len(after.text))
        moved = after.text[:end]
        if not moved.strip() or moved.lstrip().startswith((":", ",")):
            k += 1
            continue
        rw.warn(f"comment {comment.text} moved after {moved.strip()!r}")
        lead = len(moved) - len(moved.lstrip())
        if k > 0 and not segs[k - 1].comment:
            before = segs[k - 1]
        else:
            before = _Segment("", [], False)
            segs.insert(k, before)
            k += 1
        if before.text and not before.text.endswith(" "):
            before.text += " "
            before.origin.append(after.origin[0])
        before.text += moved.strip() + " "
        before.origin.extend([*after.origin[lead : lead + len(moved.strip())], after.origin[end - 1]])
        after.text, after.origin = after.text[end:], after.origin[end:]
        k += 1


def _fix_characters(rw: _Rewriter) -> None:
    """Full-width, superscript and subscript digits/colons, odd dashes and tabs become plain ASCII."""
    for seg in rw.segments:
        if seg.comment:
            continue
        out: list[str] = []
        origin: list[int] = []
        for index, (ch, where) in enumerate(zip(seg.text, seg.origin, strict=True)):
            new = ch
            if ch in _UNICODE_DASHES:
                new = "-"
                rw.warn(f"dash {ch!r} read as '-'")
            elif ch in "\t\n\r\u00a0\u202f":
                new = " "
            elif ch == "°":
                # "12°°" is how some keyboards type a superscript "00".
                new = "0"
                rw.warn("'°' read as the digit 0")
            elif ch in _SUPERSCRIPT_DIGITS:
                new = str(_SUPERSCRIPT_DIGITS.index(ch))
                rw.warn(f"superscript {ch!r} read as the digit {new}")
            elif ch == "：" or (not ch.isascii() and unicodedata.category(ch) in ("No", "Nd", "Po", "Pd")):
                folded = unicodedata.normalize("NFKC", ch)
                if folded != ch and folded.isascii():
                    new = folded
                    rw.warn(f"character {ch!r} read as {folded!r}")
            if new != ch and _raised_minutes(seg.text, index) and _hour_before(out):
                # "12°°", "00³°": raised minutes written straight after the hour digits (12:00, 00:30).
                new = ":" + new
                rw.warn("':' added between hour and raised minutes")
            out.append(new)
            origin.extend([where] * len(new))
        seg.text = "".join(out)
        seg.origin = origin


_SUPERSCRIPT_DIGITS = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"


def _raised_minutes(text: str, index: int) -> bool:
    """A run of raised characters with a '°' in it ("°°", "³°") starts at ``index``: minutes."""
    end = index
    while end < len(text) and (text[end] == "°" or text[end] in _SUPERSCRIPT_DIGITS):
        end += 1
    return end > index and "°" in text[index:end]


def _hour_before(out: list[str]) -> bool:
    """The text so far ends with exactly two digits (an hour) and no ':' yet."""
    tail = "".join(out[-3:])
    return (
        len(tail) >= 2
        and tail[-2:].isascii()
        and tail[-2:].isdigit()
        and (len(tail) < 3 or not (tail[0].isdigit() or tail[0] == ":"))
    )


def _fix_prefix(rw: _Rewriter) -> None:
    """People paste the tag name or a label in front of the value."""
    pattern = re.compile(
        r"^\s*(?:opening_hours\s*=\s*|[öo]ffnungszeit(?:en)?\s*:?\s*|horaires?\s*:\s*|hours\s*:\s*)", re.IGNORECASE
    )

    def repl(match: re.Match[str], seg: _Segment) -> str:
        rw.warn(f"leading label {match.group(0).strip()!r} removed")
        return ""

    first = next((s for s in rw.segments if not s.comment), None)
    if first is not None and first is rw.segments[0]:
        rw.sub(pattern, lambda m, s: repl(m, s) if s is first else None)


# What a phrase's reading leaves out, said in its warning: "weekdays" reads as Mo-Fr, which is open on a
# holiday falling on one (support lines' "weekdays 09:00-20:00" usually mean working days).
_PHRASE_NOTES = {"working days": ": public holidays included; add 'PH off' to close on them"}


# The end of a range as written before the tidying ("18:00", "9-12", "10h-18h", "9am-5pm"): a "+" after one is no
# open end when more follows.
_RANGE_END = re.compile(
    r"\d(?:[:.h]\d\d)?\s*(?:[ap]\.?m\.?)?\s*(?:-|to|bis|à|a)\s*\d{1,2}(?:[:.h]\d\d)?\s*(?:[ap]\.?m\.?|h)?$", re.I
)
_NO_BREAK = re.compile(r"(?<=[\dhH])\s*,?\s+non-?stop\b\.?", re.IGNORECASE)


def _fix_phrases(rw: _Rewriter) -> None:
    def no_break(match: re.Match[str], seg: _Segment) -> str:
        # "9h-18h non-stop": without a lunch break, not round the clock.
        rw.warn(f"{match.group(0).strip()!r} after times read as 'without a break' (the times as written)")
        return ""

    rw.sub(_NO_BREAK, no_break)
    phrased_open_end = False  # "late" and "open end" say so in their own warning
    for source, replacement, label in _PHRASES:
        pattern = re.compile(rf"(?<![\w/])(?:{source})(?![\w/])", re.IGNORECASE)

        def repl(match: re.Match[str], seg: _Segment, replacement: str = replacement, label: str = label) -> str | None:
            if match.group(0) == replacement:
                return None
            note = _PHRASE_NOTES.get(label, "")
            rw.warn(f"{match.group(0).strip()!r} read as {label} ({replacement.strip()}){note}")
            if replacement == "+":
                nonlocal phrased_open_end
                phrased_open_end = True
                return "+"
            # A space keeps the replacement from gluing to a neighbour ("Mo-Su24h"); only where one is missing, as
            # the tidying after it warns of every space it removes ("stray whitespace collapsed" for "Mo-Su 24h").
            text, start, end = seg.text, match.start(), match.end()
            lead = " " if start > 0 and not text[start - 1].isspace() else ""
            trail = " " if end < len(text) and not text[end].isspace() and text[end] not in ";," else ""
            return f"{lead}{replacement.strip()}{trail}"

        rw.sub(pattern, repl)
    # "17:00-+" / "17:00 +" produced by the open-end phrase, or written so, at the end of a rule. Before days
    # or times, a "+" is an "and" (_fix_punctuation): "10:00-18:00 + So 12:00-16:00" was an open end.

    def open_end(match: re.Match[str], seg: _Segment) -> str | None:
        followed = re.match(r"\s*[^\W_]", seg.text[match.end() :]) is not None
        if followed and _RANGE_END.search(seg.text[: match.start()]):
            return None  # after a whole range and before more: an "and" (_fix_punctuation)
        if not phrased_open_end:
            rw.warn("'+' after a time read as an open end")
        return "+"

    rw.sub(re.compile(r"(?<=\d)\s*(?:-|\s)\s*\+"), open_end)


_AMPM = re.compile(r"(?<![\d:.])(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ap>[ap])\.?\s?m\b\.?", re.IGNORECASE)


_RANGE_JOIN = rf"(?:\s*-\s*|\s+(?:{'|'.join(sorted(_RANGE_WORDS))})\s+)"
# "5-10pm", "1–5 PM": a start hour without a meridiem, then an end with one.
_START_WITHOUT_MERIDIEM = re.compile(
    rf"(?<![\d:.])(?P<h>\d{{1,2}})(?P<m>[:.]\d{{2}})?(?P<join>{_RANGE_JOIN})"
    rf"(?P<end>(?P<eh>\d{{1,2}})(?:[:.h](?P<em>\d{{2}}))?\s*(?P<ap>[ap])\.?\s?m\b\.?)",
    re.IGNORECASE,
)


def _share_meridiem(rw: _Rewriter) -> None:
    """``5-10pm`` is 17:00-22:00 and Google's ``1–5 PM`` 13:00-17:00: a start written without am/pm shares
    the end's when it comes before the end on the 12-hour clock (``9-5pm`` and ``11-2pm`` start in the
    morning, as before). Read alone, the bare start opened the place at 05:00 or 01:00."""

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        start, end = int(match["h"]), int(match["eh"])
        if not (1 <= start <= 12 and 1 <= end <= 12) or _in_date_context(seg.text, match.start()):
            return None
        start_minutes = (start % 12) * 60 + int((match["m"] or ":00")[1:])
        end_minutes = (end % 12) * 60 + int(match["em"] or 0)
        if start_minutes >= end_minutes:
            return None
        meridiem = match["ap"].lower() + "m"
        rw.warn(f"start of {match.group(0).strip()!r} read with the end's {meridiem}")
        return f"{match['h']}{match['m'] or ''}{meridiem}{match['join']}{match['end']}"

    rw.sub(_START_WITHOUT_MERIDIEM, repl)


# "9-12, 1-5": a second range written with a one-digit start that lies before the first range.
_AFTERNOON_SECOND = re.compile(
    r"(?<![\d:.])(?P<a>\d{1,2})(?P<am>[:.]\d\d)?\s*-\s*(?P<b>\d{1,2})(?P<bm>[:.]\d\d)?"
    r"(?P<sep>\s*(?:,|/|&|\+|\band\b|\bund\b|\bet\b|\by\b)\s*|\s+)"
    r"(?P<c>[1-7])(?P<cm>[:.]\d\d)?\s*-\s*(?P<d>\d{1,2})(?P<dm>[:.]\d\d)?(?![\d:.])",
    re.IGNORECASE,
)
# "Mo-Sa 11-11": the same bare hour at both ends.
_EQUAL_ENDS = re.compile(r"(?<![\d:.])(?P<h>\d{1,2})\s*-\s*(?P=h)(?![\d:.])")


def _fix_afternoon_hours(rw: _Rewriter) -> None:
    """Bare hours a shop means in the afternoon: ``9-12, 1-5`` (a second range before the first, read as
    written it opened the place at 01:00) is 09:00-12:00,13:00-17:00; ``11-11`` and ``7-7`` (read as written:
    open round the clock) are 11:00-23:00 and 07:00-19:00. Each with a warning; 12-hour clock times are
    resolved before, zero-padded ones (``01:00-05:00``) are taken as written."""

    def second(match: re.Match[str], seg: _Segment) -> str | None:
        a, b, c, d = (int(match[k]) for k in "abcd")
        if not (a < b and c < d <= 11 and c < a and c + 12 >= b) or _in_date_context(seg.text, match.start()):
            return None
        start, end = f"{c + 12}:{(match['cm'] or ':00')[1:]}", f"{d + 12}:{(match['dm'] or ':00')[1:]}"
        written = match.group(0)[match.start("c") - match.start() :]
        rw.warn(f"second range {written!r} before the first read as the afternoon ({start}-{end})")
        return match.group(0)[: match.start("c") - match.start()] + f"{start}-{end}"

    def equal(match: re.Match[str], seg: _Segment) -> str | None:
        hour = int(match["h"])
        if not 1 <= hour <= 11 or _in_date_context(seg.text, match.start()):
            return None
        later = f"{hour:02d}:00-{hour + 12}:00"
        rw.warn(f"range {match.group(0).strip()!r} with equal ends read as {later} (round the clock is 24/7)")
        return later

    rw.sub(_AFTERNOON_SECOND, second)
    rw.sub(_EQUAL_ENDS, equal)


# Day names only German has ("Sa", "Mo", "Fr" are English too: "11am-2am, Sat" is a night, in English).
_GERMAN_DAYS = frozenset(
    ["montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend", "sonntag", "di", "mi", "do",
     "so", "montags", "dienstags", "mittwochs", "donnerstags", "freitags", "samstags", "sonntags"]
)  # fmt: skip
# A morning start before "12 am": "8:30-12 am" is a morning (read as 00:00, the shop was open until midnight).
_MORNING_START = re.compile(rf"(?<![\d:.])(?P<h>\d{{1,2}})(?:[:.h]\d\d)?{_RANGE_JOIN}$", re.IGNORECASE)


def _fix_ampm(rw: _Rewriter) -> None:
    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        pm = match["ap"].lower() == "p"
        if (
            not pm
            and _next_word(seg.text, match.end()) in _GERMAN_DAYS
            and not _MORNING_START.search(seg.text[: match.start()])
        ):
            return None  # German "am Samstag" ("on Saturday"), not a.m.: a filler word, later
        hour24 = (hour % 12) + (12 if pm else 0)
        start = _MORNING_START.search(seg.text[: match.start()])
        if not pm and hour == 12 and start is not None and 1 <= int(start["h"]) < 12:
            rw.warn(f"{match.group(0).strip()!r} ending a morning read as noon (12:00), not midnight")
            return f"12:{minute:02d}"
        result = f"{hour24:02d}:{minute:02d}"
        rw.warn(f"12-hour clock {match.group(0).strip()!r} read as {result}")
        return result

    rw.sub(_AMPM, repl)


# What may follow the hour digits of a range end ("9:30", "9.30", "9h", "9 h", "9h30"), named per side.
_HOUR_END = r"(?P<{0}m>[:.]\d\d|\s?[hH](?:\d\d)?)?"
_SINGLE_DIGIT_END = re.compile(
    rf"(?<![\d:.\[/])(?P<a>\d{{1,2}}){_HOUR_END.format('a')}"
    rf"(?:\s*-\s*|\s+(?:{'|'.join(sorted(_RANGE_WORDS))})\s+)"
    rf"(?P<b>\d){_HOUR_END.format('b')}(?![\d:.])",
    re.IGNORECASE,
)


def _flag_ambiguous_end_hours(rw: _Rewriter) -> None:
    """``Mo-Fr 9-5``: a one-digit end hour below the start is read as written, past midnight (09:00-05:00),
    but whoever wrote it most likely meant the afternoon (17:00); the reading stays faithful and says so
    (opening_hours.js warns the same: ``ambiguous_single_digit_hour``).

    Runs after the 12-hour clock is resolved ("9-5pm" is not ambiguous) and before hours are padded to two
    digits (after that "9-5" and "09-05" look alike).  An end that is still before the start when read as
    the afternoon ("22-6") has only the overnight reading and is left alone.
    """

    def minutes(match: re.Match[str], side: str) -> str:
        digits = re.sub(r"\D", "", match[f"{side}m"] or "")
        return digits or "00"

    for seg in rw.segments:
        if seg.comment:
            continue
        for match in _SINGLE_DIGIT_END.finditer(seg.text):
            start, end = int(match["a"]), int(match["b"])
            if not end < start < end + 12 or _in_date_context(seg.text, match.start()):
                continue
            span = f"{start:02d}:{minutes(match, 'a')}-{end:02d}:{minutes(match, 'b')}"
            rw.warn(
                f"ambiguous single-digit end hour in {match.group(0).strip()!r}: read as {span}, past midnight;"
                f" it may mean the afternoon ({end + 12}:{minutes(match, 'b')})"
            )


# "9h30", "9h", and the spaced "9 h 30" (minutes after a spaced "h" only when the hour is spaced too, so
# "8h 14-18h" stays two times).  A '/' may follow ("09h-12h/14h-19h": two ranges), but not as "24h/24" or
# "24h/7", which are phrases.
_FRENCH_H = re.compile(
    r"(?<![\d:.])(?P<h>\d{1,2})(?:[hH](?P<m>\d{2})?|\s[hH](?:\s?(?P<sm>\d{2})(?!\s?[hH]\b))?)"
    r"(?!\w)(?!/\s*(?:7|24)\b)"
)
_UHR = re.compile(r"(?<![\d:.])(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*uhr\b\.?", re.IGNORECASE)
# "18:00 h", "9:30 hrs", "14:00 horas": an hour mark after a whole time (Spanish and Latin American feeds).
_TIME_H = re.compile(r"(?<![\d:.])(?P<h>\d{1,2})[:.](?P<m>\d{2})\s?(?:horas|hrs|hs|h)\b\.?", re.IGNORECASE)


def _fix_hour_suffixes(rw: _Rewriter) -> None:
    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        hour, minute = int(match["h"]), int(match["m"] or match.groupdict().get("sm") or 0)
        if hour > 48 or minute > 59:
            return None
        result = f"{hour:02d}:{minute:02d}"
        rw.warn(f"time {match.group(0).strip()!r} read as {result}")
        return result

    rw.sub(_UHR, repl)
    rw.sub(_TIME_H, repl)
    rw.sub(_FRENCH_H, repl)


_DOTTED_TIME = re.compile(r"(?<![\d.:])(?P<h>\d{1,2})[.](?P<m>\d{2})(?![\d.])")
_SHORT_TIME = re.compile(r"(?<![\d.:])(?P<h>\d)[:](?P<m>\d{2})(?!\d)")
_MISSING_MINUTE_DIGIT = re.compile(r"(?<![\d.:])(?P<h>\d{2}):(?P<m>\d)(?![\d])")
_COMPACT_TIME = re.compile(r"(?<=[A-Za-z] )(?P<a>[0-2]\d)(?P<b>[0-5]\d)-(?P<c>[0-2]\d)(?P<d>[0-5]\d)(?![\d:])")
# One time without its ':' where only a time can stand: right after a day name ("Sa 2200"; a year comes
# before the days, never after) or as one end of a range whose other end is a time ("09:00-1300").
_COMPACT_ONE_TIME = re.compile(
    r"(?:(?<=[^\W\d_] )|(?<=\d\d:\d\d-))(?P<h>[01]\d|2[0-4])(?P<m>[0-5]\d)(?![\d:])"
    r"|(?<![\w:\-])(?P<h2>[01]\d|2[0-4])(?P<m2>[0-5]\d)(?=-\d\d:\d\d)"
)


def _fix_time_digits(rw: _Rewriter) -> None:
    def dotted(match: re.Match[str], seg: _Segment) -> str | None:
        if int(match["h"]) > 48 or int(match["m"]) > 59:
            return None
        result = f"{int(match['h']):02d}:{match['m']}"
        rw.warn(f"time {match.group(0)!r} read as {result}")
        return result

    def short(match: re.Match[str], seg: _Segment) -> str:
        result = f"0{match['h']}:{match['m']}"
        rw.warn(f"single-digit hour {match.group(0)!r} read as {result}")
        return result

    def compact(match: re.Match[str], seg: _Segment) -> str | None:
        if _prev_word(seg.text, match.start()) in _MONTH_WORDS and all(match[x] in ("19", "20") for x in ("a", "c")):
            return None  # "Feb 2012-2014": a year range after a month, not 20:12-20:14
        result = f"{match['a']}:{match['b']}-{match['c']}:{match['d']}"
        rw.warn(f"times without ':' {match.group(0)!r} read as {result}")
        return result

    def one_minute_digit(match: re.Match[str], seg: _Segment) -> str:
        result = f"{match['h']}:0{match['m']}"
        rw.warn(f"one-digit minute {match.group(0)!r} read as {result} (as opening_hours.js reads it)")
        return result

    def one_compact(match: re.Match[str], seg: _Segment) -> str | None:
        after_word = match["h"] is not None and seg.text[match.start() - 1] == " "
        if after_word and not _is_day(_prev_word(seg.text, match.start()).lower()):
            return None  # "Dec 2012": a year after a month
        result = f"{match['h'] or match['h2']}:{match['m'] or match['m2']}"
        rw.warn(f"time without ':' {match.group(0)!r} read as {result}")
        return result

    rw.sub(_DOTTED_TIME, dotted)
    rw.sub(_SHORT_TIME, short)
    rw.sub(_MISSING_MINUTE_DIGIT, one_minute_digit)
    rw.sub(_COMPACT_TIME, compact)
    rw.sub(_COMPACT_ONE_TIME, one_compact)


_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f\u0e31-\u0e4e])+\.?|&")


def _language(rw: _Rewriter) -> str:
    """The language the value's ambiguous day names are read in.

    Only languages whose day abbreviations explain every two-letter day token of the value compete (so
    ``Lu-Do`` is Spanish however many other words look French); among those the value's other words vote,
    a word that every competitor shares casts no vote, and the place's country breaks a tie.
    """
    words = [
        match.group(0).rstrip(".").lower()
        for seg in rw.segments
        if not seg.comment
        for match in _WORD.finditer(seg.text)
    ]
    tokens = {word for word in words if word in _ANY_DAY_TOKEN}
    candidates = [lang for lang in _LANGUAGE_HINTS if tokens <= _DAY_TOKENS[lang]] or list(_LANGUAGE_HINTS)
    shared = frozenset.intersection(*(_DAY_TOKENS[lang] for lang in candidates))
    votes = {lang: sum(word in _LANGUAGE_HINTS[lang] and word not in shared for word in words) for lang in candidates}
    top = max(votes.values())
    leaders = [lang for lang in candidates if votes[lang] == top]
    if len(leaders) > 1:
        national = _COUNTRY_LANGUAGE.get(rw.country or "")
        if national in leaders:
            return national
        # No vote and no country: German, whose "di"/"do" are the most common in the data.
        if top == 0 and "de" in leaders:
            return "de"
    return leaders[0]


def _next_word(text: str, end: int) -> str:
    match = re.match(r"[\s,\-]*([^\W\d_]+)", text[end:])
    return match.group(1).lower() if match else ""


def _prev_word(text: str, start: int) -> str:
    match = re.search(r"([^\W\d_]+)\.?[\s,\-]*$", text[:start])
    return match.group(1).lower() if match else ""


def _is_day(word: str) -> bool:
    return word in _WEEKDAY_WORDS or word in _AMBIGUOUS_DAYS


# Abbreviations that mean another day in the place's language than in the general table ("pn" is Monday in
# Polish, Friday in Lithuanian): used only when the place's country is known.
_COUNTRY_WEEKDAYS: dict[str, dict[str, str]] = {
    "LT": {"pr": "Mo", "an": "Tu", "tr": "We", "kt": "Th", "pn": "Fr", "št": "Sa", "sk": "Su"},
}


def _translate_word(word: str, text: str, match: re.Match[str], language: str) -> tuple[str, str] | None:
    """Canonical spelling and a label for the warning, or None when the word is not hours vocabulary."""
    key = word.rstrip(".").lower()
    glued = re.fullmatch(r"(PH|SH)(Mo|Tu|We|Th|Fr|Sa|Su)", word)
    if glued:
        # "SHWe": a holiday selector glued to a weekday (the days that are both).
        return f"{glued.group(1)} {glued.group(2)}", "holiday and weekday"
    if key in _AMBIGUOUS_DAYS:
        options = _AMBIGUOUS_DAYS[key]
        chosen = options.get(language, options["de"])
        # "Di-Sa" in Alsace or Luxembourg: the French reading, Sunday to Saturday, is every day, which nobody
        # writes as a range; Tuesday to Saturday, the German one, is what it says (and "Do" alike in Spanish).
        following = re.match(r"\s*(?:-|au|à|a|bis|hasta)\s*([^\W\d_]+)", text[match.end() :], re.IGNORECASE)
        if following and chosen != options["de"]:
            last = _WEEKDAY_WORDS.get(following.group(1).rstrip(".").lower())
            if last is not None and (WEEKDAYS.index(last) - WEEKDAYS.index(chosen)) % 7 == 6:
                return options["de"], "weekday"
        return chosen, "weekday"
    if key == "mar":
        # Tuesday in French/Spanish when it sits among day names ("lun-mar"), March otherwise.
        near = (_prev_word(text, match.start()), _next_word(text, match.end()))
        if language in ("fr", "es") and any(_is_day(w) for w in near):
            return "Tu", "weekday"
        return "Mar", "month"
    if key in _WEEKDAY_WORDS:
        return _WEEKDAY_WORDS[key], "weekday"
    if key in _MONTH_WORDS:
        return _MONTH_WORDS[key], "month"
    if key in _KEYWORDS:
        return _KEYWORDS[key], "keyword"
    if key in _OFF_WORDS:
        return ("closed" if key == "closed" else "off"), "closed"
    if key in _OPEN_WORDS:
        return "open", "open"
    if key in _PH_WORDS:
        return "PH", "public holidays"
    if key in _SH_WORDS:
        return "SH", "school holidays"
    if key in _ALWAYS_WORDS:
        return "24/7", "always open"
    if key in _EVERY_DAY_WORDS:
        return "Mo-Su", "every day"
    if key in _RANGE_WORDS:
        return "-", "range"
    if key in _JOIN_WORDS:
        return ",", "list"
    if key in _FILLER_WORDS:
        return "", "filler"
    return None


# Cyrillic letters drawn like Latin ones.  A word mixing both scripts ("оff" with a Cyrillic "о") was typed
# on a keyboard switched half-way; it is read in Latin when that makes it a known word.
_CYRILLIC_LOOKALIKES = str.maketrans(
    "аеорсухіјѕһԁԛԝАВЕКМНОРСТХУІЈЅ",
    "aeopcyxijshdqwABEKMHOPCTXYIJS",
)


def _unmix_scripts(word: str) -> str | None:
    """``word`` with its Cyrillic look-alikes in Latin, when it mixes Latin and Cyrillic letters."""
    letters = [ch for ch in word if ch.isalpha()]
    if not any("a" <= ch.lower() <= "z" for ch in letters) or not any("\u0400" <= ch <= "\u052f" for ch in letters):
        return None
    latin = word.translate(_CYRILLIC_LOOKALIKES)
    return latin if latin.isascii() else None


# Days written as one capital letter: Spanish feeds write L M X J V S D ("L-V 9:00-14:00"; X, Wednesday,
# keeps M for Tuesday alone), American ones "M-F". The letters are read only when every lone capital of the
# value belongs to one of the two sets and a letter only that set has is among them: "M 9-12" alone, or a
# lone "S" beside "M-F" (Saturday or Sunday), stays an unknown word.
_LONE_CAPITAL = re.compile(r"(?<!\w)[A-Z](?![\w.])")
_SPANISH_LETTER_DAYS = {"L": "Mo", "M": "Tu", "X": "We", "J": "Th", "V": "Fr", "S": "Sa", "D": "Su"}
_ENGLISH_LETTER_DAYS = {"M": "Mo", "T": "Tu", "W": "We", "R": "Th", "F": "Fr"}


def _letter_days(rw: _Rewriter) -> dict[str, str]:
    letters = {match.group(0) for seg in rw.segments if not seg.comment for match in _LONE_CAPITAL.finditer(seg.text)}
    for table in (_SPANISH_LETTER_DAYS, _ENGLISH_LETTER_DAYS):
        others = _ENGLISH_LETTER_DAYS if table is _SPANISH_LETTER_DAYS else _SPANISH_LETTER_DAYS
        if letters and letters <= table.keys() and letters - others.keys():
            return table
    return {}


def _fix_words(rw: _Rewriter) -> None:
    language = _language(rw)
    letter_days = _letter_days(rw)
    unknown: list[tuple[int, str]] = []

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        word = match.group(0)
        national = _COUNTRY_WEEKDAYS.get(rw.country or "", {}).get(word.rstrip(".").lower())
        if word in letter_days:
            national = letter_days[word]
        translated = (national, "weekday") if national else _translate_word(word, seg.text, match, language)
        latin = _unmix_scripts(word) if translated is None else None
        if latin is not None:
            translated = _translate_word(latin, seg.text, match, language)
            if translated is not None:
                rw.warn(f"Cyrillic look-alike letters in {word!r} read as Latin ({latin!r})")
                if translated[0] == latin:
                    return latin
        if translated is None:
            unknown.append((seg.origin[match.start()], word))
            return None
        canonical, label = translated
        if word == canonical:
            return None
        if word.rstrip(".") == canonical and label in ("weekday", "month"):
            # "Mo." / "Jan.": the dot is noise; "Dec 24." style day dots are handled elsewhere.
            rw.warn(f"abbreviation dot in {word!r} removed")
            return canonical
        if label == "filler":
            rw.warn(f"word {word!r} ignored")
        elif label in ("range", "list"):
            rw.warn(f"word {word!r} read as {canonical!r}")
        else:
            rw.warn(f"{label} {word!r} read as {canonical}")
        return canonical

    rw.sub(_WORD, repl)
    if unknown:
        where, word = unknown[0]
        _raise_unknown_word(rw.raw, where, word)


_DAY_OFFSET = re.compile(r"\b(?P<base>PH|SH|easter)\s*(?P<sign>[+-])\s*(?P<n>\d{1,3})\s*(?P<unit>days?)\b")
_ZERO_OFFSET = re.compile(r"(?:(?<=\])|(?<=\bPH)|(?<=\bSH)|(?<=\beaster))\s*[+-]\s*0+\s*days?\b")


def _fix_day_offsets(rw: _Rewriter) -> None:
    """``PH-1day``, ``Easter - 07 days``: a day offset is written ``PH -1 day`` / ``easter -7 days``.

    An offset of zero days (``Mo[2] - 0 days``) selects the same day: it is dropped rather than rejected.
    """

    def zero(match: re.Match[str], seg: _Segment) -> str:
        rw.warn(f"day offset {match.group(0).strip()!r} removed (zero days select the same day)")
        return ""

    rw.sub(_ZERO_OFFSET, zero)

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        count = int(match["n"])
        result = f"{match['base']} {match['sign']}{count} {'day' if count == 1 else 'days'}"
        if result != match.group(0):
            rw.warn(f"day offset {match.group(0)!r} written as {result!r}")
        return result

    rw.sub(_DAY_OFFSET, repl)


def _raise_unknown_word(raw: str, where: int, word: str) -> None:
    before = raw[:where].rstrip()
    if before.endswith(("-", ",")) and re.search(r"[^\W\d_]\.?\s*[-,]$", before):
        raise HoursSyntaxError(raw, where, f'unknown weekday "{word}"')
    raise HoursSyntaxError(raw, where, f'unknown word "{_excerpt(word, 0, 40)}"')


_BARE_RANGE = re.compile(
    r"(?<![\w:.\[/+\-])(?P<a>\d{1,2}(?::\d{2})?)\s*-\s*(?P<b>\d{1,2}(?::\d{2})?)(?P<plus>\+?)(?![\w:./\]])"
)
_DATE_CONTEXT = frozenset(MONTHS) | {"week"}


def _in_date_context(text: str, start: int) -> bool:
    """True when the numbers before ``start`` continue a month/week selector ("Dec 11,15-17"); not after a
    month's whole day and a space ("Dec 24 9-12": the hours of Christmas Eve)."""
    match = re.search(r"([^\W\d_]+)([\d\s,.\-]*)$", text[:start])
    if match is None or match.group(1) not in _DATE_CONTEXT:
        return False
    return not (match.group(1) in MONTHS and re.fullmatch(r"\s*\d{1,2}\s+", match.group(2)))


def _fix_bare_hours(rw: _Rewriter) -> None:
    """``10-12`` and ``9-18:30`` are hour ranges unless a month or week selector owns the numbers."""

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        a, b = match["a"], match["b"]
        if ":" in a and ":" in b:
            return None
        if _in_date_context(seg.text, match.start()):
            return None
        times = [_as_time(x) for x in (a, b)]
        if None in times:
            return None
        later = _later_bare_end(rw, seg, match, times[0] or "", b)
        if later is not None:
            result = f"{times[0]}-{later}{match['plus']}"
            rw.warn(f"bare end hour in {match.group(0).strip()!r} read as {later} ({_LATER_WHY[later == '24:00']})")
            return result
        result = f"{times[0]}-{times[1]}{match['plus']}"
        rw.warn(f"hours without minutes {match.group(0).strip()!r} read as {result}")
        return result

    rw.sub(_BARE_RANGE, repl)


_TWELVE_HOUR_MARK = re.compile(r"\d\s*[ap]\.?\s?m\b", re.IGNORECASE)
_LATER_WHY = {False: "the same hour twice, or a 12-hour clock start, means the later one", True: "midnight"}


def _later_bare_end(rw: _Rewriter, seg: _Segment, match: re.Match[str], start: str, end: str) -> str | None:
    """The end a person meant by a bare hour after a start written in full: ``10am-10``, ``8:00-8`` and
    ``12-12`` (the same hour at both ends: read as written, open round the clock) are 10:00-22:00, 08:00-20:00
    and 12:00-24:00; after a 12-hour clock start, ``9am-5`` and ``5pm-12`` are 09:00-17:00 and 17:00-24:00
    (read as written, the end came the next morning; ``5pm-2`` stays a night). None: the end as written."""
    if ":" in end or not 1 <= int(end) <= 12:  # (0-0 is round the clock, as written)
        return None
    start_hour, end_hour = int(start[:2]), int(end)
    later = end_hour + 12 if end_hour < 12 else 24
    if end_hour == start_hour:
        return f"{later:02d}:00"
    written = rw.raw[seg.origin[match.start("a")] : seg.origin[match.start("b")]]
    if _TWELVE_HOUR_MARK.search(written) and end_hour < start_hour < later:
        return f"{later:02d}:00"
    return None


def _as_time(token: str) -> str | None:
    if ":" in token:
        hour, minute = token.split(":")
        return f"{int(hour):02d}:{minute}"
    hour_value = int(token)
    return f"{hour_value:02d}:00" if hour_value <= 48 else None


def _fix_punctuation(rw: _Rewriter) -> None:
    """Spacing and separators: the structure OSM expects around selectors, times and rules."""
    rules: list[tuple[str, Callable[[re.Match[str]], str], str | None]] = [
        # "Mo-Fr: 10:00" / "24/7: closed": a colon after a selector is not OSM syntax.
        # "Mo-Fr:09:00-18:00": the colon glued to the days and the time.
        (r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)):(?=\d\d?:\d\d)", lambda m: " ", "colon after selector removed"),
        (
            r"(?<=[^\W\d_]|[.\]/\d])\s*:(?=\s|[^\W\d_]|$|\")(?!\d)",
            # No space of its own before one that follows: "Oct 30: 11:00" also warned of stray whitespace.
            lambda m: "" if m.string[m.end() : m.end() + 1].isspace() else " ",
            "colon after selector removed",
        ),
        # "Mo - Fr", "10:00 - 12:00": spaces around a range dash.
        # ("PH -1 day", "easter -2 days": the space before a day offset is part of the syntax.)
        (
            r"(?<=[\w:.)+])\s+-\s*(?=[\w(])(?!\d+ days?\b)|(?<=[\w:.)])\s*-\s+(?=[\w(])",
            lambda m: "-",
            "spaces around '-' removed",
        ),
        # "Mo, Tu" or "Mo ,Tu" inside a weekday/month list.
        (
            r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH))\s*,\s+(?=(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)\b)",
            lambda m: ",",
            "spaces in day list removed",
        ),
        (r"(?<=\d\d:\d\d)\s*,\s+(?=\d\d:\d\d)", lambda m: ",", "spaces in time list removed"),
        # "Mo Tu Fr", "Jan Dec": one weekday (month) after another is no selector the grammar has, only a
        # list with its commas left out.  (Holidays are left out: "SH Mo-Fr" means the weekdays in them;
        # a month before its day, "Jan Dec 24", is a different form.)
        (
            r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su)) +(?=(?:Mo|Tu|We|Th|Fr|Sa|Su)\b)",
            lambda m: ",",
            "missing ',' between weekdays added",
        ),
        (
            rf"(?<=\b(?:{_MONTH_NAMES})) +(?=(?:{_MONTH_NAMES})\b(?! \d{{1,2}}\b(?!:)))",
            lambda m: ",",
            "missing ',' between months added",
        ),
        # "10:00-12:00 / 14:00-18:00": the French way to write a midday break.  A repeat interval after '/'
        # is one duration ("10:00-16:00/01:00"), never a range, so a range after it can only be the next one.
        (
            r"(?<=\d\d:\d\d)\s*/\s*(?=\d\d:\d\d-\d\d:\d\d)",
            lambda m: ",",
            "'/' between time ranges read as ','",
        ),
        # "Sa/So", "Mo/We/Fr": a list of days written with slashes.
        (
            r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su|PH))\s*/\s*(?=(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)\b)",
            lambda m: ",",
            "'/' between days read as ','",
        ),
        # "10:00-18:00 + So 12:00-16:00", "9-12 + 14-18": a "+" between rules or ranges is an "and".
        (
            r"(?<=\d\d:\d\d)\s+\+\s+(?=(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)\b)",
            lambda m: "; ",
            "'+' between rules read as ';'",
        ),
        (r"(?<=\d\d:\d\d)\s+\+\s+(?=\d\d:\d\d-)", lambda m: ",", "'+' between time ranges read as ','"),
        # "Mo-Fr 9-18 | Sa 10-17": one "|" (not OSM's "||", a fallback rule) between rules.
        (r"(?<=\d\d:\d\d)\s*(?<!\|)\|(?!\|)\s*(?=\d\d:\d\d)", lambda m: ",", "'|' between time ranges read as ','"),
        (
            r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su|PH))\s*(?<!\|)\|(?!\|)\s*(?=(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)\b)",
            lambda m: ",",
            "'|' between days read as ','",
        ),
        (r"(?<!\|)\s*(?<!\|)\|(?!\|)\s*(?!\|)", lambda m: "; ", "'|' between rules read as ';'"),
        # "Mo12:00": a day selector glued to a time.
        (r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH))(?=\d)", lambda m: " ", "space added between day and time"),
        (r"(?<=\bSH)(?=Mo|Tu|We|Th|Fr|Sa|Su)", lambda m: " ", "space added between SH and day"),
        # "12:00-14:00 16:00-18:00": a second time range without its comma.
        (r"(?<=\d\d:\d\d)\s+(?=\d\d:\d\d-)", lambda m: ",", "missing ',' between time ranges added"),
        # "24/7" after a day selector means the whole of those days.
        (
            r"(?<=\b(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)) 24/7",
            lambda m: " 00:00-24:00",
            "'24/7' after days read as 00:00-24:00",
        ),
        (r"\s*,\s*(?=,)", lambda m: "", "doubled ',' removed"),
        (r"(?<=\d\d:\d\d)\s*-\s*\+", lambda m: "+", None),
        (r"\bweek (\d\d),week (?=\d\d)", lambda m: f"week {m.group(1)},", "repeated 'week' removed"),
        (r"\s+,", lambda m: ",", "space before ',' removed"),
        (r";\s*(?=;)", lambda m: "", "doubled ';' removed"),
        (r"(?<=\S);(?=\S)", lambda m: "; ", None),
        (r"\s+;", lambda m: ";", "space before ';' removed"),
        (r" {2,}", lambda m: " ", "stray whitespace collapsed"),
    ]
    for pattern, make, message in rules:
        compiled = re.compile(pattern)

        def repl(
            match: re.Match[str],
            seg: _Segment,
            make: Callable[[re.Match[str]], str] = make,
            message: str | None = message,
        ) -> str | None:
            new = make(match)
            if new == match.group(0):
                return None
            if message:
                rw.warn(message)
            return new

        rw.sub(compiled, repl)


_MONTH_NAMES = "|".join(MONTHS)
_MONTHDAY_ITEM = rf"(?:\d{{4}} )?(?:{_MONTH_NAMES}) \d\d(?:-\d\d)?(?:/\d+)?(?![\d:])"
_DAY_ITEM = r"\d\d(?:-\d\d)?(?:/\d+)?(?![\d:])"
_MONTHDAY_LIST = re.compile(rf"(?<![\w:]){_MONTHDAY_ITEM}(?:,(?:{_MONTHDAY_ITEM}|{_DAY_ITEM}))*")
_YEAR_STEP = re.compile(r"(?<![\d:\-])(?P<year>\d{4})/(?P<step>\d+)(?![\d:])")
# "2013-2015/1": a year range's step of one is the range itself (opening_hours.js warns and reads it so).
# Only years: a week step of one ("week 30-40/1") is an error in the reference and stays one here.
_EVERY_YEAR_STEP = re.compile(r"(?<![\d:\-])(?P<range>\d{4}-\d{4})/0*1(?![\d:])")
# The last year a "from YYYY every n years" selector is written out to (the engine needs a closed range).
_LAST_YEAR = 9999


def _fix_date_lists(rw: _Rewriter) -> None:
    """Monthday forms the engine's grammar lacks, written out with the same meaning.

    ``Dec 24,25`` (later days of the same month) becomes ``Dec 24,Dec 25``; a day step ``Jan 01-31/8`` becomes
    the list of days it selects (``Jan 01,Jan 09,Jan 17,Jan 25``); a year step without an end (``2013/10``:
    2013 and every 10th year after) becomes ``2013-9999/10``.
    """

    def monthdays(match: re.Match[str], seg: _Segment) -> str | None:
        items = match.group(0).split(",")
        if not any("/" in item or " " not in item for item in items):
            return None
        # A year written before a monthday belongs to that one range ("2010 Dec 01,Dec 09" is Dec 09 of
        # every year): the year is repeated on each day a range or a continuation is written out to.
        year = month = ""
        out: list[str] = []
        for item in items:
            words = item.split(" ")
            if len(words) == 1:
                days = words[0]
            else:
                year = words[0] if len(words) == 3 else ""
                month, days = words[-2], words[-1]
            prefix = f"{year} {month}".strip()
            first, _, rest = days.partition("-")
            last, _, step = rest.partition("/")
            if step and last and int(step) > 0:
                out.extend(f"{prefix} {day:02d}" for day in range(int(first), int(last) + 1, int(step)))
            else:
                out.append(f"{prefix} {days}")
        result = ",".join(out)
        if result == match.group(0):
            return None
        rw.warn(f"date list {match.group(0)!r} written out as {result!r}")
        return result

    def year_step(match: re.Match[str], seg: _Segment) -> str:
        if int(match["step"]) == 1:
            result = f"{match['year']}-{_LAST_YEAR}"
            rw.warn(f"year step {match.group(0)!r} (every year from {match['year']}) written as {result!r}")
            return result
        result = f"{match['year']}-{_LAST_YEAR}/{match['step']}"
        rw.warn(
            f"year step {match.group(0)!r} (every {match['step']} years from {match['year']}) written as {result!r}"
        )
        return result

    def every_year(match: re.Match[str], seg: _Segment) -> str:
        rw.warn(f"step '/1' in the year range {match.group(0)!r} dropped (it selects every year of the range)")
        return match["range"]

    rw.sub(_MONTHDAY_LIST, monthdays)
    rw.sub(_YEAR_STEP, year_step)
    rw.sub(_EVERY_YEAR_STEP, every_year)


_M = rf"(?:{_MONTH_NAMES})"
_MONTHS_THEN_DAYS = re.compile(
    rf"(?<![\w:\-,])(?P<months>{_M}(?:-{_M})?(?:,{_M}(?:-{_M})?)*) "
    rf"(?P<days>(?P<first>{_M}) \d\d(?:-(?:(?P<last>{_M}) )?\d\d)?)(?![\d:,\-])"
)


def cyclic_set(selector: str, names: Sequence[str]) -> set[int]:
    """Indexes a list of names and ranges selects (`Mo-We,Fr`, `Nov-Feb`), ranges wrapping past the end."""
    out: set[int] = set()
    for part in selector.split(","):
        first, _, last = part.partition("-")
        a = names.index(first)
        b = names.index(last) if last else a
        while True:
            out.add(a)
            if a == b:
                break
            a = (a + 1) % len(names)
    return out


def _month_set(selector: str) -> set[int]:
    return cyclic_set(selector, MONTHS)


def _fix_month_then_days(rw: _Rewriter) -> None:
    """``Jan-Feb Jan 09-15``: a month selector before a day range inside those months adds nothing (every
    selector must match); the engine takes one of them only, so the redundant months go."""

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        wanted = _month_set(match["months"])
        last = match["last"] or match["first"]
        if not _month_set(f"{match['first']}-{last}") <= wanted:
            return None  # not inside those months: left to the engine's error
        rw.warn(f"month selector {match['months']!r} before {match['days']!r} dropped (it selects no other day)")
        return match["days"]

    rw.sub(_MONTHS_THEN_DAYS, repl)


_WEEK_RULE = re.compile(r"(?:(?<=^)|(?<=;)|(?<=\|\|))[^;|\"]*\bweek \d[^;|\"]*")
_SELECTOR_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("year", re.compile(r"\d{4}(?:[-,/+][\d,\-/+]*)?")),
    ("month", re.compile(rf"(?:{_MONTH_NAMES})(?:[-,](?:{_MONTH_NAMES}))*")),
    ("monthday", re.compile(r"\d\d(?:[-,/]\d\d?)*")),
    ("weekday", re.compile(r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)(?:[-,\[\]\d]|Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)*")),
    ("time", re.compile(r"[\d:(),+\-/]*(?:\d\d:\d\d|sunrise|sunset|dawn|dusk)[\d:(),+\-/a-z]*")),
    ("state", re.compile(r"open|closed|off|unknown")),
)
_SELECTOR_ORDER = ("year", "month", "week", "weekday", "time", "state")


def _fix_selector_order(rw: _Rewriter) -> None:
    """``00:00-24:00 week 05 Feb``: selectors in any order mean the same days (they all must match), but the
    engine reads them only in the specification's order: year, month (and day), week, weekday, time, state."""

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        text = match.group(0)
        tokens = text.split()
        groups: dict[str, list[str]] = {kind: [] for kind in _SELECTOR_ORDER}
        order: list[str] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token == "week" and i + 1 < len(tokens):
                kind, words = "week", [token, tokens[i + 1]]
                i += 2
            else:
                kind = next((k for k, pattern in _SELECTOR_KINDS if pattern.fullmatch(token)), "")
                words = [token]
                i += 1
                if kind == "monthday":
                    if not order or order[-1] != "month":
                        return None  # a day number that follows no month: leave it to the engine's error
                    kind = "month"
                if not kind:
                    return None
            groups[kind].extend(words)
            order.append(kind)
        if order == sorted(order, key=_SELECTOR_ORDER.index):
            return None
        result = " ".join(word for kind in _SELECTOR_ORDER for word in groups[kind])
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        rw.warn(f"selectors {text.strip()!r} put in the specification's order: {result!r}")
        return f"{lead}{result}{trail}"

    rw.sub(_WEEK_RULE, repl)


def _fix_day_dots(rw: _Rewriter) -> None:
    """``Dec 24.-25.``: the German/French ordinal dot after a day of month."""

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        if not _in_date_context(seg.text, match.start()):
            return None
        rw.warn("dot after day of month removed")
        return ""

    rw.sub(re.compile(r"(?<=\d)\.(?!\d)"), repl)


_TIMES_FIRST = re.compile(
    r"(?:(?<=^)|(?<=;))(?P<lead>\s*)(?P<times>\d\d:\d\d[-+0-9:,]*)\s+(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)"
    r"(?:[-,](?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH))*)(?=\s*(?:;|$|\s(?:off|closed|open|unknown)\b))"
)


def _fix_order(rw: _Rewriter) -> None:
    """``9h-18h lun-ven``: OSM wants the day selector before the times."""

    def repl(match: re.Match[str], seg: _Segment) -> str:
        rw.warn(f"day selector {match['days']!r} moved before the times")
        return f"{match['lead']}{match['days']} {match['times']}"

    rw.sub(_TIMES_FIRST, repl)


_DAY_LIST = re.compile(
    r"(?<![\w,\-])(?:(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?(?:\[[^\]]*\])?|PH|SH)"
    r"(?:,(?:(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?(?:\[[^\]]*\])?|PH|SH))+(?![\w\-\[])"
)


def _fix_day_list_order(rw: _Rewriter) -> None:
    """``Su,PH,SH`` is read by the engine only with the holidays first (``SH,PH,Su``); a union, same days."""

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        items = match.group(0).split(",")
        holidays = [item for item in items if item in ("PH", "SH")]
        if not holidays or items[: len(holidays)] == holidays:
            return None
        result = ",".join(holidays + [item for item in items if item not in ("PH", "SH")])
        rw.warn(f"day list {match.group(0)!r} reordered as {result!r}")
        return result

    rw.sub(_DAY_LIST, repl)


_SELECTOR_WORD = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
_LINE_GAP = re.compile(r" +")
_RULE_BODY = re.compile(r"\d\d:\d\d|\b(?:off|closed|open|unknown)\b|24/7")
_RULE_START = re.compile(rf"(?:{_SELECTOR_WORD}|\d{{4}}\b|easter\b)")


def _fix_line_rules(rw: _Rewriter) -> None:
    """A line break after a rule's times (or its state) and before days, holidays or dates of their own starts
    the next rule: ``Holidays closed⏎Mon-Fri 9am-6pm`` are two rules. Read as a space, the state moved to the end
    of everything that followed (``PH Mo-Fr 09:00-18:00 closed``: open on holidays alone). A break inside a
    rule (``Lundi au vendredi :⏎9h-18h``) stays a space."""

    split = False

    def repl(match: re.Match[str], seg: _Segment) -> str | None:
        nonlocal split
        span = seg.origin[match.start() : match.end()]
        if not any(rw.raw[i] in "\n\r" for i in span if i < len(rw.raw)):
            return None
        rule = seg.text[: match.start()].rsplit(";", 1)[-1]
        if not _RULE_BODY.search(rule) or not _RULE_START.match(seg.text, match.end()):
            return None
        if re.search(r"[,;|+]$", rule):  # the line ends with its own separator ("Mo-Fr 9-18,⏎Sa 10-14")
            return None
        rw.warn("line break read as ';' between rules")
        split = True
        return "; "

    rw.sub(_LINE_GAP, repl)
    if split:
        _closures_last(rw)


# A rule that closes days, holidays or dates, without times: `PH off`, `Dec 25,Dec 26 closed`, `PH,Su off`.
_CLOSURE_SELECTOR = rf"(?:{_SELECTOR_WORD}|\d{{4}}\b|\d\d\b)"
_CLOSURE_RULE = re.compile(rf"{_CLOSURE_SELECTOR}(?:[ ,-]+{_CLOSURE_SELECTOR})* (?:off|closed)")


def _closures_last(rw: _Rewriter) -> None:
    """Lines read as rules, in the order written: "Holidays closed⏎Mon-Fri 9-18" puts the closure first, and a
    later rule overrides an earlier one (the OSM rules), so the weekday rule opened the holidays that fall on a
    weekday. The person meant the holidays closed: such a closure (of holidays, dates or days) goes after the
    weekday rules it would lose to; not when other rules of dates or holidays follow, which may be its
    exceptions."""
    code = [seg for seg in rw.segments if not seg.comment]
    if len(code) != 1 or len(rw.segments) != 1:
        return  # comments ride with their rules: left in the order written
    seg = code[0]
    rules: list[tuple[str, list[int]]] = []
    start = 0
    for match in re.finditer(r"; ", seg.text + "; "):
        rules.append((seg.text[start : match.start()], seg.origin[start : match.start()]))
        start = match.end()
    closures = [rule for rule in rules if _CLOSURE_RULE.fullmatch(rule[0])]
    if not closures or all(rule in closures for rule in rules[rules.index(closures[0]) :]):
        return  # none, or no other rule after the first
    if not all(rule in closures or _DAYS_AND_TIMES.fullmatch(rule[0]) for rule in rules):
        return  # a later rule of dates or holidays may be the closure's exception ("Su off⏎Dec Su 12:00-17:00")
    ordered = [rule for rule in rules if rule not in closures] + closures
    rw.warn("closure moved after the rules written below it, which would override it")
    seg.text = "; ".join(text for text, _ in ordered)
    origin: list[int] = []
    for k, (_, where) in enumerate(ordered):
        if k:
            origin.extend([where[0] if where else 0] * 2)
        origin.extend(where)
    seg.origin = origin


_STATE_FIRST = re.compile(
    r"(?:(?<=^)|(?<=; ))(?P<lead>(?:(?!\d\d:\d\d|(?:off|closed|open|unknown)\b)[^;|\"\s]+ )*)"
    r"(?P<state>off|closed|open|unknown) (?P<rest>[^;|\"]*?\d\d:\d\d[^;|\"]*?)(?=\s*(?:;|\|\||$|\"))"
)


_CLOSED_BEFORE_DAYS = re.compile(
    r"(?P<sep>(?<=\d\d:\d\d), |(?<=^)|(?<=; ))(?P<state>off|closed) "
    r"(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)(?:[,-](?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH))*)(?=\s*(?:;|\|\||$))"
)


# `Fermé le lundi, du mardi au samedi 9h-18h`, by now `off Mo,Tu-Sa 09:00-18:00`: days closed, then a rule.
_CLOSED_DAYS_THEN_TIMES = re.compile(
    r"(?:(?<=^)|(?<=; ))(?P<state>off|closed) "
    r"(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)(?:[,-](?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH))+)(?= \d\d:\d\d)"
)


def _fix_state_order(rw: _Rewriter) -> None:
    """``off 14:00-16:00`` / ``open We 10:00`` / ``We open 10:00-16:00``: the state belongs after the
    selectors, times included. ``closed Sundays``, ``Fermé le lundi``: a rule of its own, days first."""

    split = False

    def closure_first(match: re.Match[str], seg: _Segment) -> str | None:
        # A comma the person wrote with a space after it, before a range of days, ends the closed days: read as
        # one rule, the state went past the times ("Mo,Tu-Sa 09:00-18:00 off", closed all week). Without a range
        # after it, the days are one closure at those times: "Fermé lundi, jeudi 12h-14h" (lunch on two days),
        # "closed Mo,Tu 12:00-13:00".
        # The days as written (a list reordered by an earlier repair, "Sun, PH" as "PH,Su", points at its start).
        written = rw.raw[seg.origin[match.start("days")] : seg.origin[match.end("days")]]
        at = seg.text.rfind(",", match.start("days"), match.end("days"))
        rest = seg.text[at + 1 : match.end("days")]
        if not re.search(r",\s", written) or "-" not in rest:
            return None
        nonlocal split
        split = True
        rw.warn(f"state {match['state']!r} moved after the days it closes; ',' after them read as ';'")
        return f"{seg.text[match.start('days') : at]} {match['state']}; {rest}"

    def repl(match: re.Match[str], seg: _Segment) -> str:
        rw.warn(f"state {match['state']!r} moved after the selectors")
        return f"{match['lead']}{match['rest'].strip()} {match['state']}"

    def closed_days(match: re.Match[str], seg: _Segment) -> str:
        rw.warn(f"state {match['state']!r} moved after the days it closes")
        return f"{'; ' if match['sep'] else ''}{match['days']} {match['state']}"

    rw.sub(_CLOSED_DAYS_THEN_TIMES, closure_first)
    if split:
        _closures_last(rw)  # "Fermé le lundi, tous les jours 9h-18h": the every-day rule would reopen Monday
    rw.sub(_STATE_FIRST, repl)
    rw.sub(_CLOSED_BEFORE_DAYS, closed_days)


# (A holiday's offset is one day at most: see _check_semantics.)
_UNJOINED_HOLIDAYS = re.compile(r"(?:(?<=\bPH)|(?<=\bSH)|(?<=\b[PS]H [+-]1 day)) (?=(?:PH|SH)\b)")


def _fix_holiday_lists(rw: _Rewriter) -> None:
    """``PH -1 day SH Mo-We``: two holidays side by side are a list, as ``PH -1 day,SH Mo-We`` says."""

    def repl(match: re.Match[str], seg: _Segment) -> str:
        rw.warn("missing ',' between holidays added")
        return ","

    rw.sub(_UNJOINED_HOLIDAYS, repl)


_UNSEPARATED_RULE = re.compile(
    rf"(?:(?<=\d\d:\d\d)|(?<=\d\d:\d\d\+)) (?={_SELECTOR_WORD}[^;\"|:]*?(?: \d\d:\d\d| (?:off|closed|open|unknown)\b))"
)


_COMMA_RULE = re.compile(
    rf"(?:(?<=\d\d:\d\d)|(?<=\d\d:\d\d\+)), (?={_SELECTOR_WORD}[^;\"|:]*?(?: \d\d:\d\d| (?:off|closed|open|unknown)\b))"
)


_RULE_SPLIT = re.compile(rf"; |, (?={_SELECTOR_WORD})")
_DAYS_AND_TIMES = re.compile(
    r"(?P<days>[A-Z][a-z](?:[-,][A-Z][a-z])*) (?P<times>\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*)"
)


def _redundant_addition(before: str, after: str) -> bool:
    """Whether `after`, read as OSM's additional rule, would add nothing to `before`: days of its own within
    the earlier rule's, and times within its times (``Mo-Su 08:00-22:00, Su 10:00-18:00``). Written so, it can
    only mean to replace them. Not when the earlier rule's nights run into the next day, which an additional
    rule keeps and a replacing one cuts at midnight (``Su-Tu 11:00-01:00, We-Th 11:00-03:00``), nor for
    rules of other days or other times (``Mo-Fr 09:00-12:00, Mo,Tu 15:00-18:00``: an addition)."""
    first, second = _DAYS_AND_TIMES.fullmatch(before), _DAYS_AND_TIMES.fullmatch(after)
    if first is None or second is None:
        return False
    days = cyclic_set(first["days"], WEEKDAYS), cyclic_set(second["days"], WEEKDAYS)
    if not days[0] or not days[1] or not days[1] <= days[0]:
        return False

    def spans(times: str) -> list[tuple[int, int]]:
        return [(int(t[0:2]) * 60 + int(t[3:5]), int(t[6:8]) * 60 + int(t[9:11])) for t in times.split(",")]

    earlier, later = spans(first["times"]), spans(second["times"])
    if any(end <= start or end > 24 * 60 for start, end in earlier + later):
        return False  # nights: see above
    return all(any(a <= start and end <= b for a, b in earlier) for start, end in later)


def _fix_rule_separators(rw: _Rewriter) -> None:
    """``Mo-Fr 10:00-18:00 Sa 10:00-14:00``: days after the times, with times or a state of their own, start
    the next rule; the ``;`` between them was left out. ``Daily 8am-10pm, Sunday 10am-6pm``: a comma there is
    how people separate lines, not OSM's additional rule (which adds to the rules before it: Sunday open from
    08:00 to 22:00): the next rule, which overrides the days it names."""

    def repl(match: re.Match[str], seg: _Segment) -> str:
        rw.warn("missing ';' between rules added")
        return "; "

    def comma(match: re.Match[str], seg: _Segment) -> str | None:
        before = _RULE_SPLIT.split(seg.text[: match.start()])[-1]
        after = _RULE_SPLIT.split(seg.text[match.end() :])[0]
        if not _redundant_addition(before, after):
            return None
        rw.warn("',' between rules read as ';' (a later rule replaces the hours of the days it names)")
        return "; "

    rw.sub(_UNSEPARATED_RULE, repl)
    if any(_COMMA_RULE.search(seg.text) for seg in rw.segments if not seg.comment) and not _accepted(rw.raw):
        rw.sub(_COMMA_RULE, comma)  # (a value valid as OSM means its commas: `Mo-Fr 10:00-12:00, Fr 14:00-16:00`)


def _fix_comment_spacing(rw: _Rewriter) -> None:
    """``open"text"``: the engine wants a space between a state and its comment."""
    for before, after in zip(rw.segments, rw.segments[1:], strict=False):
        if after.comment and not before.comment and before.text and not before.text.endswith(" "):
            before.text += " "
            before.origin.append(after.origin[0])
            rw.warn("space added before comment")


def _fix_ends(rw: _Rewriter) -> None:
    """Leading/trailing blanks and dangling separators (``10:00-12:00;``)."""
    code = [s for s in rw.segments if not s.comment]
    if not code:
        return
    for seg, side in ((rw.segments[0], "start"), (rw.segments[-1], "end")):
        if seg.comment:
            continue
        pattern = r"^[\s;,|]+" if side == "start" else r"[\s;,|]+$"
        match = re.search(pattern, seg.text)
        if not match:
            continue
        if match.group(0).strip():
            rw.warn(f"dangling {match.group(0).strip()!r} at the {side} removed")
        elif side == "start" or match.group(0) != "":
            rw.warn("surrounding whitespace removed")
        seg.text = seg.text[: match.start()] + seg.text[match.end() :]
        del seg.origin[match.start() : match.end()]


_REPAIRS: tuple[Callable[[_Rewriter], None], ...] = (
    _fix_prefix,
    _fix_free_comments,
    _fix_comment_position,
    _fix_characters,
    _fix_phrases,
    _share_meridiem,
    _fix_ampm,
    _fix_afternoon_hours,
    _flag_ambiguous_end_hours,
    _fix_hour_suffixes,
    _fix_time_digits,
    _fix_words,
    _fix_day_offsets,
    _fix_bare_hours,
    _fix_day_dots,
    _fix_punctuation,
    _fix_month_then_days,
    _fix_date_lists,
    _fix_selector_order,
    _fix_order,
    _fix_day_list_order,
    _fix_line_rules,
    _fix_state_order,
    _fix_holiday_lists,
    _fix_rule_separators,
    _fix_comment_spacing,
    _fix_ends,
)


# --------------------------------------------------------------------------------------------------------
# Validation against the engine
# --------------------------------------------------------------------------------------------------------

# The stubs do not declare ParserError, and it is not a SyntaxError subclass: catch both explicitly.
_ENGINE_ERRORS: tuple[type[Exception], ...] = (SyntaxError, getattr(opening_hours, "ParserError", SyntaxError))
_PROBE_ERRORS: tuple[type[Exception], ...] = (*_ENGINE_ERRORS, ValueError)
_ENGINE_POSITION = re.compile(r"-->\s*\d+:(\d+)")
_ENGINE_EXPECTED = re.compile(r"=\s*(.+)$", re.MULTILINE)


def _engine_error(raw: str, text: str, origin: list[int], error: Exception) -> HoursSyntaxError:
    message = str(error)
    column = _ENGINE_POSITION.search(message)
    position: int | None = None
    if column:
        index = int(column.group(1)) - 1
        position = origin[index] if index < len(origin) else len(raw)
    expected = _ENGINE_EXPECTED.search(message)
    near = text[int(column.group(1)) - 1 :][:12] if column else ""
    reason = f"unexpected {near!r}" if near else "unexpected end of value"
    if expected:
        reason += f" ({expected.group(1).strip()})"
    return HoursSyntaxError(raw, position, reason)


def _check_times(raw: str, text: str, origin: list[int]) -> None:
    """Start times past 24:00 and minutes past 59 get a precise reason rather than the engine's."""
    for match in re.finditer(r"(?<![\d:\-])(\d{2}):(\d{2})(?![\d:])", text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if minute > 59:
            raise HoursSyntaxError(raw, origin[match.start()], f"minute {minute} out of range in {match.group(0)!r}")
        if hour > 24:
            raise HoursSyntaxError(raw, origin[match.start()], f"hour {hour} out of range in {match.group(0)!r}")
    # An end may run into the next day, up to 48:00 (the engine's message for 48:01 has no position).
    for match in re.finditer(r"(?<=-)(\d{2}):(\d{2})(?![\d:])", text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if minute <= 59 and hour * 60 + minute > 48 * 60:
            raise HoursSyntaxError(
                raw, origin[match.start()], f"end {match.group(0)!r} is past 48:00, the latest a range may end"
            )


_DAYS_IN_MONTH = dict(zip(MONTHS, (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), strict=True))
_MONTHDAY = re.compile(
    r"\b(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<day>\d\d)(?![\d:])(?:-(?P<end>\d{1,2})\b(?!:))?"
)
_RANGE_STEP = re.compile(r"\b(?:week )?(?P<a>\d{1,4})-(?P<b>\d{1,4})/(?P<step>\d+)\b(?!:)")
_YEAR_RANGE = re.compile(r"(?<![\d:])(?P<a>\d{4})-(?P<b>\d{4})(?![\d:])")
_RULE_TAIL = re.compile(r"\d\d:\d\d|\b(?:off|closed|open|unknown|sunrise|sunset|dawn|dusk)\b|\+|\"")


_EASTER_END = r"easter(?: [+-]\d+ days?)?"
_HALF_DATED_EASTER = re.compile(rf"(?<!\d{{4}} ){_EASTER_END}-\d{{4}} easter|\d{{4}} {_EASTER_END}-easter")


def _check_semantics(raw: str, text: str, origin: list[int]) -> None:
    """What the engine accepts but no real schedule means: reject it rather than guess.

    ``Feb 30`` or ``Jun 30-24`` is a typo, ``week 30-40/1`` a step that selects nothing special, and
    ``We, Aug Mo`` an additional-rule ``,`` after a bare selector, which readers take for a list.
    """
    code = _blank_comments(text)
    for match in _MONTHDAY.finditer(code):
        day, month = int(match["day"]), match["month"]
        if not 1 <= day <= _DAYS_IN_MONTH[month]:
            raise HoursSyntaxError(raw, origin[match.start("day")], f"{month} {day:02d} does not exist")
        if match["end"] is not None:
            end = int(match["end"])
            if len(match["end"]) == 1 or not day < end <= _DAYS_IN_MONTH[month]:
                raise HoursSyntaxError(raw, origin[match.start("end")], f"invalid day range {match.group(0)!r}")
    for match in _RANGE_STEP.finditer(code):
        span = int(match["b"]) - int(match["a"])
        if not 2 <= int(match["step"]) <= span:
            raise HoursSyntaxError(
                raw, origin[match.start("step")], f"step /{match['step']} selects nothing useful in {match.group(0)!r}"
            )
    for match in _DAY_OFFSET.finditer(code):
        count = int(match["n"])
        if match["base"] in ("PH", "SH") and count != 1:
            raise HoursSyntaxError(
                raw,
                origin[match.start("n")],
                f"only the day before or after a holiday can be selected, not {match.group(0)!r}",
            )
        if count > 365:
            raise HoursSyntaxError(raw, origin[match.start("n")], f"offset of more than a year in {match.group(0)!r}")
    for match in _HALF_DATED_EASTER.finditer(code):
        raise HoursSyntaxError(
            raw, origin[match.start()], f"a year on only one end of the range {match.group(0)!r} is ambiguous"
        )
    for match in _YEAR_RANGE.finditer(code):
        if int(match["a"]) >= int(match["b"]):
            raise HoursSyntaxError(raw, origin[match.start()], f"year range {match.group(0)!r} is empty or reversed")
    rule_start = 0
    for match in re.finditer(r";|\|\||, ", code):
        if match.group(0) == ", " and not _RULE_TAIL.search(code[rule_start : match.start()]):
            raise HoursSyntaxError(
                raw, origin[match.start()], "ambiguous ',' after a selector without times (use ';' or no space)"
            )
        rule_start = match.end()


# A time that is neither end of a range, nor a repeat interval or sun offset, nor an open end.
_LONE_TIME = re.compile(r"(?<![\d:\-/+(])\d\d:\d\d(?![\d:\-+/)])")


def _check_lone_times(raw: str, text: str, origin: list[int], error: Exception) -> None:
    """For a value the engine rejects: a time without a closing time that the engine read up to is the
    reason, said plainly ("Sa 22:00" is a point in time, which opening hours cannot express)."""
    column = _ENGINE_POSITION.search(str(error))
    limit = int(column.group(1)) - 1 if column else len(text)
    match = _LONE_TIME.search(_blank_comments(text))
    if match and match.start() < limit:
        raise HoursSyntaxError(
            raw,
            origin[match.start()],
            f"single time {match.group(0)!r} without a closing time (opening hours need a range, "
            f"e.g. {match.group(0)}-..)",
        )


def _blank_comments(text: str) -> str:
    # Same length as the text so that indexes still line up with the origin map.
    return re.sub(r'"[^"]*"', lambda m: '"' + "_" * (len(m.group(0)) - 2) + '"', text)


def normalize(raw: str, *, country: str | None = None) -> NormalizedHours:
    """Repair ``raw`` into strict OSM ``opening_hours`` syntax; raise HoursSyntaxError when that fails."""
    if not isinstance(raw, str) or not raw.strip():
        raise HoursSyntaxError(str(raw) if isinstance(raw, str) else repr(raw), None, "empty value")
    if _accepted(raw) and _is_canonical(raw):
        _check_semantics(raw, raw, list(range(len(raw))))
        return NormalizedHours(raw, _night_warnings(raw))
    rw = _rewriter(raw, country)
    for repair in _REPAIRS:
        repair(rw)
    text, origin = rw.joined()
    if not text.strip():
        raise HoursSyntaxError(raw, 0, "no opening hours in value")
    _check_times(raw, text, origin)
    _check_semantics(raw, text, origin)
    try:
        parsed = opening_hours.OpeningHours(text)
    except _ENGINE_ERRORS as error:
        _check_lone_times(raw, text, origin, error)
        raise _engine_error(raw, text, origin, error) from None
    for message in parsed.warnings:
        rw.warn(f"engine: {message}")
    return NormalizedHours(text, tuple(rw.warnings) + _night_warnings(text))


def _night_warnings(text: str) -> tuple[str, ...]:
    """Nights that a later whole-day closure cuts at midnight (see the two functions below)."""
    return _night_before_holiday_warning(text) + _night_before_closed_date_warning(text)


_WHOLE_DAY_PH_OFF = re.compile(r'(?:^|;)\s*PH\s+(?:off|closed)\s*(?:"[^"]*"\s*)?(?=;|$)')
_TIME_RANGE = re.compile(r"\b(\d\d):(\d\d)-(\d\d):(\d\d)\b")


def _night_before_holiday_warning(text: str) -> tuple[str, ...]:
    """`Mo-Su 22:00-06:00; PH off` closes the whole holiday: the night before it ends at midnight, and the
    holiday's own night still opens at 00:00 the day after (the OSM rules, as opening_hours.js reads them,
    corpus case 97). Seldom what a night service means: say so, with the form that closes the holiday's nights."""
    if "PH" not in text or not _WHOLE_DAY_PH_OFF.search(text):
        return ()
    for match in _TIME_RANGE.finditer(text):
        start, end = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
        if end <= start or end > 24 * 60:
            night = match.group(0)
            return (
                f"'PH off' closes the whole holiday: the night before it ends at midnight, and its own night"
                f" {night} opens at 00:00 the day after; to close the nights that start on a holiday instead,"
                f" write 'PH {night} off'",
            )
    return ()


_DATED_NIGHT = re.compile(rf"^({_MONTH_NAMES}) (\d\d?) (\d\d:\d\d)-(\d\d:\d\d)$")
_DATE_OFF = re.compile(rf'^({_MONTH_NAMES}) (\d\d?) (?:off|closed)(?: "[^"]*")?$')


def _night_before_closed_date_warning(text: str) -> tuple[str, ...]:
    """`Dec 31 22:00-03:00; Jan 01 off`: the later rule closes the whole of 1 January, the night's end past
    midnight included (the OSM rules, as for `PH off`), so New Year's Eve ends at 00:00. Say so, with the form
    that keeps the night."""
    rules = [rule.strip() for rule in text.split(";")]
    out = []
    for i, rule in enumerate(rules):
        night = _DATED_NIGHT.match(rule)
        if not night or night[4] > night[3]:
            continue
        month, day = MONTHS.index(night[1]) + 1, int(night[2])
        if (month, day) == (2, 28):
            continue  # its night ends on Feb 29 or Mar 01, by the year
        try:
            after = date(2001, month, day) + timedelta(days=1)
        except ValueError:
            continue
        next_day = f"{MONTHS[after.month - 1]} {after.day:02d}"
        for later in rules[i + 1 :]:
            closed = _DATE_OFF.match(later)
            if closed and (MONTHS.index(closed[1]) + 1, int(closed[2])) == (after.month, after.day):
                out.append(
                    f"'{later}' closes the whole of {next_day}: the night '{rule}' ends at midnight; to keep it,"
                    f" give {next_day} the night's end instead ('{next_day} 00:00-{night[4]}')"
                )
                break
    return tuple(out)


def _accepted(value: str) -> bool:
    try:
        parsed = opening_hours.OpeningHours(value)
    except _PROBE_ERRORS:
        return False
    return not parsed.warnings


def _is_canonical(value: str) -> bool:
    """Engine-valid text that none of the repairs would touch (so the fast path changes nothing)."""
    try:
        rw = _rewriter(value)
        for repair in _REPAIRS:
            repair(rw)
    except HoursSyntaxError:
        return False
    return rw.joined()[0] == value and not rw.warnings
