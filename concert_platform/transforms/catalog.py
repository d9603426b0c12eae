"""Raw source tables -> the records of the dimension models (before validation)."""

from __future__ import annotations

import pyarrow as pa

from concert_platform.transforms.identity import Resolution, SourceIndex, resolve_artists
from concert_platform.transforms.raw import payloads
from concert_platform.transforms.ticketmaster import EventParts, parse_events


def event_parts(events_raw: pa.Table) -> EventParts:
    return parse_events(payload for _, payload in payloads(events_raw, kind="event"))


def artist_records(events_raw: pa.Table, spotify_raw: pa.Table, musicbrainz_raw: pa.Table) -> Resolution:
    parts = event_parts(events_raw)
    return resolve_artists(parts.attractions.values(), SourceIndex.from_raw(spotify_raw), SourceIndex.from_raw(musicbrainz_raw))


def venue_records(events_raw: pa.Table, capacities: dict[str, int] | None, capacity_source: str) -> list[dict]:
    venues = []
    for venue in event_parts(events_raw).venues.values():
        capacity = (capacities or {}).get(venue["venue_id"])
        venues.append({**venue, "capacity": capacity, "capacity_source": capacity_source if capacity else None})
    return venues


def concert_records(events_raw: pa.Table, artists: pa.Table) -> list[dict]:
    """Concerts with their lineup mapped from Ticketmaster attractions to artist ids."""
    artist_of = {}
    for row in artists.select(["artist_id", "ticketmaster_ids"]).to_pylist():
        for attraction_id in row["ticketmaster_ids"] or []:
            artist_of[attraction_id] = row["artist_id"]
    parts = event_parts(events_raw)
    concerts = []
    for concert_id, concert in parts.concerts.items():
        lineup = [artist_of.get(a, f"tm:{a}") for a in parts.lineups.get(concert_id, [])]
        lineup = list(dict.fromkeys(lineup))
        concerts.append({**concert, "artist_id": lineup[0] if lineup else None, "supporting_artist_ids": lineup[1:]})
    return concerts


def parse_capacities(table: pa.Table | None) -> tuple[dict[str, int], list[tuple[dict, str]]]:
    """venue_id -> capacity from the reference file, and the rows that could not be used, with why."""
    capacities: dict[str, int] = {}
    bad: list[tuple[dict, str]] = []
    if table is None:
        return capacities, bad
    missing = {"venue_id", "capacity"} - set(table.column_names)
    if missing:
        return capacities, [({"columns": table.column_names}, f"capacity file lacks column(s) {sorted(missing)}")]
    for row in table.to_pylist():
        venue_id, raw = (row.get("venue_id") or "").strip(), (row.get("capacity") or "").strip()
        if not venue_id:
            bad.append((row, "venue_id is empty"))
        elif not raw.isdigit() or int(raw) <= 0:
            bad.append((row, f"capacity {raw!r} is not a positive whole number"))
        elif venue_id in capacities and capacities[venue_id] != int(raw):
            bad.append((row, f"venue {venue_id} has conflicting capacities {capacities[venue_id]} and {raw}"))
        else:
            capacities[venue_id] = int(raw)
    return capacities, bad
