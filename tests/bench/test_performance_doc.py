"""bench.harness.update_performance_doc: each benchmark owns one dated section of the page."""

from __future__ import annotations

from bench.harness import update_performance_doc


def test_a_section_is_added_then_replaced_and_the_others_are_kept(tmp_path):
    page = tmp_path / "performance.md"
    update_performance_doc("engine", "## Engine\n\nfirst", page)
    update_performance_doc("app", "## App\n\nonly", page)
    update_performance_doc("engine", "## Engine\n\nsecond", page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Performance")
    assert "second" in text and "first" not in text and "only" in text
    assert text.count("<!-- engine -->") == 1 and text.count("<!-- /app -->") == 1
    assert text.index("<!-- engine -->") < text.index("<!-- app -->")  # order kept
    assert text.count("Measured ") == 2 and "at commit `" in text
