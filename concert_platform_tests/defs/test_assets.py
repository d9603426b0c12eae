"""Each asset function called directly, the way a user tests one asset in pytest."""

import json

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from concert_platform.defs.assets.catalog import artists, concerts, venues
from concert_platform.defs.assets.features import artist_features, concert_demand_features, venue_features
from concert_platform.defs.assets.sales import build_sales_assets, load_sales_day
from concert_platform.defs.assets.sources import (
    EventWindow,
    musicbrainz_artists_raw,
    musicbrainz_query,
    spotify_artists_raw,
    ticketmaster_events_raw,
)
from concert_platform.defs.io_manager import ByDay, ModelOutput
from concert_platform.defs.partitions import daily_sales_partitions
from concert_platform.defs.resources import (
    LandingZoneResource,
    MusicBrainzResource,
    QualityResource,
    SpotifyResource,
    TicketmasterResource,
)
from concert_platform.settings import Settings

from .conftest import DEMO_DATE, fresh_store, seed

WORLD = {"demo_seed": 7, "demo_date": DEMO_DATE.isoformat()}


def _table(results) -> pa.Table:
    """A source asset's table; its all-units check must pass on the demo."""
    results = list(results)
    [output] = [r for r in results if isinstance(r, dg.Output)]
    [check] = [r for r in results if isinstance(r, dg.AssetCheckResult)]
    assert check.passed
    return output.value


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    store = fresh_store(tmp_path_factory.mktemp("store"))
    events = _table(ticketmaster_events_raw(dg.build_asset_context(), EventWindow(), TicketmasterResource(**WORLD), *store))
    mb = _table(musicbrainz_artists_raw(dg.build_asset_context(), events, MusicBrainzResource(**WORLD)))
    sp = _table(spotify_artists_raw(dg.build_asset_context(), events, mb, SpotifyResource(**WORLD)))
    return events, mb, sp


def _split(results):
    outputs = [r for r in results if isinstance(r, dg.Output)]
    checks = {r.check_name: r for r in results if isinstance(r, dg.AssetCheckResult)}
    assert len(outputs) == 1 and isinstance(outputs[0].value, ModelOutput)
    return outputs[0], checks


def test_raw_assets_keep_payloads_whole(raw):
    events, mb, sp = raw
    assert events.num_rows == len(set(events["source_id"].to_pylist())) > 1000
    event = json.loads(events["payload"][0].as_py())
    assert {"id", "dates", "_embedded"} <= set(event)
    assert set(mb["kind"].to_pylist()) == {"artist", "url", "search_hit"}
    assert set(sp["kind"].to_pylist()) <= {"artist", "search_hit"} and sp.num_rows > 100


def test_a_narrow_window_asks_for_fewer_events(tmp_path):
    store = fresh_store(tmp_path)
    narrow = _table(
        ticketmaster_events_raw(
            dg.build_asset_context(), EventWindow(days_back=0, days_ahead=10), TicketmasterResource(**WORLD), *store
        )
    )
    wide = _table(ticketmaster_events_raw(dg.build_asset_context(), EventWindow(), TicketmasterResource(**WORLD), *store))
    assert 0 < narrow.num_rows < wide.num_rows


def test_catalog_assets_validate_and_check(raw, tmp_path):
    events, mb, sp = raw
    quality = QualityResource()
    artist_out, artist_checks = _split(list(artists(events, sp, mb, quality)))
    assert artist_out.value.valid.num_rows >= 250
    assert artist_checks["primary_key_unique"].passed and artist_checks["reject_rate_below_threshold"].passed
    assert artist_out.metadata["ambiguous_matches"].value >= 1

    venue_out, _ = _split(list(venues(dg.build_asset_context(), events, LandingZoneResource(url=str(tmp_path)), quality)))
    assert venue_out.value.valid.num_rows == 150
    assert venue_out.metadata["venues_with_capacity"].value == 0  # no reference file in an empty landing zone

    concert_out, concert_checks = _split(list(concerts(events, artist_out.value.valid, venue_out.value.valid, quality)))
    assert concert_out.value.valid.num_rows == events.num_rows
    assert concert_checks["venue_id_resolves"].passed and concert_checks["artist_id_resolves"].passed


def test_bad_capacity_rows_are_rejected_and_the_venue_keeps_unknown_capacity(raw, tmp_path):
    events = raw[0]
    venue_id = json.loads(events["payload"][0].as_py())["_embedded"]["venues"][0]["id"]
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "venue_capacities.csv").write_text(f"venue_id,capacity\n{venue_id},lots\nunknown-venue,500\n")
    out, _ = _split(list(venues(dg.build_asset_context(), events, LandingZoneResource(url=str(tmp_path)), QualityResource())))
    rejects = out.value.rejects.to_pylist()
    assert [r["error"] for r in rejects] == ["capacity 'lots' is not a positive whole number"]
    assert out.value.valid.num_rows == 150


