"""Ticketmaster Discovery payloads -> venue, concert and attraction records.

Pure functions over decoded JSON. They conform what the API is loose about
(two spellings of cancelled, coordinates as strings, missing time zones,
placeholder dates, zero price ranges) and leave the judging to the models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MUSIC_SEGMENT_ID = "KZFzniwnSyZfZ7v7nJ"
# Ticketmaster's way of saying "unknown" in sale windows.
_UNKNOWN_DATE_PREFIX = "1900-01-01"
_PLACEHOLDER_GENRES = {"undefined", "other", ""}
_STATUS = {"canceled": "cancelled", "cancelled": "cancelled"}
_SPOTIFY_ARTIST_URL = re.compile(r"open\.spotify\.com/(?:[a-z-]+/)?artist/([0-9A-Za-z]{22})")


@dataclass(frozen=True)
class AttractionRef:
    """An artist as Ticketmaster lists it, with the outside ids its links carry."""

    ticketmaster_id: str
    name: str
    spotify_ids: tuple[str, ...] = ()
    musicbrainz_ids: tuple[str, ...] = ()
    genre: str | None = None


@dataclass
class EventParts:
    venues: dict[str, dict] = field(default_factory=dict)
    concerts: dict[str, dict] = field(default_factory=dict)
    attractions: dict[str, AttractionRef] = field(default_factory=dict)
    # Each concert's attraction ids in billing order; mapped to artist ids later.
    lineups: dict[str, list[str]] = field(default_factory=dict)


def clean_text(value: str | None) -> str | None:
    """Collapse stray whitespace; empty becomes None."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def spotify_id_from_url(url: str | None) -> str | None:
    match = _SPOTIFY_ARTIST_URL.search(url or "")
    return match.group(1) if match else None


def parse_events(events: Iterable[dict]) -> EventParts:
    """Split event payloads into venues, concerts and attractions, de-duplicated by id.

    Matinee and evening shows are distinct events, so de-duplication is by
    event id only; a later copy of the same id (an overlapping window) wins.
    """
    parts = EventParts()
    for event in events:
        embedded = event.get("_embedded") or {}
        venues = [parse_venue(v) for v in embedded.get("venues") or [] if v.get("id")]
        for venue in venues:
            parts.venues[venue["venue_id"]] = venue
        attractions = [parse_attraction(a) for a in embedded.get("attractions") or [] if a.get("id")]
        for attraction in attractions:
            parts.attractions[attraction.ticketmaster_id] = attraction
        concert = parse_event(event, venues[0] if venues else None)
        parts.concerts[concert["concert_id"]] = concert
        parts.lineups[concert["concert_id"]] = [a.ticketmaster_id for a in attractions]
    return parts


def parse_venue(venue: dict) -> dict:
    location = venue.get("location") or {}
    state = venue.get("state") or {}
    return {
        "venue_id": venue.get("id"),
        "name": clean_text(venue.get("name")),
        "address": clean_text((venue.get("address") or {}).get("line1")),
        "postal_code": clean_text(venue.get("postalCode")),
        "city": clean_text((venue.get("city") or {}).get("name")),
        "region": clean_text(state.get("stateCode") or state.get("name")),
        "country": clean_text((venue.get("country") or {}).get("countryCode")),
        # Coordinates come as strings; the model parses them and rejects junk.
        "latitude": location.get("latitude") or None,
        "longitude": location.get("longitude") or None,
        "timezone": venue.get("timezone"),
    }


def parse_attraction(attraction: dict) -> AttractionRef:
    links = attraction.get("externalLinks") or {}
    spotify = tuple(dict.fromkeys(sid for link in links.get("spotify") or [] if (sid := spotify_id_from_url(link.get("url")))))
    musicbrainz = tuple(dict.fromkeys(link["id"] for link in links.get("musicbrainz") or [] if link.get("id")))
    return AttractionRef(
        ticketmaster_id=attraction["id"],
        name=clean_text(attraction.get("name")) or attraction["id"],
        spotify_ids=spotify,
        musicbrainz_ids=musicbrainz,
        genre=_genre(attraction.get("classifications")),
    )


def parse_event(event: dict, venue: dict | None) -> dict:
    dates = event.get("dates") or {}
    start = dates.get("start") or {}
    status = ((dates.get("status") or {}).get("code") or "").strip().lower()
    public_sale = (event.get("sales") or {}).get("public") or {}
    price_min, price_max, currency = _price_range(event.get("priceRanges"))
    local_date = start.get("localDate")
    tba = bool(start.get("dateTBA") or start.get("dateTBD")) or not local_date
    return {
        "concert_id": event.get("id"),
        "name": clean_text(event.get("name")),
        "venue_id": venue["venue_id"] if venue else None,
        "status": _STATUS.get(status, status or "scheduled"),
        "local_date": None if tba else local_date,
        "local_time": None if start.get("timeTBA") or start.get("noSpecificTime") else start.get("localTime"),
        "starts_at": None if tba else start.get("dateTime"),
        # ~20% of events carry no time zone; the venue's is the same place's.
        "timezone": dates.get("timezone") or (venue or {}).get("timezone"),
        "date_tba": tba,
        "onsale_start": _known_date(public_sale.get("startDateTime")),
        "onsale_end": _known_date(public_sale.get("endDateTime")),
        "price_min": price_min,
        "price_max": price_max,
        "currency": currency,
        "genre": _genre(event.get("classifications")),
        "url": event.get("url"),
    }


def _price_range(ranges: list | None) -> tuple[float | None, float | None, str | None]:
    # min = max = 0 is how the API says "no price published", not "free".
    usable = [r for r in ranges or [] if r.get("currency") and (r.get("min") or r.get("max"))]
    if not usable:
        return None, None, None
    currency = usable[0]["currency"]
    same = [r for r in usable if r["currency"] == currency]
    lows = [r["min"] for r in same if r.get("min") is not None]
    highs = [r["max"] for r in same if r.get("max") is not None]
    low = min(lows) if lows else None
    high = max(highs) if highs else None
    return low, high, currency


def _genre(classifications: list | None) -> str | None:
    for item in classifications or []:
        name = clean_text((item.get("genre") or {}).get("name"))
        if name and name.lower() not in _PLACEHOLDER_GENRES:
            return name
    return None


def _known_date(value: str | None) -> str | None:
    return None if not value or value.startswith(_UNKNOWN_DATE_PREFIX) else value
