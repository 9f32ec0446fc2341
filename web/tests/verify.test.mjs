// The page's checks that need no proof: file recognition and its messages, the float/quantised
// comparison (cases of verifier/src/verifier.rs's tests), and the layout inference for snarkjs
// keys. The whole flow on a real proof runs in the browser (page.test.mjs).
// Run: node --test web/tests/verify.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { valueMatches } from '../js/packing.js';
import { parseVerifyingKey, parseProofJson, FileError } from '../js/files.js';
import { checkTensors, snarkjsStatements, Rejected, argmax, verifyFiles } from '../js/verify.js';

const enc = (s) => new TextEncoder().encode(typeof s === 'string' ? s : JSON.stringify(s));
const written = (q, s) => q / 2 ** s;

test('a float value matches its quantised value and no neighbour', () => {
  for (const s of [-3, 0, 1, 7, 8, 16, 30]) {
    for (const q of [-40000, -3, -1, 0, 1, 2, 255, 12345, 2 ** 40 + 3]) {
      assert.ok(valueMatches(written(q, s), q, s), `q=${q} s=${s}`);
      const half = written(q, s) + 0.5 * 2 ** -s;
      assert.ok(!valueMatches(half, q, s) && !valueMatches(half, q + 1, s), `q=${q} s=${s}`);
      assert.ok(!valueMatches(written(q, s), q + 1, s) && !valueMatches(written(q, s), q - 1, s));
    }
  }
  const step = 1 / 256;
  assert.ok(valueMatches(5 * step + step / 2048, 5, 8));
  assert.ok(valueMatches(5 * step - step / 2048, 5, 8));
  assert.ok(!valueMatches(5 * step + step / 1024, 5, 8));
  assert.ok(valueMatches(-0, 0, 8));
  for (const v of [NaN, Infinity, -Infinity, '0.5', null]) assert.ok(!valueMatches(v, 0, 8));
});

const layout = { input: { shape: [2], scale: 7, bits: 9 }, output: { shape: [3], scale: 7, bits: 17 } };
const doc = () => ({
  input: { shape: [2], scale: 7, quantized: [0, 128] },
  output: { shape: [3], scale: 7, quantized: [36, -779, 715], values: [36 / 128, -779 / 128, 715 / 128] },
});

