"""Model assets of the catalog: artists, venues, concerts, validated by their models."""

import json
from dataclasses import replace

import dagster as dg
import pyarrow as pa

from concert_platform.defs.assets.modeled import model_results
from concert_platform.defs.checks import check_specs
from concert_platform.defs.io_manager import PRIMARY_KEY, WAREHOUSE_POOL
from concert_platform.defs.resources import LandingZoneResource, QualityResource
from concert_platform.models import Artist, Concert, Venue
from concert_platform.sources.landing import VENUE_CAPACITIES, read_reference_csv
from concert_platform.transforms.catalog import artist_records, concert_records, parse_capacities, venue_records
from concert_platform.validation import rejects_table, validate_records


@dg.asset(
    group_name="catalog",
    kinds={"parquet", "duckdb"},
    check_specs=check_specs("artists", blocking=True),
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["artist_id"]},
    description="One row per real artist, with its Ticketmaster, Spotify and MusicBrainz ids and how they were matched.",
)
def artists(
    ticketmaster_events_raw: pa.Table, spotify_artists_raw: pa.Table, musicbrainz_artists_raw: pa.Table, quality: QualityResource
):
    resolution = artist_records(ticketmaster_events_raw, spotify_artists_raw, musicbrainz_artists_raw)
    result = validate_records(Artist, resolution.artists, entity="artists", source="ticketmaster+spotify+musicbrainz")
    methods: dict[str, int] = {}
    for artist in resolution.artists:
        methods[artist["match_method"]] = methods.get(artist["match_method"], 0) + 1
    ambiguous = sum(1 for a in resolution.artists if "ambiguous" in (a["match_note"] or ""))
    yield from model_results(
        result,
        key="artist_id",
        quality=quality,
        rows_in=len(resolution.artists),
        metadata={"match_methods": dg.MetadataValue.json(methods), "ambiguous_matches": ambiguous},
    )


@dg.asset(
    group_name="catalog",
    kinds={"parquet", "duckdb"},
    check_specs=check_specs("venues", blocking=True),
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["venue_id"]},
    description="Venues from Ticketmaster, with capacity from the landing zone's reference file.",
)
def venues(
    context: dg.AssetExecutionContext, ticketmaster_events_raw: pa.Table, landing: LandingZoneResource, quality: QualityResource
):
    zone = landing.zone()
    capacities, bad_rows = parse_capacities(read_reference_csv(zone, VENUE_CAPACITIES))
    source = zone.location.display(zone.reference_path(VENUE_CAPACITIES))
    records = venue_records(ticketmaster_events_raw, capacities, source)
    result = validate_records(Venue, records, entity="venues", source="ticketmaster")
    if bad_rows:
        context.log.warning(f"{len(bad_rows)} rows of {VENUE_CAPACITIES} unusable; those venues keep an unknown capacity")
        extra = rejects_table(
            [
                {
                    "entity": "venues",
                    "partition_key": "",
                    "source": VENUE_CAPACITIES,
                    "record": json.dumps(row, default=str),
                    "error": error,
                }
                for row, error in bad_rows
            ]
        )
        result = replace(result, rejects=pa.concat_tables([result.rejects, extra]))
    with_capacity = sum(1 for r in records if r["capacity"])
    yield from model_results(
        result,
        key="venue_id",
        quality=quality,
        rows_in=len(records),
        metadata={"venues_with_capacity": with_capacity, "capacity_file": dg.MetadataValue.path(source)},
    )


@dg.asset(
    group_name="catalog",
    kinds={"parquet", "duckdb"},
    metadata={PRIMARY_KEY: ["concert_id"]},
    check_specs=check_specs("concerts", ["artist_id", "venue_id", "supporting_artist_ids"], blocking=True),
    pool=WAREHOUSE_POOL,
    description="One row per show (a Ticketmaster event), linking its headliner and venue.",
)
def concerts(ticketmaster_events_raw: pa.Table, artists: pa.Table, venues: pa.Table, quality: QualityResource):
    records = concert_records(ticketmaster_events_raw, artists)
    result = validate_records(Concert, records, entity="concerts", source="ticketmaster")
    statuses: dict[str, int] = {}
    for status in result.valid["status"].to_pylist():
        statuses[status] = statuses.get(status, 0) + 1
    artist_ids = artists["artist_id"].combine_chunks()
    yield from model_results(
        result,
        key="concert_id",
        quality=quality,
        rows_in=len(records),
        references={
            "artist_id": (artist_ids, "artists"),
            "venue_id": (venues["venue_id"].combine_chunks(), "venues"),
            "supporting_artist_ids": (artist_ids, "artists"),
        },
        metadata={"statuses": dg.MetadataValue.json(statuses)},
    )
