"""The gazetteer against the real GeoNames postal files of ../shared/data, in a real PostGIS."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from geopy.distance import geodesic
from sqlalchemy import Engine, text

from locator.errors import InvalidParameter, NotFound
from locator.geocode import (
    MAX_QUERY_LENGTH,
    Origin,
    geocode,
    parse_coordinates,
    postcode_candidates,
    reverse,
    validate_query,
)
from locator.geocoders.chain import Chain
from locator.geocoders.gazetteer import Match, lookup, refresh_places, typo_budget
from tests.conftest import SHARED_DATA, ScratchDatabase, Server

GAZETTEER_ONLY = Chain(["gazetteer"])
COUNTRIES = ("fr", "ru", "mc", "de", "gb", "li", "us")


@pytest.fixture(scope="module")
def gazetteer(module_db: ScratchDatabase) -> Iterator[Engine]:
    """Every country the shared data has (more than the session database, for the ambiguous names)."""
    from ingest.postcodes import load_file

    files = [SHARED_DATA / "geonames-postcodes" / f"zipcodes.{cc}.csv" for cc in COUNTRIES]
    if not all(f.exists() for f in files):
        pytest.skip("the GeoNames files of ../shared/data are absent")
    for path in files:
        load_file(module_db.engine, path)  # rebuilds the place index of the countries it loaded
    assert refresh_places(module_db.engine) == []  # nothing left stale
    with module_db.engine.connect() as conn:
        indexed = conn.execute(text("SELECT DISTINCT country FROM gazetteer_places ORDER BY 1")).scalars().all()
    assert indexed == sorted(cc.upper() for cc in COUNTRIES)
    yield module_db.engine


def locate(engine: Engine, q: str, country: str | None = None) -> Origin:
    with engine.connect() as conn:
        return geocode(conn, q, country, chain=GAZETTEER_ONLY)


def km(origin: Origin, lat: float, lon: float) -> float:
    return float(geodesic((origin.lat, origin.lon), (lat, lon)).km)


# (query, country hint, expected country, label fragment, source, precision, (lat, lon) within 5 km)
CASES = [
    ("75008", "FR", "FR", "75008 Paris", "postcode", "postcode", (48.876, 2.318)),
    ("75008", None, "FR", "75008 Paris", "postcode", "postcode", (48.876, 2.318)),
    ("75 008", "FR", "FR", "75008 Paris", "postcode", "postcode", (48.876, 2.318)),
    ("75008 Paris", None, "FR", "75008 Paris", "postcode", "postcode", (48.876, 2.318)),
    ("Paris 75008", None, "FR", "75008 Paris", "postcode", "postcode", (48.876, 2.318)),
    ("42000 Saint-Etienne, France", None, "FR", "42000 Saint-Étienne", "postcode", "postcode", (45.434, 4.390)),
    ("42001 CEDEX 1", "FR", "FR", "Saint-Étienne", "postcode", "postcode", (45.434, 4.390)),
    ("75384 Paris Cedex 08", None, "FR", "Paris", "postcode", "postcode", (48.876, 2.318)),
    ("st etienne", None, "FR", "Saint-Étienne, Loire", "address", "place centroid", (45.434, 4.390)),
    ("Saint-Étienne", None, "FR", "Saint-Étienne, Loire", "address", "place centroid", (45.434, 4.390)),
    ("ST-ETIENNE", "fr", "FR", "Saint-Étienne, Loire", "address", "place centroid", (45.434, 4.390)),
    ("saint etienne", None, "FR", "Saint-Étienne, Loire", "address", "place centroid", (45.434, 4.390)),
    ("Paris", None, "FR", "Paris, FR", "address", "place centroid", (48.857, 2.352)),
    ("PARIS", "FR", "FR", "Paris, FR", "address", "place centroid", (48.857, 2.352)),
    ("55 rue du Faubourg Saint-Honoré, Paris", None, "FR", "Paris, FR", "address", "place centroid", (48.857, 2.352)),
    ("12 rue de la Paix Paris", None, "FR", "Paris, FR", "address", "place centroid", (48.857, 2.352)),
    ("55 rue du Faubourg Saint-Honoré, 75008 Paris", None, "FR", "75008 Paris", "address", "postcode",
     (48.876, 2.318)),
    ("80331 München", None, "DE", "80331 München, DE", "postcode", "postcode", (48.135, 11.571)),
    ("Marienplatz 1, 80331 München", None, "DE", "80331 München", "address", "postcode", (48.135, 11.571)),
    ("Munich", None, "DE", "München", "address", "place centroid", (48.14, 11.56)),
    # Umlauts typed as ae/oe/ue: the same place, not a typo's approximation ("Koeln" was not found at all).
    ("Muenchen", None, "DE", "München", "address", "place centroid", (48.14, 11.56)),
    ("Koeln", None, "DE", "Köln", "address", "place centroid", (50.94, 6.96)),
    ("Duesseldorf", "DE", "DE", "Düsseldorf", "address", "place centroid", (51.22, 6.79)),
    ("101000", None, "RU", "101000 Москва, RU", "postcode", "postcode", (55.752, 37.616)),
    ("101000 Moscow", None, "RU", "101000 Москва", "postcode", "postcode", (55.752, 37.616)),
    ("Moscow", None, "RU", "Москва, RU", "address", "place centroid", (55.752, 37.616)),
    ("москва", "RU", "RU", "Москва, RU", "address", "place centroid", (55.752, 37.616)),
    # A full British postcode or a ZIP+4 names a street or a block: the gazetteer knows its district or ZIP.
    ("SW1A 1AA", None, "GB", "SW1A Westminster Abbey", "postcode", "postcode centroid", (51.502, -0.133)),
    ("sw1a1aa", "GB", "GB", "SW1A", "postcode", "postcode centroid", (51.502, -0.133)),
    ("SW1A", None, "GB", "SW1A", "postcode", "postcode", (51.502, -0.133)),
    ("10 Downing Street, London SW1A 2AA", "GB", "GB", "SW1A", "address", "postcode centroid", (51.502, -0.133)),
    ("98000 Larvotto", None, "MC", "98000 Larvotto, MC", "postcode", "postcode", (43.733, 7.433)),
    ("9490 Vaduz", None, "LI", "9490 Vaduz, LI", "postcode", "postcode", (47.143, 9.526)),
    ("Vaduz", None, "LI", "Vaduz, LI", "address", "place centroid", (47.143, 9.526)),
    ("36067-1234", "US", "US", "36067 Prattville, US", "postcode", "postcode centroid", (32.47, -86.48)),
    ("Paris", "US", "US", "Paris, TX, US", "address", "place centroid", (33.67, -95.53)),
    ("Bâtiment B2, Paris", None, "FR", "Paris, FR", "address", "place centroid", (48.857, 2.352)),
    ("Saint-Etiene", "FR", "FR", "Saint-Étienne", "address", "place centroid (approximate)", (45.434, 4.390)),
]  # fmt: skip


@pytest.mark.parametrize(("q", "hint", "country", "label", "source", "precision", "point"), CASES)
def test_gazetteer_reads_what_customers_type(
    gazetteer: Engine,
    q: str,
    hint: str | None,
    country: str,
    label: str,
    source: str,
    precision: str,
    point: tuple[float, float],
) -> None:
    origin = locate(gazetteer, q, hint)
    assert (origin.country, origin.source, origin.precision, origin.geocoder) == (
        country, source, precision, "gazetteer"
    ), origin  # fmt: skip
    assert label in origin.label
    assert km(origin, *point) < 5, origin


@pytest.mark.parametrize(
    ("q", "label"),
    [
        # The country without its comma: the last word was read as the town (the village of Uk in Chelyabinsk
        # oblast, Russia in Ohio) or nothing was found.
        ("London UK", "London, Greater London, GB"),
        ("Moscow Russia", "Москва, RU"),
        ("Lyon France", "Lyon, Rhône, FR"),
        ("Nice FR", "Nice, Alpes-Maritimes, FR"),
        ("Munich Germany", "München, Upper Bavaria, DE"),
        ("98000 Monaco", "98000 Monaco, MC"),  # Monaco's name is also its places': the code stays precise
        # A town and a British outward code, no country given (the code alone, or with the whole postcode, was
        # read already).
        ("London SW1A", "SW1A Westminster Abbey, GB"),
        ("Manchester M1", "M1 Manchester, GB"),
        ("Cardiff CF10", "CF10 Cardiff, GB"),
        # A nation of the United Kingdom is the place's region too.
        ("Bangor, Wales", "Bangor, Gwynedd, GB"),
        ("Edinburgh, Scotland", "Edinburgh, City of Edinburgh, GB"),
        ("97070 Würzburg", "97070 Würzburg, DE"),  # 97xxx is also German: only French namesakes must match it
        # Official long forms, and the short ones GeoNames does not write: the rest of the name must be found
        # in the place's name or regions, as typed or abbreviated (it picked the namesake with the most
        # postcodes: "Frankfurt a.d. Oder" was Frankfurt am Main, "Halle (Westf.)" Halle (Saale)).
        ("Frankfurt a.d. Oder", "Frankfurt (Oder), "),
        ("Frankfurt/O.", "Frankfurt (Oder), "),
        ("Halle (Westf.)", "Halle, Reg.-Bez. Detmold, DE"),
        ("Neustadt a.d. Aisch", "Neustadt an der Aisch, "),
        ("Dillingen a.d. Donau", "Dillingen an der Donau, "),
        ("Weil a. Rhein", "Weil am Rhein, "),
        ("Frankfurt (Main)", "Frankfurt am Main, "),
        ("Frankfurt a.M.", "Frankfurt am Main, "),
        ("Frankfurt/Main", "Frankfurt am Main, "),
        ("Frankfurt an der Oder", "Frankfurt (Oder), "),
        ("Freiburg i. Br.", "Freiburg im Breisgau, "),
        ("Bad Homburg", "Bad Homburg vor der Höhe, "),
        # The town before a region name ("New York" is not York, in the state of New York).
        ("New York", "New York, NY, US"),
        # A county outside the United States, whole or in part; American counties share English names and do
        # not tell American towns apart ("Dover, Kent" was Dover, Delaware, in Kent County).
        ("Dover, Kent", "Dover, Kent, GB"),
        ("Lewes, Sussex", "Lewes, East Sussex, GB"),
        # A state's code that is also a French article.
        ("Baton Rouge LA", "Baton Rouge, LA, US"),
        # Words a name is typed with: a Russian address's locality type, Fort and Mount abbreviated.
        ("г. Санкт-Петербург, Невский пр., д. 28", "Санкт-Петербург, RU"),
        ("г. Москва, ул. Тверская, д. 1", "Москва, RU"),
        ("Ft Worth, TX", "Fort Worth, TX, US"),
        ("Ft. Lauderdale", "Fort Lauderdale, FL, US"),
        ("Mt Pleasant, SC", "Mount Pleasant, SC, US"),
        # Exonyms and short names (migration 0018); an alias competes with the places of its own spelling.
        ("NYC", "New York, NY, US"),
        ("Philly", "Philadelphia, PA, US"),
        ("Hanover", "Hannover, Niedersachsen, DE"),
        ("Hanover, PA", "Hanover, PA, US"),
        ("Marseilles", "Marseille, Bouches-du-Rhône, FR"),
        ("Aix-la-Chapelle", "Aachen, "),
        ("Rostov-on-Don", "Ростов-На-Дону, "),
        ("Питер", "Санкт-Петербург, RU"),
    ],
)
def test_what_customers_type_around_a_town(gazetteer: Engine, q: str, label: str) -> None:
    assert locate(gazetteer, q).label.startswith(label)


@pytest.mark.parametrize(
    ("q", "label"),
    [
        # GeoNames writes the principal town without its qualifier ("Offenbach", "Halle"): a guess, so marked.
        ("Offenbach am Main", "Offenbach, Regierungsbezirk Darmstadt, DE"),
        ("Halle (Saale)", "Halle, Sachsen-Anhalt, DE"),
        # Nothing in the gazetteer holds the rest of the name: a namesake is no more than a guess.
        ("Saint-Denis (Réunion)", "Saint-Denis, Seine-Saint-Denis, FR"),
        ("Hall in Tirol", "Hall, East Renfrewshire, GB"),
    ],
)
def test_a_long_form_whose_rest_is_found_nowhere_is_a_guess(gazetteer: Engine, q: str, label: str) -> None:
    origin = locate(gazetteer, q)
    assert (origin.label, origin.precision) == (label, "place centroid (approximate)"), origin
    with gazetteer.connect() as conn:
        match = lookup(conn, q, None)
    assert match is not None and not match.complete  # a configured provider is asked to do better


@pytest.mark.parametrize(
    "q",
    [
        "Bâtiment B2",
        "Ile de France",
        "97400 Saint-Denis",
        "Saint-Denis 97400",
    ],
)
def test_a_code_or_country_word_after_other_words_is_not_forced(gazetteer: Engine, q: str) -> None:
    # "B2" after a word that is no British town is not Birmingham's code; "France" ending a region's name
    # does not make "Ile de" a town to guess at. A French overseas code the gazetteer lacks (GeoNames files
    # Réunion's as RE) is not answered by the Saint-Denis of Seine-Saint-Denis, 9,000 km away.
    with pytest.raises(NotFound):
        locate(gazetteer, q)


@pytest.mark.parametrize(
    ("q", "name", "precision"),
    [
        # GeoNames writes Russian places in Cyrillic; customers abroad type them in Latin letters, in more than
        # one spelling.
        ("Nizhny Novgorod", "Нижний Новгород", "place centroid"),
        ("Nizhniy Novgorod", "Нижний Новгород", "place centroid"),
        ("Yekaterinburg", "Екатеринбург", "place centroid"),
        ("Ekaterinburg", "Екатеринбург", "place centroid"),
        ("Khabarovsk", "Хабаровск", "place centroid"),
        ("Rostov-na-Donu", "Ростов-На-Дону", "place centroid"),
        ("Chelyabinsk, Russia", "Челябинск", "place centroid"),
        ("Chelyabinks", "Челябинск", "place centroid (approximate)"),  # a typo, on the Latin spelling
    ],
)
def test_russian_places_typed_in_latin_letters(gazetteer: Engine, q: str, name: str, precision: str) -> None:
    origin = locate(gazetteer, q)
    assert (origin.label.split(",")[0], origin.country, origin.precision) == (name, "RU", precision), origin


def test_ambiguous_names_go_to_the_hint_then_the_largest_place(gazetteer: Engine) -> None:
    # Saint-Denis exists in dozens of communes: the one with the most postcodes (Seine-Saint-Denis) wins.
    assert "Seine-Saint-Denis" in locate(gazetteer, "Saint Denis").label
    assert locate(gazetteer, "Saint Petersburg").country == "RU"
    assert locate(gazetteer, "Saint Petersburg", "US").label.startswith("Saint Petersburg, FL")


@pytest.mark.parametrize(
    ("q", "label"),
    [
        # The region's code or name after the town, with or without a comma: the namesake in that region, not
        # the largest one (Paris FR), nor a place named like the region ("Maine" in Broome County, New York).
        ("Paris, TX", "Paris, TX, US"),
        ("Paris TX", "Paris, TX, US"),
        ("Paris, Texas", "Paris, TX, US"),
        ("Portland, Maine", "Portland, ME, US"),
        ("Portland ME", "Portland, ME, US"),
        ("Portland, OR", "Portland, OR, US"),
        ("Springfield, MA", "Springfield, MA, US"),
        ("Washington DC", "Washington, DC, US"),
        ("Moscow, Idaho", "Moscow, ID, US"),
        ("Cambridge, Cambridgeshire", "Cambridge, Cambridgeshire, GB"),
        ("St Etienne Loire", "Saint-Étienne, Loire, FR"),
        ("Frankfurt, Hessen", "Frankfurt am Main, "),
        # Words that are part of the name, or no region of it, change nothing.
        ("Frankfurt Oder", "Frankfurt (Oder), "),
        ("rue de la Paix Paris", "Paris, FR"),
        ("Paris", "Paris, FR"),
    ],
)
def test_a_region_after_the_town_picks_the_namesake(gazetteer: Engine, q: str, label: str) -> None:
    origin = locate(gazetteer, q)
    assert origin.label.startswith(label), origin
    assert origin.precision == "place centroid"
    with gazetteer.connect() as conn:
        match = lookup(conn, q, None)
    # Town and region explain the whole query: no provider is asked to do better.
    assert match is not None and match.complete == (q != "rue de la Paix Paris"), match


@pytest.mark.parametrize(
    ("q", "label", "complete"),
    [
        # A British postal county that GeoNames does not file the town under, or a former one: the region was
        # read as the town (Surrey, North Dakota; Middlesex, North Carolina; Cleveland, Ohio).
        ("Richmond, Surrey", "Richmond, Greater London, GB", False),
        ("12 High Street, Richmond, Surrey", "Richmond, Greater London, GB", False),
        ("Richmond, Surrey, England", "Richmond, Greater London, GB", False),  # not the one in North Yorkshire
        ("Richmond, North Yorkshire", "Richmond, North Yorkshire, GB", True),
        ("Stockport, Cheshire", "Stockport, Greater Manchester, GB", False),
        ("Harrow, Middlesex", "Harrow, Greater London, GB", False),
        ("Middlesbrough, Cleveland", "Middlesbrough, North Yorkshire, GB", False),
        # "County" or "Co." before the county (Durham, North Carolina; the town of Antrim).
        ("Durham, County Durham", "Durham, GB", True),
        ("Durham, Co. Durham", "Durham, GB", True),
        ("Belfast, Co. Antrim", "Belfast, Northern Ireland, GB", False),
        # Postal and AP-style abbreviations.
        ("Watford, Herts", "Watford, Hertfordshire, GB", True),
        ("Leeds, Yorks", "Leeds, West Yorkshire, GB", True),
        ("Portland, Ore.", "Portland, OR, US", True),
        ("Albany, N.Y.", "Albany, NY, US", True),
        # A region that is also the town of its country stays the town: not a hamlet of the other name nearby.
        ("Le Marais, Paris", "Paris, FR", False),
    ],
)
def test_a_region_the_town_is_not_filed_under_still_places_it(
    gazetteer: Engine, q: str, label: str, complete: bool
) -> None:
    origin = locate(gazetteer, q)
    assert origin.label.startswith(label), origin
    with gazetteer.connect() as conn:
        match = lookup(conn, q, None)
    # Near a region it is not in: a provider may still place the query better.
    assert match is not None and match.complete == complete, match


def test_a_british_county_without_its_town_names_no_town(gazetteer: Engine) -> None:
    with pytest.raises(NotFound):
        locate(gazetteer, "Co. Durham")  # was Durham, North Carolina


@pytest.mark.parametrize(
    "q", ["55 rue du Faubourg Saint-Honoré", "Boulevard Saint-Germain", "Gare de Lyon", "Chemin de Moscou",
          "10 Downing Street", "221B Baker Street"],
)  # fmt: skip
def test_a_street_name_is_not_read_as_its_last_words_town(gazetteer: Engine, q: str) -> None:
    """The suffixes of a street's name were tried as towns: "55 rue du Faubourg Saint-Honoré" answered
    Saint-Honoré, Seine-Maritime (132 km from the street) as a place centroid. Without a provider that
    can read the address: not found, rather than confidently wrong."""
    with pytest.raises(NotFound):
        locate(gazetteer, q)


@pytest.mark.parametrize("q", [",", ";", ".", "...", ", ,", ",,,"])
@pytest.mark.parametrize("country", [None, "FR"])
def test_punctuation_alone_is_not_found(gazetteer: Engine, q: str, country: str | None) -> None:
    # Nothing left to read once the separators are stripped: an IndexError (a 500 with a traceback) it was.
    with pytest.raises(NotFound):
        locate(gazetteer, q, country)


def test_the_town_after_a_street_is_still_found(gazetteer: Engine) -> None:
    assert locate(gazetteer, "rue de la Paix Paris").label.startswith("Paris")
    assert locate(gazetteer, "12 rue du Faubourg Saint-Honoré, 75008 Paris").label.startswith("75008")
    assert "Frankfurt am Main" in locate(gazetteer, "Frankfurt am Main").label


def test_the_nations_of_the_united_kingdom_are_its_country(gazetteer: Engine) -> None:
    # "London, England" answered England, Arkansas.
    for q in ("London, England", "Edinburgh, Scotland", "Cardiff, Wales"):
        assert locate(gazetteer, q).country == "GB", q


@pytest.mark.parametrize(
    ("q", "country", "name"),
    [("Frankfurt", None, "Frankfurt am Main"), ("Frankfurt", "DE", "Frankfurt am Main"),
     ("Mülheim", "DE", "Mülheim an der Ruhr"), ("Newcastle", "GB", "Newcastle upon Tyne")],
)  # fmt: skip
def test_a_place_is_found_by_the_first_words_of_its_official_name(
    gazetteer: Engine, q: str, country: str | None, name: str
) -> None:
    # GeoNames has no "Frankfurt": the query answered Frankfort, Kentucky (a typo's guess), and with DE, nothing.
    assert locate(gazetteer, q, country).label.startswith(name)


def test_the_country_hint_limits(gazetteer: Engine) -> None:
    with pytest.raises(NotFound, match="in FR"):
        locate(gazetteer, "Vaduz", "FR")
    with pytest.raises(NotFound):
        locate(gazetteer, "9490", "DE")


def read(engine: Engine, q: str, country: str | None = None) -> Match | None:
    """The gazetteer's own reading, which says whether it explained the whole query (the chain stops there)."""
    with engine.connect() as conn:
        return lookup(conn, validate_query(q), country)


