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

function drawChart(canvas, series, yLabel, yMax) {
  const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height, L = 48, B = 28, T = 10, R = 10;
  ctx.clearRect(0, 0, W, H);
  const xMax = Math.max(1, status ? status.epochs : 1, ...series.flatMap((s) => s.data.map((p) => p.x)));
  let top = yMax;
  if (top === undefined) top = Math.max(0.1, ...series.flatMap((s) => s.data.map((p) => p.y)).filter(isFinite)) * 1.1;
  const X = (x) => L + (x / xMax) * (W - L - R), Y = (y) => T + (1 - y / top) * (H - T - B);
  ctx.strokeStyle = '#999'; ctx.fillStyle = '#555'; ctx.font = '11px sans-serif'; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  for (let i = 0; i <= 4; i++) {
    const y = (top * i) / 4;
    ctx.fillText(y.toFixed(yMax === 1 ? 2 : 3), 4, Y(y) + 4);
  }
  for (let e = 0; e <= xMax; e += Math.max(1, Math.ceil(xMax / 10))) ctx.fillText(String(e), X(e) - 3, H - B + 14);
  ctx.fillText('epoch', W - R - 34, H - 4);
  ctx.fillText(yLabel, L + 6, T + 10);
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

function showConfusion(conf) {
  const table = document.getElementById('confusion');
  table.replaceChildren();
  if (!conf) return;
  const names = samples ? samples.class_names : conf.map((_, i) => String(i));
  const head = table.insertRow();
  head.insertCell().textContent = '';
  names.forEach((n) => { const th = document.createElement('th'); th.textContent = n; head.append(th); });
  conf.forEach((row, t) => {
    const tr = table.insertRow(), total = row.reduce((a, b) => a + b, 0) || 1;
    const th = document.createElement('th'); th.textContent = names[t]; tr.append(th);
    row.forEach((n, p) => {
      const td = tr.insertCell(), f = n / total;
      td.textContent = n;
      td.style.background = t === p ? `rgba(46,125,50,${0.15 + 0.6 * f})` : n ? `rgba(198,40,40,${0.15 + 2 * f})` : '';
    });
  });
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
