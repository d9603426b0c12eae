"""Resources, and the one place that maps settings to them.

Every resource is small config (a URL, a seed, a mode) plus a method that
builds the real object, so assets ask for ``lake.lake()`` or
``ticketmaster.client()`` and never see how the choice was made.

Nothing heavy is imported here: the code location is loaded by every CLI call,
run worker and code server, so live clients (requests), boto3 and the
warehouse drivers are imported by the methods that build them, in runs that
use them.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import ClassVar, Literal

import dagster as dg

from concert_platform.settings import Settings
from concert_platform.sources.base import MusicBrainzClient, SpotifyClient, TicketmasterClient
from concert_platform.sources.demo import DemoCatalog, DemoMusicBrainz, DemoSpotify, DemoTicketmaster
from concert_platform.sources.landing import LandingZone
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

    On S3 the zone lists through boto3 (paginated, with ETags) so the sensor
    sees every key and every re-upload; see `LandingZone`.
    """

    url: str
    endpoint_url: str | None = None

    def zone(self) -> LandingZone:
        return LandingZone(open_location(self.url, self.endpoint_url), endpoint_url=self.endpoint_url)


class WarehouseResource(dg.ConfigurableResource):
    url: str
    schema_name: str = "concert"
    redshift_iam_role: str | None = None

    def warehouse(self) -> Warehouse:
        return make_warehouse(self.url, self.schema_name, redshift_iam_role=self.redshift_iam_role)


class QualityResource(dg.ConfigurableResource):
    """Thresholds the asset checks hold the data to."""

    max_reject_rate: float = 0.05


class _SourceResource(dg.ConfigurableResource):
    """A source's mode and the demo world's knobs, shared by the three source resources.

    ``mode`` alone picks the client (``build_resources`` sets it from
    ``CONCERT_SOURCES``); credentials never do. A live resource without its
    credentials fails in ``client()`` rather than quietly serving demo data.
    """

    mode: Literal["demo", "live"] = "demo"
    demo_seed: int = 7
    demo_date: str | None = None  # ISO date; None = today (UTC)

    # field -> the environment variable it comes from, for error messages.
    _credentials: ClassVar[dict[str, str]] = {}

    def reference_date(self) -> date:
        """The 'today' the source is asked about: pinned in the demo for reproducible runs."""
        return date.fromisoformat(self.demo_date) if self.demo_date else datetime.now(UTC).date()

    def demo_catalog(self) -> DemoCatalog:
        return DemoCatalog(seed=self.demo_seed, anchor=self.reference_date())

    def _require_credentials(self) -> None:
        missing = [f"{field} ({variable})" for field, variable in self._credentials.items() if not getattr(self, field)]
        if missing:
            raise ValueError(f"{type(self).__name__} is in live mode but has no {', '.join(missing)}")


class TicketmasterResource(_SourceResource):
    """``countries``/``cities`` are the markets the live client asks for."""

    api_url: str = "https://app.ticketmaster.com/discovery/v2"
    api_key: str | None = None
    countries: list[str] = ["US"]
    cities: list[str] = []

    _credentials: ClassVar[dict[str, str]] = {"api_key": "TICKETMASTER_API_KEY"}

    def client(self) -> TicketmasterClient:
        if self.mode == "demo":
            return DemoTicketmaster(self.demo_catalog())
        self._require_credentials()
        # Here, not at the top: the live client imports requests, which only live runs need.
        from concert_platform.sources.ticketmaster import LiveTicketmaster

        return LiveTicketmaster(self.api_url, self.api_key, country_codes=self.countries, cities=self.cities)


class SpotifyResource(_SourceResource):
    api_url: str = "https://api.spotify.com/v1"
    token_url: str = "https://accounts.spotify.com/api/token"
    client_id: str | None = None
    client_secret: str | None = None

    _credentials: ClassVar[dict[str, str]] = {"client_id": "SPOTIFY_CLIENT_ID", "client_secret": "SPOTIFY_CLIENT_SECRET"}

    def client(self) -> SpotifyClient:
        if self.mode == "demo":
            return DemoSpotify(self.demo_catalog())
        self._require_credentials()
        from concert_platform.sources.spotify import LiveSpotify  # only live runs need requests

        return LiveSpotify(self.client_id, self.client_secret, api_url=self.api_url, token_url=self.token_url)


class MusicBrainzResource(_SourceResource):
    api_url: str = "https://musicbrainz.org/ws/2"
    user_agent: str | None = None

    _credentials: ClassVar[dict[str, str]] = {"user_agent": "MUSICBRAINZ_USER_AGENT"}

    def client(self) -> MusicBrainzClient:
        if self.mode == "demo":
            return DemoMusicBrainz(self.demo_catalog())
        self._require_credentials()
        from concert_platform.sources.musicbrainz import LiveMusicBrainz  # only live runs need requests

        return LiveMusicBrainz(self.api_url, self.user_agent)


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
    """Settings -> resources: change a URL or a source's mode in the environment and this is all that follows it.

    ``Settings`` has already refused a live source without credentials, so a
    deployment that forgot one fails here, at load, not in the middle of a run.
    """
    from concert_platform.defs.io_manager import LakeWarehouseIOManager

    lake = LakeResource(url=settings.lake_url, endpoint_url=settings.aws_endpoint_url)
    warehouse = WarehouseResource(
        url=_secret("CONCERT_WAREHOUSE_URL", settings.warehouse_url),
        schema_name=settings.warehouse_schema,
        redshift_iam_role=settings.redshift_iam_role,
    )
    world = {"demo_seed": settings.demo_seed, "demo_date": settings.demo_date.isoformat() if settings.demo_date else None}
    modes = settings.concert_sources

    def live_only(source: str, value):
        # A demo source gets no credentials: its config in the UI then shows what it really uses.
        return value if modes[source] == "live" else None

    return {
        "io_manager": LakeWarehouseIOManager(lake=lake, warehouse=warehouse),
        "lake": lake,
        "warehouse": warehouse,
        "landing": LandingZoneResource(url=settings.landing_url, endpoint_url=settings.aws_endpoint_url),
        "quality": QualityResource(max_reject_rate=settings.max_reject_rate),
        "ticketmaster": TicketmasterResource(
            mode=modes["ticketmaster"],
            api_url=settings.ticketmaster_api_url,
            api_key=live_only("ticketmaster", _secret("TICKETMASTER_API_KEY", settings.ticketmaster_api_key)),
            countries=settings.ticketmaster_countries,
            cities=settings.ticketmaster_cities,
            **world,
        ),
        "spotify": SpotifyResource(
            mode=modes["spotify"],
            api_url=settings.spotify_api_url,
            token_url=settings.spotify_token_url,
            client_id=live_only("spotify", settings.spotify_client_id),
            client_secret=live_only("spotify", _secret("SPOTIFY_CLIENT_SECRET", settings.spotify_client_secret)),
            **world,
        ),
        "musicbrainz": MusicBrainzResource(
            mode=modes["musicbrainz"],
            api_url=settings.musicbrainz_api_url,
            user_agent=live_only("musicbrainz", settings.musicbrainz_user_agent),
            **world,
        ),
    }
