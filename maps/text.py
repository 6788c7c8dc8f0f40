"""Display strings shared by the Folium map and the customer page: labels (en/fr/ru), distances,
opening state and today's hours, computed from one item of the nearest answer (CONTRACT.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGS = ("en", "fr", "ru")
# Each language's own name, for the links that switch to it.
LANG_NAMES = {"en": "English", "fr": "Français", "ru": "Русский"}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Find a store or service centre",
        "intro": "Nearest places, open now or when you plan to go.",
        "search": "Search",
        "q": "Address or postcode",
        "q_hint": "For example 75008 or 12 rue de la Paix, Paris",
        "country": "Country",
        "product": "Product",
        "service": "Service",
        "kind": "Type of place",
        "open": "When",
        "open_now": "Open now, or at the time below",
        "open_any": "Any time (open or closed)",
        "at": "Date and time",
        "at_hint": "Optional; local time at the place you search.",
        "any": "Any",
        "use_location": "Use my location",
        "locating": "Finding your position…",
        "geo_denied": "Your position is unavailable; type an address or a postcode instead.",
        "results": "Results",
        "results_near": "{n} places near {label}",
        "results_near_one": "1 place near {label}",
        "results_now": "{n} places open now near {label}",
        "results_now_one": "1 place open now near {label}",
        "results_at": "{n} places open on {when} near {label}",
        "results_at_one": "1 place open on {when} near {label}",
        "results_near_at": "{n} places near {label} (open or closed on {when})",
        "results_near_at_one": "1 place near {label} (open or closed on {when})",
        "farther": "Nothing within {distance}; farther away:",
        "no_results": "No place matches near {label}. Try another product, service or type of place.",
        "no_results_now": "No place is open now near {label}. Try “Any time” or another time.",
        "no_results_at": "No place is open on {when} near {label}. Try “Any time” or another time.",
        "when": "{day} at {time}",
        "start": "Type an address or a postcode to see the nearest places.",
        "map": "Map of the results",
        "map_note": "The list is the same information as the map.",
        "show_on_map": "Show on map",
        "you_are_here": "Your search: {label}",
        "origin_guessed": "{label} (the closest name to what you typed)",
        "origin_centre": "{label} (town centre)",
        "open_closes": "Open, closes at {time}",
        "open_closes_day": "Open, closes {day} at {time}",
        "open_24": "Open",
        "closing_soon": "closing soon",
        "closed_opens": "Closed, opens at {time}",
        "closed_opens_day": "Closed, opens {day} at {time}",
        "closed": "Closed",
        "state_unknown": "Hours not stated for now",
        "tomorrow": "tomorrow",
        "today": "Today",
        "hours_on": "Hours on {day}",
        "closed_today": "closed",
        "all_day": "open 24 hours",
        "distance": "Distance",
        "phone": "Phone",
        "website": "Website",
        "directions": "Directions",
        "error": "Error",
        "err_not_found": "No address or postcode matches “{q}”. Check the spelling, or choose the country.",
        "err_at": "The date and time are not valid.",
        "err_position": "Your position could not be read; type an address or a postcode instead.",
        "err_invalid": "Some search details are not valid ({detail}).",
        "err_unavailable": "The search is unavailable right now. Please try again in a moment.",
        "err_q_long": "The address or postcode is too long (at most {limit} characters).",
        "err_busy": "Too many searches in a short time. Please wait a minute and try again.",
        "skip": "Skip to results",
        "languages": "Other languages",
        "store": "Store",
        "service_centre": "Service centre",
        "kind_other": "Place",
        "svc_repair": "Repair",
        "svc_sales": "Sales",
        "svc_pickup": "Pickup",
        "svc_training": "Training",
        "svc_default": "Opening hours",
        "unknown_hours": "hours unknown",
    },
    "fr": {
        "title": "Trouver un magasin ou un centre de service",
        "intro": "Les lieux les plus proches, ouverts maintenant ou quand vous comptez y aller.",
        "search": "Rechercher",
        "q": "Adresse ou code postal",
        "q_hint": "Par exemple 75008 ou 12 rue de la Paix, Paris",
        "country": "Pays",
        "product": "Produit",
        "service": "Service",
        "kind": "Type de lieu",
        "open": "Quand",
        "open_now": "Ouvert maintenant, ou à l’heure ci-dessous",
        "open_any": "À tout moment (ouvert ou fermé)",
        "at": "Date et heure",
        "at_hint": "Facultatif ; heure locale du lieu recherché.",
        "any": "Tous",
        "use_location": "Utiliser ma position",
        "locating": "Recherche de votre position…",
        "geo_denied": "Position indisponible ; saisissez une adresse ou un code postal.",
        "results": "Résultats",
        "results_near": "{n} lieux près de {label}",
        "results_near_one": "1 lieu près de {label}",
        "results_now": "{n} lieux ouverts maintenant près de {label}",
        "results_now_one": "1 lieu ouvert maintenant près de {label}",
        "results_at": "{n} lieux ouverts le {when} près de {label}",
        "results_at_one": "1 lieu ouvert le {when} près de {label}",
        "results_near_at": "{n} lieux près de {label} (ouverts ou fermés le {when})",
        "results_near_at_one": "1 lieu près de {label} (ouvert ou fermé le {when})",
        "farther": "Rien à moins de {distance} ; plus loin :",
        "no_results": "Aucun lieu ne correspond près de {label}. Essayez un autre produit, service ou type de lieu.",
        "no_results_now": (
            "Aucun lieu n’est ouvert maintenant près de {label}. Essayez « À tout moment » ou une autre heure."
        ),
        "no_results_at": (
            "Aucun lieu n’est ouvert le {when} près de {label}. Essayez « À tout moment » ou une autre heure."
        ),
        "when": "{day} à {time}",
        "start": "Saisissez une adresse ou un code postal pour voir les lieux les plus proches.",
        "map": "Carte des résultats",
        "map_note": "La liste donne les mêmes informations que la carte.",
        "show_on_map": "Voir sur la carte",
        "you_are_here": "Votre recherche : {label}",
        "origin_guessed": "{label} (le nom le plus proche de votre saisie)",
        "origin_centre": "{label} (centre de la localité)",
        "open_closes": "Ouvert, ferme à {time}",
        "open_closes_day": "Ouvert, ferme {day} à {time}",
        "open_24": "Ouvert",
        "closing_soon": "ferme bientôt",
        "closed_opens": "Fermé, ouvre à {time}",
        "closed_opens_day": "Fermé, ouvre {day} à {time}",
        "closed": "Fermé",
        "state_unknown": "Horaires non précisés pour l’instant",
        "tomorrow": "demain",
        "today": "Aujourd’hui",
        "hours_on": "Horaires du {day}",
        "closed_today": "fermé",
        "all_day": "ouvert 24 h/24",
        "distance": "Distance",
        "phone": "Téléphone",
        "website": "Site web",
        "directions": "Itinéraire",
        "error": "Erreur",
        "err_not_found": (
            "Aucune adresse ni aucun code postal ne correspond à « {q} ». Vérifiez l’orthographe ou choisissez le pays."
        ),
        "err_at": "La date et l’heure ne sont pas valides.",
        "err_position": "Votre position n’a pas pu être lue ; saisissez une adresse ou un code postal.",
        "err_invalid": "Certains critères de recherche ne sont pas valides ({detail}).",
        "err_unavailable": "La recherche est momentanément indisponible. Réessayez dans un instant.",
        "err_q_long": "L’adresse ou le code postal est trop long ({limit} caractères au plus).",
        "err_busy": "Trop de recherches en peu de temps. Patientez une minute puis réessayez.",
        "skip": "Aller aux résultats",
        "languages": "Autres langues",
        "store": "Magasin",
        "service_centre": "Centre de service",
        "kind_other": "Lieu",
        "svc_repair": "Réparation",
        "svc_sales": "Vente",
        "svc_pickup": "Retrait",
        "svc_training": "Formation",
        "svc_default": "Horaires",
        "unknown_hours": "horaires inconnus",
    },
    "ru": {
        "title": "Найти магазин или сервисный центр",
        "intro": "Ближайшие точки, открытые сейчас или когда вы планируете прийти.",
        "search": "Найти",
        "q": "Адрес или почтовый индекс",
        "q_hint": "Например, 125009 или Москва, Тверская улица",
        "country": "Страна",
        "product": "Товар",
        "service": "Услуга",
        "kind": "Тип точки",
        "open": "Когда",
        "open_now": "Открыто сейчас или в указанное ниже время",
        "open_any": "В любое время (открыто или закрыто)",
        "at": "Дата и время",
        "at_hint": "Необязательно; местное время там, где вы ищете.",
        "any": "Все",
        "use_location": "Моё местоположение",
        "locating": "Определяем ваше местоположение…",
        "geo_denied": "Местоположение недоступно; введите адрес или почтовый индекс.",
        "results": "Результаты",
        # Russian has three plural forms: 1, 21 место; 2-4, 22 места; 5-20, 25 мест (see plural()).
        "results_near": "{label}: {n} мест поблизости",
        "results_near_few": "{label}: {n} места поблизости",
        "results_near_one": "{label}: {n} место поблизости",
        "results_now": "{label}: {n} мест открыто сейчас",
        "results_now_few": "{label}: {n} места открыты сейчас",
        "results_now_one": "{label}: {n} место открыто сейчас",
        "results_at": "{label}: {n} мест открыто {when}",
        "results_at_few": "{label}: {n} места открыты {when}",
        "results_at_one": "{label}: {n} место открыто {when}",
        "results_near_at": "{label}: {n} мест поблизости (открыто или закрыто {when})",
        "results_near_at_few": "{label}: {n} места поблизости (открыто или закрыто {when})",
        "results_near_at_one": "{label}: {n} место поблизости (открыто или закрыто {when})",
        "farther": "В радиусе {distance} ничего нет; дальше:",
        "no_results": "{label}: поблизости ничего не найдено. Попробуйте другой товар, услугу или тип точки.",
        "no_results_now": "{label}: поблизости сейчас ничего не открыто. Попробуйте «В любое время» или другое время.",
        "no_results_at": "{label}: поблизости ничего не открыто {when}. Попробуйте «В любое время» или другое время.",
        "when": "{day} в {time}",
        "start": "Введите адрес или почтовый индекс, чтобы увидеть ближайшие точки.",
        "map": "Карта результатов",
        "map_note": "В списке та же информация, что и на карте.",
        "show_on_map": "Показать на карте",
        "you_are_here": "Ваш поиск: {label}",
        "origin_guessed": "{label} (ближайшее название к введённому)",
        "origin_centre": "{label} (центр населённого пункта)",
        "open_closes": "Открыто, закрывается в {time}",
        "open_closes_day": "Открыто, закрывается {day} в {time}",
        "open_24": "Открыто",
        "closing_soon": "скоро закрывается",
        "closed_opens": "Закрыто, откроется в {time}",
        "closed_opens_day": "Закрыто, откроется {day} в {time}",
        "closed": "Закрыто",
        "state_unknown": "Часы работы сейчас не указаны",
        "tomorrow": "завтра",
        "today": "Сегодня",
        "hours_on": "Часы работы на {day}",
        "closed_today": "закрыто",
        "all_day": "круглосуточно",
        "distance": "Расстояние",
        "phone": "Телефон",
        "website": "Сайт",
        "directions": "Маршрут",
        "error": "Ошибка",
        "err_not_found": "Адрес или индекс «{q}» не найден. Проверьте написание или выберите страну.",
        "err_at": "Дата и время указаны неверно.",
        "err_position": "Не удалось определить ваше местоположение; введите адрес или почтовый индекс.",
        "err_invalid": "Некоторые параметры поиска указаны неверно ({detail}).",
        "err_unavailable": "Поиск временно недоступен. Попробуйте ещё раз через минуту.",
        "err_q_long": "Адрес или индекс слишком длинный (не более {limit} символов).",
        "err_busy": "Слишком много запросов за короткое время. Подождите минуту и попробуйте снова.",
        "skip": "К результатам",
        "languages": "Другие языки",
        "store": "Магазин",
        "service_centre": "Сервисный центр",
        "kind_other": "Точка",
        "svc_repair": "Ремонт",
        "svc_sales": "Продажа",
        "svc_pickup": "Выдача заказов",
        "svc_training": "Обучение",
        "svc_default": "Часы работы",
        "unknown_hours": "часы работы неизвестны",
    },
}

DAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
}
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    # The genitive, as a date is written ("10 дек.", "3 мая")
    "ru": ("янв.", "февр.", "марта", "апр.", "мая", "июня", "июля", "авг.", "сент.", "окт.", "нояб.", "дек."),
}


# Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): one left open in a name
# reverses the text shown after it ("— Open" read as "nepO —"), and a stray PDI would close our own isolate.
# Right-to-left names need none of them: the page isolates every name instead. Control characters too.
_UNSAFE_CHARS = re.compile(r"[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FSI, PDI = "\u2068", "\u2069"


def clean_text(value: object) -> str:
    """`value` as display text: without bidi embedding/override/isolate controls or control characters."""
    return _UNSAFE_CHARS.sub("", str(value))


def isolate(value: object) -> str:
    """Data text for plain-text contexts (a title, a tooltip): cleaned and wrapped in FSI … PDI, so a
    right-to-left name does not reorder the words around it. In HTML, `<bdi>` does the same."""
    return FSI + clean_text(value) + PDI


def place_name(item: Mapping[str, Any]) -> str:
    return clean_text(item.get("name") or "")


def norm_lang(lang: str | None) -> str:
    return lang if lang in STRINGS else "en"


def origin_label(origin: Mapping[str, Any], lang: str) -> str:
    """The origin as the page names it, saying when it is a guess: "Toulouze" was shown as a plain "Toulouse,
    Haute-Garonne, FR", and "Frankfurt" as Frankfort, Kentucky, with nothing to tell the visitor it was not
    what they typed (the precision `place centroid (approximate)` said so)."""
    label = clean_text(origin.get("label") or "")
    precision = str(origin.get("precision") or "")
    if precision.endswith("(approximate)"):
        return t(lang, "origin_guessed", label=label)
    if precision == "place centroid":
        # Distances from the middle of the town: "12 rue de la Paix, Paris" is searched from there when no
        # geocoder finds the street, and the visitor must not take the order for the street's.
        return t(lang, "origin_centre", label=label)
    return label


def t(lang: str, key: str, **kwargs: object) -> str:
    """The string `key` in `lang` (English when missing), formatted with `kwargs`."""
    text = STRINGS[norm_lang(lang)].get(key) or STRINGS["en"].get(key, key)
    return text.format(**kwargs) if kwargs else text


def plural(lang: str, key: str, n: int) -> str:
    """The key of `key`'s form for the count `n`: `key_one`, `key_few` (Russian's 2-4, 22-24...) or `key`
    itself (the other counts)."""
    if norm_lang(lang) == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return f"{key}_one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return f"{key}_few"
        return key
    return f"{key}_one" if n == 1 else key


COUNTRIES: dict[str, dict[str, str]] = {
    # The demo's countries and neighbours, by language (LANGS). Unknown codes show as the code.
    "FR": {"en": "France", "fr": "France", "ru": "Франция"},
    "BE": {"en": "Belgium", "fr": "Belgique", "ru": "Бельгия"},
    "CH": {"en": "Switzerland", "fr": "Suisse", "ru": "Швейцария"},
    "DE": {"en": "Germany", "fr": "Allemagne", "ru": "Германия"},
    "GB": {"en": "United Kingdom", "fr": "Royaume-Uni", "ru": "Великобритания"},
    "LI": {"en": "Liechtenstein", "fr": "Liechtenstein", "ru": "Лихтенштейн"},
    "LU": {"en": "Luxembourg", "fr": "Luxembourg", "ru": "Люксембург"},
    "MC": {"en": "Monaco", "fr": "Monaco", "ru": "Монако"},
    "RU": {"en": "Russia", "fr": "Russie", "ru": "Россия"},
    "US": {"en": "United States", "fr": "États-Unis", "ru": "США"},
}

PRODUCTS = {
    "iphone": "iPhone",
    "ipad": "iPad",
    "mac": "Mac",
    "watch": "Apple Watch",
    "airpods": "AirPods",
    "vision": "Apple Vision Pro",
}


def country_label(code: str, lang: str) -> str:
    names = COUNTRIES.get(code.upper())
    return names[norm_lang(lang)] if names else code.upper()


def product_label(product: str) -> str:
    return PRODUCTS.get(product, product.replace("_", " ").capitalize())


def colon(lang: str) -> str:
    """French puts a (narrow no-break) space before a colon."""
    return "\u202f:" if norm_lang(lang) == "fr" else ":"


def kind_label(kind: str | None, lang: str) -> str:
    if kind in ("store", "service_centre"):
        return t(lang, kind)
    return clean_text(kind.replace("_", " ").capitalize()) if kind else t(lang, "kind_other")


def service_label(service: str, lang: str) -> str:
    key = f"svc_{service}"
    if key in STRINGS["en"]:
        return t(lang, key)
    return clean_text(service.replace("_", " ").capitalize()) if service else t(lang, "svc_default")


METRES_PER_MILE = 1609.344
# The metre's and the kilometre's symbols, by language (Russian writes its own).
_METRIC_SYMBOLS = {"ru": ("м", "км")}


def _metric(lang: str) -> tuple[str, str]:
    return _METRIC_SYMBOLS.get(lang, ("m", "km"))


def format_distance(distance_m: float | None, units: str, lang: str) -> str:
    if distance_m is None:
        return ""
    dec = "," if lang in ("fr", "ru") else "."
    if units == "mi":
        miles = distance_m / METRES_PER_MILE
        if miles < 0.1:
            return f"{round(distance_m / 0.3048 / 10) * 10:.0f} ft"
        return f"{miles:.1f}".replace(".", dec) + " mi"
    metre, kilometre = _metric(lang)
    if distance_m < 1000:
        # Tens of metres: the geocoded origin is rarely better than that.
        return f"{max(10, round(distance_m / 10) * 10):.0f} {metre}"
    return f"{distance_m / 1000:.1f}".replace(".", dec) + f" {kilometre}"


def radius_text(km: float, units: str, lang: str) -> str:
    """A search radius as the visitor reads distances, in whole units: "50 km", "31 mi" ("50 км" in Russian)."""
    if units == "mi":
        return f"{km * 1000 / METRES_PER_MILE:.0f} mi"
    return f"{km:.0f} {_metric(lang)[1]}"


def parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None


def _zone(name: object) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def place_date(item: Mapping[str, Any], at: datetime | None) -> date | None:
    """The calendar day at the place when the answer was computed (its timezone, else `at`'s offset)."""
    if at is None:
        return None
    tz = _zone(item.get("timezone"))
    return (at.astimezone(tz) if tz else at).date()


def _hhmm(dt: datetime) -> str:
    return dt.strftime("%H:%M")


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day: 01:00 where the clocks spring forward at midnight (Santiago, Cairo)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC).astimezone(zone)


