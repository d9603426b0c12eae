"""The demo world: a seeded, self-consistent catalog of artists, venues and concerts.

The catalog is the single truth the three demo clients (``sources.demo``) (and the landing-zone
generator in ``demo_sales``) read from, so cross-source links agree: the
Spotify link on a Ticketmaster attraction, the Spotify artist object and the
MusicBrainz url relation name the same artist. Some artists carry no links at
all and can only be found by name; a few names are shared by different
artists, told apart only by MusicBrainz's disambiguation.

Determinism: all draws come from ``random.Random(seed)`` in a fixed order and
never from the clock; dates are offsets from ``anchor``, ids are hashes of
(seed, kind, index), so moving the anchor moves dates but keeps every id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from concert_platform.sources import demo_payloads as p

DEFAULT_ANCHOR = date(2026, 11, 1)
# Shows fall between PAST_DAYS before the anchor and FUTURE_DAYS after it: enough played shows, with their
# whole booking curves, for the insights engine's rolling-origin backtest (issue 9), and half a year ahead.
PAST_DAYS, FUTURE_DAYS = 270, 240
SELLING_STATUSES = frozenset({"onsale", "rescheduled"})  # postponed shows pause sales; offsale ones never sell
_STATUSES = (
    ("onsale", 0.84),
    ("offsale", 0.04),
    ("canceled", 0.03),
    ("cancelled", 0.02),
    ("postponed", 0.03),
    ("rescheduled", 0.04),
)
_KIND_WEIGHTS = (("club", 0.45), ("theatre", 0.30), ("arena", 0.18), ("stadium", 0.07))


@dataclass(frozen=True, slots=True)
class DemoVenue:
    id: str
    name: str
    kind: str  # club | theatre | arena | stadium
    capacity: int  # the truth; only the landing zone's reference file publishes it
    city: str  # as Ticketmaster shows it, stray whitespace included
    state_name: str | None
    state_code: str | None
    country_name: str
    country_code: str
    timezone: str
    postal_code: str
    address: str
    latitude: str
    longitude: str
    currency: str
    market_id: str
    market_name: str
    dma_id: int | None


@dataclass(frozen=True, slots=True)
class DemoArtist:
    tm_id: str
    name: str  # canonical, as Spotify and MusicBrainz spell it
    tm_name: str  # as Ticketmaster spells it: sometimes stray whitespace or folded accents
    kind: str  # Person | Group
    genre: int  # index into GENRES, -1 = Undefined
    sub_genre: int
    country: str
    mb_country: str | None  # what MusicBrainz says: absent, "XW" or the country
    popularity: int
    followers: int
    extended: bool  # Spotify shows followers/genres/popularity (Extended quota)
    images: bool
    spotify_id: str | None
    mbid: str | None
    tm_links_spotify: bool
    tm_links_mb: bool
    mb_links_spotify: bool
    homepage: str | None
    disambiguation: str
    begin: str | None  # partial date: "1998", "1998-04" or "1998-04-17"
    end: str | None
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoEvent:
    id: str
    name: str
    headliner: DemoArtist | None
    support: tuple[DemoArtist, ...]
    venue: DemoVenue
    local_date: date | None  # None: date to be announced
    local_time: time | None
    starts_at: datetime | None  # UTC; known to the catalog even when the payload hides the time
    time_tba: bool
    status: str  # as Ticketmaster spells it (both canceled and cancelled occur)
    initial_start: datetime | None  # local wall time before a postponement or reschedule
    onsale_start: datetime  # UTC, the truth even when the payload shows the 1900 placeholder
    onsale_unknown: bool
    presale: bool
    price: tuple[float, float] | None
    currency: str
    show_timezone: bool  # ~20% of real events omit dates.timezone
    genre: int
    sub_genre: int

    @property
    def date_tba(self) -> bool:
        return self.local_date is None

    @property
    def sells(self) -> bool:
        return self.starts_at is not None and self.status in SELLING_STATUSES


class DemoCatalog:
    def __init__(
        self, seed: int = 7, anchor: date = DEFAULT_ANCHOR, *, n_artists: int = 300, n_venues: int = 150, n_events: int = 5400
    ):
        self.seed, self.anchor = seed, anchor
        rng = random.Random(seed)
        self.artists = _make_artists(rng, seed, n_artists)
        self.venues = _make_venues(rng, seed, n_venues)
        self.events = _make_events(rng, seed, anchor, n_events, self.artists, self.venues)
        self.venue_by_id = {v.id: v for v in self.venues}
        self.event_by_id = {e.id: e for e in self.events}
        self.upcoming: dict[str, int] = {}  # attraction/venue id -> shows from the anchor on (or TBA)
        for e in self.events:
            if e.local_date is None or e.local_date >= anchor:
                for key in {e.venue.id, *(a.tm_id for a in (e.headliner, *e.support) if a)}:
                    self.upcoming[key] = self.upcoming.get(key, 0) + 1

    def event_payload(self, event: DemoEvent) -> dict:
        return p.tm_event(event, self.upcoming)


def _pick(rng: random.Random, weighted: tuple) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def _artist_name(rng: random.Random) -> tuple[str, str]:
    adj, noun, first, last = (rng.choice(words) for words in (p.ADJECTIVES, p.NOUNS, p.FIRST_NAMES, p.LAST_NAMES))
    r = rng.random()
    if r < 0.35:
        return f"The {adj} {noun}", "Group"
    if r < 0.55:
        return f"{adj} {noun}", "Group"
    if r < 0.9:
        return f"{first} {last}", "Person"
    return (f"DJ {last}", "Person") if r < 0.95 else (f"{first} & the {noun}", "Group")


def _tm_spelling(rng: random.Random, name: str) -> str:
    """How Ticketmaster writes a name: accents dropped on about half, stray whitespace on a few."""
    r, folded = rng.random(), p.ascii_fold(name)
    if r < 0.5 and folded != name:
        return folded
    if r < 0.06:
        return (f" {name}", f"{name}  ", name.replace(" ", "  ", 1))[int(r / 0.02)]
    return name


def _make_artists(rng: random.Random, seed: int, n: int) -> list[DemoArtist]:
    names: list[tuple[str, str]] = []
    seen: set[str] = set()
    n_shared = max(1, min(5, n // 60))  # names that two different artists carry
    while len(names) < n - n_shared:
        name, kind = _artist_name(rng)
        if p.normalize_name(name) not in seen:
            seen.add(p.normalize_name(name))
            names.append((name, kind))
    twins = rng.sample(range(len(names)), n_shared)
    names += [names[i] for i in twins]
    twin_of = {len(names) - n_shared + k: i for k, i in enumerate(twins)}
    countries = [c[4] for c in p.CITIES]
    artists = []
    for i, (name, kind) in enumerate(names):
        shared = i in twin_of or i in twin_of.values()
        on_spotify, on_mb = rng.random() < 0.9 or shared, rng.random() < 0.85 or shared
        genre = rng.randrange(len(p.GENRES)) if rng.random() > 0.05 else -1
        country, popularity = rng.choice(countries), int(rng.betavariate(2, 3) * 100)
        links_sp, links_mb, mb_rel = rng.random() < 0.67, rng.random() < 0.59, rng.random() < 0.6
        if i in twin_of:  # one twin of each pair is reachable only by name
            links_sp = links_mb = mb_rel = False
        elif shared:
            links_sp = links_mb = True
        tm_name = _tm_spelling(rng, name)
        year, month, day = rng.randint(1968, 2022), rng.randint(1, 12), rng.randint(1, 28)
        begin = rng.choice([str(year), f"{year}-{month:02d}", f"{year}-{month:02d}-{day:02d}", None])  # partial dates
        mb_country = _pick(rng, ((country, 0.84), (None, 0.12), ("XW", 0.04)))
        genre_word = p.genre_of(genre)[0].lower().split("/")[0]
        disamb = (
            f"{p.DEMONYM[country]} {genre_word} {'band' if kind == 'Group' else 'artist'}" if shared or rng.random() < 0.1 else ""
        )
        if i in twin_of and disamb == artists[twin_of[i]].disambiguation:
            disamb += f", since {year}"  # MusicBrainz requires twins to differ here
        aliases = tuple(a for a in {p.ascii_fold(name), name[4:] if name.startswith("The ") else name} if a != name)
        artists.append(
            DemoArtist(
                tm_id="K8vZ91" + p.token(seed, "attraction", i, length=5),
                name=name,
                tm_name=tm_name,
                kind=kind,
                genre=genre,
                sub_genre=rng.randrange(2),
                country=country,
                mb_country=mb_country,
                popularity=popularity,
                followers=int(10 ** (2 + popularity / 20 + rng.random())),
                extended=rng.random() < 0.5,
                images=rng.random() < 0.85,
                spotify_id=p.token(seed, "spotify", i, length=22) if on_spotify else None,
                mbid=p.stable_uuid(seed, "mbid", i) if on_mb else None,
                tm_links_spotify=on_spotify and links_sp,
                tm_links_mb=on_mb and links_mb,
                mb_links_spotify=on_spotify and on_mb and mb_rel,
                homepage=f"https://www.{p._slug(name).replace('-', '')}.com/" if rng.random() < 0.3 else None,
                disambiguation=disamb,
                begin=begin,
                end=str(year + rng.randint(2, 15)) if rng.random() < 0.05 else None,
                aliases=tuple(sorted(aliases)),
            )
        )
    return artists


def _make_venues(rng: random.Random, seed: int, n: int) -> list[DemoVenue]:
    venues, taken = [], set()
    for i in range(n):
        ci = i if i < len(p.CITIES) else rng.randrange(len(p.CITIES))  # every city (so every country) at least once
        city, state, state_code, country_name, cc, tz, lat, lon = p.CITIES[ci]
        kind = _pick(rng, _KIND_WEIGHTS)
        low, high, suffixes, _ = p.VENUE_KINDS[kind]
        name = f"{rng.choice(p.VENUE_WORDS)} {rng.choice(suffixes)}"
        while (name, city) in taken:
            name = f"The {name}" if not name.startswith("The ") else f"{rng.choice(p.VENUE_WORDS)} {name[4:]}"
        taken.add((name, city))
        digits = 8 if rng.random() < 0.8 else 4
        r = rng.random()
        shown_city = f" {city}" if r < 0.03 else f"{city} " if r < 0.06 else city
        number, street = rng.randint(1, 999), rng.choice(p.STREETS)
        venues.append(
            DemoVenue(
                id="KovZ" + p.token(seed, "venue", i, length=8),
                name=name,
                kind=kind,
                capacity=rng.randint(low // 50, high // 50) * 50,
                city=shown_city,
                state_name=state,
                state_code=state_code,
                country_name=country_name,
                country_code=cc,
                timezone=tz,
                postal_code=_postal_code(rng, cc),
                address=f"{number} {street}" if cc in ("US", "GB", "IE", "CA", "AU", "NZ") else f"{street} {number}",
                latitude=f"{lat + rng.uniform(-0.08, 0.08):.{digits}f}",
                longitude=f"{lon + rng.uniform(-0.08, 0.08):.{digits}f}",
                currency=p.CURRENCY[cc],
                market_id=str(ci + 1),
                market_name=f"{city} Area",
                dma_id=200 + ci if cc in ("US", "CA") else None,
            )
        )
    return venues


def _postal_code(rng: random.Random, cc: str) -> str:
    """A code in the country's format: L = letter, # = digit."""
    template = p.POSTAL_FORMATS.get(cc, "#####")
    return "".join(
        rng.choice("ABCDEFGHJKLMNPRSTVWXY") if c == "L" else str(rng.randint(1, 9)) if c == "#" else c for c in template
    )


