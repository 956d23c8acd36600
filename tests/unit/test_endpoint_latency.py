"""The probe's arithmetic and endpoint checks (pure logic; the probe itself runs on the lab)."""

from __future__ import annotations

import pytest

from opsproof.endpoint_latency import Endpoint, Timing, _has_id, _has_items, _is_page


def timing(*samples: float) -> Timing:
    return Timing(Endpoint("oa", "/api/oa/items", "/api/oa/items", _is_page), samples)


def test_median_and_p95() -> None:
    t = timing(*[float(n) for n in range(1, 21)])  # 1..20 ms
    assert t.median_ms == pytest.approx(10.5)
    assert t.p95_ms == 19.0
    assert timing(7.0).p95_ms == 7.0


@pytest.mark.parametrize(
    ("body", "page", "items"),
    [
        ({"items": [{"id": 1}], "total": 1}, True, True),
        ({"items": [], "total": 0}, True, False),
        ({"items": [{"id": 1}]}, False, True),
        ({"error": "database unavailable"}, False, False),
        ([1, 2], False, False),
    ],
)
def test_body_checks(body: object, page: bool, items: bool) -> None:
    assert _is_page(body) is page
    assert _has_items(body) is items


def test_detail_check_wants_the_same_id() -> None:
    assert _has_id(5)({"id": 5, "title": "x"})
    assert not _has_id(5)({"id": 6})
    assert not _has_id(5)({"error": "not found"})
