// Reading the files a user drops: zkinfer's proof.json, its binary `.vk`, and snarkjs's
// verification_key.json (from `zkinfer export --format snarkjs`).
//
// Every reader either returns a fully checked value or throws FileError with a message a user
// can act on (which file, what is wrong, what was expected). Formats: verifier/src/vk_file.rs,
// verifier/src/keys.rs, verifier/src/proof_file.rs, verifier/src/snarkjs.rs.

import { decodeG1, decodeG2, checkG1, checkG2, toHex, fromHex, PointError, P } from './points.js';
import { validateLayout, numElements, PackingError } from './packing.js';

/** A file that cannot be used: wrong type, malformed, or a format this page does not read. */
export class FileError extends Error {}

const VK_MAGIC = 'ZKVK';
const VK_BUNDLE_MAGIC = 'ZKVB';
const VK_VERSION = 1;
const MAX_LAYOUT_JSON = 1 << 20;
/** alpha (G1), beta, gamma, delta (G2) and the u64 count of gamma_abc_g1. */
const VK_FIXED = 32 + 3 * 64 + 8;

const SEGMENTED = 'segmented models are not supported by this page yet (use zkinfer verify)';

const ascii = (bytes) => String.fromCharCode(...bytes);

function rethrow(e, prefix) {
  if (e instanceof PointError || e instanceof PackingError) throw new FileError(`${prefix}: ${e.message}`);
  throw e;
}

/** A short description of what a JSON document looks like, for "wrong file" messages. */
function looksLike(doc) {
  if (doc && typeof doc === 'object') {
    if ('pi_a' in doc) return "snarkjs's proof.json";
    if ('vk_alpha_1' in doc || 'IC' in doc) return "a snarkjs verification key";
    if ('segments' in doc) return 'a proof bundle of a segmented model';
    if ('proof' in doc && 'circuit' in doc) return "zkinfer's proof.json";
    if ('input' in doc && !('proof' in doc)) return 'an input file';
  }
  return null;
}

/**
 * Decodes a zkinfer `.vk`: magic ZKVK, version 1, circuit digest, layout JSON, the arkworks
 * compressed key (every point decoded, on its curve, G2 points in the subgroup), no trailing
 * bytes, and as many gamma_abc_g1 points as the layout has public inputs plus one.
 * Returns `{source: 'zkinfer', digest, layout, vk: {alpha, beta, gamma, delta, ic}}`.
 */