def _make_events(
    rng: random.Random, seed: int, anchor: date, n: int, artists: list[DemoArtist], venues: list[DemoVenue]
) -> list[DemoEvent]:
    weights = [(a.popularity + 5) ** 1.5 for a in artists]
    by_kind = {k: [v for v in venues if v.kind == k] for k, _ in _KIND_WEIGHTS}
    events: list[DemoEvent] = []
    while len(events) < n:
        a = rng.choices(artists, weights)[0]
        venue = rng.choice(by_kind[_venue_kind(rng, a.popularity)] or venues)
        day = anchor + timedelta(days=rng.randint(-PAST_DAYS, FUTURE_DAYS))
        r = rng.random()
        festival, tba, time_tba = r < 0.02, 0.02 <= r < 0.035, 0.035 <= r < 0.055
        headliner = None if festival else a
        support = () if festival or rng.random() > 0.3 else tuple(s for s in rng.sample(artists, rng.randint(1, 2)) if s is not a)
        name = _event_name(rng, headliner, support, venue)
        if rng.random() < 0.03 and not tba and len(events) + 2 <= n:
            times = [time(14, 0), time(20, 0)]
        else:
            times = [time(rng.choice((19, 20, 21)), rng.choice((0, 30)))]
        status = _pick(rng, _STATUSES)
        shift = timedelta(days=rng.randint(7, 60))
        lead = timedelta(days=rng.randint(14, 180))
        price = None if rng.random() < 0.25 else _price_range(rng, venue, a.popularity)
        flags = dict(onsale_unknown=rng.random() < 0.03, presale=rng.random() < 0.15, show_timezone=rng.random() >= 0.2)
        genre, sub = (-1, 0) if festival or rng.random() < 0.03 else (a.genre, a.sub_genre)
        zone = ZoneInfo(venue.timezone)
        for local_time in times:  # a matinee and an evening show are two events
            local = datetime.combine(day, local_time)
            initial = {"postponed": local, "rescheduled": local - shift}.get(status) if not tba else None
            onsale_day = (day if not tba else anchor) - lead
            events.append(
                DemoEvent(
                    id="vvG1" + p.token(seed, "event", len(events), length=10),
                    name=name,
                    headliner=headliner,
                    support=support,
                    venue=venue,
                    local_date=None if tba else day,
                    local_time=None if tba else local_time,
                    starts_at=None if tba else local.replace(tzinfo=zone).astimezone(UTC),
                    time_tba=time_tba,
                    status=status,
                    initial_start=initial,
                    onsale_start=datetime.combine(onsale_day, time(10, 0), zone).astimezone(UTC),
                    price=price,
                    currency=venue.currency,
                    genre=genre,
                    sub_genre=sub,
                    **flags,
                )
            )
    return events