def test_a_sales_day_loads_validates_and_checks(tmp_path, raw):
    settings = Settings(_env_file=None, landing_url=str(tmp_path / "landing"), demo_date=DEMO_DATE)
    _, days = seed(settings, days=1, per_day=1500)
    known = pa.array([json.loads(p)["id"] for p in raw[0]["payload"].to_pylist()])
    loaded = load_sales_day(LandingZoneResource(url=settings.landing_url).zone(), days[0], known, QualityResource())
    valid = loaded.output.valid
    assert valid.num_rows > 1000 and set(valid["sale_date"].to_pylist()) == {pd.Timestamp(days[0]).date()}
    assert loaded.output.rejects.num_rows > 0
    assert loaded.metadata["valid_rows"] == valid.num_rows and loaded.metadata["files"] >= 4
    checks = {c.check_name: c for c in loaded.checks}
    assert checks["primary_key_unique"].passed and checks["concert_id_resolves"].passed

    _, ticket_sales_daily = build_sales_assets(daily_sales_partitions(settings.sales_start_date))
    context = dg.build_asset_context(partition_key=days[0])
    # As the IO manager hands a day over: a stream of its batches.
    [(day, daily)] = list(ticket_sales_daily(context, ByDay((days[0],), lambda _: valid.open())))
    assert day == days[0] and sum(daily["tickets"].to_pylist()) == sum(valid.column("quantity").to_pylist())


def test_an_empty_day_is_an_empty_partition(tmp_path):
    loaded = load_sales_day(LandingZoneResource(url=str(tmp_path)).zone(), "2026-10-01", pa.array(["c"]), QualityResource())
    checks = {c.check_name: c for c in loaded.checks}
    assert loaded.output.valid.num_rows == 0 and checks["reject_rate_below_threshold"].passed
    assert loaded.metadata["files"] == 0


def test_feature_assets_run_without_any_sales_loaded():
    concerts_df = pd.DataFrame(
        [
            {
                "concert_id": "C",
                "artist_id": "A",
                "venue_id": "V",
                "status": "onsale",
                "local_date": None,
                "onsale_start": None,
                "price_min": None,
                "price_max": None,
                "currency": None,
            }
        ]
    )
    venues_df = pd.DataFrame([{"venue_id": "V", "name": "n", "city": "c", "country": "DE", "capacity": 10}])
    demand = concert_demand_features(concerts_df, venues_df, pd.DataFrame())
    assert demand["tickets_sold"].tolist() == [0]
    artists_df = pd.DataFrame(
        [{"artist_id": "A", "name": "a", "popularity": None, "followers": None, "match_method": "unmatched"}]
    )
    assert artist_features(artists_df, venues_df, demand)["concerts"].tolist() == [1]
    assert venue_features(venues_df, demand)["concerts"].tolist() == [1]


def test_lucene_queries_escape_special_characters():
    assert musicbrainz_query('AC/DC "live"') == 'artist:"AC\\/DC \\"live\\""'


def test_the_mode_chooses_the_client_never_the_credentials():
    from concert_platform.sources.demo import DemoMusicBrainz, DemoSpotify, DemoTicketmaster
    from concert_platform.sources.musicbrainz import LiveMusicBrainz
    from concert_platform.sources.spotify import LiveSpotify
    from concert_platform.sources.ticketmaster import LiveTicketmaster

    assert isinstance(TicketmasterResource(mode="live", api_key="k", countries=["GB"]).client(), LiveTicketmaster)
    assert isinstance(SpotifyResource(mode="live", client_id="i", client_secret="s").client(), LiveSpotify)
    assert isinstance(
        MusicBrainzResource(mode="live", user_agent="ConcertPlatform/0.1 ( ops@concert.example )").client(), LiveMusicBrainz
    )
    assert isinstance(TicketmasterResource(api_key="k", **WORLD).client(), DemoTicketmaster)  # credentials alone: still demo
    assert isinstance(SpotifyResource(client_id="i", client_secret="s", **WORLD).client(), DemoSpotify)
    assert isinstance(MusicBrainzResource(**WORLD).client(), DemoMusicBrainz)


def test_a_failed_unit_is_recorded_warned_about_and_the_rest_kept(raw, monkeypatch):
    from concert_platform.sources.base import SourceUnavailable
    from concert_platform.sources.demo import DemoMusicBrainz

    real = DemoMusicBrainz.lookup_artist
    failing = {}

    def flaky(self, mbid):
        if not failing:
            failing[mbid] = True
            raise SourceUnavailable(f"lookup {mbid}: HTTP 503, gave up")
        return real(self, mbid)

    monkeypatch.setattr(DemoMusicBrainz, "lookup_artist", flaky)
    results = list(musicbrainz_artists_raw(dg.build_asset_context(), raw[0], MusicBrainzResource(**WORLD)))
    [output] = [r for r in results if isinstance(r, dg.Output)]
    [check] = [r for r in results if isinstance(r, dg.AssetCheckResult)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert output.metadata["failures"].value == 1 and output.value.num_rows == raw[1].num_rows - 1
