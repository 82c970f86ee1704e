"""Take the README's screenshots with the same Chromium the tests drive.

    python scripts/screenshots.py [--out docs/screenshots] [--only KEY ...]
    python scripts/screenshots.py --screens phone projector [--only KEY ...]

Starts the app on a free port, opens each section alone, pokes it the way a reader would
(so the picture shows a live simulation, not an empty widget) and saves one PNG per section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explainers.site.page import SECTIONS  # noqa: E402
from tests.conftest import CHROMIUM_ARGS, free_port, start_app, stop_app, wait_http  # noqa: E402

# What a reader would click first, and how long to let it run, per section.
POKES: dict[str, list[tuple[str, int]]] = {
    "hopfield": [("Corrupt a memory", 300), ("Run", 2500)],
    "capacity": [],
    "sigmoid": [],
    "distribution": [("Sample", 2500)],
    "ising": [("Run", 2500)],
    "annealing": [("Run one descent", 2000)],
    "learning": [("Train", 3000)],
    "rbm": [("Train", 4000)],
}


# The README's pictures of a phone and of a projector in presentation mode (issue 12).
SCREENS: dict[str, dict] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "projector": {"viewport": {"width": 1920, "height": 1080}, "device_scale_factor": 1},
}
SCREEN_QUERY = {"phone": "", "projector": "?present=1"}


def _poke(page, key: str) -> None:
    for label, wait_ms in POKES.get(key, []):
        button = page.get_by_role("button", name=label, exact=True)
        if button.count():
            button.first.click()
            page.wait_for_timeout(wait_ms)


def shoot_screens(base_url: str, out_dir: Path, keys: list[str], screen: str) -> list[Path]:
    """``<screen>-<key>.png``: what a reader sees of each section's simulation on a phone or
    on a projector in presentation mode (the viewport, scrolled to the section's controls)."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(**SCREENS[screen])
        page = context.new_page()
        for key in keys:
            page.goto(f"{base_url}/{key}{SCREEN_QUERY[screen]}")
            body = page.locator(f".explainer-{key} .explainer-body").first
            body.wait_for(timeout=90_000)
            page.wait_for_timeout(1200)
            body.evaluate("(el) => el.scrollIntoView({block: 'start', behavior: 'instant'})")
            _poke(page, key)
            path = out_dir / f"{screen}-{key}.png"
            page.screenshot(path=str(path))
            written.append(path)
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        browser.close()
    return written


def shoot(base_url: str, out_dir: Path, keys: list[str], width: int = 820) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 1000}, device_scale_factor=1)
        for key in keys:
            page.goto(f"{base_url}/{key}")
            root = page.locator(f".explainer-{key}").first
            root.wait_for(timeout=90_000)
            page.wait_for_timeout(800)
            _poke(page, key)
            path = out_dir / f"{key}.png"
            root.screenshot(path=str(path))
            written.append(path)
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--only", nargs="*", choices=list(SECTIONS), default=None)
    ap.add_argument(
        "--screens", nargs="*", choices=list(SCREENS), default=[], help="phone/projector views"
    )
    args = ap.parse_args(argv)
    port = free_port()
    proc = start_app(port, log_name="screenshots")
    try:
        wait_http(f"http://127.0.0.1:{port}/liveness")
        keys = args.only or list(SECTIONS)
        if args.screens:
            for screen in args.screens:
                shoot_screens(f"http://127.0.0.1:{port}", args.out, keys, screen)
        else:
            shoot(f"http://127.0.0.1:{port}", args.out, keys)
    finally:
        stop_app(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