test('tensor checks say what differs', () => {
  checkTensors(layout, doc());
  const cases = [
    [(d) => { d.output.values[1] += 1; }, /output value .* at index 1 does not match its quantized value -779/],
    [(d) => { d.output.values.pop(); }, /output has 2 values but 3 quantized values/],
    [(d) => { d.input.shape = [3]; d.input.quantized.push(0); }, /input shape \[3\] differs from the verifying key's \[2\]/],
    [(d) => { d.output.scale = 8; d.output.values = d.output.quantized.map((q) => q / 256); }, /output scale 8 differs/],
    [(d) => { d.input.quantized.push(1); }, /input has 3 quantized values but shape \[2\]/],
  ];
  for (const [edit, re] of cases) {
    const d = doc();
    edit(d);
    assert.throws(() => checkTensors(layout, d), (e) => e instanceof Rejected && re.test(e.message));
  }
});

test('argmax is the first largest value', () => {
  assert.equal(argmax([0.1, 5.5, -3, 5.5]), 1);
  assert.equal(argmax([-2]), 0);
});

test('files are recognised, and the wrong ones named', () => {
  const proofLike = { version: 1, circuit: 'ab'.repeat(32), ...doc(), proof: '00'.repeat(128) };
  assert.equal(parseProofJson(enc(proofLike)).digest, 'ab'.repeat(32));
  const bad = [
    [() => parseProofJson(enc('garbage')), /not JSON/],
    [() => parseProofJson(enc('ZKVK\x01\x00\x00\x00')), /the proof file is a zkinfer verifying key/],
    [() => parseProofJson(enc({ pi_a: [], pi_b: [] })), /snarkjs's proof.json/],
    [() => parseProofJson(enc({ segments: [], circuit: 'x', proof: 1 })), /segmented models are not supported/],
    [() => parseProofJson(enc({ ...proofLike, extra: 1 })), /unknown field 'extra'/],
    [() => parseProofJson(enc({ ...proofLike, version: 2 })), /unsupported proof.json version 2/],
    [() => parseProofJson(enc({ ...proofLike, proof: '00'.repeat(127) })), /128 bytes, got 127/],
    [() => parseProofJson(enc({ ...proofLike, proof: 'zz'.repeat(128) })), /not a hex string/],
    [() => parseProofJson(enc({ ...proofLike, circuit: 'abc' })), /64 hex characters/],
    [() => parseVerifyingKey(enc('garbage')), /neither a zkinfer .vk .* nor JSON/],
    [() => parseVerifyingKey(enc(proofLike)), /zkinfer's proof.json: pick the model's .vk/],
    [() => parseVerifyingKey(enc('ZKVB\x01\x00\x00\x00')), /segmented models are not supported by this page yet/],
    [() => parseVerifyingKey(enc('ZKVK\x02\x00\x00\x00')), /unsupported verifying key format version 2/],
    [() => parseVerifyingKey(enc('ZKVK\x01\x00\x00\x00abc')), /vk file truncated: the circuit digest/],
    [() => parseVerifyingKey(enc({ protocol: 'plonk', curve: 'bn128', vk_alpha_1: [] })), /this page verifies groth16/],
  ];
  for (const [f, re] of bad) assert.throws(f, (e) => e instanceof FileError && re.test(e.message), String(re));
});

test('an off-curve key point is a clear error', () => {
  const g1 = ['1', '2', '1'];
  const g2 = [
    ['10857046999023057135944570762232829481370756359578518086990519993285655852781',
      '11559732032986387107991004021392285783925812861821192530917403151452391805634'],
    ['8495653923123431417604973247489272438418190587263600148770280649306958101930',
      '4082367875863433681332203403145435568316851327593401208105741076214120093531'],
    ['1', '0'],
  ];
  const vk = { protocol: 'groth16', curve: 'bn128', nPublic: 0, vk_alpha_1: g1, vk_beta_2: g2, vk_gamma_2: g2, vk_delta_2: g2, IC: [g1] };
  assert.equal(parseVerifyingKey(enc(vk)).vk.ic.length, 1); // (1, 2) and G2's generator are valid
  vk.IC = [['1', '3', '1']];
  assert.throws(() => parseVerifyingKey(enc(vk)), /IC\[0\] is not on the curve/);
});

test('a snarkjs key without a layout: statements, and their ambiguity', () => {
  const d = doc();
  const all = snarkjsStatements(d, 2);
  assert.ok(all.length > 1);
  // Smallest bits first: input 9 bits (128 needs 9), output 11 bits (-779 and 715 need 11).
  assert.equal(all[0].layout.input.bits, 9);
  assert.equal(all[0].layout.output.bits, 11);
  // 3 output values at 11 bits use 33 bits; at 12 bits the same element reads as other values.
  assert.deepEqual(all[0].conflict && [all[0].conflict.input.bits, all[0].conflict.output.bits], [9, 12]);
  // Unambiguous only when no other layout of the same size can read the elements: 23 values
  // at 11 bits fill an element exactly (any wider needs two, any narrower finds bit 252 set
  // by the last value's offset), and one output value at 64 bits has bit 63 set.
  const tight = {
    input: { shape: [23], scale: 0, quantized: Array.from({ length: 23 }, (_, i) => i % 4) },
    output: { shape: [1], scale: 0, quantized: [5], values: [5] },
  };
  const bound = snarkjsStatements(tight, 2).filter((s) => s.conflict === null);
  assert.deepEqual(bound.map((s) => [s.layout.input.bits, s.layout.output.bits]), [[11, 64]]);
});

test('verifyFiles reports a garbage file as an error, never throws', async () => {
  const r = await verifyFiles(enc('\x00\x01garbage'), enc('ZKVK'), null);
  assert.equal(r.status, 'error');
  assert.match(r.message, /not JSON/);
  assert.ok(r.ms >= 0);
});
