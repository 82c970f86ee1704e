"""Checks shared by the hostile-input, caps and mangled-link tests."""

from __future__ import annotations

import math
import re

import param


def selector_objects(p: param.Selector) -> list:
    return list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)


def check_declared(section) -> None:
    """Every parameter of ``section`` holds a value its own declaration allows."""
    for name in section.param:
        p = section.param[name]
        v = getattr(section, name)
        where = f"{section.key}.{name} = {v!r}"
        if isinstance(p, param.Boolean):
            assert isinstance(v, bool), where
        elif isinstance(p, param.Number):
            if v is None:
                assert p.allow_None, where
                continue
            assert isinstance(v, int | float) and not isinstance(v, bool), where
            assert math.isfinite(v), where
            if isinstance(p, param.Integer):
                assert isinstance(v, int), where
            lo, hi = p.bounds or (None, None)
            assert lo is None or v >= lo, where
            assert hi is None or v <= hi, where
        elif isinstance(p, param.Selector):
            assert v in selector_objects(p), where
        elif isinstance(p, param.String) and v is not None:
            assert getattr(p, "regex", None) is None or re.fullmatch(p.regex, v), where
