"""Artist market opportunities on hand-made frames, every number worked out here.

Markets (size class of the largest venue): Berlin DE arena, Munich DE theatre,
Hamburg DE club, London GB arena, Paris FR club, Lyon FR theatre, Vienna AT
(capacity unknown: like no other in size). Similar to a market: itself, its
country's markets and those of its size class.

A1 (rock, popularity 80, momentum 2) played Berlin .875, Munich .625, Paris .75
and a cancelled Lyon show (.125, not a result); it has an upcoming show in
Munich and a cancelled one in Hamburg. A3 (rock, 60, momentum 1) played London
.5, .75, .875. A2 (no genre, 40, momentum .5) played Hamburg .5 and .25.
Popularity and momentum add .2 x .8 + .1 x 1 = .26 to A1's scores and
.2 x .6 + .1 x .5 = .17 to A3's.

    A1  Berlin   similar: Berlin, Munich          .75   (2)  rock in Berlin: 1 show   .4 x .75 + .26 = .56
        Hamburg  similar: Berlin, Munich, Paris   .75   (3)  rock: none              .56 (tie: Berlin first)
        Lyon     similar: Munich, Paris           .6875 (2)  rock: none              .535
        London   similar: Berlin                  1 show     rock in London .7083 (3)  .3 x .7083 + .26 = .4725 < .5
        Paris    similar: Paris (Lyon cancelled)  1 show     rock: 1 show            no candidate
        Munich   upcoming show: excluded (it would score .56)
    A3  London   similar: London, Berlin          .7083 (3)  rock in London .7083 (3)  .7 x .7083 + .17 = .6658
        Berlin   similar: London                  .7083 (3)  rock: 1 show            .2833 + .17 = .4533 < .5
    A2  every market scores at most .4 x .375 + .2 x .4 = .23
"""

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from concert_platform.insights.markets import MARKET_COLUMNS, artist_market_opportunities

VENUES = pd.DataFrame(
    {
        "venue_id": ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8"],
        "city": ["Berlin", "Munich", "Hamburg", "London", "Paris", "Lyon", "Vienna", None],
        "country": ["DE", "DE", "DE", "GB", "FR", "FR", "AT", "DE"],
        "capacity": pd.array([15000, 3000, 800, 18000, 900, 2500, None, 50000], dtype="Int64"),
    }
)
ARTISTS = pd.DataFrame(
    {"artist_id": ["A1", "A2", "A3"], "name": ["One", "Two", "Three"], "genres": [["rock", "indie"], [], ["rock"]]}
)
STATS = pd.DataFrame({"artist_id": ["A1", "A2", "A3"], "popularity": [80, 40, 60], "momentum": [2.0, 0.5, 1.0]})
# artist, venue, status, days to show, sell-through
SHOWS = [
    ("A1", "V1", "onsale", -30, 0.875),
    ("A1", "V2", "onsale", -20, 0.625),
    ("A1", "V5", "offsale", -10, 0.75),
    ("A1", "V6", "cancelled", -5, 0.125),
    ("A1", "V2", "onsale", 10, 0.25),  # upcoming in Munich
    ("A1", "V3", "cancelled", 5, 0.0),  # a cancelled show books no market
    ("A3", "V4", "onsale", -40, 0.5),
    ("A3", "V4", "onsale", -35, 0.75),
    ("A3", "V4", "onsale", -30, 0.875),
    ("A2", "V3", "onsale", -15, 0.5),
    ("A2", "V3", "onsale", -12, 0.25),
    ("A2", "V8", "onsale", -12, 1.0),  # a venue without a city is no market
    (None, "V1", "onsale", -3, 1.0),  # a festival without a headliner
]


def _demand() -> pd.DataFrame:
    frame = pd.DataFrame(SHOWS, columns=["artist_id", "venue_id", "status", "days_to_show", "sell_through"])
    return frame.assign(
        concert_id=[f"C{i}" for i in range(len(frame))],
        days_to_show=frame["days_to_show"].astype("Int64"),
        sell_through=frame["sell_through"].astype("Float64"),
    )