@pytest.mark.parametrize(
    ("q", "country", "label"),
    [
        ("F-75008", "FR", "75008 Paris, FR"),
        ("FR-75008", "FR", "75008 Paris, FR"),
        ("f-75008 Paris", "FR", "75008 Paris, FR"),
        ("D-80331", "DE", "80331 München, DE"),
        ("D-80331 München", "DE", "80331 München, DE"),
        ("MC-98000", "MC", "98000 "),
        ("FL-9490 Vaduz", "LI", "9490 Vaduz, LI"),
        ("75008 Paris, FR", "FR", "75008 Paris, FR"),
        ("75008 Paris, fr", "FR", "75008 Paris, FR"),
        ("80331 München, DE", "DE", "80331 München, DE"),
        ("101000 Moscow, RU", "RU", "101000 Москва, RU"),
    ],
)
def test_a_postal_prefix_or_a_trailing_country_code_is_a_postcode_query(
    gazetteer: Engine, q: str, country: str, label: str
) -> None:
    match = read(gazetteer, q)
    assert match is not None and match.complete, match
    assert (match.origin.source, match.origin.country) == ("postcode", country), match
    assert match.origin.label.startswith(label), match


def test_a_trailing_code_sets_the_country_only_when_the_rest_is_found_there(gazetteer: Engine) -> None:
    assert locate(gazetteer, "Paris, US").label.startswith("Paris, TX, US")
    # DE is also Delaware: Dover is nowhere in Germany, so the code is read as part of the address, as before.
    assert locate(gazetteer, "Dover, DE").label.startswith("Dover, DE, US")