export function parseVkBytes(bytes) {
  const what = 'verifying key';
  if (bytes.length < 4) throw new FileError(`${what}: the file is too short to be a zkinfer .vk`);
  const magic = ascii(bytes.subarray(0, 4));
  if (magic === VK_BUNDLE_MAGIC) throw new FileError(SEGMENTED);
  if (magic !== VK_MAGIC) throw new FileError(`${what}: not a zkinfer .vk (it does not start with ZKVK)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 4;
  const need = (n, part) => {
    if (bytes.length - at < n) {
      throw new FileError(`vk file truncated: ${part} needs ${n} bytes, ${bytes.length - at} left`);
    }
  };
  need(4, 'the format version');
  const version = view.getUint32(at, true);
  at += 4;
  if (version !== VK_VERSION) {
    throw new FileError(`unsupported verifying key format version ${version} (this page reads ${VK_VERSION})`);
  }
  need(32, 'the circuit digest');
  const digest = toHex(bytes.subarray(at, at + 32));
  at += 32;
  need(4, 'the layout length');
  const layoutLen = view.getUint32(at, true);
  at += 4;
  if (layoutLen > MAX_LAYOUT_JSON) throw new FileError(`vk file: layout length ${layoutLen} is implausibly large`);
  need(layoutLen, 'the layout');
  let layout;
  try {
    layout = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + layoutLen)));
  } catch (e) {
    throw new FileError(`vk file: layout is not valid JSON: ${e.message}`);
  }
  at += layoutLen;
  try {
    validateLayout(layout);
  } catch (e) {
    rethrow(e, 'vk file');
  }
  const key = bytes.subarray(at);
  if (key.length < VK_FIXED) {
    throw new FileError(`verifying key truncated: ${key.length} bytes, its fixed part alone needs ${VK_FIXED}`);
  }
  const count = new DataView(key.buffer, key.byteOffset + VK_FIXED - 8, 8).getBigUint64(0, true);
  const present = BigInt(key.length - VK_FIXED);
  if (count * 32n !== present) {
    throw new FileError(
      count * 32n > present
        ? `verifying key truncated: ${count} gamma_abc_g1 points need ${count * 32n} bytes, ${present} present`
        : `${present - count * 32n} trailing bytes after the verifying key`,
    );
  }
  const expected = numElements(layout.input) + numElements(layout.output) + 1;
  if (Number(count) !== expected) {
    throw new FileError(
      `vk file inconsistent: the layout packs into ${expected - 1} public inputs but the key has ${count} gamma_abc_g1 points (expected ${expected})`,
    );
  }
  try {
    const vk = {
      alpha: decodeG1(key.subarray(0, 32), 'verifying key: alpha_g1'),
      beta: decodeG2(key.subarray(32, 96), 'verifying key: beta_g2'),
      gamma: decodeG2(key.subarray(96, 160), 'verifying key: gamma_g2'),
      delta: decodeG2(key.subarray(160, 224), 'verifying key: delta_g2'),
      ic: [],
    };
    for (let i = 0; i < expected; i++) {
      const o = VK_FIXED + 32 * i;
      vk.ic.push(decodeG1(key.subarray(o, o + 32), `verifying key: gamma_abc_g1[${i}]`));
    }
    return { source: 'zkinfer', digest, layout, vk };
  } catch (e) {
    rethrow(e, 'vk file');
  }
}

// snarkjs's projective JSON points: G1 [x, y, "1"] (infinity ["0", "1", "0"]), G2 [[x.c0, x.c1],
// [y.c0, y.c1], ["1", "0"]] (infinity [["0","0"],["1","0"],["0","0"]]).
const DEC = /^[0-9]{1,80}$/;
function dec(s, what) {
  if (typeof s !== 'string' || !DEC.test(s)) throw new FileError(`${what}: expected a decimal string`);
  const v = BigInt(s);
  if (v >= P) throw new FileError(`${what}: a coordinate is not below the field modulus`);
  return v;
}

function g1FromJson(p, what) {
  if (!Array.isArray(p) || p.length !== 3) throw new FileError(`${what}: expected [x, y, z]`);
  const z = dec(p[2], what);
  if (z === 0n) return { infinity: true };
  if (z !== 1n) throw new FileError(`${what}: expected an affine point (z = 1)`);
  try {
    return checkG1({ x: dec(p[0], what), y: dec(p[1], what) }, what);
  } catch (e) {
    rethrow(e, 'verification key');
  }
}

function g2FromJson(p, what) {
  const pair = (q) => {
    if (!Array.isArray(q) || q.length !== 2) throw new FileError(`${what}: expected [c0, c1] pairs`);
    return [dec(q[0], what), dec(q[1], what)];
  };
  if (!Array.isArray(p) || p.length !== 3) throw new FileError(`${what}: expected [x, y, z]`);
  const z = pair(p[2]);
  if (z[0] === 0n && z[1] === 0n) return { infinity: true };
  if (z[0] !== 1n || z[1] !== 0n) throw new FileError(`${what}: expected an affine point (z = [1, 0])`);
  try {
    return checkG2({ x: pair(p[0]), y: pair(p[1]) }, what);
  } catch (e) {
    rethrow(e, 'verification key');
  }
}

/**
 * Reads snarkjs's verification_key.json (protocol groth16, curve bn128): every point checked
 * as for a `.vk`. snarkjs's format has no circuit digest and no layout: `{source: 'snarkjs',
 * digest: null, layout: null, nPublic, vk}`, unless the document has a `zkinfer` field
 * `{"circuit": "<64 hex>", "layout": {...}}` (snarkjs ignores unknown fields), whose digest
 * and layout are then checked and used exactly as a `.vk`'s. zkinfer's export does not write
 * that field yet (see web/README.md).
 */
export function parseSnarkjsVk(doc) {
  if (doc.protocol !== 'groth16') throw new FileError(`verification key: protocol is ${JSON.stringify(doc.protocol)}, this page verifies groth16`);
  if (doc.curve !== 'bn128') throw new FileError(`verification key: curve is ${JSON.stringify(doc.curve)}, zkinfer proofs are on bn128 (BN254)`);
  if (!Array.isArray(doc.IC) || !Number.isSafeInteger(doc.nPublic) || doc.IC.length !== doc.nPublic + 1) {
    throw new FileError('verification key: IC must hold nPublic + 1 points');
  }
  const vk = {
    alpha: g1FromJson(doc.vk_alpha_1, 'verification key: vk_alpha_1'),
    beta: g2FromJson(doc.vk_beta_2, 'verification key: vk_beta_2'),
    gamma: g2FromJson(doc.vk_gamma_2, 'verification key: vk_gamma_2'),
    delta: g2FromJson(doc.vk_delta_2, 'verification key: vk_delta_2'),
    ic: doc.IC.map((p, i) => g1FromJson(p, `verification key: IC[${i}]`)),
  };
  let digest = null;
  let layout = null;
  if (doc.zkinfer !== undefined) {
    const z = doc.zkinfer;
    if (z === null || typeof z !== 'object' || typeof z.circuit !== 'string' || !/^[0-9a-fA-F]{64}$/.test(z.circuit)) {
      throw new FileError('verification key: the zkinfer field must be {"circuit": "<64 hex>", "layout": {...}}');
    }
    try {
      validateLayout(z.layout);
    } catch (e) {
      rethrow(e, 'verification key: zkinfer.layout');
    }
    const expected = numElements(z.layout.input) + numElements(z.layout.output);
    if (expected !== doc.nPublic) {
      throw new FileError(`verification key inconsistent: the layout packs into ${expected} public inputs but nPublic is ${doc.nPublic}`);
    }
    digest = z.circuit.toLowerCase();
    layout = z.layout;
  }
  return { source: 'snarkjs', digest, layout, nPublic: doc.nPublic, vk };
}

/** Reads a verifying-key file of either kind from its bytes (see parseVkBytes, parseSnarkjsVk). */
export function parseVerifyingKey(bytes) {
  const head = ascii(bytes.subarray(0, 4));
  if (head === VK_MAGIC || head === VK_BUNDLE_MAGIC) return parseVkBytes(bytes);
  let doc;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new FileError(
      "the key file is neither a zkinfer .vk (it does not start with ZKVK) nor JSON: pick the model's .vk or the verification_key.json of zkinfer export --format snarkjs",
    );
  }
  if (doc && typeof doc === 'object' && 'vk_alpha_1' in doc) return parseSnarkjsVk(doc);
  const kind = looksLike(doc);
  throw new FileError(
    `the key file is ${kind ?? 'JSON but not a verifying key'}: pick the model's .vk or snarkjs's verification_key.json`,
  );
}

function exactKeys(obj, keys, what) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new FileError(`proof.json: ${what} is not an object`);
  for (const k of keys) if (!(k in obj)) throw new FileError(`proof.json: ${what} has no field '${k}'`);
  for (const k of Object.keys(obj)) if (!keys.includes(k)) throw new FileError(`proof.json: ${what} has an unknown field '${k}'`);
}

function intList(a, what) {
  if (!Array.isArray(a) || !a.every((x) => Number.isInteger(x))) {
    throw new FileError(`proof.json: ${what} must be a list of integers`);
  }
  const big = a.findIndex((x) => !Number.isSafeInteger(x));
  if (big >= 0) {
    throw new FileError(`proof.json: ${what}[${big}] is beyond 2^53, which this page cannot read exactly (use zkinfer verify)`);
  }
}

/**
 * Parses zkinfer's proof.json as the Rust `ProofFile` does (exact fields, version 1, a
 * 64-hex-character circuit digest, integer tensors exact in JSON, a proof of 128 bytes in hex).
 * Returns `{doc, digest, raw}` (digest lowercase, raw the proof bytes); the points are decoded
 * by decodeProof, so that bytes which are not a valid proof read as an invalid proof rather
 * than an unreadable file.
 */
export function parseProofJson(bytes) {
  const head = ascii(bytes.subarray(0, 4));
  if (head === VK_MAGIC || head === VK_BUNDLE_MAGIC) {
    throw new FileError("the proof file is a zkinfer verifying key: pick the proof.json that zkinfer prove wrote");
  }
  let doc;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // The parser's own message differs between engines and may quote binary bytes: leave it out.
    throw new FileError('the proof file is not JSON: pick the proof.json that zkinfer prove wrote');
  }
  const kind = looksLike(doc);
  if (kind === 'a proof bundle of a segmented model') throw new FileError(SEGMENTED);
  if (kind && kind !== "zkinfer's proof.json") {
    throw new FileError(`the proof file is ${kind}: pick the proof.json that zkinfer prove wrote`);
  }
  exactKeys(doc, ['version', 'circuit', 'input', 'output', 'proof'], 'the document');
  if (doc.version !== 1) throw new FileError(`unsupported proof.json version ${JSON.stringify(doc.version)} (this page reads 1)`);
  if (typeof doc.circuit !== 'string' || !/^[0-9a-fA-F]{64}$/.test(doc.circuit)) {
    throw new FileError('proof.json: circuit must be 64 hex characters');
  }
  exactKeys(doc.input, ['shape', 'scale', 'quantized'], 'input');
  exactKeys(doc.output, ['shape', 'scale', 'quantized', 'values'], 'output');
  for (const [t, name] of [[doc.input, 'input'], [doc.output, 'output']]) {
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FileError(`proof.json: ${name}.shape must be a list of non-negative integers`);
    }
    if (!Number.isSafeInteger(t.scale)) throw new FileError(`proof.json: ${name}.scale must be an integer`);
    intList(t.quantized, `${name}.quantized`);
  }
  if (!Array.isArray(doc.output.values) || !doc.output.values.every((v) => typeof v === 'number')) {
    throw new FileError('proof.json: output.values must be a list of numbers');
  }
  let raw;
  try {
    raw = fromHex(doc.proof, 'proof.json: proof');
  } catch (e) {
    rethrow(e, 'proof.json');
  }
  if (raw.length !== 128) throw new FileError(`proof.json: a compressed proof is 128 bytes, got ${raw.length}`);
  return { doc, digest: doc.circuit.toLowerCase(), raw };
}

/** Decodes the 128 proof bytes: A (G1), B (G2), C (G1). Throws PointError naming the point. */
export function decodeProof(raw) {
  return {
    a: decodeG1(raw.subarray(0, 32), 'proof: A'),
    b: decodeG2(raw.subarray(32, 96), 'proof: B'),
    c: decodeG1(raw.subarray(96, 128), 'proof: C'),
  };
}
