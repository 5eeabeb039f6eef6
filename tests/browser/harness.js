// harness.js: what the headless-Chromium tests share (puppeteer-core over the DevTools protocol):
// check() prints one "ok:"/"FAIL:" line and counts it; openDrawingPage() and settled() open the
// drawing page and wait for its answers; run() launches Chromium, hands it to the test's body,
// closes it, prints the counts and exits 1 when a check failed or the body threw.
"use strict";
const puppeteer = require("puppeteer-core");

const counts = { passed: 0, failed: 0 };

function check(what, ok, detail) {
  console.log((ok ? "ok: " : "FAIL: ") + what + (ok || detail === undefined ? "" : "  " + JSON.stringify(detail)));
  if (ok) counts.passed++;
  else counts.failed++;
}

async function launchAndRun(chromium, name, body) {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    await body(browser);
  } catch (e) {
    check(name + ": the test ran to its end", false, String(e));
  } finally {
    await browser.close();
  }
}

// Opens the drawing page of `clmnist serve` at url (1200x760) and waits until it has read the
// model; returns the list that collects the page's script errors.
async function openDrawingPage(page, url) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.setViewport({ width: 1200, height: 760 });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.ready === "1", { timeout: 30000 });
  return errors;
}

// Waits until the page has no request in flight and has shown at least `count` answers (the
// drawing page's data-pending and data-answers attributes).
async function settled(page, count) {
  await new Promise((r) => setTimeout(r, 300));
  await page.waitForFunction(
    (n) => document.body.dataset.pending === "0" && Number(document.body.dataset.answers || 0) >= n,
    { timeout: 30000 },
    count
  );
}

// run(CHROMIUM, NAME, async (browser) => { ... checks ... }): never returns.
function run(chromium, name, body) {
  launchAndRun(chromium, name, body)
    .catch((e) => check(name + ": Chromium started", false, String(e)))
    .finally(() => {
      console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed`);
      process.exit(counts.failed ? 1 : 0);
    });
}

module.exports = { check, run, settled, openDrawingPage };
