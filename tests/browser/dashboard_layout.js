// dashboard_layout.js: layout facts of the training dashboard at any class count, checked in the
// page (dashboard_browser.js at 10 classes, dashboard_classes.js at 47):
//  - the confusion matrix lies inside its card, with classes x classes cells and a label per class;
//  - it is a heat map: the cells' background lightness falls as their count grows (never darker for
//    a smaller count), with several distinct shades; a tooltip on every cell; counts shown in a
//    cell fit it;
//  - the charts: no text pixel (grey) inside the plot areas, and the x axis spans the epochs run
//    so far (not the epochs planned).
"use strict";

async function matrixFacts(page) {
  return page.evaluate(() => {
    const box = (e) => e.getBoundingClientRect();
    const card = box(document.querySelector("#confusion-card")), table = box(document.querySelector("#confusion"));
    const lum = (css) => {
      const [r, g, b] = css.match(/\d+(\.\d+)?/g).map(Number);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const cells = [...document.querySelectorAll("#confusion td")].map((td) => ({
      count: Number(td.dataset.count),
      lum: lum(getComputedStyle(td).backgroundColor),
      colour: getComputedStyle(td).backgroundColor,
      title: td.title,
      text: td.textContent,
      clipped: td.scrollWidth > td.clientWidth + 1,
    }));
    return {
      card: { left: card.left, right: card.right, top: card.top, bottom: card.bottom },
      table: { left: table.left, right: table.right, top: table.top, bottom: table.bottom },
      cells,
      headers: document.querySelectorAll("#confusion tr:first-child th").length,
      rowHeaders: document.querySelectorAll("#confusion tr th:first-child").length,
    };
  });
}

// Grey pixels (r = g = b, darker than the background) inside each chart's plot area: text.
async function chartFacts(page) {
  return page.evaluate(() => [...document.querySelectorAll("canvas.chart")].map((c) => {
    const [L, T, W, H] = c.dataset.plot.split(",").map(Number), s = c.width / c.clientWidth;
    const x0 = Math.ceil((L + 3) * s), y0 = Math.ceil((T + 1) * s), w = Math.floor((W - 4) * s), h = Math.floor((H - 4) * s);
    const d = c.getContext("2d").getImageData(x0, y0, w, h).data;
    let grey = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
      if (a > 128 && r < 200 && Math.abs(r - g) < 8 && Math.abs(g - b) < 8) grey++;
    }
    return { id: c.id, grey, xMax: Number(c.dataset.xMax), run: Number(c.dataset.epochsRun) };
  }));
}

async function checkLayout(page, classes, check, planned) {
  const m = await matrixFacts(page);
  const inside = m.table.left >= m.card.left && m.table.right <= m.card.right && m.table.bottom <= m.card.bottom;
  check(`the ${classes}x${classes} confusion matrix lies inside its card`, inside, { card: m.card, table: m.table });
  check(`it has ${classes * classes} cells (${m.cells.length}) and a label per class`,
        m.cells.length === classes * classes && m.headers === classes + 1 && m.rowHeaders === classes + 1,
        { cells: m.cells.length, headers: m.headers, rowHeaders: m.rowHeaders });
  const sorted = [...m.cells].sort((a, b) => a.count - b.count);
  const inversions = sorted.filter((c, i) => i && c.count > sorted[i - 1].count && c.lum > sorted[i - 1].lum + 0.01);
  const counts = new Set(m.cells.map((c) => c.count)).size, colours = new Set(m.cells.map((c) => c.colour)).size;
  check(`cells are shaded by count: darker for more, ${colours} shades for ${counts} distinct counts`,
        inversions.length === 0 && colours >= Math.min(counts, 4), { inversions: inversions.slice(0, 3), colours, counts });
  const offDiagonal = new Set(m.cells.filter((c, i) => i % (classes + 1) !== 0 && c.count > 0).map((c) => c.colour)).size;
  check(`off-diagonal errors are not one colour (${offDiagonal} shades)`,
        offDiagonal > 1 || new Set(m.cells.filter((c, i) => i % (classes + 1) !== 0 && c.count > 0).map((c) => c.count)).size <= 1);
  check("every cell has a tooltip with its count", m.cells.every((c) => c.title.includes(": " + c.count)),
        m.cells.find((c) => !c.title.includes(": " + c.count)));
  const shown = m.cells.filter((c) => c.text !== "");
  check(`counts written in cells fit them (${shown.length} written)`,
        shown.every((c) => c.text === String(c.count) && !c.clipped), shown.find((c) => c.clipped));
  for (const c of await chartFacts(page)) {
    check(`${c.id}: no label drawn over the plot area (${c.grey} grey pixels)`, c.grey === 0, c);
    const span = Math.max(1, Math.ceil(c.run - 1e-9));
    check(`${c.id}: the x axis spans the epochs run so far (${c.run.toFixed(2)} run: 0 to ${c.xMax}` +
          (planned ? ` of ${planned} planned)` : ")"), c.xMax === span && (!planned || c.xMax < planned), c);
  }
}

module.exports = { checkLayout, chartFacts };
