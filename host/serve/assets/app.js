// clmnist serve: the drawing page. Plain JavaScript, no libraries; everything from this server.
"use strict";

const INK_WIDTH = 20; // pen width in canvas pixels (280 px = 28 MNIST pixels: 2 MNIST pixels)
const DEBOUNCE_MS = 120; // predict this long after the last change while drawing
const MAX_WAIT_MS = 400; // and at least this often while the pen keeps moving

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const state = {
  strokes: [], // each an array of [x, y] in canvas pixels
  current: null, // the stroke being drawn
  background: null, // an uploaded or random image drawn under the strokes
  drawing: null, // the PNG of the pad last sent
  classNames: [],
  shape: [1, 28, 28], // the model's input: channels, rows, columns
  drawable: true, // a grey model: the draw-pad; a colour one takes uploads only
  timer: 0,
  lastRequest: 0, // performance.now() of the last prediction sent
  seq: 0, // requests sent
  shown: 0, // the latest request whose answer is on screen
  pending: 0,
};

// ---- status line and request bookkeeping (data-* attributes let tests wait for answers) ------

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", Boolean(isError));
}

function setPending(delta) {
  state.pending += delta;
  document.body.dataset.pending = String(state.pending);
}

async function api(path, options) {
  setPending(1);
  try {
    const res = await fetch(path, options);
    const body = await res.json().catch(() => ({ error: "the server's answer is not JSON" }));
    if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
    return body;
  } finally {
    setPending(-1);
  }
}

// ---- drawing ---------------------------------------------------------------------------------

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (state.background) ctx.drawImage(state.background, 0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = INK_WIDTH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of state.strokes) drawStroke(s);
}

