"""``mapstore_core.__all__`` both ways (httpx's ``test_exported_members``), and what it exports.

Every name in ``__all__`` resolves; every public name the package exposes is in ``__all__``;
the plumbing that left the root is not reachable from it; public classes report
``mapstore_core`` as their module and still pickle and give their type hints.
"""

from __future__ import annotations

import pickle
import sys
import types
import typing

import pytest

import mapstore_core
from mapstore_core import plumbing

# SPEC sections 2, 6 and 8: the names that exist today (section 8's recordings do not yet).
SPEC_NAMES = {
    "MapObjectStore",
    "map_store",
    "Producer",
    "Consumer",
    "ChannelUpdate",
    "ChannelInfo",
    "ProducerInfo",
    "ConsumerInfo",
    "Diagnostic",
    "WidgetChannels",
    "ParagraphContent",
    "TableData",
    "MetricData",
    "define_channel",
    "create_widget_publisher",
    "create_widget_consumer",
    "JobManager",
    "JobUpdate",
    "create_job_widget_bridge",
    "ProducerAlreadyRegistered",
    "ProducerClosed",
    "PublishValidationError",
    "StoreLink",
    "StoreEvent",
    "MapStoreError",
}


def public_classes() -> list[type]:
    values = (getattr(mapstore_core, name) for name in mapstore_core.__all__)
    return [value for value in values if isinstance(value, type)]


def test_every_name_in_all_resolves() -> None:
    for name in mapstore_core.__all__:
        assert getattr(mapstore_core, name) is not None, name
    assert mapstore_core.__all__ == sorted(set(mapstore_core.__all__))


def test_every_public_name_is_in_all() -> None:
    exposed = {
        name
        for name in dir(mapstore_core)
        if not name.startswith("_")
        and not isinstance(getattr(mapstore_core, name), types.ModuleType)
    }
    assert exposed == set(mapstore_core.__all__) - {"__version__"}
    # and the lazy loader knows no name that __all__ does not list
    assert set(mapstore_core._HOME) == set(mapstore_core.__all__) - {"__version__"}


def test_the_spec_names_are_exported() -> None:
    assert set(mapstore_core.__all__) >= SPEC_NAMES


@pytest.mark.parametrize("name", plumbing.__all__)
def test_plumbing_is_not_reachable_from_the_root(name: str) -> None:
    assert name not in mapstore_core.__all__
    assert name not in dir(mapstore_core)
    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(mapstore_core, name)
    assert getattr(plumbing, name) is not None


def test_public_classes_report_the_package_as_their_module() -> None:
    classes = public_classes()
    assert len(classes) > 30
    for cls in classes:
        assert cls.__module__ == "mapstore_core", cls
        assert getattr(sys.modules[cls.__module__], cls.__qualname__) is cls


def test_errors_keep_their_repr_and_pickle() -> None:
    store = mapstore_core.MapObjectStore()
    publisher = mapstore_core.create_widget_publisher(
        mapstore_core.WidgetChannels.METRIC_DATA, "latency-poller", store=store
    )
    with pytest.raises(mapstore_core.PublishValidationError) as caught:
        publisher.publish({"label": 3})
    error = caught.value
    assert repr(error).startswith('PublishValidationError("invalid MetricData payload')
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is mapstore_core.PublishValidationError
    assert (copy.args, copy.channel, copy.producer_id, copy.fields) == (
        error.args,
        "metric-data",
        "latency-poller",
        ["label", "value"],
    )
    publisher.close()
    with pytest.raises(mapstore_core.ProducerClosed) as closed:
        publisher.publish({"label": "x", "value": 1})
    assert pickle.loads(pickle.dumps(closed.value)).args == closed.value.args
    for cls in public_classes():
        if issubclass(cls, mapstore_core.MapStoreError):
            plain = cls.__new__(cls, "a message")
            assert pickle.loads(pickle.dumps(plain)).args == ("a message",), cls


def test_models_and_records_pickle_and_give_their_type_hints() -> None:
    models = [
        mapstore_core.ParagraphContent(title="T", content="text", markdown=True),
        mapstore_core.TableData(title="T", headers=["a", "b"], rows=[[1, "x"]]),
        mapstore_core.MetricData(label="users", value=3, change=1.5, change_type="increase"),
    ]
    for model in models:
        assert pickle.loads(pickle.dumps(model)) == model
    hints = typing.get_type_hints(mapstore_core.MetricData)
    assert hints["change_type"] == typing.Literal["increase", "decrease", "neutral"]
    assert hints["value"] == float | int | str
    store = mapstore_core.MapObjectStore()
    with store.register_producer("orders", "order-service") as producer:
        update = producer.publish({"n": 1})
    assert pickle.loads(pickle.dumps(update)) == update
    assert typing.get_type_hints(mapstore_core.ChannelUpdate)["process"] == str | None
    assert typing.get_type_hints(mapstore_core.ProducerInfo)["kind"] == mapstore_core.ProducerKind
    assert pickle.loads(pickle.dumps(mapstore_core.WidgetChannels.TABLE_DATA)) == "table-data"


def test_a_model_built_on_a_public_model_still_resolves_its_fields() -> None:
    from pydantic import BaseModel

    class Dashboard(BaseModel):
        metric: mapstore_core.MetricData
        note: mapstore_core.ParagraphContent | None = None

    class Headline(mapstore_core.ParagraphContent):
        priority: int = 0

    board = Dashboard.model_validate({"metric": {"label": "users", "value": 3}})
    assert board.metric.change_type == "neutral"
    assert Headline(title="T", content="c", priority=2).model_dump()["priority"] == 2
    assert set(Headline.model_fields) == {"title", "content", "markdown", "priority"}


def test_adopting_leaves_an_annotation_for_type_checkers_only_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name imported under ``TYPE_CHECKING`` cannot be evaluated: that annotation stays text."""
    module = types.ModuleType("mapstore_core._probe")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(
        "from __future__ import annotations\n"
        "import typing\n"
        "class Probe(typing.NamedTuple):\n"
        "    count: int\n"
        "    store: MapObjectStore\n",
        vars(module),
    )
    probe = module.Probe
    mapstore_core._adopt(probe)
    assert probe.__module__ == "mapstore_core"
    assert probe.__annotations__["count"] is int
    assert probe.__annotations__["store"] == typing.ForwardRef("MapObjectStore")