# GeoNames' district rows: 75008 "Paris 08" at (48.8763, 2.3183), 69001 "Lyon 01", 13015 "Marseille 15".
ARRONDISSEMENTS = [
    ("Paris 8e", "75008 Paris, FR", (48.8763, 2.3183)),
    ("Paris 8ème", "75008 Paris, FR", (48.8763, 2.3183)),
    ("paris 8eme", "75008 Paris, FR", (48.8763, 2.3183)),
    ("Paris 8ᵉ", "75008 Paris, FR", (48.8763, 2.3183)),
    ("Paris VIIIe", "75008 Paris, FR", (48.8763, 2.3183)),
    ("Paris 8e arrondissement", "75008 Paris, FR", (48.8763, 2.3183)),
    ("Paris 08", "75008 Paris, FR", (48.8763, 2.3183)),
    ("Paris 1er", "75001 Paris, FR", (48.8592, 2.3417)),
    ("Lyon 1er", "69001 Lyon, FR", (45.7676, 4.8345)),
    ("Lyon 3e, France", "69003 Lyon, FR", (45.7612, 4.8518)),
    ("Marseille 15e", "13015 Marseille 15, FR", (43.3722, 5.3539)),
    ("Marseille XVe", "13015 Marseille 15, FR", (43.3722, 5.3539)),
]


