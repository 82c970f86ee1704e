"""explainers.slim: fresh empty defaults and the lighter owner record of Bokeh's property
containers change nothing a model or a document sees — in-place changes still reach every
owner, once, as before, and a whole page serialises byte for byte as without them."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import param
import pytest
from bokeh.core.property.wrappers import PropertyValueContainer, PropertyValueList
from bokeh.document import Document
from bokeh.models import Button, ColumnDataSource, CustomJS, Div

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
    for div in (Div(css_classes=["kept"]), Div()):  # a set value, and a fresh default
        old = div.css_classes
        div.css_classes = ["new"]
        calls = []
        div.on_change("css_classes", lambda attr, old, new, calls=calls: calls.append(1))
        old.append("stale")
        assert calls == [] and div.css_classes == ["new"]
    assert Div(css_classes=["kept"]).css_classes._owners  # ...and a set value is released:
    div = Div(css_classes=["kept"])
    old = div.css_classes
    div.css_classes = ["new"]
    assert old._owners == ()


def _kept_containers(model) -> dict:
    return {
        k: v for k, v in model._unstable_default_values.items()
        if isinstance(v, PropertyValueContainer)
    }  # fmt: skip


def test_an_empty_default_is_not_kept_until_it_is_changed():
    doc = Document()
    div = Div(text="hi")
    doc.add_root(div)
    doc.to_json()  # reads every property, as sending the page does
    assert _kept_containers(div) == {}
    assert div.tags == [] and div.tags is not div.tags
    events = []
    doc.on_change(events.append)
    div.tags.append(1)
    assert div.tags == [1] and div.tags is div.tags and len(events) == 1
    assert doc.to_json(deferred=False)["roots"][0]["attributes"]["tags"] == [1]


def test_of_two_fresh_reads_the_first_changed_is_the_value():
    div = Div()
    first, second = div.tags, div.tags
    first.append("a")
    calls = []
    div.on_change("tags", lambda attr, old, new: calls.append(new))
    second.append("b")  # held across another read: documented as lost, and silent
    assert div.tags == ["a"] and calls == []


def test_bokeh_methods_that_change_defaults_in_place_still_work():
    doc = Document()
    button = Button()
    doc.add_root(button)
    js = CustomJS(code="")
    button.js_on_event("button_click", js)
    button.js_on_change("label", js)
    button.on_event("button_click", lambda event: None)
    attributes = doc.to_json(deferred=False)["roots"][0]["attributes"]
    ids = {
        key: [(k, [cb["id"] for cb in cbs]) for k, cbs in attributes[key]["entries"]]
        for key in ("js_event_callbacks", "js_property_callbacks")
    }
    assert ids == {
        "js_event_callbacks": [("button_click", [js.id])],
        "js_property_callbacks": [("change:label", [js.id])],
    }
    assert "button_click" in attributes["subscribed_events"]["entries"]


_DUMP = """
import json, sys
import panel as pn
from bokeh.document import Document
from explainers import slim
from explainers.site import page
if sys.argv[1] == "off":
    slim.install = lambda: False  # configure() would install it
page.configure()
doc = Document()
with pn.io.server.set_curdoc(doc):
    page.section_page(sys.argv[2]).server_doc(doc)
print(json.dumps(doc.to_json(deferred=False), sort_keys=True))
"""


def test_a_section_page_serialises_exactly_as_without_slim():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for key in ("hopfield", "rbm"):
        dumps = [
            subprocess.run(
                [sys.executable, "-c", _DUMP, mode, key],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            ).stdout  # fmt: skip
            for mode in ("off", "on")
        ]
        assert json.loads(dumps[0]) and dumps[0] == dumps[1], key


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


class Knobs(param.Parameterized):
    a = param.Number(0.0)
    b = param.Number(0.0)
    c = param.Number(0.0)
    d = param.Number(0.0)


def _plain(watchers: dict) -> dict:
    return {n: {w: [(x.fn.__name__, x.parameter_names) for x in ws] for w, ws in r.items()}
            for n, r in watchers.items()}  # fmt: skip


def _replay(seed: int) -> list:
    """A random life of watch / unwatch / set calls; returns everything observable."""
    rng = random.Random(seed)
    knobs = Knobs()
    calls: list = []
    handles: list = []
    seen: list = []
    for step in range(60):
        op = rng.random()
        if op < 0.45:
            names = rng.sample("abcd", rng.randint(1, 4))

            def fn(*events, tag=f"w{step}"):
                calls.append((tag, tuple(e.name for e in events)))

            fn.__name__ = f"w{step}"
            handles.append(knobs.param.watch(fn, names, precedence=rng.randint(0, 2)))
        elif op < 0.65 and handles:
            knobs.param.unwatch(rng.choice(handles))  # sometimes twice: idempotent
        else:
            setattr(knobs, rng.choice("abcd"), float(step))
        seen.append((_plain(knobs.param.watchers), list(calls)))
    return seen


@pytest.mark.parametrize("seed", range(20))
def test_shared_watcher_records_behave_as_params_own(seed, monkeypatch):
    ours = _replay(seed)
    monkeypatch.setattr(
        param.parameterized.Parameters, "_register_watcher", slim._ORIGINAL_REGISTER_WATCHER
    )
    assert _replay(seed) == ours


def test_one_watch_call_files_one_record_for_all_its_names():
    knobs = Knobs()
    knobs.param.watch(lambda *e: None, ["a", "b", "c"])
    records = knobs.param.watchers
    assert records["a"] is records["b"] is records["c"]
    knobs.param.watch(lambda *e: None, ["b"])  # b moves to a record of its own
    assert records["a"] is records["c"] and records["b"] is not records["a"]
    assert len(records["b"]["value"]) == 2 and len(records["a"]["value"]) == 1
    knobs.param.watch(lambda *e: None, ["a", "c", "d"])  # a and c move on together
    assert records["a"] is records["c"] and len(records["a"]["value"]) == 2
    assert len(records["d"]["value"]) == 1
