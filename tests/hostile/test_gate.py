"""The websocket gate (explainers.site.guard) without a server: tokens, budgets, and
hypothesis-generated ``PATCH-DOC`` events over every model and property of every section.

Each section is built into a real Bokeh document, as a session would build it.  Whatever the
events, :func:`check_events` either refuses the message whole or keeps only changes a
control's UI makes, with values inside the server's own bounds; it never raises anything
else.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import zlib

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.util.token import generate_jwt_token, generate_session_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.app_clients import bokeh_event
from explainers.site import guard
from explainers.site.guard import CHANGES, EVENTS, MAX_EVENTS, Bucket, Refused, check_events
from explainers.site.page import SECTIONS, build_section, configure, section_class

SECRET = "s" * 40
SLIDERS = ("Slider", "IntSlider", "FloatSlider", "RangeSlider", "DiscreteSlider")
EXAMPLES_PER_SECTION = 40


# ------------------------------------------------------------------------- tokens


def test_secret_from_the_environment_is_used_as_given():
    assert guard.session_secret({"EXPLAINER_SECRET_KEY": SECRET}) == (SECRET, False)
    assert guard.session_secret({"BOKEH_SECRET_KEY": SECRET}) == (SECRET, False)


def test_a_missing_or_short_secret_is_generated(caplog):
    key, generated = guard.session_secret({})
    assert generated and len(key) >= guard.MIN_SECRET_CHARS
    assert guard.session_secret({})[0] != key  # fresh each time
    with caplog.at_level("WARNING", logger="explainers.site.guard"):
        key, generated = guard.session_secret({"EXPLAINER_SECRET_KEY": "short"})
    assert generated and key != "short"
    assert "shorter than 32 characters" in caplog.text


def _signed_token(secret: str, payload: dict | None = None) -> str:
    sid = generate_session_id(secret_key=secret.encode(), signed=True)
    return generate_jwt_token(sid, secret_key=secret.encode(), signed=True, extra_payload=payload)


def test_only_tokens_signed_with_the_servers_key_are_accepted():
    key = SECRET.encode()
    assert guard.token_acceptable(_signed_token(SECRET), key)
    assert not guard.token_acceptable(_signed_token("t" * 40), key)  # another server's key
    sid = generate_session_id(signed=False)
    assert not guard.token_acceptable(generate_jwt_token(sid, signed=False), key)  # unsigned
    for junk in ["", "x", "a.b", "%%%.%%%", "e30.e30", "\x00" * 10, None]:
        assert not guard.token_acceptable(junk, key)


def test_a_zlib_bomb_token_is_refused_without_inflating_it():
    bomb = zlib.compress(b"{" + b" " * (50 * 1024 * 1024) + b"}", 9)
    body = {"session_id": "abc", "session_expiry": 2**40, "__bk__zlib_": base64.b64encode(bomb)}
    token = base64.urlsafe_b64encode(json.dumps(body, default=bytes.decode).encode()).decode()
    assert len(bomb) < 100_000
    # Over the size limit, or (if it fit) unsigned: refused either way, by looking only at
    # the length and the signature.
    assert not guard.token_acceptable(token, SECRET.encode())
    assert not guard.token_acceptable(token + ".sig", SECRET.encode())


def test_a_signed_token_too_long_to_be_ours_is_refused():
    pad = secrets.token_hex(guard.MAX_TOKEN_CHARS)  # random: compresses to about half
    token = _signed_token(SECRET, {"pad": pad})
    assert len(token) > guard.MAX_TOKEN_CHARS
    assert not guard.token_acceptable(token, SECRET.encode())


# ------------------------------------------------------------------------- budgets


def test_bucket_gives_rate_per_second_after_its_burst():
    now = [0.0]
    b = Bucket(rate=10, burst=5, clock=lambda: now[0])
    assert sum(b.take(1) for _ in range(20)) == 5
    assert math.isclose(b.wait_for(1), 0.1)
    now[0] += 1.0
    assert sum(b.take(1) for _ in range(20)) == 5  # refilled to the burst, not beyond


# ------------------------------------------------------------------------- events

_DOCS: dict[str, Document] = {}


def section_document(key: str) -> Document:
    if key not in _DOCS:
        configure()
        try:
            section = build_section(key)
        except ImportError as exc:  # a section that does not import fails its own tests
            pytest.skip(f"section {key} does not import: {exc}")
        doc = Document()
        doc.add_root(pn.panel(section).get_root(doc))
        _DOCS[key] = doc
    return _DOCS[key]


def importable_sections() -> list[str]:
    keys = []
    for key in SECTIONS:
        try:
            section_class(key)
        except ImportError:
            continue
        keys.append(key)
    return keys


JUNK_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([{"type": "number", "value": "nan"}, {"type": "number", "value": "-inf"}]),
    st.text(max_size=30),
    st.text(min_size=1001, max_size=3000),
    st.lists(st.integers(min_value=-3, max_value=60), max_size=5),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=2),
    st.just({"type": "object", "name": "Div", "id": "new-1", "attributes": {"text": "x"}}),
    st.just([{"type": "object", "name": "Div", "id": "new-2"}]),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@st.composite
def an_event(draw, doc: Document):
    models = sorted(doc.models, key=lambda m: m.id)
    model = draw(st.sampled_from(models))
    choice = draw(st.integers(0, 9))
    if choice <= 5:  # change a property of a model of the page
        props = sorted(model.properties()) + ["__class__", "_destroyed", "x" * 300]
        return {
            "kind": "ModelChanged",
            "model": {"id": model.id if choice else "no-such-model"},
            "attr": draw(st.sampled_from(props)),
            "new": draw(JUNK_VALUES),
        }
    if choice <= 7:  # an event, named as a page names them or not
        name = draw(st.sampled_from([*EVENTS, "button_click", "reset", "x" * 100]))
        event = bokeh_event(name, model.id if draw(st.booleans()) else None)
        if draw(st.booleans()):
            event["msg_data"]["values"]["entries"].append(["x", draw(JUNK_VALUES)])
        return event
    kind = draw(st.sampled_from(sorted(guard.STRUCTURAL)))
    return {"kind": kind, "model": {"id": model.id}, "data": draw(JUNK_VALUES)}


def _check_kept(doc: Document, kept: list, sent: list) -> None:
    assert len(kept) <= len(sent)
    for ev in kept:
        if ev["kind"] == "MessageSent":
            assert ev["msg_data"]["name"] in EVENTS
            continue
        assert ev["kind"] == "ModelChanged"
        model = doc.get_model_by_id(ev["model"]["id"])
        kind = type(model).__name__.rstrip("0123456789")
        assert ev["attr"] in CHANGES[kind], (kind, ev["attr"])
        new = ev["new"]
        assert not isinstance(new, dict), new
        if kind in SLIDERS:
            for v in new if isinstance(new, list) else [new]:
                assert isinstance(v, int | float) and math.isfinite(v)
                assert model.start <= v <= model.end, (v, model.start, model.end)
        if isinstance(new, str):
            assert len(new) <= 4 * guard.MAX_TEXT


@pytest.mark.parametrize("key", list(SECTIONS))
def test_generated_patches_keep_only_what_a_control_can_change(key):
    doc = section_document(key)

    @settings(
        max_examples=EXAMPLES_PER_SECTION,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(an_event(doc), min_size=1, max_size=6))
    def run(events):
        structural = any(e["kind"] in guard.STRUCTURAL for e in events)
        try:
            kept, _messages = check_events(doc, events)
        except Refused:
            return
        assert not structural, "a structural event got through"
        _check_kept(doc, kept, events)

    run()


#: Widgets a reader only reads or clicks (a click is an event, not a property change).
DISPLAY_OR_CLICK = {"HTML", "Div", "KaTeX", "Markup", "Paragraph", "PreText", "Button"}


def test_every_control_of_every_section_has_its_rule():
    from bokeh.models import Widget

    kinds = {
        type(m).__name__
        for key in importable_sections()
        for m in section_document(key).models
        if isinstance(m, Widget)
    }
    assert kinds - DISPLAY_OR_CLICK, "no controls found"
    missing = kinds - DISPLAY_OR_CLICK - set(CHANGES)
    assert not missing, f"controls the gate would refuse entirely: {missing}"


def test_structural_and_oversized_messages_are_refused_whole():
    doc = section_document("hopfield")
    model = next(iter(doc.models))
    with pytest.raises(Refused):
        check_events(doc, [{"kind": "RootAdded", "model": {"id": model.id}}])
    slider = next(m for m in doc.models if type(m).__name__ == "Slider")
    change = {"kind": "ModelChanged", "model": {"id": slider.id}, "attr": "value", "new": 1}
    assert len(check_events(doc, [change] * MAX_EVENTS)[0]) == MAX_EVENTS
    with pytest.raises(Refused):
        check_events(doc, [change] * (MAX_EVENTS + 1))
    new_ref = {**change, "attr": "tags", "new": [{"type": "object", "name": "Div", "id": "q"}]}
    with pytest.raises(Refused):
        check_events(doc, [new_ref])


def test_slider_values_are_checked_against_the_servers_bounds_with_a_links_message():
    doc = section_document("hopfield")
    slider = next(m for m in doc.models if getattr(m, "title", "") == "Temperature T")

    def send(attr, new):
        ev = {"kind": "ModelChanged", "model": {"id": slider.id}, "attr": attr, "new": new}
        return check_events(doc, [ev])

    kept, messages = send("value", 1e9)
    assert kept[0]["new"] == slider.end
    assert messages == [
        f"“Temperature T” = 1000000000.0 is above the largest allowed value; using {slider.end}."
    ]
    assert send("value", {"type": "number", "value": "nan"})[0] == [] or pytest.fail()
    kept, messages = send("value", "9" * 200_000)
    assert kept == [] and "too long" in messages[0]
    for attr in ("start", "end", "step", "title", "disabled", "tags"):
        assert send(attr, 1.0) == ([], []), attr