def _day_range(a: datetime, b: datetime, zone: ZoneInfo | None) -> tuple[str, str]:
    """A spell of the place's day as its wall clock reads: one from the day's first instant "00:00", one to
    the next day's "24:00", also where that instant reads 01:00 (a shop open round the clock showed
    "00:00-01:00" on the eve of Santiago's spring-forward, "01:00-24:00" on the day)."""
    if zone is None:  # no zone to read the day in: the offsets given
        return _hhmm(a), "24:00" if b.date() > a.date() and _hhmm(b) == "00:00" else _hhmm(b)
    start, end = a.astimezone(zone), b.astimezone(zone)
    opens = "00:00" if a == _day_start(start.date(), zone) else _hhmm(start)
    closes = "24:00" if end.date() > start.date() and b == _day_start(end.date(), zone) else _hhmm(end)
    return opens, closes


# Where people read a 12-hour clock (shops' hours as "9:00 AM–9:00 PM"), by region; elsewhere 24 hours.
TWELVE_HOUR_REGIONS = frozenset({"US", "CA", "AU", "NZ", "IN", "PH"})


def clock_time(hhmm: str, clock: str = "24h") -> str:
    """ "21:30" as the visitor reads a time: unchanged, or "9:30 PM" on a 12-hour clock ("24:00", a day's
    end, is "12:00 AM")."""
    if clock != "12h":
        return hhmm
    hours, minutes = int(hhmm[:2]), hhmm[3:5]
    return f"{(hours % 12) or 12}:{minutes}\u202f{'AM' if hours % 24 < 12 else 'PM'}"


