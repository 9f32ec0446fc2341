// The page: two drop zones (proof, key), verification as soon as both are there, the verdict.
// All the checking is in verify.js; this file only reads files and renders results.

import { verifyFiles } from './verify.js';

const $ = (id) => document.getElementById(id);
const files = { proof: null, vk: null };

/** Which slot a file belongs in, from its first bytes: a key (`.vk` or snarkjs JSON) or a proof. */
function slotOf(bytes) {
  const head = String.fromCharCode(...bytes.subarray(0, 4));
  if (head === 'ZKVK' || head === 'ZKVB') return 'vk';
  const text = new TextDecoder().decode(bytes.subarray(0, 4096));
  return /"vk_alpha_1"|"IC"\s*:/.test(text) ? 'vk' : 'proof';
}

async function take(slot, file) {
  files[slot] = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  $(`${slot}-name`).textContent = `${file.name} · ${file.size.toLocaleString()} bytes`;
  $(`${slot}-drop`).classList.add('has-file');
  await run();
}

function fmt(v) {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

function render(r) {
  const box = $('result');
  const titles = {
    valid: 'Valid proof',
    invalid: 'Invalid proof',
    unbound: 'Proof verifies, output not bound',
    error: 'Cannot verify',
  };
  $('verdict').textContent = titles[r.status];
  $('message').textContent = r.message.charAt(0).toUpperCase() + r.message.slice(1);
  $('time').textContent = r.snarkjsMs === undefined
    ? `checked in ${r.ms.toFixed(0)} ms`
    : `checked in ${r.ms.toFixed(0)} ms (snarkjs ${r.snarkjsMs.toFixed(0)} ms)`;
  const details = $('details');
  if (!r.output) {
    details.hidden = true;
  } else {
    details.hidden = false;
    $('argmax').textContent = r.argmax === null ? '–' : String(r.argmax);
    $('argmax-label').textContent = r.status === 'valid' ? 'Prediction (argmax)' : 'Claimed prediction (not proven)';
    $('digest').textContent = r.digest;
    $('key-kind').textContent = r.keySource === 'zkinfer'
      ? 'zkinfer .vk (digest and layout checked)'
      : 'snarkjs verification_key.json';
    const count = (shape) => shape.reduce((a, d) => a * d, 1);
    const input = files.proofDoc?.input;
    $('input-desc').textContent = r.layout
      ? `${count(r.layout.input.shape)} input values in ${r.layout.input.bits}-bit slots, ${count(r.layout.output.shape)} output values in ${r.layout.output.bits}-bit slots`
      : `${input ? count(input.shape) : '?'} input values, ${r.output.values.length} output values`;
    const body = $('output').querySelector('tbody');
    body.replaceChildren();
    // A large output (a language model's logits) would bury the page: show the first rows.
    const shown = 64;
    const vals = r.output.values;
    const span = vals.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-9);
    vals.slice(0, shown).forEach((v, i) => {
      const tr = document.createElement('tr');
      if (i === r.argmax) tr.className = 'top';
      const bar = document.createElement('div');
      bar.className = v >= 0 ? 'bar pos' : 'bar neg';
      bar.style.width = `${(50 * Math.abs(v)) / span}%`;
      const barCell = document.createElement('td');
      barCell.className = 'bar-col';
      barCell.append(bar);
      for (const text of [String(i), fmt(v), String(r.output.quantized[i])]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      tr.append(barCell);
      body.append(tr);
    });
    if (vals.length > shown) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 4;
      td.textContent = `… ${vals.length - shown} more values (argmax ${r.argmax})`;
      tr.append(td);
      body.append(tr);
    }
  }
  box.dataset.status = r.status;
  box.dataset.run = String(Number(box.dataset.run) + 1);
}

async function run() {
  if (!files.proof || !files.vk) return;
  document.body.dataset.state = 'verifying';
  $('verdict').textContent = 'Verifying…';
  $('result').dataset.status = 'verifying';
  try {
    files.proofDoc = JSON.parse(new TextDecoder().decode(files.proof.bytes));
  } catch {
    files.proofDoc = null;
  }
  const r = await verifyFiles(files.proof.bytes, files.vk.bytes, globalThis.snarkjs);
  render(r);
  document.body.dataset.state = 'done';
}

function wire(slot) {
  const input = $(`${slot}-file`);
  const zone = $(`${slot}-drop`);
  input.addEventListener('change', () => input.files[0] && take(slot, input.files[0]));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    zone.classList.remove('over');
    const dropped = [...e.dataTransfer.files];
    if (dropped.length === 1) return take(slot, dropped[0]);
    // Both files at once: each goes where its contents say.
    for (const f of dropped) await take(slotOf(new Uint8Array(await f.arrayBuffer())), f);
  });
}

// Files dropped anywhere else on the page go where their contents say.
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', async (e) => {
  e.preventDefault();
  for (const f of e.dataTransfer.files) await take(slotOf(new Uint8Array(await f.arrayBuffer())), f);
});

wire('proof');
wire('vk');
if (!globalThis.snarkjs) {
  render({ status: 'error', message: 'vendor/snarkjs.min.js did not load: run bash web/vendor.sh, or serve web/ with its vendor/ folder.', ms: 0 });
}
fetch('vendor/snarkjs.version.json')
  .then((r) => r.json())
  .then((v) => { $('snarkjs-version').textContent = v.version; })
  .catch(() => {});
