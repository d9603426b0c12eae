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

import contextlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import ClassVar, Literal

import dagster as dg

from concert_platform.run_health.heartbeat import beating
from concert_platform.settings import Settings
from concert_platform.sources.base import MusicBrainzClient, SpotifyClient, TicketmasterClient
from concert_platform.sources.demo import DemoCatalog, DemoMusicBrainz, DemoSpotify, DemoTicketmaster
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.lake import Lake
from concert_platform.storage.urls import split_url
from concert_platform.storage.warehouse import Warehouse, WarehouseUnreachable, make_warehouse

log = logging.getLogger(__name__)


class LakeResource(dg.ConfigurableResource):
    """Where asset Parquet lives: a folder or ``s3://bucket/prefix``.

    A run proves the lake writable when it starts (`setup_for_execution`), before it reads anything.
    """

    url: str
    endpoint_url: str | None = None

    def lake(self) -> Lake:
        return Lake(open_location(self.url, self.endpoint_url))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from concert_platform.storage.location_probe import LocationUnreachable, probe_location

        try:
            probe_location(open_location(self.url, self.endpoint_url), "lake (CONCERT_LAKE_URL)")
        except LocationUnreachable as exc:
            raise LocationUnreachable(f"{exc} (so the run stops before reading anything)") from None


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
    """The warehouse ``url`` names. ``Settings`` has checked the URL and schema when the definitions loaded;
    a run reaches the warehouse once when it starts (`setup_for_execution`), so a wrong host or a dead server
    stops it before any data is read."""

    url: str
    schema_name: str = "concert"
    redshift_iam_role: str | None = None

    def warehouse(self) -> Warehouse:
        return make_warehouse(self.url, self.schema_name, redshift_iam_role=self.redshift_iam_role)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        # Every step of every job needs the warehouse (the IO manager's or a check's, tested), so this is where
        # each run worker's heartbeat starts, before the probe, and stops when the run's resources are torn down.
        run_id = context.run.run_id if context.run else None  # no run: a sensor's or a schedule's resources
        with beating(context.instance, run_id), super().yield_for_execution(context) as resource:
            yield resource

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self.warehouse().probe()
        except WarehouseUnreachable as exc:
            raise WarehouseUnreachable(
                f"the warehouse (CONCERT_WAREHOUSE_URL) cannot be reached, so the run stops before reading anything: {exc}"
            ) from None


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


def _secret(variable: str, value, *, secret: bool = True) -> str | dg.EnvVar | None:
    """Hand a secret over as an ``EnvVar``, so Dagster shows and stores the variable's name, never its value.

    A resource's config values are shown in the UI and stored with every run
    (in the job's snapshot, in the instance's database); an ``EnvVar`` is
    stored as its name and read in the process that runs. A value ``Settings``
    read from ``.env`` is put into the environment first, as Dagster's own
    command-line tools do with ``.env``. A value handed over in code can only be
    passed as is: that is logged, naming the variable. ``secret=False`` says
    this value holds nothing secret (a URL without a password) and may be shown.
    """
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if variable not in os.environ and _from_env_file(variable) == plain:
        os.environ[variable] = plain
    if os.environ.get(variable) == plain:
        return dg.EnvVar(variable)
    if secret:
        log.warning(
            "%s was handed over in code, not taken from the environment or .env, so Dagster shows its value in the "
            "resources' config and stores it with every run; set it in the environment to keep it out",
            variable,
        )
    return plain


def _has_password(url: str) -> bool:
    return bool(split_url(url).secrets) if "://" in url else False


def _from_env_file(variable: str) -> str | None:
    """The value ``Settings`` reads for ``variable`` from its ``.env`` file, if it has one."""
    env_file = Settings.model_config.get("env_file")
    if not env_file or not isinstance(env_file, (str, os.PathLike)) or not os.path.isfile(env_file):
        return None
    from dotenv import dotenv_values  # only when there is a .env to read

    return dotenv_values(env_file).get(variable)


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Settings -> resources: change a URL or a source's mode in the environment and this is all that follows it.

    ``Settings`` has already refused a live source without credentials, so a
    deployment that forgot one fails here, at load, not in the middle of a run.
    """
    from concert_platform.defs.io_manager import LakeWarehouseIOManager

    lake = LakeResource(url=settings.lake_url, endpoint_url=settings.aws_endpoint_url)
    warehouse = WarehouseResource(
        url=_secret("CONCERT_WAREHOUSE_URL", settings.warehouse_url, secret=_has_password(settings.warehouse_url)),
        schema_name=settings.warehouse_schema,
        redshift_iam_role=settings.redshift_iam_role,
    )
    world = {"demo_seed": settings.demo_seed, "demo_date": settings.demo_date.isoformat() if settings.demo_date else None}
    modes = settings.concert_sources

    def live_only(source: str, value, secret_variable: str | None = None):
        # A demo source gets no credentials: its config in the UI then shows what it really uses.
        if modes[source] != "live":
            return None
        return _secret(secret_variable, value) if secret_variable else value

    return {
        "io_manager": LakeWarehouseIOManager(lake=lake, warehouse=warehouse),
        "lake": lake,
        "warehouse": warehouse,
        "landing": LandingZoneResource(url=settings.landing_url, endpoint_url=settings.aws_endpoint_url),
        "quality": QualityResource(max_reject_rate=settings.max_reject_rate),
        "ticketmaster": TicketmasterResource(
            mode=modes["ticketmaster"],
            api_url=settings.ticketmaster_api_url,
            api_key=live_only("ticketmaster", settings.ticketmaster_api_key, "TICKETMASTER_API_KEY"),
            countries=settings.ticketmaster_countries,
            cities=settings.ticketmaster_cities,
            **world,
        ),
        "spotify": SpotifyResource(
            mode=modes["spotify"],
            api_url=settings.spotify_api_url,
            token_url=settings.spotify_token_url,
            client_id=live_only("spotify", settings.spotify_client_id),
            client_secret=live_only("spotify", settings.spotify_client_secret, "SPOTIFY_CLIENT_SECRET"),
            **world,
        ),
        "musicbrainz": MusicBrainzResource(
            mode=modes["musicbrainz"],
            api_url=settings.musicbrainz_api_url,
            user_agent=live_only("musicbrainz", settings.musicbrainz_user_agent),
            **world,
        ),
    }
