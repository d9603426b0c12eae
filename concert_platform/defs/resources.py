"""Resources, and the one place that maps settings to them.

Every resource is small config (a URL, a seed) plus a method that builds the
real object, so assets ask for ``lake.lake()`` or ``ticketmaster.client()``
and never see how the choice was made.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import dagster as dg
from dagster_aws.s3 import S3Resource

from concert_platform.settings import Settings
from concert_platform.sources.base import MusicBrainzClient, SpotifyClient, TicketmasterClient
from concert_platform.sources.demo import DemoCatalog, DemoMusicBrainz, DemoSpotify, DemoTicketmaster
from concert_platform.sources.landing import LandingZone
from concert_platform.sources.musicbrainz import LiveMusicBrainz
from concert_platform.sources.spotify import LiveSpotify
from concert_platform.sources.ticketmaster import LiveTicketmaster
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.lake import Lake
from concert_platform.storage.warehouse import Warehouse, make_warehouse


class LakeResource(dg.ConfigurableResource):
    """Where asset Parquet lives: a folder or ``s3://bucket/prefix``."""

    url: str
    endpoint_url: str | None = None

    def lake(self) -> Lake:
        return Lake(open_location(self.url, self.endpoint_url))


class LandingZoneResource(dg.ConfigurableResource):
    """Where partners drop ticket-sale files and reference data.

    On S3 the listing goes through dagster-aws's ``S3Resource`` (boto3,
    paginated, with ETags) so the sensor sees every key and every re-upload.
    """

    url: str
    endpoint_url: str | None = None
    s3: S3Resource | None = None

    def zone(self) -> LandingZone:
        location = open_location(self.url, self.endpoint_url)
        return LandingZone(location, s3_client=self.s3.get_client() if location.is_s3 and self.s3 else None)


class WarehouseResource(dg.ConfigurableResource):
    url: str
    schema_name: str = "concert"
    redshift_iam_role: str | None = None

    def warehouse(self) -> Warehouse:
        return make_warehouse(self.url, self.schema_name, redshift_iam_role=self.redshift_iam_role)


class QualityResource(dg.ConfigurableResource):
    """Thresholds the asset checks hold the data to."""

    max_reject_rate: float = 0.05


class _DemoWorld(dg.ConfigurableResource):
    """The demo world's knobs, shared by the three source resources."""

    demo_seed: int = 7
    demo_date: str | None = None  # ISO date; None = today (UTC)

    def reference_date(self) -> date:
        """The 'today' the source is asked about: pinned in the demo for reproducible runs."""
        return date.fromisoformat(self.demo_date) if self.demo_date else datetime.now(UTC).date()

    def demo_catalog(self) -> DemoCatalog:
        return DemoCatalog(seed=self.demo_seed, anchor=self.reference_date())


class TicketmasterResource(_DemoWorld):
    """Live when ``api_key`` is set; ``countries``/``cities`` are the markets asked for."""

    api_url: str = "https://app.ticketmaster.com/discovery/v2"
    api_key: str | None = None
    countries: list[str] = ["US"]
    cities: list[str] = []

    def client(self) -> TicketmasterClient:
        if self.api_key:
            return LiveTicketmaster(self.api_url, self.api_key, country_codes=self.countries, cities=self.cities)
        return DemoTicketmaster(self.demo_catalog())


class SpotifyResource(_DemoWorld):
    api_url: str = "https://api.spotify.com/v1"
    token_url: str = "https://accounts.spotify.com/api/token"
    client_id: str | None = None
    client_secret: str | None = None

    def client(self) -> SpotifyClient:
        if self.client_id and self.client_secret:
            return LiveSpotify(self.client_id, self.client_secret, api_url=self.api_url, token_url=self.token_url)
        return DemoSpotify(self.demo_catalog())


class MusicBrainzResource(_DemoWorld):
    api_url: str = "https://musicbrainz.org/ws/2"
    user_agent: str | None = None

    def client(self) -> MusicBrainzClient:
        if self.user_agent:
            return LiveMusicBrainz(self.api_url, self.user_agent)
        return DemoMusicBrainz(self.demo_catalog())


def _secret(variable: str, value) -> str | dg.EnvVar | None:
    """Hand a secret over as an ``EnvVar`` when it came from the environment.

    Dagster then shows the variable's name, not its value, in the UI and
    in run config; a value from ``.env`` or code is passed as is.
    """
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return dg.EnvVar(variable) if os.environ.get(variable) == plain else plain


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Settings -> resources: change a URL in the environment and this is all that follows it."""
    from concert_platform.defs.io_manager import LakeWarehouseIOManager

    s3 = S3Resource(endpoint_url=settings.aws_endpoint_url)
    lake = LakeResource(url=settings.lake_url, endpoint_url=settings.aws_endpoint_url)
    warehouse = WarehouseResource(
        url=_secret("CONCERT_WAREHOUSE_URL", settings.warehouse_url),
        schema_name=settings.warehouse_schema,
        redshift_iam_role=settings.redshift_iam_role,
    )
    world = {"demo_seed": settings.demo_seed, "demo_date": settings.demo_date.isoformat() if settings.demo_date else None}
    return {
        "io_manager": LakeWarehouseIOManager(lake=lake, warehouse=warehouse),
        "lake": lake,
        "warehouse": warehouse,
        "s3": s3,
        "landing": LandingZoneResource(url=settings.landing_url, endpoint_url=settings.aws_endpoint_url, s3=s3),
        "quality": QualityResource(max_reject_rate=settings.max_reject_rate),
        "ticketmaster": TicketmasterResource(
            api_url=settings.ticketmaster_api_url,
            api_key=_secret("TICKETMASTER_API_KEY", settings.ticketmaster_api_key),
            countries=settings.ticketmaster_countries,
            cities=settings.ticketmaster_cities,
            **world,
        ),
        "spotify": SpotifyResource(
            api_url=settings.spotify_api_url,
            token_url=settings.spotify_token_url,
            client_id=settings.spotify_client_id,
            client_secret=_secret("SPOTIFY_CLIENT_SECRET", settings.spotify_client_secret),
            **world,
        ),
        "musicbrainz": MusicBrainzResource(
            api_url=settings.musicbrainz_api_url, user_agent=settings.musicbrainz_user_agent, **world
        ),
    }
