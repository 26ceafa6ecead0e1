"""What `fit` does with cells longer than the store's columns: keys refused, text cut."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siyu.ingest.records import LineRecord, OrderRecord, RowError, fit


def _order(**over: object) -> OrderRecord:
    values: dict[str, object] = {
        "line": 2,
        "platform": "taobao",
        "platform_order_id": "1001",
        "status": "paid",
        "placed_at": datetime(2024, 1, 1, tzinfo=UTC),
        "identities": [("taobao_nick", "小王")],
        "profile": {"name": "王" * 300, "city": None},
    }
    values.update(over)
    return OrderRecord(**values)  # type: ignore[arg-type]


def test_descriptive_text_is_cut_to_fit() -> None:
    record = fit(
        _order(
            shop="店" * 200,
            receiver_name="名" * 200,
            receiver_city="市" * 100,
            lines=[LineRecord(title="题" * 900, sku="s" * 300, amount=100)],
        )
    )
    assert isinstance(record, OrderRecord)
    assert len(record.shop) == 120 and len(record.receiver_name or "") == 120
    assert len(record.receiver_city or "") == 64 and len(record.profile["name"]) == 200
    assert len(record.lines[0].title) == 500 and len(record.lines[0].sku or "") == 120


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"platform_order_id": "9" * 65}, "platform_order_id .* longer than 64"),
        ({"coupon_code": "C" * 65}, "coupon_code .* longer than 64"),
        ({"platform": "p" * 33}, "platform .* longer than 32"),
        ({"currency": "RMB1"}, "three-letter"),
        ({"identities": [("taobao_nick", "n" * 256)]}, "longer than 255"),
        ({"lines": [LineRecord(title="x", quantity=-1)]}, "quantity -1"),
        ({"lines": [LineRecord(title="x", amount=10**16)]}, "out of range"),
    ],
)
def test_keys_that_cannot_fit_refuse_the_row(over: dict[str, object], message: str) -> None:
    with pytest.raises(RowError, match=message):
        fit(_order(**over))
