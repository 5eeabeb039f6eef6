// dashboard_browser.js: the training dashboard of `clmnist train --serve` in headless Chromium
// (puppeteer-core over the DevTools protocol): the page connects, the loss and accuracy curves gain
// points while the run trains, an evaluation fills the confusion matrix and the prediction grid,
// the stop button ends the run; a screenshot is saved.
// Usage: node dashboard_browser.js CHROMIUM URL SCREENSHOT
"use strict";
const { check, run } = require("./harness");
const { checkLayout, chartFacts } = require("./dashboard_layout");

const [chromium, url, screenshot] = process.argv.slice(2);

const points = (page) => page.$eval("#points-note", (n) => Number(n.dataset.points || 0));

run(chromium, "dashboard_browser", async (browser) => {
  const errors = [];
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => Number(document.querySelector("#points-note").dataset.points || 0) >= 2,
    { timeout: 60000 });
  const first = await points(page);
  const axisBefore = (await chartFacts(page))[0];
  await page.waitForFunction((n) => Number(document.querySelector("#points-note").dataset.points || 0) > n,
    { timeout: 60000 }, first);
  const later = await points(page);
  check(`the curves gain points while training (${first} then ${later})`, later > first, { first, later });
  const axisAfter = (await chartFacts(page))[0];
  check(`the x axis follows the run (${axisBefore.run.toFixed(2)} then ${axisAfter.run.toFixed(2)} epochs run)`,
    axisAfter.run > axisBefore.run && axisAfter.xMax >= axisBefore.xMax, { axisBefore, axisAfter });
  await page.waitForFunction(() => document.querySelectorAll("#confusion td").length >= 100, { timeout: 60000 });
  const cells = await page.$$eval("#confusion td", (tds) => tds.length);
  check(`an evaluation fills the 10x10 confusion matrix (${cells} cells)`, cells >= 100, cells);
  await checkLayout(page, 10, check, 30);
  const tiles = await page.$$eval("#grid > *", (t) => t.length);
  check(`the prediction grid shows test images (${tiles})`, tiles > 0, tiles);
  const state = await page.$eval("#state", (d) => d.textContent);
  check(`the status says what the run does ('${state}')`, /training|evaluating/.test(state), state);
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.click("#stop");
  await page.waitForFunction(() => /stop/i.test(document.querySelector("#note").textContent), { timeout: 30000 });
  check("the stop button is acknowledged", true);
  check("no script errors", errors.length === 0, errors);
});
