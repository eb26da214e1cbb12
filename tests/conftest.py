"""Shared fixtures: the pure core on sys.path, the real server, and the real page in Debian's Chromium."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "pysrc"))
# The tests read the precompressed files' bytes once decoded, whatever brotli quality made them, so vendoring for
# them asks for 5 (seconds) and keeps a folder made at more (serving/brotli.py); 11 takes minutes on 2 cores.
os.environ.setdefault("VAE_BROTLI_QUALITY", "5")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
]
READY_TIMEOUT_MS = 90_000


def start_server(root=None, extra=()):
    """serve.py in a subprocess on a free port, exactly as a user runs it; returns (process, base URL)."""
    cmd = [sys.executable, str(REPO / "serve.py"), "--port", "0", *extra]
    proc = subprocess.Popen(
        cmd, cwd=root or REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
    )
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"serve.py did not start: {line!r}")
    url = line[line.index("http://") :].split()[0]
    return proc, url if url.endswith("/") else url + "/"


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    finally:
        proc.stdout.close()


@pytest.fixture(scope="session")
def train():
    """The real MNIST training split (60,000 images), read once."""
    from training.mnist import load_split

    return load_split("train")


@pytest.fixture(scope="session")
def test():
    """The real MNIST test split (10,000 images), read once."""
    from training.mnist import load_split

    return load_split("test")


@pytest.fixture(scope="session")
def server_url():
    proc, url = start_server()
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """A page plus everything worth asserting about its life: console errors and foreign requests."""

    def __init__(self, page, base_url):
        self.page = page
        self.base = urlsplit(base_url)
        self.errors = []
        self.warnings = []
        self.requests = []  # (method, path) of every same-origin request
        self.foreign = []
        self.csp_violations = []
        self.origins = set()  # every origin opened, so a page kept for the next test can be given back clean
        self.listeners = {"console": self._console, "pageerror": self._pageerror, "request": self._request}
        for event, listener in self.listeners.items():
            page.on(event, listener)

    def _pageerror(self, error):
        self.errors.append(f"pageerror: {error}")

    def _console(self, message):
        if message.type == "error":
            self.errors.append(message.text)
        if message.type == "warning":
            self.warnings.append(message.text)
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if (parts.scheme, parts.netloc) != (self.base.scheme, self.base.netloc):
            self.foreign.append(request.url)
        else:
            self.requests.append((request.method, parts.path))

    def open(self, url, ready=True):
        self.base = urlsplit(url)
        self.origins.add(f"{self.base.scheme}://{self.base.netloc}")
        self.page.goto(url)
        if ready:
            self.wait_ready()
        return self.page

    def open_state(self, server_url, **state):
        """Open the page in a given AppState (through its URL hash) and wait until its numbers are current."""
        from page.state import AppState, encode_hash

        page = self.open(server_url + "#" + encode_hash(AppState(**state)))
        self.settle()
        return page

    def draw(self, strokes, surface="#draw-canvas"):
        """Draw strokes given in canvas units (0–280) with the mouse, as a learner would."""
        self.page.locator(surface).scroll_into_view_if_needed()
        box = self.page.locator(surface).bounding_box()
        scale = box["width"] / 280
        for stroke in strokes:
            x0, y0 = stroke[0]
            self.page.mouse.move(box["x"] + x0 * scale, box["y"] + y0 * scale)
            self.page.mouse.down()
            for x, y in stroke[1:]:
                self.page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=4)
            self.page.mouse.up()

    def wait_ready(self):
        self.page.wait_for_selector("html[data-ready=true]", state="attached", timeout=READY_TIMEOUT_MS)

    def vector(self, name):
        """One of #latent-plot's data-mu / data-sigma / data-z / data-epsilon as a list of floats."""
        text = self.page.get_attribute("#latent-plot", f"data-{name}")
        return [float(v) for v in text.split(",")]

    def python(self, code):
        """Run Python in the page's interpreter (reached as PyScript's own modules reach it) and return the result."""
        return self.page.evaluate(
            """async (code) => (await globalThis[Symbol.for('polyscript')].env['py-script']).runPython(code)""", code
        )

    def settle(self):
        """Wait until the page has no frame in flight, so the numbers shown are the latest."""
        self.page.wait_for_selector("html[data-busy=false]", state="attached", timeout=10_000)


class KeptPage:
    """One page for a test worker's `watch` tests, each of which navigates it afresh. The renderer keeps the
    WebAssembly it compiled, as for a learner who comes back, so a test's load takes about a third less time (the
    tests that need a first visit make their own context). Each test gets the page back clean: none of the last
    test's listeners, routes, pointer state or stored data, and a new page if the last one crashed or closed."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1300, "height": 950})
        self.page = self.context.new_page()

    def take(self, base_url):
        if self.page.is_closed():
            self.page = self.context.new_page()
        return PageWatch(self.page, base_url)

    def give_back(self, watch):
        page = watch.page
        for event, listener in watch.listeners.items():
            page.remove_listener(event, listener)
        try:
            page.unroute_all(behavior="ignoreErrors")
            page.mouse.up()
            page.mouse.move(0, 0)
            page.goto("about:blank")
            session = self.context.new_cdp_session(page)
            for origin in watch.origins:
                session.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
            session.detach()
        except Exception:  # a crashed page: the next test gets a new one
            page.close()


@pytest.fixture(scope="session")
def kept_page(browser):
    kept = KeptPage(browser)
    yield kept
    kept.context.close()


@pytest.fixture
def watch(kept_page, server_url):
    watch = kept_page.take(server_url)
    yield watch
    kept_page.give_back(watch)
