"""Raw source assets: API payloads kept as fetched, one row per object."""

from datetime import UTC, datetime, time, timedelta

import dagster as dg
import pyarrow as pa

from concert_platform.defs.io_manager import PRIMARY_KEY
from concert_platform.defs.metadata import table_metadata
from concert_platform.defs.resources import (
    LakeResource,
    MusicBrainzResource,
    SpotifyResource,
    TicketmasterResource,
    WarehouseResource,
)
from concert_platform.sources.base import ClientStats, SourceUnavailable
from concert_platform.transforms.catalog import event_parts
from concert_platform.transforms.event_history import with_history
from concert_platform.transforms.fetch_plan import Request, musicbrainz_requests, spotify_requests
from concert_platform.transforms.identity import SourceIndex, id_lookup, search_lookup, url_lookup
from concert_platform.transforms.raw import raw_row, raw_table

# APIs fail transiently (rate limits, 5xx); a retried run re-fetches cheaply.
SOURCE_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class EventWindow(dg.Config):
    """Which shows to ask Ticketmaster for, relative to the source's reference date."""

    days_back: int = 60
    days_ahead: int = 365


ALL_UNITS_FETCHED = "all_units_fetched"


def _checks(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            ALL_UNITS_FETCHED,
            asset=dg.AssetKey(asset),
            description="Every artist or date window was fetched; failed ones are retried next run",
        )
    ]


def _source_results(stats: ClientStats, table: pa.Table, **extra):
    """The raw table with what the run cost, and a warning when some units failed (what worked is kept)."""
    failed = dg.MetadataValue.json(stats.failed_units[:50])
    yield dg.Output(
        table,
        metadata={**stats.as_metadata(), "failed_units": failed, **extra, **table_metadata(table.drop_columns(["payload"]))},
    )
    yield dg.AssetCheckResult(
        check_name=ALL_UNITS_FETCHED,
        passed=stats.failures == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failures": stats.failures, "failed_units": failed},
    )


@dg.asset(
    group_name="sources",
    kinds={"ticketmaster", "parquet"},
    retry_policy=SOURCE_RETRY,
    metadata={PRIMARY_KEY: ["source_id"]},
    check_specs=_checks("ticketmaster_events_raw"),
    description="Ticketmaster Discovery music events (with embedded venues and attractions), as fetched, accumulating: "
    "events that started before the fetch window are carried over from the previous materialisation (with their own "
    "fetched_at and lookup); events inside the window that Ticketmaster no longer returns are dropped.",
)
def ticketmaster_events_raw(
    context: dg.AssetExecutionContext,
    config: EventWindow,
    ticketmaster: TicketmasterResource,
    lake: LakeResource,
    warehouse: WarehouseResource,
):
    """The window's events as fetched, plus the played shows earlier materialisations fetched
    (`transforms.event_history.with_history`): the window moves on, the history stays."""
    client = ticketmaster.client()
    today = datetime.combine(ticketmaster.reference_date(), time(), tzinfo=UTC)
    start, end = today - timedelta(days=config.days_back), today + timedelta(days=config.days_ahead)
    events: dict[str, dict] = {}
    for page in client.search_events(start, end):
        for event in (page.get("_embedded") or {}).get("events") or []:
            events[event["id"]] = event  # overlapping windows repeat events; the last copy wins
    window = f"window:{start:%Y-%m-%d}/{end:%Y-%m-%d}"
    fetched = raw_table(raw_row(event_id, "event", window, event) for event_id, event in sorted(events.items()))
    # When some windows failed, an event missing from the fetch may just be in one of them: keep every known event
    # dated before the window's end, as if none had been removed, until a complete fetch says otherwise.
    keep_before = start if client.stats.failures == 0 else end
    table = with_history(_committed(lake, warehouse, context.asset_key.path[-1]), fetched, keep_before)
    yield from _source_results(client.stats, table, window=window, carried_over_events=table.num_rows - fetched.num_rows)