@pytest.mark.parametrize(("q", "label", "point"), ARRONDISSEMENTS)
def test_an_arrondissement_is_its_postcode(gazetteer: Engine, q: str, label: str, point: tuple[float, float]) -> None:
    match = read(gazetteer, q)
    assert match is not None and match.complete, match
    origin = match.origin
    # Not a postcode query (the customer typed none), but placed as finely as one.
    assert (origin.source, origin.precision, origin.label) == ("address", "postcode", label), origin
    assert km(origin, *point) < 0.1, origin


def test_arrondissements_beside_a_postcode_or_a_street(gazetteer: Engine) -> None:
    match = read(gazetteer, "75008 Paris 8e")
    assert match is not None and match.complete and match.origin.source == "postcode", match
    match = read(gazetteer, "12 rue de la Paix, Paris 2e")
    assert match is not None and not match.complete, match  # the street is left to a provider
    assert (match.origin.label, match.origin.precision) == ("75002 Paris, FR", "postcode"), match
    # No 25th arrondissement: the city itself.
    assert locate(gazetteer, "Paris 25e").label == "Paris, FR"
    with pytest.raises(NotFound):  # arrondissements are French
        locate(gazetteer, "Paris 8e", "DE")


@pytest.mark.parametrize(
    ("q", "hint"),
    [
        ("France", None),
        ("France", "FR"),
        ("Deutschland", None),
        ("Germany", None),
        ("Russia", None),
        ("russie", None),
        ("Россия", None),
        ("USA", None),
        ("United Kingdom", None),
        ("FR", None),
    ],
)
def test_a_country_name_alone_is_not_a_place(gazetteer: Engine, q: str, hint: str | None) -> None:
    # "France" was La France (South Carolina), "Russia" Russia (Ohio), "Deutschland" UNICEF Deutschland (Köln).
    with pytest.raises(NotFound):
        locate(gazetteer, q, hint)


