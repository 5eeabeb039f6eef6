// ort_run.js: test helper of tests/onnx.sh: runs an exported model with ONNX Runtime (npm
// onnxruntime-node, CPU) on the images of an IDX file, fed as the model's input contract says
// (float32 pixel / 255, N x C x H x W), in batches of several sizes (the batch is dynamic), and
// writes the "logits" output as raw float32 (count, classes) to OUT. It also checks that the
// "probabilities" output is the softmax of the logits.
// usage: node ort_run.js MODEL IMAGES.idx OUT
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

async function main() {
  const [model, images, out] = process.argv.slice(2);
  let raw = fs.readFileSync(images);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = zlib.gunzipSync(raw);
  // 0x803: (count, rows, cols) grey; 0x804: (count, channels, rows, cols), clmnist import's colour
  const magic = raw.readUInt32BE(0);
  if (magic !== 0x803 && magic !== 0x804) throw new Error(`${images}: not an IDX image file`);
  const four = magic === 0x804, count = raw.readUInt32BE(4), ch = four ? raw.readUInt32BE(8) : 1;
  const h = raw.readUInt32BE(four ? 12 : 8), w = raw.readUInt32BE(four ? 16 : 12), dim = ch * h * w;
  const head = four ? 20 : 16;
  const session = await ort.InferenceSession.create(model);
  let logits = null, classes = 0, worst = 0;
  for (let r0 = 0, k = 0; r0 < count; k++) {
    const rows = Math.min([1000, 777, 1][k % 3], count - r0); // uneven batches, a batch of one
    const x = new Float32Array(rows * dim);
    for (let i = 0; i < rows * dim; i++) x[i] = raw[head + r0 * dim + i] / 255;
    const res = await session.run({input: new ort.Tensor('float32', x, [rows, ch, h, w])});
    classes = res.logits.dims[1];
    if (!logits) logits = new Float32Array(count * classes);
    logits.set(res.logits.data, r0 * classes);
    for (let r = 0; r < rows; r++) { // probabilities = softmax(logits)
      const l = res.logits.data.subarray(r * classes, (r + 1) * classes);
      const mx = Math.max(...l), sum = l.reduce((s, v) => s + Math.exp(v - mx), 0);
      for (let c = 0; c < classes; c++)
        worst = Math.max(worst, Math.abs(res.probabilities.data[r * classes + c] - Math.exp(l[c] - mx) / sum));
    }
    r0 += rows;
  }
  fs.writeFileSync(out, Buffer.from(logits.buffer));
  console.log(`ort: ${count} images, ${classes} classes; probabilities vs softmax(logits): max |diff| ${worst.toExponential(2)}`);
  if (worst > 1e-6) process.exit(1);
}
main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
