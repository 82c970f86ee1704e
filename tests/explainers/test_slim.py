"""explainers.slim: the lighter owner record of Bokeh's property containers changes nothing a
model or a document sees — in-place changes still reach every owner, once, as before."""

from __future__ import annotations

from bokeh.core.property.wrappers import PropertyValueList
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div

from explainers import slim


def setup_module() -> None:
    assert slim.install()
    assert slim.install()  # idempotent


def test_the_record_is_a_tuple_of_owner_pairs_and_absent_until_an_owner_registers():
    div = Div()
    tags = div.tags
    assert tags._owners == ((div, Div.lookup("tags")),)
    loose = PropertyValueList([1])
    assert "_owners" not in vars(loose) and loose._owners == ()


def test_in_place_changes_reach_the_owner_and_the_document():
    doc = Document()
    div = Div(css_classes=["a"])
    doc.add_root(div)
    seen = []
    div.on_change("css_classes", lambda attr, old, new: seen.append((attr, old, new)))
    events = []
    doc.on_change(events.append)
    div.css_classes.append("b")
    assert seen == [("css_classes", ["a"], ["a", "b"])]
    assert len(events) == 1
    div.tags.append(1)  # a default container, wrapped when first read
    assert div.tags == [1] and len(events) == 2


class SpyDescriptor:
    """Stands in for a property descriptor and records the notifications it gets."""

    def __init__(self):
        self.calls = []

    def _notify_mutated(self, owner, old, hint=None):
        self.calls.append((owner, list(old)))


def test_one_container_with_two_owners_notifies_each_once():
    shared = PropertyValueList(["a"])
    one, two = SpyDescriptor(), SpyDescriptor()
    shared._register_owner("x", one)
    shared._register_owner("y", two)
    shared._register_owner("x", one)  # registering the same owner again changes nothing
    shared.append("b")
    assert one.calls == [("x", ["a"])] and two.calls == [("y", ["a"])]
    shared._unregister_owner("y", two)
    shared._unregister_owner("y", two)  # idempotent, like the set's discard
    shared.append("c")
    assert one.calls[-1] == ("x", ["a", "b"]) and len(two.calls) == 1


def test_a_replaced_value_stops_notifying_its_old_owner():
    div = Div()
    old = div.css_classes
    div.css_classes = ["new"]
    assert old._owners == ()
    calls = []
    div.on_change("css_classes", lambda attr, old, new: calls.append(1))
    old.append("stale")
    assert calls == [] and div.css_classes == ["new"]


def test_column_data_streams_and_patches_still_reach_the_document():
    doc = Document()
    src = ColumnDataSource({"x": [1.0], "y": [2.0]})
    doc.add_root(src)
    events = []
    doc.on_change(events.append)
    src.stream({"x": [3.0], "y": [4.0]})
    src.patch({"y": [(0, 9.0)]})
    assert [type(e).__name__ for e in events] == ["ColumnsStreamedEvent", "ColumnsPatchedEvent"]
    assert list(src.data["y"]) == [9.0, 4.0]