def test_a_place_named_like_its_country(gazetteer: Engine) -> None:
    assert locate(gazetteer, "Monaco").label == "Monaco, MC"  # a city-state is its own place
    assert locate(gazetteer, "Russia", "US").label == "Russia, OH, US"  # asked for in the US: Ohio's


@pytest.mark.parametrize(
    ("q", "label"),
    [
        ("Saint-Etiene", "Saint-Étienne, Loire, FR"),
        ("Toulouze", "Toulouse, Haute-Garonne, FR"),  # was Toulouzette: a longer name, not a typo
        ("Grenbole", "Grenoble, Isère, FR"),  # two letters swapped
        ("Villeneuve dascq", "Villeneuve-d'Ascq, Nord, FR"),
        ("Nuremburg", "Nürnberg, Regierungsbezirk Mittelfranken, DE"),  # the alias Nuremberg, not Nuremberg PA
    ],
)
def test_the_fuzzy_fallback_corrects_typos(gazetteer: Engine, q: str, label: str) -> None:
    origin = locate(gazetteer, q)
    assert (origin.label, origin.precision) == (label, "place centroid (approximate)"), origin


def test_typo_budget() -> None:
    assert typo_budget("vaduz") == 0 and typo_budget("toulouze") == 1 and typo_budget("saintetienne") == 2


