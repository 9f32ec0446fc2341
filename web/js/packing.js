// The public-input packing of DESIGN.md ("Public inputs"), ported from verifier/src/layout.rs,
// and the checks of verifier/src/verifier.rs on proof.json's tensors.
//
// A value v of a tensor with `bits` bits is stored as v + 2^(bits-1) in consecutive bits-wide
// slots of a field element, floor(253 / bits) slots per element, least significant slot first;
// the input tensor first, then the output, each starting a new element. The shared vectors in
// web/tests/packing-vectors.json (written by verifier/tests/packing_vectors.rs) keep this file
// and the Rust packing identical.

/** Bits of a field element used for packing (BN254's scalar modulus is just above 2^253). */
export const PACK_BITS = 253;
/** The largest slot width (values are i64 in Rust). */
export const MAX_BITS = 64;

/** Bad input: a malformed layout or tensor, or a value outside its bits. */
export class PackingError extends Error {}

/** The number of values of a shape (1 for the empty shape). */
export function tensorLen(shape) {
  return shape.reduce((acc, d) => acc * d, 1);
}

/** floor(253 / bits): how many values share one field element. */
export function slotsPerElement(bits) {
  return Math.floor(PACK_BITS / bits);
}

/** ceil(len / slotsPerElement): how many field elements a tensor packs into. */
export function numElements(layout) {
  return Math.ceil(tensorLen(layout.shape) / slotsPerElement(layout.bits));
}

const isCount = (d) => Number.isSafeInteger(d) && d >= 0;

/**
 * Checks one tensor layout as the Rust `TensorLayout` deserialises and validates it: exactly
 * the keys shape, scale, bits; shape of non-negative integers with a product that stays exact;
 * integer scale; bits in 1..=64. Throws PackingError naming `what` otherwise.
 */
