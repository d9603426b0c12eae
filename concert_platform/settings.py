"""The platform's settings: environment variables (and ``.env``), read once.

``Settings()`` is built when definitions load, never at import time, and the
values reach assets only through resources. Secrets are ``SecretStr`` so they
print as ``**********`` wherever a settings object ends up in a log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    lake_url: str = Field(".concert_data/lake", validation_alias="CONCERT_LAKE_URL")
    warehouse_url: str = Field("duckdb:///.concert_data/warehouse.duckdb", validation_alias="CONCERT_WAREHOUSE_URL")
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
    def spotify_is_live(self) -> bool:
        return bool(self.spotify_client_id and self.spotify_client_secret)

    @property
    def ticketmaster_is_live(self) -> bool:
        return self.ticketmaster_api_key is not None

    @property
    def musicbrainz_is_live(self) -> bool:
        return bool(self.musicbrainz_user_agent)
