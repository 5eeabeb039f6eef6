// serve_colour.js: the page of `clmnist serve` for a colour model in headless Chromium
// (puppeteer-core): it takes uploads only (no Clear or Undo, dragging on the pad sends nothing),
// says what the model takes, and an uploaded colour PNG gets the expected class with the input the
// model saw drawn in colour at the model's size; "Random test image" shows a colour test image
// with its label. A screenshot is saved.
// Usage: node serve_colour.js CHROMIUM URL IMAGE_PNG EXPECTED_NAME SCREENSHOT
"use strict";
const { check, run, settled, openDrawingPage } = require("./harness");

const [chromium, url, imageFile, expected, screenshot] = process.argv.slice(2);

// The canvas #seen: its size, and how many of its pixels are far from grey (max - min channel > 30; the hue set's green is (0, 49, 0)).
function seenColour(page) {
  return page.$eval("#seen", (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4)
      coloured += Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 30;
    return { w: c.width, h: c.height, coloured };
  });
}

async function test(page) {
  const errors = await openDrawingPage(page, url);
  const mode = await page.evaluate(() => ({
    mode: document.body.dataset.mode,
    clear: document.getElementById("clear").hidden,
    undo: document.getElementById("undo").hidden,
    title: document.getElementById("draw-title").textContent,
    status: document.getElementById("status").textContent,
    caption: document.getElementById("seen-caption").textContent,
  }));
  check("upload only: no Clear or Undo, the card is 'Image'", mode.mode === "upload" && mode.clear && mode.undo &&
    mode.title === "Image", mode);
  check("the status asks for an upload (" + mode.status + ")", /Upload/.test(mode.status), mode.status);
  check("the caption gives the input's size and colour (" + mode.caption + ")", /32\u00d732, colour/.test(mode.caption));

  const box = await (await page.$("#pad")).boundingBox();
  await page.mouse.move(box.x + 60, box.y + 60);
  await page.mouse.down();
  await page.mouse.move(box.x + 200, box.y + 200, { steps: 8 });
  await page.mouse.up();
  await new Promise((r) => setTimeout(r, 600));
  const after = await page.evaluate(() => Number(document.body.dataset.answers || 0));
  check("dragging on the pad sends nothing", after === 0, after);

  const upload = await page.$("#upload");
  await upload.uploadFile(imageFile);
  await settled(page, 1);
  const name = await page.$eval("#answer", (e) => e.textContent);
  check("the uploaded colour image is " + expected + " (page: " + name + ")", name === expected, name);
  const seen = await seenColour(page);
  check("what the model saw: 32x32, in colour (" + seen.coloured + " coloured pixels)",
    seen.w === 32 && seen.h === 32 && seen.coloured >= 20, seen);
  if (screenshot) await page.screenshot({ path: screenshot });

  await page.click("#random");
  await page.waitForFunction(() => !document.getElementById("truth").hidden, { timeout: 30000 });
  const truth = await page.$eval("#truth", (e) => e.textContent);
  const m = /label (\S+), the model says (\S+)/.exec(truth);
  const answer = await page.$eval("#answer", (e) => e.textContent);
  check("random test image: a label and the model's answer (" + truth + ")", m && m[2] === answer, truth);
  const rand = await seenColour(page);
  check("the random test image is shown in colour", rand.coloured >= 20, rand);
  check("no script errors", errors.length === 0, errors);
}

run(chromium, "serve_colour", async (browser) => test(await browser.newPage()));