def date_label(day: date, lang: str) -> str:
    """ "Mon 7 Dec" / "lun. 7 déc." / "пн 7 дек." """
    lang = norm_lang(lang)
    return f"{DAYS[lang][day.weekday()]} {day.day} {MONTHS[lang][day.month - 1]}"


def day_label(day: date, today: date | None, lang: str) -> str:
    """How to name `day` seen from `today`: "tomorrow", a weekday within the week, else the date."""
    if today is not None and day == today + timedelta(days=1):
        return t(lang, "tomorrow")
    if today is not None and today < day < today + timedelta(days=7):
        return DAYS[norm_lang(lang)][day.weekday()]
    return date_label(day, lang)


def when_label(moment: datetime, lang: str, clock: str = "24h") -> str:
    """ "Mon 7 Dec at 11:00" / "lun. 7 déc. à 11:00" (wall-clock time as given)."""
    return t(lang, "when", day=date_label(moment.date(), lang), time=clock_time(_hhmm(moment), clock))


def state_text(item: Mapping[str, Any], at: datetime | None, lang: str, clock: str = "24h") -> str:
    """ "Open, closes at 19:00" / "Closed, opens tomorrow at 09:00", in the place's own local time.

    `closes_at`/`next_open` carry the location's UTC offset (CONTRACT.md), so their wall-clock time
    is already local to the place; the day is added when it is not the day of `at` there ("tomorrow",
    a weekday within the week, else the date). The schedule's comment ("closed for works") follows.
    """
    today = place_date(item, at)
    if item.get("state") == "unknown" and not item.get("open"):
        # "on appointment", an open end: the hours say neither open nor closed (the comment follows)
        text = t(lang, "state_unknown")
    elif item.get("open"):
        closes = parse_iso(item.get("closes_at"))
        if closes is None:
            text = t(lang, "open_24")
        else:
            # Closing at midnight is the end of the day before: "closes Wed at 24:00" ("at midnight" on a
            # 12-hour clock, where "12:00 AM" reads as the day's start), not "Thu at 00:00".
            day_closing, time_closing = closes.date(), clock_time(_hhmm(closes), clock)
            if _hhmm(closes) == "00:00":
                # The 12-hour clock is English's alone here (pick_clock).
                day_closing, time_closing = day_closing - timedelta(days=1), "midnight" if clock == "12h" else "24:00"
            if today is None or day_closing == today or (at is not None and closes - at < timedelta(hours=12)):
                # Same day, or just after midnight tonight: the time alone reads naturally.
                text = t(lang, "open_closes", time=time_closing)
            else:
                text = t(lang, "open_closes_day", day=day_label(day_closing, today, lang), time=time_closing)
        if item.get("closing_soon"):
            text += f" ({t(lang, 'closing_soon')})"
    else:
        opens = parse_iso(item.get("next_open"))
        if opens is None:
            text = t(lang, "closed")
        elif today is not None and opens.date() == today:
            text = t(lang, "closed_opens", time=clock_time(_hhmm(opens), clock))
        else:
            day = day_label(opens.date(), today, lang)
            text = t(lang, "closed_opens_day", day=day, time=clock_time(_hhmm(opens), clock))
    comment = item.get("status_comment")
    comment = clean_text(comment).strip() if isinstance(comment, str) else ""
    if comment:
        text += f" ({comment})"
    return text


