"""Support lines: hours in a named timezone, available now, next available."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from locator.errors import InvalidParameter
from locator.support import SupportFileError, contacts, load_channels, read_channels
from tests.conftest import ROOT, ScratchDatabase, Server
from tests.locator.test_api import get

MOSCOW = ZoneInfo("Europe/Moscow")


def by_id(answer: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in answer["contacts"]}  # type: ignore[index, union-attr]


def test_moscow_phone_line_weekdays_9_to_20_moscow_time(engine: Engine) -> None:
    tuesday_evening = datetime(2026, 12, 1, 19, 30, tzinfo=MOSCOW)
    lines = by_id(contacts(engine, "RU", tuesday_evening))
    assert lines["ru-phone"]["available_now"] is True
    assert lines["ru-phone"]["available_until"] == "2026-12-01T20:00:00+03:00"
    assert lines["ru-chat"]["available_now"] is True and lines["ru-chat"]["available_until"] is None
    later = by_id(contacts(engine, "RU", datetime(2026, 12, 1, 20, 30, tzinfo=MOSCOW)))
    assert later["ru-phone"]["available_now"] is False
    assert later["ru-phone"]["next_available"] == "2026-12-02T09:00:00+03:00"
    # The same instant seen from Paris: the Moscow line's hours do not move with the caller.
    paris = datetime(2026, 12, 1, 17, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert by_id(contacts(engine, "RU", paris))["ru-phone"]["available_now"] is True


def test_weekend_and_holidays(engine: Engine) -> None:
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=MOSCOW)
    assert by_id(contacts(engine, "RU", saturday))["ru-phone"]["next_available"] == "2026-12-07T09:00:00+03:00"
    new_year = datetime(2027, 1, 4, 12, 0, tzinfo=MOSCOW)  # Russian New Year holidays run to 8 January
    assert by_id(contacts(engine, "RU", new_year))["ru-phone"]["available_now"] is False
    bastille = datetime(2026, 7, 14, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    lines = by_id(contacts(engine, "FR", bastille))
    assert lines["fr-phone"]["available_now"] is False and lines["fr-chat"]["available_now"] is True


def test_global_lines_and_product_filter(engine: Engine) -> None:
    lines = by_id(contacts(engine, "FR"))
    assert "global-chat-en" in lines and "ru-phone" not in lines
    assert "fr-phone-business" not in by_id(contacts(engine, "FR", product="iphone"))
    assert "fr-phone-business" in by_id(contacts(engine, "FR", product="mac"))
    with pytest.raises(InvalidParameter):
        contacts(engine, "France")


def test_endpoint(server: Server) -> None:
    status, _, body = get(server, "/v1/support/contacts?country=ru&at=2026-12-01T10:00:00%2B03:00")
    assert status == 200 and body["country"] == "RU"
    assert by_id(body)["ru-phone"]["available_now"] is True
    status, _, body = get(server, "/v1/support/contacts?country=RUS")
    assert status == 422 and "country" in body["detail"]


def test_an_unknown_country_is_a_422_naming_the_parameter(engine: Engine, server: Server) -> None:
    """Any two letters passed: `ZZ` answered 200 with the lines serving every country, as if it were one."""
    for code in ("ZZ", "xx", "UK"):
        with pytest.raises(InvalidParameter) as caught:
            contacts(engine, code)
        assert caught.value.parameter == "country"
        status, _, body = get(server, f"/v1/support/contacts?country={code}")
        assert status == 422 and body["parameter"] == "country" and code.upper() in body["detail"], body
    # A country with no line of its own is still one: the lines serving every country answer.
    status, _, body = get(server, "/v1/support/contacts?country=DE")
    assert status == 200 and set(by_id(body)) == {"global-chat-en"}, body


def test_every_invalid_parameter_answer_has_one_shape(server: Server) -> None:
    """`parameter` and `errors` in both 422s (ours and the framework's), in words, never a regular expression;
    the GB hint only for UK; a NUL and a '+' sent as a space in `at` are named."""
    cases = {
        "country=RUS": "country",
        "country=": "country",
        "": "country",  # missing
        "country=ZZ": "country",
        "country=RU&at=2027-01-12T10:00:00%2B03:00%00": "at",
        "country=RU&at=2027-01-12T10:00:00+03:00": "at",
    }
    for query, parameter in cases.items():
        status, _, body = get(server, f"/v1/support/contacts?{query}")
        assert status == 422 and body["parameter"] == parameter, (query, body)
        assert body["errors"] and body["errors"][0]["parameter"] == parameter, (query, body)
        assert "pattern" not in body["detail"] and "^[" not in body["detail"], (query, body)
    assert "GB" not in get(server, "/v1/support/contacts?country=ZZ")[2]["detail"]
    assert "GB" in get(server, "/v1/support/contacts?country=UK")[2]["detail"]
    assert "%2B" in get(server, "/v1/support/contacts?country=RU&at=2027-01-12T10:00:00+03:00")[2]["detail"]


def test_bad_support_file_names_the_line(tmp_path: Path) -> None:
    source = (ROOT / "data" / "support.csv").read_text(encoding="utf-8")
    path = tmp_path / "support.csv"
    path.write_text(source.replace("Mo-Fr 09:00-20:00; PH off", "Mo-Xy 09:00"), encoding="utf-8")
    with pytest.raises(SupportFileError, match="line 6, column opening_hours"):
        read_channels(path)


def test_demo_lines_around_a_dst_change_and_before_opening(server: Server) -> None:
    # 08:30 in Moscow is 05:30 UTC: closed, and available at 09:00 Moscow time that day (+03:00).
    status, _, body = get(server, "/v1/support/contacts?country=RU&at=2026-12-01T05:30:00Z")
    assert status == 200, body
    phone = by_id(body)["ru-phone"]
    assert (phone["available_now"], phone["next_available"]) == (False, "2026-12-01T09:00:00+03:00")
    # Saturday evening before Paris springs forward: next available on Monday, in summer time.
    status, _, body = get(server, "/v1/support/contacts?country=FR&at=2026-03-28T19:00:00%2B01:00")
    lines = by_id(body)
    assert lines["fr-phone"]["next_available"] == "2026-03-30T09:00:00+02:00"
    assert lines["fr-chat"]["available_now"] is True and lines["fr-chat"]["next_available"] is None


def _support_file(tmp_path: Path, old: str, new: str) -> Path:
    source = (ROOT / "data" / "support.csv").read_text(encoding="utf-8")
    assert old in source
    path = tmp_path / "support.csv"
    path.write_text(source.replace(old, new), encoding="utf-8")
    return path


def test_an_unquoted_comma_in_the_hours_is_rejected(tmp_path: Path) -> None:
    # The hours after the comma went to no column and were dropped: the line was shown closed on Saturdays.
    path = _support_file(tmp_path, '"Mo-Fr 09:00-20:00; PH off"', "Mo-Fr 09:00-20:00, Sa 10:00-14:00")
    with pytest.raises(SupportFileError, match=r"line 6: .*' Sa 10:00-14:00'"):
        read_channels(path)


def test_a_nul_byte_is_rejected_by_line_and_column(tmp_path: Path) -> None:
    # It reached the database, which refused the whole file without saying where.
    path = _support_file(tmp_path, "Chat en ligne", "Chat\x00en ligne")
    with pytest.raises(SupportFileError, match="line 4, column label"):
        read_channels(path)


def test_an_unassigned_country_code_names_the_country_column(tmp_path: Path) -> None:
    # Any two letters were taken: a line for `UK` (the UK is GB) was loaded, and no caller ever saw it.
    for code in ("ZZ", "XX", "UK"):
        path = _support_file(tmp_path, "ru-phone,RU,", f"ru-phone,{code},")
        with pytest.raises(SupportFileError, match=f"line 6, column country: '{code}' is not an ISO 3166-1"):
            read_channels(path)
    assert read_channels(_support_file(tmp_path, "ru-phone,RU,", "ru-phone,ru,"))[4].country == "RU"
    assert read_channels(_support_file(tmp_path, "ru-phone,RU,", "ru-phone,XK,"))[4].country == "XK"  # Kosovo


def test_an_unknown_timezone_names_the_timezone_column(tmp_path: Path) -> None:
    path = _support_file(tmp_path, "Europe/Moscow,RU-MOW", "Europe/Moskva,RU-MOW")
    with pytest.raises(SupportFileError, match="line 6, column timezone: 'Europe/Moskva'"):
        read_channels(path)


def test_two_ingests_at_once_both_succeed(scratch_db: ScratchDatabase) -> None:
    # The second one's DELETE did not see the rows the first one inserted, and its inserts hit the primary key.
    demo = ROOT / "data" / "support.csv"
    load_channels(scratch_db.engine, demo)
    errors: list[Exception] = []

    def second() -> None:
        try:
            load_channels(scratch_db.engine, demo)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    with scratch_db.engine.begin() as first:
        first.execute(text("DELETE FROM support_channels"))
        thread = threading.Thread(target=second)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the second ingest waits for the first
            with scratch_db.engine.connect() as probe:
                if probe.execute(text(waiting)).scalar():
                    break
            time.sleep(0.05)
        first.execute(
            text(
                "INSERT INTO support_channels (id, country, channel, label, contact, timezone, hours_raw, hours)"
                " VALUES ('fr-chat', 'FR', 'chat', 'Chat', 'https://example.com', 'Europe/Paris', '24/7', '24/7')"
            )
        )
    thread.join(timeout=30)
    assert not errors
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM support_channels")).scalar() == 8


def test_the_openapi_schema_documents_the_answer(engine: Engine) -> None:
    from locator.api import app

    schema = app.openapi()
    ok = schema["paths"]["/v1/support/contacts"]["get"]["responses"]["200"]["content"]["application/json"]
    answer = schema["components"]["schemas"][ok["schema"]["$ref"].rsplit("/", 1)[-1]]
    contact = schema["components"]["schemas"][answer["properties"]["contacts"]["items"]["$ref"].rsplit("/", 1)[-1]]
    body = contacts(engine, "RU", datetime(2026, 12, 1, 8, 30, tzinfo=MOSCOW))
    assert set(answer["required"]) == set(body)
    for line in body["contacts"]:
        assert set(contact["required"]) == set(line), line


def test_an_empty_file_takes_no_line_away(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Unless ops say so: then it removes every line, as an empty location feed retires its source."""
    from locator.support import COLUMNS

    load_channels(scratch_db.engine, ROOT / "data" / "support.csv")
    empty = tmp_path / "support.csv"
    empty.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(SupportFileError, match="no support lines; nothing changed"):
        load_channels(scratch_db.engine, empty)
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM support_channels")).scalar_one() == 8
    assert load_channels(scratch_db.engine, empty, allow_removals=True) == 0
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM support_channels")).scalar_one() == 0


def test_hours_the_line_cannot_honour_are_warned_by_line(tmp_path: Path) -> None:
    """`PH` on a line serving every country has no holidays to follow: said, not silently ignored."""
    source = (ROOT / "data" / "support.csv").read_text(encoding="utf-8")
    line = next(n for n, text in enumerate(source.splitlines(), 1) if ",*," in text)
    path = tmp_path / "support.csv"
    lines = source.splitlines()
    row = lines[line - 1].split(",")
    row[lines[0].split(",").index("opening_hours")] = '"Mo-Fr 08:00-18:00; PH off"'
    lines[line - 1] = ",".join(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    heard: list[str] = []
    read_channels(path, heard.append)
    assert any(f"line {line}, column opening_hours" in m and "no country" in m for m in heard), heard


def test_a_line_says_why_it_is_not_available(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Hours 'on appointment' (state unknown) answered "not available, never again"; a dated closure's comment
    was nowhere: the state and its comment are in the answer, as a place's are."""
    path = tmp_path / "support.csv"
    path.write_text(
        "id,country,channel,label,contact,languages,products,timezone,region,opening_hours\n"
        'fr-rdv,FR,callback,Rappel,+33 1,fr,,Europe/Paris,,"Mo-Fr 09:00-18:00 ""sur rendez-vous"""\n'
        'fr-works,FR,phone,Ligne,+33 2,fr,,Europe/Paris,,"Mo-Fr 09:00-18:00; 2027Mar22-2027Mar26 off ""travaux"""\n',
        encoding="utf-8",
    )
    load_channels(scratch_db.engine, path)
    lines = by_id(contacts(scratch_db.engine, "FR", datetime(2027, 3, 25, 12, tzinfo=ZoneInfo("Europe/Paris"))))
    assert lines["fr-rdv"]["state"] == "unknown" and lines["fr-rdv"]["status_comment"] == "sur rendez-vous"
    assert lines["fr-rdv"]["available_now"] is False
    works = lines["fr-works"]
    assert works["state"] == "closed" and works["status_comment"] == "travaux" and works["available_now"] is False
    assert works["next_available"] == "2027-03-29T09:00:00+02:00"
    # Closed (the evening): a line "sur rendez-vous" is never available, so it names no time it will be (the
    # start of its unknown hours was named, which the line at that time contradicted).
    evening = by_id(contacts(scratch_db.engine, "FR", datetime(2027, 3, 25, 20, tzinfo=ZoneInfo("Europe/Paris"))))
    assert evening["fr-rdv"]["state"] == "closed" and evening["fr-rdv"]["next_available"] is None


def test_a_line_on_the_official_calendar_follows_the_moves_of_days_off(engine: Engine) -> None:
    """The demo's Moscow phone line works the official calendar (`calendar=official`): 31 Dec 2026 is a day off
    moved by decree (from Saturday 3 Jan), Saturday 20 Feb 2027 a working day in place of Monday 22 Feb. `PH`
    alone knows neither (they are no public holidays), as the e-mail line, on its hours as written, shows."""
    at = datetime(2026, 12, 31, 12, tzinfo=MOSCOW)
    phone = by_id(contacts(engine, "RU", at))["ru-phone"]
    assert phone["calendar"] == "official"
    # In the line's language, as its label is.
    assert phone["available_now"] is False and phone["status_comment"] == "выходной день (перенос)"
    assert phone["next_available"] == "2027-01-11T09:00:00+03:00"  # after the New Year holidays
    saturday = by_id(contacts(engine, "RU", datetime(2027, 2, 20, 19, 59, tzinfo=MOSCOW)))["ru-phone"]
    assert saturday["available_now"] is True and saturday["available_until"] == "2027-02-20T20:00:00+03:00"
    monday = by_id(contacts(engine, "RU", datetime(2027, 2, 22, 9, 30, tzinfo=MOSCOW)))["ru-phone"]
    assert monday["available_now"] is False and monday["next_available"] == "2027-02-24T09:00:00+03:00"
    email = by_id(contacts(engine, "RU", at))["ru-email"]
    assert email["calendar"] is None and email["available_now"] is True


@pytest.mark.parametrize(
    ("country", "calendar", "message"),
    [("RU", "production", "column calendar: 'production' is not one of"), ("*", "official", "column calendar: a line")],
)
def test_a_bad_calendar_names_the_column(tmp_path: Path, country: str, calendar: str, message: str) -> None:
    path = tmp_path / "support.csv"
    path.write_text(
        "id,country,channel,label,contact,languages,products,timezone,region,opening_hours,calendar\n"
        f'x,{country},phone,X,+7 1,ru,,Europe/Moscow,,"Mo-Fr 09:00-20:00",{calendar}\n',
        encoding="utf-8",
    )
    with pytest.raises(SupportFileError, match=f"line 2, {message}"):
        read_channels(path)


HEADER = "id,country,channel,label,contact,timezone,opening_hours"
LINE = "fr-phone,FR,phone,Assistance,+33 1 00 00 00 00,Europe/Paris,Mo-Fr 09:00-18:00"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Read as a dict, the last of two columns won without a word.
        (f"{HEADER},opening_hours\n{LINE},24/7\n", r"line 1: column\(s\) opening_hours named twice"),
        # A quote never closed: the line loaded; with lines after it, the error named the last one.
        (f'{HEADER}\n{LINE[:-17]}"Mo-Fr 09:00-18:00\n', r"line 2: a quoted value in this row is never closed"),
        (f'{HEADER}\n{LINE[:-17]}"Mo-Fr 09:00-18:00\nb,FR,chat,Chat,x,Europe/Paris,24/7\n',
         r"line 2: a quoted value in this row is never closed"),
        (f'{HEADER}\n{LINE}\n{LINE[:-17]}"Mo-Fr 09:00-18:00\nb,FR,chat,Chat,x,Europe/Paris,24/7"\n',
         r"line 3, column opening_hours: a value spanning lines"),
        # Lines after a blank one: the reader skipped it without counting, and named the line above.
        (f"{HEADER}\n{LINE}\n\nb,FR,chat,Chat,x,Europe/Paris,Mo-Xy 10:00\n", r"line 4, column opening_hours"),
        (f"{HEADER}\n{LINE}\n\n{LINE}\n", r"duplicate id\(s\) fr-phone \(lines 2, 4\)"),
        (f'{HEADER}\n\n{LINE[:-17]}"Mo-Fr 09:00-18:00\n', r"line 3: a quoted value in this row is never closed"),
        # Where the duplicates are.
        (f"{HEADER}\n{LINE}\nb,FR,chat,Chat,x,Europe/Paris,24/7\n{LINE}\n",
         r"duplicate id\(s\) fr-phone \(lines 2, 4\)"),
    ],
)  # fmt: skip
def test_a_support_file_read_wrong_is_refused_by_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "support.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SupportFileError, match=message):
        read_channels(path)


def test_a_support_file_that_cannot_be_read_names_why(tmp_path: Path) -> None:
    with pytest.raises(SupportFileError, match="cannot read the file"):
        read_channels(tmp_path)  # a directory: a traceback it was
    with pytest.raises(SupportFileError, match="cannot read the file"):
        read_channels(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(f"{HEADER}\n{LINE}\n{LINE.replace('Assistance', 'Réseau')}\n".encode("latin-1"))
    with pytest.raises(SupportFileError, match=r"not UTF-8 text \(line 3\)"):  # a byte offset of a chunk it was
        read_channels(latin)


def test_a_column_nothing_reads_is_a_warning(tmp_path: Path) -> None:
    # A misspelt `calender` left a Russian line without its official calendar, without a word.
    path = tmp_path / "support.csv"
    path.write_text(f"{HEADER},calender\n{LINE},official\n", encoding="utf-8")
    heard: list[str] = []
    assert len(read_channels(path, heard.append)) == 1
    assert any("column 'calender' is not read" in message for message in heard), heard


def test_a_file_with_far_fewer_lines_is_refused_unless_removals_are_allowed(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A one-line file replaced every country's support lines, exit 0."""
    demo = ROOT / "data" / "support.csv"
    assert load_channels(scratch_db.engine, demo) == 8
    short = tmp_path / "support.csv"
    short.write_text("\n".join(demo.read_text(encoding="utf-8").splitlines()[:2]) + "\n", encoding="utf-8")
    with pytest.raises(SupportFileError, match="would remove 7 of the 8 support lines loaded"):
        load_channels(scratch_db.engine, short)
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM support_channels")).scalar_one() == 8
    assert load_channels(scratch_db.engine, short, allow_removals=True) == 1


def test_the_removal_guard_counts_the_lines_removed_not_the_lines_left(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """A file of one country's lines, as many as every country's, replaced every other country's lines: the
    guard compared the counts alone. So did a file whose ids were all renamed."""
    demo = ROOT / "data" / "support.csv"
    load_channels(scratch_db.engine, demo)
    header = demo.read_text(encoding="utf-8").splitlines()[0]
    russian = "ru-phone-{n},RU,phone,Ligne {n},+7 800 000 00 0{n},ru,,Europe/Moscow,,Mo-Fr 09:00-18:00,"
    only_ru = tmp_path / "support.csv"
    only_ru.write_text("\n".join([header, *(russian.format(n=n) for n in range(9))]) + "\n", encoding="utf-8")
    with pytest.raises(SupportFileError, match=r"would remove 8 of the 8 support lines loaded .*fr-chat"):
        load_channels(scratch_db.engine, only_ru)
    with scratch_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM support_channels WHERE country = 'FR'")).scalar_one() == 4
    # One line of eight taken away is within the guard.
    lines = demo.read_text(encoding="utf-8").splitlines()
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert load_channels(scratch_db.engine, fewer) == 7


def test_products_and_languages_are_read_as_a_location_feed_reads_them(
    scratch_db: ScratchDatabase, tmp_path: Path
) -> None:
    """`iphone, mac` was one product no filter could name, and `Apple Watch` was kept with its space: a line
    for iPhone customers was hidden from them. The filter takes what the nearest search's takes."""
    path = tmp_path / "support.csv"
    path.write_text(
        "id,country,channel,label,contact,languages,products,timezone,region,opening_hours\n"
        'fr-a,FR,phone,A,+33 1,"fr, en","iphone, mac",Europe/Paris,,24/7\n'
        "fr-b,FR,phone,B,+33 2,fr|en,Apple Watch;AirPods Pro;Écouteurs,Europe/Paris,,24/7\n",
        encoding="utf-8",
    )
    heard: list[str] = []
    load_channels(scratch_db.engine, path, heard.append)
    assert any("line 3, column products: read 'Apple Watch' as 'apple-watch'" in m for m in heard), heard
    lines = by_id(contacts(scratch_db.engine, "FR"))
    assert lines["fr-a"]["products"] == ["iphone", "mac"] and lines["fr-a"]["languages"] == ["en", "fr"]
    assert lines["fr-b"]["products"] == ["airpods-pro", "apple-watch", "écouteurs"]
    assert lines["fr-b"]["languages"] == ["en", "fr"]
    for product, expected in [("iphone", {"fr-a"}), ("apple-watch", {"fr-b"}), ("Écouteurs", {"fr-b"}),
                              ("mac,airpods-pro", {"fr-a", "fr-b"}), ("ipad", set())]:  # fmt: skip
        assert set(by_id(contacts(scratch_db.engine, "FR", product=product))) == expected, product
    with pytest.raises(InvalidParameter, match="product"):
        contacts(scratch_db.engine, "FR", product="apple watch")


def test_the_endpoint_reads_products_as_the_nearest_search_does(server: Server) -> None:
    status, _, body = get(server, "/v1/support/contacts?country=FR&product=mac&product=ipad")
    assert status == 200 and "fr-phone-business" in by_id(body)
    status, _, body = get(server, "/v1/support/contacts?country=FR&product=%C3%A9couteurs")
    assert status == 200
    status, _, body = get(server, "/v1/support/contacts?country=FR&product=a%20b")
    assert status == 422 and "product" in body["detail"]


def test_a_spreadsheet_export_is_read_as_a_location_feed_is(tmp_path: Path) -> None:
    """A header in capitals, `;` between values and a spreadsheet's trailing empty rows: 'missing columns'
    for a file holding every one, and 'column country: empty' for the rows past the last line."""
    path = tmp_path / "support.csv"
    path.write_text(
        "ID;Country;Channel;Label;Contact;Timezone;Opening_Hours\n"
        "fr-phone;FR;phone;Ligne;+33 1;Europe/Paris;Mo-Fr 09:00-18:00\n"
        ";;;;;;\n;;;;;;\n",
        encoding="utf-8",
    )
    [line] = read_channels(path)
    assert (line.id, line.country, line.hours) == ("fr-phone", "FR", "Mo-Fr 09:00-18:00")


def test_a_night_line_keeps_its_whole_night_on_a_working_saturday(scratch_db: ScratchDatabase, tmp_path: Path) -> None:
    """Saturday 20 Feb 2027 works as Monday 22 Feb: a line open Mo-Fr 22:00-06:00 closed at Saturday's
    midnight, not at 06:00 on Sunday as it does every weekday night."""
    path = tmp_path / "support.csv"
    path.write_text(
        "id,country,channel,label,contact,timezone,opening_hours,calendar\n"
        "ru-night,RU,phone,Ночь,+7 1,Europe/Moscow,Mo-Fr 22:00-06:00,official\n",
        encoding="utf-8",
    )
    load_channels(scratch_db.engine, path)
    saturday = by_id(contacts(scratch_db.engine, "RU", datetime(2027, 2, 20, 23, tzinfo=MOSCOW)))["ru-night"]
    assert saturday["available_now"] is True and saturday["available_until"] == "2027-02-21T06:00:00+03:00"
    sunday = by_id(contacts(scratch_db.engine, "RU", datetime(2027, 2, 21, 1, tzinfo=MOSCOW)))["ru-night"]
    assert sunday["available_now"] is True
    monday = by_id(contacts(scratch_db.engine, "RU", datetime(2027, 2, 22, 23, tzinfo=MOSCOW)))["ru-night"]
    assert monday["available_now"] is False and monday["next_available"] == "2027-02-23T22:00:00+03:00"