@pytest.mark.parametrize(("q", "hint"), [("France", "US"), ("Germany", "US"), ("Deutschland", "DE")])
def test_the_fuzzy_fallback_does_not_take_another_name(gazetteer: Engine, q: str, hint: str | None) -> None:
    # La France, New Germany, UNICEF Deutschland: names that contain the query, not misspellings of it.
    with pytest.raises(NotFound):
        locate(gazetteer, q, hint)


def test_nothing_found_is_not_found(gazetteer: Engine) -> None:
    for q in ("zzyzx qwerty", "00000", "Nowhere-sur-Rien"):
        with pytest.raises(NotFound, match="no postcode, place or address matches"):
            locate(gazetteer, q)


def test_a_country_the_gazetteer_lacks_is_said(gazetteer: Engine) -> None:
    # "no postcode, place or address matches '1000' in BE" read as if Brussels did not exist.
    with pytest.raises(NotFound, match="the gazetteer has no postcodes or places for BE"):
        locate(gazetteer, "1000", "BE")
    with pytest.raises(NotFound, match="no postcode, place or address matches"):
        locate(gazetteer, "Nowhere-sur-Rien", "FR")


def test_queries_are_validated() -> None:
    assert validate_query("  75008   Paris ") == "75008 Paris"
    assert validate_query("７５００８") == "75008"  # full-width digits from a phone keyboard
    with pytest.raises(InvalidParameter, match="empty"):
        validate_query("   ")
    with pytest.raises(InvalidParameter, match=str(MAX_QUERY_LENGTH)):
        validate_query("9" * (MAX_QUERY_LENGTH + 1))


@pytest.mark.parametrize("q", ["75008\u200b", "\ufeff75008", "75\u200d008"])
def test_invisible_characters_pasted_with_a_postcode_are_dropped(gazetteer: Engine, q: str) -> None:
    # A zero-width space or a byte order mark made "75008" an address, sent to a provider.
    origin = locate(gazetteer, q)
    assert (origin.source, origin.label) == ("postcode", "75008 Paris, FR"), origin


@pytest.mark.parametrize("q", ["75008\x00", "\x00", "Paris\x07", "75008 \udcff"])
def test_control_characters_are_a_422_not_a_500(gazetteer: Engine, q: str) -> None:
    # A NUL (or a non-UTF-8 byte of a shell argument, a lone surrogate) used to reach PostgreSQL: DataError, 500.
    with pytest.raises(InvalidParameter) as exc:
        locate(gazetteer, q)
    assert exc.value.parameter == "q"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("48.8738, 2.2950", (48.8738, 2.295)),
        ("48.8738 2.2950", (48.8738, 2.295)),
        ("-33.86;151.21", (-33.86, 151.21)),
        ("48°52'26\"N 2°17'42\"E", (48.873889, 2.295)),
        ("33°51′S 151°12′E", (-33.85, 151.2)),
        (validate_query("48°52′25.68″N 2°17′42″E"), (48.8738, 2.295)),  # NFKC makes ″ two ′
        ("48.87 N, 2.31 W", (48.87, -2.31)),
        ("-48.87 2.31E", (-48.87, 2.31)),  # a sign on one, a hemisphere on the other: each says it once
        ("48°52'10''N 2°20'15''E", (48.869444, 2.3375)),  # seconds as two primes (a 404 for a while)
        (validate_query("48°52’10’’N 2°20’15’’E"), (48.869444, 2.3375)),
        # Text, not coordinates: postcodes, addresses, whole numbers, decimal commas, three numbers.
        ("75008", None),
        ("W1 1NS", None),
        ("N1 9GU", None),
        ("1.5 rue de Rivoli", None),
        ("59, 30", None),
        ("48,87 2,31", None),
        ("48.8738, 2.2950, 100", None),
    ],
)
def test_coordinates_typed_as_text(q: str, expected: tuple[float, float] | None) -> None:
    point = parse_coordinates(q)
    if expected is None:
        assert point is None
    else:
        assert point is not None and point == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("95.0, 2.0", "latitude must be within ±90"),
        ("95°N 10°E", "latitude must be within ±90"),  # geopy's own refusal: it was "not found"
        ("48°52'N 200°E", "longitude ±180"),  # geopy wrapped it to 160°W
        ("-48.87S 2.31E", "gives the latitude both a sign and a hemisphere (S)"),  # it was 48.87°N, in Paris
        ("48.87N -2.31W", "gives the longitude both a sign and a hemisphere (W)"),
    ],
)
def test_coordinates_off_the_globe_or_contradicting_name_the_parameter(q: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse_coordinates(q)
    assert exc.value.parameter == "q" and message in str(exc.value), str(exc.value)


def test_postcode_candidates_prefer_the_last_code() -> None:
    assert postcode_candidates("75008", "FR") == [("75008", "FR")]
    assert postcode_candidates("SW1A 1AA", "GB") == [("SW1A", "GB")]
    assert postcode_candidates("1234 Main St, 36067", None)[0] == ("36067", None)
    # A letter-digit token is not a British postcode without a hint unless it is a whole one.
    assert postcode_candidates("Bâtiment B2, Paris", None) == []


def test_reverse_labels_coordinates_with_the_nearest_postcode(gazetteer: Engine) -> None:
    with gazetteer.connect() as conn:
        origin = reverse(conn, 48.8738, 2.2950)  # the Arc de Triomphe
    assert (origin.source, origin.geocoder, origin.country) == ("coordinates", None, "FR")
    assert origin.label.split()[0].startswith(("7500", "7501", "7511")), origin.label
    assert (origin.lat, origin.lon) == (48.8738, 2.2950)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (50.1155, 8.6842),  # Frankfurt: GeoNames files US military codes (09039 APO AE) at overseas bases
        (49.4333, 7.6),  # Kaiserslautern (09012 APO AE)
    ],
)
def test_reverse_does_not_label_europe_with_a_us_military_code(gazetteer: Engine, lat: float, lon: float) -> None:
    with gazetteer.connect() as conn:
        origin = reverse(conn, lat, lon)
    assert origin.country == "DE" and "APO" not in origin.label, origin


