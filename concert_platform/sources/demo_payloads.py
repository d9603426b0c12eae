"""The demo catalog's vocabulary, and the builders that dress its records as API payloads.

Shapes follow shared/API_NOTES.md (Ticketmaster Discovery v2, Spotify Web API,
MusicBrainz ws/2 JSON) so the parsers in ``transforms`` cannot tell demo from
live. Every id is a hash of (seed, kind, index): ids stay put when the anchor
date moves or the generation order changes. Builders return fresh dicts, so
callers may mutate what they get.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the records live in demo.py, which imports this module
    from concert_platform.sources.demo import DemoArtist, DemoEvent, DemoVenue

MUSIC_SEGMENT_ID = "KZFzniwnSyZfZ7v7nJ"
UNKNOWN_ONSALE = "1900-01-01T18:00:00Z"  # Ticketmaster's "sale start unknown" placeholder
TM_ROOT = "/discovery/v2"

# city, state name, state code, country name, country code, IANA zone, latitude, longitude
CITIES = [
    ("New York", "New York", "NY", "United States Of America", "US", "America/New_York", 40.7128, -74.0060),
    ("Brooklyn", "New York", "NY", "United States Of America", "US", "America/New_York", 40.6782, -73.9442),
    ("Los Angeles", "California", "CA", "United States Of America", "US", "America/Los_Angeles", 34.0522, -118.2437),
    ("Chicago", "Illinois", "IL", "United States Of America", "US", "America/Chicago", 41.8781, -87.6298),
    ("Austin", "Texas", "TX", "United States Of America", "US", "America/Chicago", 30.2672, -97.7431),
    ("Nashville", "Tennessee", "TN", "United States Of America", "US", "America/Chicago", 36.1627, -86.7816),
    ("Denver", "Colorado", "CO", "United States Of America", "US", "America/Denver", 39.7392, -104.9903),
    ("Phoenix", "Arizona", "AZ", "United States Of America", "US", "America/Phoenix", 33.4484, -112.0740),
    ("Seattle", "Washington", "WA", "United States Of America", "US", "America/Los_Angeles", 47.6062, -122.3321),
    ("Atlanta", "Georgia", "GA", "United States Of America", "US", "America/New_York", 33.7490, -84.3880),
    ("Honolulu", "Hawaii", "HI", "United States Of America", "US", "Pacific/Honolulu", 21.3069, -157.8583),
    ("London", None, None, "Great Britain", "GB", "Europe/London", 51.5074, -0.1278),
    ("Manchester", None, None, "Great Britain", "GB", "Europe/London", 53.4808, -2.2426),
    ("Glasgow", None, None, "Great Britain", "GB", "Europe/London", 55.8642, -4.2518),
    ("Berlin", None, None, "Germany", "DE", "Europe/Berlin", 52.5200, 13.4050),
    ("Hamburg", None, None, "Germany", "DE", "Europe/Berlin", 53.5511, 9.9937),
    ("München", None, None, "Germany", "DE", "Europe/Berlin", 48.1351, 11.5820),
    ("Paris", None, None, "France", "FR", "Europe/Paris", 48.8566, 2.3522),
    ("Lyon", None, None, "France", "FR", "Europe/Paris", 45.7640, 4.8357),
    ("Amsterdam", None, None, "Netherlands", "NL", "Europe/Amsterdam", 52.3676, 4.9041),
    ("Rotterdam", None, None, "Netherlands", "NL", "Europe/Amsterdam", 51.9244, 4.4777),
    ("Dublin", None, None, "Ireland", "IE", "Europe/Dublin", 53.3498, -6.2603),
    ("Madrid", None, None, "Spain", "ES", "Europe/Madrid", 40.4168, -3.7038),
    ("Stockholm", None, None, "Sweden", "SE", "Europe/Stockholm", 59.3293, 18.0686),
    ("Toronto", "Ontario", "ON", "Canada", "CA", "America/Toronto", 43.6532, -79.3832),
    ("Montréal", "Quebec", "QC", "Canada", "CA", "America/Toronto", 45.5019, -73.5674),
    ("Vancouver", "British Columbia", "BC", "Canada", "CA", "America/Vancouver", 49.2827, -123.1207),
    ("Calgary", "Alberta", "AB", "Canada", "CA", "America/Edmonton", 51.0447, -114.0719),
    ("Sydney", "New South Wales", "NSW", "Australia", "AU", "Australia/Sydney", -33.8688, 151.2093),
    ("Melbourne", "Victoria", "VIC", "Australia", "AU", "Australia/Melbourne", -37.8136, 144.9631),
    ("Brisbane", "Queensland", "QLD", "Australia", "AU", "Australia/Brisbane", -27.4698, 153.0251),
    ("Perth", "Western Australia", "WA", "Australia", "AU", "Australia/Perth", -31.9505, 115.8605),
    ("Auckland", None, None, "New Zealand", "NZ", "Pacific/Auckland", -36.8485, 174.7633),
    ("Ciudad de México", None, None, "Mexico", "MX", "America/Mexico_City", 19.4326, -99.1332),
]
CURRENCY = {
    "US": "USD",
    "GB": "GBP",
    "DE": "EUR",
    "FR": "EUR",
    "NL": "EUR",
    "IE": "EUR",
    "ES": "EUR",
    "SE": "SEK",
    "CA": "CAD",
    "AU": "AUD",
    "NZ": "NZD",
    "MX": "MXN",
}
PRICE_SCALE = {"USD": 1.0, "GBP": 0.8, "EUR": 0.95, "SEK": 10.5, "CAD": 1.35, "AUD": 1.5, "NZD": 1.65, "MXN": 18.0}
TM_DOMAIN = {
    "US": "com",
    "GB": "co.uk",
    "DE": "de",
    "FR": "fr",
    "NL": "nl",
    "IE": "ie",
    "ES": "es",
    "SE": "se",
    "CA": "ca",
    "AU": "com.au",
    "NZ": "co.nz",
    "MX": "com.mx",
}
DEMONYM = {
    "US": "American",
    "GB": "British",
    "DE": "German",
    "FR": "French",
    "NL": "Dutch",
    "IE": "Irish",
    "ES": "Spanish",
    "SE": "Swedish",
    "CA": "Canadian",
    "AU": "Australian",
    "NZ": "New Zealand",
    "MX": "Mexican",
}

# kind: (capacity low, capacity high, name suffixes, USD price floor)
VENUE_KINDS = {
    "club": (200, 2000, ("Club", "Room", "Ballroom", "Lounge", "Hall"), 18.0),
    "theatre": (1500, 5000, ("Theatre", "Music Hall", "Auditorium", "Opera House"), 35.0),
    "arena": (10_000, 25_000, ("Arena", "Center", "Dome"), 55.0),
    "stadium": (40_000, 80_000, ("Stadium", "Park", "Field"), 65.0),
}
VENUE_WORDS = (
    "Orpheum",
    "Roxy",
    "Paradiso",
    "Electric",
    "Palladium",
    "Apollo",
    "Riverside",
    "Union",
    "Empire",
    "Fillmore",
    "Bowery",
    "Forum",
    "Olympia",
    "Majestic",
    "Harbour",
    "Liberty",
    "Crystal",
    "Victoria",
)
POSTAL_FORMATS = {"GB": "LL## #LL", "NL": "#### LL", "CA": "L#L #L#", "IE": "D## L###", "AU": "####", "NZ": "####"}
STREETS = ("Main Street", "Market St", "High Street", "King Street", "Queen St", "Ocean Avenue", "Station Road")

# Ticketmaster genre, its id, subgenres (name, id), Spotify genre words, MusicBrainz genre names
GENRES = [
    (
        "Rock",
        "KnvZfZ7vAeA",
        (("Alternative Rock", "KZazBEonSMnZfZ7v6F1"), ("Pop Rock", "KZazBEonSMnZfZ7v6dE")),
        ("rock", "modern rock"),
        ("rock", "indie rock"),
    ),
    (
        "Pop",
        "KnvZfZ7vAev",
        (("Pop", "KZazBEonSMnZfZ7v7ak"), ("Indie Pop", "KZazBEonSMnZfZ7v6dl")),
        ("pop", "dance pop"),
        ("pop", "synth-pop"),
    ),
    (
        "Hip-Hop/Rap",
        "KnvZfZ7vAv1",
        (("Urban", "KZazBEonSMnZfZ7vFJ6"), ("Rap", "KZazBEonSMnZfZ7vFdA")),
        ("hip hop", "rap"),
        ("hip hop", "trap"),
    ),
    (
        "R&B",
        "KnvZfZ7vAee",
        (("Soul", "KZazBEonSMnZfZ7vFdE"), ("R&B", "KZazBEonSMnZfZ7vFdJ")),
        ("r&b", "neo soul"),
        ("rnb", "soul"),
    ),
    ("Country", "KnvZfZ7vAv6", (("Country", "KZazBEonSMnZfZ7v6dt"),), ("country", "americana"), ("country", "americana")),
    (
        "Dance/Electronic",
        "KnvZfZ7vAvF",
        (("House", "KZazBEonSMnZfZ7vFlE"), ("Techno", "KZazBEonSMnZfZ7vFl1")),
        ("edm", "house"),
        ("electronic", "house", "techno"),
    ),
    ("Jazz", "KnvZfZ7vAvE", (("Jazz", "KZazBEonSMnZfZ7vF1k"),), ("jazz", "contemporary jazz"), ("jazz",)),
    ("Metal", "KnvZfZ7vAvt", (("Heavy Metal", "KZazBEonSMnZfZ7vkdt"),), ("metal", "metalcore"), ("heavy metal", "metalcore")),
    ("Folk", "KnvZfZ7vAva", (("Folk", "KZazBEonSMnZfZ7vAv1"),), ("folk", "indie folk"), ("folk", "singer-songwriter")),
    ("Latin", "KnvZfZ7vAJ6", (("Latin Pop", "KZazBEonSMnZfZ7vAd7"),), ("latin pop", "reggaeton"), ("latin pop", "reggaeton")),
]
UNDEFINED_GENRE = ("Undefined", "KnvZfZ7vAvl", (("Undefined", "KZazBEonSMnZfZ7vFJA"),), (), ())
ADJECTIVES = (
    "Velvet",
    "Crimson",
    "Silver",
    "Electric",
    "Midnight",
    "Golden",
    "Hollow",
    "Neon",
    "Paper",
    "Wild",
    "Quiet",
    "Broken",
    "Northern",
    "Lunar",
    "Static",
    "Rusty",
    "Burning",
    "Glass",
    "Stone",
    "Wandering",
    "Little",
    "Young",
    "Lost",
    "Secret",
)
NOUNS = (
    "Foxes",
    "Harbor",
    "Tigers",
    "Rivers",
    "Echoes",
    "Lanterns",
    "Owls",
    "Machines",
    "Parade",
    "Wolves",
    "Satellites",
    "Horses",
    "Ghosts",
    "Mountains",
    "Sparrows",
    "Kites",
    "Engines",
    "Daughters",
    "Saints",
    "Comets",
    "Giants",
    "Bees",
)
FIRST_NAMES = (
    "Maya",
    "Leo",
    "Nina",
    "Omar",
    "Ivy",
    "Jonah",
    "Zoë",
    "Renée",
    "José",
    "Søren",
    "Åsa",
    "Chloé",
    "Björn",
    "Inés",
    "Noémie",
    "Jürgen",
    "Ada",
    "Felix",
    "Priya",
    "Kenji",
    "Lena",
    "Theo",
    "Ruby",
    "Tomás",
)
LAST_NAMES = (
    "Lindqvist",
    "Okafor",
    "Moreau",
    "Castillo",
    "Hart",
    "Becker",
    "Nakamura",
    "Quinn",
    "Ødegaard",
    "Núñez",
    "Müller",
    "Dubois",
    "Kowalski",
    "Reyes",
    "Sato",
    "Walsh",
    "Ferreira",
    "Haddad",
    "Novak",
    "Brennan",
)
_MB_TYPE_IDS = {"Person": "b6e035f4-3ce9-331c-97df-83397230b0df", "Group": "e431f5f6-b5d2-343d-8b36-72607fffb74b"}
_REL_TYPE_IDS = {
    "free streaming": "769085a1-c2f7-4c24-a532-2375a77693bd",
    "streaming": "63cc5d1f-f096-4c94-a43f-ecb32ea94161",
    "official homepage": "fe33d22f-c3b0-4d68-bd53-a856badf2b15",
    "wikidata": "689870a4-a1e4-4912-b17f-7b2664215698",
}
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


# ---- ids and small helpers -------------------------------------------------------------------


def _digest(*parts: object, size: int = 20) -> bytes:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=size).digest()


def token(*parts: object, length: int) -> str:
    """``length`` base62 characters derived from ``parts`` alone."""
    n, out = int.from_bytes(_digest(*parts, size=24), "big"), []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)


def stable_uuid(*parts: object) -> str:
    return str(uuid.UUID(bytes=_digest(*parts, size=16), version=4))


def normalize_name(name: str) -> str:
    """Case-, accent- and whitespace-insensitive form used by the demo searches."""
    return re.sub(r"\s+", " ", ascii_fold(name)).strip().casefold()


def search_terms(query: str) -> str:
    """The words of a search as a client may send it: field prefixes, quotes, escapes and AND/OR dropped."""
    query = re.sub(r"\\(.)", r"\1", query)
    query = re.sub(r"\b(artist|artistaccent|alias|name|sortname)\s*:", " ", query)
    query = re.sub(r'\b\w+:("[^"]*"|\S+)', " ", query)  # other filters (country:US, type:group) narrow nothing here
    return normalize_name(re.sub(r'["()]|\b(AND|OR)\b', " ", query))


def ascii_fold(name: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return folded.replace("ø", "o").replace("Ø", "O")  # ø has no decomposition


def spotify_url(spotify_id: str) -> str:
    return f"https://open.spotify.com/artist/{spotify_id}"


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def genre_of(index: int) -> tuple:
    return GENRES[index] if index >= 0 else UNDEFINED_GENRE


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(name).lower()).strip("-")


# ---- Ticketmaster ------------------------------------------------------------------------------


def _number(key: str) -> int:
    return int.from_bytes(_digest(key, size=3), "big")


def _tm_image(key: str, ratio: str, kind: str, width: int, height: int) -> dict:
    url = f"https://s1.ticketm.net/dam/a/{key[-3:]}/{stable_uuid('img', key)}_{kind}.jpg"
    return {"ratio": ratio, "url": url, "width": width, "height": height, "fallback": False}


def tm_classification(genre: int, sub: int) -> dict:
    name, gid, subs, _, _ = genre_of(genre)
    sub_name, sub_id = subs[sub % len(subs)]
    return {
        "primary": True,
        "segment": {"id": MUSIC_SEGMENT_ID, "name": "Music"},
        "genre": {"id": gid, "name": name},
        "subGenre": {"id": sub_id, "name": sub_name},
        "type": {"id": "KZAyXgnZfZ7v7nI", "name": "Undefined"},
        "subType": {"id": "KZFzBErXgnZfZ7v7lJ", "name": "Undefined"},
        "family": False,
    }


def tm_venue(v: DemoVenue, upcoming: int) -> dict:
    out = {
        "name": v.name,
        "type": "venue",
        "id": v.id,
        "test": False,
        "locale": "en-us",
        "url": f"https://www.ticketmaster.{TM_DOMAIN[v.country_code]}/{_slug(v.name)}-tickets/venue/{v.id}",
        "postalCode": v.postal_code,
        "timezone": v.timezone,
        "city": {"name": v.city},
        "country": {"name": v.country_name, "countryCode": v.country_code},
        "address": {"line1": v.address},
        "location": {"longitude": v.longitude, "latitude": v.latitude},
        "markets": [{"name": v.market_name, "id": v.market_id}],
        "upcomingEvents": {"_total": upcoming, "ticketmaster": upcoming, "_filtered": 0},
        "_links": {"self": {"href": f"{TM_ROOT}/venues/{v.id}?locale=en-us"}},
    }
    if v.state_code:
        out["state"] = {"name": v.state_name, "stateCode": v.state_code}
    if v.dma_id is not None:
        out["dmas"] = [{"id": v.dma_id}]
    return out


def tm_attraction(a: DemoArtist, upcoming: int) -> dict:
    links: dict[str, list] = {}
    if a.tm_links_spotify:
        links["spotify"] = [{"url": spotify_url(a.spotify_id)}]
    if a.tm_links_mb:
        links["musicbrainz"] = [{"id": a.mbid}]
    if a.homepage:
        links["homepage"] = [{"url": a.homepage}]
    if a.popularity > 60:  # big acts also list socials nobody downstream needs
        links["youtube"] = [{"url": f"https://www.youtube.com/channel/UC{token('yt', a.tm_id, length=22)}"}]
    out = {
        "name": a.tm_name,
        "type": "attraction",
        "id": a.tm_id,
        "test": False,
        "locale": "en-us",
        "url": f"https://www.ticketmaster.com/{_slug(a.name)}-tickets/artist/{_number(a.tm_id)}",
        "images": [_tm_image(a.tm_id, "16_9", "RETINA_PORTRAIT_16_9", 640, 360)],
        "classifications": [tm_classification(a.genre, a.sub_genre)],
        "upcomingEvents": {"_total": upcoming, "ticketmaster": upcoming, "_filtered": 0},
        "_links": {"self": {"href": f"{TM_ROOT}/attractions/{a.tm_id}?locale=en-us"}},
    }
    if links:
        out["externalLinks"] = links
    return out


def _tm_start(local: datetime, zone: str) -> dict:
    return {
        "localDate": local.strftime("%Y-%m-%d"),
        "localTime": local.strftime("%H:%M:%S"),
        "dateTime": iso_z(local.replace(tzinfo=ZoneInfo(zone))),
    }


def tm_event(e: DemoEvent, upcoming: dict[str, int]) -> dict:
    flags = {"dateTBD": False, "dateTBA": e.date_tba, "timeTBA": e.date_tba or e.time_tba, "noSpecificTime": False}
    start: dict = {}
    if e.local_date is not None and not e.time_tba:
        start = _tm_start(datetime.combine(e.local_date, e.local_time), e.venue.timezone)
    elif e.local_date is not None:
        start = {"localDate": e.local_date.isoformat()}  # time TBA: no localTime, no dateTime
    dates: dict = {"start": {**start, **flags}, "status": {"code": e.status}, "spanMultipleDays": False}
    if e.show_timezone:
        dates["timezone"] = e.venue.timezone
    if e.initial_start is not None:
        dates["initialStartDate"] = _tm_start(e.initial_start, e.venue.timezone)
    onsale = UNKNOWN_ONSALE if e.onsale_unknown else iso_z(e.onsale_start)
    public = {"startDateTime": onsale, "startTBD": False, "startTBA": False}
    if e.starts_at is not None:
        public["endDateTime"] = iso_z(e.starts_at)
    sales: dict = {"public": public}
    if e.presale:
        sales["presales"] = [
            {
                "startDateTime": iso_z(e.onsale_start - timedelta(days=2)),
                "endDateTime": iso_z(e.onsale_start),
                "name": "Artist Presale",
            }
        ]
    acts = [a for a in (e.headliner, *e.support) if a is not None]
    out = {
        "name": e.name,
        "type": "event",
        "id": e.id,
        "test": False,
        "locale": "en-us",
        "url": f"https://www.ticketmaster.{TM_DOMAIN[e.venue.country_code]}/event/{e.id}",
        "images": [_tm_image(e.id, "3_2", "TABLET_LANDSCAPE_3_2", 1024, 683)],
        "sales": sales,
        "dates": dates,
        "classifications": [tm_classification(e.genre, e.sub_genre)],
        "_links": {
            "self": {"href": f"{TM_ROOT}/events/{e.id}?locale=en-us"},
            "venues": [{"href": f"{TM_ROOT}/venues/{e.venue.id}?locale=en-us"}],
        },
        "_embedded": {"venues": [tm_venue(e.venue, upcoming.get(e.venue.id, 0))]},
    }
    if e.price is not None:
        out["priceRanges"] = [{"type": "standard", "currency": e.currency, "min": e.price[0], "max": e.price[1]}]
    if acts:
        out["_links"]["attractions"] = [{"href": f"{TM_ROOT}/attractions/{a.tm_id}?locale=en-us"} for a in acts]
        out["_embedded"]["attractions"] = [tm_attraction(a, upcoming.get(a.tm_id, 0)) for a in acts]
    return out


def tm_page(events: list[dict], query: str, number: int, size: int, total: int) -> dict:
    pages = -(-total // size)
    href = lambda n: {"href": f"{TM_ROOT}/events.json?{query}&page={n}&size={size}"}  # noqa: E731
    links = {"self": href(number)}
    if total:
        links.update(first=href(0), last=href(pages - 1))
        if number + 1 < pages:
            links["next"] = href(number + 1)
        if number > 0:
            links["prev"] = href(number - 1)
    page = {"_links": links, "page": {"size": size, "totalElements": total, "totalPages": pages, "number": number}}
    if events:  # the real API leaves `_embedded` out of an empty result
        page["_embedded"] = {"events": events}
    return page


# ---- Spotify -----------------------------------------------------------------------------------


def spotify_artist(a: DemoArtist) -> dict:
    sid = a.spotify_id
    images = (
        []
        if not a.images
        else [
            {"url": f"https://i.scdn.co/image/ab6761610000{px:04x}{_digest(sid, px, size=12).hex()}", "height": px, "width": px}
            for px in (640, 320, 160)
        ]
    )
    out = {
        "external_urls": {"spotify": spotify_url(sid)},
        "href": f"https://api.spotify.com/v1/artists/{sid}",
        "id": sid,
        "images": images,
        "name": a.name,
        "type": "artist",
        "uri": f"spotify:artist:{sid}",
    }
    if a.extended:  # Extended-quota apps still see the deprecated fields
        out.update(followers={"href": None, "total": a.followers}, genres=list(genre_of(a.genre)[3]), popularity=a.popularity)
    return out


def spotify_search(query: str, items: list[dict], offset: int, limit: int, total: int) -> dict:
    def href(off: int) -> str:
        return f"https://api.spotify.com/v1/search?offset={off}&limit={limit}&query={quote(query)}&type=artist"

    return {
        "artists": {
            "href": href(offset),
            "limit": limit,
            "next": href(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": href(max(offset - limit, 0)) if offset > 0 else None,
            "total": total,
            "items": items,
        }
    }


# ---- MusicBrainz -------------------------------------------------------------------------------


def _sort_name(a: DemoArtist) -> str:
    if a.name.startswith("The "):
        return f"{a.name[4:]}, The"
    first, _, rest = a.name.partition(" ")
    return f"{rest}, {first}" if a.kind == "Person" and rest and " " not in rest else a.name


def mb_area(code: str) -> dict:
    if code == "XW":
        return {
            "id": "525d4e18-3d00-31b9-a58b-a146a916de8f",
            "type": "Country",
            "name": "[Worldwide]",
            "sort-name": "[Worldwide]",
            "iso-3166-1-codes": ["XW"],
        }
    name = next(c[3] for c in CITIES if c[4] == code).replace("Great Britain", "United Kingdom").replace(" Of America", "")
    return {"id": stable_uuid("area", code), "type": "Country", "name": name, "sort-name": name, "iso-3166-1-codes": [code]}


def _url_relation(kind: str, resource: str, seed: int) -> dict:
    return {
        "type": kind,
        "type-id": _REL_TYPE_IDS[kind],
        "target-type": "url",
        "direction": "forward",
        "ended": False,
        "begin": None,
        "end": None,
        "attributes": [],
        "attribute-values": {},
        "attribute-ids": {},
        "source-credit": "",
        "target-credit": "",
        "url": {"id": stable_uuid(seed, "url", resource), "resource": resource},
    }


def mb_url_resources(a: DemoArtist) -> list[tuple[str, str]]:
    """(relation type, resource) pairs MusicBrainz holds for the artist."""
    rels = []
    if a.mb_links_spotify:  # both types occur for Spotify links: match on the host
        rels.append(("free streaming" if a.popularity % 3 else "streaming", spotify_url(a.spotify_id)))
    if a.homepage:
        rels.append(("official homepage", a.homepage))
    if a.popularity % 2:
        rels.append(("wikidata", f"https://www.wikidata.org/wiki/Q{int.from_bytes(_digest(a.mbid, size=3), 'big')}"))
    return rels


def mb_artist(a: DemoArtist, seed: int, score: int | None = None) -> dict:
    """The lookup shape, or the search shape when ``score`` is given (no genres/relations there)."""
    out: dict = {
        "id": a.mbid,
        "type": a.kind,
        "type-id": _MB_TYPE_IDS[a.kind],
        "name": a.name,
        "sort-name": _sort_name(a),
        "disambiguation": a.disambiguation,
    }
    if score is not None:
        out["score"] = score
    if a.mb_country:
        out["country"] = a.mb_country
        out["area"] = mb_area(a.mb_country)
    if score is None:
        out["life-span"] = {"begin": a.begin, "end": a.end, "ended": a.end is not None}
    else:  # search results leave unknown parts out and say null, not false, for "not ended"
        out["life-span"] = {k: v for k, v in (("begin", a.begin), ("end", a.end)) if v} | {"ended": True if a.end else None}
    out["aliases"] = [
        {
            "name": al,
            "sort-name": al,
            "type": "Search hint",
            "locale": None,
            "primary": None,
            "begin": None,
            "end": None,
            "ended": False,
        }
        for al in a.aliases
    ]
    mb_genres = genre_of(a.genre)[4]
    out["tags"] = [{"count": 1 + (a.popularity + i) % 5, "name": g} for i, g in enumerate(mb_genres)]
    if score is None:
        # counts are votes and can go negative
        out["genres"] = [
            {
                "id": stable_uuid("genre", g),
                "name": g,
                "disambiguation": "",
                "count": -1 if (i and a.popularity % 7 == 0) else 1 + (a.popularity + i) % 6,
            }
            for i, g in enumerate(mb_genres)
        ]
        out["relations"] = [_url_relation(kind, res, seed) for kind, res in mb_url_resources(a)]
    return out


def mb_url_entity(resource: str, artists: list[tuple[str, DemoArtist]], seed: int) -> dict:
    rels = []
    for kind, a in artists:
        credit = {
            "id": a.mbid,
            "name": a.name,
            "sort-name": _sort_name(a),
            "type": a.kind,
            "type-id": _MB_TYPE_IDS[a.kind],
            "disambiguation": a.disambiguation,
        }
        if a.mb_country:
            credit["country"] = a.mb_country
        rels.append(
            {
                "type": kind,
                "type-id": _REL_TYPE_IDS[kind],
                "target-type": "artist",
                "direction": "backward",
                "ended": False,
                "begin": None,
                "end": None,
                "attributes": [],
                "source-credit": "",
                "target-credit": "",
                "artist": credit,
            }
        )
    return {"id": stable_uuid(seed, "url", resource), "resource": resource, "relations": rels}
