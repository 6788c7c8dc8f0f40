from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from locator.api import dependencies as deps
from locator.api.locations import PROBLEM_RESPONSES, Timestamp
from locator.api.params import AT_DESCRIPTION, DATE_TIME, NO_END_IN_SIGHT, NOT_IN_SIGHT
from locator.search import parse_instant
from locator.support import contacts

router = APIRouter(prefix="/v1/support", tags=["support"])


# -- response documentation ---------------------------------------------------------------------------------
# As for the location endpoints: these models document the answer in the OpenAPI schema (apps are built
# against it, and schemathesis checks every response against it); the route still returns the plain dict.


class SupportContact(BaseModel):
    id: str
    channel: str = Field(description="phone, chat, email, messaging, callback")
    label: str
    contact: str = Field(description="a phone number, a URL or an e-mail address")
    languages: list[str]
    products: list[str] = Field(description="empty: every product")
    timezone: str = Field(description="IANA timezone the hours are in")
    hours: str = Field(description="canonical OSM opening_hours")
    calendar: Literal["official"] | None = Field(
        description="official: the line also follows the government's moves of days off (a moved day off is "
        "closed, a weekend day made a working day has the hours of the day it stands for); null: the hours as written"
    )
    available_now: bool
    state: Literal["open", "closed", "unknown"] = Field(
        description="unknown: the hours say neither (an open end, `unknown`, or times 'on appointment')"
    )
    status_comment: str | None = Field(description="the hours' comment for the current state, e.g. 'closed for works'")
    available_until: Timestamp | None = Field(
        description="when available now, until when (ISO-8601, the line's UTC offset); null: "
        f"{NO_END_IN_SIGHT}, or not available"
    )
    next_available: Timestamp | None = Field(
        description="when not available now, from when (ISO-8601, the line's UTC offset); null: available now, or "
        f"{NOT_IN_SIGHT}"
    )
    country: str = Field(description="ISO 3166-1 alpha-2, or * for a line serving every country")


class SupportAnswer(BaseModel):
    country: str
    at: Timestamp
    contacts: list[SupportContact]


# No 404: a country without lines has an empty list.
@router.get(
    "/contacts",
    response_model=None,
    responses={200: {"model": SupportAnswer}, **{k: v for k, v in PROBLEM_RESPONSES.items() if k != 404}},
)
def support_contacts(
    engine: Annotated[Engine, Depends(deps.engine)],
    # No pattern: `validate_country` (in `contacts`) says what is wrong in words, not as a regular expression.
    country: Annotated[str, Query(max_length=64, description="ISO 3166-1 alpha-2")],
    at: Annotated[str | None, Query(max_length=64, description=AT_DESCRIPTION, json_schema_extra=DATE_TIME)] = None,
    product: Annotated[
        list[str] | None,
        Query(description="iphone, mac, ...; repeated or comma-separated: the lines for any of them"),
    ] = None,
) -> dict[str, Any]:
    """Support lines for a country (and those serving every country) with availability now and next."""
    return contacts(engine, country, parse_instant(at), product)