def test_reverse_at_sea_is_labelled_with_the_coordinates(gazetteer: Engine) -> None:
    # Mid-Atlantic: the nearest postcode is thousands of km away and says nothing about where this is.
    with gazetteer.connect() as conn:
        origin = reverse(conn, 0.0, -30.0)
    assert (origin.label, origin.country) == ("0.00000, -30.00000", None), origin
    with gazetteer.connect() as conn:
        # 11 km off Nice, in French waters: still labelled by its postcode. (10 km off Menton, as this test had
        # it, is Italian water: a French postcode no longer labels it, see the next test.)
        assert reverse(conn, 43.60, 7.27).country == "FR"


@pytest.mark.parametrize(
    ("lat", "lon", "country"),
    [
        # No Belgian postcodes loaded: the nearest were a French village's, 62 km away (past 30 km now).
        (50.8467, 4.3525, None),  # Brussels; its zone is Belgium's, Luxembourg's and the Netherlands'
        # Across the Oder from Frankfurt (Oder): the nearest postcode is German and 2 km away, the zone Poland's.
        (52.3483, 14.5606, "PL"),  # Słubice
        (48.0, -5.5, None),  # 48 km off the Île de Sein: at sea, past 30 km
        (43.70, 7.60, None),  # off Menton, east of the border at sea: Italian water (Europe/Rome: IT, SM, VA)
    ],
)
def test_reverse_does_not_label_a_point_with_a_postcode_of_elsewhere(
    gazetteer: Engine, lat: float, lon: float, country: str | None
) -> None:
    with gazetteer.connect() as conn:
        origin = reverse(conn, lat, lon)
    assert (origin.label, origin.country) == (f"{lat:.5f}, {lon:.5f}", country), origin


def test_reverse_without_a_gazetteer_labels_the_coordinates(scratch_db: ScratchDatabase) -> None:
    with scratch_db.engine.connect() as conn:
        origin = reverse(conn, 1.5, 2.25)
    assert origin.label == "1.50000, 2.25000" and origin.country is None


