"""An API object with a NUL or a lone surrogate still makes a raw row every warehouse stores, and its
payload decodes back to exactly what the API sent."""

from concert_platform.transforms.raw import payloads, raw_row, raw_table
from concert_platform.validation.warehouse_safe import unstorable


def test_hostile_api_text_is_stored_escaped_and_decodes_back_whole():
    sent = {"name": "Café\x00Bar\ud800", "nested": {"note": "a\ud83d"}, "plain": "ok"}
    table = raw_table([raw_row("e1", "event", "id:e1", sent)])
    for column in ("name", "payload"):
        assert not unstorable(table[column]), column
    [(row, payload)] = list(payloads(table))
    assert payload == sent
    assert row["name"] == "Café\\x00Bar\\ud800"


def test_ordinary_payloads_stay_readable_text():
    row = raw_row("e2", "event", "id:e2", {"name": "Motörhead", "city": "Zürich"})
    assert row["payload"] == '{"city": "Zürich", "name": "Motörhead"}'
