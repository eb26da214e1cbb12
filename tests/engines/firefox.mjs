// The cross-engine smoke scenario (steps.json) in Debian's Firefox ESR (launched as firefox-browser.mjs says):
//
//     node tests/engines/firefox.mjs URL OUT_DIR
//
// Prints one JSON object: each step's reading and time, the console errors, and the screenshots written to OUT_DIR.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launchFirefox, watchErrors } from "./firefox-browser.mjs";

const [url, outDir] = process.argv.slice(2);
const { steps, still, regions } = JSON.parse(readFileSync(new URL("./steps.json", import.meta.url), "utf-8"));
const TIMEOUT_MS = 120_000;
const VIEWPORT = { width: 1280, height: 800 };

const browser = await launchFirefox(VIEWPORT);
const errors = [];
const result = { engine: "firefox", version: await browser.version(), steps: [], errors, screenshots: [] };
try {
  const page = await browser.newPage();
  await page.setViewport(VIEWPORT);
  watchErrors(page, errors);
  const started = Date.now();
  await page.goto(url, { waitUntil: "load" });
  let prev = {};
  for (const step of steps) {
    if (step.do) await page.evaluate(step.do);
    if (step.input === "stroke") await stroke(page);
    await page.waitForFunction(`((prev) => ${step.until})(${JSON.stringify(prev)})`, { timeout: TIMEOUT_MS, polling: 50 });
    await waitStill(page);
    if (step.view) {
      await page.evaluate(`document.querySelector(${JSON.stringify(step.view)}).scrollIntoView({block: 'center', behavior: 'instant'})`);
      await waitStill(page);
    }
    const reading = await page.evaluate(step.read);
    result.steps.push({ name: step.name, reading, seconds: (Date.now() - started) / 1000, regions: await page.evaluate(regions) });
    prev = { ...prev, ...reading };
    const path = join(outDir, `firefox-${step.name.replaceAll(" ", "-")}.png`);
    await page.screenshot({ path });
    result.screenshots.push(path);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

// Until `still` reads the same for 300 ms: a smooth scroll has come to rest.
async function waitStill(page) {
  const seen = [];
  const deadline = Date.now() + 10_000;
  while (seen.length < 4 || new Set(seen.slice(-4)).size > 1) {
    if (Date.now() > deadline) throw new Error(`the page kept scrolling: ${seen.slice(-4)}`);
    seen.push(await page.evaluate(still));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A stroke drawn with the pointer, as a learner would: a "7" across the drawing canvas.
async function stroke(page) {
  const canvas = await page.$("#draw-canvas");
  await canvas.scrollIntoView();
  const box = await canvas.boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  const points = [[0.3, 0.25], [0.5, 0.25], [0.7, 0.25], [0.6, 0.45], [0.5, 0.65], [0.45, 0.8]];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const point of points.slice(1)) await page.mouse.move(...at(point), { steps: 4 });
  await page.mouse.up();
}
