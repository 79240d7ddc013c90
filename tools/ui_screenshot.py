"""Make docs/ui-swap.png: a real screenshot of ``faceforge ui`` in headless chromium after a real preview.

The photos are the demo's public-domain ones (faceforge.demo.sample_photos: NASA's astronaut Eileen
Collins as the source, the US Navy's Grace Hopper as the target), never the test media, which may not be
published. The server and browser are the UI tests' own (tests/ui/ui_servers.py). The screenshot is
taken once the preview's image has been replaced by the swapped one (its ``src`` changes), so it shows
a finished preview, not a page still working.

Usage: .venv/bin/python tools/ui_screenshot.py [OUTPUT.png]   (default docs/ui-swap.png)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from ui_servers import CHROMIUM, CHROMIUM_FLAGS, STEP_MS, start_ui, stop_ui  # noqa: E402

VIEWPORT = {"width": 1050, "height": 880}


def main(output: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from faceforge.demo import sample_photos
    from faceforge.media.images import write_image

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        source, target = sample_photos()
        write_image(folder / "astronaut.png", source)
        write_image(folder / "grace_hopper.png", target)
        server = start_ui(folder / "workdir")
        try:
            with sync_playwright() as playwright:
                expect.set_options(timeout=STEP_MS)
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(server.url)
                page.locator("#sources input[type=file]").set_input_files(str(folder / "astronaut.png"))
                expect(page.locator("#status")).to_contain_text("1 source photo(s) ready.")
                page.locator("#target input[type=file]").set_input_files(str(folder / "grace_hopper.png"))
                expect(page.locator("#status")).to_contain_text("Preview: 1 face(s) swapped.")
                expect(page.locator("#preview img")).to_be_visible()
                page.wait_for_function(
                    "() => { const i = document.querySelector('#preview img');"
                    " return i && i.complete && i.naturalWidth > 0; }"
                )
                page.screenshot(path=str(output))
                browser.close()
        finally:
            stop_ui(server)
    print(output)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "ui-swap.png")
