"""Shared building blocks of the models: the base entity, the location fields,
and the constrained types every model reuses.

Each custom rule is a small callable class used through ``AfterValidator``.
Pydantic runs it per record; ``concert_platform.validation`` recognises the
same objects and applies them column-wise to whole batches, so a rule is
written once and both paths enforce it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from concert_platform.models.codes import ISO_3166_ALPHA2, ISO_4217


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OneOf:
    """The value must be one of a closed set of strings."""

    values: frozenset[str] = field(repr=False)
    what: str

    def __call__(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(f"{value!r} is not a valid {self.what}")
        return value


@dataclass(frozen=True)
class NotInFuture:
    """A timestamp may not lie further ahead of now than ``tolerance`` (clock skew)."""

    tolerance: timedelta

    def __call__(self, value: datetime) -> datetime:
        if value > utc_now() + self.tolerance:
            raise ValueError(f"{value.isoformat()} lies in the future")
        return value


@dataclass(frozen=True)
class DateBetween:
    """A calendar date must fall in [earliest, latest]."""

    earliest: date
    latest: date

    def __call__(self, value: date) -> date:
        if not self.earliest <= value <= self.latest:
            raise ValueError(f"{value.isoformat()} is outside {self.earliest.isoformat()}..{self.latest.isoformat()}")
        return value


def condense(exc: ValidationError) -> str:
    """Pydantic's errors on one line: 'quantity: Input should be ...; currency: Value error, ...'."""
    parts = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"])
        message = " ".join(str(err["msg"]).split())
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


_IANA_TIMEZONES = frozenset(available_timezones())

CountryCode = Annotated[str, AfterValidator(OneOf(ISO_3166_ALPHA2, "ISO-3166 alpha-2 country code"))]
CurrencyCode = Annotated[str, AfterValidator(OneOf(ISO_4217, "ISO-4217 currency code"))]
TimeZoneName = Annotated[str, AfterValidator(OneOf(_IANA_TIMEZONES, "IANA time zone"))]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Money = Annotated[Decimal, Field(ge=0, le=100_000, max_digits=12, decimal_places=4)]
# Sales and shows from before 2000 or decades ahead are typing errors, not data.
EventDate = Annotated[date, AfterValidator(DateBetween(date(2000, 1, 1), date(2100, 12, 31)))]
PastTimestamp = Annotated[AwareDatetime, AfterValidator(NotInFuture(timedelta(days=1)))]


class BaseEntity(BaseModel):
    """Fields every stored entity carries; ``extra="ignore"`` lets sources add fields freely."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    created_at: AwareDatetime = Field(default_factory=utc_now, description="When the record was first built")
    updated_at: AwareDatetime = Field(default_factory=utc_now, description="When the record was last rebuilt")


class Location(BaseModel):
    """Where something is: mixed into models that have a place (venues, artists' home)."""

    city: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    region: Annotated[str, Field(max_length=200)] | None = None
    country: CountryCode | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
