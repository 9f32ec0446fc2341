// Drives the verifier page in headless Chromium (puppeteer-core) with real files: a valid
// digits proof shows "valid" with its output, argmax and digest; a changed output, a flipped
// proof byte, another model's key and a garbage file do not. Started by prover/tests/web_page.rs,
// which proves the digits MLP, serves web/ on 127.0.0.1 and passes everything in env vars:
//
//   ZKINFER_CHROMIUM      chromium executable
//   ZKINFER_NODE_TOOLS    the folder whose node_modules holds puppeteer-core
//   ZKINFER_WEB_URL       the page's URL (http://127.0.0.1:PORT/index.html)
//   ZKINFER_WEB_DIR       a scratch folder with proof.json, mlp.vk, other.vk and
//                         snarkjs/verification_key.json; tampered files are written there
//   ZKINFER_WEB_SCREENSHOT optional: where to save the screenshot of the valid case
//                         (else ZKINFER_WEB_DIR/screenshot.png)
//
// Prints one line per case with the time the page measured, and exits non-zero on a failure.

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (this script is started by prover/tests/web_page.rs)`);
  return v;
};
const dir = env('ZKINFER_WEB_DIR');
const url = env('ZKINFER_WEB_URL');
const require = createRequire(path.join(env('ZKINFER_NODE_TOOLS'), 'node_modules', 'x.js'));
const puppeteer = require('puppeteer-core');
const file = (n) => path.join(dir, n);
mkdirSync(file('again'), { recursive: true });

const proof = JSON.parse(readFileSync(file('proof.json'), 'utf8'));
const expectedArgmax = proof.output.values.indexOf(Math.max(...proof.output.values));

function write(name, contents) {
  const text = typeof contents === 'string' || Buffer.isBuffer(contents) ? contents : JSON.stringify(contents, null, 2);
  writeFileSync(file(name), text);
  return file(name);
}

const browser = await puppeteer.launch({
  executablePath: env('ZKINFER_CHROMIUM'),
  headless: true,
  // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const results = {};
try {
  /** Loads the page, picks the two files, waits for the verdict, returns what the page shows. */
  async function check(name, proofPath, vkPath, shot) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 760, deviceScaleFactor: 1 });
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(url, { waitUntil: 'load' });
    await (await page.$('#proof-file')).uploadFile(proofPath);
    await (await page.$('#vk-file')).uploadFile(vkPath);
    await page.waitForSelector('#result[data-run="1"]', { timeout: 60_000 });
    let cold = null;
    if (shot) {
      // Once more on the same page: the first run also instantiates snarkjs's WebAssembly, the
      // second shows what a verification costs once the page is loaded.
      // (A copy: picking the same file again fires no change event.)
      cold = await page.$eval('#time', (e) => e.textContent);
      await (await page.$('#vk-file')).uploadFile(write(path.join('again', path.basename(vkPath)), readFileSync(vkPath)));
      await page.waitForSelector('#result[data-run="2"]', { timeout: 60_000 });
    }
    const shown = await page.evaluate(() => ({
      status: document.querySelector('#result').dataset.status,
      verdict: document.querySelector('#verdict').textContent,
      message: document.querySelector('#message').textContent,
      time: document.querySelector('#time').textContent,
      argmax: document.querySelector('#argmax').textContent,
      digest: document.querySelector('#digest').textContent,
      detailsHidden: document.querySelector('#details').hidden,
      rows: [...document.querySelectorAll('#output tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
      topRow: [...document.querySelectorAll('#output tbody tr')].findIndex((tr) => tr.classList.contains('top')),
    }));
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    await page.close();
    assert.deepEqual(problems, [], `${name}: ${problems.join('; ')}`);
    shown.cold = cold;
    console.log(`${name}: ${shown.status} (${cold ? `first ${cold}, then ` : ''}${shown.time}) ${shown.message}`);
    results[name] = shown;
    return shown;
  }

  // A valid proof with the zkinfer .vk: valid, with the output, the argmax and the digest.
  const shot = process.env.ZKINFER_WEB_SCREENSHOT || file('screenshot.png');
  const valid = await check('valid proof + .vk', file('proof.json'), file('mlp.vk'), shot);
  assert.equal(valid.status, 'valid', valid.message);
  assert.equal(valid.verdict, 'Valid proof');
  assert.equal(valid.argmax, String(expectedArgmax));
  assert.equal(valid.digest, proof.circuit);
  assert.equal(valid.rows.length, proof.output.values.length);
  assert.equal(valid.topRow, expectedArgmax);
  proof.output.quantized.forEach((q, i) => assert.equal(valid.rows[i][2], String(q)));
  assert.match(valid.time, /^checked in \d+ ms \(snarkjs \d+ ms\)$/);
  assert.match(valid.cold, /^checked in \d+ ms/);

  // The export's snarkjs verification_key.json carries the digest and layout in a `zkinfer`
  // field (snarkjs ignores it): a definite answer.
  const exported = JSON.parse(readFileSync(file('snarkjs/verification_key.json'), 'utf8'));
  const vkBytes = readFileSync(file('mlp.vk'));
  const layoutLen = vkBytes.readUInt32LE(40);
  assert.deepEqual(exported.zkinfer, { circuit: proof.circuit, layout: JSON.parse(vkBytes.subarray(44, 44 + layoutLen).toString()) });
  // Without that field (a key from snarkjs itself) the pairing passes, but the key records no
  // layout, and a wider output packing reads the same public inputs as other values.
  const plainKey = { ...exported };
  delete plainKey.zkinfer;
  const sj = await check('valid proof + plain snarkjs key', file('proof.json'), write('sj-plain.json', plainKey));
  assert.equal(sj.status, 'unbound', sj.message);
  assert.match(sj.message, /does not record how its public inputs are packed/);
  const sjKey = exported;
  const sjx = await check('valid proof + exported snarkjs key', file('proof.json'), file('snarkjs/verification_key.json'));
  assert.equal(sjx.status, 'valid', sjx.message);
  assert.equal(sjx.argmax, String(expectedArgmax));

  // Another class wins: quantized and float values changed consistently. Only the pairing can
  // tell, so this is the soundness case.
  const changed = structuredClone(proof);
  const other = (expectedArgmax + 1) % changed.output.quantized.length;
  changed.output.quantized[other] += 3000;
  changed.output.values[other] = changed.output.quantized[other] / 2 ** changed.output.scale;
  const ch = await check('changed output', write('changed.json', changed), file('mlp.vk'));
  assert.equal(ch.status, 'invalid', ch.message);
  assert.match(ch.message, /pairing check failed/);
  assert.equal(ch.argmax, String(other), 'the page shows what the proof.json claims, marked invalid');

  // A float value that is not its quantised value: caught before the pairing, with the index.
  const drift = structuredClone(proof);
  drift.output.values[0] += 0.5;
  const dr = await check('float value off its quantized value', write('drift.json', drift), file('mlp.vk'));
  assert.equal(dr.status, 'invalid');
  assert.match(dr.message, /at index 0 does not match its quantized value/);

  // One flipped byte in the proof: either a point that no longer decodes (named) or a point
  // that fails the pairing check. Both are "invalid"; byte 40 is in B's x.c0.
  const flipped = structuredClone(proof);
  const bytes = Buffer.from(flipped.proof, 'hex');
  bytes[40] ^= 0x01;
  flipped.proof = bytes.toString('hex');
  const fl = await check('flipped proof byte', write('flipped.json', flipped), file('mlp.vk'));
  assert.equal(fl.status, 'invalid', fl.message);
  assert.match(fl.message, /proof: B is not|pairing check failed/);

  // Another model's key: named as such before any cryptography.
  const om = await check("another model's key", file('proof.json'), file('other.vk'));
  assert.equal(om.status, 'invalid');
  assert.match(om.message, /this proof is for another model/i);

  // Garbage in either slot: a clear error, no output shown.
  const gp = await check('garbage proof file', write('garbage.bin', '\u0000\u0001 definitely not a proof'), file('mlp.vk'));
  assert.equal(gp.status, 'error');
  assert.equal(gp.verdict, 'Cannot verify');
  assert.match(gp.message, /the proof file is not JSON/i);
  assert.ok(gp.detailsHidden);
  const gk = await check('garbage key file', file('proof.json'), file('garbage.bin'));
  assert.equal(gk.status, 'error');
  assert.match(gk.message, /neither a zkinfer \.vk .* nor JSON/);
  // The key where the proof goes: says which file it is.
  const sw = await check('files swapped', write('vk-as-proof.json', sjKey), file('proof.json'));
  assert.equal(sw.status, 'error');
  assert.match(sw.message, /snarkjs verification key/);
} finally {
  await browser.close();
}
writeFileSync(file('page-results.json'), JSON.stringify(results, null, 2));
console.log('page test: all cases passed');