def hours_heading(item: Mapping[str, Any], at: datetime | None, lang: str, now: datetime | None = None) -> str:
    """ "Today" when the hours shown are for the place's current day, else "Hours on Mon 7 Dec"."""
    day = place_date(item, at)
    current = place_date(item, now or datetime.now(ZoneInfo("UTC")))
    if day is None or day == current:
        return t(lang, "today")
    return t(lang, "hours_on", day=date_label(day, lang))


def _ranges(intervals: object, zone: ZoneInfo | None) -> list[tuple[str, str]]:
    """An answer's intervals (`[{"from": ISO, "to": ISO}]`) as (HH:MM, HH:MM) on the place's day."""
    ranges: list[tuple[str, str]] = []
    for iv in intervals if isinstance(intervals, list) else []:
        a = parse_iso(iv.get("from")) if isinstance(iv, Mapping) else None
        b = parse_iso(iv.get("to")) if isinstance(iv, Mapping) else None
        if a and b:
            ranges.append(_day_range(a, b, zone))
    return ranges


def _ranges_text(ranges: list[tuple[str, str]], lang: str, clock: str = "24h") -> str:
    if not ranges:
        return t(lang, "closed_today")
    if ranges == [("00:00", "24:00")]:
        return t(lang, "all_day")
    return ", ".join(f"{clock_time(a, clock)}–{clock_time(b, clock)}" for a, b in ranges)


