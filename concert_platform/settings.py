"""The platform's settings: environment variables (and ``.env``), read once.

``Settings()`` is built when definitions load, never at import time, and the
values reach assets only through resources. Secrets are ``SecretStr`` so they
print as ``**********`` wherever a settings object ends up in a log.

``CONCERT_SOURCES`` says which sources run live and which on the seeded demo
world. It is the only switch: credentials never choose the mode, so a live
source without its credentials fails here, when the definitions load, and
credentials of a demo source are ignored with a warning.

The storage settings are checked here too, from their text alone (no driver,
no connection; `storage.config_checks`): an unknown warehouse scheme, a bad
port, a schema name PostgreSQL would refuse or cut, a Redshift without its
IAM role or an S3 lake. Every problem is reported at once, when the
definitions load, before any run reads data. ``warehouse_url`` may carry a
password, so it is left out of the settings' repr.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from concert_platform.storage.config_checks import endpoint_problems, location_problems, warehouse_problems

SourceMode = Literal["demo", "live"]
MODES: tuple[str, ...] = ("demo", "live")
SOURCES: tuple[str, ...] = ("ticketmaster", "spotify", "musicbrainz")
# What a source needs to run live: environment variable -> Settings field.
SOURCE_CREDENTIALS: dict[str, dict[str, str]] = {
    "ticketmaster": {"TICKETMASTER_API_KEY": "ticketmaster_api_key"},
    "spotify": {"SPOTIFY_CLIENT_ID": "spotify_client_id", "SPOTIFY_CLIENT_SECRET": "spotify_client_secret"},
    "musicbrainz": {"MUSICBRAINZ_USER_AGENT": "musicbrainz_user_agent"},
}
_MIXED_EXAMPLE = "ticketmaster=live,spotify=demo,musicbrainz=live"
# A log record, not warnings.warn: Dagster's CLI and code server show log records
# while loading a code location, but `dagster definitions validate` drops warnings.
log = logging.getLogger(__name__)


def parse_source_modes(value: str | Mapping[str, str]) -> dict[str, str]:
    """``demo``, ``live`` or ``source=mode,…`` naming every source -> ``{source: mode}`` in `SOURCES` order.

    A list must name each source exactly once: leaving one out would pick its
    mode silently, which is the surprise this setting exists to prevent.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in MODES:
            return dict.fromkeys(SOURCES, text)
        pairs = []
        for entry in (part.strip() for part in text.split(",")):
            name, sep, mode = entry.partition("=")
            if not sep:
                raise ValueError(
                    f"CONCERT_SOURCES entry {entry!r} is not source=mode: expected demo, live, or every source named, "
                    f"e.g. {_MIXED_EXAMPLE}"
                )
            pairs.append((name.strip(), mode.strip()))
    elif isinstance(value, Mapping):
        pairs = [(str(name).strip().lower(), str(mode).strip().lower()) for name, mode in value.items()]
    else:
        raise ValueError(f"CONCERT_SOURCES must be demo, live or a source=mode list, not a {type(value).__name__}")
    names = [name for name, _ in pairs]
    problems = [f"unknown source {name!r}" for name in names if name not in SOURCES]
    problems += [f"unknown mode {mode!r} for {name}" for name, mode in pairs if mode not in MODES]
    problems += [f"{name} named {names.count(name)} times" for name in dict.fromkeys(names) if names.count(name) > 1]
    missing = [name for name in SOURCES if name not in names]
    if missing:
        problems.append(f"{', '.join(missing)} not named")
    if problems:
        raise ValueError(
            f"CONCERT_SOURCES: {'; '.join(problems)} (expected demo, live, or each of {', '.join(SOURCES)} "
            f"named once, e.g. {_MIXED_EXAMPLE})"
        )
    modes = dict(pairs)
    return {name: modes[name] for name in SOURCES}


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error would otherwise print the raw input,
    # credentials included, into Dagster's load-error page and the logs.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    # Named like its variable: with populate_by_name, pydantic-settings also reads a variable named
    # like the field, and a stray SOURCES in someone's shell must not pick the data.
    concert_sources: Annotated[dict[str, SourceMode], NoDecode] = Field(
        default_factory=lambda: dict.fromkeys(SOURCES, "demo"), validation_alias="CONCERT_SOURCES"
    )

    lake_url: str = Field(".concert_data/lake", validation_alias="CONCERT_LAKE_URL")
    # repr=False: the URL may carry a password, and a settings object can end up in a log or a traceback.
    warehouse_url: str = Field("duckdb:///.concert_data/warehouse.duckdb", validation_alias="CONCERT_WAREHOUSE_URL", repr=False)
    warehouse_schema: str = Field("concert", validation_alias="CONCERT_WAREHOUSE_SCHEMA")
    landing_url: str = Field(".concert_data/landing", validation_alias="CONCERT_LANDING_URL")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    redshift_iam_role: str | None = Field(None, validation_alias="CONCERT_REDSHIFT_IAM_ROLE")

    spotify_client_id: str | None = Field(None, validation_alias="SPOTIFY_CLIENT_ID")
    spotify_client_secret: SecretStr | None = Field(None, validation_alias="SPOTIFY_CLIENT_SECRET")
    ticketmaster_api_key: SecretStr | None = Field(None, validation_alias="TICKETMASTER_API_KEY")
    musicbrainz_user_agent: str | None = Field(None, validation_alias="MUSICBRAINZ_USER_AGENT")
    spotify_api_url: str = Field("https://api.spotify.com/v1", validation_alias="SPOTIFY_API_URL")
    spotify_token_url: str = Field("https://accounts.spotify.com/api/token", validation_alias="SPOTIFY_TOKEN_URL")
    ticketmaster_api_url: str = Field("https://app.ticketmaster.com/discovery/v2", validation_alias="TICKETMASTER_API_URL")
    musicbrainz_api_url: str = Field("https://musicbrainz.org/ws/2", validation_alias="MUSICBRAINZ_API_URL")

    # Beyond the ARCHITECTURE table: knobs a deployment tunes.
    ticketmaster_countries: Annotated[list[str], NoDecode] = Field(["US"], validation_alias="CONCERT_TICKETMASTER_COUNTRIES")
    ticketmaster_cities: Annotated[list[str], NoDecode] = Field([], validation_alias="CONCERT_TICKETMASTER_CITIES")
    sales_start_date: date = Field(date(2026, 1, 1), validation_alias="CONCERT_SALES_START_DATE")
    max_reject_rate: float = Field(0.05, ge=0, le=1, validation_alias="CONCERT_MAX_REJECT_RATE")
    landing_settle_seconds: float = Field(60, ge=0, validation_alias="CONCERT_LANDING_SETTLE_SECONDS")
    demo_seed: int = Field(7, validation_alias="CONCERT_DEMO_SEED")
    demo_date: date | None = Field(None, validation_alias="CONCERT_DEMO_DATE")

    @field_validator(
        "aws_endpoint_url",
        "redshift_iam_role",
        "spotify_client_id",
        "spotify_client_secret",
        "ticketmaster_api_key",
        "musicbrainz_user_agent",
        "demo_date",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value):
        # `.env.example` copied as-is leaves `KEY=`: that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("concert_sources", mode="before")
    @classmethod
    def _source_modes(cls, value):
        # Blank like every other setting: `CONCERT_SOURCES=` means the default, demo.
        if isinstance(value, str) and not value.strip():
            return dict.fromkeys(SOURCES, "demo")
        return parse_source_modes(value)

    @model_validator(mode="after")
    def _configuration_is_usable(self):
        # Every problem at once, so a deployment is not fixed one error per attempt.
        problems = [*self._credential_problems(), *self._storage_problems()]
        if problems:
            raise ValueError("; ".join(problems))
        self._warn_of_ignored_credentials()
        return self

    def _credential_problems(self) -> list[str]:
        missing = [
            variable
            for source in self.live_sources
            for variable, name in SOURCE_CREDENTIALS[source].items()
            if getattr(self, name) is None
        ]
        if not missing:
            return []
        return [
            f"CONCERT_SOURCES runs {', '.join(self.live_sources)} live, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set: set {'it' if len(missing) == 1 else 'them'}, "
            "or run those sources on demo data (CONCERT_SOURCES=demo, or one mode per source, "
            f"e.g. {_MIXED_EXAMPLE})"
        ]

    def _storage_problems(self) -> list[str]:
        # From the text alone, so the definitions refuse to load rather than a run failing at its first write;
        # whether the places can be reached is asked when a run starts (the resources' probes).
        return [
            *warehouse_problems(
                self.warehouse_url,
                self.warehouse_schema,
                redshift_iam_role=self.redshift_iam_role,
                lake_url=self.lake_url,
            ),
            *location_problems("CONCERT_LAKE_URL", self.lake_url),
            *location_problems("CONCERT_LANDING_URL", self.landing_url),
            *endpoint_problems(self.aws_endpoint_url),
        ]

    def _warn_of_ignored_credentials(self) -> None:
        ignored = {
            source: [variable for variable, name in SOURCE_CREDENTIALS[source].items() if getattr(self, name) is not None]
            for source, mode in self.concert_sources.items()
            if mode == "demo"
        }
        ignored = {source: variables for source, variables in ignored.items() if variables}
        if ignored:
            variables = [variable for names in ignored.values() for variable in names]
            log.warning(
                "CONCERT_SOURCES runs %s on demo data, so %s %s ignored; set CONCERT_SOURCES=live (or one mode per source, "
                "e.g. %s) to use live data",
                ", ".join(ignored),
                ", ".join(variables),
                "is" if len(variables) == 1 else "are",
                _MIXED_EXAMPLE,
            )

    @field_validator("ticketmaster_countries", "ticketmaster_cities", mode="before")
    @classmethod
    def _comma_list(cls, value):
        # Comma-separated in the environment: "US,GB".
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def demo_anchor(self) -> date:
        """The day the demo world is built around: pinned by CONCERT_DEMO_DATE, else today (UTC)."""
        return self.demo_date or datetime.now(UTC).date()

    @property
    def live_sources(self) -> list[str]:
        return [source for source, mode in self.concert_sources.items() if mode == "live"]
