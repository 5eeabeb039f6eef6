// dashboard_classes.js: the training dashboard of a finished run with many classes (47, as EMNIST
// balanced) in headless Chromium: the page replays the run, the confusion matrix's layout facts
// hold (dashboard_layout.js), a screenshot is saved; then the drawing page of the model just saved
// (/draw.html) loads with a bar per class and answers a stroke drawn on its pad.
// Usage: node dashboard_classes.js CHROMIUM URL CLASSES EPOCHS SCREENSHOT
"use strict";
const { check, run } = require("./harness");
const { checkLayout } = require("./dashboard_layout");

const [chromium, url, classesText, epochsText, screenshot] = process.argv.slice(2);
const classes = Number(classesText);

run(chromium, "dashboard_classes", async (browser) => {
  const errors = [];
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction((n) => document.querySelectorAll("#confusion td").length === n * n &&
                             /done/.test(document.querySelector("#state").textContent),
    { timeout: 60000 }, classes);
  await new Promise((r) => setTimeout(r, 300)); // the last points' redraw
  await checkLayout(page, classes, check);
  const xMax = await page.$eval("#loss-chart", (c) => Number(c.dataset.xMax));
  check(`the x axis of the finished run spans its ${epochsText} epochs (0 to ${xMax})`, xMax === Number(epochsText));
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.setViewport({ width: 700, height: 900 });
  await new Promise((r) => setTimeout(r, 300));
  await checkLayout(page, classes, (what, ok, d) => check("narrow page: " + what, ok, d));
  await page.goto(new URL("draw.html", url).href, { waitUntil: "load" });
  await page.waitForFunction((n) => document.querySelectorAll("#bars .bar").length === n, { timeout: 30000 }, classes);
  check(`the drawing page shows a bar per class (${classes})`, true);
  const pad = await (await page.$("#pad")).boundingBox();
  await page.mouse.move(pad.x + pad.width / 2, pad.y + pad.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(pad.x + pad.width / 2, pad.y + pad.height * 0.8, { steps: 12 });
  await page.mouse.up();
  await page.waitForFunction(() => Number(document.body.dataset.answers || 0) >= 1, { timeout: 30000 });
  const answer = await page.$eval("#answer", (a) => Number(a.dataset.class));
  check(`a stroke drawn on the pad gets an answer (class ${answer})`, answer >= 0 && answer < classes, answer);
  check("no script errors", errors.length === 0, errors);
});
