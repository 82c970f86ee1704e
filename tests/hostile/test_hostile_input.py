"""Hostile input at every section: whatever a link, a script or a client sends, nothing breaks.

Hypothesis throws generated junk (NaN, ±inf, negative and huge numbers, wrong types, unknown
names, overlong strings, unicode junk, empty values) at ``apply_values`` of every section in
:data:`explainers.site.page.SECTIONS`, built without a browser.  After every call:

* no exception escaped;
* every parameter of the section is inside its declared bounds / objects / pattern;
* every value that did not land exactly as given (refused, clamped) is named in a message,
  and the section's message area is visible and says it.

The expected outcome of each value is worked out here from the parameter's declaration
(independently of :func:`explainers.section.coerce`).  Heavy background jobs (capacity
sweeps, samplers) are recorded instead of run: they do not take part in validation, and
running a 400-unit sweep per example would make the test take minutes.
"""

from __future__ import annotations

import html
import importlib
import math
import re

import param
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explainers.section import MAX_RAW_LENGTH, Section
from explainers.site.page import SECTIONS, section_class

from .checks import check_declared, selector_objects

EXAMPLES_PER_SECTION = 60  # × 8 sections = 480 calls, each with 1–4 hostile values
assert EXAMPLES_PER_SECTION * 5 >= 300  # still ≥ 300 if some sections were missing

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}
REFUSE = object()  # the oracle's "this value must not be applied"
HUGE = 10**5000  # str() of it raises ValueError in Python ≥ 3.11

JUNK = [
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    1e308,
    -1e308,
    5e-324,
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-Infinity",
    "1e999",
    "-1e999",
    "1e308",
    "-1e308",
    "",
    " ",
    "\x00",
    "%00",
    "None",
    "null",
    "undefined",
    "true",
    "[]",
    "{}",
    "0x1F",
    "1/0",
    "1_000",
    "١٢٣",  # Arabic-Indic digits: float() accepts them
    "\u202e1",  # right-to-left override
    "\ufeff3",
    "<script>alert(1)</script>",
    "'; DROP TABLE x; --",
    "9" * (MAX_RAW_LENGTH + 1),
    "0." + "1" * 200,
    10**30,
    -(10**30),
    2**63,
    HUGE,
    None,
    True,
    False,
    b"1",
    b"\xff\xfe",
    [],
    [1, 2],
    {"a": 1},
    (0.5,),
    object(),
]

hostile_values = st.one_of(
    st.sampled_from(JUNK),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(min_value=-5, max_value=300).map(str),
    st.floats(min_value=-1e6, max_value=1e6).map(repr),
    st.text(max_size=40),  # unicode junk, including control characters
    st.text(min_size=MAX_RAW_LENGTH + 1, max_size=5000),  # overlong
    st.binary(max_size=16),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)

UNKNOWN_NAMES = ["bogus", "name", "param", "__class__", "__dict__", "_notice", "animator",
                 "body", "Temperature", "seed ", "", " ", "\x00", "a" * 500]  # fmt: skip


# ------------------------------------------------------------------------------ oracle


def _text(raw):
    try:
        return raw if isinstance(raw, str) else str(raw)
    except Exception:  # e.g. a 5000-digit int
        return None


def expected_value(p: param.Parameter, raw):
    """What a correct section applies for ``raw`` (before clamping), or REFUSE."""
    text = _text(raw)
    if text is None or len(text) > MAX_RAW_LENGTH:
        return REFUSE
    text = text.strip()
    if isinstance(p, param.Boolean):
        low = text.lower()
        return True if low in TRUE else False if low in FALSE else REFUSE
    if isinstance(p, param.Number):
        try:
            value = float(text)
        except ValueError:
            return REFUSE
        if not math.isfinite(value):
            return REFUSE
        return round(value) if isinstance(p, param.Integer) else value
    if isinstance(p, param.Selector):
        matches = [o for o in selector_objects(p) if str(o) == text]
        return matches[0] if matches else REFUSE
    if isinstance(p, param.String):
        regex = getattr(p, "regex", None)
        return text if regex is None or re.fullmatch(regex, text) else REFUSE
    return REFUSE


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text) is not None


# ------------------------------------------------------------------------------ the test


def _build(key: str, monkeypatch):
    try:
        cls = section_class(key)
    except (ImportError, AttributeError) as exc:  # a section still being written
        pytest.skip(f"section {key} not importable yet: {exc}")
    module = importlib.import_module(cls.__module__)
    jobs = []
    if hasattr(module, "run_in_background"):
        monkeypatch.setattr(module, "run_in_background", lambda *a, **k: jobs.append(a))
    return cls()


