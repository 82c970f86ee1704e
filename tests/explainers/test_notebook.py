"""docs/notebook.ipynb, executed in a real Jupyter kernel: ``explainers.notebook()`` puts
every resource inline, so the section's output needs no internet."""

from __future__ import annotations

import json
import re

import pytest

from explainers.sigmoid import StochasticNeuron
from tests import notebooks

pytestmark = pytest.mark.slow

# Where a notebook front end would fetch code from (Bokeh's, Panel's and npm's CDNs).
CDN = re.compile(r"cdn\.bokeh\.org|cdn\.holoviz\.org|cdn\.jsdelivr\.net|unpkg\.com")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    where = tmp_path_factory.mktemp("notebook")
    return notebooks.execute(where / "executed.ipynb", where)


def test_notebook_shows_the_section_with_the_engines_numbers(executed):
    html = "".join(o.get("data", {}).get("text/html", "") for o in notebooks.outputs(executed))
    assert "explainer-sigmoid" in html and "sigmoid-curve" in html
    printed = "".join(o.get("text", "") for o in notebooks.outputs(executed))
    expected = StochasticNeuron(temperature=0.5, delta_e=1.0).p
    assert f"p(turn on) = {expected:.4f}" in printed
    assert not [o for o in notebooks.outputs(executed) if o.output_type == "error"]


def test_notebook_loads_everything_inline(executed):
    loads = [
        o["data"]["application/vnd.holoviews_load.v0+json"]
        for o in notebooks.outputs(executed)
        if "application/vnd.holoviews_load.v0+json" in o.get("data", {})
    ]
    assert loads, "explainers.notebook() loaded no Panel resources"
    # The loader's lists of files to fetch are empty: Bokeh, Panel and KaTeX come inline.
    for script in loads:
        for name in ("js_urls", "css_urls", "js_modules"):
            for found in re.findall(rf"{name} = (\[[^\]]*\])", script):
                assert json.loads(found) == [], (name, found[:200])
    assert any("KaTeX parse error" in script for script in loads), "KaTeX is not inline"
    # No view asks for a script or stylesheet from a CDN.
    for o in notebooks.outputs(executed):
        html = o.get("data", {}).get("text/html", "")
        assert not CDN.search(html), CDN.search(html)
