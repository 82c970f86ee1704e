"""Take the README's screenshots with the same Chromium the tests drive.

    python scripts/screenshots.py [--out docs/screenshots] [--only KEY ...]

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
            for label, wait_ms in POKES.get(key, []):
                button = page.get_by_role("button", name=label, exact=True)
                if button.count():
                    button.first.click()
                    page.wait_for_timeout(wait_ms)
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
    args = ap.parse_args(argv)
    port = free_port()
    proc = start_app(port, log_name="screenshots")
    try:
        wait_http(f"http://127.0.0.1:{port}/liveness")
        shoot(f"http://127.0.0.1:{port}", args.out, args.only or list(SECTIONS))
    finally:
        stop_app(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