def _committed(lake: LakeResource, warehouse: WarehouseResource, name: str) -> pa.Table | None:
    """The asset's value the warehouse committed, read as the IO manager's load_input reads it; None if never made."""
    try:
        return lake.lake().following(warehouse.warehouse().committed_versions).read(name)
    except FileNotFoundError:  # never materialised: no history yet
        return None


@dg.asset(
    group_name="sources",
    kinds={"musicbrainz", "parquet"},
    retry_policy=SOURCE_RETRY,
    check_specs=_checks("musicbrainz_artists_raw"),
    description="MusicBrainz artists for Ticketmaster's attractions: lookups by MBID, Spotify URL relations, name searches.",
)
def musicbrainz_artists_raw(
    context: dg.AssetExecutionContext, ticketmaster_events_raw: pa.Table, musicbrainz: MusicBrainzResource
):
    client = musicbrainz.client()
    rows: list[dict] = []
    looked_up: set[str] = set()

    def fetch(request: Request) -> None:
        if request.kind == "lookup":
            looked_up.add(request.value)
            if artist := client.lookup_artist(request.value):
                rows.append(raw_row(artist["id"], "artist", id_lookup(request.value), artist))
        elif request.kind == "url":
            if entity := client.lookup_url(request.value):
                rows.append(
                    raw_row(entity.get("id") or request.value, "url", url_lookup(request.value), entity, name=request.value)
                )
        else:
            for hit in client.search_artists(musicbrainz_query(request.value)).get("artists") or []:
                rows.append(raw_row(hit["id"], "search_hit", search_lookup(request.value), hit))

    _fetch_all(client.stats, musicbrainz_requests(event_parts(ticketmaster_events_raw).attractions.values()), fetch, context)
    # An MBID found through a URL relation still needs its lookup for country, type and genres.
    found = SourceIndex.from_raw(raw_table(rows)).by_url
    follow_ups = [Request("lookup", ids[0]) for ids in found.values() if len(ids) == 1 and ids[0] not in looked_up]
    _fetch_all(client.stats, list(dict.fromkeys(follow_ups)), fetch, context)
    yield from _source_results(client.stats, raw_table(rows))


@dg.asset(
    group_name="sources",
    kinds={"spotify", "parquet"},
    retry_policy=SOURCE_RETRY,
    check_specs=_checks("spotify_artists_raw"),
    description="Spotify artist objects for Ticketmaster's attractions: by linked id when known, else by name search.",
)
def spotify_artists_raw(
    context: dg.AssetExecutionContext,
    ticketmaster_events_raw: pa.Table,
    musicbrainz_artists_raw: pa.Table,
    spotify: SpotifyResource,
):
    client = spotify.client()
    rows: list[dict] = []

    def fetch(request: Request) -> None:
        if request.kind == "lookup":
            if artist := client.get_artist(request.value):
                rows.append(raw_row(artist["id"], "artist", id_lookup(request.value), artist))
        else:
            for hit in (client.search_artists(request.value, limit=10).get("artists") or {}).get("items") or []:
                rows.append(raw_row(hit["id"], "search_hit", search_lookup(request.value), hit))

    attractions = event_parts(ticketmaster_events_raw).attractions.values()
    _fetch_all(client.stats, spotify_requests(attractions, SourceIndex.from_raw(musicbrainz_artists_raw)), fetch, context)
    yield from _source_results(client.stats, raw_table(rows))


def musicbrainz_query(name: str) -> str:
    """A Lucene phrase query on the artist field, with Lucene's special characters escaped."""
    escaped = "".join("\\" + c if c in '+-&|!(){}[]^"~*?:\\/' else c for c in name)
    return f'artist:"{escaped}"'


def _fetch_all(stats: ClientStats, requests: list[Request], fetch, context) -> None:
    for request in requests:
        try:
            fetch(request)
        except SourceUnavailable as error:
            # One artist's failure must not cost the others; the unit is retried next run.
            stats.failures += 1
            stats.failed_units.append(f"{request.kind}:{request.value}")
            context.log.warning(f"{request.kind} {request.value!r} failed: {error}")
