"""Artist: one row per real artist, with the id each source knows it by."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from concert_platform.models.base import BaseEntity, CountryCode, Identifier

SpotifyId = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{22}$")]
MusicBrainzId = Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]

# How the cross-source identity was established, strongest first.
MatchMethod = Literal["id_link", "url_relation", "name_match", "unmatched"]


class Artist(BaseEntity):
    artist_id: Identifier = Field(description="MusicBrainz id when known, else 'tm:<attraction id>'")
    name: Annotated[str, Field(min_length=1, max_length=300)]
    ticketmaster_id: Identifier | None = None
    ticketmaster_ids: list[Identifier] = Field(
        default_factory=list, description="Every Ticketmaster attraction merged into this artist"
    )
    spotify_id: SpotifyId | None = None
    musicbrainz_id: MusicBrainzId | None = None
    match_method: MatchMethod = "unmatched"
    match_note: str | None = Field(None, description="Why a match was made or refused (scores, ambiguity)")
    genres: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    country: CountryCode | None = None
    artist_type: Literal["Person", "Group", "Orchestra", "Choir", "Character", "Other"] | None = None
    disambiguation: str | None = None
    popularity: Annotated[int, Field(ge=0, le=100)] | None = None
    followers: Annotated[int, Field(ge=0)] | None = None
    image_url: Annotated[str, Field(pattern=r"^https?://")] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "artist_id": "a74b1b7f-71a5-4011-9441-d0b5e4122711",
                    "name": "Radiohead",
                    "ticketmaster_id": "K8vZ9171ob7",
                    "ticketmaster_ids": ["K8vZ9171ob7"],
                    "spotify_id": "4Z8W4fKeB5YxbusRsdQVPb",
                    "musicbrainz_id": "a74b1b7f-71a5-4011-9441-d0b5e4122711",
                    "match_method": "id_link",
                    "genres": ["alternative rock", "art rock"],
                    "country": "GB",
                    "artist_type": "Group",
                    "popularity": 79,
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _matched_artists_name_their_ids(self) -> Artist:
        if self.match_method != "unmatched" and not (self.spotify_id or self.musicbrainz_id):
            raise ValueError(f"match_method {self.match_method!r} needs a spotify_id or musicbrainz_id")
        return self
