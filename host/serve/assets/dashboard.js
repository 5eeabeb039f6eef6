// dashboard.js: the live view of `clmnist train --serve`: /api/events (Server-Sent Events) feeds
// the curves, the run's status, the confusion matrix and the grid of test predictions.
'use strict';

const points = []; // {epoch, loss, accuracy}
const epochs = []; // {epoch, eval_loss, eval_accuracy, ...}
let samples = null; // /api/samples
let lastEval = null;
let status = null;

function fmtTime(s) {
  if (!isFinite(s) || s <= 0) return '-';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m ? `${m} min ${r} s` : `${r} s`;
}

// A step of 1, 2 or 5 times a power of ten giving about `n` ticks up to `max`.
function niceStep(max, n) {
  const raw = max / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

// The training epochs run so far (fractional while one runs): the x axis grows with them.
function epochsSoFar(series) {
  let x = Math.max(0, ...series.flatMap((s) => s.data.map((p) => p.x)));
  if (status && status.steps && status.state !== 'done') x = Math.max(x, status.epoch - 1 + status.step / status.steps);
  return x;
}

// A chart in CSS pixels (sharp at any zoom): the axis titles and tick labels sit in the margins,
// outside the plot area, so no label covers the data. The plot area and the axis span go into the
// canvas's data attributes for the browser test.
function drawChart(canvas, series, yLabel, yMax) {
  const dpr = window.devicePixelRatio || 1, W = canvas.clientWidth || 520, H = canvas.clientHeight || 240;
  if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  }
  const ctx = canvas.getContext('2d'), L = 46, R = 12, T = 22, B = 34;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const run = epochsSoFar(series), xMax = run <= 1 ? 1 : Math.ceil(run);
  let top = yMax;
  if (top === undefined) top = Math.max(0.1, ...series.flatMap((s) => s.data.map((p) => p.y)).filter(isFinite)) * 1.1;
  const X = (x) => L + (x / xMax) * (W - L - R), Y = (y) => T + (1 - y / top) * (H - T - B);
  ctx.strokeStyle = '#999'; ctx.fillStyle = '#555'; ctx.font = '11px sans-serif'; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) ctx.fillText((top * i / 4).toFixed(yMax === 1 ? 2 : 3), L - 5, Y(top * i / 4));
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  const dx = niceStep(xMax, Math.max(2, Math.floor((W - L - R) / 50)));
  for (let e = 0; e <= xMax + 1e-9; e += dx) ctx.fillText(String(+e.toFixed(2)), X(e), H - B + 4);
  ctx.textAlign = 'right'; ctx.textBaseline = 'bottom';
  ctx.fillText('epoch', W - R, H - 2);
  ctx.textAlign = 'left'; ctx.textBaseline = 'top';
  ctx.fillText(yLabel, 4, 4);
  ctx.save();
  ctx.beginPath(); ctx.rect(L, T - 5, W - L - R + 5, H - T - B + 5); ctx.clip(); // dots at the edges stay whole
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 2;
    if (s.dots) {
      for (const p of s.data) { ctx.beginPath(); ctx.arc(X(p.x), Y(p.y), 4, 0, 2 * Math.PI); ctx.fill(); }
      continue;
    }
    ctx.beginPath();
    s.data.forEach((p, i) => (i ? ctx.lineTo(X(p.x), Y(p.y)) : ctx.moveTo(X(p.x), Y(p.y))));
    ctx.stroke();
  }
  ctx.restore();
  Object.assign(canvas.dataset, { plot: [L, T, W - L - R, H - T - B].join(','), xMax: String(xMax),
    epochsRun: run.toFixed(3), labelsBottom: '16', labelsRight: String(L - 5) });
}

function redrawCharts() {
  const ev = epochs.map((e) => ({ x: e.epoch, loss: e.eval_loss, acc: e.eval_accuracy }));
  drawChart(document.getElementById('loss-chart'), [
    { color: '#1565c0', data: points.map((p) => ({ x: p.epoch, y: p.loss })) },
    { color: '#c62828', dots: true, data: ev.map((e) => ({ x: e.x, y: e.loss })) },
  ], 'loss');
  drawChart(document.getElementById('acc-chart'), [
    { color: '#1565c0', data: points.map((p) => ({ x: p.epoch, y: p.accuracy })) },
    { color: '#c62828', dots: true, data: ev.map((e) => ({ x: e.x, y: e.acc })) },
  ], 'accuracy', 1);
  const note = document.getElementById('points-note');
  note.textContent = `${points.length} points, ${epochs.length} evaluations`;
  note.dataset.points = String(points.length);
}

function showStatus(s) {
  status = s;
  const rows = [
    ['state', s.state + (s.stop_requested ? ' (stop requested)' : '')],
    ['epoch', `${s.epoch} of ${s.epochs}` + (s.steps ? `, step ${s.step} of ${s.steps}` : '')],
    ['model', s.architecture], ['data', `${s.dataset} (evaluated on ${s.eval_split})`],
    ['device', `${s.device} (${s.backend})`], ['learning rate', s.lr ? s.lr.toPrecision(3) : '-'],
    ['images/s', s.images_per_s ? Math.round(s.images_per_s).toLocaleString('en') : '-'],
    ['elapsed', fmtTime(s.elapsed_s)], ['ETA', s.state === 'done' ? '-' : fmtTime(s.eta_s)],
  ];
  const dl = document.getElementById('run-info');
  dl.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = k; dd.textContent = v;
    if (k === 'state') dd.id = 'state';
    dl.append(dt, dd);
  }
  const over = s.state === 'done' || s.state === 'failed';
  document.getElementById('stop').disabled = over || s.stop_requested;
  document.getElementById('draw-link').hidden = !s.model_ready;
  document.getElementById('headline').textContent = over
    ? (s.state === 'done' ? 'Training is over.' + (s.model_ready ? ' Draw a digit with the model it produced.' : '') : 'Training failed.')
    : 'Training live: the curves update as it runs.';
}

