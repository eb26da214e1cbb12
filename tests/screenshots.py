"""Screenshots of the real page: the first view (for the README) and each view, on a laptop and a phone.

    python -m tests.screenshots [--out build/screenshots] [--readme docs/first-view.png]

`make screenshots` runs it. The page is served by serve.py and drawn by Debian's Chromium, as in the tests.
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, READY_TIMEOUT_MS, REPO, start_server, stop_server

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
# Each view by the panel its toggle (#<name>-toggle) opens: the URL hash's names (page/state.py PANELS).
VIEWS = ("details", "loss", "prior", "manifold", "samples", "interpolate", "kl", "vq", "source")
# What says a view that loads on demand has drawn its first picture.
DRAWN = {
    "kl": "#kl-plot[data-encoded]:not([data-encoded=''])",
    "vq": "#vq-reconstruction[data-codes]:not([data-codes=''])",
    "source": ".cm-content",
}


def settle(page):
    page.wait_for_selector("html[data-ready=true]", state="attached", timeout=READY_TIMEOUT_MS)
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=30_000)
    page.wait_for_timeout(300)  # a view's own transitions (the KL view's codes move for 700 ms at most)


def shoot(browser, url, size, out, views):
    """The first view, then each view opened from it by its own toggle, as a learner would, scrolled into view."""
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone")
    page = context.new_page()
    page.goto(url)
    settle(page)
    written = [out / f"{size}-first-view.png"]
    page.screenshot(path=written[0])
    for view in views:
        page.goto(url)
        page.reload()
        settle(page)
        toggle = page.locator(f"#{view}-toggle")
        toggle.scroll_into_view_if_needed()
        toggle.click()
        if view in DRAWN:
            page.wait_for_selector(DRAWN[view], state="attached", timeout=READY_TIMEOUT_MS)
        settle(page)
        written.append(out / f"{size}-{view}.png")
        page.screenshot(path=written[-1])
    context.close()
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "screenshots")
    parser.add_argument("--readme", type=Path, default=REPO / "docs" / "first-view.png")
    parser.add_argument("--views", nargs="*", default=VIEWS, choices=VIEWS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    proc, url = start_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            written = [path for size in SIZES for path in shoot(browser, url, size, args.out, args.views)]
            browser.close()
    finally:
        stop_server(proc)
    args.readme.write_bytes((args.out / "desktop-first-view.png").read_bytes())
    for path in [*written, args.readme]:
        print(path)


if __name__ == "__main__":
    main()
