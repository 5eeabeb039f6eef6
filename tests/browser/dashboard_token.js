// dashboard_token.js: the training dashboard of `clmnist train --serve --token T` in headless
// Chromium: a tab without the token gets 401s, asks for it once (a prompt), keeps it in
// sessionStorage and reloads; the curves then fill (the event stream carries it as ?access_token=,
// EventSource sending no headers). A second tab opened as URL?token=T drops the token from its
// address at once, gets the curves too, and its stop button stops the run (POST /api/stop with
// Authorization: Bearer T).
// Usage: node dashboard_token.js CHROMIUM URL TOKEN
"use strict";
const { check, run } = require("./harness");

const [chromium, url, token] = process.argv.slice(2);

const morePoints = (page, n) =>
  page.waitForFunction((k) => Number(document.querySelector("#points-note").dataset.points || 0) > k,
                       { timeout: 60000 }, n);

run(chromium, "dashboard_token", async (browser) => {
  const errors = [];
  // 1. no token: a prompt, once; the page reloads with it
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  const prompts = [];
  page.on("dialog", async (d) => {
    prompts.push(d.type());
    await d.accept(token);
  });
  await page.goto(url, { waitUntil: "load" });
  await morePoints(page, 1);
  check(`without the token the page asked for it once (${prompts.join(",")}), then the curves fill`,
    prompts.length === 1 && prompts[0] === "prompt", prompts);
  const kept = await page.evaluate(() => sessionStorage.getItem("clmnist-token"));
  check("the token is kept in the tab's sessionStorage", kept === token);

  // 2. ?token=: gone from the address; events and stop work with it
  const tab = await browser.newPage();
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("dialog", async (d) => {
    prompts.push("tab2:" + d.type());
    await d.dismiss();
  });
  await tab.goto(url + "?token=" + encodeURIComponent(token), { waitUntil: "load" });
  const href = await tab.evaluate(() => window.location.href);
  check(`?token= is removed from the address at once (${href})`, !href.includes("token"), href);
  await morePoints(tab, 1);
  check("... the curves fill (the event stream has the token)", true);
  await tab.click("#stop");
  await tab.waitForFunction(() => /stop/i.test(document.querySelector("#note").textContent), { timeout: 30000 });
  const note = await tab.$eval("#note", (n) => n.textContent);
  check(`the stop button works with the token ('${note.trim().slice(0, 80)}')`, prompts.length === 1, prompts);
  check("no script errors", errors.length === 0, errors);
});