export function validateTensorLayout(t, what) {
  if (t === null || typeof t !== 'object' || Array.isArray(t)) {
    throw new PackingError(`${what} layout is not an object`);
  }
  const keys = Object.keys(t).sort().join(',');
  if (keys !== 'bits,scale,shape') {
    throw new PackingError(`${what} layout must have exactly shape, scale and bits (has ${keys})`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
    throw new PackingError(`${what} layout: shape must be a list of non-negative integers`);
  }
  if (!Number.isSafeInteger(tensorLen(t.shape))) {
    throw new PackingError(`${what} tensor: shape ${JSON.stringify(t.shape)} is too large`);
  }
  if (!Number.isSafeInteger(t.scale) || t.scale < -(2 ** 31) || t.scale >= 2 ** 31) {
    throw new PackingError(`${what} layout: scale must be a 32-bit integer`);
  }
  if (!Number.isInteger(t.bits) || t.bits < 1 || t.bits > MAX_BITS) {
    throw new PackingError(`${what} tensor: bits must be in 1..=${MAX_BITS}, got ${t.bits}`);
  }
}

/**
 * Checks a public layout (`{input, output, input_visibility?, output_visibility?}`). Hashed
 * visibility needs Poseidon, which this page does not carry: it is refused with a message.
 */
export function validateLayout(layout) {
  if (layout === null || typeof layout !== 'object') throw new PackingError('layout is not an object');
  for (const k of Object.keys(layout)) {
    if (!['input', 'output', 'input_visibility', 'output_visibility'].includes(k)) {
      throw new PackingError(`layout has an unknown field '${k}'`);
    }
  }
  for (const side of ['input', 'output']) {
    const v = layout[`${side}_visibility`] ?? 'public';
    if (v === 'hashed') {
      throw new PackingError(
        `this model's ${side} is public only through its Poseidon hash; hashed inputs and outputs are not supported by this page yet (use zkinfer verify)`,
      );
    }
    if (v !== 'public') throw new PackingError(`${side} visibility must be public or hashed, not '${v}'`);
  }
  validateTensorLayout(layout.input, 'input');
  validateTensorLayout(layout.output, 'output');
}

/** An integer value as BigInt: a BigInt, or a Number that is a safe integer (exact in JSON). */
function toBig(v, what, i) {
  if (typeof v === 'bigint') return v;
  if (Number.isSafeInteger(v)) return BigInt(v);
  if (Number.isInteger(v)) {
    throw new PackingError(
      `${what} value at index ${i} is beyond 2^53, which JSON numbers in a browser cannot hold exactly`,
    );
  }
  throw new PackingError(`${what} value at index ${i} is not an integer: ${JSON.stringify(v)}`);
}

/**
 * Packs one tensor's values (Numbers that are safe integers, or BigInts) into exactly
 * numElements(layout) field elements (BigInt, each below 2^253). Throws PackingError on a
 * length that differs from the layout or a value outside [-2^(bits-1), 2^(bits-1)).
 */
export function packTensor(layout, values, what) {
  validateTensorLayout(layout, what);
  const n = tensorLen(layout.shape);
  if (!Array.isArray(values) || values.length !== n) {
    const got = Array.isArray(values) ? values.length : 'no';
    throw new PackingError(
      `${what} tensor has ${got} values, the layout (shape ${JSON.stringify(layout.shape)}) needs ${n}`,
    );
  }
  const bits = BigInt(layout.bits);
  const half = 1n << (bits - 1n);
  const slots = slotsPerElement(layout.bits);
  const out = [];
  for (let start = 0; start < n; start += slots) {
    let element = 0n;
    for (let slot = 0; slot < slots && start + slot < n; slot++) {
      const i = start + slot;
      const v = toBig(values[i], what, i);
      const u = v + half;
      if (u < 0n || u >= 2n * half) {
        throw new PackingError(
          `${what} value ${v} at index ${i} is outside the ${layout.bits}-bit range [${-half}, ${half})`,
        );
      }
      element |= u << (BigInt(slot) * bits);
    }
    out.push(element);
  }
  return out;
}

/**
 * The public inputs of a statement: the input tensor's elements, then the output's. Exactly
 * numElements(input) + numElements(output) BigInts. Throws PackingError as packTensor does.
 */
export function packPublicInputs(layout, inputQ, outputQ) {
  validateLayout(layout);
  return [...packTensor(layout.input, inputQ, 'input'), ...packTensor(layout.output, outputQ, 'output')];
}

/**
 * Inverse of packTensor on `elements` (which must be numElements(layout) long): the values as
 * BigInts, or null when some element has bits set above its used slots (no values pack to it).
 */
export function unpackTensor(layout, elements) {
  const n = tensorLen(layout.shape);
  const bits = BigInt(layout.bits);
  const slots = slotsPerElement(layout.bits);
  const mask = (1n << bits) - 1n;
  const half = 1n << (bits - 1n);
  const values = [];
  for (let e = 0; e < elements.length; e++) {
    const inThis = Math.min(slots, n - e * slots);
    if (inThis <= 0 || elements[e] >> (BigInt(inThis) * bits) !== 0n) return null;
    for (let s = 0; s < inThis; s++) values.push(((elements[e] >> (BigInt(s) * bits)) & mask) - half);
  }
  return values.length === n ? values : null;
}

/**
 * Whether the float `v` of proof.json's output `values` is the quantised `q` at `scale` as the
 * prover writes it (q / 2^scale) up to float rounding: |v * 2^scale - q| <= 2^-11, exactly, on
 * v's integer mantissa and exponent (a port of `value_matches` in verifier/src/verifier.rs for
 * |q| <= 2^53, the only values a JSON number holds exactly). So a value between two steps
 * matches neither, and NaN and infinities never match.
 */
export function valueMatches(v, q, scale) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bitsHi = view.getUint32(0);
  const bitsLo = view.getUint32(4);
  const biased = (bitsHi >>> 20) & 0x7ff;
  const fraction = (BigInt(bitsHi & 0xfffff) << 32n) | BigInt(bitsLo);
  let m = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = biased === 0 ? -1074 : biased - 1075;
  if (bitsHi >>> 31) m = -m;
  const qb = BigInt(q);
  // v * 2^scale = m * 2^t; compare with q in units of 2^-k (k = max(0, -t)).
  const t = e + scale;
  let diff;
  let k;
  if (m === 0n) {
    diff = -qb;
    k = 0;
  } else if (t >= 0) {
    if (t > 64) return false;
    diff = (m << BigInt(t)) - qb;
    k = 0;
  } else {
    k = -t;
    if (k >= 64) return qb === 0n;
    diff = m - (qb << BigInt(k));
  }
  const bound = k >= 11 ? 1n << BigInt(k - 11) : 0n;
  return (diff < 0n ? -diff : diff) <= bound;
}
