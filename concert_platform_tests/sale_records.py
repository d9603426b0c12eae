"""One valid landing-zone sale as a partner writes it: the record the reader and validation tests vary."""


def sale_record(i: int, day: str, **changes) -> dict:
    """Sale ``i`` of ``day`` (its clock, quantity and customer follow ``i``), with ``changes`` applied."""
    record = {
        "sale_id": f"S-{i:06d}",
        "concert_id": "c1",
        "sold_at": f"{day}T{i % 24:02d}:{i % 60:02d}:05Z",
        "quantity": 1 + i % 5,
        "unit_price": "89.50",
        "currency": "EUR",
        "channel": "web",
        "customer_id": f"C-{i}",
        "section": "Floor A",
    }
    return {**record, **changes}