def _venue_kind(rng: random.Random, popularity: int) -> str:
    """Bigger acts play bigger rooms, with some noise either way."""
    for kind, ceiling in (("club", 35), ("theatre", 60), ("arena", 82)):
        if popularity + rng.gauss(0, 12) < ceiling:
            return kind
    return "stadium"


def _event_name(rng: random.Random, headliner: DemoArtist | None, support: tuple, venue: DemoVenue) -> str:
    adj, noun = rng.choice(p.ADJECTIVES), rng.choice(p.NOUNS)
    if headliner is None:
        return f"{venue.city.strip()} {adj} {noun} Festival"
    if rng.random() < 0.3:
        return f"{headliner.tm_name} - {adj} {noun} Tour"
    if support and rng.random() < 0.5:
        return f"{headliner.tm_name} with {support[0].tm_name}"
    return headliner.tm_name


def _price_range(rng: random.Random, venue: DemoVenue, popularity: int) -> tuple[float, float]:
    if rng.random() < 0.03:
        return 0.0, 0.0  # Ticketmaster's "price not set" placeholder
    floor = p.VENUE_KINDS[venue.kind][3] * p.PRICE_SCALE[venue.currency] * (0.7 + popularity / 100)
    low = round(floor * rng.uniform(0.8, 1.3) * 2) / 2
    return float(low), float(round(low * rng.uniform(1.5, 4.0) * 2) / 2)


# ---- clients ---------------------------------------------------------------------------------


def to_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
