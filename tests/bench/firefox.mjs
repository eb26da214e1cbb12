// The benchmark's Firefox figures, driven by tests/bench/engines.py: cold loads, each in a fresh Firefox ESR profile
// (launched as tests/engines/firefox-browser.mjs does), then latent hovers moved by puppeteer's mouse (WebDriver
// BiDi's input actions, a real pointer), all measured by the bench's own page scripts (tests/bench/page_js.py),
// which come with the plan, as JSON on stdin:
//
//     node tests/bench/firefox.mjs < plan.json
//
// Prints one JSON object: the browser's version, each target's load records and hover figures, console errors.
import { launchFirefox, watchErrors } from "../engines/firefox-browser.mjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { scripts, targets, viewport, readyTimeoutMs, settleTimeoutMs } = JSON.parse(Buffer.concat(chunks).toString());
// Firefox rounds performance.now() and event times to 1 ms unless told otherwise: the figures want Chromium's
// resolution (0.1 ms). Only the clock's resolution changes, not what the page does.
const PREFS = { "privacy.reduceTimerPrecision": false };
const call = (page, source, arg = null) => page.evaluate(`(${source})(${JSON.stringify(arg)})`);
const errors = [];
const out = { version: null, targets: {}, errors };

for (const target of targets) {
  const loads = [];
  let kept = null;
  for (let run = 0; run < target.runs; run++) {
    const browser = await launchFirefox(viewport, PREFS);
    out.version ??= await browser.version();
    try {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      watchErrors(page, errors);
      await page.evaluateOnNewDocument(scripts.loadInit);
      await page.goto(target.url, { waitUntil: "domcontentloaded", timeout: readyTimeoutMs });
      const record = await call(page, scripts.loadResult, readyTimeoutMs);
      loads.push(record);
      const marks = record.marks || {};
      process.stderr.write(`  firefox load ${run + 1}/${target.runs} ${target.name}: useful `
        + `${((marks["useful paint"] ?? NaN) / 1e3).toFixed(2)} s, ready ${((marks["data-ready"] ?? NaN) / 1e3).toFixed(2)} s\n`);
      if (run === target.runs - 1 && !record.error) kept = { browser, page };
    } finally {
      if (!kept) await browser.close();
    }
  }
  out.targets[target.name] = { loads, hovers: null };
  if (kept) {
    try {
      out.targets[target.name].hovers = await hovers(kept.page, target.hovers);
    } finally {
      await kept.browser.close();
    }
  }
}
console.log(JSON.stringify(out));

// Each list of [type, fx, fy] (fractions of the element's box) as real pointer moves, one at a time: armed in the
// page (idle, a random phase of the frame), the mouse moved, the event's figures read back.
async function hovers(page, { targetId, lists }) {
  const element = await page.$(`#${targetId}`);
  await element.scrollIntoView();
  const placeholders = await call(page, scripts.placeholders);
  const measured = {};
  let last = null;
  for (const [name, events] of Object.entries(lists)) {
    const box = await element.boundingBox();
    measured[name] = [];
    for (const [, fx, fy] of events) {
      let x = Math.round(box.x + fx * box.width);
      const y = Math.round(box.y + fy * box.height);
      if (last && last[0] === x && last[1] === y) x += 1; // the pointer must move for a pointermove
      await call(page, scripts.arm, { targetId, timeoutMs: settleTimeoutMs });
      await page.mouse.move(x, y);
      measured[name].push(await call(page, scripts.armed));
      last = [x, y];
    }
  }
  return { placeholders, ...measured };
}
