"""``Recording.resync``: a mirror's jump is a ``gap`` holding the state at the jump itself.

The state is read when ``resync`` is called, not when the writer gets to it: a mirror that
moved on meanwhile would otherwise hold the changes queued after the jump already, and they
would be left out as stale.
"""

from __future__ import annotations

from pathlib import Path

from mapstore_core import MapObjectStore, StoreEvent, StoreMirror, open_recording
from mapstore_core.recording import MirrorSource, Recording


def test_the_changes_right_after_a_resync_are_recorded_on_top_of_it(tmp_path: Path) -> None:
    store = MapObjectStore()
    told: list[StoreEvent] = []
    store.subscribe_events(told.append)
    orders = store.register_producer("orders", "order-service")
    mirror = StoreMirror()
    path = tmp_path / "mirror.jsonl"
    with Recording(MirrorSource(mirror), path) as recording:
        orders.publish(1)
        mirror.reset(store.snapshot())  # a jump: the mirror was not told the publish
        recording.resync("the mirror caught up whole")
        orders.publish(2)  # at once: the writer has not got to the resync yet
        mirror.apply(told[-1])
    reader = open_recording(path)
    gap, published = reader.events()
    assert gap.kind == "gap" and gap.message == "the mirror caught up whole"
    assert gap.detail == {"dropped": 0}
    assert published.kind == "published" and published.update is not None
    assert published.update.value == 2
    assert reader.state_at(0).values("orders") == {"order-service": 1}
    assert reader.state_at(1).values("orders") == {"order-service": 2}
    assert recording.stats()["dropped"] == 0
