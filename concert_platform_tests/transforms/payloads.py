"""Hand-written payloads in the real APIs' shapes, owned by the tests."""

SPOTIFY_A = "4Z8W4fKeB5YxbusRsdQVPb"
SPOTIFY_B = "0oSGxfWSnnOXhD2fKuz2Gy"
MBID_A = "a74b1b7f-71a5-4011-9441-d0b5e4122711"
MBID_B = "5441c29d-3602-4898-b1a1-b77fa23b8e50"
MBID_TWIN_1 = "11111111-1111-4111-8111-111111111111"
MBID_TWIN_2 = "22222222-2222-4222-8222-222222222222"


def venue(vid="KovZpZA7AAEA", tz="America/New_York"):
    return {
        "id": vid,
        "name": " Madison  Square Garden ",
        "type": "venue",
        "timezone": tz,
        "postalCode": "10001",
        "city": {"name": "New York "},
        "state": {"name": "New York", "stateCode": "NY"},
        "country": {"name": "United States Of America", "countryCode": "US"},
        "address": {"line1": "4 Pennsylvania Plaza"},
        "location": {"latitude": "40.75050000", "longitude": "-73.99340000"},
    }


def attraction(aid, name, spotify=None, mbid=None):
    links = {}
    if spotify:
        links["spotify"] = [{"url": f"https://open.spotify.com/artist/{spotify}"}]
    if mbid:
        links["musicbrainz"] = [{"id": mbid}]
    return {
        "id": aid,
        "name": name,
        "type": "attraction",
        "externalLinks": links,
        "classifications": [{"primary": True, "genre": {"name": "Rock"}}],
    }


def event(eid, attractions, status="onsale", tz="America/New_York", prices=((49.5, 189.0),), tba=False, venue_obj=None):
    start = {
        "localDate": "2027-03-14",
        "localTime": "20:00:00",
        "dateTime": "2027-03-15T00:00:00Z",
        "dateTBD": False,
        "dateTBA": tba,
        "timeTBA": False,
        "noSpecificTime": False,
    }
    if tba:
        start = {"dateTBD": False, "dateTBA": True, "timeTBA": True, "noSpecificTime": False}
    dates = {"start": start, "status": {"code": status}}
    if tz:
        dates["timezone"] = tz
    payload = {
        "id": eid,
        "name": f"Show {eid}",
        "type": "event",
        "url": f"https://www.ticketmaster.com/event/{eid}",
        "test": False,
        "dates": dates,
        "sales": {"public": {"startDateTime": "1900-01-01T18:00:00Z", "endDateTime": "2027-03-14T23:00:00Z"}},
        "classifications": [
            {"primary": True, "segment": {"id": "KZFzniwnSyZfZ7v7nJ", "name": "Music"}, "genre": {"name": "Undefined"}}
        ],
        "_embedded": {"venues": [venue_obj or venue()], "attractions": attractions},
    }
    if prices is not None:
        payload["priceRanges"] = [{"type": "standard", "currency": "USD", "min": lo, "max": hi} for lo, hi in prices]
    return payload


def mb_artist(mbid, name, spotify=None, country="GB", disambiguation=""):
    relations = []
    if spotify:
        relations.append(
            {"type": "free streaming", "target-type": "url", "url": {"resource": f"https://open.spotify.com/artist/{spotify}"}}
        )
    return {
        "id": mbid,
        "name": name,
        "sort-name": name,
        "type": "Group",
        "country": country,
        "disambiguation": disambiguation,
        "life-span": {"begin": "1985", "ended": False},
        "genres": [{"id": "g1", "name": "art rock", "count": 5}, {"id": "g2", "name": "noise", "count": -1}],
        "relations": relations,
    }


def spotify_artist(sid, name, popularity=None):
    artist = {
        "id": sid,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{sid}",
        "href": f"https://api.spotify.com/v1/artists/{sid}",
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{sid}"},
        "images": [{"url": "https://i.scdn.co/image/x", "height": 640, "width": 640}],
    }
    if popularity is not None:
        artist.update(popularity=popularity, followers={"href": None, "total": 1000}, genres=["rock"])
    return artist
