// Debian's Firefox ESR, driven over WebDriver BiDi by npm puppeteer-core (Playwright cannot drive a stock Firefox,
// and no geckodriver is needed): the launch and the error watch that the smoke scenario (firefox.mjs) and the
// benchmark (tests/bench/firefox.mjs) share. Each launch is a fresh profile; `prefs` are added to its prefs.
import puppeteer from "puppeteer-core";

export async function launchFirefox(viewport, prefs = {}) {
  return await puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
    headless: true,
    args: [`--width=${viewport.width}`, `--height=${viewport.height}`],
    extraPrefsFirefox: { "browser.cache.disk.enable": false, ...prefs },
  });
}

// Console errors and uncaught page errors, pushed onto `errors`.
export function watchErrors(page, errors) {
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error.message || error)));
}