def _eval_today(expr: str, item: Mapping[str, Any], day: date) -> list[tuple[str, str]] | None:
    """Open ranges of `expr` on `day` at the place, or None when it cannot be evaluated here."""
    tz = _zone(item.get("timezone"))
    if tz is None:
        return None
    try:
        from opening_hours import OpeningHours, State
    except ImportError:  # optional: the API may send precomputed `hours_today`
        return None
    address = item.get("address") or {}
    country = address.get("country") if isinstance(address, Mapping) else None
    utc = ZoneInfo("UTC")
    # Day bounds built in UTC then converted, because a local wall-clock midnight may not exist on a
    # DST night and the engine raises on such datetimes.
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(utc).astimezone(tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(utc).astimezone(tz)
    try:
        if isinstance(country, str) and len(country) == 2:
            oh = OpeningHours(expr, timezone=tz, country=country.upper())
        else:
            oh = OpeningHours(expr, timezone=tz)
        out: list[tuple[str, str]] = []
        for a, b, state, _comment in oh.intervals(start, end):
            if state == State.OPEN:
                # An interval reaching the next midnight reads as 24:00, not 00:00.
                out.append((_hhmm(a), "24:00" if b >= end else _hhmm(b)))
        return out
    except Exception:  # the Rust engine raises assorted types; show the raw text instead
        return None


def today_hours(item: Mapping[str, Any], at: datetime | None, lang: str, clock: str = "24h") -> list[tuple[str, str]]:
    """[(service label, "09:00–12:00, 14:00–19:00")] for the place's local day of `at`.

    Uses the item's `hours_today` when the API provides it (`{"<service>": [{"from": ISO, "to": ISO}]}`,
    the exact answer, regional holidays included); otherwise evaluates the canonical `hours` with the
    `opening_hours` engine; otherwise shows the canonical expression itself.
    """
    result: list[tuple[str, str]] = []
    precomputed = item.get("hours_today")
    if isinstance(precomputed, Mapping):
        zone = _zone(item.get("timezone"))
        unknown = item.get("unknown_today")
        unknown = unknown if isinstance(unknown, Mapping) else {}
        for service, intervals in precomputed.items():
            ranges = _ranges(intervals, zone)
            # Time the hours leave unknown (an open end, "on appointment") is not closed time: said as such.
            vague = _ranges(unknown.get(service), zone)
            text = _ranges_text(ranges, lang, clock) if ranges or not vague else ""
            if vague:
                said = ", ".join(f"{clock_time(a, clock)}–{clock_time(b, clock)}" for a, b in vague)
                text = f"{text}, " if text else ""
                text += f"{said} ({t(lang, 'unknown_hours')})"
            result.append((service_label(str(service), lang), text))
        return result
    hours = item.get("hours")
    if not isinstance(hours, Mapping):
        return result
    day = place_date(item, at)
    for service, expr in hours.items():
        if not isinstance(expr, str):
            continue
        evaluated = _eval_today(expr, item, day) if day is not None else None
        text = _ranges_text(evaluated, lang, clock) if evaluated is not None else clean_text(expr)
        result.append((service_label(str(service), lang), text))
    return result


# Countries that write "city, region postcode" rather than "postcode city".
_CITY_FIRST = {"US", "CA", "AU", "GB", "IE", "NZ"}


def address_lines(address: object) -> list[str]:
    if not isinstance(address, Mapping):
        return []

    def g(key: str) -> str:
        v = address.get(key)
        return clean_text(v).strip() if v not in (None, "") else ""

    street, postcode, city, region, country = (g("street"), g("postcode"), g("city"), g("region"), g("country"))
    if country.upper() in _CITY_FIRST:
        if country.upper() in {"GB", "IE"}:
            locality = ", ".join(p for p in (city, postcode) if p)
        else:
            locality = ", ".join(p for p in (city, " ".join(p for p in (region, postcode) if p)) if p)
    else:
        locality = " ".join(p for p in (postcode, city) if p)
    return [line for line in (street, locality) if line]


def directions_url(item: Mapping[str, Any], origin: Mapping[str, Any] | None) -> str | None:
    lat, lon = item.get("lat"), item.get("lon")
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
        return None
    url = f"https://www.openstreetmap.org/directions?to={lat:.6f}%2C{lon:.6f}"
    if origin and isinstance(origin.get("lat"), (int, float)) and isinstance(origin.get("lon"), (int, float)):
        url += f"&from={origin['lat']:.6f}%2C{origin['lon']:.6f}"
    return url


def safe_http_url(value: object) -> str | None:
    """The URL when it is http(s), else None: data may not smuggle javascript: into an href, nor a backslash,
    which browsers read as '/' ("https://a.test\\@b.test/" goes to a.test; the ingest rejects both)."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if "\\" in v.split("?", 1)[0].split("#", 1)[0]:
        return None
    return v if v.lower().startswith(("https://", "http://")) else None


# Where the number dialled ends: an extension (reached once the call connects, never part of the number), a
# second number ("… , …", "… or …"), or a comment in parentheses ("(standard)"). '/' is handled apart.
_TEL_END = re.compile(
    r"(?i)[#;,]|\b(?:ext(?:ension|n)?|poste|durchwahl|dw|or|ou|oder)\b|x\s*(?=[0-9])|\(\s*(?=[^\W\d_])"
)
# What a written number may hold besides ASCII digits: spaces (no-break ones too), dashes, dots, parentheses.
_TEL_TEXT = re.compile(r"[(\s]*\+?[0-9\s\u2010-\u2015().-]*")
_TRUNK = re.compile(r"\(\s*0\s*\)")  # "+33 (0)1 …": the national trunk prefix, not dialled after a country code
_E164_DIGITS = 15


def tel_url(phone: object) -> str | None:
    """A `tel:` link that dials the number shown, or None when the text is not one plain number.

    ASCII digits after an optional leading '+', without a "(0)" trunk prefix after the country code, up to an
    extension ("ext. 12", "x12", "poste 12", "Durchwahl 12", '#', ';') or a second number ('/', ',', "or");
    3 to 15 digits (E.164's longest). Letters ("+1-800-FLOWERS") or other scripts' digits give no link, rather
    than a wrong number: the page still shows the text."""
    if not isinstance(phone, str):
        return None
    number = _TEL_END.split(phone, maxsplit=1)[0]
    # A slash after a whole number starts a second one ("+377 93 15 06 06 / +377 93 15 06 07"); after a few
    # digits it ends an area code ("030/1234567", as German numbers are often written).
    head, *rest = number.split("/")
    for part in rest:
        if sum(ch in "0123456789" for ch in head) >= 6:
            break
        head += " " + part
    if not _TEL_TEXT.fullmatch(head):
        return None
    plus = head.lstrip("( \t\u00a0").startswith("+")
    if plus:
        head = _TRUNK.sub("", head)
    digits = "".join(ch for ch in head if ch in "0123456789")
    if not 3 <= len(digits) <= _E164_DIGITS:
        return None
    return f"tel:{'+' if plus else ''}{digits}"


def shorten(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis, for a tooltip or a title: the list and the popup
    show the whole text, wrapped, but a tooltip is one line and a 500-character name made it 8,000 px wide."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