function drawStroke(points) {
  if (points.length === 1) {
    ctx.beginPath();
    ctx.arc(points[0][0], points[0][1], INK_WIDTH / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(points[0][0], points[0][1]);
  for (let i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
  ctx.stroke();
}

function padPoint(ev) {
  const r = pad.getBoundingClientRect();
  return [((ev.clientX - r.left) * pad.width) / r.width, ((ev.clientY - r.top) * pad.height) / r.height];
}

function onDown(ev) {
  if (!state.drawable || (ev.button !== undefined && ev.button > 0)) return;
  ev.preventDefault();
  pad.setPointerCapture(ev.pointerId);
  state.current = [padPoint(ev)];
  state.strokes.push(state.current);
  redraw();
  schedulePredict();
}

function onMove(ev) {
  if (!state.current) return;
  ev.preventDefault();
  const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
  for (const e of events.length ? events : [ev]) state.current.push(padPoint(e));
  redraw();
  schedulePredict();
}

function onUp(ev) {
  if (!state.current) return;
  state.current = null;
  if (pad.hasPointerCapture(ev.pointerId)) pad.releasePointerCapture(ev.pointerId);
  schedulePredict(0);
}

function clearPad() {
  state.strokes = [];
  state.background = null;
  redraw();
  showEmpty();
}

function undo() {
  if (state.strokes.length) state.strokes.pop();
  else state.background = null;
  redraw();
  if (state.strokes.length || state.background) schedulePredict(0);
  else showEmpty();
}

// ---- predictions -----------------------------------------------------------------------------

function schedulePredict(delay) {
  clearTimeout(state.timer);
  const overdue = performance.now() - state.lastRequest > MAX_WAIT_MS;
  state.timer = setTimeout(predictDrawing, overdue ? 0 : delay === undefined ? DEBOUNCE_MS : delay);
}

function padPng() {
  return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
}

async function predictDrawing() {
  if (!state.strokes.length && !state.background) return showEmpty();
  state.lastRequest = performance.now();
  const blob = await padPng();
  state.drawing = blob;
  await predict(blob, "image/png", "your drawing");
}

async function predict(blob, type, what) {
  const seq = ++state.seq;
  try {
    const r = await api("/api/predict?input=1", { method: "POST", headers: { "Content-Type": type }, body: blob });
    if (seq < state.shown) return; // a later answer is already on screen
    state.shown = seq;
    showAnswer(r);
    $("truth").hidden = true;
    const note = r.inverted && blob !== state.drawing ? " (inverted: dark ink on light paper)" : "";
    setStatus(what + ": " + r.name + note);
  } catch (e) {
    if (seq >= state.shown) setStatus(what + ": " + e.message, true);
  }
}

function showEmpty() {
  clearTimeout(state.timer);
  state.shown = ++state.seq; // answers still on their way are stale
  const a = $("answer");
  a.textContent = "?";
  a.dataset.class = "";
  $("confidence").textContent = "";
  $("truth").hidden = true;
  drawSeen(null);
  showBars(null);
  setStatus(emptyText());
}

function emptyText() {
  return state.drawable ? "Draw a digit in the box." : "Upload an image: this model takes colour pictures.";
}

function showAnswer(r) {
  const a = $("answer");
  a.textContent = r.name;
  a.dataset.class = String(r.class);
  $("confidence").textContent =
    (100 * r.probability).toFixed(1) + "% sure" + (r.uncertain ? " \u2014 uncertain: check the input the model saw" : "");
  showBars(r.probabilities, r.class);
  drawSeen(r.input);
  document.body.dataset.answers = String(Number(document.body.dataset.answers || 0) + 1);
}

function showBars(probs, top) {
  const box = $("bars");
  box.textContent = "";
  state.classNames.forEach((name, k) => {
    const row = document.createElement("div");
    row.className = "bar" + (k === top ? " top" : "");
    const p = probs ? probs[k] : 0;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = (100 * p).toFixed(1) + "%";
    track.appendChild(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = probs ? (100 * p).toFixed(1) + "%" : "";
    row.append(label, track, pct);
    box.appendChild(row);
  });
}

// The input as the model sees it (a grey MNIST model's: white ink on black), values 0..1, row by
// row, a colour model's planes red, green, blue in turn; into a canvas of the input's size.
function pixelsInto(canvas, pixels, invert) {
  const [ch, rows, cols] = state.shape;
  canvas.width = cols;
  canvas.height = rows;
  const g = canvas.getContext("2d");
  const img = g.createImageData(cols, rows);
  const n = rows * cols;
  for (let i = 0; i < n; i++) {
    const v = (k) => {
      const p = pixels ? Math.round(255 * pixels[ch === 3 ? k * n + i : i]) : 0;
      return invert ? 255 - p : p;
    };
    img.data.set([v(0), v(1), v(2), 255], 4 * i);
  }
  g.putImageData(img, 0, 0);
  return canvas;
}

function drawSeen(pixels) {
  pixelsInto($("seen"), pixels, false);
}

// ---- upload and random test digit ------------------------------------------------------------

function showImageOnPad(source) {
  state.strokes = [];
  state.background = source;
  redraw();
}

async function onUpload() {
  const file = $("upload").files[0];
  if (!file) return;
  $("upload").value = "";
  try {
    showImageOnPad(await createImageBitmap(file));
  } catch (e) {
    state.background = null; // the browser cannot show it; the server may still read it
    redraw();
  }
  const type = file.type && file.type.startsWith("image/") ? file.type : "image/png";
  await predict(file, type, file.name);
}

// A test image as a canvas for the pad: a grey model's inverted to the pad's black on white.
function pixelsToCanvas(pixels) {
  return pixelsInto(document.createElement("canvas"), pixels, state.drawable);
}

async function onRandom() {
  const seq = ++state.seq;
  try {
    const r = await api("/api/random");
    state.shown = seq;
    showImageOnPad(pixelsToCanvas(r.input));
    showAnswer(r);
    const t = $("truth");
    t.hidden = false;
    t.className = "truth " + (r.correct ? "good" : "bad");
    t.textContent =
      "Test image #" + r.index + ": label " + r.true_name + ", the model says " + r.name +
      (r.correct ? " \u2714 right" : " \u2718 wrong");
    t.dataset.trueClass = String(r.true_class);
    setStatus("a random test " + (state.drawable ? "digit" : "image") + " (the test set's image as is, no preprocessing)");
  } catch (e) {
    setStatus("random test digit: " + e.message, true);
  }
}

// ---- the model -------------------------------------------------------------------------------

function addInfo(dl, name, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

// A colour model: the pad only shows the uploaded or random image; no drawing.
function setUploadOnly() {
  state.drawable = false;
  document.body.dataset.mode = "upload";
  $("sub").textContent = "Upload a picture; the model answers.";
  $("draw-title").textContent = "Image";
  $("clear").hidden = true;
  $("undo").hidden = true;
  $("random").textContent = "Random test image";
  pad.setAttribute("aria-label", "the uploaded image");
  setStatus(emptyText());
}

function showModel(m) {
  state.classNames = m.class_names;
  state.shape = m.input_shape;
  const [ch, rows, cols] = state.shape;
  $("seen-caption").textContent = "what the model saw (" + cols + "\u00d7" + rows + (ch === 3 ? ", colour)" : ")");
  if (ch !== 1) setUploadOnly();
  drawSeen(null);
  const dl = $("model-info");
  dl.textContent = "";
  const md = m.metadata || {};
  addInfo(dl, "file", m.file);
  addInfo(dl, "architecture", m.architecture);
  addInfo(dl, "parameters", m.parameters.toLocaleString("en"));
  addInfo(dl, "dataset", m.dataset);
  addInfo(dl, "test accuracy", m.test_accuracy === null ? "" : (100 * m.test_accuracy).toFixed(2) + "%");
  const epochs = md["train.epochs"];
  const recipe = [md["train.optimizer"], epochs && epochs + (epochs === "1" ? " epoch" : " epochs"),
    md["train.batch"] && "batch " + md["train.batch"]].filter(Boolean).join(", ");
  addInfo(dl, "training", recipe);
  addInfo(dl, "trained on", m.trained_on);
  addInfo(dl, "trained", md.date || md.created || (m.file_modified && m.file_modified + " (file date)"));
  addInfo(dl, "serving on", m.serving.device + " (" + m.serving.contexts + " context" +
    (m.serving.contexts === 1 ? ")" : "s)"));
  const canRandom = m.serving.random_test_images;
  $("random").disabled = !canRandom;
  $("random-note").hidden = canRandom;
  showFilters(m.filters);
  showBars(null);
}

// The first Conv2d's kernels (input channel 0, or a colour input's three as RGB), each scaled to
// its own largest |weight|.
function showFilters(f) {
  if (!f) return;
  const rgb = f.in_channels === 3;
  $("filters-box").hidden = false;
  $("filters-note").textContent = f.weights.length + " of " + f.out_channels + " filters, " + f.kernel + "\u00d7" +
    f.kernel + (rgb ? " in colour (each channel: bright, positive weights; dark, negative)" :
      " (light: positive weights, dark: negative)");
  const box = $("filters");
  const n = f.kernel * f.kernel;
  for (const w of f.weights) {
    const c = document.createElement("canvas");
    c.width = c.height = f.kernel;
    const g = c.getContext("2d");
    const img = g.createImageData(f.kernel, f.kernel);
    const max = Math.max(1e-12, ...w.map(Math.abs));
    const s = (v) => Math.round(128 + 127 * (v / max));
    for (let i = 0; i < n; i++)
      img.data.set(rgb ? [s(w[i]), s(w[n + i]), s(w[2 * n + i]), 255] : [s(w[i]), s(w[i]), s(w[i]), 255], 4 * i);
    g.putImageData(img, 0, 0);
    box.appendChild(c);
  }
}

async function start() {
  redraw();
  drawSeen(null);
  pad.addEventListener("pointerdown", onDown);
  pad.addEventListener("pointermove", onMove);
  pad.addEventListener("pointerup", onUp);
  pad.addEventListener("pointercancel", onUp);
  $("clear").addEventListener("click", clearPad);
  $("undo").addEventListener("click", undo);
  $("upload").addEventListener("change", onUpload);
  $("random").addEventListener("click", onRandom);
  try {
    showModel(await api("/api/model"));
    document.body.dataset.ready = "1";
  } catch (e) {
    setStatus("cannot read the model: " + e.message, true);
  }
}

start();
