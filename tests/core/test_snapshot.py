from __future__ import annotations

import datetime as dt
import json

from mapstore_core import MapObjectStore, create_widget_publisher


def test_snapshot_is_json_serializable_and_complete(store: MapObjectStore) -> None:
    table = create_widget_publisher("table-data", "market-data-service", store=store)
    table.publish({"title": "Prices", "headers": ["Sym", "Px"], "rows": [["ACME", 1.5]]})
    raw = store.register_producer("events", "audit-log")
    raw.publish({"when": dt.datetime(2026, 1, 2, 3, 4, 5), "blob": object(), "nan": float("nan")})
    store.register_consumer("table-data", "table-widget")
    snap = json.loads(json.dumps(store.snapshot(), allow_nan=False))
    # every change is numbered: 2 registrations, 2 publishes, then the consumer
    assert snap["version"] == 2 and snap["seq"] == 5
    assert snap["values"]["table-data"] == {
        "market-data-service": {
            "title": "Prices",
            "headers": ["Sym", "Px"],
            "rows": [["ACME", 1.5]],
        }
    }
    event = snap["values"]["events"]["audit-log"]
    assert event["when"] == "2026-01-02T03:04:05" and event["nan"] is None
    assert event["blob"].startswith("<object object")
    assert {c["name"] for c in snap["channels"]} >= {"table-data", "events", "metric-data"}
    assert [p["id"] for p in snap["producers"]] == ["market-data-service", "audit-log"]
    assert snap["producers"][0]["registered_at"] == table.registered_at
    assert [c["id"] for c in snap["consumers"]] == ["table-widget"]
    assert snap["diagnostics"] == []


def test_snapshot_lists_diagnostics(store: MapObjectStore) -> None:
    kept = store.register_producer("events", "temp")
    snap = store.snapshot()
    assert [d["rule"] for d in snap["diagnostics"]] == ["non-descriptive-id"]
    assert snap["diagnostics"][0]["where"] == kept.registered_at
