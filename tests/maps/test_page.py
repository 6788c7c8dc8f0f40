from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from maps.htmlcheck import external_resources
from maps.page import error_message, pick_clock, pick_language, pick_units, render_page
from maps.text import DAYS, LANGS, MONTHS, STRINGS, clock_time, plural

FORM = {"q": "75008", "country": "FR", "open": "now", "product": "iphone"}


class _Doc(HTMLParser):
    """Collects what the accessibility and no-JS checks need."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.wrapped: list[str] = []
        self.stack: list[str] = []
        self.ol_items = 0
        self.in_ol = 0
        self.ldjson: list[str] = []
        self._ld = False
        self.live: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if d.get("for"):
                self.label_for.add(d["for"] or "")
        if tag in ("input", "select", "textarea") and d.get("type") != "hidden":
            self.controls.append(d)
            if self.label_depth:
                self.wrapped.append(d.get("name") or "")
        if tag == "ol":
            self.in_ol += 1
        if tag == "li" and self.in_ol and "place" in (d.get("class") or "").split():
            self.ol_items += 1
        if tag == "script" and d.get("type") == "application/ld+json":
            self._ld = True
        if d.get("aria-live"):
            self.live.append(d)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1
        if tag == "ol":
            self.in_ol -= 1
        if tag == "script":
            self._ld = False

    def handle_data(self, data: str) -> None:
        if self._ld:
            self.ldjson.append(data)


def _doc(html: str) -> _Doc:
    d = _Doc()
    d.feed(html)
    return d


def test_english_page_lists_results_without_js(answer: dict[str, Any]) -> None:
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    assert '<html lang="en"' in html
    doc = _doc(html)
    assert doc.ol_items == len(answer["results"])
    assert "3 places open now near 75008 Paris" in html
    assert "Repair &amp; Co" in html
    assert "Service centre" in html
    assert "2.5 km" in html and "590 m" in html
    assert "Open, closes at 21:00" in html
    assert "Closed, opens tomorrow at 09:00" in html
    assert "Repair: 10:00–12:00, 14:00–19:00" in html
    assert "https://www.openstreetmap.org/directions?to=48.871800%2C2.300300" in html
    # Results come before the map in the document (list first, map beside).
    assert html.index('id="results"') < html.index('id="map"')


def test_french_page(answer: dict[str, Any]) -> None:
    html = render_page(lang="fr", form=FORM, answer=answer, error=None, units="km")
    assert '<html lang="fr"' in html
    assert "Trouver un magasin" in html
    assert "3 lieux ouverts maintenant près de 75008 Paris" in html
    assert "2,5 km" in html
    assert "Fermé, ouvre demain à 09:00" in html
    assert "Centre de service" in html
    assert 'hreflang="en"' in html  # the switch to the other language


def test_russian_page(answer: dict[str, Any]) -> None:
    html = render_page(lang="ru", form=FORM, answer=answer, error=None, units="km")
    assert '<html lang="ru"' in html
    assert "Найти магазин" in html
    assert "3 места открыты сейчас" in html
    assert "2,5 км" in html and "590 м" in html
    assert "Закрыто, откроется завтра в 09:00" in html
    assert "Сервисный центр" in html
    assert 'hreflang="en"' in html and 'hreflang="fr"' in html and 'hreflang="ru"' not in html


@pytest.mark.parametrize(
    ("lang", "n", "key"),
    [
        ("ru", 1, "k_one"), ("ru", 2, "k_few"), ("ru", 4, "k_few"), ("ru", 5, "k"), ("ru", 11, "k"),
        ("ru", 12, "k"), ("ru", 21, "k_one"), ("ru", 22, "k_few"), ("ru", 111, "k"), ("ru", 0, "k"),
        ("en", 1, "k_one"), ("en", 2, "k"), ("en", 21, "k"), ("fr", 1, "k_one"), ("fr", 3, "k"),
    ],
)  # fmt: skip
def test_plural_forms(lang: str, n: int, key: str) -> None:
    assert plural(lang, "k", n) == key


def test_every_language_has_every_string() -> None:
    for lang in LANGS:
        missing = {k for k in STRINGS["en"] if not k.endswith("_one")} - set(STRINGS[lang])
        assert not missing, (lang, missing)
        assert len(DAYS[lang]) == 7 and len(MONTHS[lang]) == 12


def test_a_town_centre_origin_says_so(answer: dict[str, Any]) -> None:
    """ "12 rue de la Paix, Paris" placed at the town's centre listed the places in the centre's order, with
    nothing to tell the visitor the street was not found."""
    answer["origin"] = {**answer["origin"], "label": "Paris, FR", "precision": "place centroid"}
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    assert "near Paris, FR (town centre)" in html


def test_the_day_asked_shows_with_open_or_closed(answer: dict[str, Any]) -> None:
    form = {**FORM, "open": "any", "at": "2026-12-10T11:00"}
    html = render_page(lang="en", form=form, answer=answer, error=None, units="km")
    assert "3 places near 75008 Paris" in html and "(open or closed on Thu 10 Dec at 11:00)" in html


def test_the_title_carries_the_outcome(answer: dict[str, Any]) -> None:
    empty = {**answer, "results": []}
    html = render_page(lang="en", form={**FORM, "open": "any"}, answer=empty, error=None, units="km")
    assert "<title>No place matches near" in html
    html = render_page(lang="en", form=FORM, answer=None, error=error_message("en", 404, q="zzz"), units="km")
    assert "<title>No address or postcode matches “zzz”" in html


@pytest.mark.parametrize(
    ("header", "clock"),
    [("en-US", "12h"), ("en-US,en;q=0.9", "12h"), ("en-AU", "12h"), ("en-GB", "24h"), ("en", "24h"),
     ("fr-CA", "24h"), ("es-US", "24h"), (None, "24h")],
)  # fmt: skip
def test_pick_clock(header: str | None, clock: str) -> None:
    assert pick_clock(header) == clock
    assert pick_clock(header, "fr") == pick_clock(header, "ru") == "24h"  # ?lang=fr with en-US: "ouvre à 10:00"


def test_a_twelve_hour_clock(answer: dict[str, Any]) -> None:
    """en-US read "closes at 21:00" and hours "10:00–12:00, 14:00–19:00": American shops write 9:00 PM."""
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="mi", clock="12h")
    assert "Open, closes at 9:00\u202fPM" in html
    assert "Closed, opens tomorrow at 9:00\u202fAM" in html
    assert "Repair: 10:00\u202fAM–12:00\u202fPM, 2:00\u202fPM–7:00\u202fPM" in html
    assert clock_time("24:00", "12h") == "12:00\u202fAM" and clock_time("00:30", "12h") == "12:30\u202fAM"
    assert clock_time("12:00", "12h") == "12:00\u202fPM" and clock_time("21:30") == "21:30"


def test_miles(answer: dict[str, Any]) -> None:
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="mi")
    assert "1.5 mi" in html and "0.4 mi" in html
    assert " km<" not in html


def test_every_control_is_labelled(answer: dict[str, Any]) -> None:
    doc = _doc(render_page(lang="en", form=FORM, answer=answer, error=None, units="km"))
    names = {c.get("name") for c in doc.controls}
    assert {"q", "country", "product", "service", "kind", "open", "at"} <= names
    for c in doc.controls:
        assert c.get("id") in doc.label_for or c.get("name") in doc.wrapped, c
    assert doc.live, "results need an aria-live region"


def test_form_keeps_values_and_escapes_them(answer: dict[str, Any]) -> None:
    form = {**FORM, "q": '"><script>alert(1)</script>', "open": "any", "at": "2025-11-24T10:00"}
    html = render_page(lang="en", form=form, answer=answer, error=None, units="km")
    assert "<script>alert(1)</script>" not in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert re.search(r'value="any"\s+checked', html)
    assert '<option value="FR" selected>' in html
    assert 'value="2025-11-24T10:00"' in html


def test_names_escaped_everywhere(answer: dict[str, Any], hostile_name: str) -> None:
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    assert hostile_name not in html
    assert '<script>alert("x")</script>' not in html
    assert "javascript:alert" not in html
    # The embedded JSON cannot close its <script> element.
    data = html.split('<script type="application/json" id="locator-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["places"][0]["name"] == hostile_name


def test_json_ld_per_place(answer: dict[str, Any]) -> None:
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    doc = _doc(html)
    assert len(doc.ldjson) == 2  # only the items that carry `jsonld`
    assert json.loads(doc.ldjson[0])["name"] == "</script><script>alert(2)</script>"
    assert "<script>alert(2)" not in html


def test_no_answer_yet_and_error() -> None:
    html = render_page(lang="en", form={}, answer=None, error=None, units="km")
    assert "Type an address or a postcode" in html
    assert 'id="map"' not in html  # nothing to draw
    assert "leaflet.js" not in html
    err = render_page(lang="fr", form={"q": "zzz"}, answer=None, error="Adresse <introuvable>", units="km")
    assert 'role="alert"' in err and "Adresse &lt;introuvable&gt;" in err


def test_no_results(answer: dict[str, Any]) -> None:
    answer["results"] = []
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    assert "No place is open now near 75008 Paris" in html
    assert "<ol" not in html


def test_only_local_resources(answer: dict[str, Any]) -> None:
    html = render_page(
        lang="en",
        form=FORM,
        answer=answer,
        error=None,
        units="km",
        tiles_url="https://tiles.example.org/{z}/{x}/{y}.png",
        tiles_attribution="© Example",
    )
    assert external_resources(html) == []
    assert '<script src="/assets/leaflet@1.9.3/dist/leaflet.js"></script>' in html
    assert '<script src="/static/locator-page.js"></script>' in html
    assert '<link rel="stylesheet" href="/assets/leaflet@1.9.3/dist/leaflet.css">' in html


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,de;q=0.9,fr;q=0.7,en;q=0.5", "fr"),
        ("en;q=0.4,fr;q=0.6", "fr"),
        ("fr;q=0,en", "en"),
        ("ru", "ru"),
        ("uk-UA,uk;q=0.9,ru;q=0.8,en;q=0.5", "ru"),
        ("de", "en"),
        ("FR-ca", "fr"),
        ("garbage;;;,", "en"),
    ],
)
def test_pick_language(header: str | None, expected: str) -> None:
    assert pick_language(header) == expected


def test_pick_language_query_wins() -> None:
    assert pick_language("en-US", query_lang="fr") == "fr"
    assert pick_language("fr", query_lang="xx") == "fr"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en-US", "mi"),
        ("en-GB", "mi"),
        ("en-LR", "mi"),
        ("en-MM", "mi"),
        ("es-US", "mi"),
        ("en", "km"),
        ("fr", "km"),
        ("fr-FR", "km"),
        ("en-AU", "km"),
        ("en-IE", "km"),
        ("en-CA", "km"),
        ("en, en-GB;q=0.9", "mi"),
        ("fr-FR,fr;q=0.9,en-US;q=0.8", "km"),
        ("zh-Hant-TW", "km"),
        ("en_US", "mi"),
        (None, "km"),
        ("es-419", "km"),
    ],
)
def test_pick_units(value: str | None, expected: str) -> None:
    assert pick_units(value) == expected


@pytest.mark.parametrize(
    ("lang", "form", "expected"),
    [
        ("en", {"open": "any"}, "3 places near 75008 Paris"),
        ("en", {"open": "now", "at": "2025-11-24T10:00"}, "3 places open on Mon 24 Nov at 10:00 near 75008 Paris"),
        ("fr", {"open": "now", "at": "2025-11-24T10:00"}, "3 lieux ouverts le lun. 24 nov. à 10:00 près de 75008"),
        ("fr", {"open": "any", "at": "2025-11-24T10:00"}, "3 lieux près de 75008 Paris"),
    ],
)
def test_status_line_says_when(answer: dict[str, Any], lang: str, form: dict[str, str], expected: str) -> None:
    html = render_page(lang=lang, form={**FORM, **form}, answer=answer, error=None, units="km")
    assert expected in html


def test_hours_heading_names_the_day_unless_today(answer: dict[str, Any]) -> None:
    same_day = datetime.fromisoformat("2025-11-24T08:00:00+01:00")
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km", now=same_day)
    assert "<span>Today:</span>" in html
    later = datetime.fromisoformat("2025-11-20T08:00:00+01:00")
    html = render_page(lang="fr", form=FORM, answer=answer, error=None, units="km", now=later)
    assert "<span>Horaires du lun. 24 nov.\u202f:</span>" in html
    assert "Aujourd’hui" not in html


def test_every_demo_service_and_product_has_a_label() -> None:
    html = render_page(lang="fr", form={}, answer=None, error=None, units="km")
    for label in ("Réparation", "Vente", "Retrait", "Formation", "Apple Vision Pro"):
        assert label in html


def test_error_messages_in_the_visitors_language() -> None:
    assert error_message("fr", 404, q="zzz") == (
        "Aucune adresse ni aucun code postal ne correspond à « zzz ». Vérifiez l’orthographe ou choisissez le pays."
    )
    assert error_message("en", 422, parameter="at") == "The date and time are not valid."
    assert error_message("fr", 422, parameter="lat").startswith("Votre position")
    assert error_message("en", 422, parameter="kind", detail="kind: 'x y' is not valid") == (
        "Some search details are not valid (kind: 'x y' is not valid)."
    )
    assert error_message("fr", 503) == "La recherche est momentanément indisponible. Réessayez dans un instant."
    html = render_page(lang="fr", form={"q": "zzz"}, answer=None, error=error_message("fr", 404, q="zzz"), units="km")
    assert "« zzz »" in html and 'role="alert"' in html


# Embedding, override and isolate controls: one in a name would reorder the text the page puts after it.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_bidi_controls_in_data_cannot_reorder_the_page(answer: dict[str, Any]) -> None:
    place = answer["results"][1]
    place["name"] = "Repair \u202edesolC\u2069"
    place["address"]["street"] = "\u202e1 rue de Rivoli"
    place["phone"] = "+33 1\u202e 23"
    place["status_comment"] = "\u2067works"
    answer["origin"]["label"] = "75008 \u202eParis"
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    assert not BIDI_CONTROLS & set(html)
    # Right-to-left names (Arabic, Hebrew) still read right, isolated from the text around them.
    assert "<bdi>Repair desolC</bdi>" in html
    data = json.loads(html.split('id="locator-data">', 1)[1].split("</script>", 1)[0])
    assert data["places"][1]["name"] == "Repair desolC"
    # The marker's title and spoken label isolate the name: the state after it keeps its order.
    assert data["places"][1]["title"] == "2. \u2068Repair desolC\u2069 — Closed, opens tomorrow at 09:00 (works)"
    assert data["origin"]["label"] == "Your search: 75008 Paris"


def test_error_message_does_not_echo_bidi_controls() -> None:
    message = error_message("en", 404, q="\u202eesrever")
    assert not BIDI_CONTROLS & set(message)
    assert "“esrever”" in message


def test_too_long_query_is_named() -> None:
    assert error_message("en", 422, parameter="q", limit=200) == (
        "The address or postcode is too long (at most 200 characters)."
    )
    assert "200 caractères" in error_message("fr", 422, parameter="q", limit=200)


def test_rate_limit_message() -> None:
    assert error_message("en", 429) == "Too many searches in a short time. Please wait a minute and try again."
    assert error_message("fr", 429).startswith("Trop de recherches")


def test_json_ld_links_only_http_urls(answer: dict[str, Any]) -> None:
    answer["results"][2]["jsonld"].update(
        {"@id": "javascript:alert(3)", "url": " data:text/html,<script>alert(4)</script>", "sameAs": ["vbscript:x"]}
    )
    answer["results"][0]["jsonld"].update({"@id": "urn:locator:fr-1", "url": "https://example.com/fr-1"})
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    ld = [json.loads(block) for block in _doc(html).ldjson]
    assert ld[0]["@id"] == "urn:locator:fr-1" and ld[0]["url"] == "https://example.com/fr-1"
    assert ld[1] == {"@context": "https://schema.org", "@type": "Store", "name": "Opéra", "sameAs": []}
    assert "javascript:" not in html and "data:text" not in html and "vbscript" not in html


def test_a_filter_value_the_form_does_not_offer_is_shown_selected(answer: dict[str, Any]) -> None:
    # A shared link with `product=hifi_speaker`: the answer is filtered by it, so the form must not claim "Any".
    html = render_page(lang="en", form={**FORM, "product": "hifi_speaker"}, answer=answer, error=None, units="km")
    assert re.search(r'<option value="hifi_speaker" selected>\s*Hifi speaker\s*</option>', html)
    assert not re.search(r'<option value="" selected', html.split('id="product"')[1].split("</select>")[0])


def test_list_ids_stay_apart_when_place_ids_differ_in_punctuation(answer: dict[str, Any]) -> None:
    first = answer["results"][0]
    results = [{**first, "id": place_id} for place_id in ("A.1", "A/1", "A 1", "A-1", "A_1", "A_2e_1")]
    html = render_page(lang="en", form=FORM, answer={**answer, "results": results}, error=None, units="km")
    ids = re.findall(r'<li id="([^"]+)" class="place', html)
    assert len(ids) == len(results) == len(set(ids))
    assert all(re.fullmatch(r"place-[A-Za-z0-9_-]+", i) for i in ids)


def test_a_long_name_is_cut_in_the_markers_title(answer: dict[str, Any]) -> None:
    answer["results"][1]["name"] = "W" * 500
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    data = json.loads(html.split('id="locator-data">', 1)[1].split("</script>", 1)[0])
    assert data["places"][1]["name"] == "W" * 500  # the popup and the list show it whole, wrapped
    assert data["places"][1]["title"] == "2. \u2068" + "W" * 79 + "…\u2069 — Closed, opens tomorrow at 09:00"


def test_a_phone_without_a_dialable_number_is_shown_as_text(answer: dict[str, Any]) -> None:
    answer["results"][0]["phone"] = "+1-800-FLOWERS"
    answer["results"][1]["phone"] = "+33 (0)1 44 00 00 01"
    html = render_page(lang="en", form=FORM, answer=answer, error=None, units="km")
    assert '<a href="tel:+33144000001">+33 (0)1 44 00 00 01</a>' in html
    assert "+1-800-FLOWERS" in html and "tel:+1800" not in html


def test_a_guessed_origin_is_said_to_be_one() -> None:
    """A typo's closest place ("Toulouze") was named like the place typed: the page says it is a guess."""
    origin = {"lat": 43.6, "lon": 1.44, "label": "Toulouse, Haute-Garonne, FR", "source": "address",
              "precision": "place centroid (approximate)", "country": "FR"}  # fmt: skip
    html = render_page(lang="en", form={"q": "Toulouze"}, answer={"origin": origin, "results": []}, error=None,
                       units="km")  # fmt: skip
    assert "Toulouse, Haute-Garonne, FR (the closest name to what you typed)" in html
    exact = render_page(lang="fr", form={"q": "Toulouse"}, answer={"origin": {**origin, "precision": "place centroid"},
                        "results": []}, error=None, units="km")  # fmt: skip
    assert "Toulouse, Haute-Garonne, FR" in exact and "le plus proche" not in exact
