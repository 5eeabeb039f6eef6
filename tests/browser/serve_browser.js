// serve_browser.js: the drawing page of `clmnist serve` in headless Chromium (puppeteer-core over
// the DevTools protocol): a test digit drawn with the mouse (pointer events) stroke by stroke over
// its ink gets the class the model gives that image; "Random test digit" shows a label and an
// answer; the same image uploaded as a PNG file gets that class too; a screenshot is saved.
// Usage: node serve_browser.js CHROMIUM URL DIGIT_JSON EXPECTED_CLASS SCREENSHOT
"use strict";
const fs = require("fs");
const { check, run, settled, openDrawingPage } = require("./harness");

const [chromium, url, digitFile, expectedText, screenshot] = process.argv.slice(2);
const expected = Number(expectedText);

// Strokes over the ink of a 28x28 image: each row's runs of ink (> 127) as horizontal strokes,
// in the pad's 280x280 coordinates (10 canvas pixels per image pixel).
function strokes(pixels) {
  const out = [];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (pixels[y * 28 + x] <= 127) continue;
      const x0 = x;
      while (x + 1 < 28 && pixels[y * 28 + x + 1] > 127) x++;
      out.push([[x0 * 10 + 5, y * 10 + 5], [x * 10 + 5, y * 10 + 5]]);
    }
  }
  return out;
}

async function draw(page, lines) {
  const box = await (await page.$("#pad")).boundingBox();
  const sx = box.width / 280;
  const sy = box.height / 280;
  for (const [[x0, y0], [x1, y1]] of lines) {
    await page.mouse.move(box.x + x0 * sx, box.y + y0 * sy);
    await page.mouse.down();
    await page.mouse.move(box.x + x1 * sx, box.y + y1 * sy, { steps: Math.max(2, Math.round((x1 - x0) / 10)) });
    await page.mouse.up();
  }
}

async function test(page) {
  const errors = await openDrawingPage(page, url);
  const info = await page.$eval("#model-info", (e) => e.textContent);
  check("the page shows the model (architecture, test accuracy)", /architecture/.test(info) && /%/.test(info), info);

  const pixels = JSON.parse(fs.readFileSync(digitFile, "utf8"));
  const lines = strokes(pixels);
  await draw(page, lines);
  await settled(page, 1);
  const shown = await page.$eval("#answer", (e) => e.dataset.class);
  check("the drawn digit (" + lines.length + " strokes) gets the model's class " + expected + " (page: " + shown + ")",
    Number(shown) === expected);
  const bars = await page.$$eval(".bar", (rows) => rows.length);
  check("a bar per class", bars === 10, bars);
  const ink = await page.$eval("#seen", (c) => {
    const d = c.getContext("2d").getImageData(0, 0, 28, 28).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) n += d[i] > 127;
    return n;
  });
  check("the 28x28 image the model saw has ink (" + ink + " pixels)", ink > 40 && ink < 500, ink);
  if (screenshot) await page.screenshot({ path: screenshot });

  const upload = await page.$("#upload");
  await upload.uploadFile(digitFile.replace(/\.json$/, ".png"));
  await settled(page, 2);
  const uploaded = await page.$eval("#answer", (e) => e.dataset.class);
  const status = await page.$eval("#status", (e) => e.textContent);
  check("the image uploaded as a PNG file gets the class " + expected + " (" + status + ")",
    Number(uploaded) === expected && /digit\.png/.test(status), status);

  await page.click("#random");
  await page.waitForFunction(() => !document.getElementById("truth").hidden, { timeout: 30000 });
  const truth = await page.$eval("#truth", (e) => e.textContent);
  const m = /label (\S+), the model says (\S+)/.exec(truth);
  const answer = await page.$eval("#answer", (e) => e.textContent);
  check("random test digit: a label and the model's answer (" + truth + ")", m && m[2] === answer, truth);

  await page.click("#clear");
  const cleared = await page.$eval("#answer", (e) => e.textContent);
  check("Clear empties the answer", cleared === "?", cleared);
  check("no script errors", errors.length === 0, errors);
}

run(chromium, "serve_browser", async (browser) => test(await browser.newPage()));