// A heat map colour for f in 0..1: light to dark blue, lightness falling steadily with f.
function heat(f) {
  return `hsl(213, 62%, ${(97 - 68 * f).toFixed(1)}%)`;
}

// The confusion matrix as a heat map that fits its card at any class count: cells shaded by their
// count on a log scale (errors of a few images still show next to diagonals of a thousand), the
// counts written while they fit the cells, a tooltip on every cell; beyond 12 classes the card
// takes the page's whole width, beyond 20 the cells are small squares without numbers.
function showConfusion(conf) {
  const table = document.getElementById('confusion'), card = document.getElementById('confusion-card');
  table.replaceChildren();
  if (!conf) return;
  const k = conf.length, names = samples && samples.class_names.length === k ? samples.class_names : conf.map((_, i) => String(i));
  card.classList.toggle('wide', k > 12);
  const max = Math.max(1, ...conf.flat()), digits = String(max).length;
  const width = table.parentElement.clientWidth, head = Math.max(18, 7 * Math.max(...names.map((n) => n.length)) + 6);
  const cell = Math.max(4, Math.floor((width - head) / k)), font = Math.min(12, Math.floor(cell / (0.62 * digits + 0.5)));
  const compact = font < 8;
  table.classList.toggle('compact', compact);
  table.style.setProperty('--cell', `${Math.min(cell, 44)}px`);
  table.style.setProperty('--font', `${compact ? Math.max(6, Math.min(10, cell - 2)) : font}px`);
  table.style.width = `${head + k * Math.min(cell, 44)}px`;
  const cols = document.createElement('colgroup');
  cols.append(Object.assign(document.createElement('col'), { style: `width:${head}px` }));
  for (let i = 0; i < k; i++) cols.append(document.createElement('col'));
  table.append(cols);
  const top = table.insertRow();
  top.append(document.createElement('th'));
  names.forEach((n) => { const th = document.createElement('th'); th.textContent = n; th.title = `predicted ${n}`; top.append(th); });
  conf.forEach((row, t) => {
    const tr = table.insertRow(), total = row.reduce((a, b) => a + b, 0);
    const th = document.createElement('th'); th.textContent = names[t]; th.title = `true ${names[t]}: ${total} images`; tr.append(th);
    row.forEach((n, p) => {
      const td = tr.insertCell(), f = Math.log1p(n) / Math.log1p(max);
      td.textContent = compact || (n === 0 && k > 12) ? '' : n; // beyond 12 classes zeros stay blank
      td.dataset.count = String(n);
      td.title = `true ${names[t]}, predicted ${names[p]}: ${n}` + (total ? ` (${(100 * n / total).toFixed(1)}% of ${names[t]})` : '');
      td.style.background = heat(f);
      td.style.color = f > 0.55 ? '#fff' : '#1d2330';
      if (t === p) td.classList.add('diag');
    });
  });
  document.getElementById('confusion-scale').textContent = `shade: count on a log scale, 0 to ${max}` +
    (compact ? '; hover a cell for its count' : '');
}

function showGrid() {
  if (!samples) return;
  const grid = document.getElementById('grid');
  if (!grid.children.length) {
    samples.images.forEach((img, i) => {
      const fig = document.createElement('figure'), c = document.createElement('canvas'), cap = document.createElement('figcaption');
      c.width = samples.cols; c.height = samples.rows;
      const ctx = c.getContext('2d'), data = ctx.createImageData(c.width, c.height);
      img.forEach((v, j) => { data.data.set([255 - v, 255 - v, 255 - v, 255], 4 * j); });
      ctx.putImageData(data, 0, 0);
      cap.textContent = '?';
      fig.append(c, cap);
      grid.append(fig);
    });
  }
  if (!lastEval) return;
  lastEval.grid_predictions.forEach((p, i) => {
    const fig = grid.children[i], truth = samples.labels[i];
    if (!fig || p < 0) return;
    fig.classList.toggle('wrong', p !== truth);
    fig.querySelector('figcaption').textContent = samples.class_names[p] + (p !== truth ? ` (${samples.class_names[truth]})` : '');
  });
}

function onEpoch(e) {
  epochs.push(e.epoch);
  if (e.evaluation) {
    lastEval = e.evaluation;
    showConfusion(lastEval.confusion);
    showGrid();
  }
  redrawCharts();
}

window.addEventListener('resize', () => { redrawCharts(); if (lastEval) showConfusion(lastEval.confusion); });

let pending = false;
function onPoint(p) {
  points.push(p);
  if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; redrawCharts(); }); }
}

function connect() {
  const es = new EventSource('api/events');
  es.addEventListener('status', (m) => showStatus(JSON.parse(m.data)));
  es.addEventListener('point', (m) => onPoint(JSON.parse(m.data)));
  es.addEventListener('epoch', (m) => onEpoch(JSON.parse(m.data)));
  es.onerror = () => {
    if (status && (status.state === 'done' || status.state === 'failed')) {
      document.getElementById('note').textContent = 'The server has stopped.';
      es.close();
    }
  };
}

document.getElementById('stop').addEventListener('click', async () => {
  const note = document.getElementById('note');
  const r = await fetch('api/stop', { method: 'POST' });
  note.textContent = r.ok ? 'Stopping after the current step; the model (and a checkpoint, if checkpoints are on) will be saved.'
    : `Stop failed: ${(await r.json()).error}`;
});

fetch('api/samples').then((r) => r.json()).then((s) => { samples = s; showGrid(); if (lastEval) showConfusion(lastEval.confusion); })
  .finally(connect);
