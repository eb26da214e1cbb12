"""The cross-engine smoke scenario (steps.json) in each engine, each returning the same readings:

- Chromium (Debian's), through Playwright, as the rest of the browser tests;
- Firefox ESR (Debian's), over WebDriver BiDi through npm puppeteer-core (`firefox.mjs`): Playwright cannot drive a
  stock Firefox, and Debian has no geckodriver;
- WebKitGTK, Safari's engine (Debian's `webkit2gtk-driver`), through Selenium's WebKitGTK driver
  (`WebKitWebDriver`), on an Xvfb display: WebKitGTK's WebDriver has no headless mode.
"""

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = json.loads((HERE / "steps.json").read_text(encoding="utf-8"))
STEPS, STILL, REGIONS = SCENARIO["steps"], SCENARIO["still"], SCENARIO["regions"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_S = 120
# A "7" across the drawing canvas, as fractions of its box.
STROKE = ((0.3, 0.25), (0.5, 0.25), (0.7, 0.25), (0.6, 0.45), (0.5, 0.65), (0.45, 0.8))
FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
WEBKIT_DRIVER = os.environ.get("WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = "*/webkit2gtk-4.1/MiniBrowser"  # the browser webkit2gtk-driver drives, under /usr/lib/<architecture>/


def shot_name(engine, step):
    return f"{engine}-{step['name'].replace(' ', '-')}.png"


def view_js(step):
    """Scrolls the step's view to the middle of the viewport, for its screenshot."""
    # At once, not smoothly: the regions are read, and the screenshot taken, right after.
    where = "{block: 'center', behavior: 'instant'}"
    return f"document.querySelector({json.dumps(step['view'])}).scrollIntoView({where})"


def wait_still(read):
    """Until `read()` (the scenario's `still`) gives the same for 300 ms: a smooth scroll has come to rest."""
    seen, deadline = [], time.monotonic() + 10
    while len(seen) < 4 or len(set(seen[-4:])) > 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page kept scrolling: {seen[-4:]}")
        seen.append(read())
        time.sleep(0.1)


def until_js(step, prev):
    return f"(({'prev'}) => {step['until']})({json.dumps(prev)})"


def chromium(browser, url, out_dir):
    """The scenario in a fresh Playwright context of the tests' Chromium."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    result = {"engine": "chromium", "steps": [], "errors": errors, "screenshots": []}
    started = time.monotonic()
    page.goto(url)
    prev = {}
    try:
        for step in STEPS:
            if step["do"]:
                page.evaluate(step["do"])
            if step.get("input") == "stroke":
                page.locator("#draw-canvas").scroll_into_view_if_needed()
                box = page.locator("#draw-canvas").bounding_box()
                at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in STROKE]
                page.mouse.move(*at[0])
                page.mouse.down()
                for point in at[1:]:
                    page.mouse.move(*point, steps=4)
                page.mouse.up()
            # A function, not an expression: Playwright runs an expression through eval(), which the page's CSP forbids.
            page.wait_for_function(f"() => {until_js(step, prev)}", timeout=TIMEOUT_S * 1000, polling=50)
            wait_still(lambda: page.evaluate(STILL))
            if step.get("view"):
                page.evaluate(view_js(step))
                wait_still(lambda: page.evaluate(STILL))
            reading = page.evaluate(step["read"])
            result["steps"].append({"name": step["name"], "reading": reading, "seconds": time.monotonic() - started})
            prev = {**prev, **reading}
            path = Path(out_dir) / shot_name("chromium", step)
            result["steps"][-1]["regions"] = page.evaluate(REGIONS)
            page.screenshot(path=str(path))
            result["screenshots"].append(str(path))
    finally:
        context.close()
    return result


def firefox(url, out_dir):
    done = subprocess.run(
        ["node", str(HERE / "firefox.mjs"), url, str(out_dir)], capture_output=True, text=True, timeout=TIMEOUT_S * 4
    )
    if done.returncode != 0:
        raise RuntimeError(f"firefox.mjs failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def xvfb_display():
    """A private Xvfb display for WebKitGTK's windows, stopped afterwards."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        display = pipe.readline().strip()
    try:
        yield f":{display}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# WebKitGTK's WebDriver has no console log; the page's own console errors and uncaught errors are recorded by a
# hook installed right after navigation (Python starts seconds later, so its errors are all caught).
ERROR_HOOK = """
window.__engineErrors = [];
const error = console.error.bind(console);
console.error = (...args) => { window.__engineErrors.push(args.map(String).join(' ')); error(...args); };
window.addEventListener('error', (e) => window.__engineErrors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.__engineErrors.push(String(e.reason)));
"""


def webkit(url, out_dir):
    """The scenario in WebKitGTK through Selenium's WebKitGTK driver, on a private Xvfb display."""
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.client_config import ClientConfig
    from selenium.webdriver.remote.remote_connection import RemoteConnection
    from selenium.webdriver.support.ui import WebDriverWait

    with xvfb_display() as display, tempfile.TemporaryDirectory() as home:
        options = webdriver.WebKitGTKOptions()
        options.binary_location = shutil.which("MiniBrowser") or str(next(Path("/usr/lib").glob(MINIBROWSER)))
        options.add_argument("--automation")
        env = {**os.environ, "DISPLAY": display, "HOME": home}
        service = webdriver.WebKitGTKService(executable_path=WEBKIT_DRIVER, env=env)
        service.start()
        # Through a ClientConfig: webdriver.WebKitGTK() passes the address the way Selenium itself deprecates.
        connection = RemoteConnection(client_config=ClientConfig(remote_server_addr=service.service_url))
        driver = webdriver.Remote(command_executor=connection, options=options)
        result = {"engine": "webkit", "steps": [], "errors": [], "screenshots": []}
        try:
            driver.set_window_rect(0, 0, VIEWPORT["width"], VIEWPORT["height"])
            started = time.monotonic()
            driver.get(url)
            driver.execute_script(ERROR_HOOK)
            prev = {}
            for step in STEPS:
                if step["do"]:
                    driver.execute_script(step["do"])
                if step.get("input") == "stroke":
                    canvas = driver.find_element(By.ID, "draw-canvas")
                    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", canvas)
                    size = canvas.size
                    offsets = [(round((x - 0.5) * size["width"]), round((y - 0.5) * size["height"])) for x, y in STROKE]
                    chain = ActionChains(driver).move_to_element_with_offset(canvas, *offsets[0]).click_and_hold()
                    for (x0, y0), (x1, y1) in itertools.pairwise(offsets):
                        chain = chain.move_by_offset(x1 - x0, y1 - y0)
                    chain.release().perform()
                WebDriverWait(driver, TIMEOUT_S, poll_frequency=0.1).until(
                    lambda d, step=step, prev=prev: d.execute_script(f"return {until_js(step, prev)}")
                )
                wait_still(lambda: driver.execute_script(f"return {STILL}"))
                if step.get("view"):
                    driver.execute_script(view_js(step))
                    wait_still(lambda: driver.execute_script(f"return {STILL}"))
                reading = driver.execute_script(f"return {step['read']}")
                result["steps"].append(
                    {"name": step["name"], "reading": reading, "seconds": time.monotonic() - started}
                )
                prev = {**prev, **reading}
                path = Path(out_dir) / shot_name("webkit", step)
                result["steps"][-1]["regions"] = driver.execute_script(f"return {REGIONS}")
                driver.save_screenshot(str(path))
                result["screenshots"].append(str(path))
            result["errors"] = driver.execute_script("return window.__engineErrors")
        finally:
            driver.quit()
            service.stop()
    return result
