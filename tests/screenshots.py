"""`make screenshots`: PNGs of the real page, its first view and each view opened, on a laptop (1440×900) and a
phone (390×844), written to build/screenshots/ (and the laptop's first view to docs/, for the README).

Run as `python -m tests.screenshots`; each view is opened by its own button, as a learner opens it, so the picture
shows where the page brings it.
"""

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, PageWatch, start_server, stop_server  # noqa: E402
from test_a11y import toggle  # noqa: E402

OUT = REPO / "build" / "screenshots"
SIZES = {"1440x900": {"width": 1440, "height": 900}, "390x844": {"width": 390, "height": 844}}
VIEWS = ("details", "loss", "prior", "manifold", "samples", "interpolate", "kl", "vq", "train", "source")


def shoot(browser, url, size, viewport):
    mobile = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
    watch = PageWatch(context.new_page(), url)
    try:
        page = watch.open(url)
        watch.settle()
        written = [OUT / f"first-view-{size}.png"]
        page.screenshot(path=written[0])
        for view in VIEWS:
            page.evaluate("scrollTo(0, 0)")
            toggle(watch, view)
            page.mouse.move(0, 0)
            page.wait_for_timeout(1200)  # a smooth scroll to the opened view comes to rest
            written.append(OUT / f"{view}-{size}.png")
            page.screenshot(path=written[-1])
            toggle(watch, view)
        page.evaluate("scrollTo(0, 0)")
        page.click("#clear-button")
        watch.settle()
        written.append(OUT / f"empty-{size}.png")
        page.screenshot(path=written[-1])
        if watch.errors:
            raise SystemExit(f"the page logged errors at {size}: {watch.errors}")
        return written
    finally:
        context.close()


def main():
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    proc, url = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size, viewport in SIZES.items():
                for path in shoot(browser, url, size, viewport):
                    print(path.relative_to(REPO))
            browser.close()
    finally:
        stop_server(proc)
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copyfile(OUT / "first-view-1440x900.png", REPO / "docs/first-view.png")


if __name__ == "__main__":
    main()