def _reasons(similar: str, genre: str, popularity: int, momentum: str) -> str:
    return f"{similar}; {genre}; popularity {popularity}/100; momentum {momentum} (last 7 days' tickets vs the 7 before)"


def test_markets_ranked_per_artist_with_their_signals_and_reasons():
    london = (0.5 + 0.75 + 0.875) / 3
    similar = "its {} finished shows in similar markets (same country or size class) sold {} of capacity on average"
    # artist, city, country, rank, score, similar markets' sell-through and shows, genre, the genre's sell-through
    # and shows in the market, popularity, momentum, reasons
    expected = pd.DataFrame([
        ("A1", "Berlin", "DE", 1, 0.56, 0.75, 2, "rock", np.nan, 0, 80.0, 2.0,
         _reasons(similar.format(2, "75%"), "too few rock shows in Berlin to judge", 80, "2.00")),
        ("A1", "Hamburg", "DE", 2, 0.56, 0.75, 3, "rock", np.nan, 0, 80.0, 2.0,
         _reasons(similar.format(3, "75%"), "too few rock shows in Hamburg to judge", 80, "2.00")),
        ("A1", "Lyon", "FR", 3, 0.535, 0.6875, 2, "rock", np.nan, 0, 80.0, 2.0,
         _reasons(similar.format(2, "69%"), "too few rock shows in Lyon to judge", 80, "2.00")),
        ("A3", "London", "GB", 1, 0.7 * london + 0.17, london, 3, "rock", london, 3, 60.0, 1.0,
         _reasons(similar.format(3, "71%"), "3 rock shows in London sold 71% of capacity on average", 60, "1.00")),
    ], columns=list(MARKET_COLUMNS)).astype(MARKET_COLUMNS)  # fmt: skip
    assert_frame_equal(artist_market_opportunities(_demand(), VENUES, ARTISTS, STATS), expected)


def test_an_upcoming_show_excludes_its_market():
    without = artist_market_opportunities(_demand().drop(index=4), VENUES, ARTISTS, STATS)
    munich = without[(without["artist_id"] == "A1") & (without["city"] == "Munich")]
    # Munich: Berlin .875 and Munich .625 again, so .56, level with Berlin and Hamburg and after them by name; Lyon fourth.
    assert munich[["rank", "score", "artist_similar_market_shows"]].values.tolist() == [[3, 0.56, 2]]
    assert without[without["artist_id"] == "A1"]["city"].tolist() == ["Berlin", "Hamburg", "Munich", "Lyon"]


def test_the_score_bar_and_the_number_of_markets_kept():
    lower = artist_market_opportunities(_demand(), VENUES, ARTISTS, STATS, min_score=0.45)
    # A1's London (.4725) and A3's Berlin (.4533) clear .45; A2's best (.23) still does not.
    assert lower[["artist_id", "city", "rank"]].values.tolist() == [
        ["A1", "Berlin", 1],
        ["A1", "Hamburg", 2],
        ["A1", "Lyon", 3],
        ["A1", "London", 4],
        ["A3", "London", 1],
        ["A3", "Berlin", 2],
    ]
    top = artist_market_opportunities(_demand(), VENUES, ARTISTS, STATS, min_score=0.45, max_markets=1)
    assert top[["artist_id", "city"]].values.tolist() == [["A1", "Berlin"], ["A3", "London"]]


def test_the_same_inputs_in_any_order_give_the_same_table():
    expected = artist_market_opportunities(_demand(), VENUES, ARTISTS, STATS)
    shuffled = [frame.sample(frac=1, random_state=3) for frame in (_demand(), VENUES, ARTISTS, STATS)]
    assert_frame_equal(artist_market_opportunities(*shuffled), expected)


def test_no_candidates_give_the_columns_and_dtypes():
    empty = pd.DataFrame(columns=list(MARKET_COLUMNS)).astype(MARKET_COLUMNS)
    assert_frame_equal(artist_market_opportunities(_demand().iloc[:0], VENUES, ARTISTS, STATS), empty)
