import pyarrow as pa

from concert_platform.defs.checks import (
    PRIMARY_KEY,
    REJECT_RATE,
    check_specs,
    foreign_key,
    foreign_key_check,
    primary_key_check,
    reject_rate_check,
)


def test_primary_key_check_finds_duplicates_and_nulls():
    ok = primary_key_check(pa.table({"id": ["a", "b", "c"]}), "id")
    assert ok.passed and ok.check_name == PRIMARY_KEY
    dup = primary_key_check(pa.table({"id": ["a", "b", "a", None]}), "id")
    assert not dup.passed
    assert dup.metadata["duplicate_keys"].value == 1 and dup.metadata["null_keys"].value == 1
    assert primary_key_check(pa.table({"id": pa.array([], pa.string())}), "id").passed


def test_foreign_key_check_on_scalars_and_lists():
    refs = pa.array(["A1", "A2"])
    table = pa.table({"artist_id": ["A1", None, "A3"], "support": [["A2"], [], ["A9", "A1"]]})
    scalar = foreign_key_check(table, "artist_id", refs, "artists")
    assert not scalar.passed and scalar.metadata["dangling_rows"].value == 1 and "A3" in scalar.metadata["sample"].value
    listed = foreign_key_check(table, "support", refs, "artists")
    assert not listed.passed and listed.check_name == foreign_key("support")
    assert foreign_key_check(table.slice(0, 2), "artist_id", refs, "artists").passed


def test_reject_rate_check_threshold():
    assert reject_rate_check(95, 5, 0.05).passed
    failed = reject_rate_check(94, 6, 0.05)
    assert not failed.passed and failed.check_name == REJECT_RATE
    assert failed.metadata["reject_rate"].value == 0.06
    assert reject_rate_check(0, 0, 0.0).passed


def test_specs_name_every_check():
    names = {s.name for s in check_specs("concerts", ["artist_id", "venue_id"])}
    assert names == {PRIMARY_KEY, REJECT_RATE, "artist_id_resolves", "venue_id_resolves"}