def check_call(section, raw: dict) -> None:
    """Apply ``raw`` to ``section`` and check the outcome (the module docstring's rules)."""
    key = section.key
    known = [*section.url_params, "embed"]
    section._notice.object, section._notice.visible = "", False
    before = {name: getattr(section, name) for name in known}
    wanted = {
        name: expected_value(section.param[name], value)
        for name, value in raw.items()
        if name in known
    }

    messages = section.apply_values(raw)  # must not raise

    assert isinstance(messages, list)
    check_declared(section)
    said = "\n".join([*messages, section._notice.object or ""])
    for name in raw:
        if name not in known:
            shown = html.escape(str(name)[:24])
            assert shown.strip() == "" or any(shown in m for m in messages), (
                f"{key}: unknown name {name!r} passed silently"
            )
            continue
        value, want = getattr(section, name), wanted[name]
        if want is REFUSE:
            assert _mentions(said, name), f"{key}.{name}: {raw[name]!r} refused silently"
            if len([n for n in raw if n in known]) == 1:
                assert value == before[name], f"{key}.{name} changed by a refused value"
        elif value != want:  # clamped, or adjusted by the section
            assert _mentions(said, name), (
                f"{key}.{name}: {raw[name]!r} became {value!r} without a message"
            )
    if messages:
        assert section._notice.visible and section._notice.object.strip(), (
            f"{key}: messages {messages} not shown"
        )


def hostile_property(section, max_examples: int = EXAMPLES_PER_SECTION) -> None:
    """Run the property of the module docstring against ``section`` (raises on a failure)."""
    known = [*section.url_params, "embed"]
    names = st.one_of(
        st.sampled_from(known),
        st.sampled_from(known),  # known names twice as often as unknown ones
        st.sampled_from(UNKNOWN_NAMES),
        st.text(max_size=30),
    )

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=False,
        report_multiple_bugs=False,
    )
    @given(raw=st.dictionaries(names, hostile_values, min_size=1, max_size=4))
    def check(raw):
        check_call(section, raw)

    check()


@pytest.mark.parametrize("key", list(SECTIONS))
def test_every_hostile_value_is_refused_or_clamped_with_a_message(key, monkeypatch):
    section = _build(key, monkeypatch)
    section.__panel__()  # the built layout must survive hostile values too
    hostile_property(section)


@pytest.mark.parametrize("key", list(SECTIONS))
def test_every_junk_value_at_every_parameter(key, monkeypatch):
    """Exhaustive companion of the property: each listed junk value at each parameter."""
    section = _build(key, monkeypatch)
    for name in [*section.url_params, "embed"]:
        for value in JUNK:
            check_call(section, {name: value})


def test_the_oracle_agrees_with_simple_cases():
    """A wrong oracle would make the property above pass vacuously."""

    class P(param.Parameterized):
        x = param.Number(default=1.0, bounds=(0.0, 2.0))
        n = param.Integer(default=3, bounds=(1, 10))
        c = param.Selector(objects={"a b": "ab", "c": "cc"}, default="ab")
        s = param.String(default="000", regex=r"^[01]{3}$")
        f = param.Boolean(default=False)

    ps = P.param
    assert expected_value(ps.x, " 1.5 ") == 1.5
    assert expected_value(ps.x, "5") == 5.0  # out of range, clamped by the section
    assert expected_value(ps.x, "nan") is REFUSE
    assert expected_value(ps.x, math.inf) is REFUSE
    assert expected_value(ps.n, "2.6") == 3
    assert expected_value(ps.n, HUGE) is REFUSE
    assert expected_value(ps.c, "cc") == "cc" and expected_value(ps.c, "a b") is REFUSE
    assert expected_value(ps.s, "010") == "010" and expected_value(ps.s, "012") is REFUSE
    assert expected_value(ps.f, "Yes") is True and expected_value(ps.f, "maybe") is REFUSE
    assert expected_value(ps.x, "1" * (MAX_RAW_LENGTH + 1)) is REFUSE
    assert _mentions("“n” = 5 is above", "n") and not _mentions("“nn” is", "n")
    assert _mentions("With n = 400, p can be at most 120", "p")


class _Silent(Section):
    """A section that clamps without saying so: the property must catch it."""

    key = "silent"
    url_params = ("x",)
    x = param.Number(default=1.0, bounds=(0.0, 2.0))

    def apply_values(self, raw, source="link"):
        for value in raw.values():
            try:
                self.x = min(max(float(value), 0.0), 2.0)
            except (TypeError, ValueError):
                pass
        return []

    def body(self):
        return "body"


def test_the_property_catches_a_section_that_clamps_silently():
    with pytest.raises(AssertionError):
        hostile_property(_Silent(), max_examples=50)
