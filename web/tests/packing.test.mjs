// The JavaScript packing and point decoding against the vectors the Rust code wrote
// (verifier/tests/packing_vectors.rs -> packing-vectors.json): if either side changes, one of
// the two tests fails. Run: node --test web/tests/packing.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { packPublicInputs, PackingError, unpackTensor, numElements } from '../js/packing.js';
import { decodeG1, decodeG2, fromHex, PointError } from '../js/points.js';

const vectors = JSON.parse(readFileSync(new URL('./packing-vectors.json', import.meta.url), 'utf8'));
const big = (xs) => xs.map((x) => BigInt(x));

test('the vectors file has every kind of case', () => {
  assert.ok(vectors.packing.length >= 10);
  assert.ok(vectors.packing_errors.length >= 5);
  assert.ok(vectors.g1.length >= 10 && vectors.g2.length >= 10);
  assert.ok(vectors.bad_points.some((b) => b.group === 'g2'));
  assert.ok(vectors.packing.some((c) => c.name.startsWith('digits MLP')));
});

test('packing matches the Rust packing on every case', () => {
  for (const c of vectors.packing) {
    const got = packPublicInputs(c.layout, big(c.input), big(c.output)).map(String);
    assert.deepEqual(got, c.public_inputs, c.name);
  }
});

test('unpacking inverts the packing on every case', () => {
  for (const c of vectors.packing) {
    const els = big(c.public_inputs);
    const split = numElements(c.layout.input);
    assert.deepEqual(unpackTensor(c.layout.input, els.slice(0, split)), big(c.input), c.name);
    assert.deepEqual(unpackTensor(c.layout.output, els.slice(split)), big(c.output), c.name);
  }
});

test('a bit set above the used slots does not unpack', () => {
  const c = vectors.packing.find((x) => x.name.startsWith('design example'));
  const els = big(c.public_inputs);
  els[0] |= 1n << 12n; // 3 slots of 4 bits use bits 0..11
  assert.equal(unpackTensor(c.layout.input, els.slice(0, 1)), null);
});

test('packing refuses what the Rust packing refuses', () => {
  for (const c of vectors.packing_errors) {
    assert.throws(() => packPublicInputs(c.layout, big(c.input), big(c.output)), PackingError, c.name);
  }
});

test('packing refuses hashed tensors and inexact JSON numbers with a message', () => {
  const l = { input: { shape: [1], scale: 0, bits: 8 }, output: { shape: [1], scale: 0, bits: 8 } };
  assert.throws(() => packPublicInputs({ ...l, output_visibility: 'hashed' }, [0], [0]), /not supported by this page/);
  const wide = { input: { shape: [1], scale: 0, bits: 64 }, output: l.output };
  assert.throws(() => packPublicInputs(wide, [2 ** 60], [0]), /beyond 2\^53/);
  assert.throws(() => packPublicInputs(l, [0.5], [0]), /not an integer/);
});

test('G1 points decode to the coordinates arkworks wrote', () => {
  for (const c of vectors.g1) {
    const p = decodeG1(fromHex(c.hex, 'g1'));
    if (c.infinity) assert.deepEqual(p, { infinity: true });
    else assert.deepEqual(p, { x: BigInt(c.x), y: BigInt(c.y) }, c.hex);
  }
});

test('G2 points decode to the coordinates arkworks wrote', () => {
  for (const c of vectors.g2) {
    const p = decodeG2(fromHex(c.hex, 'g2'));
    if (c.infinity) assert.deepEqual(p, { infinity: true });
    else assert.deepEqual(p, { x: big(c.x), y: big(c.y) }, c.hex);
  }
});

test('encodings arkworks refuses are refused, with the reason', () => {
  for (const b of vectors.bad_points) {
    const decode = b.group === 'g1' ? decodeG1 : decodeG2;
    assert.throws(() => decode(fromHex(b.hex, b.group), b.group), PointError, b.why);
  }
  const sub = vectors.bad_points.find((b) => b.why.includes('subgroup'));
  assert.throws(() => decodeG2(fromHex(sub.hex, 'g2')), /not in the prime-order subgroup/);
});
