"""The shared section frame: validation of untrusted values, URL state, embedding."""

from __future__ import annotations

import math

import param
import pytest

from explainers.section import MAX_RAW_LENGTH, Section, coerce


class Toy(Section):
    key = "toy"
    title = "Toy"
    url_params = ("temperature", "runs", "method", "flag")

    temperature = param.Number(default=1.0, bounds=(0.05, 10.0))
    runs = param.Integer(default=200, bounds=(10, 1000))
    method = param.Selector(default="cd", objects=["cd", "pcd"])
    flag = param.Boolean(default=False)

    def body(self):
        return "body"


@pytest.mark.parametrize(
    ("name", "raw", "expected", "ok", "has_msg"),
    [
        ("temperature", "2.5", 2.5, True, False),
        ("temperature", "-3", 0.05, True, True),  # clamped up
        ("temperature", "1e308", 10.0, True, True),  # clamped down
        ("temperature", "nan", None, False, True),
        ("temperature", "inf", None, False, True),
        ("temperature", "abc", None, False, True),
        ("runs", "999.6", 1000, True, False),
        ("runs", "5", 10, True, True),
        ("method", "pcd", "pcd", True, False),
        ("method", "PCD; drop", None, False, True),
        ("flag", "yes", True, True, False),
        ("flag", "maybe", None, False, True),
        ("temperature", "1" * (MAX_RAW_LENGTH + 1), None, False, True),
    ],
)
def test_coerce(name, raw, expected, ok, has_msg):
    value, msg, good = coerce(Toy.param[name], raw)
    assert good is ok
    assert (msg is not None) is has_msg
    if ok:
        assert value == expected
        assert type(value) is type(expected)


def test_apply_values_clamps_refuses_and_says_so():
    t = Toy()
    msgs = t.apply_values({"temperature": "99", "runs": "NaN", "bogus": "1", "method": "pcd"})
    assert t.temperature == 10.0
    assert t.runs == 200  # refused, unchanged
    assert t.method == "pcd"
    assert len(msgs) == 3
    assert "bogus" in t.notice


def test_clean_values_give_no_message():
    t = Toy()
    assert t.apply_values({"temperature": "0.5", "flag": "1"}) == []
    assert t.temperature == 0.5 and t.flag is True
    assert not t.notice


def test_query_round_trips_through_bind_url():
    t = Toy(temperature=0.25, runs=300, method="pcd", flag=True)
    args = {k: [v.encode()] for k, v in t.query().items()}
    args["other.temperature"] = [b"7"]  # another section's key is not ours
    fresh = Toy()
    fresh.bind_url(args)
    assert (fresh.temperature, fresh.runs, fresh.method, fresh.flag) == (0.25, 300, "pcd", True)


def test_out_of_range_set_is_refused_server_side():
    # A client can send any widget value over the websocket: the param bounds must hold.
    t = Toy()
    with pytest.raises(ValueError):
        t.temperature = 1e9
    with pytest.raises(ValueError):
        t.runs = 10**7
    assert t.temperature == 1.0 and t.runs == 200


def test_embed_snippet_carries_state_and_embed_mode():
    t = Toy(temperature=0.3)
    snippet = t.embed_snippet("https://class.example:8080")
    assert snippet.startswith("<iframe")
    assert "https://class.example:8080/toy?" in snippet
    assert "toy.temperature=0.3" in snippet and "embed=1" in snippet


def test_embed_hides_prose():
    t = Toy()
    layout = t.__panel__()
    prose = layout.objects[0]  # the title and the intro, in one pane
    assert prose.visible and 'class="section-title"' in prose.object
    t.embed = True
    assert not prose.visible
    assert "explainer-toy" in layout.css_classes


def test_float_query_is_compact():
    t = Toy(temperature=1 / 3)
    q = t.query()["toy.temperature"]
    assert math.isclose(float(q), 1 / 3, rel_tol=1e-5) and len(q) <= 10
