"""``DoctorWatch``: tells a store's listeners each doctor finding once, when it appears.

The doctor itself (``_doctor``) is pure rules over facts, and ``diagnostics()`` evaluates it
on demand without telling anyone. This watch is the store's incremental half: after a change
that can make a finding (a registration, a leak, a job failure, a schema, a raw producer's
first publish on a schema channel) it evaluates the rules for what changed, in O(1) for one
producer, and emits a ``diagnostic`` event for each finding not told before. It does nothing
while nobody listens for ``diagnostic`` events.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable

from mapstore_core import _doctor
from mapstore_core._reads import producer_fact
from mapstore_core._records import Diagnostic
from mapstore_core._state import ChannelState, ProducerState, StoreState

__all__ = ["DoctorWatch"]

_Key = tuple[str, str, str]


class DoctorWatch:
    """The findings told so far, and the evaluations that find new ones.

    Args:
        state: The store's state.
        tell: Emits one finding as a ``diagnostic`` event.
        listening: Whether anyone listens for ``diagnostic`` events.
    """

    def __init__(
        self,
        state: StoreState,
        tell: Callable[[Diagnostic], None],
        listening: Callable[[], bool],
    ) -> None:
        self._state = state
        self._tell = tell
        self._listening = listening
        self._lock = threading.RLock()
        # channel -> producer id -> keys of the findings told (to tell only new ones)
        self._known: dict[str, dict[str, set[_Key]]] = {}
        self._fleet_known: set[_Key] = set()

    def producer(self, producer: ProducerState, *, registered: bool = False) -> None:
        """Evaluate the rules for one local producer that changed; tell its new findings.

        O(1) whatever the channel holds: the rules that look at one producer, its site's
        duplicate-source group (kept by the channel) and its site's churn.
        """
        if producer.process is not None or not self._listening():
            return
        channel = producer.channel
        where = producer.registered_at
        with self._state.lock:
            churn = self._state.churn.facts.get(where)
        found: list[Diagnostic] = []
        with channel.lock:
            if producer.closed:
                return
            found += _doctor.producer_findings(
                producer_fact(channel, producer),
                [] if churn is None or churn.channel != channel.name else [churn],
            )
            group = channel.sites.get(where, {})
            if producer.kind == "producer" and len(group) >= 2:
                first = [p.id for p in itertools.islice(group, _doctor.SHOWN_IDS)]
                targets = [producer]
                if registered and len(group) == 2:
                    targets = list(group)  # the group just formed: both are duplicates now
                found += [
                    _doctor.duplicate_source(channel.name, where, p.id, first, len(group))
                    for p in targets
                ]
        new: list[Diagnostic] = []
        with self._lock:
            known = self._known.setdefault(channel.name, {})
            for finding in found:
                keys = known.setdefault(finding.producer_id, set())
                if finding.key not in keys:
                    keys.add(finding.key)
                    new.append(finding)
        self._tell_all(new)

    def channel(self, channel: ChannelState) -> None:
        """Evaluate the rules over one channel whose facts all changed (a schema defined)."""
        if not self._listening():
            return
        with channel.lock:
            facts = [producer_fact(channel, p) for p in channel.producers.values()]
        with self._state.lock:
            churn = self._state.churn.for_channels({channel.name})
        found = _doctor.diagnose(facts, churn)
        mine: dict[str, set[_Key]] = {}
        new: list[Diagnostic] = []
        with self._lock:
            before = self._known.get(channel.name, {})
            for finding in found:
                mine.setdefault(finding.producer_id, set()).add(finding.key)
                if finding.key not in before.get(finding.producer_id, ()):
                    new.append(finding)
            self._known[channel.name] = mine
        self._tell_all(new)

    def forget(self, producer: ProducerState) -> None:
        """Drop a closed producer's told findings (and its lone site-mate's duplicate one)."""
        channel = producer.channel
        with channel.lock:
            site = channel.sites.get(producer.registered_at, {})
            group = list(site) if len(site) == 1 else []
        with self._lock:
            known = self._known.get(channel.name)
            if not known:
                return
            keys = known.get(producer.id)
            if keys:  # a burst's churn finding outlives the producer, as its fact does
                kept = {key for key in keys if key[0] == "registration-churn"}
                if kept:
                    known[producer.id] = kept
                else:
                    del known[producer.id]
            if len(group) == 1:
                keys = known.get(group[0].id)
                if keys is not None:
                    keys.discard(("duplicate-source", channel.name, group[0].id))

    def fleet(self, findings: list[Diagnostic]) -> None:
        """Tell the fleet findings that are new since the link's last reading."""
        with self._lock:
            new = [f for f in findings if f.key not in self._fleet_known]
            self._fleet_known = {f.key for f in findings}
        if self._listening():
            self._tell_all(new)

    def _tell_all(self, findings: Iterable[Diagnostic]) -> None:
        for finding in findings:
            self._tell(finding)