def test_a_postcode_load_refreshes_the_place_index(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    from ingest.postcodes import load_file

    header = "country_code,zipcode,place,state,state_code,province,province_code,community,community_code,"
    header += "latitude,longitude\n"
    first = tmp_path / "first.csv"
    first.write_text(header + "FR,99990,Saint-Testville,Test,01,Test,01,,,45.0,5.0\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text(header + "FR,99991,Autreville,Test,01,Test,01,,,46.0,6.0\n", encoding="utf-8")
    load_file(scratch_db.engine, first)
    assert locate(scratch_db.engine, "st testville").label == "Saint-Testville, Test, FR"
    load_file(scratch_db.engine, second)
    with pytest.raises(NotFound):
        locate(scratch_db.engine, "st testville")
    assert locate(scratch_db.engine, "AUTREVILLE").lat == 46.0


def test_a_postcodes_point_leaves_out_rows_far_from_the_others(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """GeoNames files some German codes (a company's own) at several seats: their mean put 42895 (Remscheid)
    79 km away. The rows far from the median are left out."""
    from ingest.postcodes import load_file

    header = "country_code,zipcode,place,state,state_code,province,province_code,community,community_code,"
    header += "latitude,longitude\n"
    rows = [
        "DE,42895,Finanzamt Remscheid,NRW,NW,,,,,51.18,7.19",
        "DE,42895,Kistler Remscheid,NRW,NW,,,,,51.19,7.20",
        "DE,42895,Stadtwerke Remscheid,NRW,NW,,,,,51.17,7.18",
        "DE,42895,Vaillant Zentrale,Bayern,BY,,,,,48.14,11.58",  # filed in Munich
    ]
    path = tmp_path / "de.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    load_file(scratch_db.engine, path)
    origin = locate(scratch_db.engine, "42895", "DE")
    assert km(origin, 51.18, 7.19) < 3, origin


def test_a_namesake_or_a_shared_code_where_the_locator_has_places_wins(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """Birmingham (GB) lost to Birmingham, Alabama, whose ZIP codes outnumber GB's outward codes: a namesake
    in a country where the locator has places now comes first, as a shared postcode's country already did
    (that count, a scan of every location, now stops early on an index: 0.3-1.4 s at 1M places before)."""
    from ingest.postcodes import load_file
    from ingest.publish import ingest_file

    header = "country_code,zipcode,place,state,state_code,province,province_code,community,community_code,"
    header += "latitude,longitude\n"
    rows = {
        "gb": ["GB,B1,Birmingham,England,ENG,West Midlands,,,,52.48,-1.90"],
        "us": [f"US,3520{n},Birmingham,Alabama,AL,Jefferson,,,,33.52,-86.80" for n in range(5)],
        "fr": ["FR,40210,Labouheyre,Nouvelle-Aquitaine,75,Landes,40,,,44.21,-0.92"],
        "de": ["DE,40210,Düsseldorf,Nordrhein-Westfalen,NW,,,,,51.22,6.78"],
    }
    for cc, lines in rows.items():
        path = tmp_path / f"{cc}.csv"
        path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
        load_file(scratch_db.engine, path)
    assert locate(scratch_db.engine, "Birmingham").country == "US"  # no places anywhere: the most postcodes
    feed = tmp_path / "places.csv"
    feed.write_text(
        "id,name,kind,country,lat,lon,opening_hours\n"
        "gb-1,Bullring,store,GB,52.477,-1.894,Mo-Sa 09:00-20:00\n"
        "de-1,Kö,store,DE,51.222,6.779,Mo-Sa 10:00-20:00\n",
        encoding="utf-8",
    )
    assert ingest_file(scratch_db.engine, feed, source="t").published
    assert locate(scratch_db.engine, "Birmingham").country == "GB"
    assert locate(scratch_db.engine, "40210").country == "DE"


@pytest.mark.postcodes
def test_geocode_endpoint(server: Server) -> None:
    def get(path: str) -> tuple[int, str, dict[str, object]]:
        try:
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                return response.status, response.headers["content-type"], json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["content-type"], json.loads(exc.read())

    status, _, body = get("/v1/geocode?" + urllib.parse.urlencode({"q": "st etienne", "country": "FR"}))
    assert status == 200, body
    assert (body["source"], body["geocoder"], body["precision"]) == ("address", "gazetteer", "place centroid")
    assert str(body["label"]).startswith("Saint-Étienne")
    status, content_type, body = get("/v1/geocode?" + urllib.parse.urlencode({"q": "zzyzx qwerty"}))
    assert (status, content_type, body["status"]) == (404, "application/problem+json", 404)
    assert "zzyzx qwerty" in str(body["detail"])
    status, _, body = get("/v1/geocode?q=" + "9" * (MAX_QUERY_LENGTH + 1))
    assert status == 422


@pytest.mark.postcodes
def test_a_city_code_is_placed_at_its_district_not_the_city_centre(engine: Engine) -> None:
    # GeoNames files 75008 under "Paris" (the city centre) and "Paris 08": the 8th arrondissement is where it is.
    with engine.connect() as conn:
        origin = geocode(conn, "75008", "FR")
    assert geodesic((origin.lat, origin.lon), (48.8763, 2.3183)).meters < 100
    assert origin.precision == "postcode"


@pytest.mark.parametrize(
    "q", ["Rome, Italy", "Dublin, Ireland", "Toronto, Canada", "Madrid Spain", "Brussels, Belgium", "Canada"]
)
def test_a_country_the_gazetteer_does_not_hold_is_read_as_a_country(gazetteer: Engine, q: str) -> None:
    """Not as a town: "Rome, Italy" was Italy, Texas, "Dublin, Ireland" a farm of Orkney, "Canada" a village of
    Hampshire, thousands of km from where the customer is."""
    with pytest.raises(NotFound):
        locate(gazetteer, q)


def test_a_us_state_named_like_a_country_stays_the_state(gazetteer: Engine) -> None:
    assert locate(gazetteer, "Atlanta, Georgia").country == "US"


@pytest.mark.parametrize(
    ("rows", "q", "expected"),
    [
        # GeoNames' full-code files (GB_full): the inward code was dropped and never matched.
        (["GB,SW1A 1AA,Westminster,England,ENG,,,,,51.5010,-0.1416"], "SW1A 1AA", (51.5010, -0.1416)),
        (["GB,SW1A 1AA,Westminster,England,ENG,,,,,51.5010,-0.1416"], "10 Downing Street, London SW1A 1AA",
         (51.5010, -0.1416)),
        # A Dutch code without its space, a whole Canadian one: 404 unless country= was given.
        (["NL,1012,Amsterdam,Noord-Holland,07,,,,,52.3731,4.8922"], "1012AB", (52.3731, 4.8922)),
        (["CA,K1A,Ottawa,Ontario,ON,,,,,45.4166,-75.7000"], "K1A 0B1", (45.4166, -75.7000)),
        # A ZIP+4 is American, whichever country has more places under its five digits.
        (["DE,10115,Berlin,Berlin,BE,,,,,52.5323,13.3846", "DE,10115,Berlin Mitte,Berlin,BE,,,,,52.5323,13.3846",
          "US,10115,New York,New York,NY,,,,,40.8109,-73.9638"], "10115-1234", (40.8109, -73.9638)),
    ],
)  # fmt: skip
def test_postcodes_typed_whole_are_found_without_a_country(
    scratch_db: ScratchDatabase, tmp_path: Path, rows: list[str], q: str, expected: tuple[float, float]
) -> None:
    from ingest.postcodes import load_file

    header = "country_code,zipcode,place,state,state_code,province,province_code,community,community_code,"
    path = tmp_path / "codes.csv"
    path.write_text(header + "latitude,longitude\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load_file(scratch_db.engine, path, allow_removals=True)
    origin = locate(scratch_db.engine, q)
    assert km(origin, *expected) < 1, origin


def test_a_postcode_of_another_shape_does_not_take_a_namesake_town(gazetteer: Engine) -> None:
    """"H2X 1Y4, Montréal" (no Canadian codes loaded) was Montréal in the Yonne, 5,800 km off."""
    with pytest.raises(NotFound):
        locate(gazetteer, "H2X 1Y4, Montréal")
    assert locate(gazetteer, "75999 Paris").country == "FR"  # a French code the gazetteer lacks: still Paris
