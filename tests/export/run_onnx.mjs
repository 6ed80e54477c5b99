// Runs an exported ONNX model with ONNX Runtime (the npm package onnxruntime-node, installed
// by install_onnxruntime.sh): nnlab wrote none of this runtime, so agreeing with nnlab's own
// predictions checks the export. Input and outputs are raw little-endian float32 files.
//
//   node run_onnx.mjs MODULE_DIR MODEL.onnx INPUT.f32 DIMS OUT_PREFIX
//
// MODULE_DIR holds node_modules/onnxruntime-node; DIMS is the per-sample shape ("1,28,28").
// Writes OUT_PREFIX.<output>.f32 for every graph output and prints one JSON line.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [moduleDir, modelPath, inputPath, dimsText, outPrefix] = process.argv.slice(2);
if (!outPrefix) {
  console.error('usage: node run_onnx.mjs MODULE_DIR MODEL.onnx INPUT.f32 DIMS OUT_PREFIX');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(moduleDir), 'package.json'));
const ort = require('onnxruntime-node');

const dims = dimsText.split(',').map(Number);
const sampleSize = dims.reduce((a, b) => a * b, 1);
const bytes = readFileSync(inputPath);
const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const count = values.length / sampleSize;
if (!Number.isInteger(count)) {
  console.error(`${inputPath}: ${values.length} values are not a whole number of samples of ${dimsText}`);
  process.exit(2);
}

const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', values, [count, ...dims]) };
const results = await session.run(feeds);
const outputs = {};
for (const name of session.outputNames) {
  const t = results[name];
  writeFileSync(`${outPrefix}.${name}.f32`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  outputs[name] = t.dims;
}
console.log(JSON.stringify({ runtime: `onnxruntime-node ${ort.env.versions.node}`, inputs: session.inputNames, outputs }));
